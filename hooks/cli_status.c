/* cli_status.c — vpc-failover notify, status and metrics: the commands
 * that talk to the daemon over its control socket. notify is keepalived's
 * hook (hooks/notify.c); status and metrics print the daemon's view for people (text),
 * scripts (JSON), Prometheus and mackerel-agent. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/cfg.h"
#include "daemon/ctlclient.h"
#include "daemon/kaevent.h"
#include "daemon/state.h"
#include "hooks/cli.h"
#include "hooks/notify.h"
#include "lib/util.h"
#include "lib/version.h"
#include "netmon/mackerel.h"
#include "netmon/prom.h"

/* The keepalived hook (hooks/notify.c, shared with the lean front program
 * that keepalived forks, hooks/front.c). */
int cmd_notify(struct cli *cli, struct args *a)
{
	return hook_notify(cli->cfg_path, cli_started_mono, a->nops, a->ops);
}

int cmd_sentinel_reconfig(struct cli *cli, struct args *a)
{
	return hook_sentinel_reconfig(cli->cfg_path, a->nops, a->ops);
}

int cmd_patroni_callback(struct cli *cli, struct args *a)
{
	return hook_patroni_callback(cli->cfg_path, a->nops, a->ops);
}
/* JSON for people and scripts: numbers rounded to what they mean. Seconds
 * keep their milliseconds and no more (0.013, not the double's
 * 0.012999999999999999); ratios (keys ending in _ratio) keep six decimals,
 * as a retransmission ratio of 0.0004 still matters, and so does all under
 * a key ending in _rtt (TCP round-trip times: microseconds matter). */
static void round_real(json_t *m, double scale)
{
	double d = json_real_value(m) * scale;

	if (d > -9e15 && d < 9e15) /* exact in a double, fits a long long */
		json_real_set(m, (double)(long long)(d + (d < 0 ? -0.5 : 0.5)) / scale);
}

static int ends_with(const char *key, const char *suffix)
{
	size_t n = key ? strlen(key) : 0, s = strlen(suffix);

	return n >= s && strcmp(key + n - s, suffix) == 0;
}

/* fine: inside a *_rtt object, where every real keeps six decimals. */
static void round_reals(json_t *v, const char *key, int fine)
{
	const char *k;
	json_t *m;
	size_t i;

	fine |= ends_with(key, "_rtt");
	if (json_is_real(v))
		round_real(v, fine || ends_with(key, "_ratio") ? 1e6 : 1e3);
	else if (json_is_object(v))
		json_object_foreach(v, k, m) round_reals(m, k, fine);
	else if (json_is_array(v))
		json_array_foreach(v, i, m) round_reals(m, key, fine);
}

void cli_print_json(json_t *v)
{
	round_reals(v, NULL, 0);
	/* 15 digits print a rounded double as its shortest form. */
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	putchar('\n');
}

static const char *ago(int64_t when, char *buf, size_t n)
{
	if (when <= 0)
		return "never";
	struct tm tm;
	time_t t = (time_t)when;
	localtime_r(&t, &tm);
	int64_t d = wall_s() - when;
	char at[32];
	strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, n, "%s (%lld s ago)", at, (long long)d);
	return buf;
}

static void print_traffic(json_t *tr);
static void print_probe(json_t *p);

/* source = sentinel: what the quorum says, for the group's line. */
static void sentinel_who(json_t *sen, char *who, size_t len)
{
	json_t *m = json_object_get(sen, "master");
	const char *e = json_string_value(json_object_get(sen, "error"));

	snprintf(who, len,
		 "sentinel: master '%s' %s%s%s, %lld of %zu sentinels agree (quorum "
		 "%lld)%s%s%s%s",
		 json_string_value(json_object_get(sen, "master_name")),
		 !json_is_string(m) ? "not known yet" : "at ",
		 json_is_string(m) ? json_string_value(m) : "",
		 !json_is_string(m)				   ? ""
		 : json_is_true(json_object_get(sen, "this_node")) ? " (this node)"
								   : " (another node)",
		 (long long)json_integer_value(json_object_get(sen, "agree")),
		 json_array_size(json_object_get(sen, "sentinels")),
		 (long long)json_integer_value(json_object_get(sen, "quorum")),
		 e && *e ? "; no quorum: " : "", e ? e : "",
		 json_is_true(json_object_get(sen, "held")) ? "; held" : "",
		 json_is_true(json_object_get(sen, "stepped_down")) ? "; stepped down"
								    : "");
}

