/* test_zone.c — zones flattened to non-overlapping intervals: nesting,
 * adjacency, IPv6, /0, /32, /128, many zones, and a randomized cross-check
 * of nmz_lookup against a naive longest-prefix scan over the CIDRs. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/cfg.h"
#include "lib/util.h"
#include "netmon/zone.h"

/* Add zone name with the space-separated CIDRs to nm. */
static void add_zone(struct nm_cfg *nm, const char *name, const char *cidrs)
{
	struct nm_zone_cfg *z;
	char *copy = xstrdup(cidrs), *save = NULL, *w;

	nm->zones = xreallocarray(nm->zones, nm->nzones + 1, sizeof(*nm->zones));
	z = &nm->zones[nm->nzones++];
	memset(z, 0, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", name);
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		z->cidrs = xreallocarray(z->cidrs, z->ncidrs + 1, sizeof(*z->cidrs));
		assert_int_equal(cidr_parse(w, &z->cidrs[z->ncidrs]), 0);
		z->ncidrs++;
	}
	free(copy);
}

static void free_zones(struct nm_cfg *nm)
{
	for (size_t i = 0; i < nm->nzones; i++)
		free(nm->zones[i].cidrs);
	free(nm->zones);
	memset(nm, 0, sizeof(*nm));
}

/* Zone name of a textual address, or "-" when it is in no zone. */
static const char *look(const struct nmz *z, const char *addr)
{
	unsigned char a[16];
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	int i;

	assert_int_equal(inet_pton(family, addr, a), 1);
	i = nmz_lookup(z, family, a);
	return i < 0 ? "-" : nmz_name(z, (size_t)i);
}

/* The intervals of family as "lo-hi=zone lo-hi=zone". */
static char *ranges_str(const struct nmz *z, int family)
{
	static char s[8192];
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
	size_t n, off = 0;
	const struct nmz_range *r = nmz_ranges(z, family, &n);

	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		inet_ntop(family, r[i].lo, lo, sizeof(lo));
		inet_ntop(family, r[i].hi, hi, sizeof(hi));
		off +=
		    (size_t)snprintf(s + off, sizeof(s) - off, "%s%s-%s=%s", i ? " " : "",
				     lo, hi, nmz_name(z, (size_t)r[i].zone));
		assert_true(off < sizeof(s));
	}
	return s;
}

/* Sorted, each lo <= hi, disjoint, and no two neighbours of one zone that
 * touch (they should have been merged). */
static void check_shape(const struct nmz *z, int family)
{
	size_t n, len = family == AF_INET ? 4 : 16;
	const struct nmz_range *r = nmz_ranges(z, family, &n);

	for (size_t i = 0; i < n; i++) {
		assert_true(memcmp(r[i].lo, r[i].hi, len) <= 0);
		assert_true(r[i].zone >= 0 && (size_t)r[i].zone < nmz_count(z));
		if (i == 0)
			continue;
		assert_true(memcmp(r[i - 1].hi, r[i].lo, len) < 0);
		if (r[i - 1].zone == r[i].zone) {
			/* touching means hi + 1 == lo */
			unsigned char next[16];
			int k;
			memcpy(next, r[i - 1].hi, len);
			for (k = (int)len - 1; k >= 0 && ++next[k] == 0; k--)
				;
			assert_false(k >= 0 && memcmp(next, r[i].lo, len) == 0);
		}
	}
}

