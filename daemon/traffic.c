/* traffic.c — failover timelines and the data plane's view of them: which
 * zones' traffic reached this node after it became MASTER, and when
 * (netmon/monitor.c watches the overlay counters; see docs/netmon.md,
 * "Overlay traffic").
 *
 * The watch starts NM_WATCH_START_MS after the transition report, from a
 * timer: the report comes before the group's first pass is started, and
 * the pass's requests go out from curl's own zero-delay timer, which this
 * one follows; so the watch's first read is never on the way of the
 * route writes.
 *
 * The network around a failover ([netmon] failover_window, W): the same
 * timer takes "the W before" from the monitor's ring of per-interval
 * samples (netmon/ring.h); a second timer, W after the transition, takes
 * "the W after", logs both, puts them in the status and sends them on
 * (ntf_network: a webhook message and a second annotation). Both are
 * subtractions over the ring: nothing on the way of the route writes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/notify.h"
#include "daemon/traffic.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/monitor.h"

#define NM_WATCH_START_MS 1
#define ARROW		  "\xe2\x86\x92" /* U+2192, as in the notifications */

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
	/* The network around it: W = net_window_ms, 0 off. */
	unsigned net_window_ms;
	uint64_t net_timer;
	int have_before, have_after, net_done;
	struct nmr_delta before, after;
	int wrote; /* its converged pass wrote routes (it got an annotation) */
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

static void net_reset(struct tl *t)
{
	if (t->net_timer)
		ev_timer_cancel(t->net_timer);
	t->net_timer = 0;
	nmr_delta_free(&t->before);
	nmr_delta_free(&t->after);
	t->have_before = t->have_after = t->net_done = 0;
	t->net_window_ms = 0;
}

static void start_watch(void *arg)
{
	struct tl *t = arg;

	t->start_timer = 0;
	t->watch_failed = nm_watch_start(t->name) == -1;
	if (t->net_window_ms)
		t->have_before =
		    nm_net_window(t->trans_us - (int64_t)t->net_window_ms * 1000,
				  t->trans_us, &t->before) == 0;
}

static void pct(char *buf, size_t len, const struct nmr_zone_delta *z)
{
	if (!z->traffic)
		snprintf(buf, len, "no traffic");
	else if (z->segs == 0)
		snprintf(buf, len, "no TCP");
	else
		snprintf(buf, len, "%.2f%%", z->retrans_ratio * 100.0);
}

/* From whole microseconds, as the JSON carries them (rtt_json), so that the
 * text and `status` (which formats the JSON) round alike. */
static void rtt_ms(char *buf, size_t len, double s)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f", (double)(long long)(s * 1e6 + 0.5) / 1000);
}

/* The zone named zone in d, or NULL (d is not there, or lacks it). */
static const struct nmr_zone_delta *delta_zone(const struct nmr_delta *d, int have,
					       const char *zone)
{
	for (size_t k = 0; have && k < d->nzones; k++)
		if (strcmp(d->z[k].zone, zone) == 0)
			return &d->z[k];
	return NULL;
}

/* The network story of t in words, parts joined by sep ("; " for one
 * line, "\n" for the annotation's lines, the header then on its own):
 * "network 60 s before → after the transition to MASTER: az1 retrans 0.00%
 * → 4.12%, RTT p50 0.31 → 0.52 ms, p90 ...; az2 no traffic; EC2 allowances
 * exceeded: none; conntrack peak 1% → 1%". */
static void net_text(const struct tl *t, char *buf, size_t len, const char *sep)
{
	static const struct nmr_zone_delta none = {.rtt_p50_s = -1, .rtt_p90_s = -1};
	const struct nmr_delta *names = t->have_after ? &t->after : &t->before;
	size_t n = 0;
	int w;

#define PUT(...)                                                                         \
	do {                                                                             \
		w = snprintf(buf + n, len - n, __VA_ARGS__);                             \
		if (w < 0 || (size_t)w >= len - n)                                       \
			return;                                                          \
		n += (size_t)w;                                                          \
	} while (0)
	buf[0] = '\0';
	PUT("network %u s before " ARROW " after the transition to MASTER:",
	    t->net_window_ms / 1000);
	if (!t->have_before && !t->have_after) {
		PUT(" no samples (the monitor had not collected yet)");
		return;
	}
	for (size_t k = 0; k < names->nzones; k++) {
		const char *zn = names->z[k].zone;
		const struct nmr_zone_delta *b = delta_zone(&t->before, t->have_before,
							    zn),
					    *a = delta_zone(&t->after, t->have_after, zn);
		char r1[32], r2[32], p1[16], p2[16], q1[16], q2[16];

		if (!b)
			b = &none;
		if (!a)
			a = &none;
		PUT("%s%s ", k || sep[0] == '\n' ? sep : " ", zn);
		if (!b->traffic && !a->traffic) {
			PUT("no traffic");
			continue;
		}
		pct(r1, sizeof(r1), b);
		pct(r2, sizeof(r2), a);
		rtt_ms(p1, sizeof(p1), b->rtt_p50_s);
		rtt_ms(p2, sizeof(p2), a->rtt_p50_s);
		rtt_ms(q1, sizeof(q1), b->rtt_p90_s);
		rtt_ms(q2, sizeof(q2), a->rtt_p90_s);
		PUT("retrans %s " ARROW " %s, RTT p50 %s " ARROW " %s ms, p90 %s " ARROW
		    " %s ms",
		    r1, r2, p1, p2, q1, q2);
	}
	const struct nmr_delta *h = t->have_after ? &t->after : &t->before;
	if (!h->have_allow)
		PUT("%sEC2 allowances: no ENA interface", sep);
	else {
		int any = 0;
		PUT("%sEC2 allowances exceeded:", sep);
		for (size_t c = 0; c < NML_NCOUNTERS; c++) {
			uint64_t vb = t->have_before ? t->before.allow[c] : 0,
				 va = t->have_after ? t->after.allow[c] : 0;
			if (vb == 0 && va == 0)
				continue;
			PUT("%s %s %" PRIu64 " " ARROW " %" PRIu64, any ? "," : "",
			    nml_label(c), vb, va);
			any = 1;
		}
		if (!any)
			PUT(" none");
	}
	if (h->have_conntrack)
		PUT("%sconntrack peak %.0f%% " ARROW " %.0f%%", sep,
		    t->have_before ? t->before.ct_peak_fill * 100 : 0.0,
		    t->have_after ? t->after.ct_peak_fill * 100 : 0.0);
#undef PUT
}

