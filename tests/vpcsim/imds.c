/* imds.c — instance metadata, IMDSv2 only: a PUT for a session token, then
 * GETs that carry it. The answering instance is the one whose address is the
 * client's source address (so each namespace of a test sees its own), else
 * the state file's imds_default_instance. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tests/vpcsim/sim.h"

#define IMDS_TTL_MAX 21600
#define MD	     "/latest/meta-data/"
#define B64CHARS     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define TOKCHARS     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

static enum MHD_Result text(struct sim_req *r, unsigned status, const char *body)
{
	return sim_respond(r->conn, status, "text/plain", body, strlen(body), NULL, NULL);
}

static const struct sim_instance *which_instance(struct sim *s, struct sim_req *r)
{
	const struct sim_instance *in = NULL;
	char addr[INET6_ADDRSTRLEN];

	sim_client_addr(r->conn, addr, sizeof(addr));
	if (addr[0])
		in = sim_inst_by_addr(&s->st, addr);
	if (in == NULL && s->st.default_inst >= 0)
		in = &s->st.insts[s->st.default_inst];
	return in;
}

/* Record an issued secret for --secrets-log; caller holds mu. */
void sim_secret(struct sim *s, const char *secret)
{
	if (s->secrets == NULL)
		return;
	fprintf(s->secrets, "%s\n", secret);
	fflush(s->secrets);
}

static enum MHD_Result put_token(struct sim *s, struct sim_req *r)
{
	const char *h = MHD_lookup_connection_value(
	    r->conn, MHD_HEADER_KIND, "X-aws-ec2-metadata-token-ttl-seconds");
	struct sim_token *t;
	char ttl[16], tok[sizeof(t->tok)], *end;
	unsigned long v;

	/* IMDS refuses token requests that went through a proxy. */
	if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-For"))
		return text(r, MHD_HTTP_FORBIDDEN, "Forbidden\n");
	if (h == NULL || *h == '\0')
		return text(r, MHD_HTTP_BAD_REQUEST, "Bad Request\n");
	errno = 0;
	v = strtoul(h, &end, 10);
	if (errno || *end || v < 1 || v > IMDS_TTL_MAX || h[0] == '-' || h[0] == '+')
		return text(r, MHD_HTTP_BAD_REQUEST, "Bad Request\n");
	pthread_mutex_lock(&s->mu);
	if (s->ntokens == SIM_TOKENS_MAX) {
		memmove(&s->tokens[0], &s->tokens[1],
			sizeof(s->tokens[0]) * (SIM_TOKENS_MAX - 1));
		s->ntokens--;
	}
	t = &s->tokens[s->ntokens++];
	sim_random_text(t->tok, 56, TOKCHARS);
	t->expires_ms = sim_mono_ms(s) + (uint64_t)v * 1000;
	strlcpy_chk(tok, t->tok, sizeof(tok));
	sim_secret(s, t->tok);
	sim_bump(s->imds_stats, "token");
	pthread_mutex_unlock(&s->mu);
	snprintf(ttl, sizeof(ttl), "%lu", v);
	return sim_respond(r->conn, 200, "text/plain", tok, strlen(tok),
			   "X-aws-ec2-metadata-token-ttl-seconds", ttl);
}

/* 1 if the request carries a live token; caller holds mu. */
static int token_ok(struct sim *s, struct sim_req *r)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    "X-aws-ec2-metadata-token");
	uint64_t now = sim_mono_ms(s);

	if (h == NULL)
		return 0;
	for (size_t i = 0; i < s->ntokens; i++)
		if (strcmp(s->tokens[i].tok, h) == 0)
			return now < s->tokens[i].expires_ms;
	return 0;
}

const struct sim_tmpcred *imds_tmpcred_find(struct sim *s, const char *akid)
{
	for (size_t i = 0; i < s->ntmp; i++)
		if (strcmp(s->tmp[i].akid, akid) == 0)
			return &s->tmp[i];
	return NULL;
}

/* Fresh temporary keys for the instance's role, as JSON; caller holds mu. */
static char *issue_creds(struct sim *s, const struct sim_instance *in)
{
	struct sim_tmpcred *t;
	char now[32], exp[32], *out;
	json_t *o;

	if (s->ntmp == SIM_TMPCREDS_MAX) {
		memmove(&s->tmp[0], &s->tmp[1],
			sizeof(s->tmp[0]) * (SIM_TMPCREDS_MAX - 1));
		s->ntmp--;
	}
	t = &s->tmp[s->ntmp++];
	memset(t, 0, sizeof(*t));
	strlcpy_chk(t->role, in->role, sizeof(t->role));
	strlcpy_chk(t->account, in->account, sizeof(t->account));
	strlcpy_chk(t->session, in->id, sizeof(t->session));
	t->arole = -1;
	memcpy(t->akid, "ASIA", 4);
	sim_random_text(t->akid + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	sim_random_text(t->secret, 40, B64CHARS);
	sim_random_text(t->token, 152, B64CHARS);
	t->expires = sim_wall_s(s) + s->cred_ttl;
	sim_iso_time(sim_wall_s(s), now, sizeof(now));
	sim_iso_time(t->expires, exp, sizeof(exp));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Code", "Success",
		      "LastUpdated", now, "Type", "AWS-HMAC", "AccessKeyId", t->akid,
		      "SecretAccessKey", t->secret, "Token", t->token, "Expiration", exp);
	if (o == NULL)
		return NULL;
	out = json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(2));
	json_decref(o);
	sim_secret(s, t->secret);
	sim_secret(s, t->token);
	sim_bump(s->imds_stats, "credentials");
	sim_log(s, "imds issued %s to %s (role %s) until %s", t->akid, in->id, in->role,
		exp);
	return out;
}

