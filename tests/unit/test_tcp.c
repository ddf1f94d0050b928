/* test_tcp.c — netmon/tcp: sock_diag messages and /proc text as the kernel
 * (or a broken one) writes them, and the per-socket delta accounting. The
 * module's .c is included (chrony style) to reach its accounting functions;
 * it must come before anything that includes glibc's <netinet/tcp.h>. */
#include "netmon/tcp.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

/* ---- building messages ---- */

struct msgopt {
	int family;
	const char *dst; /* text address */
	uint64_t cookie;
	const struct tcp_info *ti;
	size_t infolen; /* bytes of ti in INET_DIAG_INFO; 0: no attribute */
	int proto;	/* INET_DIAG_PROTOCOL value; 0: no attribute */
	uint32_t seq, pid;
};

static void put_attr(unsigned char *p, size_t *off, uint16_t type, const void *data,
		     size_t len)
{
	struct nlattr *a = (struct nlattr *)(p + *off);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy(p + *off + NLA_HDRLEN, data, len);
	*off += NLA_ALIGN(NLA_HDRLEN + len);
}

/* One SOCK_DIAG_BY_FAMILY message at buf; returns its aligned length. */
static size_t mkmsg(void *buf, const struct msgopt *o)
{
	unsigned char *p = buf;
	struct nlmsghdr *nlh = buf;
	struct inet_diag_msg *m;
	size_t off = NLMSG_LENGTH(sizeof(*m));

	memset(buf, 0, off + 1024);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_seq = o->seq;
	nlh->nlmsg_pid = o->pid;
	m = NLMSG_DATA(nlh);
	m->idiag_family = (uint8_t)o->family;
	m->idiag_state = 1;
	m->id.idiag_cookie[0] = (uint32_t)o->cookie;
	m->id.idiag_cookie[1] = (uint32_t)(o->cookie >> 32);
	assert_int_equal(inet_pton(o->family, o->dst, m->id.idiag_dst), 1);
	if (o->proto) {
		uint8_t pr = (uint8_t)o->proto;
		put_attr(p, &off, INET_DIAG_PROTOCOL, &pr, 1);
	}
	if (o->infolen)
		put_attr(p, &off, INET_DIAG_INFO, o->ti, o->infolen);
	nlh->nlmsg_len = (uint32_t)off;
	return off;
}

static struct tcp_info info(uint32_t segs, uint32_t retrans, uint64_t bytes,
			    uint64_t bretrans)
{
	struct tcp_info ti;

	memset(&ti, 0, sizeof(ti));
	ti.tcpi_segs_out = segs;
	ti.tcpi_total_retrans = retrans;
	ti.tcpi_bytes_sent = bytes;
	ti.tcpi_bytes_retrans = bretrans;
	return ti;
}

static uint64_t mbuf[8192];

/* ---- parsing ---- */

static void parse_full_v4(void **state)
{
	struct tcp_info ti = info(100, 7, 140000, 9000);
	struct msgopt o = {AF_INET,
			   "198.18.10.2",
			   0x1122334455667788ull,
			   &ti,
			   sizeof(ti),
			   IPPROTO_TCP,
			   0,
			   0};
	struct nmt_sock s;

	mkmsg(mbuf, &o);
	assert_int_equal(nmt_parse_diag_msg((struct nlmsghdr *)mbuf, &s), 0);
	assert_true(s.cookie == 0x1122334455667788ull);
	assert_int_equal(s.family, AF_INET);
	assert_memory_equal(s.daddr, "\xc6\x12\x0a\x02", 4);
	assert_int_equal(s.state, 1);
	assert_int_equal(s.have, NMT_HAVE_INFO | NMT_HAVE_TOTAL_RETRANS |
				     NMT_HAVE_SEGS_OUT | NMT_HAVE_BYTES_SENT |
				     NMT_HAVE_BYTES_RETRANS);
	assert_int_equal(s.segs_out, 100);
	assert_int_equal(s.total_retrans, 7);
	assert_true(s.bytes_sent == 140000);
	assert_true(s.bytes_retrans == 9000);
}

static void parse_v6_and_mapped(void **state)
{
	struct tcp_info ti = info(1, 0, 0, 0);
	struct msgopt o = {AF_INET6, "2001:db8::5", 1, &ti, sizeof(ti), 0, 0, 0};
	struct nmt_sock s;
	unsigned char want[16];

	mkmsg(mbuf, &o);
	assert_int_equal(nmt_parse_diag_msg((struct nlmsghdr *)mbuf, &s), 0);
	assert_int_equal(s.family, AF_INET6);
	inet_pton(AF_INET6, "2001:db8::5", want);
	assert_memory_equal(s.daddr, want, 16);

	o.dst = "::ffff:198.18.20.2";
	mkmsg(mbuf, &o);
	assert_int_equal(nmt_parse_diag_msg((struct nlmsghdr *)mbuf, &s), 0);
	assert_int_equal(s.family, AF_INET);
	assert_memory_equal(s.daddr, "\xc6\x12\x14\x02", 4);
}

