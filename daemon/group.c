/* group.c — per-group reconciler.
 *
 * A pass is one converge.c run: describe the group's tables, write what
 * differs. Passes start when the group becomes MASTER, retry with backoff
 * while anything failed, and re-verify every recheck_interval. Passes are
 * at least PASS_MIN_GAP_MS apart, FLAP_GAP_MS when the state changed more than
 * once since the last pass (keepalived flapping), so
 * a storm of events costs a bounded number of API calls: the events in
 * between coalesce into the next pass.
 *
 * Split brain: ReplaceRoute has no compare-and-swap, so two MASTERs steal the
 * route from each other on every re-check. A re-check that has to write
 * although this generation had converged means someone else wrote: a flip.
 * After split_brain_flips flips within split_brain_window the group stops
 * writing (damped) and only observes, for one window, or until keepalived
 * moves it out of MASTER or reports a lower-priority peer claiming MASTER
 * (the partition healed: re-assert), or until its looks find every route
 * at this node for longer than a live competitor leaves them alone.
 * keepalived need not tell the MASTER that the partition healed (the other
 * node may hear it first and step down, handing the routes back, or with
 * nothing to hand back), so a damped group looks at its tables every
 * DAMPED_LOOK_MS, re-checks on or off. A competitor takes the routes at
 * least once per re-check interval (+10% jitter and a slow request; both
 * nodes are assumed to share recheck_interval), or without re-checks only
 * in its settle looks, a second apart: routes left here longer than that
 * mean nobody competes now. (Not at once: the damping flip itself put them
 * here, and two MASTERs undamping that way would trade the routes at every
 * re-check.) The group then settles as after a failover, since the other
 * node's last writes may still land; the window's flips stay counted, so a
 * competitor that is still writing damps it again at its next take.
 *
 * A keepalived that crashed sends no notify: its daemon would still believe
 * it is MASTER and take the routes back from the new one at the next
 * re-check. So before writing, the group checks keepalived's pid file; a
 * pid file whose process is gone means "not MASTER any more".
 *
 * Settle: a write EC2 accepted cannot be called back, and a node that has
 * just left MASTER may still have writes in flight that land after this
 * node converged. So a MASTER looks again after each generation converged
 * and after every pass that wrote: SETTLE_FIRST_MS later, and once the
 * longest time a demoted peer's request may still be in flight has passed
 * (request_timeout + SETTLE_MARGIN_MS after the transition reached us). A
 * route found taken then is a late write: taken back at once and counted,
 * apart from split-brain flips (a re-check finding a live competitor).
 * "Converged" in status and in reports means converged and settled.
 *
 * Hand-back: when a VRRP partition heals, the node that stayed MASTER may
 * hear nothing from keepalived (the other node can hear it first and step
 * down without ever sending it a lower-priority advert), so the tables the
 * other node took during the partition would point at a BACKUP until the
 * next re-check. So a node that leaves MASTER for BACKUP (keepalived heard
 * a higher-priority MASTER) looks at its tables and points each route that
 * still points at itself at the peer: the ENI this daemon last saw in the
 * group's routes other than its own (learnt from every describe, and from
 * one read of the tables at start). In a pair that is the MASTER keepalived
 * just heard. Without a known peer it only says so.
 *
 * Role guard (daemon/guard.h, opt-in per group): before every pass that
 * writes routes to this node (the first after becoming MASTER, retries,
 * re-checks, settle checks) the group asks the local service whether it is
 * the primary, and writes only on a "primary" answered after the pass
 * became due. Anything else (a replica, no answer, an error) refuses the
 * pass: logged once per episode, counted, shown in status, and asked again
 * every GUARD_RETRY_MS until the service answers primary. Observe-only and
 * hand-back passes write nothing to this node and are not guarded. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ev.h"
#include "daemon/group.h"
#include "daemon/guard.h"
#include "daemon/patroni.h"
#include "daemon/sentinel.h"
#include "daemon/identity.h"
#include "lib/log.h"
#include "daemon/track.h"
#include "lib/util.h"
#include "daemon/vip.h"
#include "lib/backoff.h"
#include "vpc/auth.h"
#include "vpc/converge.h"
#include "vpc/ec2.h"

#define PASS_MIN_GAP_MS 200
#define FLAP_GAP_MS	1000 /* state changed more than once since the last pass */
#define HOOK_TIE_MS	20   /* hooks' fork times closer than this: order by pid */
#define BLIND_QUIET_MS	2000 /* blind writes only after this long without a pass */
#define RETRY_BASE_MS	1000
#define RETRY_CAP_MS	30000
#define FLIPS_KEPT	64
#define SETTLE_FIRST_MS 1000 /* first look after convergence */
#define SETTLE_MARGIN_MS                                                                 \
	1000 /* beyond request_timeout: the two nodes hear                               \
	      * keepalived at different moments */
/* Settle passes per generation. A second one that finds routes taken means
 * another node keeps writing: a live competitor, counted as a split-brain
 * flip too (damping), and beyond the cap settling ends. */
#define SETTLE_PASSES_MAX 4
/* A damped group's looks, one DescribeRouteTables each: how soon it sees
 * that the split is over, and that its window is. */
#define DAMPED_LOOK_MS 2000
/* A guard that refused: how soon it asks again. */
#define GUARD_RETRY_MS 1000

struct route_status {
	char table[AWS_ID_MAX];
	char dest[64];
	char target[AWS_ID_MAX]; /* where the route points after the pass; "" = none */
	char outcome[16];
	char error[600];
	uint64_t ms;
	/* This generation's first success, for the observer's report. */
	uint64_t gen;
	char gen_outcome[16];
	char gen_before[AWS_ID_MAX];
	uint64_t gen_ms; /* since the state change */
};

