/* prom.c — the metrics snapshot as Prometheus text format 0.0.4, served on
 * /metrics.
 *
 * Rendering is a pure function of the snapshot: samples are collected per
 * family first, so that each family is printed once, with HELP and TYPE,
 * in a fixed order, and a series that appears twice in a malformed
 * snapshot is printed once.
 *
 * The endpoint is libmicrohttpd in external epoll mode: its epoll fd is
 * watched by our ev loop and MHD_run() is called when it is readable or when
 * MHD's own timeout (MHD_get_timeout) expires. Scrapes therefore run on the
 * loop's thread and read the daemon's state without locks. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/limits.h"
#include "netmon/prom.h"
#include "netmon/webcfg.h"

#define LABELS_MAX 4096	  /* one series' label set; longer ones are skipped */
#define SEEN_MAX   100000 /* series per family; more are dropped */

enum fam_id {
	F_UP,
	F_BUILD_INFO,
	F_GROUP_STATE,
	F_TRANSITIONS,
	F_ROUTE_UPDATES,
	F_CONVERGENCE,
	F_CONVERGENCE_HIST,
	F_SETTLE,
	F_LATE_WRITES,
	F_FLIPS,
	F_HANDED_BACK,
	F_GUARD_REFUSALS,
	F_GUARD_PRIMARY,
	F_SENTINEL_REACHABLE,
	F_SENTINEL_QUORUM,
	F_PATRONI_ETCD,
	F_PATRONI_LEADER,
	F_API,
	F_ZONE_PACKETS,
	F_ZONE_BYTES,
	F_TCP_OUT,
	F_TCP_RETRANS,
	F_ZONE_TCP_OUT,
	F_ZONE_TCP_RETRANS,
	F_ZONE_TCP_RATIO,
	/* TCP RTT per zone, EC2's network limits */
	F_ZONE_TCP_RTT,
	F_ENA_ALLOWANCE,
	F_ENA_CONNTRACK_AVAILABLE,
	F_CONNTRACK_ENTRIES,
	F_CONNTRACK_LIMIT,
	F_GROUP_CONVERGED,
	F_GROUP_DAMPED,
	F_NETMON_COLLECTIONS,
	F_NETMON_LOST,
	F_NETMON_BACKEND,
	/* Overlay traffic */
	F_OV_PACKETS,
	F_OV_BYTES,
	F_OV_MISROUTED,
	F_OV_EPISODES,
	F_OV_FIRST,
	/* The active probe (daemon/probe.c) */
	F_PROBE_UP,
	F_PROBE_CONNECT,
	F_PROBES,
	F_PROBE_FAILURES,
	F_PROC_START,
	F_PROC_CPU,
	F_PROC_RSS,
	F_PROC_VSZ,
	F_PROC_FDS,
	F_PROC_MAX_FDS,
	F_COUNT,
};

