/* zbpf.c — the zone packet/byte counters in eBPF: loads netmon/bpf/zones.bpf.c
 * (a libbpf skeleton), fills its prefix tries from the zones and attaches
 * its programs at tc (clsact) ingress and egress of every interface of the
 * daemon's network namespace but loopback and devices enslaved to another
 * (bridge or bond ports: nftables counts their packets once, on the master).
 * Interfaces that appear later are attached when RTM_NEWLINK says so (a
 * rtnetlink socket on the event loop; ENOBUFS: lost events, so every link is
 * listed again).
 *
 * Counters live in slots: a zone keeps its slot across reloads, so a zone
 * that stays keeps counting in the kernel with nothing copied; a new zone
 * gets a slot free before the reload (zeroed first, never one whose prefixes
 * are still in the maps) and the maps are updated in place: new entries
 * added or overwritten, then stale ones deleted. They map CIDRs: the zones'
 * disjoint intervals (nmz) cut into the fewest aligned blocks, so an address
 * is in at most one, the zone of the longest configured prefix, as
 * nmz_lookup says. Each family's CIDRs are in a trie and, when they have at
 * most ZB_NPLEN lengths, in a hash map that the program tries length by
 * length (zones.bpf.c says why); while a reload rewrites a hash map, the
 * program looks in the trie.
 *
 * The programs are attached as tcx links where the kernel has tcx (6.6+),
 * else as clsact filters. A clsact filter is ours by handle and priority
 * (ZB_HANDLE, ZB_PRIO): attaching replaces one a crashed daemon left. On
 * exit the links are closed, our filters detached, and a clsact qdisc that
 * this process created is deleted with them.
 *
 * The egress program tail-calls whatever tc program nmb_chain put in its
 * slot, for packets with a socket: netmon/tcpbpf.c's TCP counting rides on
 * these attachments (one program per hook, and the interfaces followed in
 * one place) instead of linking a program of its own. */
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/bpf/zones.h"
#include "netmon/bpf/zones.skel.h"
#include "netmon/zbpf.h"
#include "netmon/zone.h"

#define ZB_HANDLE 0x5646 /* "VF" */
#define ZB_PRIO	  1	 /* first: our filters return "no opinion" */

/* One interface with our filters. */
struct iface {
	int ifindex;
	int raw;	       /* no link-layer header: the _raw programs */
	int link_in, link_out; /* tcx links (fds), or -1: clsact filters */
	int created;	       /* clsact: we created the qdisc */
};

static struct {
	struct zones_bpf *skel;
	int cpus;
	struct iface *ifs;
	size_t nifs;
	struct mnl_socket *ev; /* RTM_NEWLINK / RTM_DELLINK */
	uint64_t relist;       /* a timer: list links again after ENOBUFS */
	/* The zones counted: names and slots, in nmz order. */
	char (*names)[64];
	uint32_t *slots;
	size_t n;
	/* The tries' entries now. */
	struct zb_key4 *k4;
	uint32_t *v4;
	size_t n4;
	struct zb_key6 *k6;
	uint32_t *v6;
	size_t n6;
	int hashed4, hashed6; /* the hash maps hold k4 / k6 too */
	uint64_t lost;	      /* ENOBUFS on the event socket */
	unsigned gen; /* what zb_then holds now (nmb_chain): bumped when emptied */
} b;
static unsigned gens; /* generations given out */

/* Generations are never 0 (nmb_chain's failure) and never reused within
 * a process: a holder of an old one sees it gone. */
static unsigned next_gen(void)
{
	if (++gens == 0)
		gens = 1;
	return gens;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t len;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

/* --- prefixes ------------------------------------------------------- */

struct entries {
	int bytes;
	uint32_t slot;
	struct zb_key4 *k4;
	struct zb_key6 *k6;
	uint32_t *v;
	size_t n;
};

static void emit(nmz_u128 lo, unsigned plen, void *arg)
{
	struct entries *e = arg;

	if (e->bytes == 4) {
		e->k4 = xgrow(e->k4, e->n, sizeof(*e->k4));
		memset(&e->k4[e->n], 0, sizeof(*e->k4));
		e->k4[e->n].plen = plen;
		nmz_addr_put(e->k4[e->n].addr, 4, lo);
	} else {
		e->k6 = xgrow(e->k6, e->n, sizeof(*e->k6));
		memset(&e->k6[e->n], 0, sizeof(*e->k6));
		e->k6[e->n].plen = plen;
		nmz_addr_put(e->k6[e->n].addr, 16, lo);
	}
	e->v = xgrow(e->v, e->n, sizeof(*e->v));
	e->v[e->n++] = e->slot;
}

/* Every interval of family as trie entries, with the slot of its zone. */
static void entries_of(const struct nmz *z, const uint32_t *slots, int family,
		       struct entries *e)
{
	size_t nr;
	const struct nmz_range *r = nmz_ranges(z, family, &nr);

	memset(e, 0, sizeof(*e));
	e->bytes = family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < nr; i++) {
		e->slot = slots[r[i].zone];
		nmz_cut((size_t)e->bytes, nmz_addr_get(r[i].lo, (size_t)e->bytes),
			nmz_addr_get(r[i].hi, (size_t)e->bytes), emit, e);
	}
}

