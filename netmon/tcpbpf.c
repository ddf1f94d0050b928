/* tcpbpf.c — loader and collector of netmon/bpf/tcp.bpf.c. The kernel adds
 * per-socket deltas to per-zone counters. Where the eBPF zone counters
 * (netmon/zbpf.c) run, their egress program hands each packet with a
 * socket to nmtb_tx, which accounts a TCP packet's socket as it is sent,
 * after one walk of the namespace's sockets (the baseline): a collection
 * is then the copy of the zones' totals. Otherwise a collection is one
 * pass of the iter/tcp program over the namespace's sockets, read (it
 * writes nothing) on a worker thread that wakes the loop through an
 * eventfd when done: the walk of 50k sockets costs tens of milliseconds of
 * system time, which the loop must never wait for. The worker makes only
 * that system call; every other piece of state is the loop's. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/addr.h"
#include "netmon/bpf/tcp.h"
#include "netmon/bpf/tcp.skel.h"
#include "netmon/tcpbpf.h"
#include "netmon/zbpf.h"

_Static_assert(NMTB_RTT_NBOUNDS == NM_RTT_NBUCKETS, "RTT buckets differ");

#define NMTB_WAIT_MS 10000 /* a walk unanswered this long: given up waiting */

static const uint32_t rtt_kernel[NMTB_RTT_NBOUNDS] = NMTB_RTT_BOUNDS;
static const uint32_t rtt_user[NM_RTT_NBUCKETS] = NM_RTT_BUCKETS_US;

static struct {
	struct tcp_bpf *skel;
	struct bpf_link *iter;
	pthread_t worker;
	int have_worker;
	int go;	  /* eventfd: the loop asks the worker for a walk */
	int done; /* eventfd: the worker ended one */
	int stop; /* the worker leaves (under go's wake-up) */
	int busy;
	int rc; /* of the worker's last walk (written before done is signalled) */
	nmtb_done_fn done_fn;
	struct nmt_prefix *pfx;
	size_t npfx, nzones;
	uint64_t seen_before; /* skel's seen before the last walk */
	uint64_t began_us;    /* CLOCK_MONOTONIC: the last whole walk began */
	unsigned gen;	      /* counted where sent (nmb_chain's), or 0: walks */
	int based;	      /* the baseline walk is done */
	int refused;	      /* nmb_chain refused the program: walks for good */
	size_t visited;
} b = {.go = -1, .done = -1};

static int walk_asked; /* [netmon] tcp_count = walk (nmtb_set_walk) */

/* libbpf's own messages (a verifier log, a missing BTF) at debug level: the
 * reason the caller reports is enough at info. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

/* One walk: the program writes nothing, so read() returns 0 at its end.
 * Sockets quiet since the last whole walk began are passed by (all of them
 * are visited in a baseline walk and in the first); run by one thread at a
 * time, the worker or the loop's after nmtb_wait. */
static int walk(int all)
{
	char buf[64];
	ssize_t n;
	struct timespec now;
	uint64_t began;
	int fd;

	/* the clock of tcp_mstamp (tcp_clock_ns()), whatever the daemon's */
	clock_gettime(CLOCK_MONOTONIC, &now);
	began = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;

	b.skel->bss->active_us = all ? 0 : b.began_us;
	fd = bpf_iter_create(bpf_link__fd(b.iter));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	n = n < 0 ? -errno : 0;
	close(fd);
	if (n == 0)
		b.began_us = began;
	return (int)n;
}

static void *worker(void *arg)
{
	uint64_t v;

	(void)arg;
	for (;;) {
		if (read(b.go, &v, sizeof(v)) != sizeof(v) && errno != EINTR)
			break;
		if (__atomic_load_n(&b.stop, __ATOMIC_ACQUIRE))
			break;
		__atomic_store_n(&b.rc, walk(0), __ATOMIC_RELEASE);
		v = 1;
		if (write(b.done, &v, sizeof(v)) != sizeof(v))
			break;
	}
	return NULL;
}

static void walk_ended(int rc)
{
	uint64_t seen = b.skel->bss->seen;

	b.visited = (size_t)(seen - b.seen_before);
	if (rc < 0)
		log_warnx("tcp: eBPF socket walk: %s", strerror(-rc));
}

