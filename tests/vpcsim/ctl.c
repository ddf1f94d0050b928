/* ctl.c — the control API under /_sim/: unsigned JSON for tests to look at
 * and poke the simulated VPC (routes, counters, faults, IMDS). */
#include <stdlib.h>
#include <string.h>

#include "tests/vpcsim/sim.h"

static enum MHD_Result reply(struct sim_req *r, unsigned status, json_t *o)
{
	char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	enum MHD_Result ret;

	json_decref(o);
	if (txt == NULL)
		return MHD_NO;
	ret = sim_respond(r->conn, status, "application/json", txt, strlen(txt), NULL,
			  NULL);
	free(txt);
	return ret;
}

static enum MHD_Result reply_err(struct sim_req *r, unsigned status, const char *msg)
{
	return reply(r, status, json_pack("{s:s}", "error", msg));
}

/* The request body as a JSON object (an empty body is {}). */
static json_t *body_json(struct sim_req *r, char *err, size_t errsz)
{
	json_error_t je;
	json_t *o;

	if (r->body.len == 0)
		return json_object();
	o = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		snprintf(err, errsz, "bad JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(err, errsz, "body must be a JSON object");
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *routes_json(struct sim *s)
{
	json_t *all = json_object();

	for (size_t i = 0; i < s->st.ntables; i++) {
		const struct sim_table *t = &s->st.tables[i];
		json_t *rt = json_object();
		for (size_t k = 0; k < t->nroutes; k++)
			json_object_set_new(
			    rt, t->routes[k].dest,
			    json_string(t->routes[k].local ? "local" : t->routes[k].eni));
		json_object_set_new(all, t->id, rt);
	}
	return all;
}

/* {"table":..,"dest":..,"eni":..}: what another writer's change looks like.
 * "eni": null deletes the route. Unknown ENIs are allowed (blackhole). */
static enum MHD_Result set_route(struct sim *s, struct sim_req *r, json_t *o)
{
	const char *table = json_string_value(json_object_get(o, "table"));
	const char *dest = json_string_value(json_object_get(o, "dest"));
	json_t *jeni = json_object_get(o, "eni");
	const char *eni = json_string_value(jeni);
	char canon[SIM_CIDR_MAX], old[SIM_ID_MAX] = "";
	struct sim_table *t;
	struct sim_route *rt;
	int fam;

	if (table == NULL || dest == NULL || jeni == NULL ||
	    (eni == NULL && !json_is_null(jeni)))
		return reply_err(
		    r, 400, "need {\"table\": str, \"dest\": str, \"eni\": str|null}");
	if (eni && (*eni == '\0' || strlen(eni) >= SIM_ID_MAX))
		return reply_err(r, 400, "bad eni");
	if (sim_cidr_canon(dest, canon, sizeof(canon), &fam) == -1)
		return reply_err(r, 400, "dest is not a CIDR block");
	pthread_mutex_lock(&s->mu);
	if ((t = sim_table_find(&s->st, table)) == NULL) {
		pthread_mutex_unlock(&s->mu);
		return reply_err(r, 404, "no such route table");
	}
	rt = sim_route_find(t, canon);
	if ((rt && rt->local) || (rt == NULL && eni == NULL) ||
	    (rt == NULL && t->nroutes >= SIM_ROUTES_MAX)) {
		pthread_mutex_unlock(&s->mu);
		return reply_err(r, 409,
				 rt    ? "the local route is fixed"
				 : eni ? "route limit reached"
				       : "no such route");
	}
	if (rt)
		strlcpy_chk(old, rt->eni, sizeof(old));
	if (rt && eni)
		strlcpy_chk(rt->eni, eni, sizeof(rt->eni));
	else if (rt)
		sim_route_del(t, rt);
	else
		sim_route_add(t, canon, fam, eni);
	sim_route_changed(s, "SimSetRoute", t, canon, fam, old, eni, "control");
	pthread_mutex_unlock(&s->mu);
	return reply(r, 200,
		     json_pack("{s:b, s:s, s:s?}", "ok", 1, "old", old[0] ? old : "-",
			       "eni", eni));
}

static json_t *enis_json(struct sim *s)
{
	json_t *all = json_object();

	for (size_t i = 0; i < s->st.ninsts; i++) {
		const struct sim_instance *in = &s->st.insts[i];
		json_object_set_new(all, in->eni,
				    json_pack("{s:s, s:s, s:s, s:b}", "instance", in->id,
					      "az", in->az, "subnet", in->subnet,
					      "source_dest_check",
					      in->source_dest_check));
	}
	return all;
}

/* {"eni":.., "source_dest_check": bool}: what modify-network-interface-
 * attribute would do. */
static enum MHD_Result set_eni(struct sim *s, struct sim_req *r, json_t *o)
{
	const char *eni = json_string_value(json_object_get(o, "eni"));
	json_t *sdc = json_object_get(o, "source_dest_check");
	struct sim_instance *in = NULL;

	if (eni == NULL || !json_is_boolean(sdc) || json_object_size(o) != 2)
		return reply_err(r, 400,
				 "need {\"eni\": str, \"source_dest_check\": bool}");
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->st.ninsts && in == NULL; i++)
		if (strcmp(s->st.insts[i].eni, eni) == 0)
			in = &s->st.insts[i];
	if (in == NULL) {
		pthread_mutex_unlock(&s->mu);
		return reply_err(r, 404, "no such network interface");
	}
	in->source_dest_check = json_is_true(sdc);
	pthread_mutex_unlock(&s->mu);
	sim_log(s, "SimSetEni %.64s source_dest_check=%s by control", eni,
		json_is_true(sdc) ? "true" : "false");
	return reply(r, 200, json_pack("{s:b}", "ok", 1));
}

/* {"access_key_id"|"role": .., "deny": [action, ...]}: replace what that key
 * or role may not call ([] allows everything again). */
static enum MHD_Result set_deny(struct sim *s, struct sim_req *r, json_t *o)
{
	const char *akid = json_string_value(json_object_get(o, "access_key_id"));
	const char *role = json_string_value(json_object_get(o, "role"));
	json_t *deny = json_object_get(o, "deny"), *v;
	const char *acts[64];
	size_t n = 0, i;
	char ***list = NULL;
	size_t *nlist = NULL;

	if ((akid == NULL) == (role == NULL) || !json_is_array(deny) ||
	    json_array_size(deny) > ARRAY_SIZE(acts) || json_object_size(o) != 2)
		return reply_err(r, 400,
				 "need {\"access_key_id\" or \"role\": str, \"deny\": "
				 "[action, ...]} (at most 64)");
	json_array_foreach(deny, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 64)
			return reply_err(r, 400, "deny: action names, please");
		acts[n++] = json_string_value(v);
	}
	pthread_mutex_lock(&s->mu);
	for (i = 0; akid && i < s->st.ncreds && list == NULL; i++)
		if (strcmp(s->st.creds[i].akid, akid) == 0) {
			list = &s->st.creds[i].deny;
			nlist = &s->st.creds[i].ndeny;
		}
	struct sim_role *ro = role ? sim_role_find(&s->st, role) : NULL;
	if (ro) {
		list = &ro->deny;
		nlist = &ro->ndeny;
	}
	if (list == NULL) {
		pthread_mutex_unlock(&s->mu);
		return reply_err(r, 404, akid ? "no such access key" : "no such role");
	}
	sim_deny_set(list, nlist, acts, n);
	pthread_mutex_unlock(&s->mu);
	sim_log(s, "SimDeny %s %.64s: %zu action(s)", akid ? "key" : "role",
		akid ? akid : role, n);
	return reply(r, 200, json_pack("{s:b}", "ok", 1));
}

