/* nft.c — the zone counters in nftables, over netlink (libmnl + libnftnl).
 *
 * The table, as `nft list table inet vpc_failover` shows it:
 *
 *   counter az1_in { }  counter az1_out { }          one pair per zone
 *   map in4  { type ipv4_addr : counter; flags interval;
 *              elements = { 198.18.10.0/24 : "az1_in", ... } }
 *   map out4 { ... : "az1_out" }   map in6, out6: the same for ipv6_addr
 *   chain prerouting {  type filter hook prerouting priority -500; policy accept;
 *       meta iiftype != loopback counter name ip saddr map @in4
 *       meta iiftype != loopback counter name ip6 saddr map @in6 }
 *   chain postrouting { type filter hook postrouting priority 500; policy accept;
 *       meta oiftype != loopback counter name ip daddr map @out4
 *       meta oiftype != loopback counter name ip6 daddr map @out6 }
 *
 * A rule only counts: "counter name <map lookup>" is an objref expression, a
 * miss ends the rule, and nothing in the table is a verdict. Each rule
 * compares meta nfproto first (nft's listing folds that compare into
 * "ip saddr"), so a packet of the other family leaves it after one
 * compare. The maps come from nmz, already disjoint (the kernel refuses
 * overlapping intervals).
 *
 * When a family's zone intervals cut into CIDR blocks all of one prefix
 * length (AZ subnets of one size: the usual case), that family's maps are
 * hash maps of the blocks' first addresses, looked up with the address
 * masked, a hash lookup instead of the interval map's binary search:
 *
 *   map in4 { type ipv4_addr : counter; elements = { 198.18.10.0 : "az1_in" } }
 *       meta iiftype != loopback counter name ip saddr & 255.255.255.0 map @in4
 *
 * Each address is in at most one block, so the one lookup is exact; any
 * other mix of lengths keeps the interval map.
 *
 * Writes go in one nfnetlink batch, a transaction: "add table; delete table;
 * add table ...", so the swap is atomic and a missing table is no error.
 * Only the batch's last message asks for an ack: errors are reported anyway,
 * so the replies stay few whatever the batch's size, and the kernel runs the
 * whole batch inside sendto(), so they are all queued when it returns.
 *
 * Counters survive a reload because the new counter objects are created with
 * the values read just before the swap (packets counted in the instant
 * between the read and the swap are lost). Those values also live here
 * (st.last, refreshed by every nmf_read), so that a table someone else
 * flushed comes back where the exporter last saw it.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/ini.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/nft.h"
#include "netmon/nm_cfg.h"
#include "netmon/zone.h"

#define PRIO_PRE  (-500)     /* before defragmentation (-400) and raw (-300) */
#define PRIO_POST 500	     /* after srcnat (100) and conntrack helpers (300) */
#define BATCH_MAX (64 << 20) /* a config is at most 1 MiB: far below */
#define MSG_ROOM  (64 << 10) /* free room before each message: see ELEMS_MSG */
#define ELEMS_MSG 256	     /* elements per message: ~100 bytes each */
#define TRIES	  3	     /* dumps interrupted by a change, or ENOBUFS */
#define NAME_LEN  (2 * INI_NAME_MAX + 8) /* "<zone>_out", "<group>@<zone>" */
#define OV_OTHER  "*"			 /* the overlay slot of sources in no zone */
#define OV_ID0	  100			 /* set ids of overlays: OV_ID0 + 4 * i + k */

typedef char name_t[INI_NAME_MAX];

/* One interval map and the rule that looks it up. */
struct map {
	const char *name, *chain, *suffix;
	int family;	   /* of nmz */
	uint8_t nfproto;   /* meta nfproto of the packet */
	uint32_t off, len; /* the address in the network header */
	uint32_t keytype;  /* nft's datatype (ipv4_addr 7, ipv6_addr 8): lets
			      `nft list` print addresses */
	uint32_t iftype;   /* NFT_META_IIFTYPE or NFT_META_OIFTYPE */
	uint32_t id;	   /* NFTNL_SET_ID within the transaction */
	int plain;	   /* a set of addresses, not a map to counters */
	int hash;	   /* a hash map of prefixes of length plen (blocks()),
			      looked up with the address masked: no interval */
	unsigned plen;
};

static const struct map maps[] = {
    {"in4", "prerouting", "_in", AF_INET, NFPROTO_IPV4, 12, 4, 7, NFT_META_IIFTYPE, 1, 0,
     0, 0},
    {"in6", "prerouting", "_in", AF_INET6, NFPROTO_IPV6, 8, 16, 8, NFT_META_IIFTYPE, 2, 0,
     0, 0},
    {"out4", "postrouting", "_out", AF_INET, NFPROTO_IPV4, 16, 4, 7, NFT_META_OIFTYPE, 3,
     0, 0, 0},
    {"out6", "postrouting", "_out", AF_INET6, NFPROTO_IPV6, 24, 16, 8, NFT_META_OIFTYPE,
     4, 0, 0, 0},
};

/* The overlays to count at the next nmf_apply (nmf_set_overlays): each
 * group's destinations flattened into disjoint intervals (an nmz of one
 * zone). */
static struct {
	name_t *names;
	struct nmz **dst;
	size_t n;
} ovc;

/* Rules that count zones (nmf_zone_rules): off when eBPF counts them. */
static int zone_rules = 1;

/* The table this process made: its zones and their values read last. */
static struct {
	int applied;
	name_t *names;
	struct nm_zone_counters *last;
	size_t n;
	/* Overlays applied: names, and per overlay n + 1 counters (one per
	 * zone, then OV_OTHER), read last. */
	name_t *ovnames;
	struct nm_ov_counters *ovlast;
	size_t nov;
} st;

/* A netlink socket for one request or one batch. */
struct nl {
	struct mnl_socket *sk;
	uint32_t portid, seq;
	char *buf; /* one datagram of replies, MNL_SOCKET_BUFFER_SIZE */
	size_t bufsz;
};

/* A transaction being built: the messages and what each one does. */
struct batch {
	char *buf;
	size_t len, cap;
	uint32_t seq0, seq; /* first and next sequence numbers */
	char (*what)[96];   /* by seq - seq0, for error messages */
	size_t last;	    /* offset of the last message: it asks for the ack */
};

/* What the replies said. */
struct talk {
	const struct batch *b; /* names the failed message; NULL: what */
	const char *what;
	int quiet_enoent; /* ENOENT is an answer, not a failure */
	int err;	  /* first errno the kernel returned */
	int acked;	  /* the final ack (error 0) arrived */
	uint32_t ack_seq;
	void *data; /* for the data callback */
};

