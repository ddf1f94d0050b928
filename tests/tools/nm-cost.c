/* nm-cost — what the network monitor's parts cost, for bench/netmon.sh.
 *
 *   nm-cost collect K CONF
 *       nmt_init with CONF's [netmon] zones (after the eBPF zone counters,
 *       nmb_init, when its bpf allows), then K collections (nmt_collect,
 *       as the daemon runs it); prints the medians over the K of CPU time
 *       (user, system) and wall time per collection, and the sockets tracked:
 *       "collect sockets=N user_us=U sys_us=S cpu_us=C wall_us=W"
 *   nm-cost hold K CONF
 *       K collections as the daemon runs them (nmt_collect_start, read on
 *       the event loop), beside a 1 ms timer: how late the timer fired while
 *       they ran, i.e. how long the loop was held (median, p99 and max of
 *       the ticks), how long one collection took from start to end, and the
 *       CPU time of the longest slice read on the loop (preemption aside):
 *       "hold ticks=N late_p50_us=A late_p99_us=B late_max_us=C wall_us=W
 *        slice_max_us=S"
 *   nm-cost run K CMD [ARG...]
 *       run CMD K times (stdout to /dev/null), each one's CPU time from
 *       wait4(): "run user_us=U sys_us=S cpu_us=C wall_us=W" (medians)
 *   nm-cost read K CONF
 *       create the zone table of CONF, read it K times (nmf_read), remove it:
 *       "read zones=N wall_us=W" (median)
 *   nm-cost bpfread K CONF
 *       the same for the eBPF zone counters (nmb_init in this namespace,
 *       K nmb_read, nmb_fini): "bpfread zones=N wall_us=W" (median)
 *   nm-cost rtt K
 *       K observations into a per-zone RTT histogram as nmt_collect makes
 *       them for a socket that sent (nmt_rtt_bucket, a count, a sum), over
 *       65536 RTTs spread from 20 us to 2 s: "rtt observations=K ns=N" (CPU
 *       time per observation)
 *   nm-cost watch K CONF
 *       as read, with CONF's groups counted as overlays (their destinations
 *       by source zone), the read the daemon's first-traffic watch makes
 *       every 10 ms after a failover: medians of wall and thread CPU time:
 *       "watch zones=N groups=G counters=C wall_us=W cpu_us=U"
 *   nm-cost udp K ADDR PORT
 *       send K datagrams of 64 bytes to ADDR:PORT as fast as it can: the
 *       sender's CPU time per packet (its share of the stack, netfilter
 *       hooks included, whatever else runs on the machine) and packets/s:
 *       "udp packets=K cpu_ns=C pps=P"
 *   nm-cost tcp K ADDR PORT
 *       connect to ADDR:PORT (an nm-cost sink), TCP_NODELAY, and write K
 *       times 64 bytes as fast as it can: the writer's CPU time per write
 *       (as udp's; the ACKs' receive path included) and writes/s:
 *       "tcp writes=K cpu_ns=C wps=P"
 *   nm-cost sink PORT
 *       accept TCP connections on PORT (IPv4, any address), one at a time,
 *       and read each to its end; exits after 60 s without a connection
 *       (or when killed): the far end of nm-cost tcp
 *   nm-cost ring K NZONES
 *       the ring of samples behind the network around a failover
 *       (netmon/ring.c): K samples of NZONES zones pushed into a ring of a
 *       minute at interval = 1, and K windows taken from it (the daemon
 *       pushes one per collection and takes two per failover): CPU time
 *       per push and per window, and the ring's memory:
 *       "ring zones=N push_ns=P window_ns=W bytes=B"
 *
 * Not a test: it measures and prints, nothing is asserted. Exit 0, or 1 when
 * a step failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "daemon/cfg.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/nft.h"
#include "netmon/ring.h"
#include "netmon/tcp.h"
#include "netmon/zbpf.h"
#include "netmon/zone.h"

#define K_MAX	  10000
#define UDP_K_MAX 100000000

static double tv_us(struct timeval tv)
{
	return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
}

static double mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dcmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct cfg *load(const char *path, struct nmz **z)
{
	struct cfg *c = cfg_load(path);

	if (c == NULL)
		return NULL;
	*z = nmz_build(&c->netmon);
	return c;
}

static int zone_of(void *ctx, int family, const void *daddr)
{
	return nmz_lookup(ctx, family, daddr);
}

/* The kernel-side filter by the zones' prefixes, as the daemon sets it
 * (NM_COST_NOFILTER: every socket listed, for comparison). */
