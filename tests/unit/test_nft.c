/* test_nft.c — netmon/nft.c's reading of a counter dump reply, without a
 * kernel: replies built with libnftnl (what the kernel sends), then broken
 * the ways fuzz_nft found. nft.c is included to reach nl_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "netmon/nft.c"

static const name_t names[2] = {"az1", "az2"};

/* One NEWOBJ message of table table, counter name, into buf at off. */
static size_t put_obj(char *buf, size_t off, const char *table, const char *name,
		      uint64_t pkts, uint64_t bytes)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf + off, NFT_MSG_NEWOBJ,
						     NFPROTO_INET, NLM_F_MULTI, 0);

	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_PKTS, pkts);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_BYTES, bytes);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	return off + MNL_ALIGN(nlh->nlmsg_len);
}

/* nl_parse over len bytes of buf; counters into out, seen flags into seen. */
static int parse(char *buf, size_t len, struct nm_zone_counters *out, unsigned char *seen)
{
	struct counts cs = {.names = names, .n = 2, .out = out, .seen = seen};
	struct talk t = {.what = "test", .data = &cs};
	struct nl nl = {.buf = buf, .bufsz = len};

	memset(out, 0, 2 * sizeof(*out));
	memset(seen, 0, 3);
	return nl_parse(&nl, len, 0, on_obj, &t);
}

static void counters_read(void **state)
{
	static uint64_t buf[1024];
	struct nm_zone_counters out[2];
	unsigned char seen[3];
	size_t len = 0;

	len = put_obj((char *)buf, len, NMF_TABLE, "az1_in", 10, 1000);
	len = put_obj((char *)buf, len, NMF_TABLE, "az1_out", 20, 2000);
	len = put_obj((char *)buf, len, NMF_TABLE, "az2_out", UINT64_MAX, 1);
	len = put_obj((char *)buf, len, "other", "az2_in", 5, 5);   /* not our table */
	len = put_obj((char *)buf, len, NMF_TABLE, "az3_in", 5, 5); /* not our zone */
	assert_true(parse((char *)buf, len, out, seen) >= MNL_CB_STOP);
	assert_int_equal(out[0].packets_in, 10);
	assert_int_equal(out[0].bytes_in, 1000);
	assert_int_equal(out[0].packets_out, 20);
	assert_int_equal(out[0].bytes_out, 2000);
	assert_int_equal(seen[0], 3);
	assert_true(out[1].packets_out == UINT64_MAX);
	assert_int_equal(out[1].bytes_out, 1);
	assert_int_equal(out[1].packets_in, 0);
	assert_int_equal(seen[1], 2);
}

/* Overlay counters "<group>@<zone>" and "<group>@*" land in their group's
 * slots (zones, then other); unknown groups and zones are left alone. */
static void overlay_counters_read(void **state)
{
	static uint64_t buf[1024];
	static const name_t groups[2] = {"web", "db"};
	struct nm_zone_counters out[2];
	struct nm_ov_counters ov[6];
	unsigned char seen[3], ovseen[6];
	size_t len = 0, *ord = names_order(groups, 2);
	struct counts cs = {.names = names,
			    .n = 2,
			    .out = out,
			    .seen = seen,
			    .ovnames = groups,
			    .nov = 2,
			    .ovord = ord,
			    .ovout = ov,
			    .ovseen = ovseen};
	struct talk t = {.what = "test", .data = &cs};
	struct nl nl = {.buf = (char *)buf, .bufsz = sizeof(buf)};

	memset(ov, 0, sizeof(ov));
	memset(ovseen, 0, sizeof(ovseen));
	memset(seen, 0, sizeof(seen));
	len = put_obj((char *)buf, len, NMF_TABLE, "db@az2", 7, 700);
	len = put_obj((char *)buf, len, NMF_TABLE, "db@*", 3, 300);
	len = put_obj((char *)buf, len, NMF_TABLE, "web@az1", 1, 100);
	len = put_obj((char *)buf, len, NMF_TABLE, "web@az3", 9, 9);  /* no such zone */
	len = put_obj((char *)buf, len, NMF_TABLE, "mail@az1", 9, 9); /* no such group */
	len = put_obj((char *)buf, len, NMF_TABLE, "az1_in", 5, 50);
	assert_true(nl_parse(&nl, len, 0, on_obj, &t) >= MNL_CB_STOP);
	assert_int_equal(ov[0].packets, 1); /* web@az1 */
	assert_int_equal(ov[0].bytes, 100);
	assert_int_equal(ovseen[1] + ovseen[2], 0);
	assert_int_equal(ov[4].packets, 7); /* db@az2 */
	assert_int_equal(ov[5].packets, 3); /* db@* */
	assert_int_equal(ov[5].bytes, 300);
	assert_int_equal(ovseen[3], 0);
	assert_int_equal(out[0].packets_in, 5);
	free(ord);
}

