/* traffic.c — failover timelines and the data plane's view of them: which
 * zones' traffic reached this node after it became MASTER, and when
 * (netmon/monitor.c watches the overlay counters; see docs/netmon.md,
 * "Overlay traffic").
 *
 * The watch starts NM_WATCH_START_MS after the transition report, from a
 * timer: the report comes before the group's first pass is started, and
 * the pass's requests go out from curl's own zero-delay timer, which this
 * one follows; so the watch's first read is never on the way of the
 * route writes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/traffic.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/monitor.h"

#define NM_WATCH_START_MS 1

struct tl_table {
	char table[AWS_ID_MAX];
	uint64_t ms;
};

/* One group's last failover. */
struct tl {
	char name[INI_NAME_MAX];
	int64_t trans_us; /* realtime of the transition to MASTER; 0 none */
	uint64_t gen;
	int converged;
	uint64_t convergence_ms, settle_ms;
	struct tl_table *tables;
	size_t ntables;
	uint64_t start_timer;
	int watch_failed;
};

static struct tl **tls;
static size_t ntls;

static struct tl *tl_of(const char *name, int create)
{
	for (size_t i = 0; i < ntls; i++)
		if (strcmp(tls[i]->name, name) == 0)
			return tls[i];
	if (!create)
		return NULL;
	tls = xgrow(tls, ntls, sizeof(*tls));
	tls[ntls] = xcalloc(1, sizeof(**tls));
	strlcpy_chk(tls[ntls]->name, name, sizeof(tls[ntls]->name));
	return tls[ntls++];
}

static int64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void trf_configure(const struct cfg *cfg)
{
	struct nm_overlay *ov = xcalloc(cfg->ngroups + 1, sizeof(*ov));

	for (size_t i = 0; i < cfg->ngroups; i++)
		ov[i] =
		    (struct nm_overlay){cfg->groups[i].name, cfg->groups[i].destinations,
					cfg->groups[i].ndestinations};
	nm_set_overlays(ov, cfg->ngroups);
	free(ov);
}

static void start_watch(void *arg)
{
	struct tl *t = arg;

	t->start_timer = 0;
	t->watch_failed = nm_watch_start(t->name) == -1;
}

void trf_observe(const struct grp_report *r, void *arg)
{
	struct tl *t;

	if (r->kind == GRP_REPORT_TRANSITION) {
		int m =
		    r->state == KA_MASTER ? 1
		    : r->state == KA_BACKUP || r->state == KA_FAULT || r->state == KA_STOP
			? 0
			: -1;
		nm_overlay_state(r->group, ka_state_name(r->state), m);
		if (r->state != KA_MASTER)
			return;
		t = tl_of(r->group, 1);
		/* The transition in real time: event_mono is ev_now() time. */
		uint64_t now = ev_now();
		t->trans_us =
		    real_us() -
		    (int64_t)(now > r->event_mono ? now - r->event_mono : 0) * 1000;
		t->gen = r->generation;
		t->converged = 0;
		t->convergence_ms = t->settle_ms = 0;
		free(t->tables);
		t->tables = NULL;
		t->ntables = 0;
		t->watch_failed = 0;
		if (t->start_timer)
			ev_timer_cancel(t->start_timer);
		t->start_timer = ev_timer_add(NM_WATCH_START_MS, start_watch, t);
		return;
	}
	if (!r->failover || (t = tl_of(r->group, 0)) == NULL || t->gen != r->generation)
		return;
	t->converged = 1;
	t->convergence_ms = r->convergence_ms;
	t->settle_ms = r->settle_ms;
	free(t->tables);
	t->tables = xcalloc(r->nroutes + 1, sizeof(*t->tables));
	t->ntables = r->nroutes;
	for (size_t i = 0; i < r->nroutes; i++) {
		strlcpy_chk(t->tables[i].table, r->routes[i].table,
			    sizeof(t->tables[i].table));
		t->tables[i].ms = r->routes[i].ms;
	}
}

/* The monitor's view of group (NULL: none). Valid until the next call. */
static const struct nm_ov_report *overlay_of(const char *group)
{
	static struct nm_report rep;

	memset(&rep, 0, sizeof(rep));
	nm_metrics(&rep, NULL);
	for (size_t i = 0; i < rep.noverlays; i++)
		if (strcmp(rep.overlays[i].group, group) == 0)
			return &rep.overlays[i];
	return NULL;
}

/* Did the watch of the overlay serve the timeline t? */
static int watch_of(const struct tl *t, const struct nm_ov_report *o)
{
	return t && o && t->trans_us && o->watch_start_us >= t->trans_us;
}