static void set_filter(const struct cfg *cf)
{
	size_t np = 0;
	struct nmt_prefix *p;

	nmt_set_bpf(cf->netmon.bpf); /* CONF's [netmon] bpf */
	if (getenv("NM_COST_NOFILTER") != NULL)
		return;
	for (size_t i = 0; i < cf->netmon.nzones; i++)
		np += cf->netmon.zones[i].ncidrs;
	p = xcalloc(np + 1, sizeof(*p));
	np = 0;
	for (size_t i = 0; i < cf->netmon.nzones; i++)
		for (size_t j = 0; j < cf->netmon.zones[i].ncidrs; j++, np++) {
			const struct cidr *cc = &cf->netmon.zones[i].cidrs[j];
			p[np].family = cc->family;
			memcpy(p[np].addr, cc->addr, sizeof(p[np].addr));
			p[np].plen = cc->plen;
			p[np].zone = (int)i;
		}
	nmt_set_filter(p, np);
	free(p);
}

/* The eBPF zone counters of CONF when its bpf allows, loaded before the
 * TCP counting as the daemon does (TCP counts where sent after them). */
static int zone_counters(const struct cfg *cf, const struct nmz *z)
{
	char why[256];

	if (cf->netmon.bpf == NM_BPF_NO || nmz_count(z) == 0)
		return 0;
	if (nmb_init(z, why, sizeof(why)) == 0)
		return 1;
	fprintf(stderr, "nm-cost: no eBPF zone counters: %s\n", why);
	return 0;
}

static int collect(int k, const char *conf)
{
	double *u = xcalloc((size_t)k, sizeof(double)),
	       *s = xcalloc((size_t)k, sizeof(double));
	double *c = xcalloc((size_t)k, sizeof(double)),
	       *w = xcalloc((size_t)k, sizeof(double));
	struct nmz *z = NULL;
	struct cfg *cf = load(conf, &z);
	struct nmt_stats st;
	int rc = 1, zb = 0;

	if (cf == NULL || ev_init() == -1)
		goto out;
	set_filter(cf);
	zb = zone_counters(cf, z);
	if (nmt_init(nmz_count(z), zone_of, z) == -1)
		goto out;
	for (int i = 0; i < k; i++) {
		struct rusage r0, r1;
		double t0 = mono_us();

		getrusage(RUSAGE_SELF, &r0);
		if (nmt_collect() == -1)
			goto out;
		getrusage(RUSAGE_SELF, &r1);
		w[i] = mono_us() - t0;
		u[i] = tv_us(r1.ru_utime) - tv_us(r0.ru_utime);
		s[i] = tv_us(r1.ru_stime) - tv_us(r0.ru_stime);
		c[i] = u[i] + s[i];
	}
	nmt_stats(&st);
	printf("collect sockets=%zu user_us=%.0f sys_us=%.0f cpu_us=%.0f wall_us=%.0f\n",
	       st.sockets, median(u, k), median(s, k), median(c, k), median(w, k));
	rc = 0;
out:
	nmt_fini();
	if (zb)
		nmb_fini();
	ev_fini();
	nmz_free(z);
	if (cf)
		cfg_free(cf);
	free(u);
	free(s);
	free(c);
	free(w);
	return rc;
}

static double tick_due, *late;
static size_t nlate, late_cap;
static uint64_t ticker;
static int hold_done;

static void on_tick(void *arg)
{
	double now = mono_us();

	if (nlate < late_cap)
		late[nlate++] = now > tick_due ? now - tick_due : 0;
	tick_due = now + 1000;
	ticker = ev_timer_add(1, on_tick, NULL);
}

static void on_done(int rc, void *arg)
{
	hold_done = rc == 0 ? 1 : -1;
	ev_stop();
}

