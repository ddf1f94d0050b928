/* sts.c — the STS Query API (Version 2011-06-15): AssumeRole and
 * GetCallerIdentity, signed with SigV4 for service sts, with STS's XML
 * answers, error codes, messages and HTTP statuses. A role's trust (who may
 * assume it, which external id it requires) comes from the state file's
 * "roles"; the credentials it issues belong to the role's account, and the
 * EC2 part lets them write only the route tables that account owns. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/vpcsim/sim.h"

#define STS_XMLNS    "https://sts.amazonaws.com/doc/2011-06-15/"
#define STS_CTYPE    "text/xml"
#define XML_DECL     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define B64CHARS     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define KEYCHARS     "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define DURATION_MIN 900
#define DURATION_MAX 43200
#define DURATION_DEF 3600

struct sts_call {
	struct sim *s;
	struct sim_req *r;
	const char *(*param)(const void *ctx, const char *key);
	const void *ctx;
	const char *action;
	char akid[SIM_KEY_MAX];
	char reqid[37];
	unsigned status;
	char code[SIM_CODE_MAX];
	char msg[768];
	char why[256]; /* for the log only */
	struct buf body;
};

static int seterr(struct sts_call *c, unsigned status, const char *code, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));

static int seterr(struct sts_call *c, unsigned status, const char *code, const char *fmt,
		  ...)
{
	va_list ap;

	c->status = status;
	strlcpy_chk(c->code, code, sizeof(c->code));
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *param(const struct sts_call *c, const char *key)
{
	return c->param(c->ctx, key);
}

int sts_wants(struct sim_req *r, const char *action)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);

	if (h)
		return strstr(h, "/sts/aws4_request") != NULL;
	return action && (strcmp(action, "AssumeRole") == 0 ||
			  strcmp(action, "GetCallerIdentity") == 0);
}

void sts_caller(struct sim *s, const struct sim_cred *cred, const char *akid,
		const char **account, char *arn, size_t arnsz, char *const **deny,
		size_t *ndeny)
{
	const struct sim_tmpcred *t;

	*account = "";
	*deny = NULL;
	*ndeny = 0;
	arn[0] = '\0';
	if (cred) {
		*account = cred->account;
		snprintf(arn, arnsz, "arn:aws:iam::%s:user/%s", cred->account,
			 cred->akid);
		*deny = cred->deny;
		*ndeny = cred->ndeny;
		return;
	}
	if ((t = imds_tmpcred_find(s, akid)) == NULL)
		return;
	*account = t->account;
	if (t->arole >= 0) {
		const struct sim_arole *a = &s->st.aroles[t->arole];
		snprintf(arn, arnsz, "arn:aws:sts::%s:assumed-role/%s/%s", a->account,
			 a->name, t->session);
		*deny = a->deny;
		*ndeny = a->ndeny;
		return;
	}
	snprintf(arn, arnsz, "arn:aws:sts::%s:assumed-role/%s/%s", t->account, t->role,
		 t->session);
	const struct sim_role *r = sim_role_find(&s->st, t->role);
	if (r) {
		*deny = r->deny;
		*ndeny = r->ndeny;
	}
}

unsigned sts_expire_all(struct sim *s)
{
	unsigned n = 0;
	int64_t now = sim_wall_s(s);

	for (size_t i = 0; i < s->ntmp; i++)
		if (s->tmp[i].arole >= 0 && s->tmp[i].expires > now) {
			s->tmp[i].expires = now;
			n++;
		}
	return n;
}

/* Does the trust entry p admit the caller? An account id (or its :root
 * ARN) admits every key of that account, an access key id that key, a role
 * ARN the temporary credentials of that role (instance role or assumed). */
static int trusts(struct sim *s, const char *p, const struct sim_cred *cred,
		  const char *akid, const char *account)
{
	const struct sim_tmpcred *t;
	char root[64], role[SIM_ARN_MAX];

	snprintf(root, sizeof(root), "arn:aws:iam::%s:root", account);
	if (strcmp(p, account) == 0 || strcmp(p, root) == 0)
		return 1;
	if (cred)
		return strcmp(p, cred->akid) == 0;
	if ((t = imds_tmpcred_find(s, akid)) == NULL)
		return 0;
	if (t->arole >= 0)
		return strcmp(p, s->st.aroles[t->arole].arn) == 0;
	snprintf(role, sizeof(role), "arn:aws:iam::%s:role/%s", t->account, t->role);
	return strcmp(p, role) == 0;
}