static const struct {
	const char *name;
	int counter; /* 1 counter, 2 histogram, else gauge */
	const char *help;
} defs[F_COUNT] = {
    [F_UP] = {"vpc_failover_up", 0,
	      "1 when vpc-failoverd can act on a failover (it knows this "
	      "instance's identity); 0 while it waits for instance metadata."},
    [F_BUILD_INFO] = {"vpc_failover_build_info", 0,
		      "Always 1; the version label is the running daemon's."},
    [F_GROUP_STATE] = {"vpc_failover_group_state", 0,
		       "keepalived state of the failover group: 1 for the current "
		       "state, 0 for the others (UNKNOWN before the first event)."},
    [F_TRANSITIONS] = {"vpc_failover_transitions_total", 1,
		       "keepalived state changes of the group into each state since "
		       "the daemon started."},
    [F_ROUTE_UPDATES] = {"vpc_failover_route_updates_total", 1,
			 "Route table entries the group wrote to point at this node "
			 "(result=ok) or failed to converge in a pass (result=failed)."},
    [F_CONVERGENCE] = {"vpc_failover_convergence_seconds", 0,
		       "Last failover of the group: seconds from the keepalived "
		       "transition until every route table pointed at this node. "
		       "Absent before the first failover."},
    [F_CONVERGENCE_HIST] = {"vpc_failover_convergence_duration_seconds", 2,
			    "Failovers of the group since the daemon started, by seconds "
			    "from the keepalived transition until every route table "
			    "pointed at this node."},
    [F_SETTLE] = {"vpc_failover_settle_seconds", 0,
		  "Last failover of the group: seconds from the keepalived transition "
		  "until the settle checks found every route table still pointing at "
		  "this node. Absent before the first failover settled."},
    [F_LATE_WRITES] = {"vpc_failover_late_writes_total", 1,
		       "Routes another node's write took from this MASTER after it had "
		       "converged (a demoted node's write landing late), found by the "
		       "settle checks and taken back."},
    [F_FLIPS] = {"vpc_failover_split_brain_flips_total", 1,
		 "Re-checks of a converged MASTER that found a route taken by a live "
		 "competitor (split brain?) and re-asserted it."},
    [F_HANDED_BACK] = {"vpc_failover_handed_back_total", 1,
		       "Routes this node pointed at the peer when it left MASTER for "
		       "BACKUP while they still pointed here (a healed partition)."},
    [F_GUARD_REFUSALS] = {"vpc_failover_guard_refusals_total", 1,
			  "Passes the group's role guard refused while MASTER: the "
			  "local service was a replica or could not be asked, so no "
			  "route was written to this node."},
    [F_GUARD_PRIMARY] = {"vpc_failover_guard_primary", 0,
			 "The role guard's last answer: 1 the local service said it "
			 "is the primary, 0 a replica or no answer. Absent before the "
			 "first question and for groups without a guard."},
    [F_SENTINEL_REACHABLE] = {"vpc_failover_sentinel_reachable", 0,
			      "source = sentinel: 1 if the sentinel answered the last "
			      "round of get-master-addr-by-name, 0 if not."},
    [F_SENTINEL_QUORUM] = {"vpc_failover_sentinel_quorum_agrees", 0,
			   "source = sentinel: 1 if a quorum of the group's sentinels "
			   "agreed on the master's address in the last round, 0 if "
			   "not (sentinels down or disagreeing)."},
    [F_PATRONI_ETCD] = {"vpc_failover_patroni_etcd_reachable", 0,
			"source = patroni: 1 if etcd answered the last read or watch "
			"of the leader key, 0 if not (down, cut off, refused)."},
    [F_PATRONI_LEADER] = {"vpc_failover_patroni_leader_is_self", 0,
			  "source = patroni: 1 if the leader key names this node's "
			  "member, 0 if another member or none. Absent before the key "
			  "was first read."},
    [F_API] = {"vpc_failover_api_requests_total", 1,
	       "EC2 API answers by action and code: OK, the EC2 error code, "
	       "HTTP_<status> for an error without one, TransportError when no "
	       "answer came. Retries count once each."},
    [F_ZONE_PACKETS] = {"vpc_failover_zone_packets_total", 1,
			"Packets between this host and the zone (in: source address "
			"in the zone, out: destination in the zone). Netfilter sees "
			"GSO/GRO skbs, so this counts skbs: one may carry several "
			"wire packets."},
    [F_ZONE_BYTES] = {"vpc_failover_zone_bytes_total", 1,
		      "Bytes between this host and the zone (in: source address in "
		      "the zone, out: destination in the zone). Netfilter sees "
		      "GSO/GRO skbs whole, so byte counts are exact."},
    [F_TCP_OUT] = {"vpc_failover_tcp_segments_out_total", 1,
		   "TCP segments this host sent, retransmissions excluded "
		   "(/proc/net/snmp Tcp OutSegs)."},
    [F_TCP_RETRANS] = {"vpc_failover_tcp_retrans_segments_total", 1,
		       "TCP segments this host retransmitted (/proc/net/snmp Tcp "
		       "RetransSegs)."},
    [F_ZONE_TCP_OUT] = {"vpc_failover_zone_tcp_segments_out_total", 1,
			"TCP segments sent to peers in the zone, retransmissions "
			"included (tcp_info tcpi_segs_out)."},
    [F_ZONE_TCP_RETRANS] = {"vpc_failover_zone_tcp_retrans_segments_total", 1,
			    "TCP segments retransmitted to peers in the zone "
			    "(tcp_info tcpi_total_retrans)."},
    [F_ZONE_TCP_RATIO] = {"vpc_failover_zone_tcp_retrans_ratio", 0,
			  "Retransmitted / sent TCP segments to peers in the zone "
			  "over the last collection interval, 0..1."},
    /* TCP RTT per zone, EC2's network limits */
    [F_ZONE_TCP_RTT] = {"vpc_failover_zone_tcp_rtt_seconds", 2,
			"Smoothed RTT (tcp_info tcpi_rtt) of TCP sockets to peers in "
			"the zone: one observation per socket and collection interval "
			"in which it sent segments. Loopback excluded."},
    [F_ENA_ALLOWANCE] = {"vpc_failover_ena_allowance_exceeded_total", 1,
			 "Packets the ENA interface queued or dropped because the "
			 "instance exceeded an EC2 allowance: bw_in, bw_out (bandwidth), "
			 "pps (packets per second), conntrack (tracked connections), "
			 "linklocal (instance metadata, DNS, NTP). The driver's "
			 "ethtool statistics *_allowance_exceeded."},
    [F_ENA_CONNTRACK_AVAILABLE] = {"vpc_failover_ena_conntrack_allowance_available", 0,
				   "Tracked connections the instance can still open "
				   "before reaching its EC2 allowance (the ENA driver's "
				   "conntrack_allowance_available)."},
    [F_CONNTRACK_ENTRIES] = {"vpc_failover_conntrack_entries", 0,
			     "Entries in this host's netfilter connection tracking "
			     "table (nf_conntrack_count)."},
    [F_CONNTRACK_LIMIT] = {"vpc_failover_conntrack_entries_limit", 0,
			   "Size limit of the connection tracking table "
			   "(nf_conntrack_max)."},
    [F_GROUP_CONVERGED] = {"vpc_failover_group_converged", 0,
			   "1 when this node is MASTER of the group and every route "
			   "table of its current failover points here; else 0."},
    [F_GROUP_DAMPED] = {"vpc_failover_group_damped", 0,
			"1 while split-brain damping holds the group: another node "
			"kept taking its routes, so it only watches the tables."},
    [F_NETMON_COLLECTIONS] = {"vpc_failover_netmon_collections_total", 1,
			      "Collection rounds of the network monitor."},
    [F_NETMON_LOST] = {"vpc_failover_netmon_lost_events_total", 1,
		       "Times the kernel dropped netlink events for the network "
		       "monitor (ENOBUFS); each was followed by a full re-dump."},
    [F_NETMON_BACKEND] = {"vpc_failover_netmon_backend_info", 0,
			  "Always 1: what counts per zone, for part packets "
			  "(ebpf, nftables or none) and tcp (ebpf, sock_diag or "
			  "none); [netmon] bpf = auto falls back without CAP_BPF."},
    /* Overlay traffic */
    [F_OV_PACKETS] = {"vpc_failover_overlay_packets_total", 1,
		      "Packets arriving at this node for the group's destinations "
		      "(the overlay IPs), by source zone (\"other\": in no zone); "
		      "loopback excluded. Counted as skbs, like the zone counters."},
    [F_OV_BYTES] = {"vpc_failover_overlay_bytes_total", 1,
		    "Bytes arriving at this node for the group's destinations, by "
		    "source zone."},
    [F_OV_MISROUTED] = {"vpc_failover_overlay_misrouted", 0,
			"1 while this node is not MASTER of the group and yet receives "
			"more than [netmon] misroute_packets packets for its "
			"destinations from the zone per collection interval: a route "
			"table or a client still sends to this node."},
    [F_OV_EPISODES] = {"vpc_failover_overlay_misroute_episodes_total", 1,
		       "Misrouted-traffic episodes begun (see "
		       "vpc_failover_overlay_misrouted)."},
    [F_OV_FIRST] = {"vpc_failover_first_traffic_seconds", 0,
		    "Last failover to this node: seconds from the keepalived "
		    "transition to MASTER until the first packets from the zone for "
		    "the group's destinations arrived here (read every 10 ms). "
		    "Absent for a zone with no traffic in the watch window."},
    /* The active probe (daemon/probe.c) */
    [F_PROBE_UP] = {"vpc_failover_probe_up", 0,
		    "The group's active probe (probe = tcp:PORT) from this node, "
		    "which is not MASTER, through its zone's route table: 1 the "
		    "last TCP connect to the destination was answered (connected, or "
		    "refused: the path works, the port is closed), 0 it timed out "
		    "or was unreachable. Absent while this node is MASTER."},
    [F_PROBE_CONNECT] = {"vpc_failover_probe_connect_seconds", 0,
			 "Seconds the last answered probe connect took (SYN to "
			 "SYN-ACK or RST, as seen by this node)."},
    [F_PROBES] = {"vpc_failover_probes_total", 1,
		  "Probe connects made to the destination since the daemon started."},
    [F_PROBE_FAILURES] = {"vpc_failover_probe_failures_total", 1,
			  "Probe connects to the destination that timed out or "
			  "were unreachable."},
    /* The names and meanings of the Prometheus client libraries. */
    [F_PROC_START] = {"process_start_time_seconds", 0,
		      "Start time of the process since unix epoch in seconds."},
    [F_PROC_CPU] = {"process_cpu_seconds_total", 1,
		    "Total user and system CPU time spent in seconds."},
    [F_PROC_RSS] = {"process_resident_memory_bytes", 0, "Resident memory size in bytes."},
    [F_PROC_VSZ] = {"process_virtual_memory_bytes", 0, "Virtual memory size in bytes."},
    [F_PROC_FDS] = {"process_open_fds", 0, "Number of open file descriptors."},
    [F_PROC_MAX_FDS] = {"process_max_fds", 0, "Maximum number of open file descriptors."},
};

