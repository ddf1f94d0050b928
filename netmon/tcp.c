/* tcp.c — TCP retransmissions, host-wide and per zone.
 *
 * Host-wide numbers are the kernel's own counters (/proc/net/snmp Tcp:,
 * /proc/net/netstat TcpExt:), read at each collection. Per zone, every TCP
 * socket that can carry data is listed by a sock_diag dump with its tcp_info
 * and remembered by cookie; what it sent since it was last seen is added to
 * the zone of its destination address. A socket that is freed between two
 * dumps is reported once on the destroy groups with its final tcp_info, so
 * short connections are counted too. Per-socket counters only ever add
 * deltas, so the zone counters are monotonic whichever of the two sources
 * reports a socket first.
 *
 * A socket that vanished from a dump is not forgotten at once: a socket can
 * leave the hash tables (reset, or closed by the peer) long before its owner
 * closes the fd and the kernel frees it, and its destroy event may also be
 * read after the dump that no longer listed it. Keeping it for NMT_GONE_DUMPS
 * more dumps lets that event add only the remainder instead of the whole
 * history again.
 */
/* <linux/tcp.h> has the kernel's whole struct tcp_info; glibc's
 * <netinet/tcp.h>, which libnl's headers pull in, declares a truncated one
 * under the same name. Keep the kernel's, and stop glibc's from loading: this
 * file uses nothing else from it. */
#include <linux/tcp.h>
#define _NETINET_TCP_H 1

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/nm_cfg.h"
#include "netmon/tcp.h"
#include "netmon/tcpbpf.h"

#define NMT_RECV_BUF	     65536	/* > the kernel's 32 KiB dump skbs */
#define NMT_PROC_MAX	     65536	/* /proc/net/netstat is ~5 KiB */
#define NMT_SOCKETS_MAX	     (1u << 19) /* tracked sockets; beyond: untracked */
#define NMT_GONE_DUMPS	     32		/* dumps a vanished socket is remembered */
#define NMT_DRAIN_MAX	     256	/* event datagrams read per callback */
#define NMT_DUMP_SLICE	     2		/* dump datagrams read per loop callback */
#define NMT_FILTER_MAX	     1024	/* zone prefixes in a dump filter, at most */
#define NMT_FILTER_BYTES     (NMT_FILTER_MAX * 32) /* a v6 condition and its jump */
#define NMT_DUMP_TIMEOUT_S   5
#define NMT_EVENT_RCVBUF_DEF (4 << 20)

/* idiag_states: every state in which a full socket can send. Not LISTEN,
 * TIME_WAIT or NEW_SYN_RECV (mini sockets without tcp_info), not CLOSE
 * (unhashed, never dumped). Values from the kernel's net/tcp_states.h. */
#define NMT_STATES                                                                       \
	((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 8) |         \
	 (1u << 9) | (1u << 11))

/* 32 bytes: 50k sockets fit in 1.9 MiB. The destination address is not
 * kept: every dump message and destroy event carries it, so after a reload a
 * socket is re-zoned when it is next seen (zgen). The byte counts keep their
 * low 48 bits: a delta is taken modulo 2^48, and one of 2^47 bytes or more
 * (128 TiB in one collection interval: 45 TB is an hour at 100 Gbit/s, the
 * longest interval) is taken as the counter going backwards, which adds
 * nothing, as a 64-bit compare would. */
struct sock_ent {
	uint64_t cookie; /* 0: a free slot (the kernel's cookies start at 1) */
	uint32_t segs_out, retrans;
	uint64_t bytes_sent : 48;
	uint64_t seen : 8; /* dump generation that last listed it, mod 2^8: a
			      socket is seen or dropped within NMT_GONE_DUMPS
			      complete dumps */
	uint64_t zgen : 8; /* mod.zgen when zone was looked up */
	uint64_t bytes_retrans : 48;
	uint64_t zone : 15; /* zone index + 1; 0: in no zone */
	uint64_t dead : 1;
};

_Static_assert(sizeof(struct sock_ent) == 32, "socket table entries grew");

#define NMT_BYTES_MASK ((1ull << 48) - 1)
#define NMT_ZONE_MAX   ((1 << 15) - 2) /* highest zone index an entry holds */

#define GONE(e) ((uint8_t)(mod.gen - (e)->seen))

static struct {
	struct nl_sock *dsk; /* dumps, blocking */
	struct nl_sock *esk; /* destroy groups, non-blocking, on ev */
	int efd;
	int rcvbuf;

	nmt_zone_fn zfn;
	void *zctx;
	size_t nzones;
	struct nm_tcp_counters *zc;   /* cumulative */
	struct nm_tcp_counters *snap; /* zc at the previous collection */
	double *ratio;
	struct nm_rtt_hist *rtt; /* per zone: counts, not per-socket storage */

	struct sock_ent *tab; /* open addressing, linear probing */
	size_t cap, used, live;
	uint32_t gen;
	uint8_t zgen; /* bumped by nmt_reload: entries' zones are stale */
	int redump;

	/* The dump in progress. On the loop (nmt_collect_start, a re-dump after
	 * lost events) it is read NMT_DUMP_SLICE datagrams per callback, so
	 * that a dump of many sockets never holds the loop for long; the kernel
	 * fills the next datagram only when the previous one has been read. */
	struct {
		int kind;	  /* DUMP_* */
		size_t fam;	  /* step: dump_steps() of them */
		uint32_t seq;	  /* of the request being answered */
		uint32_t port;	  /* our netlink port */
		int watched;	  /* the dump socket is on the loop */
		uint64_t timer;	  /* its time limit, on the loop */
		nmt_done_fn done; /* for DUMP_COLLECT on the loop */
		void *arg;
	} d;
	int last_rc; /* of the last dump_end */

	/* The kernel-side filter of the dumps (nmt_set_filter): only sockets
	 * whose destination is in a zone are listed, so that sockets the zones
	 * do not count cost no tcp_info. NULL: every socket. */
	unsigned char *bc;
	size_t bclen;
	int filtered;
	int new_as_baseline; /* the next dump counts new sockets from then on */

	struct nm_host_tcp host;
	struct nmt_tcpext ext;
	struct nmt_stats st;
} mod = {.efd = -1, .rcvbuf = NMT_EVENT_RCVBUF_DEF};

enum { DUMP_NONE, DUMP_BASELINE, DUMP_COLLECT, DUMP_REDUMP };

/* The eBPF path (netmon/tcpbpf.c), set before nmt_init and kept across it:
 * the mode, and the zones' prefixes (nmt_set_filter), which it looks zones
 * up by. pfx NULL: nmt_set_filter never called. */
static struct {
	int mode; /* enum nm_bpf */
	int active;
	struct nmt_prefix *pfx;
	size_t npfx;
	nmt_done_fn done; /* of the walk on the worker */
	void *arg;
} bpf = {.mode = NM_BPF_AUTO};