/* An older kernel's tcp_info ends earlier: what lies past the attribute
 * (here another attribute full of 0xff) must never be read as a field. */
static void parse_short_info(void **state)
{
	struct tcp_info ti = info(100, 7, 140000, 9000);
	struct nmt_sock s;
	unsigned char junk[sizeof(ti)];
	static const size_t lens[] = {
	    offsetof(struct tcp_info, tcpi_total_retrans), /* very old */
	    offsetof(struct tcp_info, tcpi_pacing_rate),   /* up to total_retrans */
	    offsetof(struct tcp_info, tcpi_segs_out) + 2,  /* cut inside a field */
	    offsetof(struct tcp_info, tcpi_segs_in),	   /* 4.2: segs_out */
	    offsetof(struct tcp_info, tcpi_bytes_retrans), /* bytes_sent, no more */
	};
	static const unsigned want[] = {
	    NMT_HAVE_INFO,
	    NMT_HAVE_INFO | NMT_HAVE_TOTAL_RETRANS,
	    NMT_HAVE_INFO | NMT_HAVE_TOTAL_RETRANS,
	    NMT_HAVE_INFO | NMT_HAVE_TOTAL_RETRANS | NMT_HAVE_SEGS_OUT,
	    NMT_HAVE_INFO | NMT_HAVE_TOTAL_RETRANS | NMT_HAVE_SEGS_OUT |
		NMT_HAVE_BYTES_SENT,
	};

	memset(junk, 0xff, sizeof(junk));
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		struct msgopt o = {AF_INET, "198.18.10.2", 5, &ti, lens[i], 0, 0, 0};
		struct nlmsghdr *nlh = (struct nlmsghdr *)mbuf;
		size_t off = mkmsg(mbuf, &o);

		put_attr((unsigned char *)mbuf, &off, INET_DIAG_MAX + 1, junk,
			 sizeof(junk));
		nlh->nlmsg_len = (uint32_t)off;
		assert_int_equal(nmt_parse_diag_msg(nlh, &s), 0);
		assert_int_equal(s.have, want[i]);
		assert_int_equal(s.total_retrans,
				 (s.have & NMT_HAVE_TOTAL_RETRANS) ? 7 : 0);
		assert_int_equal(s.segs_out, (s.have & NMT_HAVE_SEGS_OUT) ? 100 : 0);
		assert_true(s.bytes_sent ==
			    ((s.have & NMT_HAVE_BYTES_SENT) ? 140000 : 0));
		assert_true(s.bytes_retrans == 0);
	}
}

/* A newer kernel's tcp_info is longer than ours: the known prefix counts. */
static void parse_long_info(void **state)
{
	unsigned char big[sizeof(struct tcp_info) + 64];
	struct tcp_info ti = info(3, 2, 1, 1);
	struct nmt_sock s;

	memset(big, 0xee, sizeof(big));
	memcpy(big, &ti, sizeof(ti));
	struct msgopt o = {
	    AF_INET, "198.18.10.2", 5, (struct tcp_info *)big, sizeof(big), 0, 0, 0};
	mkmsg(mbuf, &o);
	assert_int_equal(nmt_parse_diag_msg((struct nlmsghdr *)mbuf, &s), 0);
	assert_int_equal(s.segs_out, 3);
	assert_int_equal(s.total_retrans, 2);
}

static void parse_missing_and_truncated(void **state)
{
	struct tcp_info ti = info(100, 7, 140000, 9000);
	struct msgopt o = {AF_INET, "198.18.10.2", 5, &ti, 0, 0, 0, 0};
	struct nlmsghdr *nlh = (struct nlmsghdr *)mbuf;
	struct nmt_sock s;
	size_t len;

	/* No INET_DIAG_INFO (a TIME_WAIT socket): valid, nothing to count. */
	mkmsg(mbuf, &o);
	assert_int_equal(nmt_parse_diag_msg(nlh, &s), 0);
	assert_int_equal(s.have, 0);

	/* Not TCP. */
	o.infolen = sizeof(ti);
	o.proto = IPPROTO_UDP;
	mkmsg(mbuf, &o);
	assert_int_equal(nmt_parse_diag_msg(nlh, &s), 0);
	assert_int_equal(s.have, 0);

	/* The message ends inside the INFO attribute: the attribute claims more
	 * than there is, so it is not used at all. */
	o.proto = 0;
	len = mkmsg(mbuf, &o);
	nlh->nlmsg_len = (uint32_t)(len - 40);
	assert_int_equal(nmt_parse_diag_msg(nlh, &s), 0);
	assert_int_equal(s.have, 0);
	assert_int_equal(s.segs_out, 0);

	/* Shorter than struct inet_diag_msg. */
	for (uint32_t l = 0; l < NLMSG_LENGTH(sizeof(struct inet_diag_msg)); l += 7) {
		nlh->nlmsg_len = l;
		assert_int_equal(nmt_parse_diag_msg(nlh, &s), -1);
	}

	/* An attribute shorter than its own header. */
	len = mkmsg(mbuf, &o);
	((struct nlattr *)((char *)mbuf + NLMSG_LENGTH(sizeof(struct inet_diag_msg))))
	    ->nla_len = 2;
	assert_int_equal(nmt_parse_diag_msg(nlh, &s), 0);
	assert_int_equal(s.have, 0);

	/* Unknown family. */
	mkmsg(mbuf, &o);
	((struct inet_diag_msg *)NLMSG_DATA(nlh))->idiag_family = AF_UNIX;
	assert_int_equal(nmt_parse_diag_msg(nlh, &s), -1);
}