/* libnftnl allocators return NULL on OOM: fatal, like x-wrappers. */
static void *nn(void *p)
{
	if (p == NULL)
		fatal("nftables: out of memory");
	return p;
}

/* --- netlink plumbing ------------------------------------------------ */

static int nl_open(struct nl *nl)
{
	struct timeval tv = {.tv_sec = 2}; /* a lost reply must not hang us */
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	if ((nl->sk = mnl_socket_open(NETLINK_NETFILTER)) == NULL) {
		log_warn("nftables: netlink socket");
		return -1;
	}
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("nftables: netlink bind");
		mnl_socket_close(nl->sk);
		return -1;
	}
	/* The kernel's own message in errors; acks without our request. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)time(NULL);
	nl->bufsz = MNL_SOCKET_BUFFER_SIZE;
	/* Zeroed: libmnl 1.0.4 leaves attribute padding as it finds it, and
	 * heap garbage must not go to the kernel (valgrind: uninitialised
	 * bytes in sendto). */
	nl->buf = xcalloc(1, nl->bufsz);
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

/* The kernel's extended-ack message in an error, or NULL. */
static const char *ext_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return NULL;
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	if (off > mnl_nlmsg_get_payload_len(nlh))
		return NULL;
	mnl_attr_for_each(a, nlh, off)
	{
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

/* NLMSG_ERROR: an ack (error 0) or a failure, logged with the operation. */
static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *what = t->what, *km;
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		log_warnx("nftables: %s: short netlink error message", t->what);
		t->err = t->err ? t->err : EBADMSG;
		return MNL_CB_ERROR;
	}
	/* 0 or -errno from the kernel; anything else is malformed (and -INT_MIN
	 * would overflow: found by fuzz_nft, corpus/nft/regress-error-int-min). */
	err = e->error <= 0 && e->error >= -4095 ? -e->error : EPROTO;
	if (err == 0) {
		if (nlh->nlmsg_seq == t->ack_seq)
			t->acked = 1;
		return t->b ? MNL_CB_OK : MNL_CB_STOP;
	}
	if (t->err == 0)
		t->err = err;
	if (t->b && nlh->nlmsg_seq >= t->b->seq0 && nlh->nlmsg_seq < t->b->seq)
		what = t->b->what[nlh->nlmsg_seq - t->b->seq0];
	km = ext_msg(nlh);
	if (!(t->quiet_enoent && err == ENOENT))
		log_warnx("nftables: %s: %s%s%s%s", what, strerror(err),
			  km ? " (kernel: " : "", km ? km : "", km ? ")" : "");
	/* In a batch, later messages may fail too: read on. */
	return t->b ? MNL_CB_OK : MNL_CB_STOP;
}

/* One datagram into nl->buf: its length, or -1 with errno (EMSGSIZE when
 * it did not fit: the buffer is a hard cap). */