static size_t cmp_ksz; /* qsort and bsearch have no context argument */

static int key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, cmp_ksz);
}

/* Make a map hold exactly the entries newk/newv: add or overwrite, then
 * delete the old keys that are not among the new (sorted, then searched). */
static int map_set(int fd, const void *oldk, size_t nold, const void *newk,
		   const uint32_t *newv, size_t nnew, size_t ksz, const char *what)
{
	char *sorted = xcalloc(nnew + 1, ksz);
	int rc = -1;

	if (nnew) {
		memcpy(sorted, newk, nnew * ksz);
		cmp_ksz = ksz;
		qsort(sorted, nnew, ksz, key_cmp);
	}
	for (size_t i = 0; i < nnew; i++)
		if (bpf_map_update_elem(fd, (const char *)newk + i * ksz, &newv[i],
					BPF_ANY) != 0) {
			log_warn("eBPF: %s: cannot add prefix %zu of %zu", what, i + 1,
				 nnew);
			goto out;
		}
	for (size_t i = 0; i < nold; i++) {
		const void *k = (const char *)oldk + i * ksz;
		cmp_ksz = ksz;
		if (bsearch(k, sorted, nnew, ksz, key_cmp) == NULL &&
		    bpf_map_delete_elem(fd, k) != 0 && errno != ENOENT) {
			log_warn("eBPF: %s: cannot delete a prefix", what);
			goto out;
		}
	}
	rc = 0;
out:
	free(sorted);
	return rc;
}

/* The prefix lengths of e (into len) and their number; ZB_TRIE when the
 * hash map cannot take them (too many lengths or prefixes). */
static unsigned plens(const struct entries *e, unsigned char *len)
{
	unsigned n = 0;

	if (e->n > ZB_HASHED)
		return ZB_TRIE;
	for (size_t i = 0; i < e->n; i++) {
		unsigned p = e->bytes == 4 ? e->k4[i].plen : e->k6[i].plen, j;
		for (j = 0; j < n && len[j] != p; j++)
			;
		if (j < n)
			continue;
		if (n == ZB_NPLEN)
			return ZB_TRIE;
		len[n++] = (unsigned char)p;
	}
	return n;
}

/* The hash map of e's family to e (the trie already is): the program looks
 * in the trie while the hash map changes, then tries e's lengths. */
static int hash_set(const struct entries *e)
{
	struct zones_bpf__bss *bss = b.skel->bss;
	int v4 = e->bytes == 4, fd;
	unsigned char len[ZB_NPLEN];
	unsigned n = plens(e, len);
	uint32_t *np = v4 ? &bss->zb_n4 : &bss->zb_n6;
	unsigned char *lp = v4 ? bss->zb_len4 : bss->zb_len6;
	int *hashed = v4 ? &b.hashed4 : &b.hashed6, now = n > 0 && n <= ZB_NPLEN;
	size_t ksz = v4 ? sizeof(*e->k4) : sizeof(*e->k6);
	const void *oldk = v4 ? (const void *)b.k4 : (const void *)b.k6;
	size_t nold = *hashed ? (v4 ? b.n4 : b.n6) : 0;

	fd = bpf_map__fd(v4 ? b.skel->maps.zb_hash4 : b.skel->maps.zb_hash6);
	/* Stores into the skeleton's mmapped .bss: the programs read them at
	 * their next packet. */
	__atomic_store_n(np, e->n ? ZB_TRIE : 0, __ATOMIC_SEQ_CST);
	if (map_set(fd, oldk, nold, v4 ? (const void *)e->k4 : (const void *)e->k6, e->v,
		    now ? e->n : 0, ksz, v4 ? "IPv4 hash" : "IPv6 hash") != 0) {
		*hashed = 1; /* partly written: delete it all next time */
		return -1;
	}
	*hashed = now;
	if (now) {
		memcpy(lp, len, n);
		__atomic_store_n(np, n, __ATOMIC_SEQ_CST);
	}
	log_debug("eBPF: IPv%d: %zu prefixes, %s", v4 ? 4 : 6, e->n,
		  now	 ? "hash lookups by length"
		  : e->n ? "trie lookups"
			 : "none");
	return 0;
}