/* ---- /proc ---- */

static const char snmp[] =
    "Ip: Forwarding DefaultTTL InReceives\n"
    "Ip: 2 64 169768\n"
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
    "EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n"
    "Tcp: 1 200 120000 -1 16133 13452 2667 133 2 169735 18446744073709551615 42 0 "
    "2809 0\n"
    "Udp: InDatagrams NoPorts\n"
    "Udp: 5 6\n";

/* Text in a heap block of exactly len bytes: ASan sees any over-read. */
static int snmp_of(const char *text, size_t len, struct nm_host_tcp *h)
{
	char *p = malloc(len ? len : 1);
	int rc;

	memcpy(p, text, len);
	rc = nmt_parse_snmp(p, len, h);
	free(p);
	return rc;
}

static void snmp_good(void **state)
{
	struct nm_host_tcp h;

	assert_int_equal(snmp_of(snmp, strlen(snmp), &h), 0);
	assert_true(h.out_segs == UINT64_MAX);
	assert_true(h.retrans_segs == 42);
	/* No trailing newline. */
	const char *s = "Tcp: OutSegs RetransSegs\nTcp: 5 6";
	assert_int_equal(snmp_of(s, strlen(s), &h), 0);
	assert_true(h.out_segs == 5 && h.retrans_segs == 6);
}

static void snmp_malformed(void **state)
{
	static const char *bad[] = {
	    "",
	    "\n\n\n",
	    "Tcp: OutSegs RetransSegs\n",	      /* no values line */
	    "Tcp: OutSegs RetransSegs",		      /* ... no newline */
	    "Tcp: OutSegs RetransSegs\nUdp: 5 6\n",   /* wrong pair */
	    "Tcp: OutSegs RetransSegs\nTcp: 5\n",     /* fewer values */
	    "Tcp: OutSegs RetransSegs\nTcp: 5 6 7\n", /* more values */
	    "Tcp: OutSegs RetransSegs\nTcp: 5 x\n",   /* not a number */
	    "Tcp: OutSegs RetransSegs\nTcp: 5 6x\n",  /* trailing junk */
	    "Tcp: OutSegs RetransSegs\nTcp: 5 -6\n",  /* negative counter */
	    "Tcp: OutSegs RetransSegs\nTcp: 5 -\n",   /* lone sign */
	    "Tcp: OutSegs RetransSegs\nTcp: 18446744073709551616 6\n", /* 2^64 */
	    "Tcp: OutSegs RetransSegs\nTcp: 5 999999999999999999999999\n",
	    "Tcp: OutSegs InSegs\nTcp: 5 6\n",		  /* RetransSegs missing */
	    "Tcp: OutSegs RetransSegs\nTcp: 5 6\r\n",	  /* CR is not a blank */
	    "TcpExt: OutSegs RetransSegs\nTcpExt: 5 6\n", /* not Tcp: */
	    "Tcp: OutSegs RetransSegs\nTcp: 5 6\0\n",	  /* NUL in a number */
	};
	struct nm_host_tcp h = {77, 78};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		size_t len = strlen(bad[i]);
		if (i == ARRAY_SIZE(bad) - 1)
			len += 2; /* past the NUL */
		if (snmp_of(bad[i], len, &h) != -1)
			fail_msg("case %zu accepted", i);
		assert_true(h.out_segs == 77 && h.retrans_segs == 78);
	}
	/* Cut short by len, not by a NUL: the values line is incomplete. */
	assert_int_equal(snmp_of(snmp, (size_t)(strstr(snmp, "Udp:") - snmp) - 5, &h),
			 -1);
	/* A value nobody asked for may be negative (MaxConn is -1). */
	const char *s = "Tcp: MaxConn OutSegs RetransSegs\nTcp: -1 1 2\n";
	assert_int_equal(snmp_of(s, strlen(s), &h), 0);
}

