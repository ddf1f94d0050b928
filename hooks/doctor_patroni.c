/* doctor_patroni.c — vpc-failover doctor for groups with source = patroni:
 * does every etcd endpoint answer, is there a leader key where the group
 * looks for it (patroni_namespace/patroni_scope/leader), and does Patroni
 * know this node's member_name (.../members/NAME)? With etcd_user, does
 * each endpoint take the credentials (etcd's answer when it does not); with
 * etcd_cert_file, the client certificate goes with every request. The same
 * requests (daemon/patroni.h pat_request, pat_auth_body) as the
 * daemon makes, on the doctor's loop and HTTP client
 * (doctor_aws.c started them), one request at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/patroni.h"
#include "hooks/doctor_check.h"
#include "lib/b64.h"
#include "lib/ev.h"
#include "lib/http.h"

#define DOC_ETCD_MS 3000

struct probe {
	const struct cfg_group *g;
	int done;
	int auth; /* the answer of /v3/auth/authenticate */
	char token[PAT_TOKEN_MAX];
	long status;
	char err[500];
	int found; /* the key exists */
	char value[256];
	long long revision;
};

static void on_range(struct http_req *r, void *arg)
{
	struct probe *p = arg;
	size_t len;
	const char *body = http_req_body_text(r, &len);
	json_t *o = NULL, *kvs;

	p->done = 1;
	p->status = http_req_status(r);
	if (http_req_error(r)[0]) {
		snprintf(p->err, sizeof(p->err), "%s", http_req_error(r));
	} else if (p->status != 200) {
		char said[240];
		pat_etcd_error(body, len, said, sizeof(said));
		snprintf(p->err, sizeof(p->err), "HTTP %ld: %s%s", p->status, said,
			 pat_error_hint(p->g, said));
	} else if (p->auth) {
		if (pat_parse_auth(body, len, p->token, sizeof(p->token)) == -1)
			snprintf(p->err, sizeof(p->err), "the answer has no token");
	} else if ((o = json_loadb(body, len, 0, NULL)) == NULL ||
		   !json_is_object(json_object_get(o, "header"))) {
		snprintf(p->err, sizeof(p->err), "the answer is not etcd's v3 JSON");
	} else {
		json_t *rev = json_object_get(json_object_get(o, "header"), "revision");
		p->revision =
		    json_is_string(rev) ? strtoll(json_string_value(rev), NULL, 10) : 0;
		kvs = json_object_get(o, "kvs");
		if (json_array_size(kvs) > 0) {
			const char *v = json_string_value(
			    json_object_get(json_array_get(kvs, 0), "value"));
			p->found = 1;
			if (!v || b64_decode(v, p->value, sizeof(p->value)) == -1)
				snprintf(p->value, sizeof(p->value), "?");
		}
	}
	json_decref(o);
	http_req_free(r);
	ev_stop();
}

/* One POST to endpoint, answered into *p; -1 (with p->err) on failure. */
static int post(const struct cfg_group *g, const struct pat_creds *c,
		const char *endpoint, const char *path, const char *body,
		const char *token, struct probe *p)
{
	struct http_req *r = pat_request(g, c, endpoint, path, body, token);

	http_req_timeout(r, DOC_ETCD_MS);
	http_req_limit(r, 64 * 1024);
	if (http_req_start(r, on_range, p) == -1) {
		http_req_free(r);
		snprintf(p->err, sizeof(p->err), "cannot start the request");
		return -1;
	}
	ev_run(); /* on_range stops it; the request's timeout bounds it */
	return p->err[0] ? -1 : 0;
}

/* A token from endpoint into token (etcd_user set): 0, or -1 with p->err
 * (p->status: etcd answered, and refused). */
static int authenticate(const struct cfg_group *g, const struct pat_creds *c,
			const char *endpoint, char *token, size_t tokensz,
			struct probe *p)
{
	char *body = pat_auth_body(g, c);
	int rc;

	memset(p, 0, sizeof(*p));
	p->g = g;
	p->auth = 1;
	rc = post(g, c, endpoint, "/v3/auth/authenticate", body, "", p);
	explicit_bzero(body, strlen(body));
	free(body);
	snprintf(token, tokensz, "%s", rc == 0 ? p->token : "");
	explicit_bzero(p->token, sizeof(p->token));
	return rc;
}

/* Read key from endpoint into *p; -1 (with p->err) when etcd did not
 * answer. */
static int range(const struct cfg_group *g, const struct pat_creds *c,
		 const char *endpoint, const char *token, const char *key,
		 struct probe *p)
{
	char b64[512], *body;
	int rc;

	memset(p, 0, sizeof(*p));
	p->g = g;
	if (b64_encode(key, strlen(key), b64, sizeof(b64)) == -1) {
		snprintf(p->err, sizeof(p->err), "key too long");
		return -1;
	}
	body = xasprintf("{\"key\":\"%s\"}", b64);
	rc = post(g, c, endpoint, "/v3/kv/range", body, token, p);
	free(body);
	return rc;
}