/* cover(): every address in exactly one interval, in order, zones' as
 * given and the gaps "other" (index nzones), for gaps at both ends, none,
 * and adjacent zones. */
static void cover_every_address(void **state)
{
	struct nm_zone_cfg zc[2] = {{.name = "a"}, {.name = "b"}};
	struct cidr c[3];
	const char *txt[3] = {"0.0.0.0/8", "10.0.0.0/24", "10.0.1.0/24"};
	struct nm_cfg cfg = {.zones = zc, .nzones = 2};
	struct nmz_range *r;
	size_t n;

	for (int i = 0; i < 3; i++)
		assert_int_equal(cidr_parse(txt[i], &c[i]), 0);
	zc[0].cidrs = &c[1]; /* a: 10.0.0.0/24 */
	zc[0].ncidrs = 1;
	zc[1].cidrs = &c[2]; /* b: 10.0.1.0/24, adjacent */
	zc[1].ncidrs = 1;
	struct nmz *z = nmz_build(&cfg);
	r = cover(z, AF_INET, 4, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(r[0].lo, "\0\0\0\0", 4);
	assert_memory_equal(r[0].hi, "\x09\xff\xff\xff", 4);
	assert_int_equal(r[0].zone, 2);
	assert_int_equal(r[1].zone, 0);
	assert_int_equal(r[2].zone, 1);
	assert_memory_equal(r[3].lo, "\x0a\x00\x02\x00", 4);
	assert_memory_equal(r[3].hi, "\xff\xff\xff\xff", 4);
	assert_int_equal(r[3].zone, 2);
	free(r);
	nmz_free(z);
	/* A zone from the first address, none in IPv6: one "other" interval. */
	zc[0].cidrs = &c[0];
	cfg.nzones = 1;
	z = nmz_build(&cfg);
	r = cover(z, AF_INET, 4, &n);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].zone, 0);
	assert_memory_equal(r[1].lo, "\x01\0\0\0", 4);
	assert_int_equal(r[1].zone, 1);
	free(r);
	r = cover(z, AF_INET6, 16, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].zone, 1);
	free(r);
	nmz_free(z);
}

/* The top-level attribute type of the message at nlh, or NULL. */
static struct nlattr *find_attr(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) == type)
			return a;
	}
	return NULL;
}

/* libnftnl's parser exit()s on these; ours skips the message. */
static void malformed_attributes_skipped(void **state)
{
	static uint64_t buf[1024];
	struct nm_zone_counters out[2];
	unsigned char seen[3];
	size_t len;
	struct nlattr *a;

	/* A name that is not NUL-terminated. */
	len = put_obj((char *)buf, 0, NMF_TABLE, "az1_in", 10, 1000);
	a = find_attr((struct nlmsghdr *)buf, NFTA_OBJ_NAME);
	assert_non_null(a);
	memset(mnl_attr_get_payload(a), 'x', mnl_attr_get_payload_len(a));
	parse((char *)buf, len, out, seen);
	assert_int_equal(seen[0], 0);

	/* A type attribute of 2 bytes. */
	len = put_obj((char *)buf, 0, NMF_TABLE, "az1_in", 10, 1000);
	a = find_attr((struct nlmsghdr *)buf, NFTA_OBJ_TYPE);
	assert_non_null(a);
	a->nla_len = 6;
	parse((char *)buf, len, out, seen);
	assert_int_equal(seen[0], 0);

	/* A counter value of 4 bytes (regress-bad-attr had a short one). */
	len = put_obj((char *)buf, 0, NMF_TABLE, "az1_in", 10, 1000);
	a = find_attr((struct nlmsghdr *)buf, NFTA_OBJ_DATA);
	assert_non_null(a);
	struct nlattr *c = mnl_attr_get_payload(a);
	c->nla_len = 8;
	parse((char *)buf, len, out, seen);
	assert_int_equal(seen[0], 0);
}

