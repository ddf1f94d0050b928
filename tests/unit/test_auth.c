/* test_auth.c — the credentials chain and instance-role refresh, with the
 * wall clock, the timers and the metadata service replaced (chrony style:
 * the module's .c is included and its I/O swapped by macros). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>
#include <cmocka.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vpc/imds.h"

static int64_t fake_now = 1800000000; /* 2027-01-15T08:00:00Z */
static int64_t fake_wall_s(void)
{
	return fake_now;
}
#define ev_wall fake_wall_s

#include "tests/unit/fake_timer.h"

/* Metadata: requests are queued; tests answer them. */
struct pending {
	char path[256];
	imds_fn fn;
	void *arg;
};
static struct pending pend[8];
static int npend;
static int fake_imds_get(const char *path, imds_fn fn, void *arg)
{
	assert_true(npend < 8);
	snprintf(pend[npend].path, sizeof(pend[npend].path), "%s", path);
	pend[npend].fn = fn;
	pend[npend].arg = arg;
	npend++;
	return 0;
}
#define imds_get fake_imds_get

#include "vpc/auth.c"

static void answer(const char *want_path, int rc, const char *body)
{
	assert_true(npend > 0);
	struct pending p = pend[0];
	memmove(pend, pend + 1, sizeof(pend[0]) * (size_t)(npend - 1));
	npend--;
	assert_string_equal(p.path, want_path);
	p.fn(p.arg, rc, body, body ? strlen(body) : 0, rc ? "metadata unreachable" : "");
}

static char role_json[1024];
static const char *role_creds(const char *akid, int64_t expires)
{
	char when[32];
	time_t t = (time_t)expires;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(role_json, sizeof(role_json),
		 "{\"Code\":\"Success\",\"LastUpdated\":\"2027-01-15T08:00:00Z\","
		 "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\","
		 "\"SecretAccessKey\":\"role/secret/000000000000000000000000001\","
		 "\"Token\":\"role-session-token-000000000000000000000001\","
		 "\"Expiration\":\"%s\"}",
		 akid, when);
	return role_json;
}

/* Callback record. */
static int got_calls;
static char got_akid[128];
static char got_err[256];
static void got(void *arg, const struct aws_creds *c, const char *err)
{
	got_calls++;
	snprintf(got_akid, sizeof(got_akid), "%s", c ? c->access_key_id : "");
	snprintf(got_err, sizeof(got_err), "%s", err);
	if (arg)
		(*(int *)arg)++;
}

static int reset(void **state)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	auth_fini();
	npend = 0;
	got_calls = 0;
	got_akid[0] = got_err[0] = '\0';
	timer_fn = NULL;
	fake_now = 1800000000;
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void env_beats_file_and_role(void **state)
{
	struct aws_cfg aws;
	char path[] = "/tmp/vpcf-auth-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	write_file(path,
		   "[default]\naws_access_key_id = AKIAFROMFILE00000001\n"
		   "aws_secret_access_key = file/secret/000000000000000000000001\n",
		   0600);
	memset(&aws, 0, sizeof(aws));
	snprintf(aws.credentials_file, sizeof(aws.credentials_file), "%s", path);
	setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV000000001", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env/secret/0000000000000000000000001", 1);

	assert_int_equal(auth_init(&aws), 0);
	assert_string_equal(auth_source(), "environment");
	auth_get(got, NULL);
	assert_int_equal(got_calls, 1);
	assert_string_equal(got_akid, "AKIAFROMENV000000001");
	assert_int_equal(npend, 0);		/* never asked metadata */
	assert_int_equal(auth_invalidate(NULL), 0); /* static keys: refetching is no help */

	/* Without the environment, the file. */
	reset(state);
	assert_int_equal(auth_init(&aws), 0);
	assert_string_equal(auth_source(), "file");
	auth_get(got, NULL);
	assert_string_equal(got_akid, "AKIAFROMFILE00000001");
	assert_int_equal(npend, 0);
	unlink(path);
}

static void half_set_environment_is_an_error(void **state)
{
	struct aws_cfg aws;

	memset(&aws, 0, sizeof(aws));
	setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV000000001", 1);
	assert_int_equal(auth_init(&aws), -1);
}

static void unsafe_file_is_refused(void **state)
{
	struct aws_cfg aws;
	char path[] = "/tmp/vpcf-auth-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	write_file(path,
		   "[default]\naws_access_key_id = AKIAFROMFILE00000001\n"
		   "aws_secret_access_key = file/secret/000000000000000000000001\n",
		   0644);
	memset(&aws, 0, sizeof(aws));
	snprintf(aws.credentials_file, sizeof(aws.credentials_file), "%s", path);
	assert_int_equal(auth_init(&aws), -1);
	unlink(path);
}