struct fam {
	struct buf text;
	char **seen; /* label sets already printed */
	size_t nseen;
};

struct render {
	struct fam f[F_COUNT];
	int overflow;
};

/* Label values: backslash, double quote and newline escaped (0.0.4). 0, or
 * -1 when the buffer's cap was reached. */
static int esc_label(struct buf *b, const char *s)
{
	int rc = 0;

	for (; *s; s++) {
		if (*s == '\\')
			rc |= buf_append(b, "\\\\", 2);
		else if (*s == '"')
			rc |= buf_append(b, "\\\"", 2);
		else if (*s == '\n')
			rc |= buf_append(b, "\\n", 2);
		else
			rc |= buf_append(b, s, 1);
	}
	return rc;
}

/* HELP text: backslash and newline escaped. */
static void esc_help(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_append(b, "\\\\", 2);
		else if (*s == '\n')
			buf_append(b, "\\n", 2);
		else
			buf_append(b, s, 1);
	}
}

/* The shortest decimal that reads back as the same double. */
static void fmt_double(double d, char *out, size_t n)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, n, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/* A sample value from the snapshot; counters must be >= 0. 0 or -1. */
static int fmt_value(json_t *v, int counter, char *out, size_t n)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (counter && i < 0)
			return -1;
		snprintf(out, n, "%lld", (long long)i);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (!isfinite(d) || (counter && d < 0))
			return -1;
		fmt_double(d, out, n);
		return 0;
	}
	return -1;
}

/* Add one sample; labels are NULL-terminated name, value pairs. Label values
 * that are not strings skip the sample. */
