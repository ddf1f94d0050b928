/* monitor.c — glue between the daemon and the netmon modules: one timer,
 * one collection per interval on a fixed grid (a late or slow collection
 * does not push the next ones back), values kept monotonic across reloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/addr.h"
#include "netmon/limits.h"
#include "netmon/monitor.h"
#include "netmon/netmon.h"
#include "netmon/nft.h"
#include "netmon/tcp.h"
#include "netmon/zone.h"

static struct nmz *zones;
static int running, have_nft, have_tcp;
static unsigned interval_ms;
static uint64_t timer;
static uint64_t next_due; /* ev_now() of the next collection */
static uint64_t collections;
static struct nm_zone_counters *packets; /* per zone, from the last read */
static struct nm_tcp_counters *tcp_base; /* per zone: carried over reloads */
static struct nm_rtt_hist *rtt_base;	 /* the same for the RTT histograms */

/* A socket to one of this host's own addresses talks over loopback: in no
 * zone, as the nftables counters skip loopback. */
static int zone_of(void *ctx, int family, const void *daddr)
{
	if (nma_is_local(family, daddr))
		return -1;
	return nmz_lookup(ctx, family, daddr);
}

static void rtt_add(struct nm_rtt_hist *to, const struct nm_rtt_hist *h)
{
	for (size_t b = 0; b <= NM_RTT_NBUCKETS; b++)
		to->count[b] += h->count[b];
	to->sum_us += h->sum_us;
}

/* Only sockets towards a zone are worth their tcp_info: the kernel filters
 * the dumps by the zones' prefixes. */
static void set_filter(const struct nm_cfg *nm)
{
	size_t n = 0, k = 0;
	struct nmt_prefix *p;

	for (size_t i = 0; i < nm->nzones; i++)
		n += nm->zones[i].ncidrs;
	p = xcalloc(n + 1, sizeof(*p));
	for (size_t i = 0; i < nm->nzones; i++)
		for (size_t j = 0; j < nm->zones[i].ncidrs; j++, k++) {
			p[k].family = nm->zones[i].cidrs[j].family;
			memcpy(p[k].addr, nm->zones[i].cidrs[j].addr, sizeof(p[k].addr));
			p[k].plen = nm->zones[i].cidrs[j].plen;
		}
	nmt_set_filter(p, n);
	free(p);
}

static void on_tcp_done(int rc, void *arg)
{
	if (rc == -1)
		log_warnx("netmon: TCP collection failed");
}

/* sync: the TCP part done before returning (a reload needs the values);
 * otherwise it runs on the loop beside everything else, so that a failover
 * never waits for a dump of many sockets. */
static void collect(int sync)
{
	size_t n = nmz_count(zones);
	int rc;

	if (have_nft && n && nmf_read(zones, packets) == -1) {
		/* Flushed by someone (a firewall reload): rebuild from the last
		 * values read, so the counters never go backwards. */
		log_warnx("netmon: zone counters unreadable; re-creating table %s",
			  NMF_TABLE);
		if (nmf_apply(zones) == 0)
			nmf_read(zones, packets);
	}
	/* An address added or removed changes which sockets are loopback. */
	if (have_tcp && nma_refresh() == 1)
		nmt_rezone();
	if (have_tcp && sync && nmt_collect() == -1)
		log_warnx("netmon: TCP collection failed");
	nml_collect(); /* EC2's allowance counters, conntrack's fill */
	if (have_tcp && !sync && (rc = nmt_collect_start(on_tcp_done, NULL)) != 0)
		log_warnx("netmon: TCP collection %s",
			  rc == 1 ? "skipped: the previous one is still running"
				  : "failed");
	collections++;
}

static void on_timer(void *arg);

/* The next point of the grid next_due + k * interval that is still ahead:
 * ticks missed by a stopped or starved process are skipped, not burst. */
static void arm(void)
{
	uint64_t now = ev_now();

	next_due += interval_ms;
	if (next_due <= now)
		next_due += ((now - next_due) / interval_ms + 1) * interval_ms;
	timer = ev_timer_add(next_due - now, on_timer, NULL);
}

static void on_timer(void *arg)
{
	timer = 0;
	collect(0);
	arm();
}

int nm_init(const struct nm_cfg *nm)
{
	size_t n;

	if (!nm->enabled)
		return 0;
	zones = nmz_build(nm);
	n = nmz_count(zones);
	packets = xcalloc(n + 1, sizeof(*packets));
	tcp_base = xcalloc(n + 1, sizeof(*tcp_base));
	rtt_base = xcalloc(n + 1, sizeof(*rtt_base));
	interval_ms = nm->interval_ms;
	if (n) {
		have_nft = nmf_apply(zones) == 0;
		if (!have_nft)
			log_warnx(
			    "netmon: no zone packet counters (nftables table %s could "
			    "not be created; see above)",
			    NMF_TABLE);
	}
	set_filter(nm);
	nma_refresh();
	have_tcp = nmt_init(n, zone_of, zones) == 0;
	if (!have_tcp)
		log_warnx("netmon: no TCP retransmission accounting (see above)");
	running = 1;
	nml_collect();
	next_due = ev_now();
	arm();
	log_info("netmon: %zu zones, collecting every %u s", n, interval_ms / 1000);
	return have_nft || have_tcp || n == 0 ? 0 : -1;
}