static ssize_t nl_recv(struct nl *nl, int flags)
{
	struct sockaddr_nl sa;
	struct iovec iov = {nl->buf, nl->bufsz};
	struct msghdr msg = {
	    .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = recvmsg(mnl_socket_get_fd(nl->sk), &msg, flags);

	if (n >= 0 && (msg.msg_flags & MSG_TRUNC)) {
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/* Does every message of the datagram fit in it? libmnl 1.0.4's
 * mnl_nlmsg_ok compares (int)nlmsg_len, so a length of 2 GiB or more passes
 * as negative and mnl_nlmsg_next then steps gigabytes past the buffer (found
 * by fuzzing: tests/fuzz/corpus/nft/regress-huge-nlmsg-len). */
static int nl_fits(const char *buf, size_t len)
{
	size_t off = 0;

	while (off + sizeof(struct nlmsghdr) <= len) {
		const struct nlmsghdr *nlh = (const void *)(buf + off);
		if (nlh->nlmsg_len < sizeof(*nlh))
			break; /* libmnl stops here too */
		if (nlh->nlmsg_len > len - off)
			return 0;
		off += MNL_ALIGN(nlh->nlmsg_len);
	}
	return 1;
}

/* Replies to one datagram: data messages to cb, errors and acks to t.
 * seq 0: a batch, whose replies carry each message's own number. */
static int nl_parse(struct nl *nl, size_t len, uint32_t seq, mnl_cb_t cb, struct talk *t)
{
	/* NLMSG_DONE and the rest keep libmnl's defaults (DONE stops). */
	mnl_cb_t ctl[NLMSG_ERROR + 1] = {[NLMSG_ERROR] = on_error};

	if (!nl_fits(nl->buf, len)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	return mnl_cb_run2(nl->buf, len, seq, nl->portid, cb, t, ctl, ARRAY_SIZE(ctl));
}

/* Send one request and read its replies until the end (DONE, the ack, or an
 * error). 0 when the kernel answered (t->err says how), -1 if it did not. */
static int nl_request(struct nl *nl, const struct nlmsghdr *req, mnl_cb_t cb,
		      struct talk *t)
{
	ssize_t n;
	int rc;

	if (mnl_socket_sendto(nl->sk, req, req->nlmsg_len) < 0) {
		log_warn("nftables: %s: send", t->what);
		return -1;
	}
	do {
		if ((n = nl_recv(nl, 0)) < 0) {
			int e = errno; /* the caller retries on ENOBUFS */
			log_warn("nftables: %s: receive", t->what);
			errno = e;
			return -1;
		}
		rc = nl_parse(nl, (size_t)n, req->nlmsg_seq, cb, t);
	} while (rc > MNL_CB_STOP);
	if (rc == MNL_CB_ERROR && t->err == 0) {
		/* libmnl stops at a message flagged NLM_F_DUMP_INTR (the ruleset
		 * changed during the dump) with EINTR: the caller dumps again. */
		if (errno != EINTR)
			log_warn("nftables: %s: bad reply", t->what);
		return -1;
	}
	return 0;
}

/* --- reading --------------------------------------------------------- */

/* Counters of a dump, matched to zone names. */
struct counts {
	const name_t *names;
	size_t n;
	const size_t *ord; /* names' indices sorted by name (names_order); NULL:
			      scan (a handful of names) */
	struct nm_zone_counters *out;
	unsigned char *seen; /* per zone: 1 = _in, 2 = _out */
	/* Overlay counters "<group>@<zone>": per group n + 1 slots. */
	const name_t *ovnames;
	size_t nov;
	const size_t *ovord;
	struct nm_ov_counters *ovout;
	unsigned char *ovseen;
};

/* The first len bytes of name (no NUL among them) against the string s, in
 * strcmp's order. */
static int name_cmp(const char *name, size_t len, const char *s)
{
	int c = strncmp(name, s, len);

	return c != 0 ? c : s[len] == '\0' ? 0 : -1;
}

static const name_t *sort_names; /* qsort has no context argument */

static int ord_cmp(const void *a, const void *b)
{
	return strcmp(sort_names[*(const size_t *)a], sort_names[*(const size_t *)b]);
}

/* Indices of names[0..n) sorted by name: a read matches 2n counters to n
 * names, so each lookup must be O(log n), not a scan (1000 zones: 7.7 ms a
 * read with scans). Free with free(). */
static size_t *names_order(const name_t *names, size_t n)
{
	size_t *ord = xcalloc(n + 1, sizeof(*ord));

	for (size_t i = 0; i < n; i++)
		ord[i] = i;
	sort_names = names;
	qsort(ord, n, sizeof(*ord), ord_cmp);
	sort_names = NULL;
	return ord;
}

/* Index in names of the name of len bytes, or -1. */
static int name_find(const name_t *names, const size_t *ord, size_t n, const char *name,
		     size_t len)
{
	size_t lo = 0, hi = n;

	if (ord == NULL) {
		for (size_t i = 0; i < n; i++)
			if (name_cmp(name, len, names[i]) == 0)
				return (int)i;
		return -1;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(name, len, names[ord[mid]]);

		if (c == 0)
			return (int)ord[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int zone_index(const struct counts *cs, const char *name, size_t len)
{
	return name_find(cs->names, cs->ord, cs->n, name, len);
}

/* The attributes of one level, each checked for its type: libnftnl's own
 * parser (nftnl_obj_nlmsg_parse) calls exit() on an attribute of a wrong
 * size ("ABI breakage"), which a reply must not be able to do to the
 * daemon (found by fuzzing: tests/fuzz/corpus/nft/regress-bad-attr). */
struct attrs {
	const struct nlattr *a[NFTA_OBJ_MAX + NFTA_COUNTER_MAX + 2];
	int max;
	int bad;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *as = data;
	int type = mnl_attr_get_type(a);
	enum mnl_attr_data_type want;

	if (mnl_attr_type_valid(a, (uint16_t)as->max) < 0)
		return MNL_CB_OK; /* newer than us: ignored */
	switch (as->max) {
	case NFTA_OBJ_MAX:
		want = type == NFTA_OBJ_TABLE || type == NFTA_OBJ_NAME
			   ? MNL_TYPE_NUL_STRING
		       : type == NFTA_OBJ_TYPE ? MNL_TYPE_U32
		       : type == NFTA_OBJ_DATA ? MNL_TYPE_NESTED
					       : MNL_TYPE_UNSPEC;
		break;
	default: /* NFTA_COUNTER_MAX */
		want = type == NFTA_COUNTER_BYTES || type == NFTA_COUNTER_PACKETS
			   ? MNL_TYPE_U64
			   : MNL_TYPE_UNSPEC;
		break;
	}
	if (want != MNL_TYPE_UNSPEC && mnl_attr_validate(a, want) < 0) {
		as->bad = 1;
		return MNL_CB_OK;
	}
	as->a[type] = a;
	return MNL_CB_OK;
}

static int on_obj(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	struct counts *cs = t->data;
	struct attrs o = {.max = NFTA_OBJ_MAX}, c = {.max = NFTA_COUNTER_MAX};
	const char *name;
	size_t len;
	int i, out;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg) ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &o) < 0 || o.bad ||
	    (o.a[NFTA_OBJ_DATA] &&
	     (mnl_attr_parse_nested(o.a[NFTA_OBJ_DATA], attr_cb, &c) < 0 || c.bad))) {
		log_warnx("nftables: %s: unparsable object", t->what);
		return MNL_CB_OK;
	}
	if (!o.a[NFTA_OBJ_NAME] || !o.a[NFTA_OBJ_TABLE] || !o.a[NFTA_OBJ_TYPE] ||
	    strcmp(mnl_attr_get_str(o.a[NFTA_OBJ_TABLE]), NMF_TABLE) != 0 ||
	    ntohl(mnl_attr_get_u32(o.a[NFTA_OBJ_TYPE])) != NFT_OBJECT_COUNTER)
		return MNL_CB_OK;
	name = mnl_attr_get_str(o.a[NFTA_OBJ_NAME]);
	len = strlen(name);
	/* Absent values are 0, as libnftnl gave them. */
	uint64_t pk = c.a[NFTA_COUNTER_PACKETS]
			  ? be64toh(mnl_attr_get_u64(c.a[NFTA_COUNTER_PACKETS]))
			  : 0;
	uint64_t by = c.a[NFTA_COUNTER_BYTES]
			  ? be64toh(mnl_attr_get_u64(c.a[NFTA_COUNTER_BYTES]))
			  : 0;
	const char *at = strchr(name, '@');
	if (at) { /* an overlay's: <group>@<zone> or <group>@* */
		int g =
		    name_find(cs->ovnames, cs->ovord, cs->nov, name, (size_t)(at - name));
		size_t slot;

		if (g < 0 || cs->ovout == NULL)
			return MNL_CB_OK;
		if (strcmp(at + 1, OV_OTHER) == 0)
			slot = cs->n;
		else if ((i = zone_index(cs, at + 1, strlen(at + 1))) >= 0)
			slot = (size_t)i;
		else
			return MNL_CB_OK;
		slot += (size_t)g * (cs->n + 1);
		cs->ovout[slot].packets = pk;
		cs->ovout[slot].bytes = by;
		cs->ovseen[slot] = 1;
		return MNL_CB_OK;
	}
	if (len > 4 && strcmp(name + len - 4, "_out") == 0)
		out = 1, len -= 4;
	else if (len > 3 && strcmp(name + len - 3, "_in") == 0)
		out = 0, len -= 3;
	else
		return MNL_CB_OK;
	if ((i = zone_index(cs, name, len)) < 0)
		return MNL_CB_OK; /* a zone a reload removed, or not ours */
	if (out) {
		cs->out[i].packets_out = pk;
		cs->out[i].bytes_out = by;
	} else {
		cs->out[i].packets_in = pk;
		cs->out[i].bytes_in = by;
	}
	cs->seen[i] |= (unsigned char)(out ? 2 : 1);
	return MNL_CB_OK;
}

/* NFT_MSG_GETOBJ: one dump of the table's counters. Sets the values of the
 * zones found in out (the others are left alone) and the number of counters
 * missing in *missing. A dump that the kernel cut short (ENOBUFS) or that a
 * concurrent change made inconsistent is tried again. 0 or -1. */
static int get_counters(const name_t *names, size_t n, struct nm_zone_counters *out,
			const name_t *ovnames, size_t nov, struct nm_ov_counters *ovout,
			size_t *missing)
{
	struct counts cs = {.names = names, .n = n, .out = out};
	size_t *ord = names_order(names, n), *ovord = NULL, nslots = nov * (n + 1);
	struct nftnl_obj *o = nn(nftnl_obj_alloc());
	struct talk t = {.what = "read counters", .data = &cs};
	struct nlmsghdr *nlh;
	struct nl nl;
	int rc = -1, ok, lost, intr;

	cs.ord = ord;
	cs.seen = xcalloc(n + 1, 1);
	if (ovout && nov) {
		ovord = names_order(ovnames, nov);
		cs.ovnames = ovnames;
		cs.nov = nov;
		cs.ovord = ovord;
		cs.ovout = ovout;
		cs.ovseen = xcalloc(nslots + 1, 1);
	}
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NMF_TABLE);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	for (int try = 1; try <= TRIES; try++) {
		if (nl_open(&nl) == -1)
			break;
		memset(cs.seen, 0, n);
		if (cs.ovseen)
			memset(cs.ovseen, 0, nslots);
		t.err = 0;
		nlh = nftnl_nlmsg_build_hdr(nl.buf, NFT_MSG_GETOBJ, NFPROTO_INET,
					    NLM_F_DUMP, ++nl.seq);
		nftnl_obj_nlmsg_build_payload(nlh, o);
		errno = 0;
		ok = nl_request(&nl, nlh, on_obj, &t) == 0 && t.err == 0;
		lost = errno == ENOBUFS || t.err == ENOBUFS;
		intr = !ok && errno == EINTR;
		nl_close(&nl);
		if (ok) {
			rc = 0;
			break;
		}
		if (!(intr || lost) || try == TRIES) {
			if (intr)
				log_warnx(
				    "nftables: read counters: ruleset kept changing");
			break;
		}
	}
	if (rc == 0) {
		*missing = 0;
		for (size_t i = 0; i < n; i++)
			*missing += (size_t)(cs.seen[i] != 3) + (cs.seen[i] == 0);
		for (size_t i = 0; cs.ovseen && i < nslots; i++)
			*missing += cs.ovseen[i] == 0;
	}
	free(cs.seen);
	free(cs.ovseen);
	free(ovord);
	free(ord);
	nftnl_obj_free(o);
	return rc;
}

/* NFT_MSG_GETTABLE: 1 if our table exists, 0 if not, -1 on error. */
static int table_exists(void)
{
	struct nftnl_table *tb = nn(nftnl_table_alloc());
	struct talk t = {.what = "look for table inet " NMF_TABLE, .quiet_enoent = 1};
	struct nlmsghdr *nlh;
	struct nl nl;
	int rc = -1;

	if (nl_open(&nl) == -1)
		goto out;
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, NMF_TABLE);
	nlh = nftnl_nlmsg_build_hdr(nl.buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK,
				    ++nl.seq);
	nftnl_table_nlmsg_build_payload(nlh, tb);
	/* The answer is the table then an ack, or ENOENT. */
	if (nl_request(&nl, nlh, NULL, &t) == -1)
		goto out;
	if (t.err == 0)
		rc = 1;
	else if (t.err == ENOENT)
		rc = 0;
out:
	nl_close(&nl);
	nftnl_table_free(tb);
	return rc;
}

/* --- the transaction ------------------------------------------------- */

static void batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	b->cap = MSG_ROOM * 2;
	b->buf = xcalloc(1, b->cap); /* zeroed padding: see nl_open */
	b->seq0 = b->seq = (uint32_t)time(NULL);
}

static void batch_free(struct batch *b)
{
	free(b->buf);
	free(b->what);
	memset(b, 0, sizeof(*b));
}

/* Start a message, with MSG_ROOM free for it (libnftnl writes without
 * bounds: every message we build is smaller). NULL past BATCH_MAX. */
static struct nlmsghdr *batch_hdr(struct batch *b, uint16_t type, uint16_t flags,
				  const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static struct nlmsghdr *batch_hdr(struct batch *b, uint16_t type, uint16_t flags,
				  const char *fmt, ...)
{
	size_t i = b->seq - b->seq0;
	va_list ap;

	if (b->cap - b->len < MSG_ROOM) {
		if (b->cap * 2 > BATCH_MAX) {
			log_warnx("nftables: the table would take more than %d MiB",
				  BATCH_MAX >> 20);
			return NULL;
		}
		b->buf = xrealloc(b->buf, b->cap * 2);
		memset(b->buf + b->cap, 0, b->cap);
		b->cap *= 2;
	}
	b->what = xgrow(b->what, i, sizeof(*b->what));
	va_start(ap, fmt);
	vsnprintf(b->what[i], sizeof(b->what[i]), fmt, ap);
	va_end(ap);
	if (type == NFNL_MSG_BATCH_BEGIN)
		return nftnl_batch_begin(b->buf + b->len, b->seq++);
	if (type == NFNL_MSG_BATCH_END)
		return nftnl_batch_end(b->buf + b->len, b->seq++);
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFPROTO_INET,
				     NLM_F_REQUEST | flags, b->seq++);
}

/* The message started by batch_hdr is complete. */
static void batch_put(struct batch *b, struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_type != NFNL_MSG_BATCH_BEGIN &&
	    nlh->nlmsg_type != NFNL_MSG_BATCH_END)
		b->last = b->len;
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* NFT_MSG_NEWTABLE / NFT_MSG_DELTABLE */
static int put_table(struct batch *b, uint16_t type, uint16_t flags, const char *what)
{
	struct nftnl_table *tb;
	struct nlmsghdr *nlh;

	if ((nlh = batch_hdr(b, type, flags, "%s table inet %s", what, NMF_TABLE)) ==
	    NULL)
		return -1;
	tb = nn(nftnl_table_alloc());
	nftnl_table_set_str(tb, NFTNL_TABLE_NAME, NMF_TABLE);
	nftnl_table_nlmsg_build_payload(nlh, tb);
	nftnl_table_free(tb);
	batch_put(b, nlh);
	return 0;
}

/* NFT_MSG_NEWOBJ: counter <zone><suffix>, starting at pkts/bytes. */
static int put_counter(struct batch *b, const char *zone, const char *suffix,
		       uint64_t pkts, uint64_t bytes)
{
	struct nftnl_obj *o;
	struct nlmsghdr *nlh;
	char name[NAME_LEN];

	snprintf(name, sizeof(name), "%s%s", zone, suffix);
	nlh = batch_hdr(b, NFT_MSG_NEWOBJ, NLM_F_CREATE | NLM_F_EXCL, "add counter %s",
			name);
	if (nlh == NULL)
		return -1;
	o = nn(nftnl_obj_alloc());
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NMF_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_PKTS, pkts);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_BYTES, bytes);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	batch_put(b, nlh);
	return 0;
}