static void vsample(struct render *r, enum fam_id id, const char *suffix, json_t *value,
		    va_list ap)
{
	struct fam *f = &r->f[id];
	struct buf lb;
	char num[64];
	const char *k;
	int bad = 0;

	if (fmt_value(value, defs[id].counter != 0, num, sizeof(num)) == -1)
		return;
	buf_init(&lb, LABELS_MAX);
	/* A histogram's _bucket, _sum and _count are series of one family:
	 * the suffix is part of what must not repeat. */
	buf_append(&lb, suffix, strlen(suffix));
	size_t lstart = lb.len;
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		if (v == NULL) {
			bad = 1;
			continue;
		}
		buf_append(&lb, lb.len > lstart ? "," : "{", 1);
		buf_append(&lb, k, strlen(k));
		buf_append(&lb, "=\"", 2);
		bad |= esc_label(&lb, v) == -1;
		bad |= buf_append(&lb, "\"", 1) == -1;
	}
	if (lb.len > lstart)
		bad |= buf_append(&lb, "}", 1) == -1;
	if (bad || f->nseen >= SEEN_MAX)
		goto out;
	for (size_t i = 0; i < f->nseen; i++)
		if (strcmp(f->seen[i], buf_str(&lb)) == 0)
			goto out;
	f->seen = xgrow(f->seen, f->nseen, sizeof(*f->seen));
	f->seen[f->nseen++] = xstrdup(buf_str(&lb));
	if (buf_append(&f->text, defs[id].name, strlen(defs[id].name)) == -1 ||
	    buf_append(&f->text, lb.data ? lb.data : "", lb.len) == -1 ||
	    buf_append(&f->text, " ", 1) == -1 ||
	    buf_append(&f->text, num, strlen(num)) == -1 ||
	    buf_append(&f->text, "\n", 1) == -1)
		r->overflow = 1;
out:
	buf_free(&lb);
}

static void sample(struct render *r, enum fam_id id, json_t *value, ...)
{
	va_list ap;

	va_start(ap, value);
	vsample(r, id, "", value, ap);
	va_end(ap);
}

/* One series of a histogram family: suffix "_bucket", "_sum" or "_count". */
static void hsample(struct render *r, enum fam_id id, const char *suffix, json_t *value,
		    ...)
{
	va_list ap;

	va_start(ap, value);
	vsample(r, id, suffix, value, ap);
	va_end(ap);
}

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* {"group", "buckets": [[le, count]...] (cumulative, +Inf as null), "sum",
 * "count"}. */
static void render_histogram(struct render *r, json_t *h)
{
	const char *name = str(h, "group");
	json_t *b;
	size_t i;

	if (name == NULL)
		return;
	json_array_foreach(json_object_get(h, "buckets"), i, b)
	{
		json_t *le = json_array_get(b, 0);
		char les[64];
		if (json_is_null(le))
			snprintf(les, sizeof(les), "+Inf");
		else if (json_is_number(le))
			fmt_double(json_number_value(le), les, sizeof(les));
		else
			continue;
		hsample(r, F_CONVERGENCE_HIST, "_bucket", json_array_get(b, 1), "group",
			name, "le", les, NULL);
	}
	hsample(r, F_CONVERGENCE_HIST, "_sum", json_object_get(h, "sum"), "group", name,
		NULL);
	hsample(r, F_CONVERGENCE_HIST, "_count", json_object_get(h, "count"), "group",
		name, NULL);
}

static void render_group(struct render *r, json_t *g)
{
	static const char *const states[] = {"MASTER", "BACKUP",  "FAULT",
					     "STOP",   "DELETED", "UNKNOWN"};
	const char *name = str(g, "group"), *cur = str(g, "state"), *key;
	json_t *one = json_integer(1), *zero = json_integer(0), *v;
	int known = 0;

	if (name == NULL)
		goto out;
	/* A state set: every state present, so that absence is never
	 * ambiguous and sum by (group) is always 1. */
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		int is = cur && strcmp(cur, states[i]) == 0;
		known |= is;
		sample(r, F_GROUP_STATE, is ? one : zero, "group", name, "state",
		       states[i], NULL);
	}
	if (cur && !known)
		sample(r, F_GROUP_STATE, one, "group", name, "state", cur, NULL);
	json_object_foreach(json_object_get(g, "transitions"), key, v)
	    sample(r, F_TRANSITIONS, v, "group", name, "state", key, NULL);
	json_object_foreach(json_object_get(g, "route_updates"), key, v)
	    sample(r, F_ROUTE_UPDATES, v, "group", name, "result", key, NULL);
	sample(r, F_CONVERGENCE, json_object_get(g, "convergence_seconds"), "group", name,
	       NULL);
	sample(r, F_SETTLE, json_object_get(g, "settle_seconds"), "group", name, NULL);
	sample(r, F_LATE_WRITES, json_object_get(g, "late_writes"), "group", name, NULL);
	sample(r, F_FLIPS, json_object_get(g, "split_brain_flips"), "group", name, NULL);
	sample(r, F_HANDED_BACK, json_object_get(g, "handed_back"), "group", name, NULL);
	/* what the alert rules look at */
	sample(r, F_GROUP_CONVERGED, json_object_get(g, "converged"), "group", name,
	       NULL);
	sample(r, F_GROUP_DAMPED, json_object_get(g, "damped"), "group", name, NULL);
	sample(r, F_GUARD_REFUSALS, json_object_get(g, "guard_refusals"), "group", name,
	       NULL);
	sample(r, F_GUARD_PRIMARY, json_object_get(g, "guard_primary"), "group", name,
	       NULL);
	json_object_foreach(json_object_get(g, "sentinel_reachable"), key, v)
	    sample(r, F_SENTINEL_REACHABLE, v, "group", name, "sentinel", key, NULL);
	sample(r, F_SENTINEL_QUORUM, json_object_get(g, "sentinel_quorum_agrees"),
	       "group", name, NULL);
	sample(r, F_PATRONI_ETCD, json_object_get(g, "patroni_etcd_reachable"), "group",
	       name, NULL);
	sample(r, F_PATRONI_LEADER, json_object_get(g, "patroni_leader_is_self"), "group",
	       name, NULL);
out:
	json_decref(one);
	json_decref(zero);
}