static const int dump_families[] = {AF_INET, AF_INET6};

/* One walk for both families: the older TCPDIAG_GETSOCK request dumps with
 * family AF_UNSPEC, IPv4 and IPv6 sockets in one pass over the kernel's
 * established-socket hash table. Two SOCK_DIAG_BY_FAMILY dumps walk it
 * twice, and the IPv6 one skips every IPv4 socket while filling a single
 * datagram: at 50k sockets that one read held the loop 13 ms. A kernel
 * that refuses the older request gets the two dumps (diag_v1_refused). */
static int diag_v1_refused;

static size_t dump_steps(void)
{
	return diag_v1_refused ? ARRAY_SIZE(dump_families) : 1;
}

static int step_family(size_t step)
{
	return diag_v1_refused ? dump_families[step] : AF_UNSPEC;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "TCP";
}

static uint64_t rbuf[NMT_RECV_BUF / sizeof(uint64_t)]; /* aligned for nlmsghdr */
static char pbuf[NMT_PROC_MAX + 1];

/* ---- parsing (pure) ---- */

int nmt_parse_diag_msg(const struct nlmsghdr *nlh, struct nmt_sock *out)
{
	struct nlattr *tb[INET_DIAG_MAX + 1];
	const struct inet_diag_msg *m;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -1;
	/* libnl only reads; its prototype predates const. */
	if (nlmsg_parse((struct nlmsghdr *)nlh, sizeof(*m), tb, INET_DIAG_MAX, NULL) < 0)
		return -1;
	m = nlmsg_data(nlh);
	out->cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	out->state = m->idiag_state;
	if (m->idiag_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->daddr, m->id.idiag_dst, 4);
	} else if (m->idiag_family == AF_INET6) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
							 0, 0, 0, 0, 0xff, 0xff};
		/* A dual-stack socket talking to an IPv4 peer: zones know it as
		 * IPv4. */
		if (memcmp(m->id.idiag_dst, mapped, sizeof(mapped)) == 0) {
			out->family = AF_INET;
			memcpy(out->daddr, (const unsigned char *)m->id.idiag_dst + 12,
			       4);
		} else {
			out->family = AF_INET6;
			memcpy(out->daddr, m->id.idiag_dst, 16);
		}
	} else {
		return -1;
	}
	/* Only response messages carry it; anything but TCP has no tcp_info. */
	if (tb[INET_DIAG_PROTOCOL] != NULL &&
	    (nla_len(tb[INET_DIAG_PROTOCOL]) < 1 ||
	     *(const uint8_t *)nla_data(tb[INET_DIAG_PROTOCOL]) != IPPROTO_TCP))
		return 0;
	if (tb[INET_DIAG_INFO] != NULL) {
		struct tcp_info ti;
		size_t n = (size_t)nla_len(tb[INET_DIAG_INFO]);

		/* An older kernel's tcp_info is shorter, a newer one longer:
		 * copy what both know, and only trust fields that fit in n. */
		memset(&ti, 0, sizeof(ti));
		memcpy(&ti, nla_data(tb[INET_DIAG_INFO]),
		       n < sizeof(ti) ? n : sizeof(ti));
#define HAS(f) (n >= offsetof(struct tcp_info, f) + sizeof(ti.f))
		out->have = NMT_HAVE_INFO;
		if (HAS(tcpi_total_retrans)) {
			out->have |= NMT_HAVE_TOTAL_RETRANS;
			out->total_retrans = ti.tcpi_total_retrans;
		}
		if (HAS(tcpi_segs_out)) {
			out->have |= NMT_HAVE_SEGS_OUT;
			out->segs_out = ti.tcpi_segs_out;
		}
		if (HAS(tcpi_bytes_sent)) {
			out->have |= NMT_HAVE_BYTES_SENT;
			out->bytes_sent = ti.tcpi_bytes_sent;
		}
		if (HAS(tcpi_rtt) && ti.tcpi_rtt > 0) {
			out->have |= NMT_HAVE_RTT;
			out->rtt_us = ti.tcpi_rtt;
		}
		if (HAS(tcpi_bytes_retrans)) {
			out->have |= NMT_HAVE_BYTES_RETRANS;
			out->bytes_retrans = ti.tcpi_bytes_retrans;
		}
#undef HAS
	}
	return 0;
}

struct proc_field {
	const char *name;
	uint64_t *dst;
};

/* Next blank-separated token of [*p, end), or 0 at the end. */
static int next_tok(const char **p, const char *end, const char **tok, size_t *len)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end)
		return 0;
	*tok = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*len = (size_t)(s - *tok);
	*p = s;
	return 1;
}

/* A decimal integer, optionally negative (Tcp: MaxConn is -1); -1 if not one.
 * Negative or too large for 64 bits: valid, but *v is left alone and *ok 0. */
static int parse_num(const char *s, size_t len, uint64_t *v, int *ok)
{
	uint64_t n = 0;
	size_t i = 0;
	int neg = 0;

	*ok = 0;
	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len)
		return -1;
	for (size_t j = i; j < len; j++)
		if (s[j] < '0' || s[j] > '9')
			return -1;
	for (; i < len; i++) {
		if (n > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (!neg) {
		*v = n;
		*ok = 1;
	}
	return 0;
}

/* The /proc/net/{snmp,netstat} layout: a "Prefix: Name Name ..." line directly
 * followed by "Prefix: value value ...". Fills the fields named, sets bit i of
 * *found for each; -1 when there is no such pair, the counts differ, a value
 * is not a number, or a wanted value is negative or too large. */
static int proc_pair(const char *text, size_t len, const char *prefix,
		     const struct proc_field *f, size_t nf, unsigned *found)
{
	const char *p = text, *end = text + len, *hdr = NULL, *hend = NULL, *val, *vend;
	size_t plen = strlen(prefix);

	*found = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *lend = nl ? nl : end;

		if (hdr != NULL) {
			if ((size_t)(lend - p) < plen || memcmp(p, prefix, plen) != 0)
				return -1;
			val = p + plen;
			vend = lend;
			goto pair;
		}
		if ((size_t)(lend - p) >= plen && memcmp(p, prefix, plen) == 0) {
			hdr = p + plen;
			hend = lend;
		}
		p = nl ? nl + 1 : end;
	}
	return -1;
pair:
	for (;;) {
		const char *name, *num;
		size_t nlen, vlen;
		uint64_t v = 0;
		int have_name = next_tok(&hdr, hend, &name, &nlen);
		int have_val = next_tok(&val, vend, &num, &vlen);
		int ok;

		if (have_name != have_val)
			return -1;
		if (!have_name)
			return 0;
		if (parse_num(num, vlen, &v, &ok) == -1)
			return -1;
		for (size_t i = 0; i < nf; i++) {
			if (strlen(f[i].name) != nlen ||
			    memcmp(f[i].name, name, nlen) != 0)
				continue;
			if (!ok)
				return -1;
			*f[i].dst = v;
			*found |= 1u << i;
		}
	}
}