struct grp {
	char name[INI_NAME_MAX];
	const struct cfg_group *cfg;
	unsigned api_deadline_ms;    /* [aws]: one convergence's deadline */
	unsigned request_timeout_ms; /* [aws]: one request's */
	enum ka_state state;
	enum ka_state prev_state; /* before the last transition */
	uint64_t trans_gen;	  /* generation the last transition started */
	int priority;
	uint64_t generation;	/* bumped by every state change */
	uint64_t converged_gen; /* generation of the last complete pass, 0 = none */
	uint64_t event_mono;	/* when the current state was entered (hook start) */
	uint64_t order_mono;	/* the newest event seen, a repeat included: */
	int order_pid;		/* what the next event is ordered against */
	uint64_t received_mono; /* when the daemon got that event */
	int64_t event_wall;
	char event_source[16];
	struct cv_op *op;
	uint64_t op_gen;
	int op_observe;
	int op_recheck;	    /* the pass re-verifies a converged generation */
	int op_settle;	    /* the pass is a settle check */
	int op_handback;    /* the pass hands routes back to peer_eni */
	int fresh_master;   /* entered MASTER live: the first pass writes blind */
	uint64_t last_pass; /* ev_now() of the last pass start */
	uint64_t timer;	    /* the next pass (retry, recheck, settle, coalescing) */
	int recheck_due;
	int held; /* grp_hold: the leader source is unreachable, routes stay */
	int settle_due;
	int settling;		/* settle checks pending for settle_gen */
	uint64_t settle_gen;	/* the generation they serve */
	uint64_t settle_end;	/* ev_now() of the last settle check */
	unsigned settle_passes; /* of settle_gen */
	unsigned settle_takes;	/* of its settle passes, those that found routes taken */
	uint64_t settled_gen;	/* last generation converged and settled */
	int64_t settled_wall;
	uint64_t settle_ms;	   /* last failover: state entered -> settled */
	uint64_t late_total;	   /* late writes taken back, ever */
	unsigned gen_late;	   /* of settle_gen */
	char last_late[320];	   /* the last one, for status */
	struct cv_op *look;	   /* the one read of the tables at start */
	int handback_due;	   /* left MASTER for BACKUP: hand routes back */
	char peer_eni[AWS_ID_MAX]; /* the other ENI last seen in our routes */
	uint64_t aside_gen;	   /* generation a hand-back serves */
	uint64_t pass_gen;	   /* generation of the last convergence pass */
	uint64_t handbacks;	   /* routes handed back, ever */
	char last_handback[160];
	struct backoff retry;
	int retrying;
	int rate_limited;     /* the last pass failed only by EC2 throttling */
	unsigned rate_tables; /* its tables not converged */
	int damped;
	uint64_t damped_until;
	uint64_t held_since; /* damped: first of the looks that found every route here */
	uint64_t flips[FLIPS_KEPT]; /* ev_now() of recent flips, a ring */
	unsigned nflips;
	uint64_t flips_total;
	uint64_t transitions[KA_DELETED + 1];
	uint64_t updates_ok, updates_failed, passes;
	uint64_t updates_throttled; /* route updates a pass left to EC2's rate limit */
	int64_t converged_wall;
	uint64_t
	    convergence_ms;  /* last failover: state entered -> all tables converged */
	uint64_t handoff_ms; /* of which: the event's way to the daemon */
	char last_error[600];
	struct route_status *routes;
	size_t nroutes;
	/* The role guard; NULL: none (see the top of this file). */
	struct guard *guard;
	enum guard_answer guard_last;
	char guard_detail[320];
	unsigned guard_ms;	 /* the last question's time */
	int guard_ok;		 /* a "primary" no pass has used yet ... */
	uint64_t guard_ok_at;	 /* ... answered then (ev_now()) */
	int guard_refusing;	 /* in a refusal episode (logged once) */
	uint64_t guard_refusals; /* passes refused, ever */
};

static struct grp **groups;
static size_t ngroups;
static char ka_pid_file[PATH_MAX];
static int ready;
static struct imds_identity identity;
static grp_observer_fn observer;
static void *observer_arg;

static void kick(struct grp *g);
static void schedule_recheck(struct grp *g);

const char *grp_verdict_name(enum grp_verdict v)
{
	switch (v) {
	case GRP_APPLIED:
		return "applied";
	case GRP_DUPLICATE:
		return "duplicate";
	case GRP_STALE:
		return "stale";
	case GRP_NO_GROUP:
		return "no group";
	}
	return "?";
}

static const char *grp_eni(const struct grp *g)
{
	return ident_group_eni(g->cfg, &identity);
}

void grp_set_observer(grp_observer_fn fn, void *arg)
{
	observer = fn;
	observer_arg = arg;
}

static void report(struct grp *g, enum grp_report_kind kind)
{
	struct grp_report_route *rr = NULL;
	struct grp_report r = {
	    .kind = kind,
	    .group = g->name,
	    .state = g->state,
	    .previous = g->prev_state,
	    .source = g->event_source,
	    .generation = g->generation,
	    .failover = g->state == KA_MASTER && g->trans_gen == g->generation,
	    .event_wall = g->event_wall,
	    .event_mono = g->event_mono,
	    .wall = ev_wall(),
	    .eni = grp_eni(g),
	    .ntables = g->cfg->nroute_tables,
	    .convergence_ms = g->convergence_ms,
	    .settle_ms = g->settle_ms,
	    .late_writes = g->gen_late,
	    .last_late = g->gen_late ? g->last_late : "",
	};

	if (observer == NULL)
		return;
	if (kind == GRP_REPORT_CONVERGED) {
		rr = xcalloc(g->nroutes ? g->nroutes : 1, sizeof(*rr));
		for (size_t i = 0; i < g->nroutes; i++) {
			const struct route_status *s = &g->routes[i];
			int cur = s->gen == g->generation;
			rr[i] = (struct grp_report_route){
			    s->table, s->dest, cur ? s->gen_outcome : s->outcome,
			    cur ? s->gen_before : "", cur ? s->gen_ms : 0};
		}
		r.routes = rr;
		r.nroutes = g->nroutes;
	}
	observer(&r, observer_arg);
	free(rr);
}

/* A new guard for cg's guard settings (none when guard is unset), which
 * reads its password file again. A question in flight is dropped: the next
 * kick() asks afresh. */
static void grp_guard_bind(struct grp *g, const struct cfg_group *cg)
{
	if (g->guard == NULL || strcmp(g->cfg->guard, cg->guard) != 0) {
		g->guard_last = GUARD_UNASKED;
		g->guard_detail[0] = '\0';
	}
	guard_free(g->guard);
	g->guard = NULL;
	g->guard_ok = 0;
	if (cg->guard[0])
		g->guard =
		    guard_new(cg->guard, cg->guard_password_file, cg->guard_timeout_ms);
}

static void grp_bind(struct grp *g, const struct cfg *cfg, const struct cfg_group *cg)
{
	grp_guard_bind(g, cg);
	g->cfg = cg;
	g->api_deadline_ms = cfg->aws.api_deadline_ms;
	g->request_timeout_ms = cfg->aws.request_timeout_ms;
	free(g->routes);
	g->nroutes = cg->nroute_tables * cg->ndestinations;
	g->routes = xcalloc(g->nroutes ? g->nroutes : 1, sizeof(*g->routes));
	for (size_t t = 0; t < cg->nroute_tables; t++)
		for (size_t d = 0; d < cg->ndestinations; d++) {
			struct route_status *r = &g->routes[t * cg->ndestinations + d];
			snprintf(r->table, sizeof(r->table), "%s", cg->route_tables[t]);
			snprintf(r->dest, sizeof(r->dest), "%s",
				 cg->destinations[d].text);
			snprintf(r->outcome, sizeof(r->outcome), "unknown");
		}
}

static struct grp *grp_new(const struct cfg *cfg, const struct cfg_group *cg)
{
	struct grp *g = xcalloc(1, sizeof(*g));

	snprintf(g->name, sizeof(g->name), "%s", cg->name);
	g->state = KA_UNKNOWN;
	grp_bind(g, cfg, cg);
	return g;
}

static void grp_stop_work(struct grp *g)
{
	if (g->op)
		cv_cancel(g->op);
	g->op = NULL;
	if (g->timer)
		ev_timer_cancel(g->timer);
	g->timer = 0;
	guard_cancel(g->guard);
	g->guard_ok = 0;
	g->guard_refusing = 0;
}

static void grp_free(struct grp *g)
{
	grp_stop_work(g);
	guard_free(g->guard);
	if (g->look)
		cv_cancel(g->look);
	free(g->routes);
	free(g);
}

void grp_init(const struct cfg *cfg)
{
	snprintf(ka_pid_file, sizeof(ka_pid_file), "%s", cfg->keepalived.pid_file);
	ngroups = cfg->ngroups;
	groups = xcalloc(ngroups ? ngroups : 1, sizeof(*groups));
	for (size_t i = 0; i < ngroups; i++)
		groups[i] = grp_new(cfg, &cfg->groups[i]);
}

static int same_routing(const struct cfg_group *a, const struct cfg_group *b)
{
	if (a->nroute_tables != b->nroute_tables ||
	    a->ndestinations != b->ndestinations ||
	    strcmp(a->network_interface, b->network_interface) != 0)
		return 0;
	for (size_t i = 0; i < a->nroute_tables; i++)
		if (strcmp(a->route_tables[i], b->route_tables[i]) != 0)
			return 0;
	for (size_t i = 0; i < a->ndestinations; i++)
		if (strcmp(a->destinations[i].text, b->destinations[i].text) != 0)
			return 0;
	return 1;
}