static void nesting(void **state)
{
	struct nm_cfg nm = {0};
	struct nmz *z;

	add_zone(&nm, "a", "10.0.0.0/8");
	add_zone(&nm, "b", "10.1.0.0/16");
	add_zone(&nm, "c", "10.1.2.0/24 10.1.2.128/25");
	add_zone(&nm, "d", "10.1.2.192/26");
	z = nmz_build(&nm);
	assert_int_equal(nmz_count(z), 4);
	check_shape(z, AF_INET);
	assert_string_equal(ranges_str(z, AF_INET), "10.0.0.0-10.0.255.255=a "
						    "10.1.0.0-10.1.1.255=b "
						    "10.1.2.0-10.1.2.191=c "
						    "10.1.2.192-10.1.2.255=d "
						    "10.1.3.0-10.1.255.255=b "
						    "10.2.0.0-10.255.255.255=a");
	assert_string_equal(look(z, "9.255.255.255"), "-");
	assert_string_equal(look(z, "10.0.0.0"), "a");
	assert_string_equal(look(z, "10.0.255.255"), "a");
	assert_string_equal(look(z, "10.1.0.0"), "b");
	assert_string_equal(look(z, "10.1.2.127"), "c");
	assert_string_equal(look(z, "10.1.2.191"), "c");
	assert_string_equal(look(z, "10.1.2.192"), "d");
	assert_string_equal(look(z, "10.1.3.0"), "b");
	assert_string_equal(look(z, "10.2.0.0"), "a");
	assert_string_equal(look(z, "10.255.255.255"), "a");
	assert_string_equal(look(z, "11.0.0.0"), "-");
	assert_int_equal(nmz_find(z, "c"), 2);
	assert_int_equal(nmz_find(z, "nope"), -1);
	/* No IPv6 at all. */
	assert_string_equal(look(z, "::1"), "-");
	nmz_free(z);
	free_zones(&nm);
}

/* Two nested prefixes that start at the same address: the inner one takes
 * the start, the outer one the rest. */
static void nesting_same_start(void **state)
{
	struct nm_cfg nm = {0};
	struct nmz *z;

	add_zone(&nm, "inner", "198.18.0.0/24");
	add_zone(&nm, "outer", "198.18.0.0/16");
	z = nmz_build(&nm);
	assert_string_equal(ranges_str(z, AF_INET), "198.18.0.0-198.18.0.255=inner "
						    "198.18.1.0-198.18.255.255=outer");
	nmz_free(z);
	free_zones(&nm);
}

static void adjacency(void **state)
{
	struct nm_cfg nm = {0};
	struct nmz *z;

	/* Same zone, touching: merged into one interval. */
	add_zone(&nm, "a", "10.0.0.128/25 10.0.0.0/25 10.0.1.0/24");
	/* Different zones, touching: kept apart. */
	add_zone(&nm, "b", "10.0.2.0/24");
	/* A hole, then a again: not merged across the hole. */
	add_zone(&nm, "c", "10.0.4.0/24");
	z = nmz_build(&nm);
	check_shape(z, AF_INET);
	assert_string_equal(ranges_str(z, AF_INET), "10.0.0.0-10.0.1.255=a "
						    "10.0.2.0-10.0.2.255=b "
						    "10.0.4.0-10.0.4.255=c");
	assert_string_equal(look(z, "10.0.1.255"), "a");
	assert_string_equal(look(z, "10.0.2.0"), "b");
	assert_string_equal(look(z, "10.0.3.0"), "-");
	nmz_free(z);
	free_zones(&nm);

	/* A child that covers the end of its parent exactly, then a
	 * neighbour of the parent's zone: the parent's tail merges with it. */
	add_zone(&nm, "p", "10.0.0.0/24 10.0.1.0/24");
	add_zone(&nm, "q", "10.0.0.128/25");
	z = nmz_build(&nm);
	check_shape(z, AF_INET);
	assert_string_equal(ranges_str(z, AF_INET), "10.0.0.0-10.0.0.127=p "
						    "10.0.0.128-10.0.0.255=q "
						    "10.0.1.0-10.0.1.255=p");
	nmz_free(z);
	free_zones(&nm);
}