int nmt_parse_snmp(const char *text, size_t len, struct nm_host_tcp *out)
{
	struct nm_host_tcp h = {0};
	const struct proc_field f[] = {
	    {"OutSegs", &h.out_segs},
	    {"RetransSegs", &h.retrans_segs},
	};
	unsigned found;

	if (proc_pair(text, len, "Tcp:", f, ARRAY_SIZE(f), &found) == -1 || found != 3)
		return -1;
	*out = h;
	return 0;
}

int nmt_parse_netstat(const char *text, size_t len, struct nmt_tcpext *out)
{
	struct nmt_tcpext x = {0};
	const struct proc_field f[] = {
	    {"TCPTimeouts", &x.timeouts},
	    {"TCPLostRetransmit", &x.lost_retransmit},
	    {"TCPFastRetrans", &x.fast_retrans},
	    {"TCPSlowStartRetrans", &x.slow_start_retrans},
	    {"TCPSynRetrans", &x.syn_retrans},
	    {"TCPLossProbes", &x.loss_probes},
	    {"TCPRetransFail", &x.retrans_fail},
	};
	unsigned found;

	if (proc_pair(text, len, "TcpExt:", f, ARRAY_SIZE(f), &found) == -1)
		return -1;
	*out = x;
	return 0;
}

/* ---- zones and the socket table ---- */

static int zone_of(int family, const void *daddr)
{
	int z;

	if (mod.zfn == NULL)
		return -1;
	z = mod.zfn(mod.zctx, family, daddr);
	return z >= 0 && (size_t)z < mod.nzones && z <= NMT_ZONE_MAX ? z : -1;
}

static void zone_add(int z, uint64_t segs, uint64_t retrans, uint64_t bytes,
		     uint64_t bytes_retrans)
{
	if (z < 0)
		return;
	mod.zc[z].segs_out += segs;
	mod.zc[z].retrans_segs += retrans;
	mod.zc[z].bytes_sent += bytes;
	mod.zc[z].bytes_retrans += bytes_retrans;
}

static const uint32_t rtt_le[NM_RTT_NBUCKETS] = NM_RTT_BUCKETS_US;

size_t nmt_rtt_bucket(uint32_t us)
{
	size_t lo = 0, hi = NM_RTT_NBUCKETS;

	/* the first bound >= us */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (rtt_le[mid] < us)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A socket that sent segments since it was last seen: its smoothed RTT
 * goes into its zone's histogram (a socket without an RTT sample yet adds
 * nothing). */
static void rtt_observe(int z, const struct nmt_sock *s)
{
	if (z < 0 || !(s->have & NMT_HAVE_RTT))
		return;
	mod.rtt[z].count[nmt_rtt_bucket(s->rtt_us)]++;
	mod.rtt[z].sum_us += s->rtt_us;
}

/* Any capacity, not only powers of two (the table's size follows the
 * sockets closely): the hash's top 32 bits scaled to [0, cap). */
static size_t slot_of(uint64_t cookie, size_t cap)
{
	return (size_t)(((cookie * 0x9e3779b97f4a7c15ull) >> 32) * cap >> 32);
}

static size_t next_slot(size_t i, size_t cap)
{
	return i + 1 == cap ? 0 : i + 1;
}

static struct sock_ent *find(uint64_t cookie)
{
	if (mod.cap == 0)
		return NULL;
	for (size_t i = slot_of(cookie, mod.cap);; i = next_slot(i, mod.cap)) {
		if (mod.tab[i].cookie == 0)
			return NULL;
		if (mod.tab[i].cookie == cookie)
			return &mod.tab[i];
	}
}

/* The socket table is mapped, not malloc'd, so that shrinking it after many
 * sockets closed gives the memory back at once. From malloc, glibc raises
 * its mmap threshold at the first large free, later tables come from the
 * heap, and the heap keeps its high-water mark: RSS grew by 4 MB after 50k
 * sockets closed and stayed there. Small tables too: the many small steps
 * of a table growing left heap chunks behind. */
static struct sock_ent *tab_alloc(size_t cap)
{
	size_t sz = cap * sizeof(struct sock_ent);
	void *p =
	    mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fatal("tcp: socket table of %zu bytes", sz);
	return p; /* zero-filled */
}

static void tab_free(struct sock_ent *t, size_t cap)
{
	if (t != NULL)
		munmap(t, cap * sizeof(struct sock_ent));
}

/* Move the entries worth keeping into a table of newcap slots: dead ones and
 * those missing from more than NMT_GONE_DUMPS dumps are dropped. */
static void rebuild(size_t newcap)
{
	struct sock_ent *nt = tab_alloc(newcap);
	size_t live = 0;

	for (size_t i = 0; i < mod.cap; i++) {
		struct sock_ent *e = &mod.tab[i];
		size_t j;

		if (e->cookie == 0 || e->dead || GONE(e) > NMT_GONE_DUMPS)
			continue;
		for (j = slot_of(e->cookie, newcap); nt[j].cookie != 0;
		     j = next_slot(j, newcap))
			;
		nt[j] = *e;
		live++;
	}
	tab_free(mod.tab, mod.cap);
	mod.tab = nt;
	mod.cap = newcap;
	mod.used = mod.live = live;
}

/* Slots for n entries: the table is rebuilt six-sevenths full and grows
 * when twelve-thirteenths full (64 slots at least): 32 bytes a socket over
 * 0.86-0.92 makes 50k sockets 1.7 MiB. Linear probing stays short that full
 * because cookies come in increasing runs, which the multiplicative hash
 * spreads evenly; a socket a dump lists is found in a few probes, and only a
 * socket not yet tracked scans further, once. */
static size_t cap_for(size_t n)
{
	size_t c = n + n / 6 + 64;

	return c - c % 64;
}

static int tab_full(size_t used)
{
	return 13 * used > 12 * mod.cap;
}

/* A new zeroed entry for cookie (not in the table), or NULL when full. */
static struct sock_ent *insert(uint64_t cookie)
{
	size_t i;

	if (cookie == 0)
		return NULL; /* never the kernel's: 0 marks a free slot */
	if (mod.live >= NMT_SOCKETS_MAX) {
		if (mod.st.untracked++ == 0)
			log_warnx("tcp: more than %u sockets; the rest are not counted "
				  "per zone",
				  NMT_SOCKETS_MAX);
		return NULL;
	}
	if (tab_full(mod.used + 1))
		rebuild(cap_for(mod.live + 1));
	for (i = slot_of(cookie, mod.cap); mod.tab[i].cookie != 0;
	     i = next_slot(i, mod.cap))
		;
	memset(&mod.tab[i], 0, sizeof(mod.tab[i]));
	mod.tab[i].cookie = cookie;
	mod.used++;
	mod.live++;
	return &mod.tab[i];
}