static void netstat_parse(void **state)
{
	const char *text = "TcpExt: SyncookiesSent TCPLostRetransmit TCPFastRetrans "
			   "TCPSlowStartRetrans TCPTimeouts TCPLossProbes\n"
			   "TcpExt: 0 3 11 4 9 2\n"
			   "IpExt: InNoRoutes\n"
			   "IpExt: 0\n";
	struct nmt_tcpext x;

	assert_int_equal(nmt_parse_netstat(text, strlen(text), &x), 0);
	assert_true(x.lost_retransmit == 3 && x.fast_retrans == 11 &&
		    x.slow_start_retrans == 4 && x.timeouts == 9 && x.loss_probes == 2);
	/* Fields this kernel lacks stay 0. */
	assert_true(x.syn_retrans == 0 && x.retrans_fail == 0);

	memset(&x, 0x5a, sizeof(x));
	struct nmt_tcpext keep = x;
	assert_int_equal(nmt_parse_netstat("IpExt: A\nIpExt: 1\n", 18, &x), -1);
	assert_int_equal(nmt_parse_netstat("TcpExt: A B\n", 12, &x), -1);
	assert_int_equal(nmt_parse_netstat("TcpExt: A B\nTcpExt: 1\n", 22, &x), -1);
	assert_int_equal(nmt_parse_netstat("TcpExt: TCPTimeouts\nTcpExt: -3\n", 31, &x),
			 -1);
	assert_memory_equal(&x, &keep, sizeof(x));
}

/* ---- accounting ---- */

/* Zone 0: 198.18.10.0/24, zone 1: 198.18.20.0/24; flip swaps them; bogus
 * answers an index past the zones. */
static int flip, bogus;

static int zfn(void *ctx, int family, const void *daddr)
{
	const unsigned char *a = daddr;

	if (family != AF_INET || a[0] != 198 || a[1] != 18)
		return -1;
	if (bogus)
		return 7;
	if (a[2] == 10)
		return flip ? 1 : 0;
	if (a[2] == 20)
		return flip ? 0 : 1;
	return -1;
}

static int setup(void **state)
{
	nmt_fini();
	flip = bogus = 0;
	set_zones(2, zfn, NULL);
	return 0;
}

static int teardown(void **state)
{
	nmt_fini();
	return 0;
}

static struct nmt_sock sk(uint64_t cookie, const char *dst, uint32_t segs,
			  uint32_t retrans, uint64_t bytes, uint64_t bretrans)
{
	struct nmt_sock s;

	memset(&s, 0, sizeof(s));
	s.cookie = cookie;
	s.family = AF_INET;
	inet_pton(AF_INET, dst, s.daddr);
	s.have = NMT_HAVE_INFO | NMT_HAVE_SEGS_OUT | NMT_HAVE_TOTAL_RETRANS |
		 NMT_HAVE_BYTES_SENT | NMT_HAVE_BYTES_RETRANS;
	s.segs_out = segs;
	s.total_retrans = retrans;
	s.bytes_sent = bytes;
	s.bytes_retrans = bretrans;
	return s;
}

/* One dump listing n sockets. */
static void dump(const struct nmt_sock *s, size_t n, int baseline)
{
	mod.gen++;
	for (size_t i = 0; i < n; i++)
		sock_dumped(&s[i], baseline);
	sweep();
}

#define ZONE(z, segs, retrans, bytes, bretrans)                                          \
	do {                                                                             \
		struct nm_tcp_counters c_;                                               \
		nmt_zone(z, &c_);                                                        \
		assert_int_equal(c_.segs_out, segs);                                     \
		assert_int_equal(c_.retrans_segs, retrans);                              \
		assert_int_equal(c_.bytes_sent, bytes);                                  \
		assert_int_equal(c_.bytes_retrans, bretrans);                            \
	} while (0)

static void deltas_per_zone(void **state)
{
	struct nmt_sock a[3] = {sk(1, "198.18.10.2", 10, 1, 1000, 100),
				sk(2, "198.18.20.2", 5, 0, 500, 0),
				sk(3, "192.0.2.1", 1000, 1000, 1, 1)};

	/* The baseline counts nothing: zones start with the module. */
	dump(a, 3, 1);
	ZONE(0, 0, 0, 0, 0);
	ZONE(1, 0, 0, 0, 0);
	a[0] = sk(1, "198.18.10.2", 25, 4, 2500, 400);
	a[1] = sk(2, "198.18.20.2", 6, 0, 600, 0);
	a[2] = sk(3, "192.0.2.1", 2000, 2000, 2, 2);
	dump(a, 3, 0);
	ZONE(0, 15, 3, 1500, 300);
	ZONE(1, 1, 0, 100, 0);
	/* The same counts again add nothing. */
	dump(a, 3, 0);
	ZONE(0, 15, 3, 1500, 300);
	/* A new socket counts all it has sent. */
	struct nmt_sock b = sk(4, "198.18.20.9", 7, 1, 70, 10);
	dump(&b, 1, 0);
	ZONE(1, 8, 1, 170, 10);
	assert_int_equal(mod.live, 4); /* 1..3 vanished, still remembered */
}