static int hold(int k, const char *conf)
{
	double *w = xcalloc((size_t)k, sizeof(double));
	struct nmz *z = NULL;
	struct cfg *cf = load(conf, &z);
	int rc = 1, zb = 0;

	late_cap = 100000;
	late = xcalloc(late_cap, sizeof(double));
	if (cf == NULL || ev_init() == -1)
		goto out;
	set_filter(cf);
	zb = zone_counters(cf, z);
	if (nmt_init(nmz_count(z), zone_of, z) == -1)
		goto out;
	for (int i = 0; i < k; i++) {
		double t0 = mono_us();

		hold_done = 0;
		if (nmt_collect_start(on_done, NULL) != 0)
			goto out;
		tick_due = mono_us() + 1000;
		ticker = ev_timer_add(1, on_tick, NULL);
		if (ev_run() == -1 || hold_done != 1)
			goto out;
		ev_timer_cancel(ticker);
		w[i] = mono_us() - t0;
	}
	if (nlate == 0)
		late[nlate++] = 0;
	{
		double m = median(late, (int)nlate); /* sorts late */

		struct nmt_stats st;

		nmt_stats(&st);
		printf(
		    "hold ticks=%zu late_p50_us=%.0f late_p99_us=%.0f late_max_us=%.0f "
		    "wall_us=%.0f slice_max_us=%llu\n",
		    nlate, m, late[(size_t)((double)(nlate - 1) * 0.99)], late[nlate - 1],
		    median(w, k), (unsigned long long)st.slice_max_us);
	}
	rc = 0;
out:
	nmt_fini();
	if (zb)
		nmb_fini();
	ev_fini();
	nmz_free(z);
	if (cf)
		cfg_free(cf);
	free(late);
	free(w);
	return rc;
}

static int run(int k, char **argv)
{
	double *u = xcalloc((size_t)k, sizeof(double)),
	       *s = xcalloc((size_t)k, sizeof(double));
	double *c = xcalloc((size_t)k, sizeof(double)),
	       *w = xcalloc((size_t)k, sizeof(double));
	int rc = 1;

	for (int i = 0; i < k; i++) {
		struct rusage r;
		double t0 = mono_us();
		int status;
		pid_t pid = fork();

		if (pid == -1)
			goto out;
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd != -1)
				dup2(fd, 1);
			execvp(argv[0], argv);
			_exit(127);
		}
		if (wait4(pid, &status, 0, &r) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			goto out;
		w[i] = mono_us() - t0;
		u[i] = tv_us(r.ru_utime);
		s[i] = tv_us(r.ru_stime);
		c[i] = u[i] + s[i];
	}
	printf("run user_us=%.0f sys_us=%.0f cpu_us=%.0f wall_us=%.0f\n", median(u, k),
	       median(s, k), median(c, k), median(w, k));
	rc = 0;
out:
	free(u);
	free(s);
	free(c);
	free(w);
	return rc;
}

static double thread_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* nm-cost bpfread: K reads of the eBPF counters of CONF's zones. */
static int bpf_read(int k, const char *conf)
{
	double *w = xcalloc((size_t)k, sizeof(double));
	struct nmz *z = NULL;
	struct cfg *cf = load(conf, &z);
	struct nm_zone_counters *v = NULL;
	char why[256];
	int rc = 1, up = 0;

	if (cf == NULL || ev_init() == -1)
		goto out;
	if (nmb_init(z, why, sizeof(why)) == -1) {
		fprintf(stderr, "nm-cost: eBPF %s\n", why);
		goto out;
	}
	up = 1;
	v = xcalloc(nmz_count(z) + 1, sizeof(*v));
	for (int i = 0; i < k; i++) {
		double t0 = mono_us();
		if (nmb_read(z, v) == -1)
			goto out;
		w[i] = mono_us() - t0;
	}
	printf("bpfread zones=%zu wall_us=%.1f\n", nmz_count(z), median(w, k));
	rc = 0;
out:
	if (up)
		nmb_fini();
	free(v);
	free(w);
	nmz_free(z);
	if (cf)
		cfg_free(cf);
	return rc;
}