/* IPv4 zones of at most ZB_NRANGE intervals: into the program's arrays,
 * searched in place (zones.bpf.c). Meanwhile the hash map or trie (already
 * holding z) serves. */
static void ranges_set(const struct nmz *z, const uint32_t *slots)
{
	struct zones_bpf__bss *bss = b.skel->bss;
	size_t nr;
	const struct nmz_range *r = nmz_ranges(z, AF_INET, &nr);

	__atomic_store_n(&bss->zb_nr4, 0, __ATOMIC_SEQ_CST);
	if (nr == 0 || nr > ZB_NRANGE)
		return;
	for (size_t i = 0; i < nr; i++) {
		bss->zb_r4lo[i] = (uint32_t)nmz_addr_get(r[i].lo, 4);
		bss->zb_r4hi[i] = (uint32_t)nmz_addr_get(r[i].hi, 4);
		bss->zb_r4slot[i] = slots[r[i].zone];
	}
	__atomic_store_n(&bss->zb_nr4, (uint32_t)nr, __ATOMIC_SEQ_CST);
	log_debug("eBPF: IPv4: %zu intervals, searched in place", nr);
}

/* --- interfaces ----------------------------------------------------- */

static void detach(struct iface *f)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = ZB_HANDLE, .priority = ZB_PRIO);

	if (f->link_in >= 0 || f->link_out >= 0) {
		if (f->link_in >= 0)
			close(f->link_in);
		if (f->link_out >= 0)
			close(f->link_out);
		f->link_in = f->link_out = -1;
		return;
	}
	hook.attach_point = BPF_TC_INGRESS;
	bpf_tc_detach(&hook, &o);
	hook.attach_point = BPF_TC_EGRESS;
	bpf_tc_detach(&hook, &o);
	if (f->created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
}

static struct iface *find_if(int ifindex)
{
	for (size_t i = 0; i < b.nifs; i++)
		if (b.ifs[i].ifindex == ifindex)
			return &b.ifs[i];
	return NULL;
}

static void forget_if(int ifindex)
{
	struct iface *f = find_if(ifindex);

	if (f)
		*f = b.ifs[--b.nifs];
}

/* tcx (Linux 6.6): the programs run straight from the device's hook, with
 * no qdisc and no classifier between (bench/netmon.sh: cls_bpf_classify
 * was as much as the program), and the links go with our fds, so a crashed
 * daemon leaves nothing attached. The attach types: zbpf.h.
 * VPCF_BPF_ATTACH=clsact asks for clsact filters even where tcx exists
 * (tests and the bench compare the two). */
static int want_tcx(void)
{
	const char *e = getenv("VPCF_BPF_ATTACH");

	return e == NULL || strcmp(e, "clsact") != 0;
}

static int attach_tcx(struct iface *f, int in_fd, int out_fd)
{
	f->link_in = bpf_link_create(in_fd, f->ifindex,
				     (enum bpf_attach_type)NMB_TCX_INGRESS, NULL);
	if (f->link_in < 0)
		return f->link_in = -1;
	f->link_out = bpf_link_create(out_fd, f->ifindex,
				      (enum bpf_attach_type)NMB_TCX_EGRESS, NULL);
	if (f->link_out < 0) {
		close(f->link_in);
		return f->link_in = f->link_out = -1;
	}
	return 0;
}

/* Our two programs on ifindex: tcx links, else clsact filters; 0 or -1
 * (logged). */
