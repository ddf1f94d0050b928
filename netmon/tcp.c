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
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon/ev.h"
#include "daemon/log.h"
#include "daemon/util.h"
#include "netmon/tcp.h"

#define NMT_RECV_BUF	     65536	/* > the kernel's 32 KiB dump skbs */
#define NMT_PROC_MAX	     65536	/* /proc/net/netstat is ~5 KiB */
#define NMT_SOCKETS_MAX	     (1u << 19) /* tracked sockets; beyond: untracked */
#define NMT_GONE_DUMPS	     32		/* dumps a vanished socket is remembered */
#define NMT_DRAIN_MAX	     256	/* event datagrams read per callback */
#define NMT_DUMP_TIMEOUT_S   5
#define NMT_EVENT_RCVBUF_DEF (4 << 20)

/* idiag_states: every state in which a full socket can send. Not LISTEN,
 * TIME_WAIT or NEW_SYN_RECV (mini sockets without tcp_info), not CLOSE
 * (unhashed, never dumped). Values from the kernel's net/tcp_states.h. */
#define NMT_STATES                                                                       \
	((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 8) |         \
	 (1u << 9) | (1u << 11))

struct sock_ent {
	uint64_t cookie;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t segs_out, retrans;
	uint32_t seen; /* dump generation that last listed it */
	int zone;      /* -1: in no zone */
	uint8_t used, dead;
	uint8_t family;
	unsigned char daddr[16];
};

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

	struct sock_ent *tab; /* open addressing, linear probing */
	size_t cap, used, live;
	uint32_t gen;
	int redump;

	struct nm_host_tcp host;
	struct nmt_tcpext ext;
	struct nmt_stats st;
} mod = {.efd = -1, .rcvbuf = NMT_EVENT_RCVBUF_DEF};

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
	return z >= 0 && (size_t)z < mod.nzones ? z : -1;
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

static size_t slot_of(uint64_t cookie, size_t cap)
{
	return (size_t)((cookie * 0x9e3779b97f4a7c15ull) >> 40) & (cap - 1);
}

static struct sock_ent *find(uint64_t cookie)
{
	if (mod.cap == 0)
		return NULL;
	for (size_t i = slot_of(cookie, mod.cap);; i = (i + 1) & (mod.cap - 1)) {
		if (!mod.tab[i].used)
			return NULL;
		if (mod.tab[i].cookie == cookie)
			return &mod.tab[i];
	}
}

/* Move the entries worth keeping into a table of newcap slots: dead ones and
 * those missing from more than NMT_GONE_DUMPS dumps are dropped. */
static void rebuild(size_t newcap)
{
	struct sock_ent *nt = xcalloc(newcap, sizeof(*nt));
	size_t live = 0;

	for (size_t i = 0; i < mod.cap; i++) {
		struct sock_ent *e = &mod.tab[i];
		size_t j;

		if (!e->used || e->dead || mod.gen - e->seen > NMT_GONE_DUMPS)
			continue;
		for (j = slot_of(e->cookie, newcap); nt[j].used;
		     j = (j + 1) & (newcap - 1))
			;
		nt[j] = *e;
		live++;
	}
	free(mod.tab);
	mod.tab = nt;
	mod.cap = newcap;
	mod.used = mod.live = live;
}

static size_t cap_for(size_t n)
{
	size_t c = 64;

	while (c < 2 * n)
		c *= 2;
	return c;
}

/* A new zeroed entry for cookie (not in the table), or NULL when full. */
static struct sock_ent *insert(uint64_t cookie)
{
	size_t i;

	if (mod.live >= NMT_SOCKETS_MAX) {
		if (mod.st.untracked++ == 0)
			log_warnx("tcp: more than %u sockets; the rest are not counted "
				  "per zone",
				  NMT_SOCKETS_MAX);
		return NULL;
	}
	if (2 * (mod.used + 1) > mod.cap)
		rebuild(cap_for(mod.live + 1));
	for (i = slot_of(cookie, mod.cap); mod.tab[i].used; i = (i + 1) & (mod.cap - 1))
		;
	memset(&mod.tab[i], 0, sizeof(mod.tab[i]));
	mod.tab[i].used = 1;
	mod.tab[i].cookie = cookie;
	mod.used++;
	mod.live++;
	return &mod.tab[i];
}