static json_t *stats_json(struct sim *s)
{
	/* Copies: the reply is written after mu is released. */
	json_t *o = json_pack(
	    "{s:I, s:o, s:o, s:I, s:i, s:I, s:o, s:I}", "total", (json_int_t)s->total,
	    "actions", json_deep_copy(s->actions), "errors", json_deep_copy(s->errors),
	    "writes", (json_int_t)s->writes, "max_concurrent", (int)s->max_concurrent,
	    "connections", (json_int_t)s->connections, "imds",
	    json_deep_copy(s->imds_stats), "time", (json_int_t)sim_wall_s(s));

	json_object_set_new(o, "ratelimit", sim_rl_json(s));
	return o;
}

static json_t *faults_json(const struct sim_faults *f)
{
	json_t *slow = json_object();

	for (size_t i = 0; i < f->nslow; i++)
		json_object_set_new(slow, f->slow[i].who, json_integer(f->slow[i].ms));
	return json_pack("{s:i, s:f, s:f, s:f, s:f, s:i, s:i, s:s, s:i, s:o, s:i, s:i, "
			 "s:s, s:f, s:i}",
			 "latency_ms", (int)f->latency_ms, "throttle", f->throttle,
			 "error5xx", f->error5xx, "reset", f->reset, "stall_ratio",
			 f->stall_ratio, "stall_ms", (int)f->stall_ms, "fail_next",
			 (int)f->fail_next, "fail_code", f->fail_code, "page_size",
			 (int)f->page_size, "slow", slow, "delay_min_ms",
			 (int)f->delay_min_ms, "delay_max_ms", (int)f->delay_max_ms,
			 "delay_dist", sim_dist_name(f->delay_dist), "lost_answer",
			 f->lost_answer, "stale_ms", (int)f->stale_ms);
}

