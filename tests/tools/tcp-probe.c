/* tcp-probe — runs netmon/tcp on the event loop, for integration tests.
 *
 *   tcp-probe [-b RCVBUF] [-m auto|yes|no] ZONE_CIDR [ZONE_CIDR...] -- SECONDS
 *             INTERVAL
 *
 * Zone i is the i-th CIDR (longest prefix wins). Collects every INTERVAL
 * seconds and after SECONDS, or at once on SIGTERM/SIGINT, then prints the
 * totals and exits: 0 if every collection succeeded. -b sets the destroy
 * event socket's receive buffer (small values provoke ENOBUFS); -m is
 * [netmon] bpf (eBPF or sock_diag, default auto). With eBPF the zone
 * counters (netmon/zbpf.c) are loaded first, as the daemon does, zones z1,
 * z2, ... of the CIDRs: TCP counts where sent after them. SIGUSR1 reloads
 * with the zones in reverse order (prints "reloaded"); SIGUSR2 stops the
 * zone counters (prints "zone counters stopped"), as a daemon's reload
 * they cannot follow. Lines:
 *   start host out_segs=N retrans_segs=N
 *   interval n=K zone=Z segs_out=N retrans_segs=N bytes_sent=N bytes_retrans=N ratio=R
 *   end zone=Z segs_out=N retrans_segs=N bytes_sent=N bytes_retrans=N ratio=R
 *   end packets zone=Z in_pkts=N out_pkts=N   (the eBPF zone counters')
 *   end host out_segs=N retrans_segs=N d_out_segs=N d_retrans_segs=N ...
 *   end stats collections=N dumps=N ... quiet=N   (always the last line)
 * TCP_PROBE_DEBUG set in the environment: debug messages too (libbpf's,
 * such as why a program did not load).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/tcp.h"
#include "netmon/zbpf.h"
#include "netmon/zone.h"

static struct cidr *zones;
static size_t nzones;
static uint64_t interval_ms, seconds_ms, started;
static uint64_t ncollect;
static int failed, sfd = -1, finished;
static struct nm_host_tcp host0;
static int bpf_mode = NM_BPF_AUTO, have_zb;
static struct nmz *zb_zones; /* the zone counters' zones */

static int prefix_match(const unsigned char *a, const unsigned char *net, int plen)
{
	int bytes = plen / 8, bits = plen % 8;

	if (memcmp(a, net, (size_t)bytes) != 0)
		return 0;
	if (bits == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - bits));
	return (a[bytes] & mask) == (net[bytes] & mask);
}

static int lookup(void *ctx, int family, const void *daddr)
{
	int best = -1;

	for (size_t i = 0; i < nzones; i++) {
		if (zones[i].family != family ||
		    !prefix_match(daddr, zones[i].addr, zones[i].plen))
			continue;
		if (best == -1 || zones[i].plen > zones[best].plen)
			best = (int)i;
	}
	return best;
}

static void print_zone(const char *what, size_t z)
{
	struct nm_tcp_counters c;

	nmt_zone(z, &c);
	printf("%s zone=%zu segs_out=%llu retrans_segs=%llu bytes_sent=%llu "
	       "bytes_retrans=%llu ratio=%.6f\n",
	       what, z, (unsigned long long)c.segs_out,
	       (unsigned long long)c.retrans_segs, (unsigned long long)c.bytes_sent,
	       (unsigned long long)c.bytes_retrans, nmt_ratio(z));
}

static void collect(void)
{
	char what[64];

	if (nmt_collect() == -1)
		failed = 1;
	ncollect++;
	snprintf(what, sizeof(what), "interval n=%llu", (unsigned long long)ncollect);
	for (size_t z = 0; z < nzones; z++)
		print_zone(what, z);
	fflush(stdout);
}

static void finish(void)
{
	struct nm_host_tcp h;
	struct nmt_tcpext x;
	struct nmt_stats st;

	if (finished)
		return;
	finished = 1;
	collect();
	for (size_t z = 0; z < nzones; z++)
		print_zone("end", z);
	if (have_zb) {
		struct nm_zone_counters *v = xcalloc(nzones + 1, sizeof(*v));
		int rc = nmb_read(zb_zones, v);
		for (size_t z = 0; rc == 0 && z < nzones; z++)
			printf("end packets zone=%zu in_pkts=%llu out_pkts=%llu\n", z,
			       (unsigned long long)v[z].packets_in,
			       (unsigned long long)v[z].packets_out);
		free(v);
	}
	nmt_host(&h);
	nmt_host_ext(&x);
	printf("end host out_segs=%llu retrans_segs=%llu d_out_segs=%llu "
	       "d_retrans_segs=%llu timeouts=%llu lost_retransmit=%llu "
	       "fast_retrans=%llu loss_probes=%llu\n",
	       (unsigned long long)h.out_segs, (unsigned long long)h.retrans_segs,
	       (unsigned long long)(h.out_segs - host0.out_segs),
	       (unsigned long long)(h.retrans_segs - host0.retrans_segs),
	       (unsigned long long)x.timeouts, (unsigned long long)x.lost_retransmit,
	       (unsigned long long)x.fast_retrans, (unsigned long long)x.loss_probes);
	nmt_stats(&st);
	printf("end stats collections=%llu dumps=%llu redumps=%llu destroy_events=%llu "
	       "destroyed_unseen=%llu lost_events=%llu sockets=%zu bad_messages=%llu "
	       "untracked=%llu quiet=%llu\n",
	       (unsigned long long)st.collections, (unsigned long long)st.dumps,
	       (unsigned long long)st.redumps, (unsigned long long)st.destroy_events,
	       (unsigned long long)st.destroyed_unseen,
	       (unsigned long long)nmt_lost_events(), st.sockets,
	       (unsigned long long)st.bad_messages, (unsigned long long)st.untracked,
	       (unsigned long long)st.quiet);
	fflush(stdout);
	ev_stop();
}

