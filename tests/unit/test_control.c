/* test_control.c — the control socket's command side without a socket:
 * dispatch's permission check, the request schema and the refusals of
 * notify, failover and takeover, against a configuration and an event sink
 * of the test's own (struct control_env's config and event). The transport
 * is the fuzz target's (tests/fuzz/fuzz_ctl.c) and the integration tests'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/control.c"

static struct cfg_group test_groups[2];
static struct cfg test_cfg;
static struct ka_event last_event;
static const char *last_source;
static int nevents;

static const struct cfg *test_config(void)
{
	return &test_cfg;
}

static enum grp_verdict test_event(const struct ka_event *ev, const char *source)
{
	last_event = *ev;
	last_source = source;
	nevents++;
	return GRP_APPLIED;
}

static int setup(void **state)
{
	memset(&test_cfg, 0, sizeof(test_cfg));
	memset(test_groups, 0, sizeof(test_groups));
	snprintf(test_cfg.path, sizeof(test_cfg.path), "/etc/test.conf");
	snprintf(test_groups[0].name, sizeof(test_groups[0].name), "redis");
	snprintf(test_groups[1].name, sizeof(test_groups[1].name), "pg");
	snprintf(test_groups[1].track_file, sizeof(test_groups[1].track_file),
		 "/run/test/pg.track");
	test_cfg.groups = test_groups;
	test_cfg.ngroups = 2;
	config = test_config;
	apply_event = test_event;
	nevents = 0;
	last_source = NULL;
	return 0;
}

/* dispatch on the JSON text req, as peer uid; the reply, checked to be an
 * object. */
static json_t *ask(const char *req, uid_t uid)
{
	struct peer p = {.pid = 4242, .uid = uid, .gid = 0};
	json_error_t je;
	json_t *r = json_loads(req, 0, &je);

	assert_non_null(r);
	json_t *reply = dispatch(r, &p);
	json_decref(r);
	assert_true(json_is_object(reply));
	return reply;
}

/* The reply is a refusal: ok false, error starting with prefix, reason
 * (NULL: none). */
static void assert_refused(json_t *reply, const char *reason, const char *prefix)
{
	const char *err = json_string_value(json_object_get(reply, "error"));
	const char *why = json_string_value(json_object_get(reply, "reason"));

	assert_true(json_is_false(json_object_get(reply, "ok")));
	assert_non_null(err);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
	if (reason)
		assert_string_equal(why, reason);
	else
		assert_null(why);
	json_decref(reply);
}

/* A uid that is neither root nor ours. */
static uid_t stranger(void)
{
	return geteuid() == 12345 ? 12346 : 12345;
}

static void schema(void **state)
{
	assert_refused(ask("{}", 0), NULL, "request has no \"cmd\" string");
	assert_refused(ask("{\"cmd\":7}", 0), NULL, "request has no \"cmd\" string");
	assert_refused(ask("{\"cmd\":\"reboot\"}", 0), NULL, "unknown command 'reboot'");
	assert_refused(ask("{\"cmd\":\"reboot\"}", stranger()), NULL,
		       "unknown command 'reboot'");
	assert_refused(ask("{\"cmd\":\"notify\",\"type\":\"INSTANCE\",\"name\":\"VI_1\","
			   "\"state\":\"MASTER\"}",
			   0),
		       NULL, "notify: ");
	assert_refused(ask("{\"cmd\":\"notify\",\"type\":\"INSTANCE\",\"name\":\"VI_1\","
			   "\"state\":\"PRIMARY\",\"priority\":100}",
			   0),
		       NULL, "notify: ");
	assert_int_equal(nevents, 0);
}

static void notify_applies(void **state)
{
	json_t *r = ask("{\"cmd\":\"notify\",\"type\":\"INSTANCE\",\"name\":\"VI_1\","
			"\"state\":\"MASTER\",\"priority\":150}",
			0);

	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "verdict")),
			    grp_verdict_name(GRP_APPLIED));
	json_decref(r);
	assert_int_equal(nevents, 1);
	assert_string_equal(last_source, "notify");
	assert_string_equal(last_event.name, "VI_1");
	assert_int_equal(last_event.state, KA_MASTER);
	assert_int_equal(last_event.priority, 150);
	assert_int_equal(last_event.pid, 4242); /* SO_PEERCRED's, not the request's */
}

/* notify, failover and takeover change routing: root or the daemon's user
 * only, judged by the peer's uid, before the request is looked at. */
static void permission(void **state)
{
	static const char *mutating[] = {
	    "{\"cmd\":\"notify\",\"type\":\"INSTANCE\",\"name\":\"VI_1\","
	    "\"state\":\"MASTER\",\"priority\":150}",
	    "{\"cmd\":\"failover\",\"group\":\"pg\"}",
	    "{\"cmd\":\"failover\",\"group\":\"pg\",\"clear\":true}",
	    "{\"cmd\":\"takeover\",\"groups\":[\"pg\"]}",
	    "{\"cmd\":\"takeover\"}",
	};
	char prefix[128];

	for (size_t i = 0; i < ARRAY_SIZE(mutating); i++) {
		json_t *req = json_loads(mutating[i], 0, NULL);
		snprintf(prefix, sizeof(prefix),
			 "permission denied: '%s' changes routing and is for root only "
			 "(you are ",
			 json_string_value(json_object_get(req, "cmd")));
		json_decref(req);
		assert_refused(ask(mutating[i], stranger()), "permission", prefix);
	}
	assert_int_equal(nevents, 0);
	/* The daemon's own user may. */
	json_t *r = ask(mutating[0], geteuid());
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	assert_int_equal(nevents, 1);
}

static void failover_refusals(void **state)
{
	assert_refused(ask("{\"cmd\":\"failover\"}", 0), "config",
		       "/etc/test.conf has 2 groups: name one, or ask for all");
	assert_refused(ask("{\"cmd\":\"failover\",\"group\":\"nope\"}", 0), "config",
		       "no group 'nope' in /etc/test.conf");
	assert_refused(ask("{\"cmd\":\"failover\",\"group\":\"redis\"}", 0), "config",
		       "group redis has no track_file: set [group redis] track_file in "
		       "/etc/test.conf");
	test_groups[1].track_file[0] = '\0';
	assert_refused(ask("{\"cmd\":\"failover\",\"all\":true}", 0), "config",
		       "no group in /etc/test.conf has a track_file");
}

static void takeover(void **state)
{
	assert_refused(ask("{\"cmd\":\"takeover\"}", 0), NULL,
		       "takeover: \"groups\" must be a non-empty array");
	assert_refused(ask("{\"cmd\":\"takeover\",\"groups\":[]}", 0), NULL,
		       "takeover: \"groups\" must be a non-empty array");
	assert_refused(ask("{\"cmd\":\"takeover\",\"groups\":[\"pg\",\"nope\"]}", 0),
		       "config", "takeover: no group 'nope' in /etc/test.conf");
	assert_refused(ask("{\"cmd\":\"takeover\",\"groups\":[3]}", 0), "config",
		       "takeover: no group '(not a string)' in /etc/test.conf");
	json_t *r = ask("{\"cmd\":\"takeover\",\"groups\":[\"pg\",\"redis\"]}", 0);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(schema, setup),
	    cmocka_unit_test_setup(notify_applies, setup),
	    cmocka_unit_test_setup(permission, setup),
	    cmocka_unit_test_setup(failover_refusals, setup),
	    cmocka_unit_test_setup(takeover, setup),
	};
	log_init("test_control", 1, LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