static int ratio(json_t *v, double *out)
{
	if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
		return -1;
	*out = json_number_value(v);
	return 0;
}

static int count(json_t *v, unsigned max, unsigned *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return -1;
	*out = (unsigned)json_integer_value(v);
	return 0;
}

/* {"ADDRESS or KEY ID": ms, ...} replaces every --slow entry ({} clears). */
static int slow_clients(json_t *v, struct sim_faults *f)
{
	const char *who;
	json_t *ms;
	unsigned n;

	if (!json_is_object(v) || json_object_size(v) > SIM_SLOW_MAX)
		return -1;
	f->nslow = 0;
	json_object_foreach(v, who, ms)
	{
		if (count(ms, SIM_FAULT_MS_MAX, &n) == -1 ||
		    sim_slow_set(f, who, n) == -1)
			return -1;
	}
	return 0;
}

static int dist(json_t *v, enum sim_dist *out)
{
	int d = json_is_string(v) ? sim_dist_parse(json_string_value(v)) : -1;

	if (d == -1)
		return -1;
	*out = (enum sim_dist)d;
	return 0;
}

/* Validate every key into a copy; the live faults change only when all
 * of them are good. */
static int parse_faults(json_t *o, struct sim_faults *f, char *err, size_t errsz)
{
	static const char *const hint[][2] = {
	    {"slow", ": want {\"IP address or access key id\": ms, ...}, at most 8"},
	    {"delay_dist", ": want \"uniform\" or \"pareto\""},
	};
	const char *k, *why;
	json_t *v;
	int bad;

	json_object_foreach(o, k, v)
	{
		if (strcmp(k, "latency_ms") == 0)
			bad = count(v, SIM_FAULT_MS_MAX, &f->latency_ms);
		else if (strcmp(k, "stall_ms") == 0)
			bad = count(v, SIM_FAULT_MS_MAX, &f->stall_ms);
		else if (strcmp(k, "fail_next") == 0)
			bad = count(v, 1000000, &f->fail_next);
		else if (strcmp(k, "page_size") == 0)
			bad = count(v, SIM_TABLES_MAX, &f->page_size);
		else if (strcmp(k, "throttle") == 0)
			bad = ratio(v, &f->throttle);
		else if (strcmp(k, "error5xx") == 0)
			bad = ratio(v, &f->error5xx);
		else if (strcmp(k, "reset") == 0)
			bad = ratio(v, &f->reset);
		else if (strcmp(k, "stall_ratio") == 0)
			bad = ratio(v, &f->stall_ratio);
		else if (strcmp(k, "slow") == 0)
			bad = slow_clients(v, f);
		else if (strcmp(k, "delay_min_ms") == 0)
			bad = count(v, SIM_FAULT_MS_MAX, &f->delay_min_ms);
		else if (strcmp(k, "delay_max_ms") == 0)
			bad = count(v, SIM_FAULT_MS_MAX, &f->delay_max_ms);
		else if (strcmp(k, "delay_dist") == 0)
			bad = dist(v, &f->delay_dist);
		else if (strcmp(k, "lost_answer") == 0)
			bad = ratio(v, &f->lost_answer);
		else if (strcmp(k, "stale_ms") == 0)
			bad = count(v, SIM_FAULT_MS_MAX, &f->stale_ms);
		else if (strcmp(k, "fail_code") == 0)
			bad = !json_is_string(v) ||
			      !ec2_code_valid(json_string_value(v)) ||
			      strlcpy_chk(f->fail_code, json_string_value(v),
					  sizeof(f->fail_code)) == -1;
		else {
			snprintf(err, errsz, "unknown fault \"%.64s\"", k);
			return -1;
		}
		if (bad) {
			why = "";
			for (size_t i = 0; i < ARRAY_SIZE(hint); i++)
				if (strcmp(hint[i][0], k) == 0)
					why = hint[i][1];
			snprintf(err, errsz, "bad value for \"%s\"%s", k, why);
			return -1;
		}
	}
	if (f->delay_min_ms > f->delay_max_ms) {
		snprintf(err, errsz,
			 "\"delay_min_ms\" (%u) is above \"delay_max_ms\" (%u)",
			 f->delay_min_ms, f->delay_max_ms);
		return -1;
	}
	return 0;
}