static int attach(int ifindex, const char *name, int raw)
{
	struct zones_bpf *s = b.skel;
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, in, .handle = ZB_HANDLE, .priority = ZB_PRIO,
			    .flags = BPF_TC_F_REPLACE);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, out, .handle = ZB_HANDLE, .priority = ZB_PRIO,
			    .flags = BPF_TC_F_REPLACE);
	struct iface f = {.ifindex = ifindex, .raw = raw, .link_in = -1, .link_out = -1};
	int rc;

	in.prog_fd = bpf_program__fd(raw ? s->progs.zb_in_raw : s->progs.zb_in_eth);
	out.prog_fd = bpf_program__fd(raw ? s->progs.zb_out_raw : s->progs.zb_out_eth);
	if (want_tcx() && attach_tcx(&f, in.prog_fd, out.prog_fd) == 0)
		goto done;
	rc = bpf_tc_hook_create(&hook);
	if (rc != 0 && rc != -EEXIST) {
		errno = -rc;
		log_warn("eBPF: %s: cannot add a clsact qdisc", name);
		return -1;
	}
	f.created = rc == 0;
	if ((rc = bpf_tc_attach(&hook, &in)) == 0) {
		hook.attach_point = BPF_TC_EGRESS;
		rc = bpf_tc_attach(&hook, &out);
	}
	if (rc != 0) {
		errno = -rc;
		log_warn("eBPF: %s: cannot attach the zone counters", name);
		detach(&f);
		return -1;
	}
done:
	b.ifs = xgrow(b.ifs, b.nifs, sizeof(*b.ifs));
	b.ifs[b.nifs++] = f;
	log_debug("eBPF: zone counters on %s (%s, %s)", name,
		  raw ? "no link header" : "ethernet", f.link_in >= 0 ? "tcx" : "clsact");
	return 0;
}

/* What a link is to us: 0 Ethernet, 1 no link-layer header, -1 not counted. */
static int link_kind(unsigned type)
{
	switch (type) {
	case ARPHRD_ETHER:
		return 0;
	case ARPHRD_NONE:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
	case ARPHRD_PPP:
	case ARPHRD_RAWIP:
		return 1;
	default:
		return -1;
	}
}

static int link_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFLA_MAX) < 0)
		return MNL_CB_OK;
	if (type == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	if (type == IFLA_MASTER && mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	tb[type] = a;
	return MNL_CB_OK;
}

/* mnl_cb_run over one datagram, after checking that every message's length
 * stays inside it: libmnl 1.0.4 compares nlmsg_len as an int, so a length
 * above 2^31 passes and walks out of the buffer (found by fuzz_zbpf, as by
 * fuzz_nft before). A datagram that does not fit is dropped: MNL_CB_ERROR. */
static int nl_run(const char *buf, size_t len, uint32_t seq, uint32_t portid, mnl_cb_t cb,
		  void *data)
{
	size_t off = 0;

	while (off + sizeof(struct nlmsghdr) <= len) {
		const struct nlmsghdr *nh = (const void *)(buf + off);
		if (nh->nlmsg_len < sizeof(*nh))
			break; /* libmnl stops here too */
		if (nh->nlmsg_len > len - off) {
			log_warnx("eBPF: a truncated rtnetlink message: dropped");
			return MNL_CB_ERROR;
		}
		off += MNL_ALIGN(nh->nlmsg_len);
	}
	return mnl_cb_run(buf, len, seq, portid, cb, data);
}

/* One link message, parsed (names point into it). */
struct link {
	int del; /* RTM_DELLINK */
	int index;
	unsigned type, flags;
	uint32_t master; /* 0: none */
	const char *name;
};

/* An RTM_NEWLINK or RTM_DELLINK from the kernel (untrusted: lengths and
 * attributes checked by libmnl) into *l; 0, or -1 for anything else or
 * malformed. tests/fuzz/fuzz_zbpf.c. */
static int link_parse(const struct nlmsghdr *nh, struct link *l)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	const struct ifinfomsg *ifi;

	if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK)
		return -1;
	if (nh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return -1;
	ifi = mnl_nlmsg_get_payload(nh);
	if (mnl_attr_parse(nh, sizeof(*ifi), link_attr, tb) != MNL_CB_OK)
		return -1;
	l->del = nh->nlmsg_type == RTM_DELLINK;
	l->index = ifi->ifi_index;
	l->type = ifi->ifi_type;
	l->flags = ifi->ifi_flags;
	l->master = tb[IFLA_MASTER] ? mnl_attr_get_u32(tb[IFLA_MASTER]) : 0;
	l->name = tb[IFLA_IFNAME] ? mnl_attr_get_str(tb[IFLA_IFNAME]) : "?";
	return 0;
}