/* source = sentinel: each sentinel's last answer. */
static void sentinel_lines(json_t *sen)
{
	json_t *n;
	size_t i;

	json_array_foreach(json_object_get(sen, "sentinels"), i, n)
	{
		json_t *m = json_object_get(n, "master");
		const char *e = json_string_value(json_object_get(n, "error"));
		if (json_is_true(json_object_get(n, "reachable")))
			printf("  sentinel %s: %s%s\n",
			       json_string_value(json_object_get(n, "address")),
			       json_is_string(m) && *json_string_value(m)
				   ? json_string_value(m)
				   : "does not know the master",
			       json_is_true(json_object_get(n, "subscribed"))
				   ? ""
				   : " (not subscribed to +switch-master)");
		else
			printf("  sentinel %s: unreachable%s%s\n",
			       json_string_value(json_object_get(n, "address")),
			       e && *e ? ": " : "", e ? e : "");
	}
}

static void print_status(json_t *st)
{
	json_t *d = json_object_get(st, "daemon"),
	       *inst = json_object_get(st, "instance");
	json_t *api = json_object_get(st, "api"), *g;
	size_t i;
	char buf[64];

	/* A daemon older than the CLI (an upgrade not yet restarted) says so. */
	const char *ver = json_string_value(json_object_get(d, "version"));
	int same = ver && strcmp(ver, vpcf_version) == 0;
	printf("vpc-failoverd %s pid %lld%s%s%s, config %s, credentials from %s\n",
	       ver ? ver : "(version unknown)",
	       (long long)json_integer_value(json_object_get(d, "pid")),
	       same ? "" : " (this CLI is ", same ? "" : vpcf_version, same ? "" : ")",
	       json_string_value(json_object_get(d, "config")),
	       json_string_value(json_object_get(d, "credentials")));
	printf("instance %s in %s, primary ENI %s; EC2 requests %lld (%lld retries, %lld "
	       "throttled)\n",
	       json_string_value(json_object_get(inst, "id")),
	       json_string_value(json_object_get(inst, "az")),
	       json_string_value(json_object_get(inst, "eni")),
	       (long long)json_integer_value(json_object_get(api, "requests")),
	       (long long)json_integer_value(json_object_get(api, "retries")),
	       (long long)json_integer_value(json_object_get(api, "throttled")));
	const char *pc = json_string_value(
	    json_object_get(json_object_get(st, "netmon"), "packet_counter"));
	if (pc)
		printf("network monitor: zone packets counted by %s\n",
		       strcmp(pc, "ebpf") == 0 ? "eBPF (tc)"
		       : strcmp(pc, "nftables") == 0
			   ? "nftables (table inet vpc_failover)"
			   : "nothing (no zones, or see the log)");
	const char *tc = json_string_value(
	    json_object_get(json_object_get(st, "netmon"), "tcp_counter"));
	if (tc)
		printf("network monitor: TCP per zone counted by %s\n",
		       strcmp(tc, "ebpf") == 0 ? "eBPF (per-socket counts in the kernel)"
		       : strcmp(tc, "sock_diag") == 0 ? "sock_diag"
						      : "nothing (see the log)");
	json_t *rlw = json_object_get(json_object_get(api, "rate_limit"), "writes");
	if (json_is_true(json_object_get(rlw, "limited")))
		printf("EC2's account rate limit: route writes paced at %.2f/s by this "
		       "node, %lld waiting for their turn\n",
		       json_number_value(json_object_get(rlw, "rate")),
		       (long long)json_integer_value(json_object_get(rlw, "waiting")));
	json_t *nt = json_object_get(st, "notifications");
	if (json_is_true(json_object_get(nt, "mackerel")) ||
	    json_is_true(json_object_get(nt, "webhook"))) {
		const char *le = json_string_value(json_object_get(nt, "last_error"));
		printf(
		    "notifications (%s%s%s): %lld sent, %lld queued, %lld failed, %lld "
		    "dropped%s%s\n",
		    json_is_true(json_object_get(nt, "mackerel")) ? "mackerel" : "",
		    json_is_true(json_object_get(nt, "mackerel")) &&
			    json_is_true(json_object_get(nt, "webhook"))
			? ", "
			: "",
		    json_is_true(json_object_get(nt, "webhook")) ? "webhook" : "",
		    (long long)json_integer_value(json_object_get(nt, "sent")),
		    (long long)json_integer_value(json_object_get(nt, "queued")),
		    (long long)json_integer_value(json_object_get(nt, "failed")),
		    (long long)json_integer_value(json_object_get(nt, "dropped")),
		    le && *le ? "; last error: " : "", le ? le : "");
	}
	json_array_foreach(json_object_get(st, "groups"), i, g)
	{
		const char *demoted = json_is_true(json_object_get(g, "demoted"))
					  ? "  (demoted for a planned switchover: "
					    "`vpc-failover resume` undoes it)\n"
					  : "";
		json_t *tr = json_object_get(g, "transitions"), *r;
		json_t *ru = json_object_get(g, "route_updates");
		const char *eni = json_string_value(json_object_get(g, "eni"));
		size_t j;
		/* Who decides MASTER, and what it last said. */
		char who[512];
		json_t *pat = json_object_get(g, "patroni");
		json_t *sen = json_object_get(g, "sentinel");
		if (json_is_object(sen))
			sentinel_who(sen, who, sizeof(who));
		else if (json_is_object(pat)) {
			json_t *ld = json_object_get(pat, "leader");
			const char *e = json_string_value(json_object_get(pat, "error"));
			snprintf(
			    who, sizeof(who),
			    "patroni: leader %s%s%s, this node '%s'; etcd %s, revision "
			    "%lld%s%s%s",
			    !json_is_string(ld)		     ? "not read yet"
			    : *json_string_value(ld) == '\0' ? "none"
							     : "'",
			    json_is_string(ld) ? json_string_value(ld) : "",
			    json_is_string(ld) && *json_string_value(ld) ? "'" : "",
			    json_string_value(json_object_get(pat, "member_name")),
			    json_string_value(json_object_get(pat, "endpoint")),
			    (long long)json_integer_value(
				json_object_get(pat, "revision")),
			    e && *e ? "; last error: " : "", e ? e : "",
			    json_is_true(json_object_get(pat, "stepped_down"))
				? "; stepped down"
				: "");
		} else {
			snprintf(who, sizeof(who), "%s %s, priority %lld",
				 json_string_value(json_object_get(g, "vrrp_type")),
				 json_string_value(json_object_get(g, "vrrp_name")),
				 (long long)json_integer_value(
				     json_object_get(g, "priority")));
		}
		long long left =
		    json_integer_value(json_object_get(g, "rate_limited_tables"));
		char lefts[64] = "";
		if (left > 0)
			snprintf(lefts, sizeof(lefts), ", %lld route table%s left", left,
				 left == 1 ? "" : "s");
		printf("\ngroup %s: %s (%s), %s%s\n",
		       json_string_value(json_object_get(g, "name")),
		       json_string_value(json_object_get(g, "state")), who,
		       json_string_value(json_object_get(g, "phase")), lefts);
		fputs(demoted, stdout);
		if (json_is_object(sen))
			sentinel_lines(sen);
		char conv[96] = "no failover converged yet";
		if (json_integer_value(json_object_get(g, "converged_at")) > 0)
			snprintf(conv, sizeof(conv), "last failover converged in %lld ms",
				 (long long)json_integer_value(
				     json_object_get(g, "convergence_ms")));
		if (json_integer_value(json_object_get(g, "settled_at")) > 0)
			snprintf(conv + strlen(conv), sizeof(conv) - strlen(conv),
				 ", settled in %lld ms",
				 (long long)json_integer_value(
				     json_object_get(g, "settle_ms")));
		printf("  last transition %s via %s; %s\n",
		       ago(json_integer_value(json_object_get(g, "last_transition")), buf,
			   sizeof(buf)),
		       json_string_value(json_object_get(g, "last_source")), conv);
		printf("  transitions: MASTER %lld, BACKUP %lld, FAULT %lld, STOP %lld; "
		       "split-brain flips %lld%s; late writes taken back %lld; route "
		       "updates %lld ok, %lld failed\n",
		       (long long)json_integer_value(json_object_get(tr, "MASTER")),
		       (long long)json_integer_value(json_object_get(tr, "BACKUP")),
		       (long long)json_integer_value(json_object_get(tr, "FAULT")),
		       (long long)json_integer_value(json_object_get(tr, "STOP")),
		       (long long)json_integer_value(
			   json_object_get(g, "split_brain_flips")),
		       json_is_true(json_object_get(g, "damped")) ? " (DAMPED)" : "",
		       (long long)json_integer_value(json_object_get(g, "late_writes")),
		       (long long)json_integer_value(json_object_get(ru, "ok")),
		       (long long)json_integer_value(json_object_get(ru, "failed")));
		json_array_foreach(json_object_get(g, "routes"), j, r)
		{
			const char *target =
			    json_string_value(json_object_get(r, "target"));
			const char *err = json_string_value(json_object_get(r, "error"));
			printf("  %-22s %-18s %-22s %-10s %-9s %s\n",
			       json_string_value(json_object_get(r, "table")),
			       json_string_value(json_object_get(r, "destination")),
			       target && *target ? target : "-",
			       target && *target && eni && strcmp(target, eni) == 0
				   ? "this node"
				   : "",
			       json_string_value(json_object_get(r, "outcome")),
			       err ? err : "");
		}
		json_t *guard = json_object_get(g, "guard");
		if (json_is_object(guard)) {
			const char *det =
			    json_string_value(json_object_get(guard, "detail"));
			if (json_is_true(json_object_get(guard, "refusing")))
				printf("  guard: %s; routes not taken (%lld refusals)\n",
				       det ? det : "?",
				       (long long)json_integer_value(
					   json_object_get(guard, "refusals")));
			else if (det && *det)
				printf("  guard: %s (%lld refusals)\n", det,
				       (long long)json_integer_value(
					   json_object_get(guard, "refusals")));
			else
				printf(
				    "  guard: %s: not asked yet\n",
				    json_string_value(json_object_get(guard, "target")));
		}
		json_t *role = json_object_get(g, "role");
		if (json_is_object(role)) {
			const char *aa =
			    json_string_value(json_object_get(role, "assumed_arn"));
			json_int_t ex =
			    json_integer_value(json_object_get(role, "expires"));
			char until[48] = "no credentials held yet";
			if (ex > 0) {
				time_t t = (time_t)ex;
				strftime(until, sizeof(until),
					 "credentials expire %Y-%m-%dT%H:%M:%SZ",
					 gmtime(&t));
			}
			printf("  role %s%s%s%s; %s\n",
			       json_string_value(json_object_get(role, "arn")),
			       aa && *aa ? " (as " : "", aa ? aa : "",
			       aa && *aa ? ")" : "", until);
		}
		const char *ll = json_string_value(json_object_get(g, "last_late_write"));
		if (ll && *ll)
			printf("  last late write: %s\n", ll);
		const char *le = json_string_value(json_object_get(g, "last_error"));
		if (le && *le)
			printf("  last error: %s\n", le);
		print_traffic(json_object_get(g, "traffic"));
		print_probe(json_object_get(g, "probe"));
	}
}

