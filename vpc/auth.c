/* auth.c — credentials chain. Static keys (environment, file) are read once
 * at start. Instance-role keys come from IMDS, are refreshed by a timer well
 * before Expiration, and are refetched at once if EC2 rejects them. Callers
 * that arrive during a fetch wait in a queue. Every secret is registered
 * with the log redactor as soon as it is known.
 *
 * With [aws] role_arn the chain's credentials are only the base: callers
 * get the role's, from STS AssumeRole (sts.c), kept in memory only,
 * refreshed by a timer ahead of Expiration like the instance role's (a
 * failed refresh keeps the still valid ones and tries again), and assumed
 * anew when EC2 rejects them. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vpc/auth.h"
#include "vpc/imds.h"
#include "vpc/sts.h"

#define ROLE_NAME_MAX	128
#define REFRESH_MAX_S	300 /* refresh at most 5 min before Expiration ... */
#define ASSUME_SAFETY_S 30  /* assumed keys with less left are not handed out */
#define ASSUME_RETRY_S	30  /* a failed refresh in the background tries again */

struct waiter {
	auth_fn fn;
	void *arg;
	struct waiter *next;
};

static struct aws_creds creds;
static int have_creds;
static int role_mode;
static int fetching;
static int64_t fetched_at;
static uint64_t refresh_timer;
static struct waiter *waiters;
static char role[ROLE_NAME_MAX];

/* The role to assume ([aws] role_arn), and its credentials. */
static struct {
	int on;
	char arn[AWS_ROLE_ARN_MAX];
	char external_id[AWS_EXTERNAL_ID_MAX];
	char session[AWS_SESSION_NAME_MAX];
	unsigned duration_s;
	char sts_endpoint[URL_MAX];
	unsigned timeout_ms;
	int have_region;
} ar;
static struct aws_creds acreds;
static int have_acreds, assuming, base_retried, assumed_once;
static int64_t afetched_at;
static uint64_t arefresh_timer;
static struct waiter *awaiters;
static char assumed_arn[256];

static void role_fetch(void);
static void base_get(auth_fn fn, void *arg);
static int base_invalidate(const char *akid);

int auth_init(const struct aws_cfg *aws)
{
	char err[256];
	int rc;

	memset(&creds, 0, sizeof(creds));
	have_creds = role_mode = 0;
	memset(&ar, 0, sizeof(ar));
	if (aws->role_arn[0]) {
		ar.on = 1;
		snprintf(ar.arn, sizeof(ar.arn), "%s", aws->role_arn);
		snprintf(ar.external_id, sizeof(ar.external_id), "%s", aws->external_id);
		snprintf(ar.session, sizeof(ar.session), "%s", aws->role_session_name);
		snprintf(ar.sts_endpoint, sizeof(ar.sts_endpoint), "%s",
			 aws->sts_endpoint);
		ar.duration_s = aws->role_duration_s ? aws->role_duration_s : 3600;
		ar.timeout_ms = aws->request_timeout_ms;
	}
	rc = creds_from_env(&creds);
	if (rc == -1)
		return -1;
	if (rc == 0 && aws->credentials_file[0]) {
		rc = creds_from_file(aws->credentials_file,
				     aws->profile[0] ? aws->profile : "default", &creds,
				     err, sizeof(err));
		if (rc == -1) {
			log_warnx("%s", err);
			return -1;
		}
	}
	if (rc == 1) {
		creds_redact(&creds);
		have_creds = 1;
		log_debug("credentials from %s (%s)", creds.source, creds.access_key_id);
		return 0;
	}
	role_mode = 1;
	return 0;
}

static void free_waiters(struct waiter **list)
{
	while (*list) {
		struct waiter *w = *list;
		*list = w->next;
		free(w);
	}
}