void grp_reload(const struct cfg *cfg)
{
	snprintf(ka_pid_file, sizeof(ka_pid_file), "%s", cfg->keepalived.pid_file);
	struct grp **fresh = xcalloc(cfg->ngroups ? cfg->ngroups : 1, sizeof(*fresh));

	for (size_t i = 0; i < cfg->ngroups; i++) {
		const struct cfg_group *cg = &cfg->groups[i];
		for (size_t j = 0; j < ngroups; j++) {
			struct grp *old = groups[j];
			if (old == NULL || strcmp(old->name, cg->name) != 0)
				continue;
			int changed = !same_routing(old->cfg, cg) ||
				      strcmp(old->cfg->vip_device, cg->vip_device) != 0;
			if (changed) {
				/* Old work was for the old tables: start over. */
				grp_stop_work(old);
				if (old->look)
					cv_cancel(old->look);
				old->look = NULL;
				if (old->cfg->vip_device[0] && old->state == KA_MASTER)
					vip_set(old->cfg->vip_device,
						old->cfg->destinations,
						old->cfg->ndestinations, 0);
				old->generation++;
				old->converged_gen = 0;
				grp_bind(old, cfg, cg);
				log_info("group %s: configuration changed", old->name);
			} else {
				int recheck_changed = old->cfg->recheck_interval_ms !=
						      cg->recheck_interval_ms;
				/* The password file is read again; the kick()
				 * below asks again if a question was dropped. */
				if (old->cfg->guard[0] || cg->guard[0])
					grp_guard_bind(old, cg);
				old->cfg = cg;
				old->api_deadline_ms = cfg->aws.api_deadline_ms;
				old->request_timeout_ms = cfg->aws.request_timeout_ms;
				/* A settled MASTER waits for its next re-check
				 * (or none): put it on the new interval now. */
				if (recheck_changed && old->state == KA_MASTER &&
				    old->converged_gen == old->generation &&
				    !old->settling && !old->retrying && old->op == NULL) {
					if (old->timer)
						ev_timer_cancel(old->timer);
					old->timer = 0;
					schedule_recheck(old);
				}
			}
			fresh[i] = old;
			groups[j] = NULL;
			break;
		}
		if (fresh[i] == NULL) {
			fresh[i] = grp_new(cfg, cg);
			log_info("group %s: added", cg->name);
		}
	}
	for (size_t j = 0; j < ngroups; j++) {
		if (groups[j] == NULL)
			continue;
		log_info(
		    "group %s: removed from the configuration; its routes are left as "
		    "they are",
		    groups[j]->name);
		if (groups[j]->cfg->vip_device[0] && groups[j]->state == KA_MASTER)
			vip_set(groups[j]->cfg->vip_device, groups[j]->cfg->destinations,
				groups[j]->cfg->ndestinations, 0);
		grp_free(groups[j]);
	}
	free(groups);
	groups = fresh;
	ngroups = cfg->ngroups;
	for (size_t i = 0; i < ngroups; i++)
		kick(groups[i]);
}

void grp_fini(void)
{
	for (size_t i = 0; i < ngroups; i++) {
		struct grp *g = groups[i];
		/* The addresses follow keepalived's state, which we no longer
		 * track once stopped; the routes stay where they are. */
		if (g->cfg->vip_device[0] && g->state == KA_MASTER)
			vip_set(g->cfg->vip_device, g->cfg->destinations,
				g->cfg->ndestinations, 0);
		grp_free(g);
	}
	free(groups);
	groups = NULL;
	ngroups = 0;
}

/* A route seen working towards another ENI: the peer's, for a hand-back. */
static void learn_peer(struct grp *g, const struct cv_item *it)
{
	if (it->before.eni[0] && strcmp(it->before.eni, grp_eni(g)) != 0 &&
	    strcmp(it->before.state, "active") == 0)
		snprintf(g->peer_eni, sizeof(g->peer_eni), "%s", it->before.eni);
}

/* Where the routes point at start: the peer's ENI for a later hand-back,
 * and the status of a group that is not MASTER. Read-only, once; a MASTER
 * pass meanwhile does not cancel it. */
static void on_look(void *arg, const struct cv_result *res)
{
	struct grp *g = arg;

	g->look = NULL;
	for (size_t t = 0; t < res->ntables; t++)
		for (size_t d = 0; d < res->ndest; d++) {
			const struct cv_item *it = &res->tables[t].items[d];
			struct route_status *r = &g->routes[t * res->ndest + d];
			if (!it->existed || it->outcome == CV_FAILED)
				continue;
			if (g->peer_eni[0] == '\0')
				learn_peer(g, it);
			if (g->state != KA_MASTER && strcmp(r->outcome, "unknown") == 0)
				snprintf(r->target, sizeof(r->target), "%s",
					 it->before.eni[0] ? it->before.eni
							   : it->before.gateway);
		}
}

/* A pass over every route table and destination of the group, within
 * api_deadline, pointing them at eni. */
static struct cv_spec group_spec(const struct grp *g, const char *eni)
{
	return (struct cv_spec){
	    .creds = ident_group_creds(g->cfg),
	    .tables = g->cfg->route_tables,
	    .ntables = g->cfg->nroute_tables,
	    .dests = g->cfg->destinations,
	    .ndests = g->cfg->ndestinations,
	    .eni = eni,
	    .deadline = ev_now() + g->api_deadline_ms,
	};
}

static void look(struct grp *g)
{
	struct cv_spec spec = group_spec(g, NULL);

	spec.observe_only = 1;
	if (g->look == NULL && g->nroutes > 0)
		g->look = cv_start(&spec, on_look, g);
}

void grp_set_identity(const struct imds_identity *id)
{
	identity = *id;
	ready = 1;
	for (size_t i = 0; i < ngroups; i++) {
		look(groups[i]);
		kick(groups[i]);
	}
}

static void on_timer(void *arg)
{
	struct grp *g = arg;
	g->timer = 0;
	kick(g);
}

static void on_recheck(void *arg)
{
	struct grp *g = arg;
	g->timer = 0;
	g->recheck_due = 1;
	kick(g);
}

static void on_settle(void *arg)
{
	struct grp *g = arg;
	g->timer = 0;
	g->settle_due = 1;
	kick(g);
}

static void schedule(struct grp *g, uint64_t delay, ev_timer_fn fn)
{
	if (g->timer)
		ev_timer_cancel(g->timer);
	g->timer = ev_timer_add(delay, fn, g);
}

static unsigned recent_flips(struct grp *g, uint64_t now)
{
	unsigned n = 0, kept = g->nflips < FLIPS_KEPT ? g->nflips : FLIPS_KEPT;
	for (unsigned i = 0; i < kept; i++)
		n += now - g->flips[i] <= g->cfg->split_brain_window_ms;
	return n;
}