/* A bucket bound as Prometheus prints it: "+Inf" for null. -1 if neither. */
static int fmt_le(json_t *le, char *out, size_t n)
{
	if (json_is_null(le))
		snprintf(out, n, "+Inf");
	else if (json_is_number(le))
		fmt_double(json_number_value(le), out, n);
	else
		return -1;
	return 0;
}

/* A zone's "tcp_rtt": {"buckets": [[le, count]...], "sum", "count"}. */
static void render_zone_rtt(struct render *r, const char *zone, json_t *h)
{
	json_t *b;
	size_t i;
	char les[64];

	if (!json_is_object(h))
		return;
	json_array_foreach(json_object_get(h, "buckets"), i, b)
	{
		if (fmt_le(json_array_get(b, 0), les, sizeof(les)) == 0)
			hsample(r, F_ZONE_TCP_RTT, "_bucket", json_array_get(b, 1),
				"zone", zone, "le", les, NULL);
	}
	hsample(r, F_ZONE_TCP_RTT, "_sum", json_object_get(h, "sum"), "zone", zone, NULL);
	hsample(r, F_ZONE_TCP_RTT, "_count", json_object_get(h, "count"), "zone", zone,
		NULL);
}

/* {"interface": NAME, "<driver statistic>": N, ...}: the known ENA names. */
static void render_iface(struct render *r, json_t *f)
{
	const char *name = str(f, "interface");

	if (name == NULL)
		return;
	for (size_t k = 0; k < NML_NCOUNTERS; k++)
		sample(r, F_ENA_ALLOWANCE, json_object_get(f, nml_name(k)), "interface",
		       name, "allowance", nml_label(k), NULL);
	sample(r, F_ENA_CONNTRACK_AVAILABLE,
	       json_object_get(f, nml_name(NML_CONNTRACK_AVAILABLE)), "interface", name,
	       NULL);
}

static void render_zone(struct render *r, json_t *z)
{
	const char *name = str(z, "zone");

	if (name == NULL)
		return;
	sample(r, F_ZONE_PACKETS, json_object_get(z, "packets_in"), "zone", name,
	       "direction", "in", NULL);
	sample(r, F_ZONE_PACKETS, json_object_get(z, "packets_out"), "zone", name,
	       "direction", "out", NULL);
	sample(r, F_ZONE_BYTES, json_object_get(z, "bytes_in"), "zone", name, "direction",
	       "in", NULL);
	sample(r, F_ZONE_BYTES, json_object_get(z, "bytes_out"), "zone", name,
	       "direction", "out", NULL);
	sample(r, F_ZONE_TCP_OUT, json_object_get(z, "tcp_segments_out"), "zone", name,
	       NULL);
	sample(r, F_ZONE_TCP_RETRANS, json_object_get(z, "tcp_retrans_segments"), "zone",
	       name, NULL);
	sample(r, F_ZONE_TCP_RATIO, json_object_get(z, "tcp_retrans_ratio"), "zone", name,
	       NULL);
	render_zone_rtt(r, name, json_object_get(z, "tcp_rtt"));
}

/* Overlay traffic: one entry per group and zone. */
static void render_overlay(struct render *r, json_t *o)
{
	const char *g = str(o, "group"), *z = str(o, "zone");

	if (g == NULL || z == NULL)
		return;
	sample(r, F_OV_PACKETS, json_object_get(o, "packets"), "group", g, "zone", z,
	       NULL);
	sample(r, F_OV_BYTES, json_object_get(o, "bytes"), "group", g, "zone", z, NULL);
	sample(r, F_OV_MISROUTED, json_object_get(o, "misrouted"), "group", g, "zone", z,
	       NULL);
	sample(r, F_OV_EPISODES, json_object_get(o, "misroute_episodes"), "group", g,
	       "zone", z, NULL);
	sample(r, F_OV_FIRST, json_object_get(o, "first_traffic_seconds"), "group", g,
	       "zone", z, NULL);
}

/* The active probe: one entry per group and destination. */
static void render_probe(struct render *r, json_t *p)
{
	const char *g = str(p, "group"), *d = str(p, "destination"), *z = str(p, "zone");

	if (g == NULL || d == NULL || z == NULL)
		return;
	sample(r, F_PROBE_UP, json_object_get(p, "up"), "group", g, "destination", d,
	       "zone", z, NULL);
	sample(r, F_PROBE_CONNECT, json_object_get(p, "connect_seconds"), "group", g,
	       "destination", d, "zone", z, NULL);
	sample(r, F_PROBES, json_object_get(p, "probes"), "group", g, "destination", d,
	       "zone", z, NULL);
	sample(r, F_PROBE_FAILURES, json_object_get(p, "failures"), "group", g,
	       "destination", d, "zone", z, NULL);
}

