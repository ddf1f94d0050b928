/* doctor_patroni.c — vpc-failover doctor for groups with source = patroni:
 * does every etcd endpoint answer, is there a leader key where the group
 * looks for it (patroni_namespace/patroni_scope/leader), and does Patroni
 * know this node's member_name (.../members/NAME)? The same range read the
 * daemon makes (daemon/patroni.c), on the doctor's loop and HTTP client
 * (doctor_aws.c started them), one request at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/doctor_check.h"
#include "lib/b64.h"
#include "lib/ev.h"
#include "lib/http.h"

#define DOC_ETCD_MS 3000

struct probe {
	int done;
	long status;
	char err[300];
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
		snprintf(p->err, sizeof(p->err), "HTTP %ld %.160s", p->status, body);
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

/* Read key from endpoint into *p; -1 (with p->err) when etcd did not
 * answer. */
static int range(const struct cfg_group *g, const char *endpoint, const char *key,
		 struct probe *p)
{
	char url[URL_MAX + 32], b64[512], *body;
	struct http_req *r;

	memset(p, 0, sizeof(*p));
	if (b64_encode(key, strlen(key), b64, sizeof(b64)) == -1) {
		snprintf(p->err, sizeof(p->err), "key too long");
		return -1;
	}
	snprintf(url, sizeof(url), "%s/v3/kv/range", endpoint);
	body = xasprintf("{\"key\":\"%s\"}", b64);
	r = http_req_new("POST", url);
	http_req_header(r, "Content-Type: application/json");
	http_req_body(r, body, strlen(body));
	free(body);
	http_req_timeout(r, DOC_ETCD_MS);
	http_req_limit(r, 64 * 1024);
	if (g->etcd_ca_file[0])
		http_req_ca(r, g->etcd_ca_file);
	if (http_req_start(r, on_range, p) == -1) {
		http_req_free(r);
		snprintf(p->err, sizeof(p->err), "cannot start the request");
		return -1;
	}
	ev_run(); /* on_range stops it; the request's timeout bounds it */
	return p->err[0] ? -1 : 0;
}

static void check_group(struct doc *d, const struct cfg_group *g)
{
	char key[512], mkey[512];
	const char *ns =
	    strcmp(g->patroni_namespace, "/") == 0 ? "" : g->patroni_namespace;
	struct probe p, first;
	int answered = 0;

	snprintf(key, sizeof(key), "%s/%s/leader", ns, g->patroni_scope);
	snprintf(mkey, sizeof(mkey), "%s/%s/members/%s", ns, g->patroni_scope,
		 g->member_name);
	memset(&first, 0, sizeof(first));
	for (size_t i = 0; i < g->netcd_endpoints; i++) {
		if (range(g, g->etcd_endpoints[i], key, &p) == -1) {
			doc_say(d, V_WARN,
				"[%s] etcd %s does not answer: %s (the daemon uses the "
				"other endpoints; check etcd there, TCP 2379 in the "
				"security groups, etcd_ca_file for https)",
				g->name, g->etcd_endpoints[i], p.err);
			continue;
		}
		if (answered++ == 0)
			first = p;
		doc_say(d, V_OK, "[%s] etcd %s answers (revision %lld)", g->name,
			g->etcd_endpoints[i], p.revision);
	}
	if (answered == 0) {
		doc_say(d, V_FAIL,
			"[%s] no etcd endpoint answers: the group cannot follow Patroni "
			"(etcd_endpoints in [group %s] of %s)",
			g->name, g->name, d->cfg_path);
		return;
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
	for (size_t i = 0; i < g->netcd_endpoints; i++) {
		if (range(g, g->etcd_endpoints[i], mkey, &p) == -1)
			continue;
		if (p.found)
			doc_say(d, V_OK, "[%s] Patroni knows member '%s' (%s)", g->name,
				g->member_name, mkey);
		else
			doc_say(
			    d, V_WARN,
			    "[%s] Patroni has no member '%s' (%s): set member_name to "
			    "this node's Patroni name, or start Patroni here",
			    g->name, g->member_name, mkey);
		return;
	}
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