void auth_fini(void)
{
	if (refresh_timer)
		ev_timer_cancel(refresh_timer);
	refresh_timer = 0;
	if (arefresh_timer)
		ev_timer_cancel(arefresh_timer);
	arefresh_timer = 0;
	sts_fini();
	explicit_bzero(&creds, sizeof(creds));
	explicit_bzero(&acreds, sizeof(acreds));
	have_creds = role_mode = fetching = 0;
	have_acreds = assuming = assumed_once = 0;
	assumed_arn[0] = '\0';
	free_waiters(&waiters);
	free_waiters(&awaiters);
	memset(&ar, 0, sizeof(ar));
}

const char *auth_source(void)
{
	if (role_mode)
		return "instance-role";
	return creds.source;
}

const char *auth_role_arn(void)
{
	return ar.on ? ar.arn : "";
}

const char *auth_assumed_arn(void)
{
	return have_acreds ? assumed_arn : "";
}

void auth_region(const char *region)
{
	if (!ar.on)
		return;
	sts_init(ar.sts_endpoint, region, ar.timeout_ms);
	ar.have_region = 1;
}

/* Credentials fetched at got that expire at exp are refreshed once less
 * than this many seconds remain: a quarter of their life, at most 5 min. */
static int64_t margin_of(int64_t exp, int64_t got)
{
	int64_t m = (exp - got) / 4;
	return m > REFRESH_MAX_S ? REFRESH_MAX_S : m;
}

static int64_t refresh_margin(void)
{
	return margin_of(creds.expiration, fetched_at);
}

static int creds_fresh(void)
{
	if (!have_creds)
		return 0;
	if (creds.expiration == 0)
		return 1;
	return ev_wall() < creds.expiration - refresh_margin();
}

/* Answer every waiter of *head with c, or err when it is not "". */
static void wake_list(struct waiter **head, const struct aws_creds *c, const char *err)
{
	struct waiter *list = *head;

	*head = NULL;
	/* Answer in arrival order: the list was built by prepending. */
	struct waiter *rev = NULL;
	while (list) {
		struct waiter *n = list->next;
		list->next = rev;
		rev = list;
		list = n;
	}
	while (rev) {
		struct waiter *w = rev;
		rev = w->next;
		w->fn(w->arg, err[0] ? NULL : c, err);
		free(w);
	}
}

static void wake_waiters(const char *err)
{
	wake_list(&waiters, &creds, err);
}

static void on_refresh_timer(void *arg)
{
	refresh_timer = 0;
	if (!fetching)
		role_fetch();
}

static void on_role_creds(void *arg, int rc, const char *body, size_t len,
			  const char *err)
{
	struct aws_creds fresh;
	char perr[256];

	fetching = 0;
	if (rc == -1) {
		wake_waiters(err[0] ? err : "instance role credentials unavailable");
		return;
	}
	memset(&fresh, 0, sizeof(fresh));
	if (creds_parse_imds(body, len, &fresh, perr, sizeof(perr)) == -1) {
		char msg[384];
		snprintf(msg, sizeof(msg), "instance role %s: %s", role, perr);
		wake_waiters(msg);
		return;
	}
	creds_redact(&fresh);
	creds = fresh;
	explicit_bzero(&fresh, sizeof(fresh));
	have_creds = 1;
	fetched_at = ev_wall();
	if (creds.expiration > 0 && creds.expiration <= fetched_at) {
		have_creds = 0;
		wake_waiters(
		    "instance role credentials arrived already expired (clock skew?)");
		return;
	}
	if (refresh_timer)
		ev_timer_cancel(refresh_timer);
	refresh_timer = 0;
	if (creds.expiration > 0) {
		int64_t at = creds.expiration - refresh_margin() - fetched_at;
		refresh_timer = ev_timer_add((uint64_t)(at > 1 ? at : 1) * 1000,
					     on_refresh_timer, NULL);
	}
	log_debug("instance role %s credentials %s valid until %lld", role,
		  creds.access_key_id, (long long)creds.expiration);
	wake_waiters("");
}

