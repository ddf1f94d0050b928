/* metrics.c — builds the metrics snapshot (netmon/netmon.h) from the
 * groups, the EC2 client's answer counts and the network monitor's hook.
 *
 * Host-wide TCP comes from the monitor when it reports it, else from
 * /proc/net/snmp read here: the counters are cheap to read and useful even
 * without zones. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "daemon/group.h"
#include "lib/log.h"
#include "daemon/metrics.h"
#include "daemon/probe.h"
#include "daemon/traffic.h"
#include "netmon/tcp.h"
#include "lib/util.h"
#include "lib/version.h"
#include "vpc/ec2.h"

static int ready;
/* Convergence-time histograms, cumulative counts per bucket, +Inf last. */
static const double conv_le[] = MX_CONV_BUCKETS;
#define NCONV (sizeof(conv_le) / sizeof(conv_le[0]))
static struct conv_hist {
	char *group;
	uint64_t count[NCONV + 1];
	double sum;
} * conv;
static size_t nconv;
static nm_report_fn netmon_fn;
static void *netmon_arg;
static int snmp_warned;

void mx_observe(const struct grp_report *r, void *arg)
{
	struct conv_hist *h = NULL;
	double s;

	if (r->kind != GRP_REPORT_CONVERGED || !r->failover)
		return;
	for (size_t i = 0; i < nconv && h == NULL; i++)
		if (strcmp(conv[i].group, r->group) == 0)
			h = &conv[i];
	if (h == NULL) {
		if (nconv == MX_CONV_GROUPS_MAX)
			return;
		conv = xgrow(conv, nconv, sizeof(*conv));
		h = &conv[nconv++];
		memset(h, 0, sizeof(*h));
		h->group = xstrdup(r->group);
	}
	s = (double)r->convergence_ms / 1000.0;
	for (size_t i = 0; i < NCONV; i++)
		h->count[i] += s <= conv_le[i];
	h->count[NCONV]++;
	h->sum += s;
}

static json_t *conv_json(void)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < nconv; i++) {
		json_t *b = json_array();
		for (size_t j = 0; j <= NCONV; j++)
			json_array_append_new(
			    b, json_pack("[o, I]",
					 j < NCONV ? json_real(conv_le[j]) : json_null(),
					 (json_int_t)conv[i].count[j]));
		json_array_append_new(arr, json_pack("{s:s, s:o, s:f, s:I}", "group",
						     conv[i].group, "buckets", b, "sum",
						     conv[i].sum, "count",
						     (json_int_t)conv[i].count[NCONV]));
	}
	return arr;
}

void mx_set_ready(int r)
{
	ready = r;
}

void mx_set_netmon(nm_report_fn fn, void *arg)
{
	netmon_fn = fn;
	netmon_arg = arg;
}

static int read_snmp(struct nm_host_tcp *out)
{
	char *text = xmalloc(MX_SNMP_MAX + 1);
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(MX_SNMP_PATH, O_RDONLY | O_CLOEXEC)) == -1) {
		if (!snmp_warned++)
			log_warn("metrics: %s", MX_SNMP_PATH);
		goto out;
	}
	/* Less than MX_SNMP_MAX bytes: one more is "too long". */
	if ((n = read_fd_capped(fd, text, MX_SNMP_MAX - 1)) == -1 && errno != EFBIG) {
		if (!snmp_warned++)
			log_warn("metrics: read %s", MX_SNMP_PATH);
		goto out;
	}
	if (n == -1 || nmt_parse_snmp(text, (size_t)n, out) == -1) {
		if (!snmp_warned++)
			log_warnx("metrics: %s has no Tcp OutSegs/RetransSegs (or is "
				  "too long); host-wide TCP counters stay 0",
				  MX_SNMP_PATH);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(text);
	return rc;
}

/* The first line of a small /proc file into buf: 0, or -1. */
static int read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");
	int rc = f && fgets(buf, (int)n, f) ? 0 : -1;

	if (f)
		fclose(f);
	return rc;
}