static struct nftnl_set *set_of(const struct map *m)
{
	struct nftnl_set *s = nn(nftnl_set_alloc());

	nftnl_set_set_str(s, NFTNL_SET_TABLE, NMF_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, m->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, m->id);
	return s;
}

/* NFT_MSG_NEWSET: map <m> { type ipvX_addr : counter; flags interval; } */
static int put_set(struct batch *b, const struct map *m)
{
	struct nftnl_set *s;
	struct nlmsghdr *nlh;

	nlh = batch_hdr(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, "add map %s",
			m->name);
	if (nlh == NULL)
		return -1;
	s = set_of(m);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS,
			  (m->hash ? 0 : NFT_SET_INTERVAL) |
			      (m->plain ? 0 : NFT_SET_OBJECT));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, m->keytype);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, m->len);
	if (!m->plain)
		nftnl_set_set_u32(s, NFTNL_SET_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_put(b, nlh);
	return 0;
}

/* An interval's start (pointing at counter obj in a map, obj NULL in a
 * plain set) or, end set, the address after its end. */
static void add_elem(struct nftnl_set *s, const unsigned char *key, size_t len,
		     const char *obj, int end)
{
	struct nftnl_set_elem *e = nn(nftnl_set_elem_alloc());

	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, (uint32_t)len);
	if (obj)
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_OBJREF, obj);
	if (end)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
				       NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(s, e);
}