static void on_role_name(void *arg, int rc, const char *body, size_t len, const char *err)
{
	char path[256];
	size_t n = 0;

	if (rc == -1) {
		fetching = 0;
		wake_waiters(err[0] ? err : "no instance role");
		return;
	}
	/* The listing has one role per line; an instance has at most one. */
	while (n < len && body[n] != '\n' && body[n] != '\r')
		n++;
	if (n == 0 || n >= sizeof(role) || memchr(body, '/', n)) {
		fetching = 0;
		wake_waiters(
		    "metadata lists no usable instance role (is an IAM role attached?)");
		return;
	}
	memcpy(role, body, n);
	role[n] = '\0';
	snprintf(path, sizeof(path), "meta-data/iam/security-credentials/%s", role);
	if (imds_get(path, on_role_creds, NULL) == -1) {
		fetching = 0;
		wake_waiters("metadata request failed");
	}
}

static void role_fetch(void)
{
	fetching = 1;
	if (imds_get("meta-data/iam/security-credentials/", on_role_name, NULL) == -1) {
		fetching = 0;
		wake_waiters("metadata request failed");
	}
}

static void base_get(auth_fn fn, void *arg)
{
	if (creds_fresh()) {
		fn(arg, &creds, "");
		return;
	}
	if (!role_mode) {
		fn(arg, NULL, "no credentials");
		return;
	}
	struct waiter *w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->arg = arg;
	w->next = waiters;
	waiters = w;
	if (!fetching)
		role_fetch();
}

static int base_invalidate(const char *akid)
{
	if (!role_mode)
		return 0;
	if (akid == NULL || strcmp(akid, creds.access_key_id) == 0)
		have_creds = 0;
	return 1;
}

void auth_base_get(auth_fn fn, void *arg)
{
	base_get(fn, arg);
}

/* ---- AssumeRole ---- */

static void assume_start(void);

static void on_assume_timer(void *arg)
{
	arefresh_timer = 0;
	if (!assuming)
		assume_start();
}

static void assume_timer(int64_t in_s)
{
	if (arefresh_timer)
		ev_timer_cancel(arefresh_timer);
	arefresh_timer =
	    ev_timer_add((uint64_t)(in_s > 1 ? in_s : 1) * 1000, on_assume_timer, NULL);
}

/* The role's account: the ARN's fifth field. */
static void arn_account(const char *arn, char *out, size_t outsz)
{
	const char *p = arn;

	out[0] = '\0';
	for (int i = 0; i < 4 && p; i++)
		if ((p = strchr(p, ':')) != NULL)
			p++;
	if (p)
		snprintf(out, outsz, "%.*s", (int)strcspn(p, ":"), p);
}

/* What went wrong with AssumeRole and what to change, into msg. Messages
 * that may get better by waiting say "unreachable" or "HTTP 5", which
 * ec2.c retries until its deadline. */
/* The caller STS names in "User: ARN is not authorized to perform: ...",
 * or "the caller". */
static const char *caller_of(const char *m, char *out, size_t outsz)
{
	const char *end;

	if (strncmp(m, "User: ", 6) != 0 ||
	    (end = strstr(m, " is not authorized")) == NULL ||
	    (size_t)(end - m - 6) >= outsz)
		return "the caller";
	snprintf(out, outsz, "%.*s", (int)(end - m - 6), m + 6);
	return out;
}