/* "12 s ago" for a CLOCK_REALTIME stamp in microseconds. */
static const char *ago_us(json_t *us, char *buf, size_t n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	double s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 -
		   (double)json_integer_value(us) / 1e6;
	snprintf(buf, n, "%.0f s ago", s < 0 ? 0.0 : s);
	return buf;
}

/* The group's active probe (daemon/probe.c): "probe 198.19.255.10:6379 from
 * az1: ok 0.4 ms, 12 s ago". */
static void print_probe(json_t *p)
{
	const char *zone = json_string_value(json_object_get(p, "zone"));
	int port = (int)json_integer_value(json_object_get(p, "port"));
	json_t *v;
	size_t i;
	char b1[32], b2[32];

	if (!json_is_object(p))
		return;
	json_array_foreach(json_object_get(p, "destinations"), i, v)
	{
		const char *res = json_string_value(json_object_get(v, "result"));
		const char *detail = json_string_value(json_object_get(v, "detail"));
		json_t *ms = json_object_get(v, "connect_ms"),
		       *at = json_object_get(v, "at_us"),
		       *okat = json_object_get(v, "last_ok_at_us");
		long long fails = (long long)json_integer_value(
		    json_object_get(v, "consecutive_failures"));

		printf("  probe %s:%d from %s: ",
		       json_string_value(json_object_get(v, "destination")), port,
		       zone ? zone : "?");
		if (!json_is_true(json_object_get(p, "probing"))) {
			/* what it found while it probed is history now */
			printf("not probing (%s)\n",
			       json_string_value(json_object_get(p, "why_not")));
			continue;
		}
		if (res == NULL || strcmp(res, "none") == 0)
			printf("not probed yet");
		else if (strcmp(res, "ok") == 0)
			printf("ok %.1f ms", json_number_value(ms));
		else if (strcmp(res, "refused") == 0)
			printf("refused %.1f ms (the path works; nothing listens on the "
			       "port)",
			       json_number_value(ms));
		else if (strcmp(res, "timeout") == 0)
			printf("UNREACHABLE (no answer in %lld ms)",
			       (long long)json_integer_value(
				   json_object_get(p, "timeout_ms")));
		else if (strcmp(res, "local") == 0)
			printf("skipped: %s", detail);
		else
			printf("%s (%s)",
			       strcmp(res, "unreachable") == 0 ? "UNREACHABLE" : res,
			       detail);
		if (json_is_integer(at) && (!res || strcmp(res, "local") != 0))
			printf(", %s", ago_us(at, b1, sizeof(b1)));
		if (fails > 0)
			printf("; %lld failures in a row, last ok %s", fails,
			       json_is_integer(okat) ? ago_us(okat, b2, sizeof(b2))
						     : "never");
		printf("\n");
	}
}