static void wrap_and_bogus_zone(void **state)
{
	struct nmt_sock s = sk(9, "198.18.10.2", 0xfffffff0u, 0xffffffffu, 100, 50);

	dump(&s, 1, 1);
	s = sk(9, "198.18.10.2", 0x10, 3, 90, 60);
	dump(&s, 1, 0);
	/* 32-bit counters wrapped; 64-bit bytes going backwards add nothing. */
	ZONE(0, 0x20, 4, 0, 10);
	bogus = 1;
	s = sk(10, "198.18.10.3", 5, 5, 5, 5);
	dump(&s, 1, 0);
	ZONE(0, 0x20, 4, 0, 10);
	ZONE(1, 0, 0, 0, 0);
}

/* Byte counts are kept to 48 bits: a delta across a multiple of 2^48 is
 * exact, a step back still adds nothing, and cookie 0 (a free slot) is
 * never tracked. */
static void bytes_past_48_bits(void **state)
{
	const uint64_t b48 = 1ull << 48;
	struct nmt_sock s = sk(3, "198.18.10.2", 1, 0, b48 - 10, 5 * b48 - 1);

	dump(&s, 1, 1);
	s = sk(3, "198.18.10.2", 2, 0, b48 + 20, 5 * b48 + 2);
	dump(&s, 1, 0);
	ZONE(0, 1, 0, 30, 3);
	s = sk(3, "198.18.10.2", 3, 0, b48 + 10, 5 * b48 + 2);
	dump(&s, 1, 0);
	ZONE(0, 2, 0, 30, 3);
	s = sk(0, "198.18.10.2", 7, 0, 700, 0);
	dump(&s, 1, 0);
	ZONE(0, 2, 0, 30, 3);
	assert_null(find(0));
	assert_int_equal(mod.live, 1);
}

static void destroy_events(void **state)
{
	struct nmt_sock s = sk(1, "198.18.10.2", 10, 1, 1000, 100);
	struct nmt_sock fin;

	dump(&s, 1, 0);
	ZONE(0, 10, 1, 1000, 100);
	/* Final counts of a tracked socket: only the remainder. */
	fin = sk(1, "198.18.10.2", 14, 2, 1300, 150);
	sock_destroyed(&fin);
	ZONE(0, 14, 2, 1300, 150);
	assert_int_equal(mod.live, 0);
	/* A late dump that still listed it, or a repeated event: nothing. */
	fin.segs_out = 99;
	sock_dumped(&fin, 0);
	sock_destroyed(&fin);
	ZONE(0, 14, 2, 1300, 150);
	/* Born and gone between two dumps: everything it sent. */
	struct nmt_sock brief = sk(2, "198.18.20.2", 6, 1, 300, 20);
	sock_destroyed(&brief);
	ZONE(1, 6, 1, 300, 20);
	assert_int_equal(mod.st.destroy_events, 2);
	assert_int_equal(mod.st.destroyed_unseen, 1);
	/* An event without tcp_info counts nothing. */
	brief.cookie = 3;
	brief.have = 0;
	sock_destroyed(&brief);
	ZONE(1, 6, 1, 300, 20);
	dump(NULL, 0, 0);
	assert_int_equal(mod.live, 0);
	assert_int_equal(mod.used, 0); /* the dead entry was swept */
}

/* A socket that left the dumps (reset, peer closed) before its owner closed
 * it: its destroy event, dumps later, adds the remainder, not everything. */
static void vanished_then_destroyed(void **state)
{
	struct nmt_sock s = sk(1, "198.18.10.2", 10, 1, 1000, 100);

	dump(&s, 1, 0);
	for (int i = 0; i < NMT_GONE_DUMPS; i++)
		dump(NULL, 0, 0);
	assert_int_equal(mod.live, 1);
	s = sk(1, "198.18.10.2", 12, 1, 1200, 100);
	sock_destroyed(&s);
	ZONE(0, 12, 1, 1200, 100);
	assert_int_equal(mod.st.destroyed_unseen, 0);

	/* Long gone sockets are forgotten. */
	s = sk(2, "198.18.10.2", 1, 0, 1, 0);
	dump(&s, 1, 0);
	for (int i = 0; i <= NMT_GONE_DUMPS; i++)
		dump(NULL, 0, 0);
	assert_int_equal(mod.live, 0);
	assert_null(find(2));
}

static void ratio_and_reload(void **state)
{
	struct nmt_sock s[2] = {sk(1, "198.18.10.2", 100, 0, 0, 0),
				sk(2, "198.18.20.2", 100, 0, 0, 0)};

	dump(s, 2, 0);
	close_interval();
	assert_true(nmt_ratio(0) == 0.0 && nmt_ratio(1) == 0.0);
	s[0] = sk(1, "198.18.10.2", 200, 25, 0, 0);
	dump(s, 2, 0);
	close_interval();
	assert_true(nmt_ratio(0) == 0.25);
	assert_true(nmt_ratio(1) == 0.0); /* nothing sent: 0 */
	close_interval();
	assert_true(nmt_ratio(0) == 0.0);
	assert_true(nmt_ratio(5) == 0.0);

	/* Reload: counters restart, sockets follow their new zones. */
	mod.dsk = (struct nl_sock *)1; /* nmt_reload wants an initialised module */
	flip = 1;
	assert_int_equal(nmt_reload(3, zfn, NULL), 0);
	mod.dsk = NULL;
	ZONE(0, 0, 0, 0, 0);
	ZONE(1, 0, 0, 0, 0);
	s[0] = sk(1, "198.18.10.2", 210, 25, 0, 0);
	dump(s, 2, 0);
	ZONE(1, 10, 0, 0, 0);
	ZONE(0, 0, 0, 0, 0);
	ZONE(2, 0, 0, 0, 0);
	struct nm_tcp_counters c;
	memset(&c, 0xff, sizeof(c));
	nmt_zone(3, &c);
	assert_true(c.segs_out == 0);
}