static void record_flip(struct grp *g, const struct cv_table *tb,
			const struct cv_item *it)
{
	uint64_t now = ev_now();

	g->flips[g->nflips++ % FLIPS_KEPT] = now;
	g->flips_total++;
	unsigned n = recent_flips(g, now);
	log_warnx(
	    "SPLIT BRAIN? group %s: %s in %s pointed at %s, not at us, while we are "
	    "MASTER; re-asserted (%u within %u s, limit %u)",
	    g->name, it->dest.text, tb->id,
	    it->existed ? (it->before.eni[0] ? it->before.eni : it->before.gateway)
			: "nothing",
	    n, g->cfg->split_brain_window_ms / 1000, g->cfg->split_brain_flips);
	if (n >= g->cfg->split_brain_flips && !g->damped) {
		g->damped = 1;
		g->damped_until = now + g->cfg->split_brain_window_ms;
		g->held_since = 0;
		log_warnx(
		    "SPLIT BRAIN: group %s keeps losing its routes while MASTER: not "
		    "fighting for %u s; only observing (until keepalived leaves MASTER "
		    "or sees the peer again, or nobody takes the routes any more). Check "
		    "VRRP between the nodes (IP protocol 112).",
		    g->name, g->cfg->split_brain_window_ms / 1000);
	}
}

static void schedule_recheck(struct grp *g)
{
	uint64_t every = g->cfg->recheck_interval_ms;

	if (g->damped && (every == 0 || every > DAMPED_LOOK_MS)) {
		/* Looking is how a damped group sees the split end, and the
		 * window end too, whether re-checks are on or not. */
		schedule(g, DAMPED_LOOK_MS, on_recheck);
		return;
	}
	if (every) {
		/* +-10% so that many groups and nodes do not re-check in step. */
		uint64_t jitter = every / 5 ? (uint64_t)random() % (every / 5) : 0;
		schedule(g, every - every / 10 + jitter, on_recheck);
	}
}

static void settled(struct grp *g, uint64_t now)
{
	g->settling = 0;
	if (g->settled_gen == g->generation)
		return; /* settled again after a re-check wrote: reported already */
	g->settled_gen = g->generation;
	g->settled_wall = ev_wall();
	g->settle_ms = now - g->event_mono;
	log_info("group %s: settled: all %zu route tables still point at %s, %llu ms "
		 "after %s (%u late write%s taken back)",
		 g->name, g->cfg->nroute_tables, grp_eni(g),
		 (unsigned long long)g->settle_ms, ka_state_name(g->state), g->gen_late,
		 g->gen_late == 1 ? "" : "s");
	report(g, GRP_REPORT_CONVERGED);
}

/* This generation converged, or a pass of it wrote: look again, because
 * writes of a node that was MASTER a moment ago may still land. */
static void settle_begin(struct grp *g, uint64_t now)
{
	if (g->settle_gen != g->generation) {
		g->settle_gen = g->generation;
		g->settle_passes = 0;
		g->settle_takes = 0;
		g->settle_end = 0;
		g->gen_late = 0;
	}
	uint64_t end = g->received_mono + g->request_timeout_ms + SETTLE_MARGIN_MS;
	if (end < now + 2 * SETTLE_FIRST_MS)
		end = now + 2 * SETTLE_FIRST_MS; /* two looks, a second apart */
	if (end > g->settle_end)
		g->settle_end = end;
	if (g->settle_passes >= SETTLE_PASSES_MAX) {
		log_warnx("group %s: routes were taken %u times while settling: another "
			  "node keeps writing; leaving it to re-checks and split-brain "
			  "damping",
			  g->name, g->settle_passes);
		settled(g, now);
		schedule_recheck(g);
		return;
	}
	g->settling = 1;
	schedule(g, SETTLE_FIRST_MS, on_settle);
}

/* Does every route of the group point at this node, as res observed it? */
static int holds_every_route(const struct grp *g, const struct cv_result *res)
{
	for (size_t t = 0; t < res->ntables; t++)
		for (size_t d = 0; d < res->ndest; d++) {
			const struct cv_item *it = &res->tables[t].items[d];
			if (it->outcome == CV_FAILED || !it->existed ||
			    !cv_route_is(&it->before, grp_eni(g)))
				return 0;
		}
	return res->ntables > 0;
}

/* How long a damped group's looks must find every route here before the
 * split counts as over: longer than a live competitor sharing our
 * configuration leaves them alone. */
static uint64_t quiet_ms(const struct grp *g)
{
	uint64_t iv = g->cfg->recheck_interval_ms;

	if (iv == 0)
		return DAMPED_LOOK_MS; /* it takes only in settle looks, 1 s apart */
	return iv + iv / 10 + g->request_timeout_ms + SETTLE_MARGIN_MS;
}

/* A damped group's look. Routes elsewhere: a competitor holds them, keep
 * observing. Every route here for quiet_ms(): nobody competes now (the
 * other node left MASTER, or damps as well), so stop observing and settle
 * again from the start, as its last writes may still land. */
static void damped_look(struct grp *g, const struct cv_result *res, uint64_t now)
{
	if (!holds_every_route(g, res)) {
		g->held_since = 0;
		schedule_recheck(g);
		return;
	}
	if (g->held_since == 0)
		g->held_since = now;
	if (now - g->held_since < quiet_ms(g)) {
		schedule_recheck(g);
		return;
	}
	log_warnx("group %s: split-brain damping over: every route table has pointed "
		  "at %s for %llu s, so nobody is taking them now; settling",
		  g->name, grp_eni(g), (unsigned long long)(now - g->held_since) / 1000);
	g->damped = 0;
	if (g->converged_gen != g->generation) {
		kick(g); /* a reload changed the tables meanwhile: converge */
		return;
	}
	g->settle_passes = 0;
	g->settle_takes = 0;
	settle_begin(g, now);
}

static void late_write(struct grp *g, const struct cv_table *tb, const struct cv_item *it)
{
	const char *was = !it->existed		  ? "nothing"
			  : it->before.eni[0]	  ? it->before.eni
			  : it->before.gateway[0] ? it->before.gateway
						  : "?";

	g->late_total++;
	g->gen_late++;
	snprintf(g->last_late, sizeof(g->last_late), "%s %s pointed at %s", tb->id,
		 it->dest.text, was);
	log_warnx("LATE WRITE: group %s: %s in %s pointed at %s after this node had "
		  "converged (a write of a node that was MASTER a moment ago, landing "
		  "late); taken back",
		  g->name, it->dest.text, tb->id, was);
}

/* Is err EC2's throttling (or a deadline that passed while throttled)? */
static int throttling(const struct ec2_error *err)
{
	return strcmp(err->code, "RequestLimitExceeded") == 0 ||
	       strstr(err->message, "(last error: RequestLimitExceeded") != NULL;
}

