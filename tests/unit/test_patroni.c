/* test_patroni.c — what etcd's v3 JSON gateway answers the Patroni follower
 * (daemon/patroni.c): range bodies and watch messages, as etcd 3.4 writes
 * them (int64 as strings, base64 values, PUT left out), and what must be
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/patroni.h"
#include "hooks/notify.h"

#define HDR(rev)                                                                         \
	"\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"" rev "\"}"
#define KEY "\"key\":\"L3NlcnZpY2UvdnBjZi9sZWFkZXI=\""

static int range(const char *body, struct pat_msg *m)
{
	return pat_parse_range(body, strlen(body), m);
}

static int watch(const char *line, struct pat_msg *m)
{
	return pat_parse_watch(line, strlen(line), m);
}

static void range_answers(void **state)
{
	struct pat_msg m;

	assert_int_equal(
	    range("{" HDR(
		      "12") ",\"kvs\":[{" KEY ",\"mod_revision\":\"12\","
			    "\"value\":\"bm9kZS1h\",\"lease\":\"75\"}],\"count\":\"1\"}",
		  &m),
	    0);
	assert_true(m.has_value && m.present && !m.bad);
	assert_string_equal(m.value, "node-a");
	assert_int_equal(m.revision, 12);
	/* No key: no leader. */
	assert_int_equal(range("{" HDR("40") "}", &m), 0);
	assert_true(m.has_value && !m.present);
	assert_int_equal(m.revision, 40);
	/* A value that is no member name (a control byte), or not base64. */
	assert_int_equal(
	    range("{" HDR("4") ",\"kvs\":[{" KEY ",\"value\":\"AQ==\"}]}", &m), 0);
	assert_true(m.present && m.bad);
	assert_string_equal(m.value, "");
	assert_int_equal(
	    range("{" HDR("4") ",\"kvs\":[{" KEY ",\"value\":\"node-a\"}]}", &m), 0);
	assert_true(m.bad);
	/* Not etcd's answer. */
	assert_int_equal(range("{\"error\":\"etcdserver: no leader\",\"code\":14}", &m),
			 -1);
	assert_int_equal(range("[]", &m), -1);
	assert_int_equal(range("", &m), -1);
}

static void watch_messages(void **state)
{
	struct pat_msg m;

	assert_int_equal(watch("{\"result\":{" HDR("12") ",\"created\":true}}", &m), 0);
	assert_true(m.created && !m.has_value && !m.end);
	/* PUT is left out by the gateway; the last event is the value now. */
	assert_int_equal(watch("{\"result\":{" HDR(
				   "14") ",\"events\":[{\"kv\":{" KEY ",\"mod_revision\":"
					 "\"13\",\"value\":\"bm9kZS1h\"}},{\"kv\":{" KEY
					 ",\"mod_revision\":\"14\","
					 "\"value\":\"bm9kZS1j\"}}]}}",
			       &m),
			 0);
	assert_true(m.has_value && m.present && !m.bad);
	assert_string_equal(m.value, "node-c");
	assert_int_equal(m.revision, 14);
	assert_int_equal(m.nevents, 2);
	assert_int_equal(watch("{\"result\":{" HDR(
				   "15") ",\"events\":[{\"type\":\"DELETE\","
					 "\"kv\":{" KEY ",\"mod_revision\":\"15\"}}]}}",
			       &m),
			 0);
	assert_true(m.has_value && !m.present);
	assert_int_equal(m.revision, 15);
	assert_int_equal(
	    watch("{\"result\":{" HDR(
		      "20") ",\"canceled\":true,"
			    "\"compact_revision\":\"15\",\"cancel_reason\":\"mvcc: "
			    "required revision has been compacted\"}}",
		  &m),
	    0);
	assert_true(m.end);
	assert_string_equal(m.reason, "mvcc: required revision has been compacted");
	assert_int_equal(
	    watch("{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
		  "\"etcdserver: no leader\"}}",
		  &m),
	    -1);
	assert_int_equal(watch("{\"result\":", &m), -1);
}

/* etcd's authentication: the token from /v3/auth/authenticate (it goes
 * into a header: one printable word, capped), and its errors. */
static void auth_answers(void **state)
{
	char tok[64], said[128];
	const char *bad;

	assert_int_equal(
	    pat_parse_auth("{" HDR("2") ",\"token\":\"EMjWxVzWnhLEmcfd.12\"}",
			   strlen("{" HDR("2") ",\"token\":\"EMjWxVzWnhLEmcfd.12\"}"),
			   tok, sizeof(tok)),
	    0);
	assert_string_equal(tok, "EMjWxVzWnhLEmcfd.12");
	bad = "{\"token\":\"a\\r\\nX-Evil: 1\"}";
	assert_int_equal(pat_parse_auth(bad, strlen(bad), tok, sizeof(tok)), -1);
	assert_string_equal(tok, "");
	bad = "{\"token\":\"\"}";
	assert_int_equal(pat_parse_auth(bad, strlen(bad), tok, sizeof(tok)), -1);
	bad = "{\"token\":\"0123456789012345678901234567890123456789"
	      "0123456789012345678901234567890123456789\"}";
	assert_int_equal(pat_parse_auth(bad, strlen(bad), tok, sizeof(tok)), -1);
	assert_int_equal(pat_parse_auth("not json", 8, tok, sizeof(tok)), -1);

	bad = "{\"error\":\"etcdserver: invalid auth token\",\"message\":"
	      "\"etcdserver: invalid auth token\",\"code\":16}";
	assert_int_equal(pat_etcd_error(bad, strlen(bad), said, sizeof(said)), 1);
	assert_string_equal(said, "etcdserver: invalid auth token");
	bad = "{\"error\":\"etcdserver: authentication failed, invalid user ID or "
	      "password\",\"message\":\"etcdserver: authentication failed, invalid "
	      "user ID or password\",\"code\":3}";
	assert_int_equal(pat_etcd_error(bad, strlen(bad), said, sizeof(said)), 0);
	assert_string_equal(
	    said, "etcdserver: authentication failed, invalid user ID or password");
	bad = "<html>\nbad gateway</html>";
	assert_int_equal(pat_etcd_error(bad, strlen(bad), said, sizeof(said)), 0);
	assert_string_equal(said, "<html>?bad gateway</html>");
}

/* Patroni's callback arguments (patroni-callback ACTION ROLE SCOPE). */
static void callback_args(void **state)
{
	struct hook_patroni r;
	char err[256];
	char *good[] = {"on_role_change", "primary", "pg-main"};
	char *two[] = {"on_role_change", "primary"};
	char *action[] = {"on_promote", "primary", "pg-main"};
	char *role[] = {"on_role_change", "Primary!", "pg-main"};
	char *scope[] = {"on_role_change", "replica", "pg main"};

	(void)state;
	assert_int_equal(hook_patroni_parse(3, good, &r, err, sizeof(err)), 0);
	assert_string_equal(r.action, "on_role_change");
	assert_string_equal(r.role, "primary");
	assert_string_equal(r.scope, "pg-main");
	assert_int_equal(hook_patroni_parse(2, two, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "want 3 arguments (ACTION ROLE SCOPE"));
	assert_int_equal(hook_patroni_parse(3, action, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "action 'on_promote': want on_role_change"));
	assert_int_equal(hook_patroni_parse(3, role, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "role 'Primary!'"));
	assert_int_equal(hook_patroni_parse(3, scope, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "scope 'pg main'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(range_answers),
	    cmocka_unit_test(watch_messages),
	    cmocka_unit_test(auth_answers),
	    cmocka_unit_test(callback_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