static void ipv6(void **state)
{
	struct nm_cfg nm = {0};
	struct nmz *z;

	add_zone(&nm, "az1", "fd00::/8 198.18.10.0/24");
	add_zone(&nm, "az2", "fd00:1::/32");
	add_zone(&nm, "host", "fd00:1::5/128");
	z = nmz_build(&nm);
	check_shape(z, AF_INET6);
	assert_string_equal(ranges_str(z, AF_INET6),
			    "fd00::-fd00:0:ffff:ffff:ffff:ffff:ffff:ffff=az1 "
			    "fd00:1::-fd00:1::4=az2 "
			    "fd00:1::5-fd00:1::5=host "
			    "fd00:1::6-fd00:1:ffff:ffff:ffff:ffff:ffff:ffff=az2 "
			    "fd00:2::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff=az1");
	assert_string_equal(ranges_str(z, AF_INET), "198.18.10.0-198.18.10.255=az1");
	assert_string_equal(look(z, "fd00:1::4"), "az2");
	assert_string_equal(look(z, "fd00:1::5"), "host");
	assert_string_equal(look(z, "fd00:1::6"), "az2");
	assert_string_equal(look(z, "fd00:2::"), "az1");
	assert_string_equal(look(z, "fe00::"), "-");
	assert_string_equal(look(z, "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "-");
	/* An IPv4 address is not looked up among the IPv6 intervals. */
	assert_string_equal(look(z, "198.18.10.1"), "az1");
	assert_string_equal(look(z, "::ffff:198.18.10.1"), "-");
	nmz_free(z);
	free_zones(&nm);
}

/* /0, /32 and /128, including the very last address of each family, where
 * "the next address" would wrap around. */
static void extremes(void **state)
{
	struct nm_cfg nm = {0};
	struct nmz *z;

	add_zone(&nm, "all", "0.0.0.0/0 ::/0");
	add_zone(&nm, "ten", "10.0.0.0/8");
	add_zone(&nm, "last",
		 "255.255.255.255/32 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	add_zone(&nm, "first", "0.0.0.0/32 ::/128");
	z = nmz_build(&nm);
	check_shape(z, AF_INET);
	check_shape(z, AF_INET6);
	assert_string_equal(ranges_str(z, AF_INET),
			    "0.0.0.0-0.0.0.0=first "
			    "0.0.0.1-9.255.255.255=all "
			    "10.0.0.0-10.255.255.255=ten "
			    "11.0.0.0-255.255.255.254=all "
			    "255.255.255.255-255.255.255.255=last");
	assert_string_equal(ranges_str(z, AF_INET6),
			    "::-::=first "
			    "::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe=all "
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff-"
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff=last");
	assert_string_equal(look(z, "0.0.0.0"), "first");
	assert_string_equal(look(z, "0.0.0.1"), "all");
	assert_string_equal(look(z, "255.255.255.254"), "all");
	assert_string_equal(look(z, "255.255.255.255"), "last");
	assert_string_equal(look(z, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), "all");
	assert_string_equal(look(z, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "last");
	nmz_free(z);
	free_zones(&nm);

	/* /0 alone: one interval over the whole space. */
	add_zone(&nm, "all", "0.0.0.0/0 ::/0");
	z = nmz_build(&nm);
	assert_string_equal(ranges_str(z, AF_INET), "0.0.0.0-255.255.255.255=all");
	assert_string_equal(ranges_str(z, AF_INET6),
			    "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff=all");
	nmz_free(z);
	free_zones(&nm);

	/* A single /32 and a prefix that ends at the top, with a child. */
	add_zone(&nm, "top", "128.0.0.0/1");
	add_zone(&nm, "one", "198.18.0.1/32");
	z = nmz_build(&nm);
	assert_string_equal(ranges_str(z, AF_INET), "128.0.0.0-198.18.0.0=top "
						    "198.18.0.1-198.18.0.1=one "
						    "198.18.0.2-255.255.255.255=top");
	assert_string_equal(look(z, "127.255.255.255"), "-");
	nmz_free(z);
	free_zones(&nm);
}

static void no_zones(void **state)
{
	struct nm_cfg nm = {0};
	struct nmz *z = nmz_build(&nm);
	size_t n = 1;

	assert_int_equal(nmz_count(z), 0);
	nmz_ranges(z, AF_INET, &n);
	assert_int_equal(n, 0);
	assert_string_equal(look(z, "10.0.0.1"), "-");
	assert_int_equal(nmz_lookup(z, AF_UNIX, "x"), -1);
	nmz_free(z);
	nmz_free(NULL);
}

/* 300 zones of two /24s each, and one /16 holding them all. */
static void many_zones(void **state)
{
	struct nm_cfg nm = {0};
	struct nmz *z;
	char name[32], cidrs[128];
	size_t n;

	add_zone(&nm, "wide", "10.0.0.0/8");
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "z%d", i);
		snprintf(cidrs, sizeof(cidrs), "10.%d.%d.0/24 fd00:%x::/32", 1 + i / 100,
			 (i % 100) * 2, i + 1);
		add_zone(&nm, name, cidrs);
	}
	z = nmz_build(&nm);
	assert_int_equal(nmz_count(z), 301);
	check_shape(z, AF_INET);
	check_shape(z, AF_INET6);
	nmz_ranges(z, AF_INET6, &n);
	assert_int_equal(n, 300); /* adjacent /32s of different zones */
	nmz_ranges(z, AF_INET, &n);
	/* per /16: 100 zone /24s separated by 100 gaps of wide (the last gap
	 * runs on to the next /16), plus wide before the first /16 */
	assert_int_equal(n, 1 + 3 * 200);
	for (int i = 0; i < 300; i++) {
		char a[64];
		snprintf(name, sizeof(name), "z%d", i);
		snprintf(a, sizeof(a), "10.%d.%d.77", 1 + i / 100, (i % 100) * 2);
		assert_string_equal(look(z, a), name);
		snprintf(a, sizeof(a), "10.%d.%d.77", 1 + i / 100, (i % 100) * 2 + 1);
		assert_string_equal(look(z, a), "wide");
		snprintf(a, sizeof(a), "fd00:%x::1", i + 1);
		assert_string_equal(look(z, a), name);
	}
	nmz_free(z);
	free_zones(&nm);
}

/* --- randomized cross-check ------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible from the seed printed on failure */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int in_prefix(const unsigned char *a, const struct cidr *c)
{
	int full = c->plen / 8, rest = c->plen % 8;

	if (memcmp(a, c->addr, (size_t)full) != 0)
		return 0;
	return rest == 0 ||
	       ((a[full] ^ c->addr[full]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

/* The zone of the longest CIDR holding a, scanning everything. */
static int naive(const struct nm_cfg *nm, int family, const unsigned char *a)
{
	int best = -1, bestlen = -1;

	for (size_t i = 0; i < nm->nzones; i++)
		for (size_t j = 0; j < nm->zones[i].ncidrs; j++) {
			const struct cidr *c = &nm->zones[i].cidrs[j];
			if (c->family == family && c->plen > bestlen && in_prefix(a, c)) {
				best = (int)i;
				bestlen = c->plen;
			}
		}
	return best;
}

/* A random prefix near base: a few random bits after the first byte, so
 * that prefixes nest and touch often. */
static void random_cidr(int family, struct cidr *c)
{
	size_t len = family == AF_INET ? 4 : 16;
	int bits = (int)len * 8;

	memset(c, 0, sizeof(*c));
	c->family = family;
	c->addr[0] = 10;
	for (size_t i = 1; i < len; i++)
		c->addr[i] = (unsigned char)rng();
	/* Short prefixes are rare but must appear: /0 to /7 too. */
	c->plen =
	    rng() % 16 == 0 ? (int)(rng() % 8) : 8 + (int)(rng() % (uint64_t)(bits - 7));
	for (int b = c->plen; b < bits; b++)
		c->addr[b / 8] &= (unsigned char)~(0x80 >> (b % 8));
	/* Keep the random bits mostly in the first 24 so that they overlap. */
	if (len == 16 && c->plen > 24)
		for (int b = 24; b < 120 && b < c->plen; b++)
			c->addr[b / 8] &= (unsigned char)~(0x80 >> (b % 8));
	if (len == 4 && c->plen > 20)
		for (int b = 12; b < 20; b++)
			c->addr[b / 8] &= (unsigned char)~(0x80 >> (b % 8));
}

static int already(const struct nm_cfg *nm, const struct cidr *c)
{
	for (size_t i = 0; i < nm->nzones; i++)
		for (size_t j = 0; j < nm->zones[i].ncidrs; j++) {
			const struct cidr *o = &nm->zones[i].cidrs[j];
			if (o->family == c->family && o->plen == c->plen &&
			    memcmp(o->addr, c->addr, 16) == 0)
				return 1;
		}
	return 0;
}

/* Addresses worth probing around c: its first and last, and their
 * neighbours outside it. */
static void edges(const struct cidr *c, unsigned char out[4][16])
{
	size_t len = c->family == AF_INET ? 4 : 16;
	int bits = (int)len * 8, k;

	memcpy(out[0], c->addr, 16);
	memcpy(out[1], c->addr, 16);
	for (int b = c->plen; b < bits; b++)
		out[1][b / 8] |= (unsigned char)(0x80 >> (b % 8));
	memcpy(out[2], out[0], 16); /* lo - 1 */
	for (k = (int)len - 1; k >= 0 && out[2][k]-- == 0; k--)
		;
	memcpy(out[3], out[1], 16); /* hi + 1 */
	for (k = (int)len - 1; k >= 0 && ++out[3][k] == 0; k--)
		;
}

static void cross_check_family(int family, uint64_t seed)
{
	size_t len = family == AF_INET ? 4 : 16;

	rng_state = seed;
	for (int round = 0; round < 300; round++) {
		struct nm_cfg nm = {0};
		int nzones = 1 + (int)(rng() % 12), ncidrs = 1 + (int)(rng() % 40);
		struct nmz *z;
		unsigned char a[16], e[4][16];

		nm.zones = xcalloc((size_t)nzones, sizeof(*nm.zones));
		nm.nzones = (size_t)nzones;
		for (int i = 0; i < nzones; i++)
			snprintf(nm.zones[i].name, sizeof(nm.zones[i].name), "z%d", i);
		for (int i = 0; i < ncidrs; i++) {
			struct nm_zone_cfg *zz = &nm.zones[rng() % (uint64_t)nzones];
			struct cidr c;
			random_cidr(family, &c);
			if (already(&nm, &c))
				continue;
			zz->cidrs = xreallocarray(zz->cidrs, zz->ncidrs + 1, sizeof(c));
			zz->cidrs[zz->ncidrs++] = c;
		}
		z = nmz_build(&nm);
		check_shape(z, family);
		for (size_t i = 0; i < nm.nzones; i++)
			for (size_t j = 0; j < nm.zones[i].ncidrs; j++) {
				edges(&nm.zones[i].cidrs[j], e);
				for (int k = 0; k < 4; k++)
					if (nmz_lookup(z, family, e[k]) !=
					    naive(&nm, family, e[k]))
						fail_msg("seed %llu round %d: edge %d of "
							 "cidr %zu/%zu",
							 (unsigned long long)seed, round,
							 k, i, j);
			}
		for (int p = 0; p < 400; p++) {
			memset(a, 0, sizeof(a));
			a[0] = rng() % 8 == 0 ? (unsigned char)rng() : 10;
			for (size_t i = 1; i < len; i++)
				a[i] = (unsigned char)rng();
			if (family == AF_INET6 && rng() % 2)
				memset(a + 3, 0, 12); /* land in the dense part */
			if (family == AF_INET && rng() % 2)
				a[1] &= 0xf0, a[2] &= 0x0f;
			if (nmz_lookup(z, family, a) != naive(&nm, family, a))
				fail_msg("seed %llu round %d: probe %d",
					 (unsigned long long)seed, round, p);
		}
		nmz_free(z);
		free_zones(&nm);
	}
}

static void randomized(void **state)
{
	const char *s = getenv("ZONE_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 10) : 20240607;

	cross_check_family(AF_INET, seed);
	cross_check_family(AF_INET6, seed + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(nesting),	  cmocka_unit_test(nesting_same_start),
	    cmocka_unit_test(adjacency),  cmocka_unit_test(ipv6),
	    cmocka_unit_test(extremes),	  cmocka_unit_test(no_zones),
	    cmocka_unit_test(many_zones), cmocka_unit_test(randomized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