/* Add what s sent since e was last seen to e's zone; e takes s's counts. */
static void add_delta(struct sock_ent *e, const struct nmt_sock *s)
{
	/* tcpi_segs_out and tcpi_total_retrans are 32-bit and wrap. */
	uint32_t segs = s->segs_out - e->segs_out;
	uint32_t retrans = s->total_retrans - e->retrans;
	uint64_t bytes =
	    s->bytes_sent >= e->bytes_sent ? s->bytes_sent - e->bytes_sent : 0;
	uint64_t bretrans = s->bytes_retrans >= e->bytes_retrans
				? s->bytes_retrans - e->bytes_retrans
				: 0;

	zone_add(e->zone, segs, retrans, bytes, bretrans);
	e->segs_out = s->segs_out;
	e->retrans = s->total_retrans;
	e->bytes_sent = s->bytes_sent;
	e->bytes_retrans = s->bytes_retrans;
}

/* A socket listed by a dump. A baseline dump (nmt_init) records counts
 * without adding them: zones count from the daemon's start. */
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
		e->family = (uint8_t)s->family;
		memcpy(e->daddr, s->daddr, sizeof(e->daddr));
		e->zone = zone_of(s->family, s->daddr);
		if (baseline) {
			e->segs_out = s->segs_out;
			e->retrans = s->total_retrans;
			e->bytes_sent = s->bytes_sent;
			e->bytes_retrans = s->bytes_retrans;
		}
	} else if (e->dead) {
		return; /* its destroy event came first: nothing more to add */
	}
	if (!baseline)
		add_delta(e, s);
	e->seen = mod.gen;
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
		zone_add(zone_of(s->family, s->daddr), s->segs_out, s->total_retrans,
			 s->bytes_sent, s->bytes_retrans);
		return;
	}
	add_delta(e, s);
	e->dead = 1;
	mod.live--;
}

/* After a complete dump: drop what is dead or long gone, if anything is. */
static void sweep(void)
{
	size_t drop = 0;

	for (size_t i = 0; i < mod.cap; i++)
		if (mod.tab[i].used &&
		    (mod.tab[i].dead || mod.gen - mod.tab[i].seen > NMT_GONE_DUMPS))
			drop++;
	if (drop > 0)
		rebuild(cap_for(mod.live));
}

/* ---- netlink input ---- */

/* One datagram of a dump answering seq: 1 at NLMSG_DONE, 0 for more, -1 on
 * an error answer (errno set). */
static int dump_input(const void *buf, size_t len, uint32_t seq, uint32_t port,
		      int baseline)
{
	const struct nlmsghdr *nlh = buf;
	int rem = len > INT_MAX ? INT_MAX : (int)len;

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

static int dump_family(int family, int baseline)
{
	struct inet_diag_req_v2 req;
	struct nl_msg *msg;
	uint32_t seq, port;
	int fd = nl_socket_get_fd(mod.dsk), err, done = 0, trunc;
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";

	memset(&req, 0, sizeof(req));
	req.sdiag_family = (uint8_t)family;
	req.sdiag_protocol = IPPROTO_TCP;
	req.idiag_states = NMT_STATES;
	req.idiag_ext = 1u << (INET_DIAG_INFO - 1);
	msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP);
	if (msg == NULL || nlmsg_append(msg, &req, sizeof(req), NLMSG_ALIGNTO) < 0)
		fatalx("tcp: out of memory");
	err = nl_send_auto(mod.dsk, msg); /* fills in sequence number and port */
	seq = nlmsg_hdr(msg)->nlmsg_seq;
	port = nl_socket_get_local_port(mod.dsk);
	nlmsg_free(msg);
	if (err < 0) {
		log_warnx("tcp: sock_diag %s dump request: %s", fam, nl_geterror(err));
		return -1;
	}
	while (!done) {
		ssize_t n = nl_read(fd, 0, &trunc);

		if (n == -1) {
			log_warn("tcp: sock_diag %s dump", fam);
			return -1;
		}
		if (trunc) {
			log_warnx("tcp: sock_diag %s dump: datagram larger than %d bytes",
				  fam, NMT_RECV_BUF);
			return -1;
		}
		done = dump_input(rbuf, (size_t)n, seq, port, baseline);
		if (done == -1) {
			/* No IPv6 in this kernel: nothing to list. */
			if (family == AF_INET6 &&
			    (errno == ENOENT || errno == EAFNOSUPPORT))
				return 0;
			log_warn("tcp: sock_diag %s dump", fam);
			return -1;
		}
	}
	return 0;
}