/* "WHO=MS,..." or "-" for the change log. */
static void slow_text(const struct sim_faults *f, char *out, size_t outsz)
{
	size_t n = 0;

	snprintf(out, outsz, "-");
	for (size_t i = 0; i < f->nslow && n < outsz; i++)
		n += (size_t)snprintf(out + n, outsz - n, "%s%s=%u", i ? "," : "",
				      f->slow[i].who, f->slow[i].ms);
}

static enum MHD_Result faults(struct sim *s, struct sim_req *r, json_t *o, int post)
{
	struct sim_faults f;
	char err[256], slow[SIM_SLOW_MAX * (SIM_KEY_MAX + 12)];
	json_t *out;

	pthread_mutex_lock(&s->mu);
	f = s->faults;
	if (post && parse_faults(o, &f, err, sizeof(err)) == -1) {
		pthread_mutex_unlock(&s->mu);
		return reply_err(r, 400, err);
	}
	s->faults = f;
	out = faults_json(&f);
	pthread_mutex_unlock(&s->mu);
	if (post) {
		slow_text(&f, slow, sizeof(slow));
		sim_log(s,
			"faults latency_ms=%u throttle=%g error5xx=%g reset=%g "
			"stall_ratio=%g "
			"stall_ms=%u fail_next=%u fail_code=%s page_size=%u slow=%s "
			"delay_min_ms=%u delay_max_ms=%u delay_dist=%s lost_answer=%g "
			"stale_ms=%u",
			f.latency_ms, f.throttle, f.error5xx, f.reset, f.stall_ratio,
			f.stall_ms, f.fail_next, f.fail_code, f.page_size, slow,
			f.delay_min_ms, f.delay_max_ms, sim_dist_name(f.delay_dist),
			f.lost_answer, f.stale_ms);
	}
	return reply(r, 200, out);
}

/* GET/POST /_sim/ratelimit: the account's buckets (ratelimit.c). */
static enum MHD_Result ratelimit(struct sim *s, struct sim_req *r, json_t *o, int post)
{
	char err[256], desc[200];
	json_t *out;

	pthread_mutex_lock(&s->mu);
	if (post && sim_rl_set(s, o, err, sizeof(err)) == -1) {
		pthread_mutex_unlock(&s->mu);
		return reply_err(r, 400, err);
	}
	out = sim_rl_json(s);
	sim_rl_describe(&s->rl, desc, sizeof(desc));
	pthread_mutex_unlock(&s->mu);
	if (post)
		sim_log(s, "ratelimit %s by control", desc);
	return reply(r, 200, out);
}

static enum MHD_Result imds_ctl(struct sim *s, struct sim_req *r, const char *what,
				json_t *o)
{
	json_t *down = json_object_get(o, "down");
	json_t *after = json_object_get(o, "after_requests");
	unsigned n = 0;
	json_t *out;

	if (after && count(after, 1000000, &n) == -1)
		return reply_err(r, 400, "after_requests must be a count");
	pthread_mutex_lock(&s->mu);
	if (strcmp(what, "expire-tokens") == 0) {
		/* after_requests N: let N more IMDS requests through first, so a
		 * test can revoke tokens in the middle of a client's sequence. */
		s->expire_after = n;
		if (n == 0)
			s->ntokens = 0;
	} else if (strcmp(what, "down") == 0) {
		if (!json_is_boolean(down)) {
			pthread_mutex_unlock(&s->mu);
			return reply_err(r, 400, "need {\"down\": true|false}");
		}
		s->imds_down = json_is_true(down);
	}
	out = json_pack("{s:b, s:I, s:I, s:i}", "down", s->imds_down, "tokens",
			(json_int_t)s->ntokens, "credentials", (json_int_t)s->ntmp,
			"expire_after", (int)s->expire_after);
	pthread_mutex_unlock(&s->mu);
	if (*what)
		sim_log(s, "imds %s%s", what,
			strcmp(what, "down") ? ""
			: json_is_true(down) ? " true"
					     : " false");
	return reply(r, 200, out);
}