static void assume_explain(const struct ec2_error *e, char *msg, size_t msgsz)
{
	char acct[32], caller[256];

	arn_account(ar.arn, acct, sizeof(acct));
	if (e->http_status == 0 && e->code[0] == '\0')
		snprintf(msg, msgsz,
			 "AssumeRole %s: STS endpoint %s unreachable (%s): allow HTTPS "
			 "from this host to it (security group, network ACL, proxy, or "
			 "an interface VPC endpoint for STS), or set [aws] sts_endpoint",
			 ar.arn, sts_endpoint(), e->message);
	else if (strcmp(e->code, "AccessDenied") == 0)
		snprintf(msg, msgsz,
			 "AssumeRole %s refused (AccessDenied): the role's trust policy "
			 "in account %s must name this caller (%s) as Principal%s, and "
			 "the caller's own IAM policy must allow sts:AssumeRole on %s",
			 ar.arn, acct, caller_of(e->message, caller, sizeof(caller)),
			 ar.external_id[0]
			     ? " with condition sts:ExternalId equal to [aws] "
			       "external_id (a different external id is AccessDenied "
			       "too)"
			     : " (if it requires sts:ExternalId, set [aws] external_id)",
			 ar.arn);
	else if (strcmp(e->code, "RegionDisabledException") == 0)
		snprintf(msg, msgsz,
			 "AssumeRole %s: STS is not activated in this region for the "
			 "caller's account (%s): activate the region in IAM account "
			 "settings, or set [aws] sts_endpoint to an active region's",
			 ar.arn, e->message);
	else if (strcmp(e->code, "ValidationError") == 0)
		snprintf(msg, msgsz,
			 "AssumeRole %s: ValidationError: %s: check [aws] role_arn, "
			 "role_session_name and duration (at most the role's maximum "
			 "session duration)",
			 ar.arn, e->message);
	else if (strcmp(e->code, "ExpiredToken") == 0 ||
		 strcmp(e->code, "InvalidClientTokenId") == 0 ||
		 strcmp(e->code, "SignatureDoesNotMatch") == 0)
		snprintf(msg, msgsz,
			 "AssumeRole %s: %s: %s: the base credentials (%s) are not "
			 "valid; fix them",
			 ar.arn, e->code, e->message, auth_source());
	else if (e->http_status >= 500 || strcmp(e->code, "Throttling") == 0)
		snprintf(msg, msgsz, "AssumeRole %s: STS answered HTTP %d %s: %s", ar.arn,
			 e->http_status >= 500 ? e->http_status : 503, e->code,
			 e->message);
	else
		snprintf(msg, msgsz, "AssumeRole %s: %s%s%s (HTTP %d)", ar.arn, e->code,
			 e->code[0] ? ": " : "", e->message, e->http_status);
}

/* An attempt failed with msg. Callers waiting get it. A refresh in the
 * background (nobody waiting, the keys still good) says it and tries again
 * while they last. */
static void assume_fail(const char *msg)
{
	int64_t left = have_acreds ? acreds.expiration - ev_wall() : 0;

	assuming = 0;
	if (awaiters) {
		wake_list(&awaiters, NULL, msg);
		return;
	}
	log_warnx("%s", msg);
	if (left > ASSUME_SAFETY_S)
		assume_timer(left - ASSUME_SAFETY_S < ASSUME_RETRY_S
				 ? left - ASSUME_SAFETY_S
				 : ASSUME_RETRY_S);
}

static void on_base(void *arg, const struct aws_creds *c, const char *err);

static void on_assumed(void *arg, int rc, const struct aws_creds *c, const char *arn,
		       const struct ec2_error *e)
{
	char msg[1024], until[32];
	time_t t;

	if (rc == -1) {
		/* Rotated instance-role keys: fetch them once and ask again. */
		if ((strcmp(e->code, "ExpiredToken") == 0 ||
		     strcmp(e->code, "InvalidClientTokenId") == 0) &&
		    !base_retried && base_invalidate(NULL)) {
			base_retried = 1;
			base_get(on_base, NULL);
			return;
		}
		assume_explain(e, msg, sizeof(msg));
		assume_fail(msg);
		return;
	}
	assuming = 0;
	acreds = *c;
	afetched_at = ev_wall();
	have_acreds = 1;
	snprintf(assumed_arn, sizeof(assumed_arn), "%s", arn[0] ? arn : ar.arn);
	if (acreds.expiration <= afetched_at + ASSUME_SAFETY_S) {
		have_acreds = 0;
		snprintf(msg, sizeof(msg),
			 "AssumeRole %s: the credentials arrived (nearly) expired: is "
			 "this host's clock right (NTP/chrony)?",
			 ar.arn);
		assume_fail(msg);
		return;
	}
	t = (time_t)acreds.expiration;
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if (!assumed_once)
		log_info("assumed role %s as %s (%s), valid until %s", ar.arn,
			 assumed_arn, acreds.access_key_id, until);
	else
		log_debug("role %s refreshed: %s valid until %s", ar.arn,
			  acreds.access_key_id, until);
	assumed_once = 1;
	assume_timer(acreds.expiration - margin_of(acreds.expiration, afetched_at) -
		     afetched_at);
	wake_list(&awaiters, &acreds, "");
}