/* Seconds since the epoch as "12:34:56.789" UTC. */
static const char *hms(double t, char *buf, size_t n)
{
	time_t s = (time_t)t;
	char tmp[16];

	strftime(tmp, sizeof(tmp), "%H:%M:%S", gmtime(&s));
	snprintf(buf, n, "%s.%03d", tmp, (int)((t - (double)s) * 1000));
	return buf;
}

/* One side of a zone's network around a failover: "0.00%", "no traffic". */
static void net_side(char *buf, size_t n, json_t *z)
{
	if (!json_is_object(z) || !json_is_true(json_object_get(z, "traffic")))
		snprintf(buf, n, "no traffic");
	else if (json_integer_value(json_object_get(z, "tcp_segments_out")) == 0)
		snprintf(buf, n, "no TCP");
	else
		snprintf(buf, n, "%.2f%%",
			 json_number_value(json_object_get(z, "tcp_retrans_ratio")) *
			     100);
}

static void net_rtt(char *buf, size_t n, json_t *z, const char *key)
{
	json_t *v = json_object_get(z, key);

	if (json_is_integer(v))
		snprintf(buf, n, "%.2f", (double)json_integer_value(v) / 1000);
	else
		snprintf(buf, n, "-");
}

static json_t *net_zone(json_t *side, const char *zone)
{
	size_t i;
	json_t *z;

	json_array_foreach(json_object_get(side, "zones"), i, z)
	{
		if (strcmp(json_string_value(json_object_get(z, "zone")), zone) == 0)
			return z;
	}
	return NULL;
}