/* One RTM_NEWLINK or RTM_DELLINK: attach to a link we do not count yet,
 * forget one that went or became a port of another. Attach failures are
 * logged and counted in *failed (data: int *, set when listing links). */
static int on_link(const struct nlmsghdr *nh, void *data)
{
	struct link l;
	int kind, *failed = data;

	if (link_parse(nh, &l) == -1)
		return MNL_CB_OK;
	if (l.del) {
		forget_if(l.index);
		return MNL_CB_OK;
	}
	kind = link_kind(l.type);
	if ((l.flags & IFF_LOOPBACK) || l.type == ARPHRD_LOOPBACK)
		return MNL_CB_OK;
	if (l.master != 0) {
		struct iface *f = find_if(l.index);
		if (f) {
			log_info(
			    "eBPF: %s is now a port of another device: counted there",
			    l.name);
			detach(f);
			forget_if(l.index);
		}
		return MNL_CB_OK;
	}
	if (find_if(l.index))
		return MNL_CB_OK;
	if (kind < 0) {
		/* At info once, when listing; each later event of it at debug. */
		(failed ? log_info : log_debug)(
		    "eBPF: %s (link type %u) is not counted: neither Ethernet nor "
		    "without a link-layer header",
		    l.name, l.type);
		return MNL_CB_OK;
	}
	if (attach(l.index, l.name, kind) == -1 && failed)
		(*failed)++;
	return MNL_CB_OK;
}

/* List every link (RTM_GETLINK dump) and attach where needed; 0, or -1 when
 * the dump failed or an attach did. */
static int list_links(void)
{
	struct mnl_socket *nl;
	char *buf = xmalloc(MNL_SOCKET_BUFFER_SIZE);
	struct nlmsghdr *nh;
	struct rtgenmsg *g;
	struct timeval tv = {.tv_sec = 2};
	uint32_t seq = (uint32_t)time(NULL), portid;
	int rc = -1, failed = 0;
	ssize_t len;

	if ((nl = mnl_socket_open(NETLINK_ROUTE)) == NULL ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("eBPF: rtnetlink socket");
		goto out;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	portid = mnl_socket_get_portid(nl);
	memset(buf, 0, MNL_SOCKET_BUFFER_SIZE);
	nh = mnl_nlmsg_put_header(buf);
	nh->nlmsg_type = RTM_GETLINK;
	nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nh, nh->nlmsg_len) < 0) {
		log_warn("eBPF: listing links");
		goto out;
	}
	for (;;) {
		len = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE);
		if (len < 0) {
			log_warn("eBPF: listing links");
			goto out;
		}
		int r = nl_run(buf, (size_t)len, seq, portid, on_link, &failed);
		if (r == MNL_CB_STOP)
			break;
		if (r < 0) {
			log_warn("eBPF: listing links");
			goto out;
		}
	}
	rc = failed ? -1 : 0;
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return rc;
}

static void on_relist(void *arg)
{
	b.relist = 0;
	list_links();
}

static void on_event(int fd, uint32_t events, void *arg)
{
	char *buf = xmalloc(MNL_SOCKET_BUFFER_SIZE);

	/* Bounded: a burst of events is read over several rounds of the loop. */
	for (int i = 0; i < 64; i++) {
		ssize_t len = recv(fd, buf, MNL_SOCKET_BUFFER_SIZE, MSG_DONTWAIT);
		if (len < 0 && errno == ENOBUFS) {
			b.lost++;
			log_warnx(
			    "eBPF: link events lost (ENOBUFS): listing links again");
			if (!b.relist)
				b.relist = ev_timer_add(0, on_relist, NULL);
			continue;
		}
		if (len <= 0)
			break;
		nl_run(buf, (size_t)len, 0, 0, on_link, NULL);
	}
	free(buf);
}

/* --- zones ---------------------------------------------------------- */

static int zero_slot(uint32_t slot)
{
	struct zb_count *v = xcalloc((size_t)b.cpus, sizeof(*v));
	int rc = 0;

	for (uint32_t d = 0; d < 2 && rc == 0; d++) {
		uint32_t key = slot * 2 + d;
		rc = bpf_map_update_elem(bpf_map__fd(b.skel->maps.zb_counts), &key, v,
					 BPF_ANY);
	}
	if (rc != 0)
		log_warn("eBPF: cannot reset counter slot %u", slot);
	free(v);
	return rc;
}