/* overlays: count CONF's groups' destinations too (nm-cost watch). */
static int read_counters(int k, const char *conf, int overlays)
{
	double *w = xcalloc((size_t)k, sizeof(double)),
	       *u = xcalloc((size_t)k, sizeof(double));
	struct nmz *z = NULL;
	struct cfg *cf = load(conf, &z);
	struct nm_zone_counters *v = NULL;
	int rc = 1;

	if (cf && overlays) {
		struct nm_overlay *ov = xcalloc(cf->ngroups + 1, sizeof(*ov));
		for (size_t i = 0; i < cf->ngroups; i++)
			ov[i] = (struct nm_overlay){cf->groups[i].name,
						    cf->groups[i].destinations,
						    cf->groups[i].ndestinations};
		nmf_set_overlays(ov, cf->ngroups);
		free(ov);
	}
	if (cf == NULL || nmf_apply(z) == -1)
		goto out;
	v = xcalloc(nmz_count(z) + 1, sizeof(*v));
	for (int i = 0; i < k; i++) {
		double t0 = mono_us(), c0 = thread_us();

		if (nmf_read(z, v) == -1)
			goto out;
		u[i] = thread_us() - c0;
		w[i] = mono_us() - t0;
	}
	if (overlays)
		printf(
		    "watch zones=%zu groups=%zu counters=%zu wall_us=%.1f cpu_us=%.1f\n",
		    nmz_count(z), cf->ngroups,
		    2 * nmz_count(z) + cf->ngroups * (nmz_count(z) + 1), median(w, k),
		    median(u, k));
	else
		printf("read zones=%zu wall_us=%.0f\n", nmz_count(z), median(w, k));
	rc = 0;
out:
	if (cf)
		nmf_remove();
	nmz_free(z);
	if (cf)
		cfg_free(cf);
	free(v);
	free(w);
	free(u);
	nmf_set_overlays(NULL, 0);
	return rc;
}

/* K 64-byte sends to ADDR:PORT as fast as they go, UDP datagrams or TCP
 * writes (TCP_NODELAY, to an nm-cost sink): the sender's CPU time per send
 * and sends per second. */
static int sendk(int type, long k, const char *addr, const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(port))};
	const char *what = type == SOCK_STREAM ? "tcp" : "udp";
	struct rusage r0, r1;
	char pkt[64] = {0};
	double t0, t1;
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || k < 1 || k > UDP_K_MAX)
		return 2;
	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    (type == SOCK_STREAM &&
	     setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		fprintf(stderr, "nm-cost: %s socket: %s\n", what, strerror(errno));
		if (fd != -1)
			close(fd);
		return 1;
	}
	getrusage(RUSAGE_SELF, &r0);
	t0 = mono_us();
	for (long i = 0; i < k; i++)
		/* UDP: ICMP errors from the closed port come back as
		 * ECONNREFUSED, they say nothing about the send. TCP: every
		 * write must go. */
		if (send(fd, pkt, sizeof(pkt), MSG_NOSIGNAL) != (ssize_t)sizeof(pkt) &&
		    type == SOCK_STREAM) {
			perror("nm-cost: tcp send");
			close(fd);
			return 1;
		}
	t1 = mono_us();
	getrusage(RUSAGE_SELF, &r1);
	printf("%s %s=%ld cpu_ns=%.0f %s=%.0f\n", what,
	       type == SOCK_STREAM ? "writes" : "packets", k,
	       (tv_us(r1.ru_utime) - tv_us(r0.ru_utime) + tv_us(r1.ru_stime) -
		tv_us(r0.ru_stime)) *
		   1000 / (double)k,
	       type == SOCK_STREAM ? "wps" : "pps", (double)k * 1e6 / (t1 - t0));
	close(fd);
	return 0;
}

/* nm-cost tcp's far end: each connection read to its end, one at a time,
 * until none comes for 60 s. */
static int sink(const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(port)),
				 .sin_addr.s_addr = htonl(INADDR_ANY)};
	struct timeval idle = {.tv_sec = 60};
	char buf[65536];
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 4) == -1) {
		perror("nm-cost: sink socket");
		return 1;
	}
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			close(fd);
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
		}
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
}