/* After a reload e's zone is looked up again, from the address s carries. */
static void rezone(struct sock_ent *e, const struct nmt_sock *s)
{
	if (e->zgen != mod.zgen) {
		e->zone = (unsigned)(zone_of(s->family, s->daddr) + 1);
		e->zgen = mod.zgen;
	}
}

/* now - then of a 64-bit byte count, then kept to 48 bits (struct
 * sock_ent): 0 if it went backwards. */
static uint64_t bytes_delta(uint64_t now, uint64_t then)
{
	uint64_t d = (now - then) & NMT_BYTES_MASK;

	return d >= (1ull << 47) ? 0 : d;
}

/* Add what s sent since e was last seen to e's zone; e takes s's counts. */
static void add_delta(struct sock_ent *e, const struct nmt_sock *s)
{
	/* tcpi_segs_out and tcpi_total_retrans are 32-bit and wrap. */
	uint32_t segs = s->segs_out - e->segs_out;
	uint32_t retrans = s->total_retrans - e->retrans;

	zone_add((int)e->zone - 1, segs, retrans,
		 bytes_delta(s->bytes_sent, e->bytes_sent),
		 bytes_delta(s->bytes_retrans, e->bytes_retrans));
	if (segs > 0)
		rtt_observe((int)e->zone - 1, s);
	e->segs_out = s->segs_out;
	e->retrans = s->total_retrans;
	e->bytes_sent = s->bytes_sent & NMT_BYTES_MASK;
	e->bytes_retrans = s->bytes_retrans & NMT_BYTES_MASK;
}

/* A socket listed by a dump. A baseline dump (nmt_init, baseline 1) records
 * counts without adding them: zones count from the daemon's start. With
 * baseline 2 only sockets first seen are recorded so (the first dump after
 * the filter widened: they existed before, unlisted), the others add their
 * deltas. */
static void sock_dumped(const struct nmt_sock *s, int baseline)
{
	struct sock_ent *e;

	if (!(s->have & NMT_HAVE_INFO))
		return;
	e = find(s->cookie);
	if (e == NULL) {
		e = insert(s->cookie);
		if (e == NULL)
			return;
		e->zone = (unsigned)(zone_of(s->family, s->daddr) + 1);
		e->zgen = mod.zgen;
		if (baseline) { /* 1 or 2 */
			e->segs_out = s->segs_out;
			e->retrans = s->total_retrans;
			e->bytes_sent = s->bytes_sent & NMT_BYTES_MASK;
			e->bytes_retrans = s->bytes_retrans & NMT_BYTES_MASK;
		}
		if (baseline == 2) {
			e->seen = (uint8_t)mod.gen;
			return;
		}
	} else if (e->dead) {
		return; /* its destroy event came first: nothing more to add */
	} else {
		rezone(e, s);
	}
	if (baseline != 1)
		add_delta(e, s);
	e->seen = (uint8_t)mod.gen;
}

/* A socket's final counts from the destroy group. */
static void sock_destroyed(const struct nmt_sock *s)
{
	struct sock_ent *e;

	if (!(s->have & NMT_HAVE_INFO))
		return;
	e = find(s->cookie);
	if (e != NULL && e->dead)
		return;
	mod.st.destroy_events++;
	if (e == NULL) {
		/* Born and gone between two dumps. */
		mod.st.destroyed_unseen++;
		int z = zone_of(s->family, s->daddr);

		zone_add(z, s->segs_out, s->total_retrans, s->bytes_sent,
			 s->bytes_retrans);
		if (s->segs_out > 0)
			rtt_observe(z, s);
		return;
	}
	rezone(e, s);
	add_delta(e, s);
	e->dead = 1;
	mod.live--;
}

/* After a complete dump: drop what is dead or long gone, if anything is. */
static void sweep(void)
{
	size_t drop = 0;

	for (size_t i = 0; i < mod.cap; i++)
		if (mod.tab[i].cookie != 0 &&
		    (mod.tab[i].dead || GONE(&mod.tab[i]) > NMT_GONE_DUMPS))
			drop++;
	if (drop > 0)
		rebuild(cap_for(mod.live));
}

/* ---- netlink input ---- */

/* Ask the CPU for the table slot of each socket in a datagram before any is
 * looked up: a large table is mostly out of cache, and one datagram lists
 * about 90 sockets whose slots are then fetched at once instead of one
 * cache miss after another (a third of the user time at 10k sockets). */
static void prefetch_slots(const void *buf, int rem)
{
	const struct nlmsghdr *nlh = buf;

	if (mod.cap == 0)
		return;
	for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem)) {
		const struct inet_diag_msg *m = nlmsg_data(nlh);
		uint64_t cookie;

		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			continue;
		cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
		__builtin_prefetch(&mod.tab[slot_of(cookie, mod.cap)]);
	}
}

/* One datagram of a dump answering seq: 1 at NLMSG_DONE, 0 for more, -1 on
 * an error answer (errno set). */
static int dump_input(const void *buf, size_t len, uint32_t seq, uint32_t port,
		      int baseline)
{
	const struct nlmsghdr *nlh = buf;
	int rem = len > INT_MAX ? INT_MAX : (int)len;

	prefetch_slots(buf, rem);
	for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem)) {
		struct nmt_sock s;
		int e;

		/* Left over from a dump that timed out: not ours. */
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != port)
			continue;
		switch (nlh->nlmsg_type) {
		case NLMSG_DONE:
			return 1;
		case NLMSG_ERROR:
			if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
				errno = EPROTO;
				return -1;
			}
			e = ((const struct nlmsgerr *)nlmsg_data(nlh))->error;
			/* 0 or -errno from the kernel; anything else is malformed
			 * (and -INT_MIN would overflow: found by fuzz_tcp,
			 * corpus/tcp/regress-error-int-min). */
			errno = e <= 0 && e >= -4095 ? -e : EPROTO;
			if (errno == 0)
				continue; /* an ACK */
			return -1;
		case SOCK_DIAG_BY_FAMILY:
		case TCPDIAG_GETSOCK: /* the answer to a one-walk dump */
			if (nmt_parse_diag_msg(nlh, &s) == -1) {
				mod.st.bad_messages++;
				continue;
			}
			sock_dumped(&s, baseline);
			break;
		}
	}
	return 0;
}

/* One datagram from the destroy groups. */
static void event_input(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rem = len > INT_MAX ? INT_MAX : (int)len;

	for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next((struct nlmsghdr *)nlh, &rem)) {
		struct nmt_sock s;

		if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		if (nmt_parse_diag_msg(nlh, &s) == -1) {
			mod.st.bad_messages++;
			continue;
		}
		sock_destroyed(&s);
	}
}

