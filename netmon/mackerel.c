/* mackerel.c — the snapshot as mackerel-agent plugin output.
 *
 * mackerel-agent runs the plugin once a minute and wants values, not
 * counters: like go-mackerel-plugin, each run stores the raw counters and
 * their time in a state file and prints (now - then) / elapsed * 60. A
 * counter that went backwards was reset (the daemon restarted): no rate
 * that time, rather than a huge negative or wrapped one.
 *
 * Metric names (all under "vpc-failover."):
 *   zone_packets.<zone>_in|_out          per minute (skbs, see the help text)
 *   zone_bytes.<zone>_in|_out            per minute
 *   zone_tcp_segments.<zone>_out|_retrans  per minute
 *   zone_tcp_retrans_ratio.<zone>        percent, last collection interval
 *   zone_tcp_rtt.<zone>.p50|p90|p99      milliseconds, between the two runs
 *   ena_allowance_exceeded.<interface>.bw_in|bw_out|pps|conntrack|linklocal
 *                                        per minute
 *   ena_conntrack_available.<interface>  tracked connections left
 *   conntrack.entries|limit              the conntrack table
 *   group_health.<group>.converged|damped  1 or 0
 *   tcp_segments.out|retrans             host-wide, per minute
 *   tcp_retrans_ratio.host               percent, between the two runs
 *   group_state.<group>.<state>          1 for the current state, else 0
 *   transitions.<group>.<state>          per minute
 *   route_updates.<group>.ok|failed      per minute
 *   convergence_seconds.<group>          last failover
 *   route_guard.<group>.late_writes|split_brain_flips|handed_back  per minute
 *   api_requests.<action>_<code>         per minute
 *   netmon.lost_events                   per minute */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "netmon/limits.h"
#include "netmon/mackerel.h"

#define OUT_MAX (8 * 1024 * 1024)

static const char *const states[] = {"MASTER", "BACKUP", "FAULT", "STOP", "DELETED"};

struct mr {
	struct buf out;
	json_t *prev;	/* previous "values", or NULL */
	double elapsed; /* seconds since the previous run; <= 0: no rates */
	json_t *values; /* the next state's "values" */
	json_t *seen;	/* names printed (a malformed snapshot may repeat one) */
	long long epoch;
};