static void on_pass(void *arg, const struct cv_result *res)
{
	struct grp *g = arg;
	uint64_t now = ev_now();
	int recheck = g->op_recheck, observe = g->op_observe, settle = g->op_settle;
	uint64_t gen = g->op_gen;
	unsigned failed = res->failed_tables;
	const struct cv_table *lost_tb = NULL;
	const struct cv_item *lost_it = NULL;
	size_t wrote = 0;

	int handback = g->op_handback;
	const char *to = handback ? g->peer_eni : grp_eni(g);

	g->op = NULL;
	g->last_error[0] = '\0';
	int only_throttled = failed > 0;
	for (size_t t = 0; t < res->ntables; t++) {
		const struct cv_table *tb = &res->tables[t];
		for (size_t d = 0; d < res->ndest; d++) {
			const struct cv_item *it = &tb->items[d];
			struct route_status *r = &g->routes[t * res->ndest + d];
			snprintf(r->outcome, sizeof(r->outcome), "%s",
				 cv_outcome_name(it->outcome));
			r->ms = it->done_ms;
			r->error[0] = '\0';
			if (it->outcome == CV_FAILED && throttling(&it->err)) {
				/* Not an error: EC2's account bucket is empty. */
				snprintf(r->outcome, sizeof(r->outcome), "waiting");
				snprintf(r->error, sizeof(r->error),
					 "waiting for EC2's rate limit");
				g->updates_throttled++;
				continue;
			}
			if (it->outcome == CV_FAILED) {
				only_throttled = 0;
				snprintf(r->error, sizeof(r->error), "%s%s%s",
					 it->err.code, it->err.code[0] ? ": " : "",
					 it->err.message);
				snprintf(g->last_error, sizeof(g->last_error),
					 "%s %s: %s", tb->id, it->dest.text, r->error);
				g->updates_failed++;
				continue;
			}
			if (it->existed)
				learn_peer(g, it);
			if (!observe && !handback && gen == g->generation &&
			    r->gen != gen) {
				r->gen = gen;
				snprintf(r->gen_outcome, sizeof(r->gen_outcome), "%s",
					 r->outcome);
				snprintf(r->gen_before, sizeof(r->gen_before), "%s",
					 !it->existed	     ? ""
					 : it->before.eni[0] ? it->before.eni
							     : it->before.gateway);
				r->gen_ms =
				    g->last_pass + it->done_ms > g->event_mono
					? g->last_pass + it->done_ms - g->event_mono
					: 0;
			}
			if (handback &&
			    (it->outcome == CV_REPLACED || it->outcome == CV_CREATED)) {
				snprintf(r->target, sizeof(r->target), "%s", to);
				g->handbacks++;
				wrote++;
				snprintf(g->last_handback, sizeof(g->last_handback),
					 "%s %s -> %s", tb->id, it->dest.text, to);
			} else if (it->outcome == CV_REPLACED ||
				   it->outcome == CV_CREATED) {
				snprintf(r->target, sizeof(r->target), "%s", to);
				g->updates_ok++;
				wrote++;
				if (settle)
					late_write(g, tb, it);
				if ((recheck || settle) && lost_it == NULL) {
					lost_tb = tb;
					lost_it = it;
				}
			} else if (it->existed) {
				snprintf(r->target, sizeof(r->target), "%s",
					 it->before.eni[0] ? it->before.eni
							   : it->before.gateway);
			} else {
				r->target[0] = '\0';
			}
		}
	}
	if (handback) {
		if (wrote)
			log_warnx("group %s: this node left MASTER for BACKUP with %zu "
				  "route%s still pointing at it: handed back to %s (the "
				  "peer keepalived heard as MASTER)",
				  g->name, wrote, wrote == 1 ? "" : "s", to);
		else if (failed)
			log_warnx("group %s: handing routes back to %s failed (%s); "
				  "the MASTER's re-check will take them",
				  g->name, to, g->last_error);
		return;
	}
	/* One flip per re-check, however many routes were taken; a settle
	 * check's first take is a late write only. */
	if (lost_it && (!settle || ++g->settle_takes > 1))
		record_flip(g, lost_tb, lost_it);
	if (g->state != KA_MASTER || gen != g->generation)
		return; /* superseded meanwhile; kick() already moved on */
	if (failed && only_throttled) {
		/* EC2's account bucket is empty: not an error of ours, and no
		 * reason to give up while MASTER. The client's limiter paces the
		 * calls, so the next pass may start at once; it looks first and
		 * writes only what is left, and a settle check stays one. */
		g->retrying = 1;
		g->rate_limited = 1;
		g->rate_tables = failed;
		g->settle_due = settle;
		g->recheck_due = recheck && !settle;
		/* A slot beyond this pass's deadline: the next pass starts
		 * in time to describe and then write in it, not before. */
		uint64_t wait = ec2_ratelim_delay(EC2_RL_WRITE);
		wait = wait > g->api_deadline_ms / 2 ? wait - g->api_deadline_ms / 2 : 0;
		if (wait < PASS_MIN_GAP_MS)
			wait = PASS_MIN_GAP_MS;
		log_info("group %s: waiting for EC2's rate limit, %u of %zu route tables "
			 "left; next pass in %llu ms",
			 g->name, failed, res->ntables, (unsigned long long)wait);
		schedule(g, wait, on_timer);
		return;
	}
	g->rate_limited = 0;
	if (failed) {
		uint64_t d = backoff_next(&g->retry, now);
		if (d == BACKOFF_GIVE_UP)
			d = RETRY_CAP_MS;
		g->retrying = 1;
		/* The retry is the same kind of pass: it looks first. */
		g->settle_due = settle;
		g->recheck_due = recheck && !settle;
		log_warnx(
		    "group %s: %u of %zu route tables not converged (%s); retrying in "
		    "%llu ms",
		    g->name, failed, res->ntables, g->last_error, (unsigned long long)d);
		schedule(g, d, on_timer);
		return;
	}
	g->retrying = 0;
	g->rate_limited = 0;
	backoff_init(&g->retry, RETRY_BASE_MS, RETRY_CAP_MS, UINT64_MAX);
	if (observe) {
		if (g->damped)
			damped_look(g, res, now);
		else if (g->recheck_due || g->settle_due)
			kick(g); /* damping ended during the look: re-assert */
		else
			schedule_recheck(g);
		return;
	}
	if (g->converged_gen != gen) {
		g->converged_gen = gen;
		g->converged_wall = ev_wall();
		g->convergence_ms = now - g->event_mono;
		g->handoff_ms = g->received_mono - g->event_mono;
		log_info("group %s: all %zu route tables point at %s, %llu ms after %s; "
			 "settling",
			 g->name, res->ntables, grp_eni(g),
			 (unsigned long long)g->convergence_ms, ka_state_name(g->state));
		settle_begin(g, now);
		return;
	}
	if (wrote) {
		settle_begin(g, now);
		return;
	}
	if (g->settling) {
		if (now < g->settle_end) {
			schedule(g, g->settle_end - now, on_settle);
			return;
		}
		settled(g, now);
	}
	schedule_recheck(g);
}

static void start_pass(struct grp *g, int observe)
{
	struct cv_spec spec = group_spec(g, grp_eni(g));

	spec.observe_only = observe;
	/* A live transition into MASTER means the routes point at the
	 * old master: write at once, one round trip instead of two.
	 * Retries and re-checks look first, and so does a flapping group
	 * (a cancelled describe costs one call, a blind pass one per
	 * route). A node that does not know its peer's ENI yet looks
	 * too: whom it takes the routes from is whom it hands them back
	 * to after a healed partition. */
	spec.blind = g->fresh_master && !observe &&
		     (g->passes == 0 || ev_now() >= g->last_pass + BLIND_QUIET_MS) &&
		     g->peer_eni[0];

	g->fresh_master = 0;
	g->op_gen = g->generation;
	g->op_observe = observe;
	g->op_recheck = g->converged_gen == g->generation;
	g->op_settle = g->settle_due && g->op_recheck;
	g->op_handback = 0;
	g->pass_gen = g->generation;
	g->settle_passes += g->op_settle;
	g->recheck_due = 0;
	g->settle_due = 0;
	g->last_pass = ev_now();
	g->passes++;
	g->op = cv_start(&spec, on_pass, g);
}

/* Left MASTER for BACKUP: point the routes that still point here at the
 * peer. Not a convergence pass. */
static void on_handback(void *arg)
{
	struct grp *g = arg;
	struct cv_spec spec = group_spec(g, g->peer_eni);

	spec.only_from = grp_eni(g);
	g->timer = 0;
	if (g->state != KA_BACKUP || g->aside_gen != g->generation)
		return;
	g->op_gen = g->generation;
	g->op_observe = 0;
	g->op_recheck = 0;
	g->op_settle = 0;
	g->op_handback = 1;
	g->op = cv_start(&spec, on_pass, g);
}