/* recvfrom into rbuf; only the kernel (port 0) is listened to. Sets *trunc
 * when the datagram did not fit. */
static ssize_t nl_read(int fd, int flags, int *trunc)
{
	struct sockaddr_nl sa;
	struct iovec iov = {rbuf, sizeof(rbuf)};
	struct msghdr mh = {
	    .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	for (;;) {
		memset(&sa, 0, sizeof(sa));
		n = recvmsg(fd, &mh, flags);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		*trunc = (mh.msg_flags & MSG_TRUNC) != 0;
		if (sa.nl_pid == 0)
			return n;
	}
}

/* Ask for the dump of step mod.d.fam. 0 or -1 (logged). */
static int dump_request(void)
{
	struct inet_diag_req_v2 req;
	struct inet_diag_req req1;
	struct nl_msg *msg;
	int family = step_family(mod.d.fam), err;

	if (family == AF_UNSPEC) {
		memset(&req1, 0, sizeof(req1));
		req1.idiag_family = AF_INET; /* ignored by a dump */
		req1.idiag_ext = 1u << (INET_DIAG_INFO - 1);
		req1.idiag_states = NMT_STATES;
		msg = nlmsg_alloc_simple(TCPDIAG_GETSOCK, NLM_F_REQUEST | NLM_F_DUMP);
		if (msg != NULL &&
		    nlmsg_append(msg, &req1, sizeof(req1), NLMSG_ALIGNTO) < 0)
			fatalx("tcp: out of memory");
	} else {
		memset(&req, 0, sizeof(req));
		req.sdiag_family = (uint8_t)family;
		req.sdiag_protocol = IPPROTO_TCP;
		req.idiag_states = NMT_STATES;
		req.idiag_ext = 1u << (INET_DIAG_INFO - 1);
		msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP);
		if (msg != NULL &&
		    nlmsg_append(msg, &req, sizeof(req), NLMSG_ALIGNTO) < 0)
			fatalx("tcp: out of memory");
	}
	if (msg == NULL || (mod.filtered && nla_put(msg, INET_DIAG_REQ_BYTECODE,
						    (int)mod.bclen, mod.bc) < 0))
		fatalx("tcp: out of memory");
	err = nl_send_auto(mod.dsk, msg); /* fills in sequence number and port */
	mod.d.seq = nlmsg_hdr(msg)->nlmsg_seq;
	mod.d.port = nl_socket_get_local_port(mod.dsk);
	nlmsg_free(msg);
	if (err < 0) {
		log_warnx("tcp: sock_diag %s dump request: %s", family_name(family),
			  nl_geterror(err));
		return -1;
	}
	return 0;
}

static void dump_end(int rc);
static int read_host(void);
static void close_interval(void);

/* Read up to max datagrams of the dump in progress: flags MSG_DONTWAIT on
 * the loop, 0 to wait for them (the socket's receive timeout bounds each
 * wait). 1 when the dump ended (dump_end ran), 0 when more is to come. */
static int dump_read(int flags, int max)
{
	int fd = nl_socket_get_fd(mod.dsk), trunc;

	for (int i = 0; i < max; i++) {
		int family = step_family(mod.d.fam), done;
		const char *fam = family_name(family);
		ssize_t n = nl_read(fd, flags, &trunc);

		if (n == -1 && (flags & MSG_DONTWAIT) &&
		    (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1) {
			log_warn("tcp: sock_diag %s dump", fam);
			goto fail;
		}
		if (trunc) {
			log_warnx("tcp: sock_diag %s dump: datagram larger than %d bytes",
				  fam, NMT_RECV_BUF);
			goto fail;
		}
		done = dump_input(rbuf, (size_t)n, mod.d.seq, mod.d.port,
				  mod.d.kind == DUMP_BASELINE ? 1
				  : mod.new_as_baseline	      ? 2
							      : 0);
		if (done == -1 && family == AF_UNSPEC &&
		    (errno == EINVAL || errno == EOPNOTSUPP || errno == ENOENT)) {
			/* No TCPDIAG_GETSOCK here: a dump per family. */
			log_info("tcp: sock_diag: the one-walk TCP dump is refused (%s); "
				 "dumping IPv4 and IPv6 apart",
				 strerror(errno));
			diag_v1_refused = 1;
			if (dump_request() == -1)
				goto fail;
			continue;
		}
		if (done == -1) {
			/* No IPv6 in this kernel: nothing to list. */
			if (family == AF_INET6 &&
			    (errno == ENOENT || errno == EAFNOSUPPORT))
				done = 1;
			else {
				log_warn("tcp: sock_diag %s dump", fam);
				goto fail;
			}
		}
		if (done == 1) {
			if (++mod.d.fam < dump_steps()) {
				if (dump_request() == -1)
					goto fail;
				continue;
			}
			dump_end(0);
			return 1;
		}
	}
	return 0;
fail:
	dump_end(-1);
	return 1;
}

/* CPU time of this thread, in microseconds: what a slice costs the loop,
 * whatever else the machine runs. */
static uint64_t thread_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_dump(int fd, uint32_t events, void *arg)
{
	uint64_t t0 = thread_us(), t;

	dump_read(MSG_DONTWAIT, NMT_DUMP_SLICE);
	t = thread_us() - t0;
	if (t > mod.st.slice_max_us)
		mod.st.slice_max_us = t;
}

static void on_dump_timeout(void *arg)
{
	mod.d.timer = 0;
	log_warnx("tcp: sock_diag dump unanswered for %d s; given up",
		  NMT_DUMP_TIMEOUT_S);
	dump_end(-1);
}

/* Start a dump of kind; on_loop: read on the loop in slices (nmt_collect_start
 * and re-dumps), else the caller reads it to its end. 0 or -1 (logged; no
 * dump in progress then). */
static int dump_begin(int kind, int on_loop, nmt_done_fn done, void *arg)
{
	mod.gen++;
	mod.redump = 0; /* this dump puts every survivor back on track */
	memset(&mod.d, 0, sizeof(mod.d));
	mod.d.kind = kind;
	mod.d.done = done;
	mod.d.arg = arg;
	if (dump_request() == -1) {
		mod.d.kind = DUMP_NONE;
		return -1;
	}
	if (on_loop) {
		if (ev_fd_set(nl_socket_get_fd(mod.dsk), EPOLLIN, on_dump, NULL) == -1) {
			mod.d.kind = DUMP_NONE;
			return -1;
		}
		mod.d.watched = 1;
		/* Real seconds, also on a fake clock. */
		mod.d.timer = ev_timer_add(ev_from_real(NMT_DUMP_TIMEOUT_S * 1000),
					   on_dump_timeout, NULL);
	}
	return 0;
}

/* The dump ended, complete (rc 0) or not: a complete one drops what it no
 * longer lists; a collection also reads the host counters and closes the
 * ratio interval, then tells whoever started it. */
static void dump_end(int rc)
{
	int kind = mod.d.kind;
	nmt_done_fn done = mod.d.done;
	void *arg = mod.d.arg;

	if (mod.d.watched)
		ev_fd_del(nl_socket_get_fd(mod.dsk));
	if (mod.d.timer)
		ev_timer_cancel(mod.d.timer);
	memset(&mod.d, 0, sizeof(mod.d));
	mod.last_rc = rc;
	if (rc == 0) {
		mod.new_as_baseline = 0;
		sweep();
		mod.st.dumps++;
		if (kind == DUMP_REDUMP)
			mod.st.redumps++;
	}
	if (kind == DUMP_COLLECT) {
		if (read_host() == -1)
			rc = -1;
		close_interval();
	}
	if (done != NULL)
		done(rc, arg);
	/* Events were lost while it ran: again, on the loop. */
	if (mod.redump && mod.d.kind == DUMP_NONE && mod.dsk != NULL)
		dump_begin(DUMP_REDUMP, 1, NULL, NULL);
}

/* Read the dump in progress to its end, here and now. */
static void dump_finish(void)
{
	for (int guard = 0; mod.d.kind != DUMP_NONE && guard < 1000000; guard++)
		dump_read(0, 64);
	if (mod.d.kind != DUMP_NONE)
		dump_end(-1);
}

/* A whole dump of kind, read here (after the one in progress, if any). 0 or
 * -1. */
static int dump_sync(int kind)
{
	dump_finish();
	if (dump_begin(kind, 0, NULL, NULL) == -1)
		return -1;
	dump_finish();
	return mod.last_rc;
}

/* Read what is queued on the event socket, up to NMT_DRAIN_MAX datagrams. */
static void drain_events(void)
{
	for (int i = 0; i < NMT_DRAIN_MAX; i++) {
		int trunc;
		ssize_t n = nl_read(mod.efd, MSG_DONTWAIT, &trunc);

		if (n == -1 && errno == ENOBUFS) {
			/* The kernel dropped destroy events: their sockets' last
			 * deltas are lost, but a dump now puts every survivor back
			 * on track. */
			mod.st.lost_events++;
			mod.redump = 1;
			log_warnx("tcp: destroy events lost (socket buffer full, %llu "
				  "times so far); re-dumping",
				  (unsigned long long)mod.st.lost_events);
			continue;
		}
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("tcp: destroy events");
			return;
		}
		if (trunc) {
			mod.st.lost_events++;
			mod.redump = 1;
			continue;
		}
		event_input(rbuf, (size_t)n);
	}
}