/* NFT_MSG_NEWSETELEM for the elements in s; a fresh s is returned. */
static struct nftnl_set *flush_elems(struct batch *b, struct nftnl_set *s,
				     const struct map *m, int *rc)
{
	struct nlmsghdr *nlh;

	nlh = batch_hdr(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL,
			"add elements to map %s", m->name);
	if (nlh == NULL)
		*rc = -1;
	else {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		batch_put(b, nlh);
	}
	nftnl_set_free(s);
	return set_of(m);
}

/* Each interval is a start element pointing at the counter and an end
 * element at the address after it (none when it runs to the last address),
 * ELEMS_MSG elements to a message. */
/* The counter of interval r in map m: "<zone><suffix>" for the zone maps,
 * "<group>@<zone>" (or OV_OTHER) for an overlay's (suffix "" and group set). */
struct objname {
	const struct nmz *z;
	const char *group; /* NULL: a zone map */
};

static int put_ranges(struct batch *b, const struct map *m, const struct nmz_range *r,
		      size_t n, const struct objname *on)
{
	struct nftnl_set *s = set_of(m);
	unsigned char end[16];
	char obj[NAME_LEN];
	size_t inmsg = 0;
	int rc = 0, k;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *zn = (size_t)r[i].zone < nmz_count(on->z)
				     ? nmz_name(on->z, (size_t)r[i].zone)
				     : OV_OTHER;
		if (on->group)
			snprintf(obj, sizeof(obj), "%s@%s", on->group, zn);
		else
			snprintf(obj, sizeof(obj), "%s%s", zn, m->suffix);
		add_elem(s, r[i].lo, m->len, m->plain ? NULL : obj, 0);
		memcpy(end, r[i].hi, m->len);
		for (k = (int)m->len - 1; k >= 0 && ++end[k] == 0; k--)
			;
		/* An end even where the next interval starts (the overlays'
		 * source maps cover every address), as nft itself adds them: the
		 * kernel refuses a start that would end the one before. */
		if (k >= 0)
			add_elem(s, end, m->len, NULL, 1);
		if ((inmsg += 2) >= ELEMS_MSG) {
			s = flush_elems(b, s, m, &rc);
			inmsg = 0;
		}
	}
	if (inmsg > 0)
		s = flush_elems(b, s, m, &rc);
	nftnl_set_free(s);
	return rc;
}

/* A hash map's elements: each block's first address pointing at its zone's
 * counter, ELEMS_MSG elements to a message. */
static int put_blocks(struct batch *b, const struct map *m, const struct nmz_range *r,
		      size_t n, const struct nmz *z)
{
	struct nftnl_set *s = set_of(m);
	char obj[NAME_LEN];
	size_t inmsg = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		snprintf(obj, sizeof(obj), "%s%s", nmz_name(z, (size_t)r[i].zone),
			 m->suffix);
		add_elem(s, r[i].lo, m->len, obj, 0);
		if (++inmsg >= ELEMS_MSG) {
			s = flush_elems(b, s, m, &rc);
			inmsg = 0;
		}
	}
	if (inmsg > 0)
		s = flush_elems(b, s, m, &rc);
	nftnl_set_free(s);
	return rc;
}

/* blocks()'s collection: every block of one prefix length, at most 4096. */
struct blockset {
	struct nmz_range *out;
	size_t n, cap, bytes;
	unsigned plen;
	int zone, fail;
};

static void add_block(nmz_u128 net, unsigned plen, void *arg)
{
	struct blockset *b = arg;

	if (b->fail || (b->n && plen != b->plen) || b->n == 4096) {
		b->fail = 1; /* two lengths, or too many blocks */
		return;
	}
	b->plen = plen;
	if (b->n == b->cap)
		b->out = xreallocarray(b->out, b->cap = b->cap ? b->cap * 2 : 16,
				       sizeof(*b->out));
	memset(&b->out[b->n], 0, sizeof(b->out[b->n]));
	nmz_addr_put(b->out[b->n].lo, b->bytes, net);
	b->out[b->n++].zone = b->zone;
}

/* The intervals r[0..n) cut into CIDR blocks (lo the network, hi unused),
 * *nb of them, if they all have one prefix length (*plen); else NULL. Free
 * with free(). */
static struct nmz_range *blocks(const struct nmz_range *r, size_t n, size_t len,
				size_t *nb, unsigned *plen)
{
	struct blockset b = {.bytes = len};

	for (size_t i = 0; i < n && !b.fail; i++) {
		b.zone = r[i].zone;
		nmz_cut(len, nmz_addr_get(r[i].lo, len), nmz_addr_get(r[i].hi, len),
			add_block, &b);
	}
	if (b.fail || b.n == 0) {
		free(b.out);
		return NULL;
	}
	*nb = b.n;
	*plen = b.plen;
	return b.out;
}