/* Is keepalived alive per its pid file? 1 yes, 0 no (the file names a
 * process that is gone or is not keepalived: it crashed), -1 unknown (no
 * file configured or readable: trust the events). */
static int keepalived_alive(void)
{
	long pid;

	if (ka_pid_file[0] == '\0')
		return -1;
	switch (pidfile_check(ka_pid_file, "keepalived", &pid, NULL, 0)) {
	case PIDFILE_ALIVE:
		return 1;
	case PIDFILE_GONE:
	case PIDFILE_OTHER:
		return 0;
	default:
		return -1;
	}
}

static enum grp_verdict apply(struct grp *g, const struct ka_event *ev,
			      const char *source);

static void on_guard(void *arg, enum guard_answer a, const char *detail, unsigned ms)
{
	struct grp *g = arg;

	g->guard_last = a;
	g->guard_ms = ms;
	snprintf(g->guard_detail, sizeof(g->guard_detail), "%s", detail);
	if (g->state != KA_MASTER)
		return;
	if (a == GUARD_PRIMARY) {
		if (g->guard_refusing)
			log_warnx("group %s: guard: %s: taking the routes", g->name,
				  detail);
		g->guard_refusing = 0;
		g->guard_ok = 1;
		g->guard_ok_at = ev_now();
		kick(g);
		return;
	}
	g->guard_refusals++;
	if (!g->guard_refusing)
		log_warnx("GUARD: group %s is MASTER but %s: routes not taken; asking "
			  "again every %u ms",
			  g->name, detail, GUARD_RETRY_MS);
	g->guard_refusing = 1;
	schedule(g, GUARD_RETRY_MS, on_timer);
}

/* A pass that writes to this node is due: may it run now? 0 yes (no guard,
 * or a fresh "primary"); 1 no: the guard is asked (on_guard kicks again). */
static int guard_holds(struct grp *g)
{
	if (g->guard == NULL)
		return 0;
	if (g->guard_ok) {
		g->guard_ok = 0; /* one answer, one pass, and a fresh one */
		if (ev_now() - g->guard_ok_at <= GUARD_RETRY_MS)
			return 0;
	}
	if (!guard_busy(g->guard))
		guard_ask(g->guard, on_guard, g);
	return 1;
}

/* Decide what the group should be doing now. */
static void kick(struct grp *g)
{
	if (g->state != KA_MASTER) {
		int quiet = g->state == KA_STOP || g->state == KA_DELETED;
		if (!quiet && g->aside_gen == g->generation && (g->op || g->timer))
			return; /* a hand-back of this state is under way */
		grp_stop_work(g);
		if (!ready || quiet)
			return;
		if (g->handback_due && g->state == KA_BACKUP && g->peer_eni[0]) {
			/* Not at once: keepalived may be flapping, and a storm of
			 * transitions must not become a storm of describes. */
			uint64_t now = ev_now(), at = now + PASS_MIN_GAP_MS;
			uint64_t gap = g->generation > g->pass_gen + 2 ? FLAP_GAP_MS
								       : PASS_MIN_GAP_MS;
			if (g->passes && at < g->last_pass + gap)
				at = g->last_pass + gap;
			g->aside_gen = g->generation;
			schedule(g, at - now, on_handback);
		} else if (g->handback_due && g->state == KA_BACKUP)
			log_warnx(
			    "group %s: left MASTER for BACKUP; no other node's ENI "
			    "seen in its routes yet, so nothing to hand back to: if "
			    "routes still point here, the MASTER's re-check takes "
			    "them",
			    g->name);
		g->handback_due = 0;
		return;
	}
	if (!ready)
		return;
	/* Only keepalived's groups hang on keepalived being alive. */
	if (g->cfg->source == CFG_SRC_KEEPALIVED && keepalived_alive() == 0) {
		struct ka_event stop;
		memset(&stop, 0, sizeof(stop));
		stop.type = g->cfg->vrrp_instance[0] ? KA_INSTANCE : KA_GROUP;
		snprintf(stop.name, sizeof(stop.name), "%s",
			 g->cfg->vrrp_instance[0] ? g->cfg->vrrp_instance
						  : g->cfg->vrrp_group);
		stop.state = KA_STOP;
		log_warnx("group %s: keepalived is not running (pid file %s names no "
			  "keepalived process): this node is not MASTER any more; not "
			  "touching routes",
			  g->name, ka_pid_file);
		apply(g, &stop, "pid-check");
		return;
	}
	if (g->held) { /* grp_hold: no pass, no write, until released */
		if (g->op) {
			cv_cancel(g->op);
			g->op = NULL;
		}
		if (g->timer)
			ev_timer_cancel(g->timer);
		g->timer = 0;
		return;
	}
	if (g->damped && ev_now() >= g->damped_until) {
		log_warnx("group %s: split-brain damping over after %u s; trying again",
			  g->name, g->cfg->split_brain_window_ms / 1000);
		g->damped = 0;
		g->nflips = 0;
	}
	if (g->op && g->op_gen == g->generation)
		return; /* the current pass serves this generation */
	if (g->op) {
		cv_cancel(g->op);
		g->op = NULL;
	}
	int due = g->converged_gen != g->generation || g->recheck_due || g->settle_due;
	if (!due)
		return;
	if (g->timer && g->retrying)
		return; /* a retry is scheduled */
	uint64_t now = ev_now();
	/* Left MASTER and came back since the last pass: keepalived flaps. */
	uint64_t gap = g->generation > g->pass_gen + 1 ? FLAP_GAP_MS : PASS_MIN_GAP_MS;
	if (g->passes && now < g->last_pass + gap) {
		schedule(g, g->last_pass + gap - now, on_timer);
		return;
	}
	if (g->timer) {
		ev_timer_cancel(g->timer);
		g->timer = 0;
	}
	if (!g->damped && guard_holds(g))
		return;
	start_pass(g, g->damped);
}

static int uses_name(const struct grp *g, const struct ka_event *ev)
{
	/* A leader source addresses its group by the group's own name. */
	if (ev->type == KA_LEADER)
		return g->cfg->source != CFG_SRC_KEEPALIVED &&
		       strcmp(g->name, ev->name) == 0;
	const char *want =
	    ev->type == KA_INSTANCE ? g->cfg->vrrp_instance : g->cfg->vrrp_group;
	return want[0] && strcmp(want, ev->name) == 0;
}

/* The pid space's size: /proc/sys/kernel/pid_max, read once (4194304, the
 * 64-bit kernels' usual value, if it cannot be read). */
static unsigned pid_space;

static unsigned pid_space_size(void)
{
	if (!pid_space) {
		FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
		unsigned n = 0;

		if (!f || fscanf(f, "%u", &n) != 1 || n < 2)
			n = 1u << 22;
		if (f)
			fclose(f);
		pid_space = n;
	}
	return pid_space;
}

/* Is ev older than the state already applied? keepalived forks notify hooks
 * without waiting for them; each is stamped with its fork, but only to the
 * kernel's clock tick (10 ms), so two hooks stamped within HOOK_TIE_MS of
 * each other are ordered by process id: the later fork has the higher one,
 * counted modulo pid_max (pids wrap to low numbers), and a pid more than
 * half the pid space ahead is taken as forked before, not after. */