void nm_reload(const struct nm_cfg *nm)
{
	if (!running) {
		nm_init(nm);
		return;
	}
	if (!nm->enabled) {
		nm_fini();
		return;
	}
	collect(1); /* the latest values of the zones that go away */
	struct nmz *fresh = nmz_build(nm);
	size_t n = nmz_count(fresh);
	struct nm_zone_counters *np = xcalloc(n + 1, sizeof(*np));
	struct nm_tcp_counters *nb = xcalloc(n + 1, sizeof(*nb));
	struct nm_rtt_hist *nr = xcalloc(n + 1, sizeof(*nr));
	for (size_t i = 0; i < n; i++) {
		int old = nmz_find(zones, nmz_name(fresh, i));
		if (old < 0)
			continue;
		struct nm_tcp_counters c;
		struct nm_rtt_hist h;
		np[i] = packets[old];
		nmt_zone((size_t)old, &c);
		nmt_rtt((size_t)old, &h);
		nr[i] = rtt_base[old];
		rtt_add(&nr[i], &h);
		nb[i].segs_out = tcp_base[old].segs_out + c.segs_out;
		nb[i].retrans_segs = tcp_base[old].retrans_segs + c.retrans_segs;
		nb[i].bytes_sent = tcp_base[old].bytes_sent + c.bytes_sent;
		nb[i].bytes_retrans = tcp_base[old].bytes_retrans + c.bytes_retrans;
	}
	if (n) {
		have_nft = nmf_apply(fresh) == 0;
	} else if (have_nft) {
		nmf_remove();
		have_nft = 0;
	}
	if (have_tcp) {
		set_filter(nm);
		nmt_reload(n, zone_of, fresh);
	}
	nmz_free(zones);
	free(packets);
	free(tcp_base);
	free(rtt_base);
	zones = fresh;
	packets = np;
	tcp_base = nb;
	rtt_base = nr;
	if (interval_ms != nm->interval_ms) {
		interval_ms = nm->interval_ms;
		if (timer)
			ev_timer_cancel(timer);
		next_due = ev_now();
		arm();
	}
	log_info("netmon: reloaded, %zu zones", n);
}

void nm_fini(void)
{
	if (timer)
		ev_timer_cancel(timer);
	timer = 0;
	if (have_nft)
		nmf_remove();
	if (have_tcp)
		nmt_fini();
	have_nft = have_tcp = running = 0;
	nmz_free(zones);
	zones = NULL;
	free(packets);
	free(tcp_base);
	free(rtt_base);
	packets = NULL;
	tcp_base = NULL;
	rtt_base = NULL;
	nma_fini();
	nml_fini();
}

void nm_metrics(struct nm_report *out, void *arg)
{
	static struct nm_zone_report *mz;
	size_t n = running ? nmz_count(zones) : 0;

	free(mz);
	mz = xcalloc(n + 1, sizeof(*mz));
	for (size_t i = 0; i < n; i++) {
		struct nm_tcp_counters c;
		memset(&c, 0, sizeof(c));
		if (have_tcp)
			nmt_zone(i, &c);
		mz[i].name = nmz_name(zones, i);
		mz[i].nft = packets[i];
		mz[i].tcp.segs_out = tcp_base[i].segs_out + c.segs_out;
		mz[i].tcp.retrans_segs = tcp_base[i].retrans_segs + c.retrans_segs;
		mz[i].tcp.bytes_sent = tcp_base[i].bytes_sent + c.bytes_sent;
		mz[i].tcp.bytes_retrans = tcp_base[i].bytes_retrans + c.bytes_retrans;
		mz[i].tcp_retrans_ratio = have_tcp ? nmt_ratio(i) : 0.0;
		mz[i].rtt = rtt_base[i];
		if (have_tcp) {
			struct nm_rtt_hist h;
			nmt_rtt(i, &h);
			rtt_add(&mz[i].rtt, &h);
		}
	}
	out->enabled = running;
	out->collections = collections;
	out->lost_events = have_tcp ? nmt_lost_events() : 0;
	out->zones = mz;
	out->nzones = n;
	if (have_tcp) {
		out->have_host_tcp = 1;
		nmt_host(&out->host_tcp);
	}
	if (running) {
		out->ifaces = nml_ifaces(&out->nifaces);
		out->have_conntrack =
		    nml_conntrack(&out->conntrack_count, &out->conntrack_max) == 0;
	}
}