static void many_sockets(void **state)
{
	enum { N = 5000 };
	struct nmt_sock *s = calloc(N, sizeof(*s));

	for (int i = 0; i < N; i++)
		s[i] = sk((uint64_t)i * 4096 + 1, "198.18.10.2", 1, 0, 1, 0);
	dump(s, N, 0);
	ZONE(0, N, 0, N, 0);
	for (int i = 0; i < N; i++)
		assert_non_null(find((uint64_t)i * 4096 + 1));
	for (int i = 0; i < N; i += 2)
		sock_destroyed(&s[i]); /* same counts: nothing added */
	dump(s, N, 0);		       /* the odd ones again, unchanged */
	ZONE(0, N, 0, N, 0);
	assert_int_equal(mod.live, N / 2);
	free(s);
}

/* Datagrams as the sockets read them: sequence, errors, DONE, junk. */
static void datagrams(void **state)
{
	struct tcp_info ti = info(10, 2, 100, 20);
	struct msgopt o = {AF_INET, "198.18.10.2", 1, &ti, sizeof(ti), 0, 77, 4242};
	unsigned char *p = (unsigned char *)mbuf;
	size_t off = 0;

	mod.gen++;
	off += mkmsg(p + off, &o); /* ours */
	o.seq = 76;
	o.cookie = 2;
	off += mkmsg(p + off, &o); /* an old dump's: ignored */
	o.seq = 77;
	o.cookie = 3;
	size_t third = off;
	off += mkmsg(p + off, &o);
	((struct inet_diag_msg *)NLMSG_DATA((struct nlmsghdr *)(p + third)))
	    ->idiag_family = 0; /* garbled */
	assert_int_equal(dump_input(p, off, 77, 4242, 0), 0);
	ZONE(0, 10, 2, 100, 20);
	assert_null(find(2));
	assert_null(find(3));
	assert_int_equal(mod.st.bad_messages, 1);

	/* An error answer, then DONE. */
	struct nlmsghdr *nlh = (struct nlmsghdr *)p;
	memset(p, 0, 64);
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr));
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = 77;
	nlh->nlmsg_pid = 4242;
	((struct nlmsgerr *)NLMSG_DATA(nlh))->error = -EPERM;
	errno = 0;
	assert_int_equal(dump_input(p, nlh->nlmsg_len, 77, 4242, 0), -1);
	assert_int_equal(errno, EPERM);
	/* Not a -errno: malformed, and INT_MIN must not be negated (fuzz_tcp). */
	((struct nlmsgerr *)NLMSG_DATA(nlh))->error = INT_MIN;
	assert_int_equal(dump_input(p, nlh->nlmsg_len, 77, 4242, 0), -1);
	assert_int_equal(errno, EPROTO);
	((struct nlmsgerr *)NLMSG_DATA(nlh))->error = 5;
	assert_int_equal(dump_input(p, nlh->nlmsg_len, 77, 4242, 0), -1);
	assert_int_equal(errno, EPROTO);
	nlh->nlmsg_len = NLMSG_LENGTH(2); /* too short to hold the error */
	assert_int_equal(dump_input(p, nlh->nlmsg_len, 77, 4242, 0), -1);
	nlh->nlmsg_len = NLMSG_LENGTH(4);
	nlh->nlmsg_type = NLMSG_DONE;
	assert_int_equal(dump_input(p, nlh->nlmsg_len, 77, 4242, 0), 1);
	/* A header claiming more than the datagram: nothing read. */
	nlh->nlmsg_len = 4000;
	assert_int_equal(dump_input(p, 64, 77, 4242, 0), 0);

	/* Destroy events: one good, one truncated, one of another type. */
	off = 0;
	o.cookie = 50;
	o.dst = "198.18.20.2";
	off += mkmsg(p + off, &o);
	size_t bad = off;
	off += mkmsg(p + off, &o);
	((struct nlmsghdr *)(p + bad))->nlmsg_len = NLMSG_LENGTH(8);
	off = bad + NLMSG_ALIGN(NLMSG_LENGTH(8));
	nlh = (struct nlmsghdr *)(p + off);
	nlh->nlmsg_len = NLMSG_LENGTH(4);
	nlh->nlmsg_type = NLMSG_NOOP;
	off += NLMSG_LENGTH(4);
	mod.st.bad_messages = 0;
	event_input(p, off);
	ZONE(1, 10, 2, 100, 20);
	assert_int_equal(mod.st.bad_messages, 1);
	assert_int_equal(mod.st.destroyed_unseen, 1);
}