int nmb_apply(const struct nmz *z)
{
	size_t n = nmz_count(z);
	uint32_t *slots = xcalloc(n + 1, sizeof(*slots));
	char(*names)[64] = xcalloc(n + 1, sizeof(*names));
	unsigned char *taken = xcalloc(ZB_SLOTS, 1);
	struct entries e4, e6;
	uint32_t next = 0;
	int rc = -1;

	memset(&e4, 0, sizeof(e4));
	memset(&e6, 0, sizeof(e6));
	if (n > ZB_SLOTS) {
		log_warnx("eBPF: %zu zones: the counters hold at most %d", n, ZB_SLOTS);
		goto out;
	}
	/* Zones that stay keep their slots; no new zone takes a slot freed
	 * now, whose prefixes are still in the tries until the end. */
	for (size_t j = 0; j < b.n; j++)
		taken[b.slots[j]] = 1;
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "%s", nmz_name(z, i));
		slots[i] = UINT32_MAX;
		for (size_t j = 0; j < b.n; j++)
			if (strcmp(b.names[j], names[i]) == 0)
				slots[i] = b.slots[j];
	}
	for (size_t i = 0; i < n; i++) {
		if (slots[i] != UINT32_MAX)
			continue;
		while (next < ZB_SLOTS && taken[next])
			next++;
		if (next == ZB_SLOTS) {
			log_warnx("eBPF: no free counter slot for zone %s", names[i]);
			goto out;
		}
		slots[i] = next;
		taken[next] = 1;
		if (zero_slot(next) != 0)
			goto out;
	}
	entries_of(z, slots, AF_INET, &e4);
	entries_of(z, slots, AF_INET6, &e6);
	if (e4.n > ZB_PREFIXES || e6.n > ZB_PREFIXES) {
		log_warnx("eBPF: the zones cut into %zu IPv4 and %zu IPv6 prefixes: at "
			  "most %d each",
			  e4.n, e6.n, ZB_PREFIXES);
		goto out;
	}
	if (map_set(bpf_map__fd(b.skel->maps.zb_lpm4), b.k4, b.n4, e4.k4, e4.v, e4.n,
		    sizeof(*e4.k4), "IPv4 prefixes") != 0 ||
	    map_set(bpf_map__fd(b.skel->maps.zb_lpm6), b.k6, b.n6, e6.k6, e6.v, e6.n,
		    sizeof(*e6.k6), "IPv6 prefixes") != 0 ||
	    hash_set(&e4) != 0 || hash_set(&e6) != 0)
		goto out;
	ranges_set(z, slots);
	free(b.names);
	free(b.slots);
	free(b.k4);
	free(b.v4);
	free(b.k6);
	free(b.v6);
	b.names = names;
	b.slots = slots;
	b.n = n;
	b.k4 = e4.k4;
	b.v4 = e4.v;
	b.n4 = e4.n;
	b.k6 = e6.k6;
	b.v6 = e6.v;
	b.n6 = e6.n;
	names = NULL;
	slots = NULL;
	memset(&e4, 0, sizeof(e4));
	memset(&e6, 0, sizeof(e6));
	rc = 0;
out:
	free(names);
	free(slots);
	free(taken);
	free(e4.k4);
	free(e4.v);
	free(e6.k6);
	free(e6.v);
	return rc;
}

/* The per-CPU counters of keys 0 .. nkeys - 1 into vals (nkeys x cpus):
 * one BPF_MAP_LOOKUP_BATCH (Linux 5.6+; 1000 zones took 3.2 ms as a
 * lookup per key, bench/netmon.sh), else a lookup per key. 0 or -1. */
static int read_counts(int fd, uint32_t nkeys, struct zb_count *vals)
{
	uint32_t *keys = xcalloc(nkeys + 1, sizeof(*keys)), out_batch = 0, count = nkeys;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, o);
	int rc = 0;

	if ((bpf_map_lookup_batch(fd, NULL, &out_batch, keys, vals, &count, &o) == 0 ||
	     errno == ENOENT) &&
	    count == nkeys)
		goto out;
	for (uint32_t k = 0; k < nkeys && rc == 0; k++)
		if (bpf_map_lookup_elem(fd, &k, &vals[(size_t)k * (size_t)b.cpus]) != 0) {
			log_warn("eBPF: reading the zone counters");
			rc = -1;
		}
