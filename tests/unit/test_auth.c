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
#include <ctype.h>
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

/* STS: one AssumeRole at a time is recorded; tests answer it. */
#include "vpc/sts.h"
static struct {
	int pending, calls;
	char arn[256], session[80], external_id[64], base_akid[64], base_token[64];
	unsigned duration;
	sts_fn fn;
	void *arg;
} sts;
static char sts_region[32];
static void fake_sts_init(const char *ep, const char *region, unsigned tmo)
{
	snprintf(sts_region, sizeof(sts_region), "%s", region);
}
static void fake_sts_fini(void)
{
	sts.pending = 0;
}
static struct sts_req *fake_sts_assume_role(const struct sts_assume *q,
					    const struct aws_creds *base, sts_fn fn,
					    void *arg)
{
	assert_false(sts.pending);
	sts.pending = 1;
	sts.calls++;
	snprintf(sts.arn, sizeof(sts.arn), "%s", q->role_arn);
	snprintf(sts.session, sizeof(sts.session), "%s", q->session_name);
	snprintf(sts.external_id, sizeof(sts.external_id), "%s", q->external_id);
	snprintf(sts.base_akid, sizeof(sts.base_akid), "%s", base->access_key_id);
	snprintf(sts.base_token, sizeof(sts.base_token), "%s", base->session_token);
	sts.duration = q->duration_s;
	sts.fn = fn;
	sts.arg = arg;
	return (struct sts_req *)&sts; /* a handle auth.c only keeps */
}
#define sts_init	fake_sts_init
#define sts_fini	fake_sts_fini
#define sts_assume_role fake_sts_assume_role

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
static char got_err[1024];
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

#define ROLE "arn:aws:iam::111111111111:role/vpcf-routes"

/* STS answers the pending AssumeRole with keys akid valid for life s. */
static void sts_ok(const char *akid, int64_t life)
{
	struct aws_creds c;

	assert_true(sts.pending);
	sts.pending = 0;
	memset(&c, 0, sizeof(c));
	snprintf(c.access_key_id, sizeof(c.access_key_id), "%s", akid);
	snprintf(c.secret_access_key, sizeof(c.secret_access_key), "assumed/secret/1");
	snprintf(c.session_token, sizeof(c.session_token), "assumed-token-1");
	snprintf(c.source, sizeof(c.source), "assume-role");
	c.expiration = fake_now + life;
	sts.fn(sts.arg, 0, &c, "arn:aws:sts::111111111111:assumed-role/vpcf-routes/s",
	       NULL);
}

/* STS answers with an error (status 0 and no code: a transport failure). */
static void sts_err(int status, const char *code, const char *msg)
{
	struct ec2_error e;

	assert_true(sts.pending);
	sts.pending = 0;
	memset(&e, 0, sizeof(e));
	e.http_status = status;
	snprintf(e.code, sizeof(e.code), "%s", code);
	snprintf(e.message, sizeof(e.message), "%s", msg);
	sts.fn(sts.arg, -1, NULL, "", &e);
}