static void check_group(struct doc *d, const struct cfg_group *g)
{
	char key[512], mkey[512];
	const char *ns =
	    strcmp(g->patroni_namespace, "/") == 0 ? "" : g->patroni_namespace;
	struct probe p, first;
	struct pat_creds c;
	char token[PAT_TOKEN_MAX] = "", mtoken[PAT_TOKEN_MAX] = "";
	int answered = 0;
	size_t mi = 0;

	snprintf(key, sizeof(key), "%s/%s/leader", ns, g->patroni_scope);
	snprintf(mkey, sizeof(mkey), "%s/%s/members/%s", ns, g->patroni_scope,
		 g->member_name);
	memset(&first, 0, sizeof(first));
	if (pat_creds_load(g, &c) == -1) {
		doc_say(d, V_FAIL,
			"[%s] %s: the group cannot reach etcd ([group %s] of %s)",
			g->name, c.error, g->name, d->cfg_path);
		return;
	}
	if (g->etcd_cert_file[0])
		doc_say(d, V_INFO, "[%s] etcd client certificate %s", g->name,
			g->etcd_cert_file);
	for (size_t i = 0; i < g->netcd_endpoints; i++) {
		if (g->etcd_user[0] && authenticate(g, &c, g->etcd_endpoints[i], token,
						    sizeof(token), &p) == -1) {
			if (p.status)
				doc_say(d, V_FAIL,
					"[%s] etcd %s refuses authentication as '%s': %s "
					"(etcd_user, etcd_password_file)",
					g->name, g->etcd_endpoints[i], g->etcd_user,
					p.err);
			else
				doc_say(
				    d, V_WARN,
				    "[%s] etcd %s does not answer: %s (the daemon uses "
				    "the other endpoints; check etcd there, TCP 2379 "
				    "in the security groups, etcd_ca_file for https)",
				    g->name, g->etcd_endpoints[i], p.err);
			continue;
		}
		if (range(g, &c, g->etcd_endpoints[i], token, key, &p) == -1) {
			doc_say(d, V_WARN,
				"[%s] etcd %s does not answer: %s (the daemon uses the "
				"other endpoints; check etcd there, TCP 2379 in the "
				"security groups, etcd_ca_file for https)",
				g->name, g->etcd_endpoints[i], p.err);
			continue;
		}
		if (answered++ == 0) {
			first = p;
			memcpy(mtoken, token, sizeof(mtoken));
			mi = i;
		}
		doc_say(d, V_OK, "[%s] etcd %s answers%s%s%s (revision %lld)", g->name,
			g->etcd_endpoints[i], g->etcd_user[0] ? " as '" : "",
			g->etcd_user, g->etcd_user[0] ? "'" : "", p.revision);
	}
	explicit_bzero(token, sizeof(token));
	if (answered == 0) {
		doc_say(d, V_FAIL,
			"[%s] no etcd endpoint answers: the group cannot follow Patroni "
			"(etcd_endpoints in [group %s] of %s)",
			g->name, g->name, d->cfg_path);
		goto out;
	}
	if (!first.found)
		doc_say(d, V_WARN,
			"[%s] no leader key %s in etcd: Patroni has no leader now, or "
			"its scope/namespace differ from patroni_scope/patroni_namespace "
			"(etcdctl get --prefix --keys-only %s/ lists what is there)",
			g->name, key, ns[0] ? ns : "/");
	else
		doc_say(d, V_OK,
			"[%s] Patroni leader (%s) is '%s'; this node is '%s': %s",
			g->name, key, first.value, g->member_name,
			strcmp(first.value, g->member_name) == 0 ? "MASTER" : "BACKUP");
	/* the member key, from the endpoint that answered first */
	if (range(g, &c, g->etcd_endpoints[mi], mtoken, mkey, &p) == 0) {
		if (p.found)
			doc_say(d, V_OK, "[%s] Patroni knows member '%s' (%s)", g->name,
				g->member_name, mkey);
		else
			doc_say(
			    d, V_WARN,
			    "[%s] Patroni has no member '%s' (%s): set member_name to "
			    "this node's Patroni name, or start Patroni here",
			    g->name, g->member_name, mkey);
	}
out:
	explicit_bzero(mtoken, sizeof(mtoken));
	pat_creds_free(&c);
}

void doc_check_patroni(struct doc *d)
{
	for (size_t i = 0; i < d->cfg->ngroups; i++) {
		const struct cfg_group *g = &d->cfg->groups[i];
		if (g->source != CFG_SRC_PATRONI)
			continue;
		if (!d->cloud) {
			doc_say(d, V_FAIL,
				"[%s] cannot check etcd: no HTTP client (above)",
				g->name);
			continue;
		}
		check_group(d, g);
	}
}
