/* zone.c — zones flattened to non-overlapping intervals, longest prefix wins.
 *
 * Prefixes are a laminar family: two of them are either disjoint or one holds
 * the other. Sorted by start address, widest first, they can be swept with a
 * stack of the prefixes that hold the current address: the top of the stack
 * is the longest match, so every stretch of addresses goes to the zone on top
 * while it is there. O(n log n) for n CIDRs.
 *
 * Addresses are numbers here (unsigned __int128, IPv4 in the low 32 bits), so
 * "the address after hi" is hi + 1; the public intervals are network-order
 * bytes, which compare with memcmp in the same order.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "netmon/nm_cfg.h"
#include "netmon/zone.h"

typedef nmz_u128 u128;

struct fam {
	struct nmz_range *r;
	size_t n;
};

struct nmz {
	char (*names)[INI_NAME_MAX];
	size_t nzones;
	struct fam v4, v6;
};

/* One CIDR as a closed interval of numbers. */
struct pfx {
	u128 lo, hi;
	int plen, zone;
};

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

nmz_u128 nmz_addr_get(const unsigned char *a, size_t bytes)
{
	u128 v = 0;

	for (size_t i = 0; i < bytes; i++)
		v = v << 8 | a[i];
	return v;
}

void nmz_addr_put(unsigned char *a, size_t bytes, nmz_u128 v)
{
	for (size_t i = bytes; i-- > 0; v >>= 8)
		a[i] = (unsigned char)v;
}

/* The largest address of the family: 2^32 - 1 or 2^128 - 1. */
static u128 maxaddr(size_t len)
{
	return len == 4 ? (u128)0xffffffffu : ~(u128)0;
}

static struct pfx to_pfx(const struct cidr *c, int zone)
{
	size_t len = alen(c->family);
	int bits = (int)len * 8;
	u128 host = c->plen == 0 ? maxaddr(len) : (((u128)1 << (bits - c->plen)) - 1);
	struct pfx p;

	p.lo = nmz_addr_get(c->addr, len) & ~host; /* cfg refuses host bits; be sure */
	p.hi = p.lo | host;
	p.plen = c->plen;
	p.zone = zone;
	return p;
}

/* By start, then widest first, so that a prefix comes before those it holds.
 * Identical prefixes (cfg refuses them) go to the later zone: it is pushed
 * last and so sits on top. */
static int pfx_cmp(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return (x->zone > y->zone) - (x->zone < y->zone);
}

/* Append [lo, hi] of zone, merged into the previous interval if it continues
 * it in the same zone. out has room for every interval the sweep can make. */
static void emit(struct pfx *out, size_t *n, u128 lo, u128 hi, int zone)
{
	if (*n > 0 && out[*n - 1].zone == zone && out[*n - 1].hi + 1 == lo) {
		out[*n - 1].hi = hi;
		return;
	}
	out[*n].lo = lo;
	out[*n].hi = hi;
	out[*n].zone = zone;
	(*n)++;
}

/* Flatten the sorted prefixes p into out (room for 2n + 1); returns the count. */
static size_t sweep(const struct pfx *p, size_t n, u128 max, struct pfx *out)
{
	const struct pfx **stack = xcalloc(n + 1, sizeof(*stack));
	size_t sp = 0, nout = 0;
	u128 pos = 0; /* first address not yet given to a zone */
	const struct pfx *top;

	for (size_t i = 0; i < n; i++) {
		/* Close the prefixes that end before this one starts; none of
		 * them ends at max, since p[i] starts after it. */
		while (sp > 0 && stack[sp - 1]->hi < p[i].lo) {
			top = stack[--sp];
			if (pos <= top->hi)
				emit(out, &nout, pos, top->hi, top->zone);
			pos = top->hi + 1;
		}
		/* The enclosing prefix owns the gap up to this one. */
		if (sp > 0 && pos < p[i].lo)
			emit(out, &nout, pos, p[i].lo - 1, stack[sp - 1]->zone);
		pos = p[i].lo;
		stack[sp++] = &p[i];
	}
	while (sp > 0) {
		top = stack[--sp];
		if (pos <= top->hi)
			emit(out, &nout, pos, top->hi, top->zone);
		if (top->hi == max)
			break; /* pos would wrap; the rest end at max too */
		pos = top->hi + 1;
	}
	free(stack);
	return nout;
}