void trf_note(const char *group, char *buf, size_t len)
{
	const struct tl *t = tl_of(group, 0);
	const struct nm_ov_report *o = overlay_of(group);
	size_t n = 0;
	int w;

	buf[0] = '\0';
	if (!watch_of(t, o) || o->nzones == 0)
		return;
	w = snprintf(buf, len, "first traffic to %s:", o->dest);
	n = w > 0 && (size_t)w < len ? (size_t)w : len - 1;
	for (size_t k = 0; k < o->nzones && n + 1 < len; k++) {
		const struct nm_ov_zone *z = &o->zones[k];
		/* Sources in no zone are news only when there were some. */
		if (k + 1 == o->nzones && !z->first_us) {
			if (n > 0 && buf[n - 1] == ',')
				buf[--n] = '\0';
			break;
		}
		if (z->first_us)
			w = snprintf(buf + n, len - n, " %s +%" PRId64 " ms%s", z->zone,
				     (z->first_us - t->trans_us) / 1000,
				     k + 1 < o->nzones ? "," : "");
		else
			w = snprintf(buf + n, len - n, " %s %s%s", z->zone,
				     o->watching ? "none yet" : "none in the window",
				     k + 1 < o->nzones ? "," : "");
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
}

/* Unix microseconds (integers: docs/json.md, keys ending in _us), or null. */
static json_t *us_json(int64_t us)
{
	return us ? json_integer((json_int_t)us) : json_null();
}

json_t *trf_status(const char *group)
{
	const struct tl *t = tl_of(group, 0);
	const struct nm_ov_report *o = overlay_of(group);
	json_t *out = json_object(), *mis = json_array();

	if (o && o->nzones) {
		json_t *zs = json_array();
		for (size_t k = 0; k < o->nzones; k++) {
			const struct nm_ov_zone *z = &o->zones[k];
			json_array_append_new(
			    zs,
			    json_pack("{s:s, s:I, s:I, s:b, s:o, s:o, s:b, s:o, s:I}",
				      "zone", z->zone, "packets", (json_int_t)z->packets,
				      "bytes", (json_int_t)z->bytes, "receiving",
				      z->receiving, "last_at_us", us_json(z->last_us),
				      "stopped_at_us", us_json(z->stopped_us),
				      "misrouted", z->misrouted, "misrouted_since_us",
				      us_json(z->misroute_us), "misroute_episodes",
				      (json_int_t)z->misroute_episodes));
			if (z->misrouted)
				json_array_append_new(
				    mis,
				    json_sprintf("%s receives traffic for %s from %s",
						 o->state[0] ? o->state : "this node",
						 o->dest, z->zone));
		}
		json_object_set_new(
		    out, "overlay",
		    json_pack("{s:s, s:o}", "destination", o->dest, "zones", zs));
	}
	json_object_set_new(out, "misrouted", mis);
	if (t == NULL || t->trans_us == 0)
		return out;
	json_t *tl = json_object(), *tabs = json_array();
	json_object_set_new(tl, "transition_at_us", us_json(t->trans_us));
	for (size_t i = 0; i < t->ntables; i++)
		json_array_append_new(tabs,
				      json_pack("{s:s, s:I}", "table", t->tables[i].table,
						"ms", (json_int_t)t->tables[i].ms));
	json_object_set_new(tl, "tables", tabs);
	json_object_set_new(tl, "converged_ms",
			    t->converged ? json_integer((json_int_t)t->convergence_ms)
					 : json_null());
	json_object_set_new(tl, "settled_ms",
			    t->converged && t->settle_ms
				? json_integer((json_int_t)t->settle_ms)
				: json_null());
	if (watch_of(t, o)) {
		json_t *ft = json_array();
		json_object_set_new(
		    tl, "watch",
		    json_pack("{s:I, s:b, s:I, s:I, s:I, s:I}", "started_us",
			      (json_int_t)(o->watch_start_us - t->trans_us), "running",
			      o->watching, "window_ms", (json_int_t)o->window_ms, "reads",
			      (json_int_t)o->polls, "cpu_us",
			      (json_int_t)(o->poll_ns / 1000), "longest_gap_us",
			      (json_int_t)o->poll_max_gap_us));
		for (size_t k = 0; k < o->nzones; k++) {
			const struct nm_ov_zone *z = &o->zones[k];
			json_t *e = json_pack("{s:s}", "zone", z->zone);
			if (z->first_us) {
				int64_t after = z->first_us - t->trans_us;
				json_object_set_new(e, "at_us", us_json(z->first_us));
				json_object_set_new(e, "prev_read_at_us",
						    us_json(z->first_prev_us));
				json_object_set_new(e, "after_us",
						    json_integer((json_int_t)after));
				json_object_set_new(
				    e, "after_ms",
				    json_integer((json_int_t)(after / 1000)));
				if (t->converged)
					json_object_set_new(
					    e, "after_converged_ms",
					    json_integer((json_int_t)(after / 1000) -
							 (json_int_t)t->convergence_ms));
			} else
				json_object_set_new(
				    e, "none",
				    json_string(o->watching
						    ? "none yet"
						    : "no traffic in the window"));
			json_array_append_new(ft, e);
		}
		json_object_set_new(tl, "first_traffic", ft);
	} else if (t->watch_failed)
		json_object_set_new(
		    tl, "watch",
		    json_string("not running (no overlay counters: see the log)"));
	json_object_set_new(out, "timeline", tl);
	return out;
}

int64_t trf_transition_us(const char *group)
{
	const struct tl *t = tl_of(group, 0);

	return t ? t->trans_us : 0;
}

void trf_fini(void)
{
	for (size_t i = 0; i < ntls; i++) {
		if (tls[i]->start_timer)
			ev_timer_cancel(tls[i]->start_timer);
		free(tls[i]->tables);
		free(tls[i]);
	}
	free(tls);
	tls = NULL;
	ntls = 0;
	nm_set_overlays(NULL, 0);
}