static void on_events(int fd, uint32_t events, void *arg)
{
	drain_events();
	/* A dump in progress re-dumps when it ends (dump_end). */
	if (mod.redump && mod.d.kind == DUMP_NONE)
		dump_begin(DUMP_REDUMP, 1, NULL, NULL);
}

/* ---- host-wide ---- */

/* Whole file into pbuf, at most NMT_PROC_MAX bytes. */
static ssize_t read_proc(const char *path)
{
	ssize_t n = read_file_capped(path, 0, pbuf, NMT_PROC_MAX);

	if (n == -1 && errno == EFBIG)
		log_warnx("tcp: %s is larger than %d bytes", path, NMT_PROC_MAX);
	else if (n == -1)
		log_warn("tcp: %s", path);
	return n;
}

static int read_host(void)
{
	ssize_t n;
	int rc = 0;

	n = read_proc("/proc/net/snmp");
	if (n == -1 || nmt_parse_snmp(pbuf, (size_t)n, &mod.host) == -1) {
		if (n != -1)
			log_warnx("tcp: /proc/net/snmp: no Tcp: OutSegs/RetransSegs");
		rc = -1;
	}
	n = read_proc("/proc/net/netstat");
	if (n == -1 || nmt_parse_netstat(pbuf, (size_t)n, &mod.ext) == -1) {
		if (n != -1)
			log_warnx("tcp: /proc/net/netstat: no TcpExt: lines");
		rc = -1;
	}
	return rc;
}

/* ---- the dump filter ---- */

/* Does prefix a hold prefix b (same family)? */
static int pfx_holds(const struct nmt_prefix *a, const struct nmt_prefix *b)
{
	int bytes = a->plen / 8, bits = a->plen % 8;

	if (a->family != b->family || a->plen > b->plen)
		return 0;
	if (memcmp(a->addr, b->addr, (size_t)bytes) != 0)
		return 0;
	return bits == 0 ||
	       ((a->addr[bytes] ^ b->addr[bytes]) & (0xff << (8 - bits)) & 0xff) == 0;
}

size_t nmt_filter_build(const struct nmt_prefix *p, size_t n, unsigned char *bc,
			size_t cap)
{
	struct inet_diag_bc_op op;
	struct inet_diag_hostcond hc;
	size_t len = 0, kept = 0, last = 0, *at;

	if (n == 0) {
		/* Nothing is in a zone: one jump past the end rejects all. */
		if (cap < sizeof(op))
			return 0;
		op = (struct inet_diag_bc_op){INET_DIAG_BC_JMP, 4, 8};
		memcpy(bc, &op, sizeof(op));
		return sizeof(op);
	}
	at = xcalloc(n, sizeof(*at));
	/* "destination in p[0] or p[1] or ...", laid out as ss does "a or b":
	 * each condition matching goes on to a jump to the end (accept), not
	 * matching skips that jump to the next condition; the last one's "no"
	 * lands 4 bytes past the end, the kernel's reject. The kernel's audit
	 * wants every target on the chain of "yes" steps, which this is.
	 * Prefixes held by another add nothing and are left out. */
	for (size_t i = 0; i < n; i++) {
		size_t alen = p[i].family == AF_INET ? 4 : 16, csz;
		size_t j;

		for (j = 0; j < n; j++)
			if (j != i && pfx_holds(&p[j], &p[i]) &&
			    (!pfx_holds(&p[i], &p[j]) || j < i))
				break;
		if (j < n)
			continue;
		csz = sizeof(op) + sizeof(hc) + alen;
		if (len + csz + sizeof(op) > cap) {
			len = 0;
			goto out;
		}
		op = (struct inet_diag_bc_op){INET_DIAG_BC_D_COND, (unsigned char)csz,
					      (unsigned short)(csz + sizeof(op))};
		memset(&hc, 0, sizeof(hc));
		hc.family = (uint8_t)p[i].family;
		hc.prefix_len = (uint8_t)p[i].plen;
		hc.port = -1;
		memcpy(bc + len, &op, sizeof(op));
		memcpy(bc + len + sizeof(op), &hc, sizeof(hc));
		memcpy(bc + len + sizeof(op) + sizeof(hc), p[i].addr, alen);
		last = len;
		len += csz;
		/* the jump to the end: its "no" is filled in below */
		op = (struct inet_diag_bc_op){INET_DIAG_BC_JMP, 4, 0};
		memcpy(bc + len, &op, sizeof(op));
		at[kept++] = len;
		len += sizeof(op);
	}
	/* The last condition needs no jump after it: it is the end. */
	len -= sizeof(op);
	kept--;
	memcpy(&op, bc + last, sizeof(op));
	op.no = (unsigned short)(op.yes + 4);
	memcpy(bc + last, &op, sizeof(op));
	if (len > 0xffff) { /* a jump's reach */
		len = 0;
		goto out;
	}
	for (size_t k = 0; k < kept; k++) {
		memcpy(&op, bc + at[k], sizeof(op));
		op.no = (unsigned short)(len - at[k]);
		memcpy(bc + at[k], &op, sizeof(op));
	}
out:
	free(at);
	return len;
}

