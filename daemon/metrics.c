/* metrics.c — builds the metrics snapshot (netmon/netmon.h) from the
 * groups, the EC2 client's answer counts and the network monitor's hook.
 *
 * Host-wide TCP comes from the monitor when it reports it, else from
 * /proc/net/snmp read here: the counters are cheap to read and useful even
 * without zones. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/group.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "netmon/tcp.h"
#include "daemon/util.h"
#include "daemon/version.h"
#include "vpc/ec2.h"

static mx_netmon_fn netmon_fn;
static void *netmon_arg;
static int snmp_warned;

void mx_set_netmon(mx_netmon_fn fn, void *arg)
{
	netmon_fn = fn;
	netmon_arg = arg;
}

static int read_snmp(struct nm_host_tcp *out)
{
	char *text = xmalloc(MX_SNMP_MAX + 1);
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(MX_SNMP_PATH, O_RDONLY | O_CLOEXEC)) == -1) {
		if (!snmp_warned++)
			log_warn("metrics: %s", MX_SNMP_PATH);
		goto out;
	}
	while (len < MX_SNMP_MAX && (n = read(fd, text + len, MX_SNMP_MAX - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			if (!snmp_warned++)
				log_warn("metrics: read %s", MX_SNMP_PATH);
			goto out;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	if (len == MX_SNMP_MAX || nmt_parse_snmp(text, len, out) == -1) {
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

static json_t *zone_json(const struct mx_zone *z)
{
	return json_pack(
	    "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "zone", z->name, "packets_in",
	    (json_int_t)z->nft.packets_in, "bytes_in", (json_int_t)z->nft.bytes_in,
	    "packets_out", (json_int_t)z->nft.packets_out, "bytes_out",
	    (json_int_t)z->nft.bytes_out, "tcp_segments_out", (json_int_t)z->tcp.segs_out,
	    "tcp_retrans_segments", (json_int_t)z->tcp.retrans_segs, "tcp_retrans_ratio",
	    z->tcp_retrans_ratio);
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

json_t *mx_snapshot(void)
{
	struct mx_netmon nm;
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
	return json_pack(
	    "{s:s, s:f, s:i, s:o, s:{s:I, s:I}, s:o, s:o, s:{s:I, s:I, s:b}}", "version",
	    vpcf_version, "time", now, "up", 1, "zones", zones, "tcp", "segments_out",
	    (json_int_t)nm.host_tcp.out_segs, "retrans_segments",
	    (json_int_t)nm.host_tcp.retrans_segs, "groups", grp_metrics(), "api_requests",
	    api_json(), "netmon", "collections", (json_int_t)nm.collections,
	    "lost_events", (json_int_t)nm.lost_events, "enabled", nm.enabled);
}