/* [aws] with role_arn, environment keys as the base, the region known. */
static void role_setup(struct aws_cfg *aws, const char *session, const char *ext)
{
	memset(aws, 0, sizeof(*aws));
	snprintf(aws->role_arn, sizeof(aws->role_arn), "%s", ROLE);
	snprintf(aws->role_session_name, sizeof(aws->role_session_name), "%s", session);
	snprintf(aws->external_id, sizeof(aws->external_id), "%s", ext);
	aws->role_duration_s = 900;
	setenv("AWS_ACCESS_KEY_ID", "AKIAWORKLOAD00000001", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env/secret/0000000000000000000000001", 1);
	assert_int_equal(auth_init(aws), 0);
	auth_region("us-east-1");
	memset(&sts, 0, sizeof(sts));
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
	assert_int_equal(npend, 0); /* never asked metadata */
	assert_int_equal(auth_invalidate(NULL),
			 0); /* static keys: refetching is no help */

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

static void role_assumed_with_the_base_and_refreshed_ahead(void **state)
{
	struct aws_cfg aws;
	int a = 0, b = 0;

	role_setup(&aws, "db-a", "ext-1");
	assert_string_equal(auth_role_arn(0), ROLE);
	assert_string_equal(sts_region, "us-east-1");
	auth_get(got, &a);
	auth_get(got, &b);
	assert_int_equal(sts.calls, 1); /* one AssumeRole for both */
	assert_string_equal(sts.arn, ROLE);
	assert_string_equal(sts.session, "db-a");
	assert_string_equal(sts.external_id, "ext-1");
	assert_string_equal(sts.base_akid, "AKIAWORKLOAD00000001");
	assert_int_equal(sts.duration, 900);
	sts_ok("ASIAASSUMED000000001", 900);
	assert_int_equal(a + b, 2);
	assert_string_equal(got_akid, "ASIAASSUMED000000001");
	assert_string_equal(auth_assumed_arn(0),
			    "arn:aws:sts::111111111111:assumed-role/vpcf-routes/s");
	/* Refreshed a quarter of their life (225 s) before Expiration. */
	assert_non_null(timer_fn);
	assert_int_equal(timer_delay, (900 - 225) * 1000);

	/* The refresh runs in the background: callers meanwhile get the keys
	 * still held, at once, without waiting for STS. */
	fake_now += 900 - 225;
	timer_fn(timer_arg);
	assert_int_equal(sts.calls, 2);
	auth_get(got, NULL);
	assert_string_equal(got_akid, "ASIAASSUMED000000001");
	assert_int_equal(got_calls, 3);
	sts_ok("ASIAASSUMED000000002", 900);
	auth_get(got, NULL);
	assert_string_equal(got_akid, "ASIAASSUMED000000002");
	assert_int_equal(sts.calls, 2);
}

static void role_refresh_failure_keeps_the_valid_keys(void **state)
{
	struct aws_cfg aws;

	role_setup(&aws, "db-a", "");
	auth_get(got, NULL);
	sts_ok("ASIAASSUMED000000001", 900);
	fake_now += 900 - 225;
	timer_fn(timer_arg);
	sts_err(0, "", "Connection refused");
	/* Still 225 s left: used, and asked again in 30 s. */
	auth_get(got, NULL);
	assert_string_equal(got_akid, "ASIAASSUMED000000001");
	assert_non_null(timer_fn);
	assert_int_equal(timer_delay, 30 * 1000);
	/* Once they are (nearly) expired, a caller waits for a new AssumeRole. */
	fake_now += 900;
	auth_get(got, NULL);
	assert_true(sts.pending);
	sts_ok("ASIAASSUMED000000002", 900);
	assert_string_equal(got_akid, "ASIAASSUMED000000002");
}

static void role_rejected_keys_assumed_once_more(void **state)
{
	struct aws_cfg aws;

	role_setup(&aws, "db-a", "");
	auth_get(got, NULL);
	sts_ok("ASIAASSUMED000000001", 3600);
	/* EC2 rejects them (expired early, revoked): three calls in flight
	 * together are rejected together, one new AssumeRole for all. */
	assert_int_equal(auth_invalidate("ASIAASSUMED000000001"), 1);
	auth_get(got, NULL);
	assert_int_equal(sts.calls, 2);
	sts_ok("ASIAASSUMED000000002", 3600);
	assert_int_equal(auth_invalidate("ASIAASSUMED000000001"), 1);
	auth_get(got, NULL);
	assert_int_equal(sts.calls, 2);
	assert_string_equal(got_akid, "ASIAASSUMED000000002");
}

/* EC2 may answer expired temporary credentials RequestExpired: that is
 * about the credentials (assume again) only when the keys the call was
 * signed with are past, or within a minute of, their Expiration by our
 * clock, or were replaced already; otherwise it is this host's clock. */
static void role_request_expired_only_for_expired_keys(void **state)
{
	struct aws_cfg aws;
	int64_t t0;

	assert_int_equal(auth_expired_as(0, "AKIAWORKLOAD00000001"), 0);
	role_setup(&aws, "db-a", "");
	auth_get(got, NULL);
	t0 = fake_now;
	sts_ok("ASIAASSUMED000000001", 3600);
	assert_int_equal(auth_expired_as(0, "ASIAASSUMED000000001"), 0);
	assert_int_equal(auth_expired_as(0, ""), 0);
	assert_int_equal(auth_expired_as(0, NULL), 0);
	assert_int_equal(auth_expired_as(7, "ASIAASSUMED000000001"), 0);
	fake_now = t0 + 3600 - AUTH_EXPIRED_MARGIN_S - 1;
	assert_int_equal(auth_expired_as(0, "ASIAASSUMED000000001"), 0);
	fake_now = t0 + 3600 - AUTH_EXPIRED_MARGIN_S;
	assert_int_equal(auth_expired_as(0, "ASIAASSUMED000000001"), 1);
	fake_now = t0 + 3600 + 5;
	assert_int_equal(auth_expired_as(0, "ASIAASSUMED000000001"), 1);
	/* ec2.c then invalidates them: one AssumeRole, the new keys are
	 * good, and a late answer to the old ones still says "assume". */
	assert_int_equal(auth_invalidate_as(0, "ASIAASSUMED000000001"), 1);
	auth_get(got, NULL);
	assert_int_equal(sts.calls, 2);
	sts_ok("ASIAASSUMED000000002", 3600);
	assert_string_equal(got_akid, "ASIAASSUMED000000002");
	assert_int_equal(auth_expired_as(0, "ASIAASSUMED000000002"), 0);
	assert_int_equal(auth_expired_as(0, "ASIAASSUMED000000001"), 1);
}

static void role_session_named_after_the_instance(void **state)
{
	struct aws_cfg aws;

	role_setup(&aws, "", "");
	auth_get(got, NULL);
	answer("meta-data/instance-id", 0, "i-0ccccccccccccccc3");
	assert_string_equal(sts.session, "vpc-failover-i-0ccccccccccccccc3");
	sts_ok("ASIAASSUMED000000001", 3600);
	/* Off EC2 (no metadata): the host name, in STS's alphabet. */
	reset(state);
	role_setup(&aws, "", "");
	auth_get(got, NULL);
	answer("meta-data/instance-id", -1, NULL);
	assert_true(sts.pending);
	assert_int_equal(strncmp(sts.session, "vpc-failover-", 13), 0);
	for (const char *p = sts.session; *p; p++)
		assert_true(isalnum((unsigned char)*p) || strchr("_+=,.@-", *p));
}

static void role_errors_name_the_fix(void **state)
{
	struct aws_cfg aws;

	role_setup(&aws, "db-a", "ext-1");
	auth_get(got, NULL);
	sts_err(403, "AccessDenied",
		"User: arn:aws:sts::222222222222:assumed-role/vpcf-node/i-1 is not "
		"authorized to perform: sts:AssumeRole on resource: " ROLE);
	assert_string_equal(got_akid, "");
	assert_non_null(strstr(got_err, "AssumeRole " ROLE " refused (AccessDenied)"));
	assert_non_null(strstr(got_err, "trust policy in account 111111111111"));
	assert_non_null(
	    strstr(got_err, "(arn:aws:sts::222222222222:assumed-role/vpcf-node/i-1)"));
	assert_non_null(strstr(got_err, "sts:ExternalId equal to external_id"));
	assert_non_null(strstr(got_err, "allow sts:AssumeRole on " ROLE));

	auth_get(got, NULL);
	sts_err(0, "", "Could not connect to server");
	assert_non_null(strstr(got_err, "unreachable")); /* ec2.c retries those */
	assert_non_null(strstr(got_err, "[aws] sts_endpoint"));

	auth_get(got, NULL);
	sts_err(403, "RegionDisabledException", "STS is not activated in this region");
	assert_non_null(strstr(got_err, "activate the region"));

	auth_get(got, NULL);
	sts_err(400, "ValidationError",
		"The requested DurationSeconds exceeds the MaxSessionDuration set for "
		"this role.");
	assert_non_null(strstr(got_err, "duration (at most the role's maximum"));

	auth_get(got, NULL);
	sts_err(503, "ServiceUnavailable", "try later");
	assert_non_null(strstr(got_err, "HTTP 5"));
	/* Every one of them asked STS once: no hidden retry loop here. */
	assert_int_equal(sts.calls, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(role_assumed_with_the_base_and_refreshed_ahead, reset),
	    cmocka_unit_test_setup(role_refresh_failure_keeps_the_valid_keys, reset),
	    cmocka_unit_test_setup(role_rejected_keys_assumed_once_more, reset),
	    cmocka_unit_test_setup(role_request_expired_only_for_expired_keys, reset),
	    cmocka_unit_test_setup(role_session_named_after_the_instance, reset),
	    cmocka_unit_test_setup(role_errors_name_the_fix, reset),
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
