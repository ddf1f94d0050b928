/* test_sentinel.c — the Sentinel follower's pure parts (daemon/sentinel.c):
 * what a sentinel answers to get-master-addr-by-name (real RESP bytes
 * through hiredis's reader, as the daemon gets them), +switch-master
 * messages, the quorum over the sentinels' answers, and "is this address
 * this node". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>

#include "daemon/sentinel.h"
#include "lib/log.h"

/* Parse RESP bytes with hiredis's reader, then the follower's check. */
static int answer_n(const char *resp, size_t len, struct sen_answer *a, char *why,
		    size_t n)
{
	redisReader *r = redisReaderCreate();
	void *reply = NULL;
	int rc;

	assert_int_equal(redisReaderFeed(r, resp, len), REDIS_OK);
	assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
	assert_non_null(reply);
	rc = sen_parse_reply(reply, a, why, n);
	freeReplyObject(reply);
	redisReaderFree(r);
	return rc;
}

static int answer(const char *resp, struct sen_answer *a, char *why, size_t n)
{
	return answer_n(resp, strlen(resp), a, why, n);
}

static void replies(void **state)
{
	struct sen_answer a;
	char why[200];

	assert_int_equal(
	    answer("*2\r\n$10\r\n198.18.1.2\r\n$4\r\n6379\r\n", &a, why, sizeof(why)), 0);
	assert_int_equal(a.kind, SEN_ADDR);
	assert_string_equal(a.host, "198.18.1.2");
	assert_int_equal(a.port, 6379);
	assert_int_equal(
	    answer("*2\r\n$7\r\nfd00::1\r\n$5\r\n26379\r\n", &a, why, sizeof(why)), 0);
	assert_string_equal(a.host, "fd00::1");
	/* a master the sentinel does not monitor: nil */
	assert_int_equal(answer("*-1\r\n", &a, why, sizeof(why)), 0);
	assert_int_equal(a.kind, SEN_NOMASTER);
	assert_int_equal(answer("$-1\r\n", &a, why, sizeof(why)), 0);
	assert_int_equal(a.kind, SEN_NOMASTER);
	/* refused */
	assert_int_equal(
	    answer("-NOAUTH Authentication required.\r\n", &a, why, sizeof(why)), -1);
	assert_string_equal(why, "error reply: NOAUTH Authentication required.");
	assert_int_equal(a.kind, SEN_NONE);
	assert_int_equal(answer("+OK\r\n", &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a master address"));
	assert_int_equal(answer("*1\r\n$8\r\n10.0.0.1\r\n", &a, why, sizeof(why)), -1);
	assert_int_equal(
	    answer("*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\n1\r\n", &a, why, sizeof(why)), -1);
	assert_int_equal(
	    answer("*2\r\n$8\r\n10.0.0.1\r\n$5\r\n65536\r\n", &a, why, sizeof(why)), -1);
	assert_string_equal(why, "the master's port is not 1 to 65535");
	assert_int_equal(
	    answer("*2\r\n$8\r\n10.0.0.1\r\n$2\r\n-1\r\n", &a, why, sizeof(why)), -1);
	assert_int_equal(
	    answer("*2\r\n$8\r\n10.0.0.1\r\n$3\r\n1x2\r\n", &a, why, sizeof(why)), -1);
	assert_int_equal(answer("*2\r\n$0\r\n\r\n$4\r\n6379\r\n", &a, why, sizeof(why)),
			 -1);
	assert_string_equal(why, "the master's host is not an address");
	assert_int_equal(
	    answer("*2\r\n$9\r\n10.0.0.1 \r\n$4\r\n6379\r\n", &a, why, sizeof(why)), -1);
	{
		static const char nul[] = "*2\r\n$9\r\n10.0\0.0.1\r\n$4\r\n6379\r\n";
		assert_int_equal(answer_n(nul, sizeof(nul) - 1, &a, why, sizeof(why)),
				 -1);
	}
	assert_int_equal(sen_parse_reply(NULL, &a, why, sizeof(why)), -1);
}

static void switch_messages(void **state)
{
	char name[64];
	const char *m = "mymaster 10.0.0.1 6379 10.0.0.2 6379";

	assert_int_equal(sen_parse_switch(m, strlen(m), name, sizeof(name)), 0);
	assert_string_equal(name, "mymaster");
	m = "mymaster 10.0.0.1 6379";
	assert_int_equal(sen_parse_switch(m, strlen(m), name, sizeof(name)), -1);
	m = " 10.0.0.1 6379 10.0.0.2 6379";
	assert_int_equal(sen_parse_switch(m, strlen(m), name, sizeof(name)), -1);
	m = "mymaster\n10.0.0.1 6379 10.0.0.2 6379 x";
	assert_int_equal(sen_parse_switch(m, strlen(m), name, sizeof(name)), -1);
	m = "a-name-longer-than-the-buffer 1 2 3 4";
	assert_int_equal(sen_parse_switch(m, strlen(m), name, 8), -1);
	assert_int_equal(sen_parse_switch("", 0, name, sizeof(name)), -1);
}

static struct sen_answer addr(const char *h, int port)
{
	struct sen_answer a = {.kind = SEN_ADDR, .port = port};

	snprintf(a.host, sizeof(a.host), "%s", h);
	return a;
}

static void quorum(void **state)
{
	struct sen_answer none = {.kind = SEN_NONE}, nomaster = {.kind = SEN_NOMASTER};
	struct sen_answer all[3] = {addr("10.0.0.1", 6379), addr("10.0.0.1", 6379),
				    addr("10.0.0.1", 6379)};
	unsigned agree;

	assert_int_equal(sen_quorum(all, 3, 2, &agree), 0);
	assert_int_equal(agree, 3);
	/* a minority disagreeing: the quorum decides */
	struct sen_answer minority[3] = {addr("10.0.0.2", 6379), addr("10.0.0.1", 6379),
					 addr("10.0.0.1", 6379)};
	assert_int_equal(sen_quorum(minority, 3, 2, &agree), 1);
	assert_int_equal(agree, 2);
	/* one down, the other two agree */
	struct sen_answer down[3] = {none, addr("10.0.0.1", 6379),
				     addr("10.0.0.1", 6379)};
	assert_int_equal(sen_quorum(down, 3, 2, &agree), 1);
	/* two down: no quorum, whatever the last one says */
	struct sen_answer two_down[3] = {none, nomaster, addr("10.0.0.1", 6379)};
	assert_int_equal(sen_quorum(two_down, 3, 2, &agree), -1);
	assert_int_equal(agree, 1);
	/* all disagree */
	struct sen_answer split[3] = {addr("10.0.0.1", 6379), addr("10.0.0.2", 6379),
				      addr("10.0.0.3", 6379)};
	assert_int_equal(sen_quorum(split, 3, 2, &agree), -1);
	assert_int_equal(agree, 1);
	/* same host, another port: another master */
	struct sen_answer port[3] = {addr("10.0.0.1", 6379), addr("10.0.0.1", 6380),
				     none};
	assert_int_equal(sen_quorum(port, 3, 2, &agree), -1);
	/* quorum 3 of 3: one missing is no quorum */
	assert_int_equal(sen_quorum(down, 3, 3, &agree), -1);
	assert_int_equal(sen_quorum(all, 0, 1, &agree), -1);
	assert_int_equal(sen_quorum(all, 3, 0, &agree), -1);
}

static void local_address(void **state)
{
	char m[64];

	assert_true(sen_is_local("10.1.2.3", "10.1.2.3", m, sizeof(m)));
	assert_string_equal(m, "10.1.2.3");
	assert_true(sen_is_local("::ffff:10.1.2.3", "10.1.2.3", m, sizeof(m)));
	assert_false(sen_is_local("10.1.2.4", "10.1.2.3", m, sizeof(m)));
	assert_string_equal(m, "");
	assert_true(sen_is_local("fd00::1", "fd00:0::1", NULL, 0));
	/* a name is never this node */
	assert_false(sen_is_local("redis-1", "", m, sizeof(m)));
	/* loopback is every node's: never taken as this node's own */
	assert_false(sen_is_local("127.0.0.1", "", m, sizeof(m)));
	/* TEST-NET-2, on no test machine's interface */
	assert_false(sen_is_local("198.51.100.77", "", m, sizeof(m)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(replies),
	    cmocka_unit_test(switch_messages),
	    cmocka_unit_test(quorum),
	    cmocka_unit_test(local_address),
	};

	log_init("test_sentinel", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