static int older(const struct ka_event *ev, uint64_t mono, const struct grp *g)
{
	uint64_t d = mono > g->order_mono ? mono - g->order_mono : g->order_mono - mono;

	if (ev->pid > 0 && g->order_pid > 0 && d < HOOK_TIE_MS) {
		unsigned n = pid_space_size();
		unsigned now = (unsigned)ev->pid % n, then = (unsigned)g->order_pid % n;
		unsigned ahead = now >= then ? now - then : n - (then - now);

		return ahead == 0 ? mono < g->order_mono : ahead > n / 2;
	}
	return mono < g->order_mono;
}

static enum grp_verdict apply(struct grp *g, const struct ka_event *ev,
			      const char *source)
{
	uint64_t mono = ev->mono ? ev->mono : ev_now();

	if (older(ev, mono, g)) {
		log_info(
		    "group %s: %s %s from %s is older than the state already applied; "
		    "ignored",
		    g->name, ka_state_name(ev->state), ev->name, source);
		return GRP_STALE;
	}
	if (ev->state <= KA_DELETED) {
		g->order_mono = mono;
		g->order_pid = ev->pid;
	}
	switch (ev->state) {
	case KA_MASTER_RX_LOWER_PRI:
		if (g->state != KA_MASTER)
			return GRP_DUPLICATE;
		log_info(
		    "group %s: a lower-priority peer claimed MASTER: re-asserting routes",
		    g->name);
		/* VRRP sees the peer again: the split is over, and we won. */
		g->damped = 0;
		g->nflips = 0;
		g->recheck_due = 1;
		kick(g);
		return GRP_APPLIED;
	case KA_MASTER_PRIORITY:
	case KA_BACKUP_PRIORITY:
		g->priority = ev->priority;
		return GRP_DUPLICATE;
	default:
		break;
	}
	g->priority = ev->priority;
	if (ev->state == g->state) {
		kick(g);
		return GRP_DUPLICATE;
	}
	log_info("group %s: %s -> %s (%s %s, priority %d, via %s)", g->name,
		 ka_state_name(g->state), ka_state_name(ev->state),
		 ka_type_name(ev->type), ev->name, ev->priority, source);
	int was_master = g->state == KA_MASTER;
	/* Converged but leaving before the settle checks: the failover
	 * happened all the same, and its annotation says it did not settle. */
	if (was_master && g->settling && g->converged_gen == g->generation &&
	    g->settled_gen != g->generation) {
		g->settle_ms = 0;
		g->settled_wall = 0;
		g->settled_gen = g->generation;
		report(g, GRP_REPORT_CONVERGED);
	}
	/* keepalived heard a MASTER of higher priority: ours may still be
	 * the routes' target (a healed partition). */
	g->handback_due = was_master && ev->state == KA_BACKUP;
	/* A leader source's BACKUP names a new leader (or none): its node's
	 * daemon takes the routes; handing them to the last ENI seen could
	 * point them at a replica. */
	if (ev->type == KA_LEADER)
		g->handback_due = 0;
	g->prev_state = g->state;
	/* A recorded event replayed at start may be long stale: look first. */
	g->fresh_master = ev->state == KA_MASTER && strcmp(source, "state") != 0;
	/* A failover is a new event: its writes go out at once; if EC2's
	 * bucket is still empty, their throttling starts the pacing again. */
	if (g->fresh_master)
		ec2_ratelim_reset(EC2_RL_WRITE);
	g->state = ev->state;
	g->generation++;
	g->trans_gen = g->generation;
	g->event_mono = mono;
	g->received_mono = ev_now();
	g->event_wall = ev->wall ? ev->wall : ev_wall();
	snprintf(g->event_source, sizeof(g->event_source), "%s", source);
	if (ev->state <= KA_DELETED)
		g->transitions[ev->state]++;
	g->retrying = 0;
	g->rate_limited = 0;
	g->settling = 0;
	g->settle_due = 0;
	backoff_init(&g->retry, RETRY_BASE_MS, RETRY_CAP_MS, UINT64_MAX);
	if (g->state != KA_MASTER) {
		g->damped = 0;
		g->nflips = 0;
	}
	if (g->cfg->vip_device[0] && (was_master || g->state == KA_MASTER))
		vip_set(g->cfg->vip_device, g->cfg->destinations, g->cfg->ndestinations,
			g->state == KA_MASTER);
	/* Before kick(): a pid-check inside it may apply STOP at once, and
	 * the observer must see the transitions in order. */
	report(g, GRP_REPORT_TRANSITION);
	kick(g);
	return GRP_APPLIED;
}

void grp_hold(const char *name, int on)
{
	for (size_t i = 0; i < ngroups; i++) {
		struct grp *g = groups[i];
		if (strcmp(g->name, name) != 0 || g->held == !!on)
			continue;
		g->held = !!on;
		if (on) {
			log_warnx(
			    "group %s: its leader source cannot be reached: holding "
			    "the routes as they are (%s, no writes) until it answers",
			    g->name, ka_state_name(g->state));
			kick(g);
			continue;
		}
		log_info("group %s: its leader source answers again: %s", g->name,
			 g->state == KA_MASTER ? "re-checking the routes" : "released");
		g->recheck_due = g->converged_gen == g->generation;
		kick(g);
	}
}

enum grp_verdict grp_event(const struct ka_event *ev, const char *source)
{
	enum grp_verdict v = GRP_NO_GROUP;

	for (size_t i = 0; i < ngroups; i++) {
		if (!uses_name(groups[i], ev))
			continue;
		enum grp_verdict r = apply(groups[i], ev, source);
		if (v == GRP_NO_GROUP || r == GRP_APPLIED)
			v = r;
	}
	if (v == GRP_NO_GROUP)
		log_info("%s %s %s (via %s): no group uses this name; ignored",
			 ka_type_name(ev->type), ev->name, ka_state_name(ev->state),
			 source);
	return v;
}

