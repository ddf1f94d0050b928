/* monitor.c — glue between the daemon and the netmon modules: one timer,
 * one collection per interval on a fixed grid (a late or slow collection
 * does not push the next ones back), values kept monotonic across reloads.
 *
 * Overlays (the groups' destinations, counted by source zone in the
 * nftables table): each collection notes per zone whether packets arrived,
 * when they stopped, and, on a node that is not MASTER, misrouted traffic
 * (one warning per episode). After a group becomes MASTER a watch reads the
 * counters every NM_WATCH_MS for [netmon] watch_window and records when the
 * first packets from each zone arrived. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/cidr.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/addr.h"
#include "netmon/limits.h"
#include "netmon/monitor.h"
#include "netmon/netmon.h"
#include "netmon/nft.h"
#include "netmon/nm_cfg.h"
#include "netmon/ring.h"
#include "netmon/tcp.h"
#include "netmon/zbpf.h"
#include "netmon/zone.h"

static struct nmz *zones;
static int running, have_nft, have_tcp;
/* Zones counted by eBPF (zbpf.c); the nftables table, if any, then counts
 * only the overlays. bpf_tried: [netmon] bpf was acted on (with zones). */
static int have_bpf, bpf_tried, bpf_mode;
static unsigned interval_ms;
static uint64_t timer;
static uint64_t next_due; /* ev_now() of the next collection */
static uint64_t collections;
static struct nm_zone_counters *packets; /* per zone, from the last read */
static struct nm_zone_counters *nftz;	 /* the table's zones when eBPF counts */
static struct nm_tcp_counters *tcp_base; /* per zone: carried over reloads */
static struct nm_rtt_hist *rtt_base;	 /* the same for the RTT histograms */
static unsigned watch_window_ms, misroute_packets;
static struct nmr *ring; /* the recent past, for the network around a failover */
static unsigned failover_window_ms;

/* One overlay: its state as the daemon said it, and per slot (zones, then
 * "other") what the collections and the last watch saw. */
struct ovl {
	char name[INI_NAME_MAX];
	char dest[64];
	char state[16];
	int master; /* 1 MASTER, 0 another known state, -1 unknown */
	struct cidr *dests;
	size_t ndests;
	size_t nslots;	  /* slot arrays sized for this many; 0: none yet */
	int primed;	  /* prev holds a reading */
	uint64_t prev_ms; /* when (ev_now()) */
	uint64_t *prev, *base;
	struct nm_ov_zone *z;
	uint64_t watch_timer;
	uint64_t watch_end; /* ev_now() */
	int64_t watch_start_us, watch_end_us, prev_poll_us;
	int64_t prev_begun_us; /* when the last read began: its counters are
				* no older than this */
	uint64_t polls, poll_ns, max_gap_us;
};
static struct ovl *ovls;
static size_t novls;

static int64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Where the nftables table's zone counters go: packets, unless eBPF counts
 * the zones (then the table is read for its overlays only). */
static struct nm_zone_counters *nft_out(void)
{
	return have_bpf ? nftz : packets;
}

/* The zones and what is kept per zone: nm_fini, or an nm_init that stops. */
static void zones_free(void)
{
	nmz_free(zones);
	zones = NULL;
	free(packets);
	free(nftz);
	free(tcp_base);
	free(rtt_base);
	packets = nftz = NULL;
	tcp_base = NULL;
	rtt_base = NULL;
}

/* [netmon] bpf acted on, once there are zones: eBPF where it loads (auto,
 * yes), else nftables; one line says which and why. -2 when bpf = yes and
 * eBPF does not load. */
static int bpf_start(void)
{
	char why[256];

	bpf_tried = 1;
	if (bpf_mode == NM_BPF_NO) {
		log_info("netmon: zone packets counted by nftables (table inet %s): "
			 "[netmon] bpf = no",
			 NMF_TABLE);
		return 0;
	}
	if (nmb_init(zones, why, sizeof(why)) == 0) {
		have_bpf = 1;
		log_info("netmon: zone packets counted by eBPF (%s, ingress and egress "
			 "of %zu interfaces)",
			 nmb_hook(), nmb_ifaces());
		return 0;
	}
	if (bpf_mode == NM_BPF_YES) {
		log_warnx("netmon: [netmon] bpf = yes, but eBPF cannot count the zones: "
			  "%s",
			  why);
		return -2;
	}
	log_info("netmon: zone packets counted by nftables (table inet %s): eBPF %s",
		 NMF_TABLE, why);
	return 0;
}