/* Map m (copied into *mm) with z's intervals: a hash map of prefixes if they
 * are all blocks of one length (the usual subnets of one size), else an
 * interval map. */
static int put_zone_map(struct batch *b, const struct map *m, const struct nmz *z,
			struct map *mm)
{
	struct objname on = {z, NULL};
	size_t n, nb;
	const struct nmz_range *r = nmz_ranges(z, m->family, &n);
	unsigned plen = 0;
	struct nmz_range *bl = blocks(r, n, m->len, &nb, &plen);
	int rc;

	*mm = *m;
	mm->hash = bl != NULL;
	mm->plen = plen;
	if (put_set(b, mm) == -1)
		rc = -1;
	else
		rc = bl ? put_blocks(b, mm, bl, nb, z) : put_ranges(b, mm, r, n, &on);
	free(bl);
	return rc;
}

/* NFT_MSG_NEWCHAIN: a base chain that accepts everything it sees. */
static int put_chain(struct batch *b, const char *name, uint32_t hook, int prio)
{
	struct nftnl_chain *c;
	struct nlmsghdr *nlh;

	nlh = batch_hdr(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, "add chain %s",
			name);
	if (nlh == NULL)
		return -1;
	c = nn(nftnl_chain_alloc());
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NMF_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	batch_put(b, nlh);
	return 0;
}

static void expr_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nn(nftnl_expr_alloc("meta"));

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

static void expr_cmp(struct nftnl_rule *r, uint32_t op, const void *v, uint32_t len)
{
	struct nftnl_expr *e = nn(nftnl_expr_alloc("cmp"));

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, v, len);
	nftnl_rule_add_expr(r, e);
}

static void expr_payload(struct nftnl_rule *r, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nn(nftnl_expr_alloc("payload"));

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

/* reg 1 &= the first plen bits of len bytes */
static void expr_mask(struct nftnl_rule *r, uint32_t len, unsigned plen)
{
	struct nftnl_expr *e = nn(nftnl_expr_alloc("bitwise"));
	unsigned char mask[16] = {0}, zero[16] = {0};

	for (unsigned i = 0; i < plen; i++)
		mask[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	nftnl_rule_add_expr(r, e);
}

static void expr_objref_map(struct nftnl_rule *r, const struct map *m)
{
	struct nftnl_expr *e = nn(nftnl_expr_alloc("objref"));

	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_SET_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_SET_NAME, m->name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_SET_ID, m->id);
	nftnl_rule_add_expr(r, e);
}

static void expr_lookup(struct nftnl_rule *r, const struct map *m)
{
	struct nftnl_expr *e = nn(nftnl_expr_alloc("lookup"));

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, m->name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, m->id);
	nftnl_rule_add_expr(r, e);
}

/* NFT_MSG_NEWRULE: meta nfproto <family> meta i/oiftype != loopback
 * counter name <address> map @<m>. The family first: a packet of the other
 * family stops at the first compare (2 expressions instead of 4). Loopback
 * is the host talking to itself, not traffic to or from a zone. */
static int put_rule(struct batch *b, const struct map *m, const struct map *dst)
{
	const uint16_t loopback = ARPHRD_LOOPBACK;
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;

	nlh = batch_hdr(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
			"add rule to chain %s for map %s", m->chain, m->name);
	if (nlh == NULL)
		return -1;
	r = nn(nftnl_rule_alloc());
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NMF_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, m->chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	expr_meta(r, NFT_META_NFPROTO);
	expr_cmp(r, NFT_CMP_EQ, &m->nfproto, sizeof(m->nfproto));
	expr_meta(r, m->iftype);
	expr_cmp(r, NFT_CMP_NEQ, &loopback, sizeof(loopback));
	if (dst) { /* an overlay's: only packets to its destinations */
		expr_payload(r, dst->off, dst->len);
		expr_lookup(r, dst);
	}
	expr_payload(r, m->off, m->len);
	if (m->hash && m->plen < 8 * m->len)
		expr_mask(r, m->len, m->plen);
	expr_objref_map(r, m);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_put(b, nlh);
	return 0;
}

/* Every address of family, in intervals: z's, and between them intervals
 * of the zone nmz_count(z) ("other"). *n intervals; free with free(). */
static struct nmz_range *cover(const struct nmz *z, int family, size_t len, size_t *n)
{
	size_t nz, k = 0;
	const struct nmz_range *r = nmz_ranges(z, family, &nz);
	struct nmz_range *out = xcalloc(2 * nz + 2, sizeof(*out));
	unsigned char cur[16] = {0};
	int more = 1, j;

	for (size_t i = 0; i < nz; i++) {
		if (memcmp(cur, r[i].lo, len) < 0) {
			memcpy(out[k].lo, cur, len);
			memcpy(out[k].hi, r[i].lo, len);
			for (j = (int)len - 1; j >= 0 && out[k].hi[j]-- == 0; j--)
				;
			out[k++].zone = (int)nmz_count(z);
		}
		out[k++] = r[i];
		memcpy(cur, r[i].hi, len);
		for (j = (int)len - 1; j >= 0 && ++cur[j] == 0; j--)
			;
		more = j >= 0; /* this interval did not end at the last address */
	}
	if (more) {
		memcpy(out[k].lo, cur, len);
		memset(out[k].hi, 0xff, len);
		out[k++].zone = (int)nmz_count(z);
	}
	*n = k;
	return out;
}

/* Overlay i: counters "<group>@<zone>" and "<group>@*" (starting at
 * start[], n + 1 of them, or 0), per family with destinations a set of
 * them and a map of every source address to its counter, and the rule
 * "meta nfproto F meta iiftype != loopback <daddr> @dst counter name
 * <saddr> map @src" in prerouting. */