void nmt_set_filter(const struct nmt_prefix *p, size_t n)
{
	unsigned char *bc = NULL;
	size_t len = 0;
	int widened;

	if (n <= NMT_FILTER_MAX) {
		bc = xcalloc(1, NMT_FILTER_BYTES);
		len = nmt_filter_build(p, n, bc, NMT_FILTER_BYTES);
	}
	if (len == 0) {
		log_info("tcp: %zu zone prefixes are too many for a kernel-side filter; "
			 "every socket is dumped",
			 n);
		free(bc);
		bc = NULL;
	}
	/* Sockets a new filter lets through existed before unlisted: the next
	 * dump counts them from then on, as the first dump does. */
	widened = mod.dsk != NULL && (mod.filtered || bc != NULL) &&
		  (bc == NULL || !mod.filtered || len != mod.bclen ||
		   memcmp(bc, mod.bc, len) != 0);
	if (widened)
		mod.new_as_baseline = 1;
	free(bpf.pfx);
	bpf.pfx = xcalloc(n + 1, sizeof(*p));
	memcpy(bpf.pfx, p, n * sizeof(*p));
	bpf.npfx = n;
	free(mod.bc);
	mod.bc = bc;
	mod.bclen = len;
	mod.filtered = bc != NULL;
}

/* ---- the module ---- */

static void close_interval(void)
{
	for (size_t z = 0; z < mod.nzones; z++) {
		uint64_t segs = mod.zc[z].segs_out - mod.snap[z].segs_out;
		uint64_t retrans = mod.zc[z].retrans_segs - mod.snap[z].retrans_segs;

		mod.ratio[z] = segs == 0 ? 0.0 : (double)retrans / (double)segs;
		if (mod.ratio[z] > 1.0)
			mod.ratio[z] = 1.0;
		mod.snap[z] = mod.zc[z];
	}
}

static void set_zones(size_t nzones, nmt_zone_fn fn, void *ctx)
{
	free(mod.zc);
	free(mod.snap);
	free(mod.ratio);
	free(mod.rtt);
	mod.nzones = nzones;
	mod.zfn = fn;
	mod.zctx = ctx;
	mod.zc = xcalloc(nzones ? nzones : 1, sizeof(*mod.zc));
	mod.snap = xcalloc(nzones ? nzones : 1, sizeof(*mod.snap));
	mod.ratio = xcalloc(nzones ? nzones : 1, sizeof(*mod.ratio));
	mod.rtt = xcalloc(nzones ? nzones : 1, sizeof(*mod.rtt));
}

static struct nl_sock *diag_socket(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (sk == NULL)
		fatalx("tcp: out of memory");
	err = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (err < 0) {
		log_warnx("tcp: sock_diag socket: %s", nl_geterror(err));
		nl_socket_free(sk);
		return NULL;
	}
	nl_socket_disable_auto_ack(sk);
	return sk;
}

static int events_open(void)
{
	int err;

	mod.esk = diag_socket();
	if (mod.esk == NULL)
		return -1;
	mod.efd = nl_socket_get_fd(mod.esk);
	err = nl_socket_add_memberships(mod.esk, SKNLGRP_INET_TCP_DESTROY,
					SKNLGRP_INET6_TCP_DESTROY, 0);
	if (err < 0) {
		log_warnx("tcp: joining the sock_diag TCP destroy groups: %s%s",
			  nl_geterror(err),
			  err == -NLE_PERM ? " (this kernel wants CAP_NET_ADMIN)" : "");
		return -1;
	}
	/* Bursts of closes arrive faster than one loop round: a large buffer
	 * keeps ENOBUFS for real overload. FORCE passes net.core.rmem_max but
	 * needs CAP_NET_ADMIN; without it the buffer stops at rmem_max. */
	if (setsockopt(mod.efd, SOL_SOCKET, SO_RCVBUFFORCE, &mod.rcvbuf,
		       sizeof(mod.rcvbuf)) == -1 &&
	    setsockopt(mod.efd, SOL_SOCKET, SO_RCVBUF, &mod.rcvbuf, sizeof(mod.rcvbuf)) ==
		-1)
		log_warn("tcp: destroy events receive buffer");
	err = nl_socket_set_nonblocking(mod.esk);
	if (err < 0) {
		log_warnx("tcp: destroy events socket: %s", nl_geterror(err));
		return -1;
	}
	return ev_fd_set(mod.efd, EPOLLIN, on_events, NULL);
}

/* ---- the eBPF path: the kernel adds per zone, we copy the totals ---- */

void nmt_set_bpf(int mode)
{
	bpf.mode = mode;
}

void nmt_set_tcp_count(int where)
{
	nmtb_set_walk(where == NM_TCP_WALK);
}

int nmt_bpf_active(void)
{
	return bpf.active;
}

/* Load the eBPF counting if the mode allows: 0 when it runs (baseline
 * taken), -1 when not (said at info, or as a warning with bpf = yes). */
static int bpf_init(size_t nzones)
{
	char why[256];

	if (bpf.mode == NM_BPF_NO) {
		log_info("tcp: per-zone counting with sock_diag ([netmon] bpf = no)");
		return -1;
	}
	if (bpf.pfx == NULL)
		snprintf(why, sizeof(why), "no zone prefixes given");
	else if (nzones > nmtb_zones_max())
		snprintf(why, sizeof(why), "%zu zones; the eBPF counters hold %zu",
			 nzones, nmtb_zones_max());
	else if (nmtb_open(why, sizeof(why)) == 0) {
		if (nmtb_zones(bpf.pfx, bpf.npfx, nzones, 0) == 0 && nmtb_run(1) == 0) {
			log_info("tcp: per-zone counting in eBPF (%s, close tracepoint)",
				 nmtb_how());
			bpf.active = 1;
			mod.st.dumps++; /* the baseline, as a sock_diag one counts */
			return 0;
		}
		snprintf(why, sizeof(why),
			 "setting up the zones or the first walk failed");
		nmtb_close();
	}
	if (bpf.mode == NM_BPF_YES)
		log_warnx(
		    "tcp: [netmon] bpf = yes, but the eBPF TCP counting cannot run: %s",
		    why);
	else
		log_info("tcp: per-zone counting with sock_diag: no eBPF (%s)", why);
	return -1;
}