out:
	free(keys);
	return rc;
}

int nmb_read(const struct nmz *z, struct nm_zone_counters *out)
{
	size_t n = nmz_count(z) < b.n ? nmz_count(z) : b.n;
	uint32_t top = 0;
	struct zb_count *v;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (b.slots[i] + 1 > top)
			top = b.slots[i] + 1;
	if (top == 0)
		return 0;
	v = xcalloc((size_t)top * 2 * (size_t)b.cpus, sizeof(*v));
	rc = read_counts(bpf_map__fd(b.skel->maps.zb_counts), top * 2, v);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct zb_count *in = &v[(size_t)(b.slots[i] * 2 + ZB_IN) * b.cpus];
		const struct zb_count *o = &v[(size_t)(b.slots[i] * 2 + ZB_OUT) * b.cpus];
		memset(&out[i], 0, sizeof(out[i]));
		for (int c = 0; c < b.cpus; c++) {
			out[i].packets_in += in[c].packets;
			out[i].bytes_in += in[c].bytes;
			out[i].packets_out += o[c].packets;
			out[i].bytes_out += o[c].bytes;
		}
	}
	free(v);
	return rc;
}

size_t nmb_ifaces(void)
{
	return b.skel ? b.nifs : 0;
}

const char *nmb_hook(void)
{
	size_t tcx = 0;

	for (size_t i = 0; i < b.nifs; i++)
		tcx += b.ifs[i].link_in >= 0;
	return tcx == b.nifs ? "tcx" : tcx == 0 ? "clsact" : "tcx and clsact";
}

int nmb_init(const struct nmz *z, char *why, size_t whylen)
{
	int err;

	libbpf_set_print(libbpf_log);
	b.cpus = libbpf_num_possible_cpus();
	if (b.cpus <= 0) {
		snprintf(why, whylen, "cannot count the possible CPUs");
		return -1;
	}
	errno = 0;
	if ((b.skel = zones_bpf__open_and_load()) == NULL) {
		err = errno;
		snprintf(why, whylen, "the programs do not load: %s%s", strerror(err),
			 err == EPERM ? " (needs CAP_BPF and CAP_NET_ADMIN)" : "");
		return -1;
	}
	b.gen = next_gen();
	if (nmb_apply(z) != 0) {
		snprintf(why, whylen, "the zones do not fit the eBPF maps (see above)");
		goto fail;
	}
	if ((b.ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
		NULL ||
	    mnl_socket_bind(b.ev, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(why, whylen, "rtnetlink link events: %s", strerror(errno));
		goto fail;
	}
	/* Joined before listing: a link is in the list or in an event. */
	if (list_links() != 0) {
		snprintf(why, whylen,
			 "the programs do not attach to every interface "
			 "(see above)");
		goto fail;
	}
	if (ev_fd_set(mnl_socket_get_fd(b.ev), EPOLLIN, on_event, NULL) != 0) {
		snprintf(why, whylen, "cannot watch link events");
		goto fail;
	}
	return 0;
fail:
	nmb_fini();
	return -1;
}

unsigned nmb_chain(int prog_fd)
{
	uint32_t k = 0;

	if (b.skel == NULL) {
		errno = ENOENT;
		return 0;
	}
	if (bpf_map_update_elem(bpf_map__fd(b.skel->maps.zb_then), &k, &prog_fd,
				BPF_ANY) != 0)
		return 0;
	return b.gen;
}

int nmb_chained(unsigned gen)
{
	return b.skel != NULL && gen != 0 && gen == b.gen;
}

void nmb_unchain(unsigned gen)
{
	uint32_t k = 0;

	if (!nmb_chained(gen))
		return;
	bpf_map_delete_elem(bpf_map__fd(b.skel->maps.zb_then), &k);
	b.gen = next_gen();
}

void nmb_fini(void)
{
	if (b.ev) {
		ev_fd_del(mnl_socket_get_fd(b.ev));
		mnl_socket_close(b.ev);
	}
	if (b.relist)
		ev_timer_cancel(b.relist);
	for (size_t i = 0; i < b.nifs; i++)
		detach(&b.ifs[i]);
	zones_bpf__destroy(b.skel);
	free(b.ifs);
	free(b.names);
	free(b.slots);
	free(b.k4);
	free(b.v4);
	free(b.k6);
	free(b.v6);
	memset(&b, 0, sizeof(b));
}