static void build_family(const struct nm_cfg *nm, int family, struct fam *f)
{
	size_t len = alen(family), n = 0, nout;
	struct pfx *p, *out;

	for (size_t i = 0; i < nm->nzones; i++)
		for (size_t j = 0; j < nm->zones[i].ncidrs; j++)
			n += nm->zones[i].cidrs[j].family == family;
	p = xcalloc(n + 1, sizeof(*p));
	n = 0;
	for (size_t i = 0; i < nm->nzones; i++)
		for (size_t j = 0; j < nm->zones[i].ncidrs; j++)
			if (nm->zones[i].cidrs[j].family == family)
				p[n++] = to_pfx(&nm->zones[i].cidrs[j], (int)i);
	qsort(p, n, sizeof(*p), pfx_cmp);

	/* Each prefix opens at most one interval and, when it closes, lets
	 * its parent resume in one more: 2n bounds the count. */
	out = xcalloc(2 * n + 1, sizeof(*out));
	nout = sweep(p, n, maxaddr(len), out);

	f->r = xcalloc(nout + 1, sizeof(*f->r));
	f->n = nout;
	for (size_t i = 0; i < nout; i++) {
		memset(f->r[i].lo, 0, sizeof(f->r[i].lo));
		memset(f->r[i].hi, 0, sizeof(f->r[i].hi));
		nmz_addr_put(f->r[i].lo, len, out[i].lo);
		nmz_addr_put(f->r[i].hi, len, out[i].hi);
		f->r[i].zone = out[i].zone;
	}
	free(out);
	free(p);
}

struct nmz *nmz_build(const struct nm_cfg *nm)
{
	struct nmz *z = xcalloc(1, sizeof(*z));

	z->nzones = nm->nzones;
	z->names = xcalloc(nm->nzones + 1, sizeof(*z->names));
	for (size_t i = 0; i < nm->nzones; i++)
		strlcpy_chk(z->names[i], nm->zones[i].name, sizeof(z->names[i]));
	build_family(nm, AF_INET, &z->v4);
	build_family(nm, AF_INET6, &z->v6);
	return z;
}

void nmz_free(struct nmz *z)
{
	if (z == NULL)
		return;
	free(z->names);
	free(z->v4.r);
	free(z->v6.r);
	free(z);
}

size_t nmz_count(const struct nmz *z)
{
	return z->nzones;
}

const char *nmz_name(const struct nmz *z, size_t i)
{
	return z->names[i];
}

int nmz_find(const struct nmz *z, const char *name)
{
	for (size_t i = 0; i < z->nzones; i++)
		if (strcmp(z->names[i], name) == 0)
			return (int)i;
	return -1;
}

static const struct fam *family_of(const struct nmz *z, int family)
{
	if (family == AF_INET)
		return &z->v4;
	if (family == AF_INET6)
		return &z->v6;
	return NULL;
}

const struct nmz_range *nmz_ranges(const struct nmz *z, int family, size_t *n)
{
	const struct fam *f = family_of(z, family);

	*n = f ? f->n : 0;
	return f ? f->r : NULL;
}

int nmz_lookup(const struct nmz *z, int family, const void *addr)
{
	const struct fam *f = family_of(z, family);
	size_t lo = 0, hi, len = alen(family);

	if (f == NULL || f->n == 0)
		return -1;
	/* The last interval starting at or before addr is the only candidate. */
	hi = f->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(f->r[mid].lo, addr, len) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	if (memcmp(f->r[lo].lo, addr, len) > 0 || memcmp(addr, f->r[lo].hi, len) > 0)
		return -1;
	return f->r[lo].zone;
}

void nmz_cut(size_t bytes, nmz_u128 lo, nmz_u128 hi,
	     void (*out)(nmz_u128 net, unsigned plen, void *arg), void *arg)
{
	unsigned bits = (unsigned)bytes * 8;

	for (;;) {
		unsigned k = 0; /* the block is 2^k addresses */
		while (k < bits && !((lo >> k) & 1) &&
		       (k + 1 == 128 ? hi == ~(nmz_u128)0
				     : lo + (((nmz_u128)2 << k) - 1) <= hi))
			k++;
		if (k == 128 && bits == 128) {
			out(lo, 0, arg);
			return;
		}
		out(lo, bits - k, arg);
		nmz_u128 next = lo + ((nmz_u128)1 << k);
		if (lo + (((nmz_u128)1 << k) - 1) >= hi || (bits < 128 && next >> bits))
			return;
		lo = next;
	}
}