/* The network in the window before and after the last failover
 * (daemon/traffic.c, [netmon] failover_window). */
static void print_network(json_t *net)
{
	json_t *bf, *af, *names, *z;
	size_t i;

	if (!json_is_object(net))
		return;
	bf = json_object_get(net, "before");
	af = json_object_get(net, "after");
	printf("    network %lld s before -> after%s:\n",
	       (long long)json_integer_value(json_object_get(net, "window_s")),
	       json_is_true(json_object_get(net, "pending")) ? " (after: pending)" : "");
	names = json_is_object(af) ? af : bf;
	if (!json_is_object(names)) {
		printf("      no samples (the monitor had not collected yet)\n");
		return;
	}
	json_array_foreach(json_object_get(names, "zones"), i, z)
	{
		const char *zn = json_string_value(json_object_get(z, "zone"));
		json_t *b = net_zone(bf, zn), *a = net_zone(af, zn);
		char r1[32], r2[32], p1[16], p2[16], q1[16], q2[16];

		net_side(r1, sizeof(r1), b);
		net_side(r2, sizeof(r2), a);
		if (strcmp(r1, "no traffic") == 0 && strcmp(r2, "no traffic") == 0) {
			printf("      %s: no traffic\n", zn);
			continue;
		}
		net_rtt(p1, sizeof(p1), b, "rtt_p50_us");
		net_rtt(p2, sizeof(p2), a, "rtt_p50_us");
		net_rtt(q1, sizeof(q1), b, "rtt_p90_us");
		net_rtt(q2, sizeof(q2), a, "rtt_p90_us");
		printf(
		    "      %s: retrans %s -> %s, RTT p50 %s -> %s ms, p90 %s -> %s ms\n",
		    zn, r1, r2, p1, p2, q1, q2);
	}
	json_t *al = json_object_get(names, "allowance_exceeded");
	if (json_is_object(al)) {
		const char *k;
		json_t *v;
		int any = 0;
		printf("      EC2 allowances exceeded:");
		json_object_foreach(al, k, v)
		{
			json_t *ab = json_object_get(
				   json_object_get(bf, "allowance_exceeded"), k),
			       *aa = json_object_get(
				   json_object_get(af, "allowance_exceeded"), k);
			if (json_integer_value(ab) == 0 && json_integer_value(aa) == 0)
				continue;
			printf("%s %s %lld -> %lld", any ? "," : "", k,
			       (long long)json_integer_value(ab),
			       (long long)json_integer_value(aa));
			any = 1;
		}
		printf("%s\n", any ? "" : " none");
	} else
		printf("      EC2 allowances: no ENA interface\n");
	json_t *cb = json_object_get(bf, "conntrack_peak_fill"),
	       *ca = json_object_get(af, "conntrack_peak_fill");
	if (json_is_number(json_object_get(names, "conntrack_peak_fill")))
		printf("      conntrack peak %.0f%% -> %.0f%%\n",
		       json_number_value(cb) * 100, json_number_value(ca) * 100);
}