char *nmp_render(json_t *snap)
{
	struct render r;
	struct buf out;
	json_t *v, *tcp = json_object_get(snap, "tcp"),
		   *nm = json_object_get(snap, "netmon");
	size_t i;
	char *text = NULL;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < F_COUNT; i++)
		buf_init(&r.f[i].text, NMP_TEXT_MAX);
	buf_init(&out, NMP_TEXT_MAX);

	sample(&r, F_UP, json_object_get(snap, "up"), NULL);
	/* An info metric (value 1, facts as labels): join it on instance to
	 * see which version each node runs. */
	json_t *one = json_integer(1);
	sample(&r, F_BUILD_INFO, one, "version", str(snap, "version"), NULL);
	json_array_foreach(json_object_get(snap, "groups"), i, v) render_group(&r, v);
	json_array_foreach(json_object_get(snap, "convergence"), i, v)
	    render_histogram(&r, v);
	json_array_foreach(json_object_get(snap, "api_requests"), i, v)
	    sample(&r, F_API, json_object_get(v, "count"), "action", str(v, "action"),
		   "code", str(v, "code"), NULL);
	json_array_foreach(json_object_get(snap, "zones"), i, v) render_zone(&r, v);
	json_array_foreach(json_object_get(snap, "overlay"), i, v) render_overlay(&r, v);
	json_array_foreach(json_object_get(snap, "probes"), i, v) render_probe(&r, v);
	sample(&r, F_TCP_OUT, json_object_get(tcp, "segments_out"), NULL);
	sample(&r, F_TCP_RETRANS, json_object_get(tcp, "retrans_segments"), NULL);
	sample(&r, F_NETMON_COLLECTIONS, json_object_get(nm, "collections"), NULL);
	sample(&r, F_NETMON_LOST, json_object_get(nm, "lost_events"), NULL);
	if (json_is_string(json_object_get(nm, "packet_counter")))
		sample(&r, F_NETMON_BACKEND, one, "part", "packets", "backend",
		       str(nm, "packet_counter"), NULL);
	if (json_is_string(json_object_get(nm, "tcp_counter")))
		sample(&r, F_NETMON_BACKEND, one, "part", "tcp", "backend",
		       str(nm, "tcp_counter"), NULL);
	json_decref(one);
	/* EC2's allowance counters, conntrack's fill */
	json_array_foreach(json_object_get(snap, "interfaces"), i, v) render_iface(&r, v);
	json_t *ct = json_object_get(snap, "conntrack");
	sample(&r, F_CONNTRACK_ENTRIES, json_object_get(ct, "count"), NULL);
	sample(&r, F_CONNTRACK_LIMIT, json_object_get(ct, "max"), NULL);
	json_t *proc = json_object_get(snap, "process");
	sample(&r, F_PROC_START, json_object_get(proc, "start_time_seconds"), NULL);
	sample(&r, F_PROC_CPU, json_object_get(proc, "cpu_seconds"), NULL);
	sample(&r, F_PROC_RSS, json_object_get(proc, "resident_memory_bytes"), NULL);
	sample(&r, F_PROC_VSZ, json_object_get(proc, "virtual_memory_bytes"), NULL);
	sample(&r, F_PROC_FDS, json_object_get(proc, "open_fds"), NULL);
	sample(&r, F_PROC_MAX_FDS, json_object_get(proc, "max_fds"), NULL);

	for (i = 0; i < F_COUNT && !r.overflow; i++) {
		struct fam *f = &r.f[i];
		if (f->text.len == 0)
			continue;
		buf_append(&out, "# HELP ", 7);
		buf_append(&out, defs[i].name, strlen(defs[i].name));
		buf_append(&out, " ", 1);
		esc_help(&out, defs[i].help);
		buf_append(&out, "\n# TYPE ", 8);
		buf_append(&out, defs[i].name, strlen(defs[i].name));
		const char *type = defs[i].counter == 1	  ? " counter\n"
				   : defs[i].counter == 2 ? " histogram\n"
							  : " gauge\n";
		buf_append(&out, type, strlen(type));
		if (buf_append(&out, f->text.data, f->text.len) == -1)
			r.overflow = 1;
	}
	if (!r.overflow)
		text = xstrdup(buf_str(&out));
	for (i = 0; i < F_COUNT; i++) {
		buf_free(&r.f[i].text);
		for (size_t j = 0; j < r.f[i].nseen; j++)
			free(r.f[i].seen[j]);
		free(r.f[i].seen);
	}
	buf_free(&out);
	return text;
}

/* --- the HTTP endpoint ---------------------------------------------------- */

static struct MHD_Daemon *mhd;
static int mhd_epfd = -1;
static uint64_t mhd_timer;
static int bound_port;
static json_t *(*snapshot_fn)(void);
static char *tls_cert, *tls_key; /* PEM text, when serving https */
/* The users (basic_auth_users), and the files the certificate and key
 * were read from. */
static struct nmw_cfg web;
/* bcrypt costs tens of milliseconds by design, which the event loop must
 * not spend on every scrape: the last credentials that verified are kept
 * (as the exporter toolkit caches its bcrypt results) and compared in
 * constant time. */
static char *auth_ok_user, *auth_ok_pass;
/* And credentials that do not match the cached ones may cost a bcrypt
 * only within a budget: a bucket of BCRYPT_BURST hashes that refills
 * BCRYPT_PER_S a second. Beyond it the request is answered 429 without
 * hashing, so a client trying passwords cannot hold the event loop (at
 * cost 10, 50 ms a hash: at most 2 × 50 ms of every second). Scrapers whose
 * credentials verified are served from the cache and never wait. */
#define BCRYPT_BURST 4
#define BCRYPT_PER_S 2
static double bcrypt_tokens = BCRYPT_BURST;
static uint64_t bcrypt_mono;

static void mhd_rearm(void);

static void mhd_drive(void)
{
	if (MHD_run(mhd) != MHD_YES)
		log_warnx("metrics: MHD_run failed");
	mhd_rearm();
}

static void on_mhd_timer(void *arg)
{
	mhd_timer = 0;
	mhd_drive();
}

static void on_mhd_fd(int fd, uint32_t events, void *arg)
{
	mhd_drive();
}

/* MHD says how soon it must run again even without socket activity
 * (connection timeouts, data already buffered on edge-triggered sockets). */