/* A walk ended: the kernel's per-zone totals become this collection's. */
static int bpf_collected(int rc)
{
	size_t visited;

	if (rc == 0)
		mod.st.dumps++;
	for (size_t z = 0; z < mod.nzones; z++)
		nmtb_zone(z, &mod.zc[z], &mod.rtt[z]);
	nmtb_stats(&visited, &mod.st.destroy_events, &mod.st.destroyed_unseen,
		   &mod.st.quiet);
	if (read_host() == -1)
		rc = -1;
	close_interval();
	return rc;
}

static void on_bpf_done(int rc)
{
	uint64_t t0 = thread_us(), t;
	nmt_done_fn done = bpf.done;
	void *arg = bpf.arg;

	rc = bpf_collected(rc);
	t = thread_us() - t0;
	if (t > mod.st.slice_max_us)
		mod.st.slice_max_us = t;
	bpf.done = NULL;
	if (done != NULL)
		done(rc, arg);
}

int nmt_init(size_t nzones, nmt_zone_fn fn, void *ctx)
{
	struct timeval tv = {NMT_DUMP_TIMEOUT_S, 0};

	/* Keep what nmt_set_filter set; the rest starts afresh. */
	unsigned char *bc = mod.bc;
	size_t bclen = mod.bclen;
	int filtered = mod.filtered;

	mod.bc = NULL;
	nmt_fini();
	mod.bc = bc;
	mod.bclen = bclen;
	mod.filtered = filtered;
	set_zones(nzones, fn, ctx);
	if (bpf_init(nzones) == 0) {
		if (read_host() == -1)
			goto fail;
		return 0;
	}
	if (bpf.mode == NM_BPF_YES)
		goto fail;
	mod.dsk = diag_socket();
	if (mod.dsk == NULL)
		goto fail;
	/* A dump answers at once; the timeout only guards a wedged kernel. */
	if (setsockopt(nl_socket_get_fd(mod.dsk), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) == -1)
		log_warn("tcp: sock_diag receive timeout");
	/* Join the groups before the baseline dump: a socket is then either in
	 * the dump or in an event, never in neither. */
	if (events_open() == -1)
		goto fail;
	if (dump_sync(DUMP_BASELINE) == -1 || read_host() == -1)
		goto fail;
	return 0;
fail:
	nmt_fini();
	return -1;
}

int nmt_collect(void)
{
	if (bpf.active) {
		nmtb_wait(); /* one on the worker ends first */
		mod.st.collections++;
		return bpf_collected(nmtb_run(0));
	}
	if (mod.dsk == NULL)
		return -1;
	dump_finish(); /* one on the loop ends first, counted as it began */
	mod.st.collections++;
	/* Destroy events first: then a socket missing from this dump has
	 * usually had its final count already. */
	drain_events();
	return dump_sync(DUMP_COLLECT);
}

int nmt_collect_start(nmt_done_fn done, void *arg)
{
	if (bpf.active) {
		if (nmtb_busy())
			return 1;
		mod.st.collections++;
		bpf.done = done;
		bpf.arg = arg;
		return nmtb_start(on_bpf_done);
	}
	if (mod.dsk == NULL)
		return -1;
	if (mod.d.kind == DUMP_COLLECT || mod.d.kind == DUMP_BASELINE)
		return 1; /* the last one is still being read */
	mod.st.collections++;
	drain_events();
	if (mod.d.kind == DUMP_REDUMP) {
		/* A re-dump under way does what this dump would: it becomes
		 * the collection. */
		mod.d.kind = DUMP_COLLECT;
		mod.d.done = done;
		mod.d.arg = arg;
		return 0;
	}
	return dump_begin(DUMP_COLLECT, 1, done, arg);
}

int nmt_reload(size_t nzones, nmt_zone_fn fn, void *ctx)
{
	if (bpf.active) {
		nmtb_wait();
		set_zones(nzones, fn, ctx);
		return nmtb_zones(bpf.pfx, bpf.npfx, nzones, 1);
	}
	if (mod.dsk == NULL)
		return -1;
	set_zones(nzones, fn, ctx);
	mod.zgen++; /* each socket is re-zoned when next seen */
	return 0;
}

void nmt_fini(void)
{
	int rcvbuf = mod.rcvbuf;

	/* A dump in progress is dropped; whoever started it is not called. */
	if (mod.d.watched)
		ev_fd_del(nl_socket_get_fd(mod.dsk));
	if (mod.d.timer)
		ev_timer_cancel(mod.d.timer);

	if (bpf.active)
		nmtb_close();
	bpf.active = 0;
	bpf.done = NULL;
	if (mod.efd != -1)
		ev_fd_del(mod.efd);
	if (mod.esk)
		nl_socket_free(mod.esk);
	if (mod.dsk)
		nl_socket_free(mod.dsk);
	tab_free(mod.tab, mod.cap);
	free(mod.zc);
	free(mod.snap);
	free(mod.ratio);
	free(mod.rtt);
	free(mod.bc);
	memset(&mod, 0, sizeof(mod));
	mod.efd = -1;
	mod.rcvbuf = rcvbuf;
}

void nmt_zone(size_t zone, struct nm_tcp_counters *out)
{
	if (zone < mod.nzones && mod.zc != NULL)
		*out = mod.zc[zone];
	else
		memset(out, 0, sizeof(*out));
}

void nmt_rtt(size_t zone, struct nm_rtt_hist *out)
{
	if (zone < mod.nzones && mod.rtt != NULL)
		*out = mod.rtt[zone];
	else
		memset(out, 0, sizeof(*out));
}

void nmt_rezone(void)
{
	if (bpf.active)
		nmtb_rezone();
	mod.zgen++;
}

double nmt_ratio(size_t zone)
{
	return zone < mod.nzones && mod.ratio != NULL ? mod.ratio[zone] : 0.0;
}

void nmt_host(struct nm_host_tcp *out)
{
	*out = mod.host;
}

void nmt_host_ext(struct nmt_tcpext *out)
{
	*out = mod.ext;
}

uint64_t nmt_lost_events(void)
{
	return mod.st.lost_events;
}

void nmt_stats(struct nmt_stats *out)
{
	*out = mod.st;
	out->sockets = mod.live;
	if (bpf.active) {
		uint64_t closes, unseen, quiet;
		nmtb_stats(&out->sockets, &closes, &unseen, &quiet);
	}
}

void nmt_set_event_rcvbuf(int bytes)
{
	mod.rcvbuf = bytes;
}