static void on_done(int fd, uint32_t events, void *arg)
{
	uint64_t v;
	nmtb_done_fn fn = b.done_fn;
	int rc;

	(void)events;
	(void)arg;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	rc = __atomic_load_n(&b.rc, __ATOMIC_ACQUIRE);
	b.busy = 0;
	b.done_fn = NULL;
	walk_ended(rc);
	if (fn != NULL)
		fn(rc < 0 ? -1 : 0);
}

/* --- counting where sent: nmtb_tx after the zone counters at egress --- */

/* After the baseline, and at each collection while a walk stands in:
 * count where sent when the zone counters (netmon/zbpf.c) run and take
 * nmtb_tx into their egress program, unless [netmon] tcp_count = walk
 * (nmtb_set_walk) or VPCF_BPF_TCP=walk (the tools the tests and the bench
 * run, which read no config) asks for the walk. Taking it or losing it
 * loses nothing: each socket's storage holds what was last accounted, so
 * whichever of the program or the walk comes next adds the rest. 1 when
 * counted where sent. */
static int tx_start(void)
{
	const char *e = getenv("VPCF_BPF_TCP");

	if (b.gen || b.refused || !b.based || b.nzones == 0 || walk_asked ||
	    (e != NULL && strcmp(e, "walk") == 0))
		return b.gen != 0;
	b.gen = nmb_chain(bpf_program__fd(b.skel->progs.nmtb_tx));
	if (b.gen == 0 && errno != ENOENT) {
		log_info("tcp: eBPF: the zone counters' program refused the TCP "
			 "program (%s): a socket walk per collection",
			 strerror(errno));
		b.refused = 1;
	}
	return b.gen != 0;
}

/* Before a collection: 1 when it walks. Walks once the zone counters
 * stopped (a reload they could not follow); where sent once they run, but
 * the collection that starts it still walks: a socket that sent since the
 * last walk and stays quiet would otherwise count only at its next packet. */
static int must_walk(void)
{
	if (b.gen && !nmb_chained(b.gen)) {
		b.gen = 0;
		log_info("tcp: eBPF: the zone counters stopped: a socket walk per "
			 "collection");
		return 1;
	}
	if (b.gen)
		return 0;
	if (tx_start())
		log_info("tcp: eBPF: counted where sent from now on, after the zone "
			 "counters");
	return 1;
}

static uint32_t net_inum(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint32_t)st.st_ino : 0;
}