/* A message length of 2 GiB or more passed libmnl's signed check. */
static void overlong_message_refused(void **state)
{
	static uint64_t buf[1024];
	struct nm_zone_counters out[2];
	unsigned char seen[3];
	size_t len = put_obj((char *)buf, 0, NMF_TABLE, "az1_in", 10, 1000);
	size_t second = len;

	len = put_obj((char *)buf, len, NMF_TABLE, "az1_out", 10, 1000);
	((struct nlmsghdr *)((char *)buf + second))->nlmsg_len = 0xfffffff0u;
	assert_int_equal(parse((char *)buf, len, out, seen), MNL_CB_ERROR);
	assert_int_equal(seen[0], 0); /* nothing of a refused datagram is used */
	((struct nlmsghdr *)((char *)buf + second))->nlmsg_len =
	    (uint32_t)(len - second + 1);
	assert_int_equal(parse((char *)buf, len, out, seen), MNL_CB_ERROR);
}

/* An error message: 0 is an ack, -errno an error, anything else malformed
 * (INT_MIN used to be negated: fuzz_nft). */
static void error_messages(void **state)
{
	static uint64_t buf[64];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlmsgerr *e = (struct nlmsgerr *)(nlh + 1);
	struct nm_zone_counters out[2];
	unsigned char seen[3];
	const int errs[] = {-ENOENT, INT_MIN, 7}, want[] = {ENOENT, EPROTO, EPROTO};

	for (size_t i = 0; i < ARRAY_SIZE(errs); i++) {
		struct counts cs = {.names = names, .n = 2, .out = out, .seen = seen};
		struct talk t = {.what = "test", .data = &cs, .quiet_enoent = 1};
		struct nl nl = {.buf = (char *)buf, .bufsz = sizeof(buf)};

		memset(buf, 0, sizeof(buf));
		nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*e));
		nlh->nlmsg_type = NLMSG_ERROR;
		e->error = errs[i];
		assert_int_equal(nl_parse(&nl, nlh->nlmsg_len, 0, on_obj, &t),
				 MNL_CB_STOP);
		assert_int_equal(t.err, want[i]);
	}
}

/* libmnl stops at a message flagged NLM_F_DUMP_INTR with errno EINTR,
 * before our callback sees it: that errno is what get_counters retries on. */
static void interrupted_dump_told_apart(void **state)
{
	static uint64_t buf[1024];
	struct nm_zone_counters out[2];
	unsigned char seen[3];
	size_t len = put_obj((char *)buf, 0, NMF_TABLE, "az1_in", 10, 1000);
	struct nlmsghdr *nlh = (struct nlmsghdr *)(void *)buf;

	nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
	errno = 0;
	assert_int_equal(parse((char *)buf, len, out, seen), MNL_CB_ERROR);
	assert_int_equal(errno, EINTR);
	assert_int_equal(seen[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(counters_read),
	    cmocka_unit_test(overlay_counters_read),
	    cmocka_unit_test(cover_every_address),
	    cmocka_unit_test(malformed_attributes_skipped),
	    cmocka_unit_test(overlong_message_refused),
	    cmocka_unit_test(error_messages),
	    cmocka_unit_test(interrupted_dump_told_apart),
	};
	log_init("test_nft", 1, LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
