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

/* A role to assume and its credentials. Slot 0 is [aws] role_arn (off
 * when unset); groups with a role_arn of their own get the next slots
 * (auth_slot). */
struct arole {
	int on;
	char arn[AWS_ROLE_ARN_MAX];
	char external_id[AWS_EXTERNAL_ID_MAX];
	struct aws_creds creds;
	int have, assuming, base_retried, assumed_once;
	int64_t fetched_at;
	uint64_t timer;
	struct waiter *waiters;
	struct sts_req *req;
	char assumed_arn[256];
};
static struct arole roles[AUTH_ROLES_MAX];
static size_t nroles = 1;
/* What every role shares. */
static struct {
	char session[AWS_SESSION_NAME_MAX]; /* "" until derived */
	unsigned duration_s;
	char sts_endpoint[URL_MAX];
	unsigned timeout_ms;
	int have_region;
	int naming; /* the instance id is being asked for the session name */
} ar;

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
	memset(roles, 0, sizeof(roles));
	nroles = 1;
	snprintf(ar.session, sizeof(ar.session), "%s", aws->role_session_name);
	snprintf(ar.sts_endpoint, sizeof(ar.sts_endpoint), "%s", aws->sts_endpoint);
	ar.duration_s = aws->role_duration_s ? aws->role_duration_s : 3600;
	ar.timeout_ms = aws->request_timeout_ms;
	if (aws->role_arn[0]) {
		roles[0].on = 1;
		snprintf(roles[0].arn, sizeof(roles[0].arn), "%s", aws->role_arn);
		snprintf(roles[0].external_id, sizeof(roles[0].external_id), "%s",
			 aws->external_id);
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
	for (size_t i = 0; i < nroles; i++) {
		if (roles[i].timer)
			ev_timer_cancel(roles[i].timer);
		free_waiters(&roles[i].waiters);
	}
	sts_fini(); /* cancels what is in flight */
	explicit_bzero(&creds, sizeof(creds));
	explicit_bzero(roles, sizeof(roles));
	nroles = 1;
	have_creds = role_mode = fetching = 0;
	free_waiters(&waiters);
	memset(&ar, 0, sizeof(ar));
}

const char *auth_source(void)
{
	if (role_mode)
		return "instance-role";
	return creds.source;
}

static struct arole *slot_role(int slot)
{
	return slot >= 0 && (size_t)slot < nroles && roles[slot].on ? &roles[slot] : NULL;
}

const char *auth_role_arn(int slot)
{
	struct arole *r = slot_role(slot);
	return r ? r->arn : "";
}

const char *auth_assumed_arn(int slot)
{
	struct arole *r = slot_role(slot);
	return r && r->have ? r->assumed_arn : "";
}

int64_t auth_role_expires(int slot)
{
	struct arole *r = slot_role(slot);
	return r && r->have ? r->creds.expiration : 0;
}

int auth_slot(const char *arn, const char *external_id)
{
	if (arn == NULL || arn[0] == '\0')
		return 0;
	if (external_id == NULL)
		external_id = "";
	for (size_t i = 0; i < nroles; i++)
		if (roles[i].on && strcmp(roles[i].arn, arn) == 0 &&
		    strcmp(roles[i].external_id, external_id) == 0)
			return (int)i;
	if (nroles == AUTH_ROLES_MAX || strlen(arn) >= sizeof(roles[0].arn) ||
	    strlen(external_id) >= sizeof(roles[0].external_id))
		return -1;
	roles[nroles].on = 1;
	snprintf(roles[nroles].arn, sizeof(roles[0].arn), "%s", arn);
	snprintf(roles[nroles].external_id, sizeof(roles[0].external_id), "%s",
		 external_id);
	return (int)nroles++;
}