static int rtt(long k)
{
	static uint32_t us[65536];
	struct nm_rtt_hist h;
	struct rusage r0, r1;
	uint32_t x = 12345;

	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < 65536; i++) {
		x = x * 1103515245u + 12345u;
		/* log-uniform: 20 us .. ~2 s */
		us[i] = 20u << ((x >> 8) % 17);
		us[i] += (x >> 16) % us[i];
	}
	getrusage(RUSAGE_SELF, &r0);
	for (long i = 0; i < k; i++) {
		uint32_t v = us[i & 65535];
		h.count[nmt_rtt_bucket(v)]++;
		h.sum_us += v;
	}
	getrusage(RUSAGE_SELF, &r1);
	printf("rtt observations=%ld ns=%.2f check=%llu\n", k,
	       (tv_us(r1.ru_utime) - tv_us(r0.ru_utime) + tv_us(r1.ru_stime) -
		tv_us(r0.ru_stime)) *
		   1000 / (double)k,
	       (unsigned long long)(h.sum_us + h.count[0]));
	return 0;
}

static double cpu_us(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return tv_us(r.ru_utime) + tv_us(r.ru_stime);
}

static int ring(long k, long nz)
{
	size_t slots = nmr_slots_for(60000, 1000);
	struct nmr *r;
	struct nmr_zone *z;
	struct nmr_host h;
	struct nmr_delta d;
	double c0, c1, c2;
	uint64_t check = 0;

	if (k < 2 || nz < 1 || nz > 100000)
		return 2;
	r = nmr_new(slots, (size_t)nz);
	z = xcalloc((size_t)nz, sizeof(*z));
	memset(&h, 0, sizeof(h));
	c0 = cpu_us();
	for (long i = 0; i < k; i++) {
		for (long j = 0; j < nz; j++) {
			z[j].segs += 100;
			z[j].retrans += (uint64_t)(i & 1);
			z[j].rtt.count[i % NM_RTT_NBUCKETS]++;
		}
		nmr_push(r, i * 1000000, z, &h);
	}
	c1 = cpu_us();
	for (long i = 0; i < k; i++) {
		int64_t t = (k - 1 - (i % 30)) * 1000000;
		if (nmr_delta(r, t - 60000000, t, &d) == 0)
			check += d.z[0].segs;
		nmr_delta_free(&d);
	}
	c2 = cpu_us();
	/* the slots' zones and the ring's own arrays */
	size_t bytes =
	    slots * ((size_t)nz * sizeof(struct nmr_zone) + sizeof(struct nmr_host) +
		     sizeof(int64_t) + sizeof(void *));
	printf("ring zones=%ld push_ns=%.1f window_ns=%.1f bytes=%zu check=%llu\n", nz,
	       (c1 - c0) * 1000 / (double)k, (c2 - c1) * 1000 / (double)k, bytes,
	       (unsigned long long)check);
	nmr_free(r);
	free(z);
	return 0;
}

int main(int argc, char **argv)
{
	int k = argc > 2 ? atoi(argv[2]) : 0;

	log_init("nm-cost", 1, LOG_LVL_WARN);
	if (argc == 3 && strcmp(argv[1], "rtt") == 0)
		return rtt(atol(argv[2]));
	if (argc == 4 && strcmp(argv[1], "ring") == 0)
		return ring(atol(argv[2]), atol(argv[3]));
	if (argc == 5 && strcmp(argv[1], "udp") == 0)
		return sendk(SOCK_DGRAM, atol(argv[2]), argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[1], "tcp") == 0)
		return sendk(SOCK_STREAM, atol(argv[2]), argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		return sink(argv[2]);
	if (argc < 4 || k < 1 || k > K_MAX) {
		fprintf(
		    stderr,
		    "usage: nm-cost collect|hold|read|bpfread|watch K CONF | run K CMD "
		    "[ARG...] "
		    "| udp|tcp K ADDR PORT | sink PORT | ring K NZONES\n");
		return 2;
	}
	if (strcmp(argv[1], "collect") == 0 && argc == 4)
		return collect(k, argv[3]);
	if (strcmp(argv[1], "hold") == 0 && argc == 4)
		return hold(k, argv[3]);
	if (strcmp(argv[1], "read") == 0 && argc == 4)
		return read_counters(k, argv[3], 0);
	if (strcmp(argv[1], "bpfread") == 0 && argc == 4)
		return bpf_read(k, argv[3]);
	if (strcmp(argv[1], "watch") == 0 && argc == 4)
		return read_counters(k, argv[3], 1);
	if (strcmp(argv[1], "run") == 0)
		return run(k, argv + 3);
	fprintf(stderr, "nm-cost: unknown command %s\n", argv[1]);
	return 2;
}