static void mhd_rearm(void)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (mhd_timer)
		ev_timer_cancel(mhd_timer);
	mhd_timer = 0;
	if (mhd && MHD_get_timeout(mhd, &t) == MHD_YES)
		mhd_timer = ev_timer_add(ev_from_real((uint64_t)t), on_mhd_timer, NULL);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt,
							  va_list ap)
{
	char msg[512];

	/* Debug only: most of these are about a client's bad request, which
	 * anyone who can connect could repeat at will; our own failures are
	 * logged where they happen. */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("metrics: libmicrohttpd: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     const char *ctype, char *body, const char *allow)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* a == b without an early exit, so the time says nothing of where they
 * differ. */
static int same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* May one more bcrypt run now? Takes a token from the budget. */
static int bcrypt_budget(void)
{
	uint64_t now = ev_now();

	bcrypt_tokens += (double)(now - bcrypt_mono) * BCRYPT_PER_S / 1000.0;
	if (bcrypt_tokens > BCRYPT_BURST)
		bcrypt_tokens = BCRYPT_BURST;
	bcrypt_mono = now;
	if (bcrypt_tokens < 1)
		return 0;
	bcrypt_tokens -= 1;
	return 1;
}

/* 1 when the request carries the name and password of a user; 0 when it
 * does not; -1 when checking it would exceed the bcrypt budget. */
static int authorized(struct MHD_Connection *conn)
{
	char *pass = NULL, *name = MHD_basic_auth_get_username_password(conn, &pass);
	int ok = 0;

	if (name == NULL || pass == NULL)
		goto out;
	if (auth_ok_user && same(name, auth_ok_user) && same(pass, auth_ok_pass)) {
		ok = 1;
		goto out;
	}
	for (size_t i = 0; i < web.nusers && !ok; i++) {
		struct crypt_data cd;
		if (strcmp(web.users[i].name, name) != 0)
			continue;
		if (!bcrypt_budget()) {
			log_debug("metrics: basic authentication for '%.64s' over the "
				  "bcrypt budget: 429",
				  name);
			ok = -1;
			goto out;
		}
		memset(&cd, 0, sizeof(cd));
		const char *h = crypt_r(pass, web.users[i].hash, &cd);
		ok = h && h[0] != '*' && same(h, web.users[i].hash);
		explicit_bzero(&cd, sizeof(cd));
	}
	if (ok) {
		free(auth_ok_user);
		if (auth_ok_pass)
			explicit_bzero(auth_ok_pass, strlen(auth_ok_pass));
		free(auth_ok_pass);
		auth_ok_user = xstrdup(name);
		auth_ok_pass = xstrdup(pass);
	} else {
		log_debug("metrics: basic authentication failed for '%.64s'", name);
	}
out:
	if (pass)
		explicit_bzero(pass, strlen(pass));
	MHD_free(name);
	MHD_free(pass);
	return ok;
}

static enum MHD_Result ask_auth(struct MHD_Connection *conn)
{
	static const char body[] = "authentication required\n";
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (resp == NULL)
		return MHD_NO;
	rc = MHD_queue_basic_auth_fail_response(conn, NMP_REALM, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	static const char text[] = "text/plain; charset=utf-8";

	if (web.nusers) {
		int auth = authorized(conn);
		if (auth == -1)
			return reply(conn, MHD_HTTP_TOO_MANY_REQUESTS, text,
				     xstrdup("too many authentication attempts: retry "
					     "in a second\n"),
				     NULL);
		if (auth == 0)
			return ask_auth(conn);
	}
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, text,
			     xstrdup("not found: metrics are at /metrics\n"), NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text,
			     xstrdup("method not allowed: GET /metrics\n"), "GET, HEAD");
	json_t *snap = snapshot_fn();
	char *body = snap ? nmp_render(snap) : NULL;
	json_decref(snap);
	if (body == NULL) {
		log_warnx("metrics: the snapshot could not be rendered");
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text,
			     xstrdup("metrics could not be rendered\n"), NULL);
	}
	return reply(conn, MHD_HTTP_OK, NMP_CONTENT_TYPE, body, NULL);
}

/* HOST:PORT, numeric, IPv6 in brackets, into a listening socket. */
static int listen_socket(const char *listen_addr, int *family)
{
	char host[128];
	const char *colon = strrchr(listen_addr, ':');
	struct addrinfo hints, *ai = NULL;
	int fd = -1, one = 1, rc;
	size_t hl;

	if (colon == NULL || (hl = (size_t)(colon - listen_addr)) == 0 ||
	    hl >= sizeof(host)) {
		log_warnx("metrics: listen '%s' is not ADDRESS:PORT", listen_addr);
		return -1;
	}
	memcpy(host, listen_addr, hl);
	host[hl] = '\0';
	if (host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0) {
		log_warnx("metrics: listen '%s': %s", listen_addr, gai_strerror(rc));
		return -1;
	}
	*family = ai->ai_family;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("metrics: socket");
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		log_warn("metrics: cannot listen on %s: bind", listen_addr);
		goto fail;
	}
	if (listen(fd, 64) == -1) {
		log_warn("metrics: listen on %s", listen_addr);
		goto fail;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		bound_port = ntohs(ss.ss_family == AF_INET6
				       ? ((struct sockaddr_in6 *)&ss)->sin6_port
				       : ((struct sockaddr_in *)&ss)->sin_port);
	goto out;
fail:
	close(fd);
	fd = -1;
out:
	freeaddrinfo(ai);
	return fd;
}

/* A PEM file into memory; private: its mode must keep it to root. */
static char *read_pem(const char *path, int private)
{
	struct stat st;
	char why[256], *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1 || fstat(fd, &st) == -1) {
		log_warn("metrics: %s", path);
		goto fail;
	}
	if (private && private_file_check(&st, why, sizeof(why)) == -1) {
		log_warnx("metrics: %s: %s", path, why);
		goto fail;
	}
	/* Less than NMP_PEM_MAX bytes (one more is too large). */
	text = xmalloc(NMP_PEM_MAX + 1);
	if ((n = read_fd_capped(fd, text, NMP_PEM_MAX - 1)) == -1 && errno != EFBIG) {
		log_warn("metrics: read %s", path);
		goto fail;
	}
	if (n == -1 || strstr(text, "-----BEGIN ") == NULL) {
		log_warnx("metrics: %s is not a PEM file (or larger than %d bytes)", path,
			  NMP_PEM_MAX);
		goto fail;
	}
	close(fd);
	return text;
fail:
	if (text)
		explicit_bzero(text, NMP_PEM_MAX + 1);
	free(text);
	if (fd != -1)
		close(fd);
	return NULL;
}