/* A group's overlay traffic, misrouted traffic and last failover timeline
 * (daemon/traffic.c). */
static void print_traffic(json_t *tr)
{
	json_t *ov = json_object_get(tr, "overlay"),
	       *tl = json_object_get(tr, "timeline"), *v;
	size_t i;
	char b1[32];

	if (json_is_object(ov)) {
		printf("  overlay traffic to %s arriving here:",
		       json_string_value(json_object_get(ov, "destination")));
		json_array_foreach(json_object_get(ov, "zones"), i, v)
		{
			json_t *st = json_object_get(v, "stopped_at_us");
			printf(
			    "%s %s %lld packets%s", i ? "," : "",
			    json_string_value(json_object_get(v, "zone")),
			    (long long)json_integer_value(json_object_get(v, "packets")),
			    json_is_true(json_object_get(v, "receiving")) ? " (receiving)"
			    : json_is_number(st)			  ? " (stopped)"
									  : "");
		}
		printf("\n");
	}
	json_array_foreach(json_object_get(tr, "misrouted"), i, v)
	    printf("  MISROUTED: %s\n", json_string_value(v));
	if (!json_is_object(tl))
		return;
	printf(
	    "  last failover to MASTER at %s UTC:\n",
	    hms((double)json_integer_value(json_object_get(tl, "transition_at_us")) / 1e6,
		b1, sizeof(b1)));
	json_array_foreach(json_object_get(tl, "tables"), i, v)
	    printf("    +%lld ms  %s written\n",
		   (long long)json_integer_value(json_object_get(v, "ms")),
		   json_string_value(json_object_get(v, "table")));
	if (json_is_integer(json_object_get(tl, "converged_ms")))
		printf(
		    "    +%lld ms  converged\n",
		    (long long)json_integer_value(json_object_get(tl, "converged_ms")));
	json_array_foreach(json_object_get(tl, "first_traffic"), i, v)
	{
		json_t *ms = json_object_get(v, "after_ms");
		if (json_is_integer(ms))
			printf("    +%lld ms  first traffic from %s (read every 10 ms)\n",
			       (long long)json_integer_value(ms),
			       json_string_value(json_object_get(v, "zone")));
		else
			printf("    first traffic from %s: %s\n",
			       json_string_value(json_object_get(v, "zone")),
			       json_string_value(json_object_get(v, "none")));
	}
	if (json_is_integer(json_object_get(tl, "settled_ms")))
		printf("    +%lld ms  settled\n",
		       (long long)json_integer_value(json_object_get(tl, "settled_ms")));
	print_network(json_object_get(tl, "network"));
}