/* ---- the dump filter, run as the kernel runs it ---- */

/* net/ipv4/inet_diag.c (Linux 6.x): bitstring_match, inet_diag_bc_run for
 * D_COND and JMP, and inet_diag_bc_audit with valid_hostcond and valid_cc;
 * only what the filter uses. */
static int k_bits(const uint32_t *a1, const uint32_t *a2, int bits)
{
	int words = bits >> 5;

	bits &= 0x1f;
	if (words && memcmp(a1, a2, (size_t)words << 2))
		return 0;
	if (bits && ((a1[words] ^ a2[words]) & htonl(0xffffffffu << (32 - bits))))
		return 0;
	return 1;
}

static int k_run(const unsigned char *bc, int len, int family, const uint32_t *daddr)
{
	while (len > 0) {
		const struct inet_diag_bc_op *op = (const void *)bc;
		int yes = 1;

		if (op->code == INET_DIAG_BC_JMP) {
			yes = 0;
		} else if (op->code == INET_DIAG_BC_D_COND) {
			const struct inet_diag_hostcond *c = (const void *)(op + 1);

			if (c->port != -1) {
				yes = 0;
			} else if (c->family != AF_UNSPEC && c->family != family) {
				yes = family == AF_INET6 && c->family == AF_INET &&
				      daddr[0] == 0 && daddr[1] == 0 &&
				      daddr[2] == htonl(0xffff) &&
				      k_bits(daddr + 3, c->addr, c->prefix_len);
			} else if (c->prefix_len != 0 &&
				   !k_bits(daddr, c->addr, c->prefix_len)) {
				yes = 0;
			}
		} else {
			fail_msg("unexpected op %d", op->code);
		}
		bc += yes ? op->yes : op->no;
		len -= yes ? op->yes : op->no;
	}
	return len == 0;
}

static int k_valid_cc(const unsigned char *bc, int len, int cc)
{
	while (len >= 0) {
		const struct inet_diag_bc_op *op = (const void *)bc;

		if (cc > len)
			return 0;
		if (cc == len)
			return 1;
		if (op->yes < 4 || op->yes & 3)
			return 0;
		len -= op->yes;
		bc += op->yes;
	}
	return 0;
}

static int k_audit(const unsigned char *bytecode, int bytecode_len)
{
	const unsigned char *bc = bytecode;
	int len = bytecode_len;

	if (len < (int)sizeof(struct inet_diag_bc_op))
		return -1;
	while (len > 0) {
		const struct inet_diag_bc_op *op = (const void *)bc;
		int min_len = sizeof(*op);

		if (op->code == INET_DIAG_BC_D_COND) {
			const struct inet_diag_hostcond *c = (const void *)(op + 1);
			int alen;

			min_len += sizeof(*c);
			if (len < min_len)
				return -1;
			alen = c->family == AF_INET ? 4 : c->family == AF_INET6 ? 16 : -1;
			if (alen < 0 || len < (min_len += alen) ||
			    c->prefix_len > 8 * alen)
				return -1;
		} else if (op->code != INET_DIAG_BC_JMP) {
			return -1;
		}
		if (op->no < min_len || op->no > len + 4 || op->no & 3)
			return -1;
		if (op->no < len && !k_valid_cc(bytecode, bytecode_len, len - op->no))
			return -1;
		if (op->yes < min_len || op->yes > len + 4 || op->yes & 3)
			return -1;
		bc += op->yes;
		len -= op->yes;
	}
	return len == 0 ? 0 : -1;
}

static int naive_match(const struct nmt_prefix *p, size_t n, int family,
		       const unsigned char *a)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};

	for (size_t i = 0; i < n; i++) {
		const unsigned char *x = a;
		int bits = p[i].plen;

		if (p[i].family != family) {
			if (!(family == AF_INET6 && p[i].family == AF_INET &&
			      memcmp(a, mapped, 12) == 0))
				continue;
			x = a + 12;
		}
		int k;
		for (k = 0; k < bits / 8 && x[k] == p[i].addr[k]; k++)
			;
		if (k < bits / 8)
			continue;
		if (bits % 8 && ((x[k] ^ p[i].addr[k]) & (0xff << (8 - bits % 8)) & 0xff))
			continue;
		return 1;
	}
	return 0;
}