static enum MHD_Result route_ctl(struct sim *s, struct sim_req *r, const char *path,
				 json_t *o, int post)
{
	json_t *out;

	if (!post && strcmp(path, "routes") == 0) {
		pthread_mutex_lock(&s->mu);
		out = routes_json(s);
		pthread_mutex_unlock(&s->mu);
		return reply(r, 200, out);
	}
	if (post && strcmp(path, "route") == 0)
		return set_route(s, r, o);
	if (!post && strcmp(path, "enis") == 0) {
		pthread_mutex_lock(&s->mu);
		out = enis_json(s);
		pthread_mutex_unlock(&s->mu);
		return reply(r, 200, out);
	}
	if (post && strcmp(path, "eni") == 0)
		return set_eni(s, r, o);
	if (post && strcmp(path, "deny") == 0)
		return set_deny(s, r, o);
	if (!post && strcmp(path, "stats") == 0) {
		pthread_mutex_lock(&s->mu);
		out = stats_json(s);
		pthread_mutex_unlock(&s->mu);
		return reply(r, 200, out);
	}
	if (post && strcmp(path, "stats/reset") == 0) {
		pthread_mutex_lock(&s->mu);
		s->total = s->writes = s->connections = 0;
		/* Calls in flight still finish; they count as concurrent anew. */
		s->max_concurrent = s->in_flight;
		json_object_clear(s->actions);
		json_object_clear(s->errors);
		json_object_clear(s->imds_stats);
		sim_rl_reset_counts(s);
		pthread_mutex_unlock(&s->mu);
		return reply(r, 200, json_pack("{s:b}", "ok", 1));
	}
	if (strcmp(path, "faults") == 0)
		return faults(s, r, o, post);
	if (strcmp(path, "ratelimit") == 0)
		return ratelimit(s, r, o, post);
	if (post && strncmp(path, "imds/", 5) == 0 &&
	    (strcmp(path + 5, "expire-tokens") == 0 || strcmp(path + 5, "down") == 0))
		return imds_ctl(s, r, path + 5, o);
	if (!post && strcmp(path, "imds") == 0)
		return imds_ctl(s, r, "", o);
	if (post && strcmp(path, "sts/expire") == 0) {
		json_t *ans = json_object_get(o, "answer");
		const char *a = ans ? json_string_value(ans) : NULL;
		unsigned n;
		int re;
		if (ans && (a == NULL || (strcmp(a, "AuthFailure") != 0 &&
					  strcmp(a, "RequestExpired") != 0)))
			return reply_err(
			    r, 400,
			    "answer must be \"AuthFailure\" or \"RequestExpired\"");
		pthread_mutex_lock(&s->mu);
		if (a)
			s->sts_request_expired = strcmp(a, "RequestExpired") == 0;
		re = s->sts_request_expired;
		n = sts_expire_all(s);
		pthread_mutex_unlock(&s->mu);
		sim_log(s, "sts expire: %u credential(s) expired, EC2 answers %s", n,
			re ? "RequestExpired" : "AuthFailure");
		return reply(r, 200,
			     json_pack("{s:i, s:s}", "expired", (int)n, "answer",
				       re ? "RequestExpired" : "AuthFailure"));
	}
	return reply_err(r, 404, "no such control endpoint");
}

enum MHD_Result ctl_handle(struct sim *s, struct sim_req *r)
{
	int post = strcmp(r->method, "POST") == 0;
	char err[256];
	json_t *o = NULL;
	enum MHD_Result ret;

	if (!post && strcmp(r->method, "GET") != 0)
		return reply_err(r, 405, "GET or POST");
	if (post && (o = body_json(r, err, sizeof(err))) == NULL)
		return reply_err(r, 400, err);
	ret = route_ctl(s, r, r->url + strlen("/_sim/"), o, post);
	json_decref(o);
	return ret;
}