/* The six decimals of docs/json.md's ratios. */
static json_t *ratio_json(double v)
{
	return json_real((double)(int64_t)(v * 1e6 + 0.5) / 1e6);
}

static json_t *rtt_json(double s)
{
	return s < 0 ? json_null() : json_integer((json_int_t)(s * 1e6 + 0.5));
}

static json_t *delta_json(const struct nmr_delta *d, int have)
{
	json_t *o, *zs, *al;

	if (!have)
		return json_null();
	zs = json_array();
	for (size_t k = 0; k < d->nzones; k++) {
		const struct nmr_zone_delta *z = &d->z[k];
		uint64_t obs = 0;
		for (size_t b = 0; b <= NM_RTT_NBUCKETS; b++)
			obs += z->rtt.count[b];
		json_array_append_new(
		    zs, json_pack("{s:s, s:b, s:I, s:I, s:o, s:I, s:I, s:o, s:o}", "zone",
				  z->zone, "traffic", z->traffic, "tcp_segments_out",
				  (json_int_t)z->segs, "tcp_retrans_segments",
				  (json_int_t)z->retrans, "tcp_retrans_ratio",
				  ratio_json(z->retrans_ratio), "bytes",
				  (json_int_t)z->bytes, "rtt_observations",
				  (json_int_t)obs, "rtt_p50_us", rtt_json(z->rtt_p50_s),
				  "rtt_p90_us", rtt_json(z->rtt_p90_s)));
	}
	if (d->have_allow) {
		al = json_object();
		for (size_t c = 0; c < NML_NCOUNTERS; c++)
			json_object_set_new(al, nml_label(c),
					    json_integer((json_int_t)d->allow[c]));
	} else
		al = json_null();
	o = json_pack("{s:I, s:I, s:o, s:o, s:o}", "from_us", (json_int_t)d->from_us,
		      "to_us", (json_int_t)d->to_us, "zones", zs, "allowance_exceeded",
		      al, "conntrack_peak_fill",
		      d->have_conntrack ? ratio_json(d->ct_peak_fill) : json_null());
	return o;
}

static json_t *net_json(const struct tl *t)
{
	char text[2048];
	json_t *o = json_pack(
	    "{s:I, s:b, s:o, s:o}", "window_s", (json_int_t)(t->net_window_ms / 1000),
	    "pending", !t->net_done, "before", delta_json(&t->before, t->have_before),
	    "after", delta_json(&t->after, t->have_after));

	if (t->net_done) {
		net_text(t, text, sizeof(text), "; ");
		json_object_set_new(o, "text", json_string(text));
	}
	return o;
}

/* W after the transition: the W after, logged, in the status, sent on. */
static void net_after(void *arg)
{
	struct tl *t = arg;
	char text[2048], desc[2048];

	t->net_timer = 0;
	t->have_after = nm_net_window(t->trans_us, real_us(), &t->after) == 0;
	t->net_done = 1;
	net_text(t, text, sizeof(text), "; ");
	net_text(t, desc, sizeof(desc), "\n");
	log_info("group %s: %s", t->name, text);
	json_t *detail = net_json(t);
	struct ntf_net n = {
	    t->name, t->gen, t->trans_us / 1000000, t->net_window_ms / 1000, text,
	    desc,    detail};
	ntf_network(&n, t->converged && t->wrote);
	json_decref(detail);
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
		t->wrote = 0;
		if (t->start_timer)
			ev_timer_cancel(t->start_timer);
		t->start_timer = ev_timer_add(NM_WATCH_START_MS, start_watch, t);
		net_reset(t);
		if ((t->net_window_ms = nm_net_window_ms()) != 0) {
			uint64_t late = now > r->event_mono ? now - r->event_mono : 0;
			t->net_timer = ev_timer_add(
			    t->net_window_ms > late ? t->net_window_ms - late : 0,
			    net_after, t);
		}
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
		t->wrote += strcmp(r->routes[i].outcome, "replaced") == 0 ||
			    strcmp(r->routes[i].outcome, "created") == 0;
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
	if (t->net_window_ms)
		json_object_set_new(tl, "network", net_json(t));
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
		net_reset(tls[i]);
		free(tls[i]->tables);
		free(tls[i]);
	}
	free(tls);
	tls = NULL;
	ntls = 0;
	nm_set_overlays(NULL, 0);
}