/* The nftables table, needed unless eBPF counts the zones and no group has
 * overlays to count. 1 when it was made. */
static int nft_apply(const struct nmz *z)
{
	nmf_zone_rules(!have_bpf);
	if (have_bpf && novls == 0) {
		if (have_nft)
			nmf_remove();
		return 0;
	}
	return nmf_apply(z) == 0;
}

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
			p[k].zone = (int)i;
		}
	nmt_set_filter(p, n);
	free(p);
}

/* Zone i's TCP counters and RTT histogram since the daemon started. */
static void zone_totals(size_t i, struct nm_tcp_counters *tcp, struct nm_rtt_hist *rtt)
{
	struct nm_tcp_counters c;

	memset(&c, 0, sizeof(c));
	if (have_tcp)
		nmt_zone(i, &c);
	tcp->segs_out = tcp_base[i].segs_out + c.segs_out;
	tcp->retrans_segs = tcp_base[i].retrans_segs + c.retrans_segs;
	tcp->bytes_sent = tcp_base[i].bytes_sent + c.bytes_sent;
	tcp->bytes_retrans = tcp_base[i].bytes_retrans + c.bytes_retrans;
	*rtt = rtt_base[i];
	if (have_tcp) {
		struct nm_rtt_hist h;
		nmt_rtt(i, &h);
		rtt_add(rtt, &h);
	}
}

/* (Re)start the ring for the zones now configured: its samples are of
 * these zones, so a reload starts it afresh. */
static void ring_reset(void)
{
	nmr_free(ring);
	ring = NULL;
	if (failover_window_ms)
		ring = nmr_new(nmr_slots_for(failover_window_ms, interval_ms),
			       nmz_count(zones));
}

/* One sample of the collection just completed into the ring: O(zones). */
static void ring_sample(void)
{
	size_t n = nmz_count(zones), ni;
	struct nmr_zone *z;
	struct nmr_host host;
	const struct nml_iface *f = nml_ifaces(&ni);

	if (ring == NULL)
		return;
	z = xcalloc(n + 1, sizeof(*z));
	for (size_t i = 0; i < n; i++) {
		struct nm_tcp_counters c;
		zone_totals(i, &c, &z[i].rtt);
		z[i].segs = c.segs_out;
		z[i].retrans = c.retrans_segs;
		z[i].bytes = packets[i].bytes_in + packets[i].bytes_out;
	}
	memset(&host, 0, sizeof(host));
	for (size_t i = 0; f && i < ni; i++)
		for (size_t k = 0; k < NML_NCOUNTERS; k++)
			if (f[i].have & (1u << k)) {
				host.allow[k] += f[i].v[k];
				host.have_allow = 1;
			}
	host.have_conntrack = nml_conntrack(&host.ct_count, &host.ct_max) == 0;
	nmr_push(ring, real_us(), z, &host);
	free(z);
}

static void on_tcp_done(int rc, void *arg)
{
	if (rc == -1)
		log_warnx("netmon: TCP collection failed");
	if (running)
		ring_sample();
}

/* The counters of slot k of overlay i as the table's last read left them;
 * NULL when the table does not count overlays. */
static const struct nm_ov_counters *ov_now(size_t i, size_t k)
{
	size_t n;
	const struct nm_ov_counters *c = nmf_overlays(&n);

	if (!have_nft || c == NULL || i >= n || k > nmz_count(zones))
		return NULL;
	return &c[i * (nmz_count(zones) + 1) + k];
}

static const char *slot_name(size_t k)
{
	return k < nmz_count(zones) ? nmz_name(zones, k) : "other";
}

/* Per overlay and slot: did packets arrive since the last collection; a
 * node that is not MASTER receiving more than misroute_packets is told
 * once per episode. */