static void filter_as_the_kernel_runs_it(void **state)
{
	static unsigned char bc[NMT_FILTER_BYTES];
	struct nmt_prefix p[40] = {0};
	unsigned seed = 14;
	size_t len;

	/* No zone: everything rejected. */
	len = nmt_filter_build(p, 0, bc, sizeof(bc));
	assert_true(len > 0);
	assert_int_equal(k_audit(bc, (int)len), 0);
	uint32_t any[4] = {htonl(0xc6120102), 0, 0, 0};
	assert_false(k_run(bc, (int)len, AF_INET, any));

	for (int round = 0; round < 300; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % 40);

		for (size_t i = 0; i < n; i++) {
			memset(&p[i], 0, sizeof(p[i]));
			p[i].family = rand_r(&seed) % 3 ? AF_INET : AF_INET6;
			/* Few distinct prefixes: nesting and duplicates happen. */
			p[i].addr[0] = p[i].family == AF_INET ? 198 : 0x20;
			p[i].addr[1] = (unsigned char)(18 + rand_r(&seed) % 2);
			p[i].addr[2] = (unsigned char)(rand_r(&seed) % 4);
			p[i].addr[3] = (unsigned char)(rand_r(&seed) % 4);
			p[i].plen = p[i].family == AF_INET ? 8 + rand_r(&seed) % 25
							   : 8 + rand_r(&seed) % 121;
			/* no host bits, as cfg guarantees */
			int bytes = p[i].family == AF_INET ? 4 : 16;
			for (int b = 0; b < bytes; b++) {
				int keep = p[i].plen - 8 * b;
				if (keep <= 0)
					p[i].addr[b] = 0;
				else if (keep < 8)
					p[i].addr[b] &=
					    (unsigned char)(0xff << (8 - keep));
			}
		}
		len = nmt_filter_build(p, n, bc, sizeof(bc));
		assert_true(len > 0);
		assert_int_equal(k_audit(bc, (int)len), 0);
		for (int t = 0; t < 200; t++) {
			unsigned char a[16] = {0};
			uint32_t w[4];
			int fam = rand_r(&seed) % 3;

			if (fam == 0) { /* IPv4 */
				a[0] = t % 2 ? 198 : 10;
				a[1] = (unsigned char)(18 + rand_r(&seed) % 2);
				a[2] = (unsigned char)(rand_r(&seed) % 4);
				a[3] = (unsigned char)(rand_r(&seed) % 4);
			} else if (fam == 1) { /* IPv4-mapped */
				a[10] = a[11] = 0xff;
				a[12] = 198;
				a[13] = (unsigned char)(18 + rand_r(&seed) % 2);
				a[14] = (unsigned char)(rand_r(&seed) % 4);
				a[15] = (unsigned char)(rand_r(&seed) % 4);
			} else {
				a[0] = 0x20;
				for (int b = 1; b < 16; b++)
					a[b] = (unsigned char)(rand_r(&seed) % 4);
			}
			memcpy(w, a, sizeof(w));
			int family = fam == 0 ? AF_INET : AF_INET6;
			assert_int_equal(k_run(bc, (int)len, family, w),
					 naive_match(p, n, family, a));
		}
	}
	/* Too little room: 0, the caller then dumps every socket. */
	assert_int_equal(nmt_filter_build(p, 10, bc, 40), 0);
}

/* A widened filter: sockets first seen in the next dump count from then on,
 * known ones add their deltas. */
static void new_sockets_as_baseline(void **state)
{
	struct nmt_sock a = sk(1, "198.18.10.2", 10, 1, 1000, 100);
	struct nmt_sock b = sk(2, "198.18.20.2", 50, 5, 5000, 500);

	dump(&a, 1, 0); /* a is new: all it sent */
	ZONE(0, 10, 1, 1000, 100);
	a.segs_out = 15;
	mod.gen++;
	sock_dumped(&a, 2);
	sock_dumped(&b, 2);
	sweep();
	ZONE(0, 15, 1, 1000, 100); /* a's delta */
	ZONE(1, 0, 0, 0, 0);	   /* b's history is not counted */
	b.segs_out = 60;
	dump(&b, 1, 0);
	ZONE(1, 10, 0, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_full_v4),
	    cmocka_unit_test(parse_v6_and_mapped),
	    cmocka_unit_test(parse_short_info),
	    cmocka_unit_test(parse_long_info),
	    cmocka_unit_test(parse_missing_and_truncated),
	    cmocka_unit_test(snmp_good),
	    cmocka_unit_test(snmp_malformed),
	    cmocka_unit_test(netstat_parse),
	    cmocka_unit_test_setup_teardown(deltas_per_zone, setup, teardown),
	    cmocka_unit_test_setup_teardown(wrap_and_bogus_zone, setup, teardown),
	    cmocka_unit_test_setup_teardown(bytes_past_48_bits, setup, teardown),
	    cmocka_unit_test_setup_teardown(destroy_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(vanished_then_destroyed, setup, teardown),
	    cmocka_unit_test_setup_teardown(ratio_and_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(many_sockets, setup, teardown),
	    cmocka_unit_test_setup_teardown(datagrams, setup, teardown),
	    cmocka_unit_test(filter_as_the_kernel_runs_it),
	    cmocka_unit_test_setup_teardown(new_sockets_as_baseline, setup, teardown),
	};
	log_init("test_tcp", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