static int put_overlay(struct batch *b, const struct nmz *z, size_t i,
		       const struct nm_ov_counters *start)
{
	char cname[NAME_LEN], dname[NAME_LEN], sname[NAME_LEN];
	struct objname on = {z, ovc.names[i]};
	size_t nz = nmz_count(z);

	for (size_t k = 0; k <= nz; k++) {
		snprintf(cname, sizeof(cname), "%s@%s", ovc.names[i],
			 k < nz ? nmz_name(z, k) : OV_OTHER);
		if (put_counter(b, cname, "", start ? start[k].packets : 0,
				start ? start[k].bytes : 0) == -1)
			return -1;
	}
	for (size_t f = 0; f < 2; f++) {
		const struct map *zm = &maps[f]; /* in4, in6: source address */
		size_t nd, nsrc;
		const struct nmz_range *d = nmz_ranges(ovc.dst[i], zm->family, &nd);
		struct nmz_range *src;
		struct map dst = *zm, sm = *zm;
		struct objname none = {ovc.dst[i], NULL};
		int rc;

		if (nd == 0)
			continue;
		snprintf(dname, sizeof(dname), "%s_dst%c", ovc.names[i], f ? '6' : '4');
		snprintf(sname, sizeof(sname), "%s_src%c", ovc.names[i], f ? '6' : '4');
		dst.name = dname;
		dst.plain = 1;
		dst.off = f ? 24 : 16; /* the destination address */
		dst.id = OV_ID0 + 4 * (uint32_t)i + 2 * (uint32_t)f;
		sm.name = sname;
		sm.suffix = "";
		sm.id = dst.id + 1;
		src = cover(z, zm->family, zm->len, &nsrc);
		rc = put_set(b, &dst) == -1 || put_ranges(b, &dst, d, nd, &none) == -1 ||
		     put_set(b, &sm) == -1 || put_ranges(b, &sm, src, nsrc, &on) == -1 ||
		     put_rule(b, &sm, &dst) == -1;
		free(src);
		if (rc)
			return -1;
	}
	return 0;
}

/* The whole table for z, counters starting at start[], replacing any old
 * one: "add table" first so that "delete table" always has one to delete. */
static int build(struct batch *b, const struct nmz *z,
		 const struct nm_zone_counters *start,
		 const struct nm_ov_counters *ovstart)
{
	struct map zm[ARRAY_SIZE(maps)];
	struct nlmsghdr *nlh;

	if ((nlh = batch_hdr(b, NFNL_MSG_BATCH_BEGIN, 0, "begin transaction")) == NULL)
		return -1;
	batch_put(b, nlh);
	if (put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add") == -1 ||
	    put_table(b, NFT_MSG_DELTABLE, 0, "delete old") == -1 ||
	    put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, "create") == -1)
		return -1;
	for (size_t i = 0; i < nmz_count(z); i++)
		if (put_counter(b, nmz_name(z, i), "_in", start[i].packets_in,
				start[i].bytes_in) == -1 ||
		    put_counter(b, nmz_name(z, i), "_out", start[i].packets_out,
				start[i].bytes_out) == -1)
			return -1;
	if (put_chain(b, "prerouting", NF_INET_PRE_ROUTING, PRIO_PRE) == -1)
		return -1;
	/* Zones counted elsewhere (eBPF): their counters stay, unfed, and no
	 * postrouting chain costs anything per packet. */
	if (zone_rules) {
		for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
			if (put_zone_map(b, &maps[i], z, &zm[i]) == -1)
				return -1;
		if (put_chain(b, "postrouting", NF_INET_POST_ROUTING, PRIO_POST) == -1)
			return -1;
		for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
			if (put_rule(b, &zm[i], NULL) == -1)
				return -1;
	}
	for (size_t i = 0; i < ovc.n; i++)
		if (put_overlay(b, z, i,
				ovstart ? ovstart + i * (nmz_count(z) + 1) : NULL) == -1)
			return -1;
	return 0;
}

/* End the batch, send it in one sendto() and read every reply queued.
 * 0 only if the last message was acked and nothing failed. */