static json_t *group_json(const struct grp *g)
{
	json_t *tables = json_array(), *trans = json_object();
	const char *phase;

	for (size_t i = 0; i < g->nroutes; i++) {
		const struct route_status *r = &g->routes[i];
		json_array_append_new(
		    tables,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "table", r->table,
			      "destination", r->dest, "target", r->target, "outcome",
			      r->outcome, "error", r->error, "ms", (json_int_t)r->ms));
	}
	for (int s = KA_MASTER; s <= KA_DELETED; s++)
		json_object_set_new(trans, ka_state_name((enum ka_state)s),
				    json_integer((json_int_t)g->transitions[s]));
	if (g->state != KA_MASTER)
		phase = "idle";
	else if (!ready)
		phase = "waiting for instance identity";
	else if (g->held)
		phase = "held (leader source unreachable)";
	else if (g->damped)
		phase = "damped (split brain)";
	else if (g->guard_refusing)
		phase = "refused by guard";
	else if (g->converged_gen == g->generation && g->settling)
		phase = "settling";
	else if (g->converged_gen == g->generation)
		phase = "converged";
	else if (g->retrying && g->rate_limited)
		phase = "waiting for EC2's rate limit";
	else if (g->retrying)
		phase = "retrying";
	else
		phase = "converging";
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:b, s:I, s:s, s:I, s:I, "
	    "s:I, s:o, s:I, s:I, s:b, s:{s:I, s:I}, s:s, s:o}",
	    "name", g->name, "vrrp_type", g->cfg->vrrp_instance[0] ? "INSTANCE" : "GROUP",
	    "vrrp_name",
	    g->cfg->vrrp_instance[0] ? g->cfg->vrrp_instance : g->cfg->vrrp_group,
	    "state", ka_state_name(g->state), "priority", g->priority, "generation",
	    (json_int_t)g->generation, "phase", phase, "eni", grp_eni(g), "converged",
	    g->state == KA_MASTER && g->converged_gen == g->generation && !g->settling,
	    "last_transition", (json_int_t)g->event_wall, "last_source", g->event_source,
	    "convergence_ms", (json_int_t)g->convergence_ms, "handoff_ms",
	    (json_int_t)g->handoff_ms, "converged_at", (json_int_t)g->converged_wall,
	    "transitions", trans, "split_brain_flips", (json_int_t)g->flips_total,
	    "passes", (json_int_t)g->passes, "damped", g->damped, "route_updates", "ok",
	    (json_int_t)g->updates_ok, "failed", (json_int_t)g->updates_failed,
	    "last_error", g->last_error, "routes", tables);
	/* Settle: converged_at/convergence_ms say when the tables were written,
	 * settled_at/settle_ms when they had stayed through the settle checks. */
	json_object_set_new(o, "settled_at", json_integer((json_int_t)g->settled_wall));
	json_object_set_new(o, "settle_ms", json_integer((json_int_t)g->settle_ms));
	json_object_set_new(o, "late_writes", json_integer((json_int_t)g->late_total));
	json_object_set_new(o, "last_late_write", json_string(g->last_late));
	json_object_set_new(o, "peer_eni", json_string(g->peer_eni));
	json_object_set_new(
	    o, "rate_limited_tables",
	    json_integer(g->state == KA_MASTER && g->retrying && g->rate_limited
			     ? (json_int_t)g->rate_tables
			     : 0));
	json_object_set_new(o, "handed_back", json_integer((json_int_t)g->handbacks));
	/* Who decides MASTER, and what it last said (daemon/patroni.c). */
	json_object_set_new(o, "source",
			    json_string(grp_cfg_source_name(g->cfg->source)));
	if (g->cfg->source == CFG_SRC_PATRONI)
		json_object_set_new(o, "patroni", pat_status(g->name) ?: json_null());
	if (g->cfg->source == CFG_SRC_SENTINEL) /* daemon/sentinel.c */
		json_object_set_new(o, "sentinel", sen_status(g->name) ?: json_null());
	json_object_set_new(o, "last_hand_back", json_string(g->last_handback));
	json_object_set_new(
	    o, "guard",
	    g->guard ? json_pack("{s:s, s:s, s:s, s:b, s:I, s:i}", "target",
				 guard_name(g->guard), "answer",
				 guard_answer_name(g->guard_last), "detail",
				 g->guard_detail, "refusing",
				 g->guard_refusing && g->state == KA_MASTER, "refusals",
				 (json_int_t)g->guard_refusals, "ms", (int)g->guard_ms)
		     : json_null());
	/* The role the group's calls use, never its keys. */
	int slot = ident_group_creds(g->cfg);
	const char *arn = slot >= 0 ? auth_role_arn(slot) : g->cfg->role_arn;
	json_object_set_new(o, "role",
			    arn[0]
				? json_pack("{s:s, s:s, s:I}", "arn", arn, "assumed_arn",
					    auth_assumed_arn(slot), "expires",
					    (json_int_t)auth_role_expires(slot))
				: json_null());
	if (g->cfg->track_file[0]) {
		char err[300];
		int d = trk_read(g->cfg->track_file, err, sizeof(err));
		json_object_set_new(o, "track_file", json_string(g->cfg->track_file));
		json_object_set_new(o, "demoted",
				    d == -1 ? json_string(err) : json_boolean(d));
	}
	return o;
}

int grp_info(const char *name, enum ka_state *state, char *eni, size_t n)
{
	for (size_t i = 0; i < ngroups; i++) {
		if (strcmp(groups[i]->name, name) != 0)
			continue;
		*state = groups[i]->state;
		snprintf(eni, n, "%s", grp_eni(groups[i]));
		return 0;
	}
	return -1;
}

/* The client-side rate limit of each EC2 call category. */
static json_t *ratelim_json(void)
{
	static const char *const names[EC2_RL_NCAT] = {"writes", "describe_route_tables",
						       "describe_network_interfaces"};
	json_t *o = json_object();

	for (int c = 0; c < EC2_RL_NCAT; c++) {
		struct ec2_ratelim_state st;
		ec2_ratelim((enum ec2_rl_cat)c, &st);
		json_object_set_new(
		    o, names[c],
		    json_pack("{s:b, s:f, s:I, s:I, s:I}", "limited", st.limited, "rate",
			      st.rate, "waiting", (json_int_t)st.waiting, "throttles",
			      (json_int_t)st.throttles, "waits", (json_int_t)st.waits));
	}
	return o;
}

json_t *grp_status(void)
{
	json_t *arr = json_array();
	json_t *o;

	for (size_t i = 0; i < ngroups; i++)
		json_array_append_new(arr, group_json(groups[i]));
	o = json_pack("{s:b, s:o, s:{s:s, s:s, s:s, s:s}, s:{s:I, s:I, s:I}}", "ok", 1,
		      "groups", arr, "instance", "id", identity.instance_id, "eni",
		      identity.eni, "az", identity.az, "region", identity.region, "api",
		      "requests", (json_int_t)ec2_counters()->requests, "retries",
		      (json_int_t)ec2_counters()->retries, "throttled",
		      (json_int_t)ec2_counters()->throttled);
	json_object_set_new(json_object_get(o, "api"), "rate_limit", ratelim_json());
	return o;
}

json_t *grp_metrics(void)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < ngroups; i++) {
		const struct grp *g = groups[i];
		json_t *trans = json_object();
		for (int s = KA_MASTER; s <= KA_DELETED; s++)
			json_object_set_new(trans, ka_state_name((enum ka_state)s),
					    json_integer((json_int_t)g->transitions[s]));
		json_array_append_new(
		    arr,
		    json_pack(
			"{s:s, s:s, s:o, s:{s:I, s:I}, s:o, s:o, s:I, s:I}", "group",
			g->name, "state", ka_state_name(g->state), "transitions", trans,
			"route_updates", "ok", (json_int_t)g->updates_ok, "failed",
			(json_int_t)g->updates_failed, "convergence_seconds",
			g->converged_wall ? json_real((double)g->convergence_ms / 1000.0)
					  : json_null(),
			"settle_seconds",
			g->settled_wall ? json_real((double)g->settle_ms / 1000.0)
					: json_null(),
			"late_writes", (json_int_t)g->late_total, "split_brain_flips",
			(json_int_t)g->flips_total));
		json_t *o = json_array_get(arr, json_array_size(arr) - 1);
		json_object_set_new(o, "handed_back",
				    json_integer((json_int_t)g->handbacks));
		/* what the alert rules look at */
		json_object_set_new(o, "converged",
				    json_integer(g->state == KA_MASTER &&
						 g->converged_gen == g->generation));
		json_object_set_new(o, "damped", json_integer(g->damped != 0));
		if (g->guard) {
			json_object_set_new(o, "guard_refusals",
					    json_integer((json_int_t)g->guard_refusals));
			json_object_set_new(
			    o, "guard_primary",
			    g->guard_last == GUARD_UNASKED
				? json_null()
				: json_integer(g->guard_last == GUARD_PRIMARY));
		}
		json_t *sm = g->cfg->source == CFG_SRC_SENTINEL	 ? sen_metrics(g->name)
			     : g->cfg->source == CFG_SRC_PATRONI ? pat_metrics(g->name)
								 : NULL;
		if (sm)
			json_object_update(o, sm);
		json_decref(sm);
		json_object_set_new(json_object_get(o, "route_updates"), "rate_limited",
				    json_integer((json_int_t)g->updates_throttled));
	}
	return arr;
}