static void ov_collect(void)
{
	int64_t now = real_us();

	for (size_t i = 0; i < novls; i++) {
		struct ovl *o = &ovls[i];
		/* A collection right after a late one (the grid catching up) has
		 * seen too little time to say that traffic stopped: wait for the
		 * next. */
		if (o->primed && ev_now() - o->prev_ms < interval_ms / 2)
			continue;
		o->prev_ms = ev_now();
		for (size_t k = 0; k < o->nslots; k++) {
			const struct nm_ov_counters *c = ov_now(i, k);
			struct nm_ov_zone *z = &o->z[k];
			uint64_t d;

			if (c == NULL)
				break;
			d = o->primed && c->packets >= o->prev[k]
				? c->packets - o->prev[k]
				: 0;
			o->prev[k] = c->packets;
			if (!o->primed)
				continue;
			if (d > 0) {
				z->receiving = 1;
				z->last_us = now;
				z->stopped_us = 0;
			} else if (z->receiving) {
				z->receiving = 0;
				z->stopped_us = now;
				log_info(
				    "netmon: traffic for %s (group %s) from %s stopped "
				    "arriving here (%s)",
				    o->dest, o->name, slot_name(k),
				    o->state[0] ? o->state : "state unknown");
			}
			if (o->master == 0 && d > misroute_packets) {
				if (!z->misrouted) {
					z->misrouted = 1;
					z->misroute_episodes++;
					z->misroute_us = now;
					log_warnx("netmon: MISROUTED: %s receives "
						  "traffic for %s "
						  "from %s (%" PRIu64
						  " packets in %u s) but "
						  "group %s is not MASTER here: a route "
						  "table or "
						  "a client still sends to this node",
						  o->state, o->dest, slot_name(k), d,
						  interval_ms / 1000, o->name);
				}
				z->quiet = 0;
			} else if (z->misrouted && (o->master != 0 || ++z->quiet >= 2)) {
				/* Two quiet intervals end an episode: one short
				 * gap in the traffic does not make two. */
				z->misrouted = 0;
				log_info(
				    "netmon: misrouted traffic for %s (group %s) from %s "
				    "ended%s",
				    o->dest, o->name, slot_name(k),
				    o->master == 1 ? ": this node is MASTER now" : "");
			}
		}
		o->primed = o->nslots > 0 && ov_now(i, 0) != NULL;
	}
}

/* (Re)size every overlay's slots for the zones now configured; values of
 * slots start again (a reload). */
static void ov_alloc(void)
{
	size_t nz = zones ? nmz_count(zones) : 0, ns = nz ? nz + 1 : 0;

	for (size_t i = 0; i < novls; i++) {
		struct ovl *o = &ovls[i];
		if (o->watch_timer)
			ev_timer_cancel(o->watch_timer);
		o->watch_timer = 0;
		free(o->prev);
		free(o->base);
		free(o->z);
		o->nslots = ns;
		o->prev = xcalloc(ns + 1, sizeof(*o->prev));
		o->base = xcalloc(ns + 1, sizeof(*o->base));
		o->z = xcalloc(ns + 1, sizeof(*o->z));
		o->primed = 0;
	}
}

static void ov_free(void)
{
	for (size_t i = 0; i < novls; i++) {
		if (ovls[i].watch_timer)
			ev_timer_cancel(ovls[i].watch_timer);
		free(ovls[i].dests);
		free(ovls[i].prev);
		free(ovls[i].base);
		free(ovls[i].z);
	}
	free(ovls);
	ovls = NULL;
	novls = 0;
}

void nm_set_overlays(const struct nm_overlay *ov, size_t n)
{
	struct ovl *fresh;
	struct nm_overlay *list;

	if (n == 0) {
		ov_free();
		nmf_set_overlays(NULL, 0);
		return;
	}
	fresh = xcalloc(n + 1, sizeof(*fresh));
	list = xcalloc(n + 1, sizeof(*list));

	for (size_t i = 0; i < n; i++) {
		struct ovl *o = &fresh[i];
		strlcpy_chk(o->name, ov[i].name, sizeof(o->name));
		o->master = -1;
		for (size_t j = 0; j < novls; j++)
			if (strcmp(ovls[j].name, o->name) == 0) {
				memcpy(o->state, ovls[j].state, sizeof(o->state));
				o->master = ovls[j].master;
			}
		o->ndests = ov[i].ndests;
		o->dests = xcalloc(o->ndests + 1, sizeof(*o->dests));
		memcpy(o->dests, ov[i].dests, o->ndests * sizeof(*o->dests));
		if (o->ndests)
			strlcpy_chk(o->dest, o->dests[0].text, sizeof(o->dest));
		/* A host route reads as its address: "198.19.255.10". */
		char *sl = strchr(o->dest, '/');
		if (sl && ((o->dests[0].family == AF_INET && o->dests[0].plen == 32) ||
			   (o->dests[0].family != AF_INET && o->dests[0].plen == 128)))
			*sl = '\0';
		list[i] = (struct nm_overlay){o->name, o->dests, o->ndests};
	}
	ov_free();
	ovls = fresh;
	novls = n;
	nmf_set_overlays(list, n);
	free(list);
	if (running)
		ov_alloc();
}