int cmd_status(struct cli *cli, struct args *a)
{
	json_t *reply = NULL, *req;
	int json = a->opt['j'] != NULL;

	if (cli_load_config(cli) == -1)
		return EXIT_USAGE;
	req = json_pack("{s:s}", "cmd", "status");
	if (cli_daemon_ask(cli, "status", req, &reply) != 0)
		return EXIT_ENVIRONMENT;
	if (json) {
		json_object_del(reply, "ok");
		json_object_set_new(reply, "schema_version", json_integer(1));
		cli_print_json(reply);
	} else {
		print_status(reply);
	}
	json_decref(reply);
	return EXIT_CONVERGED;
}

/* mackerel-agent runs this every minute: per-minute rates against the
 * previous run's counters in the state file: --state, else in
 * $MACKEREL_PLUGIN_WORKDIR (go-mackerel-plugin's convention, for an agent
 * that is not root), else in state_dir. A broken state file is reported
 * and replaced. A state that cannot be kept is an error: nothing is
 * printed, as the rates would silently be missing from every run. */
static int print_mackerel(struct cli *cli, json_t *snap, const char *state_path,
			  const char *prefix)
{
	const char *wd = getenv("MACKEREL_PLUGIN_WORKDIR");
	char err[512];
	char *path = state_path ? xstrdup(state_path)
		     : wd && *wd
			 ? xasprintf("%s/mackerel-plugin-%s.json", wd, prefix)
			 : xasprintf("%s/%s", cli->cfg->daemon.state_dir, MKR_STATE_FILE);
	json_t *prev = NULL, *next = NULL;
	int rc = EXIT_CONVERGED;

	if (mkr_state_load(path, &prev, err, sizeof(err)) == -1)
		fprintf(stderr,
			"vpc-failover metrics: state file %s: %s; starting afresh (it "
			"is replaced)\n",
			path, err);
	char *text = mkr_render(snap, prev, &next);
	if (mkr_state_save(path, next, err, sizeof(err)) == -1) {
		fprintf(stderr,
			"vpc-failover metrics: cannot keep the state file: %s; no "
			"metrics printed (set MACKEREL_PLUGIN_WORKDIR to a directory "
			"this user may write, or pass --state FILE)\n",
			err);
		rc = EXIT_ENVIRONMENT;
		goto out;
	}
	char *out = mkr_reprefix(text, prefix);
	fputs(out, stdout);
	free(out);
out:
	free(text);
	free(path);
	json_decref(prev);
	json_decref(next);
	return rc;
}