int nmtb_open(char *why, size_t whylen)
{
	uint32_t inum = net_inum();
	int err;

	nmtb_close();
	libbpf_set_print(libbpf_print);
	if (memcmp(rtt_kernel, rtt_user, sizeof(rtt_user)) != 0)
		fatalx("tcp: netmon/bpf/tcp.h's RTT buckets differ from netmon.h's");
	if (inum == 0) {
		snprintf(why, whylen, "/proc/self/ns/net: %s", strerror(errno));
		return -1;
	}
	b.skel = tcp_bpf__open();
	if (b.skel == NULL) {
		snprintf(why, whylen, "opening the programs: %s", strerror(errno));
		goto fail;
	}
	b.skel->rodata->net_inum = inum;
	/* run by the zone counters' egress program, after the baseline */
	bpf_program__set_autoattach(b.skel->progs.nmtb_tx, false);
	err = tcp_bpf__load(b.skel);
	if (err) {
		snprintf(why, whylen, "loading the programs: %s%s", strerror(-err),
			 -err == EPERM ? " (CAP_BPF and CAP_PERFMON are needed)" : "");
		goto fail;
	}
	err = tcp_bpf__attach(b.skel); /* the close tracepoint */
	if (err) {
		snprintf(why, whylen, "attaching tp_btf/inet_sock_set_state: %s",
			 strerror(-err));
		goto fail;
	}
	b.iter = bpf_program__attach_iter(b.skel->progs.nmtb_iter, NULL);
	if (b.iter == NULL) {
		snprintf(why, whylen, "attaching the TCP socket iterator: %s",
			 strerror(errno));
		goto fail;
	}
	b.go = eventfd(0, EFD_CLOEXEC);
	b.done = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b.go == -1 || b.done == -1) {
		snprintf(why, whylen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/* Signals are the loop's (signalfd): the worker takes none, whatever
	 * the mask of whoever loads us. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&b.worker, NULL, worker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		snprintf(why, whylen, "worker thread: %s", strerror(err));
		goto fail;
	}
	b.have_worker = 1;
	if (ev_fd_set(b.done, EPOLLIN, on_done, NULL) == -1) {
		snprintf(why, whylen, "watching the worker's eventfd failed");
		goto fail;
	}
	return 0;
fail:
	nmtb_close();
	return -1;
}

const char *nmtb_how(void)
{
	if (b.gen)
		return "counted where sent, after the zone counters";
	return walk_asked ? "a TCP socket walk per collection: [netmon] tcp_count = walk"
			  : "a TCP socket walk per collection";
}

void nmtb_set_walk(int walk)
{
	walk_asked = walk;
}

size_t nmtb_zones_max(void)
{
	return NMTB_ZONES_MAX;
}

/* Empty a trie: keys first (deleting while walking skips some), then each. */
static void trie_clear(int fd, size_t keylen)
{
	unsigned char key[sizeof(struct nmtb_key6)], next[sizeof(struct nmtb_key6)];
	unsigned char *keys = NULL;
	size_t n = 0;
	void *prev = NULL;

	while (n < NMTB_PREFIXES && bpf_map_get_next_key(fd, prev, next) == 0) {
		keys = xrealloc(keys, (n + 1) * keylen);
		memcpy(keys + n * keylen, next, keylen);
		memcpy(key, next, keylen);
		prev = key;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * keylen);
	free(keys);
}

static int trie_add(int family, const unsigned char *addr, int plen, uint32_t zone)
{
	if (family == AF_INET) {
		struct nmtb_key4 k = {.plen = (uint32_t)plen};
		memcpy(k.addr, addr, 4);
		return bpf_map_update_elem(bpf_map__fd(b.skel->maps.zones4), &k, &zone,
					   BPF_ANY);
	}
	struct nmtb_key6 k = {.plen = (uint32_t)plen};
	memcpy(k.addr, addr, 16);
	return bpf_map_update_elem(bpf_map__fd(b.skel->maps.zones6), &k, &zone, BPF_ANY);
}

/* The tries from b.pfx and the own addresses; then every socket re-zoned. */
static int tries_fill(void)
{
	size_t nloc = nma_count(), failed = 0;
	int family;
	unsigned char a[16];

	trie_clear(bpf_map__fd(b.skel->maps.zones4), sizeof(struct nmtb_key4));
	trie_clear(bpf_map__fd(b.skel->maps.zones6), sizeof(struct nmtb_key6));
	for (size_t i = 0; i < b.npfx; i++)
		if (trie_add(b.pfx[i].family, b.pfx[i].addr, b.pfx[i].plen,
			     (uint32_t)b.pfx[i].zone) == -1)
			failed++;
	/* Own addresses talk over loopback: in no zone, as a host route. */
	for (size_t i = 0; i < nloc; i++)
		if (nma_get(i, &family, a) == 0 &&
		    trie_add(family, a, family == AF_INET ? 32 : 128, NMTB_ZONE_NONE) ==
			-1)
			failed++;
	__atomic_add_fetch(&b.skel->data->zgen, 1, __ATOMIC_SEQ_CST);
	if (failed) {
		log_warnx("tcp: eBPF zone tries: %zu of %zu entries refused (at most %d "
			  "per family)",
			  failed, b.npfx + nloc, NMTB_PREFIXES);
		return -1;
	}
	return 0;
}

int nmtb_zones(const struct nmt_prefix *p, size_t n, size_t nzones, int reload)
{
	if (b.skel == NULL)
		return -1;
	if (nzones > NMTB_ZONES_MAX) {
		log_warnx("tcp: eBPF counters hold %d zones; zones past that count "
			  "nothing",
			  NMTB_ZONES_MAX);
		nzones = NMTB_ZONES_MAX;
	}
	free(b.pfx);
	b.pfx = xcalloc(n + 1, sizeof(*b.pfx));
	memcpy(b.pfx, p, n * sizeof(*p));
	b.npfx = n;
	b.nzones = nzones;
	if (reload) {
		/* The other bank starts at 0 and takes every add from the flip
		 * on, without a moment in which adds land in half-zeroed
		 * counters. */
		uint32_t nb = (b.skel->bss->bank + 1) & 1;
		memset(b.skel->bss->zc[nb], 0, sizeof(b.skel->bss->zc[nb]));
		__atomic_store_n(&b.skel->bss->bank, nb, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&b.skel->bss->nzones, (uint32_t)nzones, __ATOMIC_SEQ_CST);
	int rc = tries_fill();
	if (reload)
		tx_start(); /* the first zones of a daemon that had none */
	return rc;
}

void nmtb_rezone(void)
{
	if (b.skel != NULL)
		tries_fill();
}

int nmtb_run(int baseline)
{
	int rc;

	if (b.skel == NULL)
		return -1;
	nmtb_wait();
	int walks = must_walk();
	__atomic_add_fetch(&b.skel->bss->interval, 1, __ATOMIC_SEQ_CST);
	b.seen_before = b.skel->bss->seen;
	if (!walks) {
		walk_ended(0);
		return 0;
	}
	b.skel->bss->baseline = baseline ? 1 : 0;
	rc = walk(baseline);
	b.skel->bss->baseline = 0;
	walk_ended(rc);
	if (baseline && rc == 0) {
		b.based = 1;
		tx_start();
	}
	return rc < 0 ? -1 : 0;
}

int nmtb_start(nmtb_done_fn done)
{
	uint64_t v = 1;

	if (b.skel == NULL || !b.have_worker || b.busy)
		return -1;
	int walks = must_walk();
	__atomic_add_fetch(&b.skel->bss->interval, 1, __ATOMIC_SEQ_CST);
	b.seen_before = b.skel->bss->seen;
	b.busy = 1;
	b.done_fn = done;
	/* Counted where sent, nothing to walk: done at the loop's next turn. */
	if (!walks)
		__atomic_store_n(&b.rc, 0, __ATOMIC_RELEASE);
	if (write(walks ? b.go : b.done, &v, sizeof(v)) != sizeof(v)) {
		log_warn("tcp: waking the eBPF worker");
		b.busy = 0;
		b.done_fn = NULL;
		return -1;
	}
	return 0;
}

int nmtb_busy(void)
{
	return b.busy;
}

void nmtb_wait(void)
{
	struct pollfd pfd = {.fd = b.done, .events = POLLIN};

	if (!b.busy)
		return;
	if (poll(&pfd, 1, NMTB_WAIT_MS) == 1) {
		on_done(b.done, POLLIN, NULL);
		return;
	}
	log_warnx("tcp: the eBPF socket walk did not end within %d ms", NMTB_WAIT_MS);
}

void nmtb_zone(size_t zone, struct nm_tcp_counters *c, struct nm_rtt_hist *h)
{
	memset(c, 0, sizeof(*c));
	memset(h, 0, sizeof(*h));
	if (b.skel == NULL || zone >= b.nzones)
		return;
	const struct nmtb_zone *z =
	    &b.skel->bss->zc[__atomic_load_n(&b.skel->bss->bank, __ATOMIC_ACQUIRE)][zone];
	c->segs_out = z->segs_out;
	c->retrans_segs = z->retrans;
	c->bytes_sent = z->bytes_sent;
	c->bytes_retrans = z->bytes_retrans;
	for (size_t i = 0; i <= NM_RTT_NBUCKETS; i++)
		h->count[i] = z->rtt[i];
	h->sum_us = z->rtt_sum_us;
}

void nmtb_stats(size_t *visited, uint64_t *closes, uint64_t *closes_unseen,
		uint64_t *quiet)
{
	*visited = b.visited;
	*quiet = b.skel ? b.skel->bss->quiet : 0;
	*closes = b.skel ? b.skel->bss->closed : 0;
	*closes_unseen = b.skel ? b.skel->bss->unseen : 0;
}

void nmtb_close(void)
{
	if (b.have_worker) {
		uint64_t v = 1;

		__atomic_store_n(&b.stop, 1, __ATOMIC_RELEASE);
		if (write(b.go, &v, sizeof(v)) == sizeof(v))
			pthread_join(b.worker, NULL);
		else
			pthread_detach(b.worker);
	}
	if (b.done != -1) {
		ev_fd_del(b.done);
		close(b.done);
	}
	if (b.go != -1)
		close(b.go);
	nmb_unchain(b.gen);
	bpf_link__destroy(b.iter);
	tcp_bpf__destroy(b.skel);
	free(b.pfx);
	memset(&b, 0, sizeof(b));
	b.go = b.done = -1;
}