static void on_base(void *arg, const struct aws_creds *c, const char *err)
{
	struct sts_assume q = {ar.arn, ar.session, ar.external_id, ar.duration_s};
	char msg[768];

	if (c == NULL) {
		/* Keeps the base's words ("unreachable", ...) for ec2.c. */
		snprintf(msg, sizeof(msg), "AssumeRole %s: no base credentials: %s",
			 ar.arn, err);
		assume_fail(msg);
		return;
	}
	if (!ar.have_region || sts_assume_role(&q, c, on_assumed, NULL) == -1) {
		snprintf(msg, sizeof(msg), "AssumeRole %s: the STS client is not %s",
			 ar.arn, ar.have_region ? "free" : "started (region unknown)");
		assume_fail(msg);
	}
}

/* The session name when none is configured: vpc-failover- and the instance
 * id (so CloudTrail shows which node moved a route), else the host name,
 * kept to what STS takes ([\w+=,.@-], at most 64). */
static void session_default(const char *id, size_t len)
{
	char host[64] = "";
	size_t n;

	if (id == NULL || len == 0 || len > 40) {
		if (gethostname(host, sizeof(host) - 1) == -1 || host[0] == '\0')
			snprintf(host, sizeof(host), "host");
		id = host;
		len = strlen(host);
	}
	n = (size_t)snprintf(ar.session, sizeof(ar.session), "vpc-failover-%.*s",
			     (int)len, id);
	for (size_t i = 0; i < n && i < sizeof(ar.session) - 1; i++) {
		unsigned char ch = (unsigned char)ar.session[i];
		if (!isalnum(ch) && !strchr("_+=,.@-", ch))
			ar.session[i] = '-';
	}
}

static void on_instance_id(void *arg, int rc, const char *body, size_t len,
			   const char *err)
{
	size_t n = 0;

	/* i- and hex digits; anything else is not an instance id. */
	if (rc == 0 && len >= 3 && len <= 40 && body[0] == 'i' && body[1] == '-') {
		n = 2 + strspn(body + 2, "0123456789abcdef");
		if (n != len)
			n = 0;
	}
	session_default(n ? body : NULL, n);
	base_get(on_base, NULL);
}

static void assume_start(void)
{
	assuming = 1;
	base_retried = 0;
	if (ar.session[0] == '\0') {
		if (imds_get("meta-data/instance-id", on_instance_id, NULL) == 0)
			return;
		session_default(NULL, 0);
	}
	base_get(on_base, NULL);
}

void auth_get(auth_fn fn, void *arg)
{
	if (!ar.on) {
		base_get(fn, arg);
		return;
	}
	if (have_acreds && ev_wall() < acreds.expiration - ASSUME_SAFETY_S) {
		fn(arg, &acreds, "");
		return;
	}
	struct waiter *w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->arg = arg;
	w->next = awaiters;
	awaiters = w;
	if (!assuming)
		assume_start();
}

int auth_invalidate(const char *akid)
{
	if (!ar.on)
		return base_invalidate(akid);
	if (akid == NULL || strcmp(akid, acreds.access_key_id) == 0)
		have_acreds = 0;
	return 1;
}