/* When this process started, in Unix seconds: its start in clock ticks
 * after boot (/proc/self/stat field 22) plus the boot time (/proc/stat
 * btime). 0 when either is unreadable. */
static double process_start(void)
{
	char line[1024], *p;
	unsigned long long ticks = 0, btime = 0;
	FILE *f;

	/* Field 2, the command, may hold spaces and parentheses: count from
	 * the last ')', which is field 2's end. */
	if (read_line("/proc/self/stat", line, sizeof(line)) == -1 ||
	    (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 1,
		   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
		   "%*d %*d %*d %llu",
		   &ticks) != 1)
		return 0;
	if ((f = fopen("/proc/stat", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	long hz = sysconf(_SC_CLK_TCK);
	return btime && hz > 0 ? (double)btime + (double)ticks / (double)hz : 0;
}

/* The process metrics every Prometheus client library exports, under the
 * same names, so that the usual dashboards and alerts work unchanged. */
static json_t *process_json(void)
{
	struct rusage ru;
	struct rlimit rl;
	unsigned long long vsz_pages = 0, rss_pages = 0;
	char line[256];
	long page = sysconf(_SC_PAGESIZE);
	json_int_t fds = 0;
	DIR *d;
	struct dirent *e;

	if (read_line("/proc/self/statm", line, sizeof(line)) == 0)
		sscanf(line, "%llu %llu", &vsz_pages, &rss_pages);
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((e = readdir(d)) != NULL)
			fds += e->d_name[0] != '.';
		fds--; /* the directory stream's own */
		closedir(d);
	}
	memset(&ru, 0, sizeof(ru));
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	json_t *o = json_pack(
	    "{s:f, s:f, s:I, s:I, s:I}", "start_time_seconds", process_start(),
	    "cpu_seconds", cpu, "resident_memory_bytes",
	    (json_int_t)(rss_pages * (unsigned long long)page), "virtual_memory_bytes",
	    (json_int_t)(vsz_pages * (unsigned long long)page), "open_fds",
	    fds < 0 ? 0 : fds);
	if (json_real_value(json_object_get(o, "start_time_seconds")) == 0)
		json_object_del(o, "start_time_seconds"); /* unknown, not 1970 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		json_object_set_new(o, "max_fds", json_integer((json_int_t)rl.rlim_cur));
	return o;
}

/* {"buckets": [[le, count]...] cumulative, +Inf as null; "sum"; "count"},
 * in seconds, as the convergence histograms. */
static json_t *rtt_json(const struct nm_rtt_hist *h)
{
	static const uint32_t le[NM_RTT_NBUCKETS] = NM_RTT_BUCKETS_US;
	json_t *b = json_array();
	uint64_t cum = 0;

	for (size_t i = 0; i <= NM_RTT_NBUCKETS; i++) {
		cum += h->count[i];
		json_array_append_new(b, json_pack("[o, I]",
						   i < NM_RTT_NBUCKETS
						       ? json_real((double)le[i] / 1e6)
						       : json_null(),
						   (json_int_t)cum));
	}
	return json_pack("{s:o, s:f, s:I}", "buckets", b, "sum", (double)h->sum_us / 1e6,
			 "count", (json_int_t)cum);
}

static json_t *zone_json(const struct nm_zone_report *z)
{
	json_t *o = json_pack(
	    "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "zone", z->name, "packets_in",
	    (json_int_t)z->nft.packets_in, "bytes_in", (json_int_t)z->nft.bytes_in,
	    "packets_out", (json_int_t)z->nft.packets_out, "bytes_out",
	    (json_int_t)z->nft.bytes_out, "tcp_segments_out", (json_int_t)z->tcp.segs_out,
	    "tcp_retrans_segments", (json_int_t)z->tcp.retrans_segs, "tcp_retrans_ratio",
	    z->tcp_retrans_ratio);

	json_object_set_new(o, "tcp_rtt", rtt_json(&z->rtt));
	return o;
}

/* The ENA allowance statistics each interface has. */
static json_t *ifaces_json(const struct nm_report *nm)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < nm->nifaces; i++) {
		const struct nml_iface *f = &nm->ifaces[i];
		json_t *o = json_pack("{s:s}", "interface", f->name);
		for (size_t k = 0; k < NML_NSTATS; k++)
			if (f->have & (1u << k))
				json_object_set_new(o, nml_name(k),
						    json_integer((json_int_t)f->v[k]));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *api_json(void)
{
	json_t *arr = json_array();
	size_t n;
	const struct ec2_api_count *c = ec2_api_counts(&n);

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "action",
						     c[i].action, "code", c[i].code,
						     "count", (json_int_t)c[i].count));
	return arr;
}

/* Overlay traffic: per group and source zone. */
static json_t *overlay_json(const struct nm_report *nm)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < nm->noverlays; i++) {
		const struct nm_ov_report *o = &nm->overlays[i];
		int64_t tr = trf_transition_us(o->group);
		for (size_t k = 0; k < o->nzones; k++) {
			const struct nm_ov_zone *z = &o->zones[k];
			json_t *e = json_pack(
			    "{s:s, s:s, s:I, s:I, s:i, s:I}", "group", o->group, "zone",
			    z->zone, "packets", (json_int_t)z->packets, "bytes",
			    (json_int_t)z->bytes, "misrouted", z->misrouted,
			    "misroute_episodes", (json_int_t)z->misroute_episodes);
			if (e && tr && z->first_us && o->watch_start_us >= tr)
				json_object_set_new(
				    e, "first_traffic_seconds",
				    json_real((double)(z->first_us - tr) / 1e6));
			json_array_append_new(arr, e);
		}
	}
	return arr;
}