static void role_fetched_once_for_queued_callers(void **state)
{
	struct aws_cfg aws;
	int a = 0, b = 0;

	memset(&aws, 0, sizeof(aws));
	assert_int_equal(auth_init(&aws), 0);
	assert_string_equal(auth_source(), "instance-role");
	auth_get(got, &a);
	auth_get(got, &b);
	assert_int_equal(got_calls, 0);
	assert_int_equal(npend, 1); /* one fetch for both */
	answer("meta-data/iam/security-credentials/", 0, "vpcf-node\n");
	answer("meta-data/iam/security-credentials/vpcf-node", 0,
	       role_creds("ASIAROLE000000000001", fake_now + 3600));
	assert_int_equal(a, 1);
	assert_int_equal(b, 1);
	assert_string_equal(got_akid, "ASIAROLE000000000001");
	/* Cached: no new request. */
	auth_get(got, NULL);
	assert_int_equal(npend, 0);
	assert_int_equal(got_calls, 3);
}

static void role_refreshed_before_expiration(void **state)
{
	struct aws_cfg aws;

	memset(&aws, 0, sizeof(aws));
	auth_init(&aws);
	auth_get(got, NULL);
	answer("meta-data/iam/security-credentials/", 0, "vpcf-node");
	answer("meta-data/iam/security-credentials/vpcf-node", 0,
	       role_creds("ASIAROLE000000000001", fake_now + 3600));
	/* A refresh is scheduled 5 minutes before Expiration. */
	assert_non_null(timer_fn);
	assert_int_equal(timer_delay, (3600 - 300) * 1000);

	/* 4 minutes before Expiration the cached keys are stale: refetch. */
	fake_now += 3600 - 240;
	auth_get(got, NULL);
	assert_int_equal(npend, 1);
	answer("meta-data/iam/security-credentials/", 0, "vpcf-node");
	answer("meta-data/iam/security-credentials/vpcf-node", 0,
	       role_creds("ASIAROLE000000000002", fake_now + 3600));
	assert_string_equal(got_akid, "ASIAROLE000000000002");

	/* The timer path fetches too, without any caller waiting. */
	assert_non_null(timer_fn);
	timer_fn(NULL);
	assert_int_equal(npend, 1);
	answer("meta-data/iam/security-credentials/", 0, "vpcf-node");
	answer("meta-data/iam/security-credentials/vpcf-node", 0,
	       role_creds("ASIAROLE000000000003", fake_now + 3600));
	auth_get(got, NULL);
	assert_string_equal(got_akid, "ASIAROLE000000000003");
	assert_int_equal(npend, 0);
}

static void short_lived_role_keys_refresh_at_a_quarter(void **state)
{
	struct aws_cfg aws;

	memset(&aws, 0, sizeof(aws));
	auth_init(&aws);
	auth_get(got, NULL);
	answer("meta-data/iam/security-credentials/", 0, "vpcf-node");
	answer("meta-data/iam/security-credentials/vpcf-node", 0,
	       role_creds("ASIAROLE000000000001", fake_now + 120));
	assert_int_equal(timer_delay, 90 * 1000);
}

static void invalidate_forces_refetch(void **state)
{
	struct aws_cfg aws;

	memset(&aws, 0, sizeof(aws));
	auth_init(&aws);
	auth_get(got, NULL);
	answer("meta-data/iam/security-credentials/", 0, "vpcf-node");
	answer("meta-data/iam/security-credentials/vpcf-node", 0,
	       role_creds("ASIAROLE000000000001", fake_now + 3600));
	assert_int_equal(auth_invalidate(NULL), 1);
	auth_get(got, NULL);
	assert_int_equal(npend, 1);
}

static void metadata_failure_reaches_every_waiter(void **state)
{
	struct aws_cfg aws;
	int a = 0, b = 0;

	memset(&aws, 0, sizeof(aws));
	auth_init(&aws);
	auth_get(got, &a);
	auth_get(got, &b);
	answer("meta-data/iam/security-credentials/", -1, NULL);
	assert_int_equal(a + b, 2);
	assert_string_equal(got_akid, "");
	assert_string_equal(got_err, "metadata unreachable");
	/* No role attached: an empty listing. */
	auth_get(got, NULL);
	answer("meta-data/iam/security-credentials/", 0, "");
	assert_non_null(strstr(got_err, "no usable instance role"));
}

static void malformed_role_json_is_an_error(void **state)
{
	struct aws_cfg aws;

	memset(&aws, 0, sizeof(aws));
	auth_init(&aws);
	auth_get(got, NULL);
	answer("meta-data/iam/security-credentials/", 0, "vpcf-node");
	answer("meta-data/iam/security-credentials/vpcf-node", 0,
	       "{\"Code\":\"Success\"");
	assert_string_equal(got_akid, "");
	assert_non_null(strstr(got_err, "instance role vpcf-node"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(env_beats_file_and_role, reset),
	    cmocka_unit_test_setup(half_set_environment_is_an_error, reset),
	    cmocka_unit_test_setup(unsafe_file_is_refused, reset),
	    cmocka_unit_test_setup(role_fetched_once_for_queued_callers, reset),
	    cmocka_unit_test_setup(role_refreshed_before_expiration, reset),
	    cmocka_unit_test_setup(short_lived_role_keys_refresh_at_a_quarter, reset),
	    cmocka_unit_test_setup(invalidate_forces_refetch, reset),
	    cmocka_unit_test_setup(metadata_failure_reaches_every_waiter, reset),
	    cmocka_unit_test_setup(malformed_role_json_is_an_error, reset),
	};
	log_init("test_auth", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