/* Only [\w+=,.@-] (and, for the external id, ':' and '/'). */
static int pattern_ok(const char *v, const char *extra)
{
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && !strchr("+=,.@-", *p) &&
		    !(extra && strchr(extra, *p)))
			return 0;
	return 1;
}

/* Printable ASCII for an error message: what the client sent, capped. */
static void clean(char *out, size_t outsz, const char *in)
{
	size_t n = 0;

	for (; *in && n < outsz - 1; in++)
		out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[n] = '\0';
}

static int validation(struct sts_call *c, const char *value, const char *member,
		      const char *constraint)
{
	char v[128];

	if (value == NULL)
		return seterr(c, 400, "ValidationError",
			      "1 validation error detected: Value null at '%s' failed to "
			      "satisfy constraint: Member must not be null",
			      member);
	clean(v, sizeof(v), value);
	return seterr(c, 400, "ValidationError",
		      "1 validation error detected: Value '%s' at '%s' failed to satisfy "
		      "constraint: Member must %s",
		      v, member, constraint);
}

/* The request's parameters, checked as STS checks them (before any
 * authorisation). */
static int assume_params(struct sts_call *c, unsigned *duration)
{
	const char *arn = param(c, "RoleArn"), *name = param(c, "RoleSessionName");
	const char *dur = param(c, "DurationSeconds"), *ext = param(c, "ExternalId");
	char *end;
	long v;

	if (arn == NULL)
		return validation(c, NULL, "roleArn", NULL);
	if (name == NULL)
		return validation(c, NULL, "roleSessionName", NULL);
	if (strlen(arn) < 20)
		return validation(c, arn, "roleArn",
				  "have length greater than or equal to 20");
	if (strlen(arn) > 2048)
		return validation(c, arn, "roleArn",
				  "have length less than or equal to 2048");
	if (strlen(name) < 2)
		return validation(c, name, "roleSessionName",
				  "have length greater than or equal to 2");
	if (strlen(name) > 64)
		return validation(c, name, "roleSessionName",
				  "have length less than or equal to 64");
	if (!pattern_ok(name, NULL))
		return validation(c, name, "roleSessionName",
				  "satisfy regular expression pattern: [\\w+=,.@-]*");
	if (ext && (strlen(ext) < 2 || strlen(ext) > 1224 || !pattern_ok(ext, ":/")))
		return validation(c, ext, "externalId",
				  "satisfy regular expression pattern: [\\w+=,.@:\\/-]* "
				  "and have length 2..1224");
	*duration = DURATION_DEF;
	if (dur) {
		errno = 0;
		v = strtol(dur, &end, 10);
		if (errno || end == dur || *end || !isdigit((unsigned char)dur[0]))
			return seterr(
			    c, 400, "ValidationError",
			    "Value (%.20s) for parameter DurationSeconds is invalid. "
			    "It must be an integer.",
			    dur);
		if (v < DURATION_MIN)
			return validation(c, dur, "durationSeconds",
					  "have value greater than or equal to 900");
		if (v > DURATION_MAX)
			return validation(c, dur, "durationSeconds",
					  "have value less than or equal to 43200");
		*duration = (unsigned)v;
	}
	if (strncmp(arn, "arn:aws:iam::", 13) != 0 || strstr(arn, ":role/") == NULL) {
		char a[128];
		clean(a, sizeof(a), arn);
		return seterr(c, 400, "ValidationError", "%s is invalid", a);
	}
	return 0;
}