static void on_tick(void *arg)
{
	uint64_t now = ev_now();

	if (now - started >= seconds_ms) {
		finish();
		return;
	}
	collect();
	uint64_t left = seconds_ms - (ev_now() - started);
	ev_timer_add(left < interval_ms ? left : interval_ms, on_tick, NULL);
}

/* The zones as a filter, as the daemon sets it: the kernel lists only
 * sockets towards a zone (and the eBPF path looks zones up by it). */
static void set_filter(void)
{
	struct nmt_prefix *pf = xcalloc(nzones, sizeof(*pf));

	for (size_t z = 0; z < nzones; z++) {
		pf[z].family = zones[z].family;
		memcpy(pf[z].addr, zones[z].addr, sizeof(pf[z].addr));
		pf[z].plen = zones[z].plen;
		pf[z].zone = (int)z;
	}
	nmt_set_filter(pf, nzones);
	free(pf);
}

/* SIGUSR1: a reload with the zones in reverse order, as a daemon whose
 * config now lists them so: counters restart at 0, open sockets count in
 * their new zone index from then on. */
static void reload(void)
{
	for (size_t i = 0; i < nzones / 2; i++) {
		struct cidr t = zones[i];
		zones[i] = zones[nzones - 1 - i];
		zones[nzones - 1 - i] = t;
	}
	set_filter();
	if (nmt_reload(nzones, lookup, NULL) == -1)
		failed = 1;
	printf("reloaded\n");
	fflush(stdout);
}

static void on_signal(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			reload();
		} else if (si.ssi_signo == SIGUSR2) {
			if (have_zb)
				nmb_fini();
			have_zb = 0;
			printf("zone counters stopped\n");
			fflush(stdout);
		} else
			finish();
	}
}

static int signals_init(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd == -1)
		return -1;
	return ev_fd_set(sfd, EPOLLIN, on_signal, NULL);
}

static int parse_secs(const char *s, uint64_t *ms)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(d > 0) || d > 86400)
		return -1;
	*ms = (uint64_t)(d * 1000);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

/* The eBPF zone counters of z1, z2, ... (the CIDRs in order), when bpf
 * allows: what the daemon loads before the TCP counting. */
static void zone_counters(void)
{
	struct nm_cfg nm = {.nzones = nzones};
	struct nmz *z;
	char why[256];

	if (bpf_mode == NM_BPF_NO)
		return;
	nm.zones = xcalloc(nzones, sizeof(*nm.zones));
	for (size_t i = 0; i < nzones; i++) {
		snprintf(nm.zones[i].name, sizeof(nm.zones[i].name), "z%zu", i + 1);
		nm.zones[i].cidrs = &zones[i];
		nm.zones[i].ncidrs = 1;
	}
	z = nmz_build(&nm);
	free(nm.zones);
	have_zb = nmb_init(z, why, sizeof(why)) == 0;
	if (!have_zb)
		fprintf(stderr, "tcp-probe: no eBPF zone counters: %s\n", why);
	zb_zones = z;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: tcp-probe [-b RCVBUF] [-m auto|yes|no] ZONE_CIDR [ZONE_CIDR...] "
	    "-- SECONDS INTERVAL\n"
	    "  -m: [netmon] bpf, where the per-zone counts come from (default auto)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int ch, i, rcvbuf = 0;

	log_init("tcp-probe", 1,
		 getenv("TCP_PROBE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "+b:m:")) != -1) {
		if (ch == 'b')
			rcvbuf = atoi(optarg);
		else if (ch == 'm' && strcmp(optarg, "auto") == 0)
			bpf_mode = NM_BPF_AUTO;
		else if (ch == 'm' && strcmp(optarg, "yes") == 0)
			bpf_mode = NM_BPF_YES;
		else if (ch == 'm' && strcmp(optarg, "no") == 0)
			bpf_mode = NM_BPF_NO;
		else
			usage();
	}
	zones = xcalloc((size_t)argc, sizeof(*zones));
	for (i = optind; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (cidr_parse(argv[i], &zones[nzones]) == -1) {
			fprintf(stderr, "tcp-probe: bad CIDR %s\n", argv[i]);
			return 2;
		}
		nzones++;
	}
	if (nzones == 0 || i + 3 != argc || parse_secs(argv[i + 1], &seconds_ms) == -1 ||
	    parse_secs(argv[i + 2], &interval_ms) == -1)
		usage();
	if (rcvbuf > 0)
		nmt_set_event_rcvbuf(rcvbuf);
	set_filter();
	if (ev_init() == -1 || signals_init() == -1)
		fatal("event loop");
	nmt_set_bpf(bpf_mode);
	zone_counters();
	if (nmt_init(nzones, lookup, NULL) == -1)
		fatalx("netmon tcp: init failed");
	nmt_host(&host0);
	started = ev_now();
	printf("start host out_segs=%llu retrans_segs=%llu\n",
	       (unsigned long long)host0.out_segs,
	       (unsigned long long)host0.retrans_segs);
	fflush(stdout);
	ev_timer_add(interval_ms < seconds_ms ? interval_ms : seconds_ms, on_tick, NULL);
	if (ev_run() == -1)
		failed = 1;
	nmt_fini();
	if (have_zb)
		nmb_fini();
	nmz_free(zb_zones);
	ev_fini();
	free(zones);
	return failed;
}
