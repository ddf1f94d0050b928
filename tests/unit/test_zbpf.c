/* test_zbpf.c — netmon/zbpf.c's user-space arithmetic: intervals cut into
 * the fewest aligned CIDRs (what the eBPF hash maps and trie hold), checked
 * on edges and random intervals of both families, and the choice between
 * hash lookups by prefix length and the trie. Loading and attaching need
 * the kernel: tests/integration/netmon_bpf.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "netmon/zbpf.c"

struct blocks {
	nmz_u128 lo[512];
	unsigned plen[512];
	size_t n;
};

static void collect(nmz_u128 lo, unsigned plen, void *arg)
{
	struct blocks *bl = arg;

	assert_true(bl->n < 512);
	bl->lo[bl->n] = lo;
	bl->plen[bl->n++] = plen;
}

/* nmz_cut(lo..hi) gives aligned blocks that tile lo..hi in order, and no two
 * neighbours of one size that would make one aligned block (fewest). */
static void check_cut(int bytes, nmz_u128 lo, nmz_u128 hi)
{
	struct blocks bl = {.n = 0};
	unsigned bits = (unsigned)bytes * 8;
	nmz_u128 next = lo;

	nmz_cut((size_t)bytes, lo, hi, collect, &bl);
	assert_true(bl.n > 0);
	for (size_t i = 0; i < bl.n; i++) {
		unsigned k = bits - bl.plen[i]; /* block of 2^k addresses */
		nmz_u128 last =
		    k == 128 ? ~(nmz_u128)0 : bl.lo[i] + (((nmz_u128)1 << k) - 1);
		assert_true(bl.lo[i] == next);
		if (k < 128)
			assert_true((bl.lo[i] & (((nmz_u128)1 << k) - 1)) == 0);
		assert_true(last <= hi);
		if (i + 1 < bl.n) {
			assert_false(bl.plen[i] == bl.plen[i + 1] && k + 1 < 128 &&
				     (bl.lo[i] & (((nmz_u128)2 << k) - 1)) == 0);
			next = last + 1;
		} else {
			assert_true(last == hi);
		}
	}
}

static nmz_u128 rnd(int bytes)
{
	nmz_u128 v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | (unsigned)(rand() & 0xff);
	return v;
}

static void edges(void **state)
{
	nmz_u128 all6 = ~(nmz_u128)0, all4 = 0xffffffffu;

	check_cut(4, 0, all4);	  /* 0.0.0.0/0 */
	check_cut(16, 0, all6);	  /* ::/0 */
	check_cut(4, all4, all4); /* 255.255.255.255/32 */
	check_cut(16, all6, all6);
	check_cut(16, all6 - 5, all6);
	check_cut(4, 1, all4 - 1); /* 62 blocks */
	check_cut(16, 1, all6 - 1);
	check_cut(4, 0xc6120a00u, 0xc6120affu); /* 198.18.10.0/24: one */
	struct blocks bl = {.n = 0};
	nmz_cut(4, 0xc6120a00u, 0xc6120affu, collect, &bl);
	assert_int_equal(bl.n, 1);
	assert_int_equal(bl.plen[0], 24);
	bl.n = 0;
	/* 198.19.0.0 .. 198.19.255.127: /17 down to /25, 9 blocks */
	nmz_cut(4, 0xc6130000u, 0xc613ff7fu, collect, &bl);
	assert_int_equal(bl.n, 9);
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(bl.plen[i], 17 + i);
}

static void randomized(void **state)
{
	const char *seed = getenv("ZBPF_SEED");

	srand(seed ? (unsigned)atoi(seed) : 1);
	for (int i = 0; i < 20000; i++) {
		int bytes = i % 2 ? 16 : 4;
		nmz_u128 a = rnd(bytes), c = rnd(bytes);
		/* narrow ones too: a shared prefix of random length */
		if (i % 4 >= 2) {
			unsigned keep = (unsigned)(rand() % (bytes * 8));
			nmz_u128 m = keep == 0 ? 0 : ~(nmz_u128)0 << (bytes * 8 - keep);
			if (bytes == 4)
				m &= 0xffffffffu;
			c = (a & m) | (c & ~m);
			if (bytes == 4)
				c &= 0xffffffffu;
		}
		check_cut(bytes, a < c ? a : c, a < c ? c : a);
	}
}

static void lengths(void **state)
{
	struct entries e = {.bytes = 4};
	unsigned char len[ZB_NPLEN];

	assert_int_equal(plens(&e, len), 0);
	for (unsigned p = 17; p <= 24; p++) {
		e.k4 = xgrow(e.k4, e.n, sizeof(*e.k4));
		e.k4[e.n++] = (struct zb_key4){.plen = p};
		e.k4 = xgrow(e.k4, e.n, sizeof(*e.k4));
		e.k4[e.n++] = (struct zb_key4){.plen = p}; /* repeated: one length */
	}
	assert_int_equal(plens(&e, len), 8);
	assert_int_equal(len[0], 17);
	assert_int_equal(len[7], 24);
	e.k4 = xgrow(e.k4, e.n, sizeof(*e.k4));
	e.k4[e.n++] = (struct zb_key4){.plen = 32};
	assert_int_equal(plens(&e, len), ZB_TRIE); /* 9 lengths */
	free(e.k4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(edges),
	    cmocka_unit_test(randomized),
	    cmocka_unit_test(lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