void auth_region(const char *region)
{
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

static void assume_start(struct arole *r);

static void on_assume_timer(void *arg)
{
	struct arole *r = arg;

	r->timer = 0;
	if (!r->assuming)
		assume_start(r);
}

static void assume_timer(struct arole *r, int64_t in_s)
{
	if (r->timer)
		ev_timer_cancel(r->timer);
	r->timer =
	    ev_timer_add((uint64_t)(in_s > 1 ? in_s : 1) * 1000, on_assume_timer, r);
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

/* What went wrong with AssumeRole and what to change, into msg. Messages
 * that may get better by waiting say "unreachable" or "HTTP 5", which
 * ec2.c retries until its deadline. */
static void assume_explain(const struct arole *r, const struct ec2_error *e, char *msg,
			   size_t msgsz)
{
	char acct[32], caller[256];

	arn_account(r->arn, acct, sizeof(acct));
	if (e->http_status == 0 && e->code[0] == '\0')
		snprintf(msg, msgsz,
			 "AssumeRole %s: STS endpoint %s unreachable (%s): allow HTTPS "
			 "from this host to it (security group, network ACL, proxy, or "
			 "an interface VPC endpoint for STS), or set [aws] sts_endpoint",
			 r->arn, sts_endpoint(), e->message);
	else if (strcmp(e->code, "AccessDenied") == 0)
		snprintf(msg, msgsz,
			 "AssumeRole %s refused (AccessDenied): the role's trust policy "
			 "in account %s must name this caller (%s) as Principal%s, and "
			 "the caller's own IAM policy must allow sts:AssumeRole on %s",
			 r->arn, acct, caller_of(e->message, caller, sizeof(caller)),
			 r->external_id[0]
			     ? " with condition sts:ExternalId equal to external_id (a "
			       "different external id is AccessDenied too)"
			     : " (if it requires sts:ExternalId, set external_id)",
			 r->arn);
	else if (strcmp(e->code, "RegionDisabledException") == 0)
		snprintf(msg, msgsz,
			 "AssumeRole %s: STS is not activated in this region for the "
			 "caller's account (%s): activate the region in IAM account "
			 "settings, or set [aws] sts_endpoint to an active region's",
			 r->arn, e->message);
	else if (strcmp(e->code, "ValidationError") == 0)
		snprintf(msg, msgsz,
			 "AssumeRole %s: ValidationError: %s: check role_arn, "
			 "role_session_name and duration (at most the role's maximum "
			 "session duration)",
			 r->arn, e->message);
	else if (strcmp(e->code, "ExpiredToken") == 0 ||
		 strcmp(e->code, "InvalidClientTokenId") == 0 ||
		 strcmp(e->code, "SignatureDoesNotMatch") == 0)
		snprintf(msg, msgsz,
			 "AssumeRole %s: %s: %s: the base credentials (%s) are not "
			 "valid; fix them",
			 r->arn, e->code, e->message, auth_source());
	else if (e->http_status >= 500 || strcmp(e->code, "Throttling") == 0)
		snprintf(msg, msgsz, "AssumeRole %s: STS answered HTTP %d %s: %s", r->arn,
			 e->http_status >= 500 ? e->http_status : 503, e->code,
			 e->message);
	else
		snprintf(msg, msgsz, "AssumeRole %s: %s%s%s (HTTP %d)", r->arn, e->code,
			 e->code[0] ? ": " : "", e->message, e->http_status);
}

/* An attempt failed with msg. Callers waiting get it. A refresh in the
 * background (nobody waiting, the keys still good) says it and tries again
 * while they last. */
static void assume_fail(struct arole *r, const char *msg)
{
	int64_t left = r->have ? r->creds.expiration - ev_wall() : 0;

	r->assuming = 0;
	if (r->waiters) {
		wake_list(&r->waiters, NULL, msg);
		return;
	}
	log_warnx("%s", msg);
	if (left > ASSUME_SAFETY_S)
		assume_timer(r, left - ASSUME_SAFETY_S < ASSUME_RETRY_S
				    ? left - ASSUME_SAFETY_S
				    : ASSUME_RETRY_S);
}

static void on_base(void *arg, const struct aws_creds *c, const char *err);

static void on_assumed(void *arg, int rc, const struct aws_creds *c, const char *arn,
		       const struct ec2_error *e)
{
	struct arole *r = arg;
	char msg[1024], until[32];
	time_t t;

	r->req = NULL;
	if (rc == -1) {
		/* Rotated instance-role keys: fetch them once and ask again. */
		if ((strcmp(e->code, "ExpiredToken") == 0 ||
		     strcmp(e->code, "InvalidClientTokenId") == 0) &&
		    !r->base_retried && base_invalidate(NULL)) {
			r->base_retried = 1;
			base_get(on_base, r);
			return;
		}
		assume_explain(r, e, msg, sizeof(msg));
		assume_fail(r, msg);
		return;
	}
	r->assuming = 0;
	r->creds = *c;
	r->fetched_at = ev_wall();
	r->have = 1;
	snprintf(r->assumed_arn, sizeof(r->assumed_arn), "%s", arn[0] ? arn : r->arn);
	if (r->creds.expiration <= r->fetched_at + ASSUME_SAFETY_S) {
		r->have = 0;
		snprintf(msg, sizeof(msg),
			 "AssumeRole %s: the credentials arrived (nearly) expired: is "
			 "this host's clock right (NTP/chrony)?",
			 r->arn);
		assume_fail(r, msg);
		return;
	}
	t = (time_t)r->creds.expiration;
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if (!r->assumed_once)
		log_info("assumed role %s as %s (%s), valid until %s", r->arn,
			 r->assumed_arn, r->creds.access_key_id, until);
	else
		log_debug("role %s refreshed: %s valid until %s", r->arn,
			  r->creds.access_key_id, until);
	r->assumed_once = 1;
	assume_timer(r, r->creds.expiration -
			    margin_of(r->creds.expiration, r->fetched_at) -
			    r->fetched_at);
	wake_list(&r->waiters, &r->creds, "");
}

static void on_base(void *arg, const struct aws_creds *c, const char *err)
{
	struct arole *r = arg;
	struct sts_assume q = {r->arn, ar.session, r->external_id, ar.duration_s};
	char msg[768];

	if (c == NULL) {
		/* Keeps the base's words ("unreachable", ...) for ec2.c. */
		snprintf(msg, sizeof(msg), "AssumeRole %s: no base credentials: %s",
			 r->arn, err);
		assume_fail(r, msg);
		return;
	}
	if (!ar.have_region || (r->req = sts_assume_role(&q, c, on_assumed, r)) == NULL) {
		snprintf(msg, sizeof(msg), "AssumeRole %s: the STS client is not %s",
			 r->arn, ar.have_region ? "working" : "started (region unknown)");
		assume_fail(r, msg);
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

/* The session is named: every role that waited for it goes on. */
static void named(void)
{
	ar.naming = 0;
	for (size_t i = 0; i < nroles; i++)
		if (roles[i].on && roles[i].assuming && roles[i].req == NULL)
			base_get(on_base, &roles[i]);
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
	named();
}

static void assume_start(struct arole *r)
{
	r->assuming = 1;
	r->base_retried = 0;
	if (ar.naming)
		return; /* named() goes on */
	if (ar.session[0] == '\0') {
		ar.naming = 1;
		if (imds_get("meta-data/instance-id", on_instance_id, NULL) == 0)
			return;
		session_default(NULL, 0);
		named();
		return;
	}
	base_get(on_base, r);
}

void auth_get_as(int slot, auth_fn fn, void *arg)
{
	struct arole *r = slot_role(slot);

	if (r == NULL) {
		if (slot == 0)
			base_get(fn, arg);
		else
			fn(arg, NULL,
			   "more different role_arn than the daemon can hold since it "
			   "started (reloads add roles): restart it");
		return;
	}
	if (r->have && ev_wall() < r->creds.expiration - ASSUME_SAFETY_S) {
		fn(arg, &r->creds, "");
		return;
	}
	struct waiter *w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->arg = arg;
	w->next = r->waiters;
	r->waiters = w;
	if (!r->assuming)
		assume_start(r);
}

void auth_get(auth_fn fn, void *arg)
{
	auth_get_as(0, fn, arg);
}

int auth_invalidate_as(int slot, const char *akid)
{
	struct arole *r = slot_role(slot);

	if (r == NULL)
		return slot == 0 ? base_invalidate(akid) : 0;
	if (akid == NULL || strcmp(akid, r->creds.access_key_id) == 0)
		r->have = 0;
	return 1;
}

int auth_expired_as(int slot, const char *akid)
{
	struct arole *r = slot_role(slot);

	if (r == NULL || akid == NULL || akid[0] == '\0')
		return 0;
	if (strcmp(akid, r->creds.access_key_id) != 0)
		return 1;
	return ev_wall() >= r->creds.expiration - AUTH_EXPIRED_MARGIN_S;
}

int auth_invalidate(const char *akid)
{
	return auth_invalidate_as(0, akid);
}