static int assume_role(struct sts_call *c, const struct sim_cred *cred)
{
	struct sim *s = c->s;
	const char *arn = param(c, "RoleArn"), *ext = param(c, "ExternalId");
	const char *session = param(c, "RoleSessionName");
	const char *account;
	char caller[SIM_ARN_MAX], roleid[24], exp[32];
	char *const *deny;
	size_t ndeny;
	unsigned duration = DURATION_DEF;
	struct sim_arole *a;
	struct sim_tmpcred *t;
	int trusted = 0;

	if (assume_params(c, &duration) == -1)
		return -1;
	sts_caller(s, cred, c->akid, &account, caller, sizeof(caller), &deny, &ndeny);
	a = sim_arole_find(&s->st, arn);
	for (size_t i = 0; a && i < a->ntrust; i++)
		trusted |= trusts(s, a->trust[i], cred, c->akid, account);
	if (sim_deny_has(deny, ndeny, "AssumeRole") ||
	    sim_deny_has(deny, ndeny, "sts:AssumeRole"))
		snprintf(c->why, sizeof(c->why),
			 "the caller's policy denies sts:AssumeRole");
	else if (a == NULL)
		snprintf(c->why, sizeof(c->why), "no such role");
	else if (!trusted)
		snprintf(c->why, sizeof(c->why),
			 "the role's trust policy does not name %s", caller);
	else if (a->external_id[0] && (ext == NULL || strcmp(ext, a->external_id) != 0))
		snprintf(c->why, sizeof(c->why), "external id %s",
			 ext ? "does not match" : "missing");
	if (c->why[0]) {
		char r[128];
		clean(r, sizeof(r), arn);
		/* STS says the same whatever failed: no oracle for role names
		 * or external ids. */
		return seterr(c, 403, "AccessDenied",
			      "User: %s is not authorized to perform: sts:AssumeRole on "
			      "resource: %s",
			      caller, r);
	}
	if (duration > a->max_duration)
		return seterr(
		    c, 400, "ValidationError",
		    "The requested DurationSeconds exceeds the MaxSessionDuration "
		    "set for this role.");

	if (s->ntmp == SIM_TMPCREDS_MAX) {
		memmove(&s->tmp[0], &s->tmp[1],
			sizeof(s->tmp[0]) * (SIM_TMPCREDS_MAX - 1));
		s->ntmp--;
	}
	t = &s->tmp[s->ntmp++];
	memset(t, 0, sizeof(*t));
	t->arole = (int)(a - s->st.aroles);
	strlcpy_chk(t->role, a->name, sizeof(t->role));
	strlcpy_chk(t->account, a->account, sizeof(t->account));
	strlcpy_chk(t->session, session, sizeof(t->session));
	memcpy(t->akid, "ASIA", 4);
	sim_random_text(t->akid + 4, 16, KEYCHARS);
	sim_random_text(t->secret, 40, B64CHARS);
	sim_random_text(t->token, 356, B64CHARS);
	t->expires = sim_wall_s(s) + (s->sts_ttl ? s->sts_ttl : duration);
	sim_iso_time(t->expires, exp, sizeof(exp));
	/* The role id is stable per role: AROA and the role's index. */
	snprintf(roleid, sizeof(roleid), "AROASIMULATED%07d", t->arole + 1);
	sim_secret(s, t->secret);
	sim_secret(s, t->token);
	sim_log(s, "sts issued %s to %s (%s session %s) until %s", t->akid, c->akid,
		a->arn, t->session, exp);
	c->status = 200;
	if (sim_bprintf(&c->body,
			XML_DECL "<AssumeRoleResponse xmlns=\"" STS_XMLNS "\">\n"
				 "  <AssumeRoleResult>\n"
				 "    <AssumedRoleUser>\n"
				 "      <AssumedRoleId>%s:%s</AssumedRoleId>\n"
				 "      <Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>\n"
				 "    </AssumedRoleUser>\n"
				 "    <Credentials>\n"
				 "      <AccessKeyId>%s</AccessKeyId>\n"
				 "      <SecretAccessKey>%s</SecretAccessKey>\n"
				 "      <SessionToken>%s</SessionToken>\n"
				 "      <Expiration>%s</Expiration>\n"
				 "    </Credentials>\n"
				 "  </AssumeRoleResult>\n"
				 "  <ResponseMetadata>\n"
				 "    <RequestId>%s</RequestId>\n"
				 "  </ResponseMetadata>\n"
				 "</AssumeRoleResponse>\n",
			roleid, t->session, a->account, a->name, t->session, t->akid,
			t->secret, t->token, exp, c->reqid) == -1)
		return seterr(c, 500, "InternalFailure", "answer too long");
	return 0;
}

static int caller_identity(struct sts_call *c, const struct sim_cred *cred)
{
	const char *account;
	char arn[SIM_ARN_MAX];
	char *const *deny;
	size_t ndeny;

	sts_caller(c->s, cred, c->akid, &account, arn, sizeof(arn), &deny, &ndeny);
	c->status = 200;
	if (sim_bprintf(&c->body,
			XML_DECL "<GetCallerIdentityResponse xmlns=\"" STS_XMLNS "\">\n"
				 "  <GetCallerIdentityResult>\n"
				 "    <Arn>%s</Arn>\n"
				 "    <UserId>%s</UserId>\n"
				 "    <Account>%s</Account>\n"
				 "  </GetCallerIdentityResult>\n"
				 "  <ResponseMetadata>\n"
				 "    <RequestId>%s</RequestId>\n"
				 "  </ResponseMetadata>\n"
				 "</GetCallerIdentityResponse>\n",
			arn, c->akid, account, c->reqid) == -1)
		return seterr(c, 500, "InternalFailure", "answer too long");
	return 0;
}