void mkr_sanitize(const char *in, char *out, size_t outsz)
{
	size_t max = outsz < MKR_COMPONENT_MAX ? outsz : MKR_COMPONENT_MAX, i;

	if (max == 0)
		return;
	for (i = 0; in && in[i] && i < max - 1; i++) {
		char c = in[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '-' || c == '_';
		out[i] = ok ? c : '_';
	}
	if (i == 0 && max > 1)
		out[i++] = '_';
	out[i] = '\0';
}

int mkr_prefix_ok(const char *prefix)
{
	char clean[MKR_COMPONENT_MAX];

	mkr_sanitize(prefix, clean, sizeof(clean));
	return prefix && prefix[0] && strcmp(clean, prefix) == 0;
}

char *mkr_reprefix(const char *text, const char *prefix)
{
	static const char old[] = MKR_PREFIX ".";
	size_t ol = sizeof(old) - 1, pl = strlen(prefix), n = 0;
	const char *p;
	char *out, *o;

	for (p = text; (p = strstr(p, old)) != NULL; p += ol)
		n++;
	/* Room for every match: the longest prefix is shorter than a line. */
	o = out = xmalloc(strlen(text) + n * (pl + 1) + 1);
	for (p = text; *p;) {
		if (strncmp(p, old, ol) == 0 &&
		    (p == text || p[-1] == '\n' || p[-1] == '"')) {
			memcpy(o, prefix, pl);
			o += pl;
			*o++ = '.';
			p += ol;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/* A full metric name from a format of already sanitized components. */
__attribute__((format(printf, 3, 4))) static int mkname(char *out, size_t n,
							const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* Plain decimal: integers as such, others with up to 6 decimals. */
static void fmt_num(double v, char *out, size_t n)
{
	/* (No libm: the binaries do not link it.) */
	if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
		snprintf(out, n, "%.0f", v);
		return;
	}
	snprintf(out, n, "%.6f", v);
	char *e = out + strlen(out);
	while (e > out && e[-1] == '0')
		*--e = '\0';
	if (e > out && e[-1] == '.')
		*--e = '\0';
}

static void emit(struct mr *m, const char *name, double v)
{
	char num[64], line[MKR_NAME_MAX + 128];

	if (!isfinite(v) || json_object_get(m->seen, name))
		return;
	json_object_set_new(m->seen, name, json_true());
	fmt_num(v, num, sizeof(num));
	snprintf(line, sizeof(line), "%s\t%s\t%lld\n", name, num, m->epoch);
	buf_append(&m->out, line, strlen(line));
}

/* A counter value from the snapshot: an integer >= 0. */
static int counter_value(json_t *v, json_int_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* Remember a counter for the next run; 0 with the delta since the previous
 * run in *d when there is a usable one. */
static int delta(struct mr *m, const char *name, json_t *v, double *d)
{
	json_int_t now, then;

	if (counter_value(v, &now) == -1)
		return -1;
	json_object_set_new(m->values, name, json_integer(now));
	if (m->elapsed <= 0 || counter_value(json_object_get(m->prev, name), &then) == -1)
		return -1; /* first run, too old, or new counter */
	if (now < then)
		return -1; /* reset: the daemon restarted */
	*d = (double)(now - then);
	return 0;
}

static void rate(struct mr *m, const char *name, json_t *v)
{
	double d;

	if (delta(m, name, v, &d) == 0)
		emit(m, name, d / m->elapsed * 60.0);
}

/* ---- TCP RTT per zone, EC2's network limits ---- */

#define RTT_BUCKETS_MAX 64

/* The q-quantile of a histogram given as bucket bounds le[0..n) (the last
 * +Inf) and cumulative counts c[0..n), as Prometheus' histogram_quantile
 * estimates it: linear within the bucket that holds the rank, the lowest
 * bucket starting at 0, the +Inf bucket answering the highest finite
 * bound. -1 when there are no observations. */
static double quantile(double q, const double *le, const double *c, size_t n)
{
	double rank;
	size_t i;

	if (n < 2 || c[n - 1] <= 0)
		return -1;
	rank = q * c[n - 1];
	for (i = 0; i < n - 1 && c[i] < rank; i++)
		;
	if (i == n - 1)
		return le[n - 2];
	double lo = i == 0 ? 0 : le[i - 1], below = i == 0 ? 0 : c[i - 1];
	double in = c[i] - below;
	return in <= 0 ? le[i] : lo + (le[i] - lo) * (rank - below) / in;
}

/* tcp_rtt's buckets are counters: their deltas since the last run make the
 * histogram of that minute, whose p50/p90/p99 are printed (milliseconds).
 * The bucket counts go into the state under names that are never printed. */
static void render_zone_rtt(struct mr *m, const char *zn, json_t *h)
{
	json_t *b;
	double le[RTT_BUCKETS_MAX], c[RTT_BUCKETS_MAX];
	char name[MKR_NAME_MAX];
	size_t i, n = 0;
	int ok = 1;
	static const struct {
		double q;
		const char *name;
	} qs[] = {{0.5, "p50"}, {0.9, "p90"}, {0.99, "p99"}};

	json_array_foreach(json_object_get(h, "buckets"), i, b)
	{
		json_t *bound = json_array_get(b, 0);
		double d;

		if (n == RTT_BUCKETS_MAX ||
		    (!json_is_number(bound) && !json_is_null(bound)))
			return;
		le[n] = json_is_null(bound) ? INFINITY : json_number_value(bound);
		if (mkname(name, sizeof(name), MKR_PREFIX ".zone_tcp_rtt_bucket.%s.%zu",
			   zn, i) == -1 ||
		    delta(m, name, json_array_get(b, 1), &d) == -1)
			ok = 0;
		else
			c[n] = d;
		n++;
	}
	if (!ok || n < 2 || isfinite(le[n - 1]))
		return;
	for (i = 0; i < ARRAY_SIZE(qs); i++) {
		double v = quantile(qs[i].q, le, c, n);
		if (v >= 0 && mkname(name, sizeof(name), MKR_PREFIX ".zone_tcp_rtt.%s.%s",
				     zn, qs[i].name) == 0)
			emit(m, name, v * 1000.0);
	}
}

static void render_iface(struct mr *m, json_t *f)
{
	char in[MKR_COMPONENT_MAX], name[MKR_NAME_MAX];
	const char *iface = json_string_value(json_object_get(f, "interface"));
	json_t *avail = json_object_get(f, nml_name(NML_CONNTRACK_AVAILABLE));

	if (iface == NULL)
		return;
	mkr_sanitize(iface, in, sizeof(in));
	for (size_t k = 0; k < NML_NCOUNTERS; k++)
		if (mkname(name, sizeof(name), MKR_PREFIX ".ena_allowance_exceeded.%s.%s",
			   in, nml_label(k)) == 0)
			rate(m, name, json_object_get(f, nml_name(k)));
	if (json_is_integer(avail) &&
	    mkname(name, sizeof(name), MKR_PREFIX ".ena_conntrack_available.%s", in) == 0)
		emit(m, name, (double)json_integer_value(avail));
}

static void render_conntrack(struct mr *m, json_t *ct)
{
	json_t *c = json_object_get(ct, "count"), *x = json_object_get(ct, "max");

	if (json_is_integer(c))
		emit(m, MKR_PREFIX ".conntrack.entries", (double)json_integer_value(c));
	if (json_is_integer(x))
		emit(m, MKR_PREFIX ".conntrack.limit", (double)json_integer_value(x));
}

/* ---- end of RTT and EC2 limits ---- */

static void render_zone(struct mr *m, json_t *z)
{
	char zn[MKR_COMPONENT_MAX], name[MKR_NAME_MAX];
	const char *zone = json_string_value(json_object_get(z, "zone"));
	json_t *ratio = json_object_get(z, "tcp_retrans_ratio");
	static const struct {
		const char *graph, *suffix, *key;
	} counters[] = {
	    {"zone_packets", "in", "packets_in"},
	    {"zone_packets", "out", "packets_out"},
	    {"zone_bytes", "in", "bytes_in"},
	    {"zone_bytes", "out", "bytes_out"},
	    {"zone_tcp_segments", "out", "tcp_segments_out"},
	    {"zone_tcp_segments", "retrans", "tcp_retrans_segments"},
	};

	if (zone == NULL)
		return;
	mkr_sanitize(zone, zn, sizeof(zn));
	for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
		if (mkname(name, sizeof(name), MKR_PREFIX ".%s.%s_%s", counters[i].graph,
			   zn, counters[i].suffix) == 0)
			rate(m, name, json_object_get(z, counters[i].key));
	if (json_is_number(ratio) &&
	    mkname(name, sizeof(name), MKR_PREFIX ".zone_tcp_retrans_ratio.%s", zn) == 0)
		emit(m, name, json_number_value(ratio) * 100.0);
	render_zone_rtt(m, zn, json_object_get(z, "tcp_rtt"));
}

/* Overlay traffic: per group and source zone. */
static void render_overlay(struct mr *m, json_t *o)
{
	char gn[MKR_COMPONENT_MAX], zn[MKR_COMPONENT_MAX], name[MKR_NAME_MAX];
	const char *g = json_string_value(json_object_get(o, "group"));
	const char *z = json_string_value(json_object_get(o, "zone"));
	json_t *mis = json_object_get(o, "misrouted"),
	       *first = json_object_get(o, "first_traffic_seconds");

	if (g == NULL || z == NULL)
		return;
	mkr_sanitize(g, gn, sizeof(gn));
	mkr_sanitize(z, zn, sizeof(zn));
	if (mkname(name, sizeof(name), MKR_PREFIX ".overlay_packets.%s.%s", gn, zn) == 0)
		rate(m, name, json_object_get(o, "packets"));
	if (mkname(name, sizeof(name), MKR_PREFIX ".overlay_bytes.%s.%s", gn, zn) == 0)
		rate(m, name, json_object_get(o, "bytes"));
	if (json_is_number(mis) &&
	    mkname(name, sizeof(name), MKR_PREFIX ".overlay_misrouted.%s.%s", gn, zn) ==
		0)
		emit(m, name, json_number_value(mis));
	if (json_is_number(first) &&
	    mkname(name, sizeof(name), MKR_PREFIX ".first_traffic_seconds.%s.%s", gn,
		   zn) == 0)
		emit(m, name, json_number_value(first));
}

/* The active probe: per group and destination. */
static void render_probe(struct mr *m, json_t *p)
{
	char gn[MKR_COMPONENT_MAX], dn[MKR_COMPONENT_MAX], name[MKR_NAME_MAX];
	const char *g = json_string_value(json_object_get(p, "group"));
	const char *d = json_string_value(json_object_get(p, "destination"));
	json_t *up = json_object_get(p, "up"),
	       *cs = json_object_get(p, "connect_seconds");

	if (g == NULL || d == NULL)
		return;
	mkr_sanitize(g, gn, sizeof(gn));
	mkr_sanitize(d, dn, sizeof(dn));
	if (json_is_number(up) &&
	    mkname(name, sizeof(name), MKR_PREFIX ".probe_up.%s.%s", gn, dn) == 0)
		emit(m, name, json_number_value(up));
	if (json_is_number(cs) &&
	    mkname(name, sizeof(name), MKR_PREFIX ".probe_connect.%s.%s", gn, dn) == 0)
		emit(m, name, json_number_value(cs) * 1000.0);
	if (mkname(name, sizeof(name), MKR_PREFIX ".probe_failures.%s.%s", gn, dn) == 0)
		rate(m, name, json_object_get(p, "failures"));
}

static void lower(const char *in, char *out, size_t n)
{
	size_t i;
	for (i = 0; in[i] && i < n - 1; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
	out[i] = '\0';
}

static void render_group(struct mr *m, json_t *g)
{
	char gn[MKR_COMPONENT_MAX], st[MKR_COMPONENT_MAX], name[MKR_NAME_MAX];
	const char *group = json_string_value(json_object_get(g, "group"));
	const char *cur = json_string_value(json_object_get(g, "state"));
	json_t *tr = json_object_get(g, "transitions");
	json_t *ru = json_object_get(g, "route_updates");
	json_t *conv = json_object_get(g, "convergence_seconds");

	if (group == NULL)
		return;
	mkr_sanitize(group, gn, sizeof(gn));
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		lower(states[i], st, sizeof(st));
		if (mkname(name, sizeof(name), MKR_PREFIX ".group_state.%s.%s", gn, st) ==
		    0)
			emit(m, name, cur && strcmp(cur, states[i]) == 0);
		if (mkname(name, sizeof(name), MKR_PREFIX ".transitions.%s.%s", gn, st) ==
		    0)
			rate(m, name, json_object_get(tr, states[i]));
	}
	if (mkname(name, sizeof(name), MKR_PREFIX ".route_updates.%s.ok", gn) == 0)
		rate(m, name, json_object_get(ru, "ok"));
	if (mkname(name, sizeof(name), MKR_PREFIX ".route_updates.%s.failed", gn) == 0)
		rate(m, name, json_object_get(ru, "failed"));
	if (json_is_number(conv) &&
	    mkname(name, sizeof(name), MKR_PREFIX ".convergence_seconds.%s", gn) == 0)
		emit(m, name, json_number_value(conv));
	if (mkname(name, sizeof(name), MKR_PREFIX ".route_guard.%s.late_writes", gn) == 0)
		rate(m, name, json_object_get(g, "late_writes"));
	if (mkname(name, sizeof(name), MKR_PREFIX ".route_guard.%s.split_brain_flips",
		   gn) == 0)
		rate(m, name, json_object_get(g, "split_brain_flips"));
	if (mkname(name, sizeof(name), MKR_PREFIX ".route_guard.%s.handed_back", gn) == 0)
		rate(m, name, json_object_get(g, "handed_back"));
	/* what the alert rules look at */
	if (json_is_integer(json_object_get(g, "converged")) &&
	    mkname(name, sizeof(name), MKR_PREFIX ".group_health.%s.converged", gn) == 0)
		emit(m, name,
		     (double)json_integer_value(json_object_get(g, "converged")));
	if (json_is_integer(json_object_get(g, "damped")) &&
	    mkname(name, sizeof(name), MKR_PREFIX ".group_health.%s.damped", gn) == 0)
		emit(m, name, (double)json_integer_value(json_object_get(g, "damped")));
}

static void render_api(struct mr *m, json_t *a)
{
	char an[MKR_COMPONENT_MAX], cn[MKR_COMPONENT_MAX], name[MKR_NAME_MAX];
	const char *action = json_string_value(json_object_get(a, "action"));
	const char *code = json_string_value(json_object_get(a, "code"));

	if (action == NULL || code == NULL)
		return;
	mkr_sanitize(action, an, sizeof(an));
	mkr_sanitize(code, cn, sizeof(cn));
	if (mkname(name, sizeof(name), MKR_PREFIX ".api_requests.%s_%s", an, cn) == 0)
		rate(m, name, json_object_get(a, "count"));
}

/* Host-wide: OutSegs excludes retransmissions, so the share of
 * retransmitted segments is retrans / (out + retrans). */
static void render_tcp(struct mr *m, json_t *tcp)
{
	double dout, dre;
	int ok;

	ok = delta(m, MKR_PREFIX ".tcp_segments.out",
		   json_object_get(tcp, "segments_out"), &dout) == 0;
	ok &= delta(m, MKR_PREFIX ".tcp_segments.retrans",
		    json_object_get(tcp, "retrans_segments"), &dre) == 0;
	if (!ok)
		return;
	emit(m, MKR_PREFIX ".tcp_segments.out", dout / m->elapsed * 60.0);
	emit(m, MKR_PREFIX ".tcp_segments.retrans", dre / m->elapsed * 60.0);
	emit(m, MKR_PREFIX ".tcp_retrans_ratio.host",
	     dout + dre > 0 ? dre / (dout + dre) * 100.0 : 0.0);
}

char *mkr_render(json_t *snap, json_t *prev, json_t **next)
{
	struct mr m;
	json_t *v, *t = json_object_get(snap, "time");
	double now = json_is_number(t) ? json_number_value(t) : 0;
	size_t i;

	memset(&m, 0, sizeof(m));
	buf_init(&m.out, OUT_MAX);
	m.values = json_object();
	m.seen = json_object();
	m.epoch = now > 0 ? (long long)now : 0;
	if (prev) {
		json_t *pt = json_object_get(prev, "time");
		m.prev = json_object_get(prev, "values");
		m.elapsed = json_is_number(pt) ? now - json_number_value(pt) : 0;
		if (m.elapsed > MKR_MAX_INTERVAL_S)
			m.elapsed = 0;
	}
	json_array_foreach(json_object_get(snap, "zones"), i, v) render_zone(&m, v);
	render_tcp(&m, json_object_get(snap, "tcp"));
	json_array_foreach(json_object_get(snap, "groups"), i, v) render_group(&m, v);
	json_array_foreach(json_object_get(snap, "api_requests"), i, v) render_api(&m, v);
	/* EC2's allowance counters, conntrack's fill */
	json_array_foreach(json_object_get(snap, "interfaces"), i, v) render_iface(&m, v);
	render_conntrack(&m, json_object_get(snap, "conntrack"));
	json_array_foreach(json_object_get(snap, "overlay"), i, v) render_overlay(&m, v);
	json_array_foreach(json_object_get(snap, "probes"), i, v) render_probe(&m, v);
	rate(&m, MKR_PREFIX ".netmon.lost_events",
	     json_object_get(json_object_get(snap, "netmon"), "lost_events"));

	*next =
	    json_pack("{s:i, s:f, s:o}", "version", 1, "time", now, "values", m.values);
	char *text = xstrdup(buf_str(&m.out));
	buf_free(&m.out);
	json_decref(m.seen);
	return text;
}

static json_t *graph(const char *label, const char *unit, const char *const *metrics,
		     const char *const *labels)
{
	json_t *arr = json_array();

	for (size_t i = 0; metrics[i]; i++)
		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:b}", "name", metrics[i],
						"label", labels[i], "stacked", 0));
	return json_pack("{s:s, s:s, s:o}", "label", label, "unit", unit, "metrics", arr);
}

char *mkr_meta(void)
{
	/* "*" stands for a whole name component (zone, group, action_code) and
	 * is shown as its label "%1"; "#" in a graph name makes one graph per
	 * group. */
	static const char *const any[] = {"*", NULL}, *const any_l[] = {"%1", NULL};
	static const char *const st[] = {"master", "backup",  "fault",
					 "stop",   "deleted", NULL};
	static const char *const st_l[] = {"MASTER", "BACKUP",	"FAULT",
					   "STOP",   "DELETED", NULL};
	static const char *const seg[] = {"out", "retrans", NULL};
	static const char *const seg_l[] = {"Sent (retransmissions excluded)",
					    "Retransmitted", NULL};
	static const char *const host[] = {"host", NULL}, *const host_l[] = {"Host",
									     NULL};
	static const char *const ru[] = {"ok", "failed", NULL};
	static const char *const ru_l[] = {"Written", "Failed", NULL};
	static const char *const rg[] = {"late_writes", "split_brain_flips",
					 "handed_back", NULL};
	static const char *const rg_l[] = {"Late writes taken back", "Split-brain flips",
					   "Routes handed back", NULL};
	static const char *const pct[] = {"p50", "p90", "p99", NULL};
	static const char *const pct_l[] = {"p50", "p90", "p99", NULL};
	static const char *const allow[] = {"bw_in",	 "bw_out",    "pps",
					    "conntrack", "linklocal", NULL};
	static const char *const allow_l[] = {"Bandwidth in",	    "Bandwidth out",
					      "Packets per second", "Tracked connections",
					      "Link-local",	    NULL};
	static const char *const gh[] = {"converged", "damped", NULL};
	static const char *const gh_l[] = {"Converged (MASTER)", "Damped (split brain)",
					   NULL};
	static const char *const ct[] = {"entries", "limit", NULL};
	static const char *const ct_l[] = {"Entries", "Limit", NULL};
	static const char *const lost[] = {"lost_events", NULL};
	static const char *const lost_l[] = {"Lost netlink events", NULL};
	json_t *g = json_object();

#define G(key, label, unit, m, l)                                                        \
	json_object_set_new(g, MKR_PREFIX "." key, graph(label, unit, m, l))
	G("zone_packets", "VPC failover: zone packets per minute (skbs)", "float", any,
	  any_l);
	G("zone_bytes", "VPC failover: zone bytes per minute", "bytes", any, any_l);
	G("zone_tcp_segments", "VPC failover: zone TCP segments per minute", "float", any,
	  any_l);
	G("zone_tcp_retrans_ratio", "VPC failover: zone TCP retransmitted segments",
	  "percentage", any, any_l);
	G("zone_tcp_rtt.#", "VPC failover: zone TCP smoothed RTT", "milliseconds", pct,
	  pct_l);
	G("ena_allowance_exceeded.#",
	  "VPC failover: packets over an EC2 allowance per minute (ENA)", "float", allow,
	  allow_l);
	G("ena_conntrack_available", "VPC failover: tracked connections left (ENA)",
	  "integer", any, any_l);
	G("conntrack", "VPC failover: conntrack table", "integer", ct, ct_l);
	G("group_health.#", "VPC failover: group converged / damped", "integer", gh,
	  gh_l);
	G("tcp_segments", "VPC failover: host TCP segments per minute", "float", seg,
	  seg_l);
	G("tcp_retrans_ratio", "VPC failover: host TCP retransmitted segments",
	  "percentage", host, host_l);
	G("group_state.#", "VPC failover: group state", "integer", st, st_l);
	G("transitions.#", "VPC failover: group transitions per minute", "float", st,
	  st_l);
	G("route_updates.#", "VPC failover: route updates per minute", "float", ru, ru_l);
	G("route_guard.#", "VPC failover: routes taken by another node, per minute",
	  "float", rg, rg_l);
	G("convergence_seconds", "VPC failover: last failover convergence", "seconds",
	  any, any_l);
	G("api_requests", "VPC failover: EC2 API answers per minute", "float", any,
	  any_l);
	G("netmon", "VPC failover: network monitor", "float", lost, lost_l);
	/* Overlay traffic: one graph per group. */
	G("overlay_packets.#", "VPC failover: overlay packets per minute by source zone",
	  "float", any, any_l);
	G("overlay_bytes.#", "VPC failover: overlay bytes per minute by source zone",
	  "bytes", any, any_l);
	G("overlay_misrouted.#", "VPC failover: misrouted overlay traffic (not MASTER)",
	  "integer", any, any_l);
	G("first_traffic_seconds.#",
	  "VPC failover: first traffic after the last failover", "seconds", any, any_l);
	/* The active probe: one graph per group, a line per destination. */
	G("probe_up.#", "VPC failover: probe reachability from this node (1 answered)",
	  "integer", any, any_l);
	G("probe_connect.#", "VPC failover: probe connect time", "milliseconds", any,
	  any_l);
	G("probe_failures.#", "VPC failover: failed probes per minute", "float", any,
	  any_l);
#undef G
	json_t *root = json_pack("{s:o}", "graphs", g);
	char *js = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	char *text = xasprintf("# mackerel-agent-plugin\n%s\n", js ? js : "{}");
	free(js);
	json_decref(root);
	return text;
}

json_t *mkr_state_parse(const char *text, size_t len, char *err, size_t errsz)
{
	json_error_t je;
	json_t *st, *t, *values, *v;
	const char *k;

	if (len > MKR_STATE_MAX) {
		snprintf(err, errsz, "larger than %d bytes", MKR_STATE_MAX);
		return NULL;
	}
	st = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (st == NULL) {
		snprintf(err, errsz, "not JSON: %s (line %d)", je.text, je.line);
		return NULL;
	}
	t = json_object_get(st, "time");
	values = json_object_get(st, "values");
	if (!json_is_number(t) || !isfinite(json_number_value(t)) ||
	    !json_is_object(values)) {
		snprintf(err, errsz, "no \"time\" number and \"values\" object");
		goto bad;
	}
	json_object_foreach(values, k, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(err, errsz, "value of '%.64s' is not a counter", k);
			goto bad;
		}
	}
	return st;
bad:
	json_decref(st);
	return NULL;
}

int mkr_state_load(const char *path, json_t **state, char *err, size_t errsz)
{
	/* Room for one byte more than allowed: mkr_state_parse tells "too
	 * large" from "exactly full". */
	char *text = xmalloc(MKR_STATE_MAX + 2);
	ssize_t n = read_file_capped(path, 0, text, MKR_STATE_MAX + 1);
	int rc = -1;

	*state = NULL;
	if (n == -1 && errno == ENOENT)
		rc = 0; /* first run */
	else if (n == -1 && errno == EFBIG)
		snprintf(err, errsz, "larger than %d bytes", MKR_STATE_MAX);
	else if (n == -1)
		snprintf(err, errsz, "%s", strerror(errno));
	else if ((*state = mkr_state_parse(text, (size_t)n, err, errsz)) != NULL)
		rc = 0;
	free(text);
	return rc;
}

int mkr_state_save(const char *path, json_t *state, char *err, size_t errsz)
{
	char *tmp = xasprintf("%s.XXXXXX", path);
	char *js = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
	int fd = -1, rc = -1, created = 0;
	size_t off = 0, len = js ? strlen(js) : 0;

	if (js == NULL) {
		snprintf(err, errsz, "cannot serialise the state");
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	created = 1;
	while (off < len) {
		ssize_t n = write(fd, js + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errsz, "write %s: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	/* On disk before the rename, so a crash leaves the old or the new file. */
	if (fsync(fd) == -1) {
		snprintf(err, errsz, "fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	int cr = close(fd);
	fd = -1;
	if (cr == -1) {
		snprintf(err, errsz, "close %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errsz, "rename to %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1 && created)
		unlink(tmp);
	free(tmp);
	free(js);
	return rc;
}