/* The metadata tree below /latest/meta-data/; NULL = not found. Caller
 * holds mu; the answer is allocated. */
static char *metadata(struct sim *s, const struct sim_instance *in, const char *p)
{
	char macdir[64];
	size_t ml;

	if (*p == '\0')
		return xstrdup(
		    "iam/\ninstance-id\nlocal-ipv4\nmac\nnetwork/\nplacement/");
	if (strcmp(p, "instance-id") == 0)
		return xstrdup(in->id);
	if (strcmp(p, "mac") == 0)
		return xstrdup(in->mac);
	if (strcmp(p, "local-ipv4") == 0)
		return xstrdup(in->address);
	if (strcmp(p, "placement/") == 0)
		return xstrdup("availability-zone\nregion");
	if (strcmp(p, "placement/region") == 0)
		return xstrdup(s->st.region);
	if (strcmp(p, "placement/availability-zone") == 0)
		return xstrdup(in->az);
	if (strcmp(p, "network/") == 0)
		return xstrdup("interfaces/");
	if (strcmp(p, "network/interfaces/") == 0)
		return xstrdup("macs/");
	if (strcmp(p, "network/interfaces/macs/") == 0)
		return xasprintf("%s/", in->mac);
	ml = (size_t)snprintf(macdir, sizeof(macdir), "network/interfaces/macs/%s/",
			      in->mac);
	if (strncmp(p, macdir, ml) == 0) {
		p += ml;
		if (*p == '\0')
			return xstrdup("interface-id\nlocal-ipv4s\nmac");
		if (strcmp(p, "interface-id") == 0)
			return xstrdup(in->eni);
		if (strcmp(p, "local-ipv4s") == 0)
			return xstrdup(in->address);
		if (strcmp(p, "mac") == 0)
			return xstrdup(in->mac);
		return NULL;
	}
	if (strcmp(p, "iam/") == 0)
		return in->role[0] ? xstrdup("info\nsecurity-credentials/") : NULL;
	if (strncmp(p, "iam/security-credentials/", 25) == 0 && in->role[0]) {
		p += 25;
		if (*p == '\0')
			return xstrdup(in->role);
		if (strcmp(p, in->role) == 0)
			return issue_creds(s, in);
	}
	return NULL;
}

static char *identity_document(struct sim *s, const struct sim_instance *in)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "accountId", s->st.owner,
			      "availabilityZone", in->az, "instanceId", in->id,
			      "privateIp", in->address, "region", s->st.region);
	char *out = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(2)) : NULL;

	json_decref(o);
	return out;
}

static enum MHD_Result serve(struct sim *s, struct sim_req *r)
{
	const struct sim_instance *in;
	char *body = NULL;
	enum MHD_Result ret;
	int down;

	pthread_mutex_lock(&s->mu);
	down = s->imds_down;
	pthread_mutex_unlock(&s->mu);
	if (down)
		return text(r, MHD_HTTP_SERVICE_UNAVAILABLE, "Service Unavailable\n");
	if (strcmp(r->url, "/latest/api/token") == 0) {
		if (strcmp(r->method, "PUT") != 0)
			return text(r, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "Method Not Allowed\n");
		return put_token(s, r);
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return text(r, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n");
	pthread_mutex_lock(&s->mu);
	if (!token_ok(s, r)) {
		sim_bump(s->imds_stats, "unauthorized");
		pthread_mutex_unlock(&s->mu);
		return text(r, MHD_HTTP_UNAUTHORIZED, "Unauthorized\n");
	}
	in = which_instance(s, r);
	if (in && strncmp(r->url, MD, strlen(MD)) == 0)
		body = metadata(s, in, r->url + strlen(MD));
	else if (in && strcmp(r->url, "/latest/meta-data") == 0)
		body = metadata(s, in, "");
	else if (in && strcmp(r->url, "/latest/dynamic/instance-identity/document") == 0)
		body = identity_document(s, in);
	if (body)
		sim_bump(s->imds_stats, "get");
	pthread_mutex_unlock(&s->mu);
	if (body == NULL)
		return text(r, MHD_HTTP_NOT_FOUND, "Not Found\n");
	ret = text(r, 200, body);
	free(body);
	return ret;
}

enum MHD_Result imds_handle(struct sim *s, struct sim_req *r)
{
	enum MHD_Result ret = serve(s, r);
	int expired = 0;

	pthread_mutex_lock(&s->mu);
	if (s->expire_after > 0 && --s->expire_after == 0) {
		s->ntokens = 0;
		expired = 1;
	}
	pthread_mutex_unlock(&s->mu);
	if (expired)
		sim_log(s, "imds tokens expired (after_requests reached)");
	return ret;
}