void nm_overlay_state(const char *group, const char *state, int master)
{
	for (size_t i = 0; i < novls; i++)
		if (strcmp(ovls[i].name, group) == 0) {
			strlcpy_chk(ovls[i].state, state, sizeof(ovls[i].state));
			ovls[i].master = master;
		}
}

static void watch_end(struct ovl *o, const char *why)
{
	char line[1024];
	size_t len = 0;

	if (o->watch_timer)
		ev_timer_cancel(o->watch_timer);
	o->watch_timer = 0;
	o->watch_end_us = real_us();
	for (size_t k = 0; k < o->nslots; k++) {
		const struct nm_ov_zone *z = &o->z[k];
		int w;
		if (z->first_us)
			w = snprintf(line + len, sizeof(line) - len,
				     "%s%s +%" PRId64 " ms", len ? ", " : "",
				     slot_name(k),
				     (z->first_us - o->watch_start_us) / 1000);
		else
			w = snprintf(line + len, sizeof(line) - len, "%s%s none",
				     len ? ", " : "", slot_name(k));
		if (w < 0 || (size_t)w >= sizeof(line) - len)
			break;
		len += (size_t)w;
	}
	log_info(
	    "netmon: group %s: first traffic for %s after the watch began (%s; %" PRIu64
	    " reads, %" PRIu64 " us of CPU, longest gap %" PRIu64 " us): %s",
	    o->name, o->dest, why, o->polls, o->poll_ns / 1000, o->max_gap_us,
	    len ? line : "no zones");
}

static void on_watch(void *arg)
{
	struct ovl *o = arg;
	uint64_t t0 = thread_ns();
	int64_t now;
	size_t left = 0, i = (size_t)(o - ovls);

	o->watch_timer = 0;
	/* A packet a read counts arrived before the read ended; one it does
	 * not count arrived after it began. So the first packets arrived
	 * between the previous read's beginning and this read's end (a read
	 * the scheduler stretches stretches the bracket, never breaks it). */
	int64_t begun = real_us();
	if (nmf_read(zones, nft_out()) == -1) {
		watch_end(o, "the counters became unreadable");
		return;
	}
	now = real_us();
	for (size_t k = 0; k < o->nslots; k++) {
		const struct nm_ov_counters *c = ov_now(i, k);
		if (c && o->z[k].first_us == 0 && c->packets > o->base[k]) {
			o->z[k].first_us = now;
			o->z[k].first_prev_us = o->prev_begun_us;
		}
		left += o->z[k].first_us == 0;
	}
	o->prev_begun_us = begun;
	if ((uint64_t)(now - o->prev_poll_us) > o->max_gap_us)
		o->max_gap_us = (uint64_t)(now - o->prev_poll_us);
	o->prev_poll_us = now;
	o->polls++;
	o->poll_ns += thread_ns() - t0;
	if (left == 0)
		watch_end(o, "every zone seen");
	else if (ev_now() >= o->watch_end)
		watch_end(o, "window over");
	else
		o->watch_timer = ev_timer_add(NM_WATCH_MS, on_watch, o);
}

int nm_watch_start(const char *group)
{
	for (size_t i = 0; i < novls; i++) {
		struct ovl *o = &ovls[i];
		uint64_t t0 = thread_ns();

		if (strcmp(o->name, group) != 0)
			continue;
		if (!running || !have_nft || o->nslots == 0 || watch_window_ms == 0)
			return -1;
		if (o->watch_timer)
			ev_timer_cancel(o->watch_timer);
		o->prev_begun_us = real_us();
		if (nmf_read(zones, nft_out()) == -1)
			return -1;
		o->watch_start_us = o->prev_poll_us = real_us();
		o->watch_end_us = 0;
		o->polls = 1;
		o->max_gap_us = 0;
		for (size_t k = 0; k < o->nslots; k++) {
			const struct nm_ov_counters *c = ov_now(i, k);
			o->base[k] = c ? c->packets : 0;
			o->z[k].first_us = o->z[k].first_prev_us = 0;
		}
		o->watch_end = ev_now() + watch_window_ms;
		o->watch_timer = ev_timer_add(NM_WATCH_MS, on_watch, o);
		o->poll_ns = thread_ns() - t0;
		return 0;
	}
	return -1;
}