json_t *mx_snapshot(void)
{
	struct nm_report nm;
	struct timespec ts;
	json_t *zones = json_array();

	memset(&nm, 0, sizeof(nm));
	if (netmon_fn)
		netmon_fn(&nm, netmon_arg);
	for (size_t i = 0; i < nm.nzones; i++)
		if (nm.zones[i].name)
			json_array_append_new(zones, zone_json(&nm.zones[i]));
	if (!nm.have_host_tcp && read_snmp(&nm.host_tcp) == -1)
		memset(&nm.host_tcp, 0, sizeof(nm.host_tcp));
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Milliseconds: the Mackerel plugin computes rates from it. */
	double now = (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
	json_t *snap = json_pack(
	    "{s:s, s:f, s:i, s:o, s:o, s:o, s:{s:I, s:I}, s:o, s:o, s:{s:I, s:I, s:b}}",
	    "version", vpcf_version, "time", now, "up", ready, "process", process_json(),
	    "convergence", conv_json(), "zones", zones, "tcp", "segments_out",
	    (json_int_t)nm.host_tcp.out_segs, "retrans_segments",
	    (json_int_t)nm.host_tcp.retrans_segs, "groups", grp_metrics(), "api_requests",
	    api_json(), "netmon", "collections", (json_int_t)nm.collections,
	    "lost_events", (json_int_t)nm.lost_events, "enabled", nm.enabled);

	/* EC2's allowance counters, conntrack's fill */
	json_object_set_new(snap, "interfaces", ifaces_json(&nm));
	if (nm.packet_counter)
		json_object_set_new(json_object_get(snap, "netmon"), "packet_counter",
				    json_string(nm.packet_counter));
	if (nm.tcp_counter)
		json_object_set_new(json_object_get(snap, "netmon"), "tcp_counter",
				    json_string(nm.tcp_counter));
	if (nm.have_conntrack)
		json_object_set_new(snap, "conntrack",
				    json_pack("{s:I, s:I}", "count",
					      (json_int_t)nm.conntrack_count, "max",
					      (json_int_t)nm.conntrack_max));
	if (snap && nm.noverlays)
		json_object_set_new(snap, "overlay", overlay_json(&nm));
	json_object_set_new(snap, "probes", prb_metrics());
	return snap;
}