static int batch_send(struct batch *b, const char *what)
{
	struct talk t = {.b = b, .what = what};
	struct nlmsghdr *nlh;
	struct nl nl;
	int lost = 0, rc = -1, sz;
	ssize_t n;

	if (b->last == 0)
		return -1; /* nothing but "begin" */
	nlh = (struct nlmsghdr *)(b->buf + b->last);
	nlh->nlmsg_flags |= NLM_F_ACK;
	t.ack_seq = nlh->nlmsg_seq;
	if ((nlh = batch_hdr(b, NFNL_MSG_BATCH_END, 0, "end transaction")) == NULL)
		return -1;
	batch_put(b, nlh);
	if (nl_open(&nl) == -1)
		return -1;
	/* One datagram must hold the whole transaction. */
	sz = (int)(b->len + 4096);
	if (b->len > 128 * 1024 && setsockopt(mnl_socket_get_fd(nl.sk), SOL_SOCKET,
					      SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(mnl_socket_get_fd(nl.sk), SOL_SOCKET, SO_SNDBUF, &sz,
			   sizeof(sz));
	if (mnl_socket_sendto(nl.sk, b->buf, b->len) < 0) {
		log_warn("nftables: %s: send %zu bytes", what, b->len);
		goto out;
	}
	for (;;) {
		if ((n = nl_recv(&nl, MSG_DONTWAIT)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) { /* some replies dropped: read on */
				lost = 1;
				continue;
			}
			log_warn("nftables: %s: receive", what);
			goto out;
		}
		if (nl_parse(&nl, (size_t)n, 0, NULL, &t) == MNL_CB_ERROR && t.err == 0) {
			log_warn("nftables: %s: bad reply", what);
			goto out;
		}
	}
	if (lost)
		log_warnx("nftables: %s: replies lost (ENOBUFS): taken as failed", what);
	else if (!t.acked && t.err == 0)
		log_warnx("nftables: %s: no answer from the kernel", what);
	if (t.acked && t.err == 0 && !lost)
		rc = 0;
out:
	nl_close(&nl);
	return rc;
}

/* --- the API --------------------------------------------------------- */

static name_t *names_of(const struct nmz *z)
{
	name_t *names = xcalloc(nmz_count(z) + 1, sizeof(*names));

	for (size_t i = 0; i < nmz_count(z); i++)
		strlcpy_chk(names[i], nmz_name(z, i), sizeof(names[i]));
	return names;
}

/* Starting values for z's counters: those of the zones of the same name in
 * the table this process made, brought up to date from the kernel. */
static void carry(const struct nmz *z, int exists, struct nm_zone_counters *start,
		  struct nm_ov_counters *ovstart)
{
	size_t missing = 1, *ord, *ovord, nz = nmz_count(z);
	struct nm_ov_counters *ovnow = xcalloc(st.nov * (st.n + 1) + 1, sizeof(*ovnow));

	if (exists && get_counters(st.names, st.n, st.last, st.ovnames, st.nov, ovnow,
				   &missing) == -1)
		missing = 1;
	if (exists && missing == 0)
		memcpy(st.ovlast, ovnow, st.nov * (st.n + 1) * sizeof(*ovnow));
	free(ovnow);
	if (missing)
		log_warnx("nftables: table inet %s was changed by someone else: counters "
			  "continue from the values read last",
			  NMF_TABLE);
	ord = names_order(st.names, st.n);
	for (size_t i = 0; i < nmz_count(z); i++) {
		const char *name = nmz_name(z, i);
		int j = name_find(st.names, ord, st.n, name, strlen(name));

		if (j >= 0)
			start[i] = st.last[j];
	}
	/* Overlays by group, then zone, name; OV_OTHER to OV_OTHER. */
	ovord = names_order(st.ovnames, st.nov);
	for (size_t g = 0; g < ovc.n; g++) {
		int og = name_find(st.ovnames, ovord, st.nov, ovc.names[g],
				   strlen(ovc.names[g]));

		if (og < 0)
			continue;
		for (size_t k = 0; k <= nz; k++) {
			int j = k == nz ? (int)st.n
					: name_find(st.names, ord, st.n, nmz_name(z, k),
						    strlen(nmz_name(z, k)));
			if (j >= 0)
				ovstart[g * (nz + 1) + k] =
				    st.ovlast[(size_t)og * (st.n + 1) + (size_t)j];
		}
	}
	free(ovord);
	free(ord);
}

static void forget(void)
{
	free(st.names);
	free(st.last);
	free(st.ovnames);
	free(st.ovlast);
	memset(&st, 0, sizeof(st));
}

void nmf_set_overlays(const struct nm_overlay *ov, size_t n)
{
	for (size_t i = 0; i < ovc.n; i++)
		nmz_free(ovc.dst[i]);
	free(ovc.dst);
	free(ovc.names);
	memset(&ovc, 0, sizeof(ovc));
	if (n == 0)
		return;
	ovc.n = n;
	ovc.names = xcalloc(n + 1, sizeof(*ovc.names));
	ovc.dst = xcalloc(n + 1, sizeof(*ovc.dst));
	for (size_t i = 0; i < n; i++) {
		/* The destinations as the one zone of an nmz: nested or
		 * adjacent ones merged into disjoint intervals. */
		struct nm_zone_cfg zc = {.cidrs = (struct cidr *)ov[i].dests,
					 .ncidrs = ov[i].ndests};
		struct nm_cfg c = {.zones = &zc, .nzones = 1};

		strlcpy_chk(zc.name, "dst", sizeof(zc.name));
		strlcpy_chk(ovc.names[i], ov[i].name, sizeof(ovc.names[i]));
		ovc.dst[i] = nmz_build(&c);
	}
}

void nmf_zone_rules(int on)
{
	zone_rules = on;
}

const struct nm_ov_counters *nmf_overlays(size_t *n)
{
	*n = st.nov;
	return st.ovlast;
}

int nmf_apply(const struct nmz *z)
{
	struct nm_zone_counters *start = xcalloc(nmz_count(z) + 1, sizeof(*start));
	size_t nov = nmz_count(z) ? ovc.n : 0, nslots = nov * (nmz_count(z) + 1);
	struct nm_ov_counters *ovstart = xcalloc(nslots + 1, sizeof(*ovstart));
	struct batch b;
	int exists, rc = -1;

	batch_init(&b);
	if ((exists = table_exists()) == -1)
		goto out;
	if (st.applied)
		carry(z, exists, start, ovstart);
	else if (exists)
		log_info("nftables: replacing table inet %s left by an earlier run",
			 NMF_TABLE);
	if (build(&b, z, start, ovstart) == -1 || batch_send(&b, "apply zones") == -1)
		goto out;
	forget();
	st.applied = 1;
	st.names = names_of(z);
	st.last = start;
	st.n = nmz_count(z);
	start = NULL;
	st.nov = nov;
	st.ovnames = xcalloc(nov + 1, sizeof(*st.ovnames));
	memcpy(st.ovnames, ovc.names, nov * sizeof(*st.ovnames));
	st.ovlast = ovstart;
	ovstart = NULL;
	log_debug("nftables: table inet %s: %zu zones, %zu bytes of netlink", NMF_TABLE,
		  nmz_count(z), b.len);
	rc = 0;
out:
	batch_free(&b);
	free(start);
	free(ovstart);
	return rc;
}

int nmf_read(const struct nmz *z, struct nm_zone_counters *out)
{
	size_t n = nmz_count(z), missing;
	name_t *names = names_of(z);
	/* The overlays' counters come in the same dump, when z is the table
	 * applied (so the slots are its zones). */
	int same =
	    st.applied && st.n == n && memcmp(st.names, names, n * sizeof(*names)) == 0;
	size_t nslots = same ? st.nov * (n + 1) : 0;
	struct nm_ov_counters *ov = xcalloc(nslots + 1, sizeof(*ov));
	int rc = -1;

	memset(out, 0, n * sizeof(*out));
	if (get_counters(names, n, out, st.ovnames, same ? st.nov : 0, same ? ov : NULL,
			 &missing) == -1)
		goto out;
	if (missing > 0) {
		log_warnx("nftables: %zu of %zu counters missing from table inet %s "
			  "(deleted or flushed by someone else?)",
			  missing, 2 * n, NMF_TABLE);
		goto out;
	}
	/* Remember them: the values a replacement table starts from. z is
	 * nearly always the table this process applied, names in the same
	 * order: then it is a copy, and only otherwise a lookup per name. */
	if (same) {
		memcpy(st.last, out, n * sizeof(*out));
		memcpy(st.ovlast, ov, nslots * sizeof(*ov));
	} else if (st.applied) {
		size_t *ord = names_order(st.names, st.n);

		for (size_t i = 0; i < n; i++) {
			int j =
			    name_find(st.names, ord, st.n, names[i], strlen(names[i]));

			if (j >= 0)
				st.last[j] = out[i];
		}
		free(ord);
	}
	rc = 0;
out:
	free(ov);
	free(names);
	return rc;
}

void nmf_remove(void)
{
	struct batch b;
	struct nlmsghdr *nlh;

	batch_init(&b);
	if ((nlh = batch_hdr(&b, NFNL_MSG_BATCH_BEGIN, 0, "begin transaction")) != NULL) {
		batch_put(&b, nlh);
		if (put_table(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add") == 0 &&
		    put_table(&b, NFT_MSG_DELTABLE, 0, "delete") == 0 &&
		    batch_send(&b, "remove table") == 0)
			log_debug("nftables: removed table inet %s", NMF_TABLE);
	}
	batch_free(&b);
	forget();
}