/* sync: the TCP part done before returning (a reload needs the values);
 * otherwise it runs on the loop beside everything else, so that a failover
 * never waits for a dump of many sockets. */
static void collect(int sync)
{
	size_t n = nmz_count(zones);
	int rc;

	if (have_bpf && nmb_read(zones, packets) == -1)
		log_warnx("netmon: eBPF zone counters unreadable");
	if (have_nft && n && nmf_read(zones, nft_out()) == -1) {
		/* Flushed by someone (a firewall reload): rebuild from the last
		 * values read, so the counters never go backwards. */
		log_warnx("netmon: zone counters unreadable; re-creating table %s",
			  NMF_TABLE);
		if (nmf_apply(zones) == 0)
			nmf_read(zones, nft_out());
	}
	/* An address added or removed changes which sockets are loopback. */
	if (have_tcp && nma_refresh() == 1)
		nmt_rezone();
	if (have_nft && n)
		ov_collect();
	if (have_tcp && sync && nmt_collect() == -1)
		log_warnx("netmon: TCP collection failed");
	nml_collect(); /* EC2's allowance counters, conntrack's fill */
	if (have_tcp && !sync && (rc = nmt_collect_start(on_tcp_done, NULL)) != 0)
		log_warnx("netmon: TCP collection %s",
			  rc == 1 ? "skipped: the previous one is still running"
				  : "failed");
	/* Without TCP accounting the sample is complete now; with it, it is
	 * taken when the TCP part is done (on_tcp_done). */
	if (!have_tcp && !sync)
		ring_sample();
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
	nftz = xcalloc(n + 1, sizeof(*nftz));
	tcp_base = xcalloc(n + 1, sizeof(*tcp_base));
	rtt_base = xcalloc(n + 1, sizeof(*rtt_base));
	interval_ms = nm->interval_ms;
	watch_window_ms = nm->watch_window_ms;
	failover_window_ms = nm->failover_window_ms;
	misroute_packets = nm->misroute_packets ? nm->misroute_packets : 1;
	bpf_mode = nm->bpf;
	if (n) {
		if (bpf_start() == -2) {
			zones_free();
			return -2;
		}
		have_nft = nft_apply(zones);
		if (!have_nft && !have_bpf)
			log_warnx(
			    "netmon: no zone packet counters (nftables table %s could "
			    "not be created; see above)",
			    NMF_TABLE);
	}
	set_filter(nm);
	nma_refresh();
	nmt_set_bpf(nm->bpf);
	nmt_set_tcp_count(nm->tcp_count);
	have_tcp = nmt_init(n, zone_of, zones) == 0;
	if (!have_tcp)
		log_warnx("netmon: no TCP retransmission accounting (see above)");
	running = 1;
	nml_collect();
	ov_alloc();
	ring_reset();
	next_due = ev_now();
	arm();
	log_info("netmon: %zu zones, collecting every %u s", n, interval_ms / 1000);
	if (!have_tcp && nm->bpf == NM_BPF_YES)
		return -2; /* bpf = yes without it: the daemon refuses to start */
	return have_bpf || have_nft || have_tcp || n == 0 ? 0 : -1;
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
	if (nm->bpf != bpf_mode)
		log_info("netmon: [netmon] bpf changed; it is read at start: a restart "
			 "applies it");
	collect(1); /* the latest values of the zones that go away */
	struct nmz *fresh = nmz_build(nm);
	size_t n = nmz_count(fresh);
	struct nm_zone_counters *np = xcalloc(n + 1, sizeof(*np));
	struct nm_zone_counters *nz = xcalloc(n + 1, sizeof(*nz));
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
	/* eBPF keeps the counts of the zones that stay in the kernel; should
	 * the new zones not fit its maps, nftables counts from the values
	 * read last (np). */
	if (have_bpf && nmb_apply(fresh) != 0) {
		log_warnx("netmon: eBPF cannot count the new zones; nftables counts "
			  "them from now on");
		nmb_fini();
		have_bpf = 0;
	}
	if (n && !bpf_tried && bpf_mode != NM_BPF_NO) {
		struct nmz *old = zones;
		zones = fresh; /* bpf_start counts these */
		bpf_start();
		zones = old;
	}
	if (n) {
		have_nft = nft_apply(fresh);
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
	free(nftz);
	free(tcp_base);
	free(rtt_base);
	zones = fresh;
	packets = np;
	nftz = nz;
	tcp_base = nb;
	rtt_base = nr;
	watch_window_ms = nm->watch_window_ms;
	failover_window_ms = nm->failover_window_ms;
	misroute_packets = nm->misroute_packets ? nm->misroute_packets : 1;
	ov_alloc();
	if (interval_ms != nm->interval_ms) {
		interval_ms = nm->interval_ms;
		if (timer)
			ev_timer_cancel(timer);
		next_due = ev_now();
		arm();
	}
	ring_reset();
	log_info("netmon: reloaded, %zu zones", n);
}

void nm_fini(void)
{
	if (timer)
		ev_timer_cancel(timer);
	timer = 0;
	if (have_nft)
		nmf_remove();
	if (have_bpf)
		nmb_fini();
	if (have_tcp)
		nmt_fini();
	have_nft = have_tcp = have_bpf = bpf_tried = running = 0;
	for (size_t i = 0; i < novls; i++) {
		if (ovls[i].watch_timer)
			ev_timer_cancel(ovls[i].watch_timer);
		ovls[i].watch_timer = 0;
		ovls[i].nslots = 0;
	}
	zones_free();
	nma_fini();
	nml_fini();
	nmr_free(ring);
	ring = NULL;
}

const char *nm_packet_counter(void)
{
	if (!running)
		return NULL;
	if (zones == NULL || nmz_count(zones) == 0)
		return "none";
	return have_bpf ? "ebpf" : have_nft ? "nftables" : "none";
}

const char *nm_tcp_counter(void)
{
	if (!running)
		return NULL;
	return !have_tcp ? "none" : nmt_bpf_active() ? "ebpf" : "sock_diag";
}

void nm_metrics(struct nm_report *out, void *arg)
{
	static struct nm_zone_report *mz;
	static struct nm_ov_report *mo;
	size_t n = running ? nmz_count(zones) : 0;

	free(mz);
	free(mo);
	mo = xcalloc(novls + 1, sizeof(*mo));
	for (size_t i = 0; i < novls; i++) {
		struct ovl *o = &ovls[i];
		for (size_t k = 0; k < o->nslots; k++) {
			const struct nm_ov_counters *c = ov_now(i, k);
			o->z[k].zone = slot_name(k);
			o->z[k].packets = c ? c->packets : 0;
			o->z[k].bytes = c ? c->bytes : 0;
		}
		mo[i] = (struct nm_ov_report){
		    .group = o->name,
		    .dest = o->dest,
		    .state = o->state,
		    .watching = o->watch_timer != 0,
		    .watch_start_us = o->watch_start_us,
		    .watch_end_us = o->watch_end_us,
		    .window_ms = watch_window_ms,
		    .polls = o->polls,
		    .poll_ns = o->poll_ns,
		    .poll_max_gap_us = o->max_gap_us,
		    .zones = o->z,
		    .nzones = running && have_nft ? o->nslots : 0,
		};
	}
	out->overlays = mo;
	out->noverlays = novls;
	mz = xcalloc(n + 1, sizeof(*mz));
	for (size_t i = 0; i < n; i++) {
		mz[i].name = nmz_name(zones, i);
		mz[i].nft = packets[i];
		zone_totals(i, &mz[i].tcp, &mz[i].rtt);
		mz[i].tcp_retrans_ratio = have_tcp ? nmt_ratio(i) : 0.0;
	}
	out->enabled = running;
	out->packet_counter = nm_packet_counter();
	out->tcp_counter = nm_tcp_counter();
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

int nm_net_window(int64_t from_us, int64_t to_us, struct nmr_delta *out)
{
	if (!running || nmr_delta(ring, from_us, to_us, out) == -1)
		return -1;
	for (size_t k = 0; k < out->nzones; k++)
		strlcpy_chk(out->z[k].zone, nmz_name(zones, k), sizeof(out->z[k].zone));
	return 0;
}

unsigned nm_net_window_ms(void)
{
	return running ? failover_window_ms : 0;
}