static void secure_free(void)
{
	if (tls_key)
		explicit_bzero(tls_key, strlen(tls_key));
	free(tls_key);
	free(tls_cert);
	tls_key = tls_cert = NULL;
	nmw_free(&web);
	if (auth_ok_pass)
		explicit_bzero(auth_ok_pass, strlen(auth_ok_pass));
	free(auth_ok_pass);
	free(auth_ok_user);
	auth_ok_user = auth_ok_pass = NULL;
}

int nmp_secure(const struct nmp_cfg *m)
{
	struct nmw_cfg users_only;
	const char *cert_file = m->tls_cert_file, *key_file = m->tls_key_file;
	char err[512];

	secure_free();
	/* A web.config names both (nmp_cfg_check refuses it beside the
	 * other keys); basic_auth_users_file only users. */
	if (m->web_config_file[0]) {
		if (nmw_load(m->web_config_file, 0, &web, err, sizeof(err)) == -1) {
			log_warnx("metrics: %s", err);
			goto fail;
		}
		if (web.cert_file) {
			cert_file = web.cert_file;
			key_file = web.key_file;
		}
	} else if (m->basic_auth_users_file[0]) {
		if (nmw_load(m->basic_auth_users_file, NMW_NO_TLS, &users_only, err,
			     sizeof(err)) == -1) {
			log_warnx("metrics: %s", err);
			goto fail;
		}
		web = users_only;
	}
	if (cert_file && *cert_file) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_warnx("metrics: this libmicrohttpd has no TLS");
			goto fail;
		}
		if ((tls_cert = read_pem(cert_file, 0)) == NULL ||
		    (tls_key = read_pem(key_file, 1)) == NULL)
			goto fail;
	}
	/* What nmp_cfg_check could not see without reading the web.config. */
	if (m->listen[0] && !m->allow_insecure_remote && !nmp_cfg_loopback(m->listen) &&
	    (tls_cert == NULL || web.nusers == 0)) {
		log_warnx("metrics: listen = %s is not a loopback address: %s has no %s",
			  m->listen,
			  m->web_config_file[0] ? m->web_config_file : "[metrics]",
			  tls_cert ? "basic_auth_users" : "tls_server_config");
		goto fail;
	}
	return 0;
fail:
	secure_free();
	return -1;
}

int nmp_serve(const char *listen_addr, json_t *(*snapshot)(void))
{
	int family = AF_INET;
	int fd = listen_socket(listen_addr, &family);
	const union MHD_DaemonInfo *info;

	if (fd == -1)
		return -1;
	snapshot_fn = snapshot;
	/* The TLS options last: without TLS they end the list early. */
	mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (family == AF_INET6 ? MHD_USE_IPv6 : 0) |
		(tls_cert ? MHD_USE_TLS : 0),
	    0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)NMP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)NMP_CONN_TIMEOUT_S,
	    tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, tls_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, tls_key, MHD_OPTION_END);
	if (mhd == NULL) {
		log_warnx("metrics: libmicrohttpd could not start on %s", listen_addr);
		/* MHD may or may not have closed it on its way out. */
		if (fcntl(fd, F_GETFD) != -1)
			close(fd);
		bound_port = 0;
		return -1;
	}
	info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || (mhd_epfd = info->epoll_fd) < 0 ||
	    ev_fd_set(mhd_epfd, EPOLLIN, on_mhd_fd, NULL) == -1) {
		log_warnx("metrics: cannot watch libmicrohttpd's epoll fd");
		nmp_stop();
		return -1;
	}
	mhd_rearm();
	log_info("metrics: Prometheus endpoint on %s://%s/metrics (port %d)%s",
		 tls_cert ? "https" : "http", listen_addr, bound_port,
		 web.nusers ? ", basic authentication" : "");
	return 0;
}

int nmp_port(void)
{
	return mhd ? bound_port : 0;
}

void nmp_stop(void)
{
	secure_free();
	if (mhd == NULL)
		return;
	if (mhd_epfd >= 0)
		ev_fd_del(mhd_epfd);
	mhd_epfd = -1;
	if (mhd_timer)
		ev_timer_cancel(mhd_timer);
	mhd_timer = 0;
	/* Closes the listening socket and every connection. */
	MHD_stop_daemon(mhd);
	mhd = NULL;
	bound_port = 0;
	log_info("metrics: endpoint stopped");
}