int cmd_metrics(struct cli *cli, struct args *a)
{
	const char *format = a->opt['f'], *state_path = a->opt['s'], *meta;
	const char *prefix = a->opt['P'] ? a->opt['P'] : MKR_PREFIX;
	int json = a->opt['j'] != NULL, rc = EXIT_ENVIRONMENT;
	json_t *reply = NULL, *req, *snap;

	if ((json && format) || (format && strcmp(format, "prometheus") != 0 &&
				 strcmp(format, "mackerel") != 0)) {
		fprintf(stderr,
			"vpc-failover metrics: want [--format=prometheus|mackerel] "
			"or --json\n");
		return EXIT_USAGE;
	}
	int mackerel = format && strcmp(format, "mackerel") == 0;
	if ((state_path || a->opt['P']) && !mackerel) {
		fprintf(stderr,
			"vpc-failover metrics: --state and --metric-key-prefix go "
			"with --format=mackerel\n");
		return EXIT_USAGE;
	}
	if (!mkr_prefix_ok(prefix)) {
		fprintf(stderr,
			"vpc-failover metrics: --metric-key-prefix '%s': want 1 to %d of "
			"[-a-zA-Z0-9_]\n",
			prefix, MKR_COMPONENT_MAX - 1);
		return EXIT_USAGE;
	}
	/* The graph definitions do not depend on the daemon (go-mackerel-plugin
	 * treats any non-empty value as set). */
	meta = getenv("MACKEREL_AGENT_PLUGIN_META");
	if (mackerel && meta && *meta) {
		char *text = mkr_meta(), *out = mkr_reprefix(text, prefix);
		fputs(out, stdout);
		free(out);
		free(text);
		return EXIT_CONVERGED;
	}
	if (cli_load_config(cli) == -1)
		return EXIT_USAGE;
	req = json_pack("{s:s}", "cmd", "metrics");
	if (cli_daemon_ask(cli, "metrics", req, &reply) != 0)
		return EXIT_ENVIRONMENT;
	snap = json_object_get(reply, "metrics");
	if (!json_is_object(snap)) {
		fprintf(stderr, "vpc-failover metrics: the daemon sent no metrics\n");
		goto out;
	}
	if (json) {
		json_object_set_new(snap, "schema_version", json_integer(1));
		cli_print_json(snap);
	} else if (mackerel) {
		rc = print_mackerel(cli, snap, state_path, prefix);
		goto out;
	} else {
		char *text = nmp_render(snap);
		if (text == NULL) {
			fprintf(stderr, "vpc-failover metrics: too large to render\n");
			goto out;
		}
		fputs(text, stdout);
		free(text);
	}
	rc = EXIT_CONVERGED;
out:
	json_decref(reply);
	return rc;
}