static int dump_all(int baseline)
{
	mod.gen++;
	if (dump_family(AF_INET, baseline) == -1 || dump_family(AF_INET6, baseline) == -1)
		return -1;
	sweep();
	mod.st.dumps++;
	mod.redump = 0;
	return 0;
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
	if (mod.redump && dump_all(0) == 0)
		mod.st.redumps++;
}

/* ---- host-wide ---- */

/* Whole file into pbuf, at most NMT_PROC_MAX bytes. */
static ssize_t read_proc(const char *path)
{
	size_t len = 0;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		log_warn("tcp: %s", path);
		return -1;
	}
	for (;;) {
		n = read(fd, pbuf + len, NMT_PROC_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("tcp: %s", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > NMT_PROC_MAX) {
			log_warnx("tcp: %s is larger than %d bytes", path, NMT_PROC_MAX);
			n = -1;
			goto out;
		}
	}
	n = (ssize_t)len;
out:
	close(fd);
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
	mod.nzones = nzones;
	mod.zfn = fn;
	mod.zctx = ctx;
	mod.zc = xcalloc(nzones ? nzones : 1, sizeof(*mod.zc));
	mod.snap = xcalloc(nzones ? nzones : 1, sizeof(*mod.snap));
	mod.ratio = xcalloc(nzones ? nzones : 1, sizeof(*mod.ratio));
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

int nmt_init(size_t nzones, nmt_zone_fn fn, void *ctx)
{
	struct timeval tv = {NMT_DUMP_TIMEOUT_S, 0};

	nmt_fini();
	set_zones(nzones, fn, ctx);
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
	if (dump_all(1) == -1 || read_host() == -1)
		goto fail;
	return 0;
fail:
	nmt_fini();
	return -1;
}

int nmt_collect(void)
{
	int rc = 0;

	if (mod.dsk == NULL)
		return -1;
	mod.st.collections++;
	/* Destroy events first: then a socket missing from this dump has
	 * usually had its final count already. */
	drain_events();
	if (dump_all(0) == -1)
		rc = -1;
	if (read_host() == -1)
		rc = -1;
	close_interval();
	return rc;
}

int nmt_reload(size_t nzones, nmt_zone_fn fn, void *ctx)
{
	if (mod.dsk == NULL)
		return -1;
	set_zones(nzones, fn, ctx);
	for (size_t i = 0; i < mod.cap; i++)
		if (mod.tab[i].used)
			mod.tab[i].zone = zone_of(mod.tab[i].family, mod.tab[i].daddr);
	return 0;
}

void nmt_fini(void)
{
	int rcvbuf = mod.rcvbuf;

	if (mod.efd != -1)
		ev_fd_del(mod.efd);
	if (mod.esk)
		nl_socket_free(mod.esk);
	if (mod.dsk)
		nl_socket_free(mod.dsk);
	free(mod.tab);
	free(mod.zc);
	free(mod.snap);
	free(mod.ratio);
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
}

void nmt_set_event_rcvbuf(int bytes)
{
	mod.rcvbuf = bytes;
}