/* Signature, then action and version, then the action. Caller holds mu. */
static void execute(struct sts_call *c)
{
	const struct sim_cred *cred = NULL;
	const char *version = param(c, "Version");

	switch (sigv4_verify(c->s, c->r, "sts", &cred, c->akid, sizeof(c->akid), c->why,
			     sizeof(c->why))) {
	case SIGV4_OK:
		c->why[0] = '\0';
		break;
	case SIGV4_AUTH:
		if (MHD_lookup_connection_value(c->r->conn, MHD_HEADER_KIND,
						MHD_HTTP_HEADER_AUTHORIZATION) == NULL) {
			seterr(c, 403, "MissingAuthenticationToken",
			       "Request is missing Authentication Token");
			return;
		}
		seterr(
		    c, 403, "SignatureDoesNotMatch",
		    "The request signature we calculated does not match the signature "
		    "you provided. Check your AWS Secret Access Key and signing method. "
		    "Consult the service documentation for details.");
		return;
	case SIGV4_EXPIRED:
		seterr(c, 403, "SignatureDoesNotMatch",
		       "Signature expired: the request's X-Amz-Date is more than 5 "
		       "minutes from the server's time.");
		return;
	case SIGV4_UNKNOWN_KEY:
		seterr(c, 403, "InvalidClientTokenId",
		       "The security token included in the request is invalid.");
		return;
	case SIGV4_TOKEN_EXPIRED:
		seterr(c, 400, "ExpiredToken",
		       "The security token included in the request is expired");
		return;
	}
	if (c->action == NULL) {
		seterr(c, 400, "MissingAction", "Missing Action");
		return;
	}
	if (version == NULL || strcmp(version, "2011-06-15") != 0) {
		seterr(c, 400, "InvalidAction",
		       "Could not find operation %s for version %.20s", c->action,
		       version ? version : "NO_VERSION_SPECIFIED");
		return;
	}
	if (strcmp(c->action, "AssumeRole") == 0)
		assume_role(c, cred);
	else if (strcmp(c->action, "GetCallerIdentity") == 0)
		caller_identity(c, cred);
	else
		seterr(c, 400, "InvalidAction",
		       "Could not find operation %s for version %s", c->action, version);
}

enum MHD_Result sts_handle(struct sim *s, struct sim_req *r,
			   const char *(*getp)(const void *ctx, const char *key),
			   const void *ctx)
{
	struct sts_call *c = xcalloc(1, sizeof(*c));
	const char *a;
	char action[64];
	enum MHD_Result ret;

	c->s = s;
	c->r = r;
	c->param = getp;
	c->ctx = ctx;
	c->status = 500;
	buf_init(&c->body, SIM_RESP_MAX);
	sim_uuid(c->reqid);
	if ((a = param(c, "Action")) != NULL) {
		clean(action, sizeof(action), a);
		c->action = action;
	}
	pthread_mutex_lock(&s->mu);
	execute(c);
	sim_count(s, c->action ? c->action : "-", c->status == 200 ? NULL : c->code);
	pthread_mutex_unlock(&s->mu);
	if (c->status == 200) {
		ret = sim_respond(r->conn, 200, STS_CTYPE, c->body.data, c->body.len,
				  NULL, NULL);
		goto out;
	}
	sim_log(s, "rejected %s by %s: %s (%u)%s%s", c->action ? c->action : "-",
		c->akid[0] ? c->akid : "-", c->code, c->status, c->why[0] ? ": " : "",
		c->why);
	buf_reset(&c->body);
	if (sim_bprintf(&c->body,
			XML_DECL "<ErrorResponse xmlns=\"" STS_XMLNS "\">\n"
				 "  <Error>\n"
				 "    <Type>Sender</Type>\n"
				 "    <Code>%s</Code>\n"
				 "    <Message>",
			c->code) == -1 ||
	    sim_xml_escape(&c->body, c->msg) == -1 ||
	    sim_bprintf(&c->body,
			"</Message>\n"
			"  </Error>\n"
			"  <RequestId>%s</RequestId>\n"
			"</ErrorResponse>\n",
			c->reqid) == -1) {
		ret = MHD_NO;
		goto out;
	}
	ret = sim_respond(r->conn, c->status, STS_CTYPE, c->body.data, c->body.len, NULL,
			  NULL);
out:
	explicit_bzero(c->body.data, c->body.cap);
	buf_free(&c->body);
	free(c);
	return ret;
}
