/* ec2.c — the EC2 Query API (Version 2016-11-15) for route tables and
 * network interfaces, with EC2's wire format: form-encoded requests, XML
 * answers, EC2's error codes, messages and HTTP statuses, injected faults,
 * and a change log line per accepted write. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lib/log.h"
#include "tests/vpcsim/sim.h"

#define EC2_XMLNS     "http://ec2.amazonaws.com/doc/2016-11-15/"
#define EC2_CTYPE     "text/xml;charset=UTF-8"
#define XML_DECL      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define PARAMS_MAX    512
#define PARAM_KEY_MAX 256
#define INDEX_MAX     1000 /* highest N in RouteTableId.N, Filter.N, ... */
#define TOKEN_PREFIX  "vpcsim-page-"
/* Recent changes kept per table for --stale-ms: every route of a full table
 * and as many just deleted; beyond that the oldest is forgotten early. */
#define CHANGES_MAX (2 * SIM_ROUTES_MAX)

struct param {
	char *k, *v;
};

/* One EC2 call in flight. */
struct call {
	struct sim *s;
	struct sim_req *r;
	struct param p[PARAMS_MAX];
	size_t np;
	int bad_query;	      /* a query argument did not fit */
	const char *action;   /* a known action name, or NULL */
	char action_text[64]; /* what the client sent, sanitised, for the log */
	char akid[SIM_KEY_MAX];
	char peer[64];		      /* source address, for --slow */
	char client_key[SIM_KEY_MAX]; /* the key id claimed, for --slow */
	int lose_answer;	      /* --lost-answer: drop the answer if it succeeds */
	char by[SIM_KEY_MAX + 16];    /* the writer, as the change log names it */
	char why[160];		      /* detail for the log only */
	char reqid[37];
	/* the answer */
	unsigned status;
	char code[SIM_CODE_MAX];
	char msg[512];
	struct buf body;
};

static const char *const actions[] = {"DescribeRouteTables", "DescribeNetworkInterfaces",
				      "ReplaceRoute",	     "CreateRoute",
				      "DeleteRoute",	     NULL};

static const struct {
	const char *code;
	unsigned status;
	const char *msg;
} known_codes[] = {
    {"RequestLimitExceeded", 503, "Request limit exceeded."},
    {"InternalError", 500, "An internal error has occurred."},
    {"Unavailable", 503, "The service is unavailable. Please try again shortly."},
    {"ServiceUnavailable", 503, "The service is unavailable. Please try again shortly."},
    {"AuthFailure", 401, "AWS was not able to validate the provided access credentials"},
    {"UnauthorizedOperation", 403, "You are not authorized to perform this operation."},
    {"RequestExpired", 400, "Request has expired."},
    {"DryRunOperation", 412, "Request would have succeeded, but DryRun flag is set."},
};

static int seterr(struct call *c, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int seterr(struct call *c, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;

	c->status = status;
	strlcpy_chk(c->code, code, sizeof(c->code));
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* An error with EC2's usual status and message for code. */
static int setcode(struct call *c, const char *code)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_codes); i++)
		if (strcmp(known_codes[i].code, code) == 0)
			return seterr(c, known_codes[i].status, code, "%s",
				      known_codes[i].msg);
	return seterr(c, 400, code, "Injected fault %s.", code);
}

static const char *param(const struct call *c, const char *key)
{
	for (size_t i = 0; i < c->np; i++)
		if (strcmp(c->p[i].k, key) == 0)
			return c->p[i].v;
	return NULL;
}

static const char *call_param(const void *ctx, const char *key)
{
	return param(ctx, key);
}

static int add_param(struct call *c, const char *k, size_t klen, const char *v,
		     size_t vlen)
{
	if (c->np == PARAMS_MAX || klen == 0 || klen > PARAM_KEY_MAX)
		return -1;
	c->p[c->np].k = strndup(k, klen);
	c->p[c->np].v = strndup(v, vlen);
	if (c->p[c->np].k == NULL || c->p[c->np].v == NULL)
		fatal("strndup");
	c->np++;
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* application/x-www-form-urlencoded: '+' is a space, %XX a byte. Decodes in
 * place; -1 on a broken escape or a NUL byte. */
static ssize_t form_decode(char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '+') {
			ch = ' ';
		} else if (ch == '%') {
			int hi, lo;
			if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			ch = hi * 16 + lo;
			i += 2;
		}
		if (ch == 0)
			return -1;
		s[o++] = (char)ch;
	}
	return (ssize_t)o;
}

static int parse_form(struct call *c, const char *body, size_t len)
{
	char *copy = strndup(body, len), *save = NULL, *pair;
	int rc = -1;

	if (copy == NULL)
		fatal("strndup");
	if (strlen(copy) != len)
		goto out; /* a NUL byte in the body */
	for (pair = strtok_r(copy, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');
		char *v = eq ? eq + 1 : pair + strlen(pair);
		ssize_t kl = form_decode(pair, eq ? (size_t)(eq - pair) : strlen(pair));
		ssize_t vl = form_decode(v, strlen(v));
		if (kl < 0 || vl < 0 || add_param(c, pair, kl, v, vl) == -1)
			goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct call *c = cls;

	if (value == NULL)
		value = "";
	if (add_param(c, key, strlen(key), value, strlen(value)) == -1) {
		c->bad_query = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static int parse_params(struct call *c)
{
	MHD_get_connection_values(c->r->conn, MHD_GET_ARGUMENT_KIND, collect_query, c);
	if (c->bad_query)
		return -1;
	if (strcmp(c->r->method, "POST") == 0 && c->r->body.len > 0 &&
	    parse_form(c, c->r->body.data, c->r->body.len) == -1)
		return -1;
	return 0;
}

/* Values of keys prefix<N>suffix, ordered by N (1..INDEX_MAX). */
struct indexed {
	unsigned n;
	const char *v;
};

static int cmp_indexed(const void *a, const void *b)
{
	const struct indexed *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

static size_t indexed(const struct call *c, const char *prefix, const char *suffix,
		      struct indexed *out, size_t max)
{
	size_t n = 0, pl = strlen(prefix), sl = strlen(suffix);

	for (size_t i = 0; i < c->np && n < max; i++) {
		const char *k = c->p[i].k;
		char *end;
		unsigned long idx;

		if (strncmp(k, prefix, pl) != 0 || !isdigit((unsigned char)k[pl]))
			continue;
		errno = 0;
		idx = strtoul(k + pl, &end, 10);
		if (errno || idx == 0 || idx > INDEX_MAX || strcmp(end, suffix) != 0 ||
		    (sl == 0 && *end != '\0'))
			continue;
		out[n].n = (unsigned)idx;
		out[n].v = c->p[i].v;
		n++;
	}
	qsort(out, n, sizeof(*out), cmp_indexed);
	return n;
}

static int xml_open(struct call *c)
{
	return sim_bprintf(&c->body,
			   XML_DECL "<%sResponse xmlns=\"" EC2_XMLNS "\">"
				    "<requestId>%s</requestId>",
			   c->action, c->reqid);
}

static int return_true(struct call *c)
{
	if (xml_open(c) == -1 ||
	    sim_bprintf(&c->body, "<return>true</return></%sResponse>", c->action) == -1)
		return seterr(c, 500, "InternalError", "An internal error has occurred.");
	c->status = 200;
	return 0;
}

/* 1 if ch is recent enough that describes still show the state before it. */
static int in_window(const struct sim *s, const struct sim_change *ch, uint64_t now)
{
	return now - ch->at_ms < s->faults.stale_ms;
}

/* The change of dest in t that describes still lag behind, or NULL. */
static const struct sim_change *recent_change(const struct sim *s,
					      const struct sim_table *t, const char *dest,
					      uint64_t now)
{
	for (size_t i = 0; i < t->nchanges; i++)
		if (strcmp(t->changes[i].dest, dest) == 0)
			return in_window(s, &t->changes[i], now) ? &t->changes[i] : NULL;
	return NULL;
}

/* Remember what a route was before a write, for --stale-ms describes. Only
 * the last change of a destination counts; older ones and those past the
 * window are dropped here, which keeps the list short. */
static void keep_change(struct sim *s, struct sim_table *t, const char *dest, int family,
			const char *old_eni)
{
	uint64_t now = sim_mono_ms(s);
	struct sim_change *ch;
	size_t keep = 0;

	if (s->faults.stale_ms == 0) {
		t->nchanges = 0;
		return;
	}
	for (size_t i = 0; i < t->nchanges; i++)
		if (strcmp(t->changes[i].dest, dest) != 0 &&
		    in_window(s, &t->changes[i], now))
			t->changes[keep++] = t->changes[i];
	t->nchanges = keep;
	if (t->nchanges == CHANGES_MAX)
		memmove(&t->changes[0], &t->changes[1],
			--t->nchanges * sizeof(t->changes[0]));
	t->changes = xreallocarray(t->changes, t->nchanges + 1, sizeof(*t->changes));
	ch = &t->changes[t->nchanges++];
	memset(ch, 0, sizeof(*ch));
	strlcpy_chk(ch->dest, dest, sizeof(ch->dest));
	strlcpy_chk(ch->prev_eni, old_eni ? old_eni : "", sizeof(ch->prev_eni));
	ch->family = family;
	ch->at_ms = now;
}

void sim_route_changed(struct sim *s, const char *action, struct sim_table *t,
		       const char *dest, int family, const char *old_eni,
		       const char *new_eni, const char *by)
{
	keep_change(s, t, dest, family, old_eni);
	sim_log(s, "%s %s %s %s -> %s by %s", action, t->id, dest,
		old_eni && *old_eni ? old_eni : "-", new_eni && *new_eni ? new_eni : "-",
		by);
	if (s->kr && s->st.kernel_table >= 0 && t == &s->st.tables[s->st.kernel_table])
		kroute_set(s, dest, family, new_eni);
}

/* ---- DescribeRouteTables ---- */

static int route_xml(struct call *c, const struct sim_route *r)
{
	const struct sim_instance *in =
	    r->local ? NULL : sim_inst_by_eni(&c->s->st, r->eni);
	struct buf *b = &c->body;
	int rc = 0;

	rc |= sim_bprintf(
	    b, "<item><%s>%s</%s>",
	    r->family == AF_INET ? "destinationCidrBlock" : "destinationIpv6CidrBlock",
	    r->dest,
	    r->family == AF_INET ? "destinationCidrBlock" : "destinationIpv6CidrBlock");
	if (r->local) {
		rc |= sim_bprintf(b, "<gatewayId>local</gatewayId>");
	} else {
		rc |= sim_bprintf(b, "<networkInterfaceId>");
		rc |= sim_xml_escape(b, r->eni);
		rc |= sim_bprintf(b, "</networkInterfaceId>");
		if (in)
			rc |= sim_bprintf(b,
					  "<instanceId>%s</instanceId>"
					  "<instanceOwnerId>%s</instanceOwnerId>",
					  in->id, in->account);
	}
	/* A route to an ENI that no instance holds goes nowhere: blackhole. */
	rc |= sim_bprintf(b, "<state>%s</state><origin>%s</origin></item>",
			  r->local || in ? "active" : "blackhole",
			  r->local ? "CreateRouteTable" : "CreateRoute");
	return rc ? -1 : 0;
}

static int table_xml(struct call *c, const struct sim_table *t)
{
	struct buf *b = &c->body;
	int rc = 0;

	rc |= sim_bprintf(b,
			  "<item><routeTableId>%s</routeTableId><vpcId>%s</vpcId>"
			  "<ownerId>%s</ownerId><routeSet>",
			  t->id, c->s->st.vpc_id, t->owner);
	for (size_t i = 0; i < t->nroutes && rc == 0; i++)
		rc |= route_xml(c, &t->routes[i]);
	rc |= sim_bprintf(
	    b, "</routeSet><associationSet/><propagatingVgwSet/><tagSet/></item>");
	return rc ? -1 : 0;
}

static int filter_match(struct call *c, const struct sim_table *t, const char *name,
			const char *value)
{
	if (strcmp(name, "route-table-id") == 0)
		return strcmp(t->id, value) == 0;
	if (strcmp(name, "vpc-id") == 0)
		return strcmp(c->s->st.vpc_id, value) == 0;
	for (size_t i = 0; i < t->nroutes; i++) {
		if (strcmp(name, "route.destination-cidr-block") == 0 &&
		    strcmp(t->routes[i].dest, value) == 0)
			return 1;
		if (strcmp(name, "route.network-interface-id") == 0 &&
		    strcmp(t->routes[i].eni, value) == 0)
			return 1;
	}
	return 0;
}

/* Apply Filter.N.Name / Filter.N.Value.M: a table must match every filter,
 * and a filter matches when any of its values does. */
static int filters(struct call *c, const struct sim_table **sel, size_t *nsel)
{
	static const char *const names[] = {"route-table-id", "vpc-id",
					    "route.destination-cidr-block",
					    "route.network-interface-id", NULL};
	struct indexed fn[32], fv[64];
	size_t nf = indexed(c, "Filter.", ".Name", fn, ARRAY_SIZE(fn));

	for (size_t i = 0; i < nf; i++) {
		char prefix[64];
		size_t nv, keep = 0;
		int known = 0;

		for (const char *const *n = names; *n; n++)
			known |= strcmp(*n, fn[i].v) == 0;
		if (!known)
			return seterr(c, 400, "InvalidParameterValue",
				      "The filter '%.100s' is invalid", fn[i].v);
		snprintf(prefix, sizeof(prefix), "Filter.%u.Value.", fn[i].n);
		nv = indexed(c, prefix, "", fv, ARRAY_SIZE(fv));
		for (size_t t = 0; t < *nsel; t++) {
			int m = 0;
			for (size_t v = 0; v < nv && !m; v++)
				m = filter_match(c, sel[t], fn[i].v, fv[v].v);
			if (m)
				sel[keep++] = sel[t];
		}
		*nsel = keep;
	}
	return 0;
}

static int page_limits(struct call *c, size_t nsel, size_t *offset, size_t *limit)
{
	const char *mr = param(c, "MaxResults"), *nt = param(c, "NextToken");
	char *end;
	unsigned long v;

	*offset = 0;
	*limit = c->s->faults.page_size;
	if (mr) {
		errno = 0;
		v = strtoul(mr, &end, 10);
		if (errno || *end || end == mr || v < 5 || v > 100)
			return seterr(
			    c, 400, "InvalidParameterValue",
			    "Value ( %.40s ) for parameter maxResults is invalid. "
			    "Expecting a value between 5 and 100.",
			    mr);
		if (*limit == 0 || v < *limit)
			*limit = v;
	}
	if (nt && *nt) {
		size_t pl = strlen(TOKEN_PREFIX);
		errno = 0;
		v = strncmp(nt, TOKEN_PREFIX, pl) == 0 && isdigit((unsigned char)nt[pl])
			? strtoul(nt + pl, &end, 10)
			: 0;
		if (v == 0 || errno || *end || v >= nsel)
			return seterr(c, 400, "InvalidPaginationToken",
				      "The token '%.100s' is invalid.", nt);
		*offset = v;
	}
	return 0;
}

/* What a describe shows of t while --stale-ms lags it: each route changed
 * within the window as it was before (gone if it was just created, still
 * there if just deleted). v's routes are the caller's to free. */
static void stale_view(struct call *c, struct sim_table *t, uint64_t now,
		       struct sim_table *v)
{
	const struct sim_change *ch;

	memset(v, 0, sizeof(*v));
	memcpy(v->id, t->id, sizeof(v->id));
	v->routes = xcalloc(t->nroutes + t->nchanges, sizeof(*v->routes));
	for (size_t i = 0; i < t->nroutes; i++) {
		ch = recent_change(c->s, t, t->routes[i].dest, now);
		if (ch && ch->prev_eni[0] == '\0')
			continue;
		v->routes[v->nroutes] = t->routes[i];
		if (ch)
			memcpy(v->routes[v->nroutes].eni, ch->prev_eni,
			       sizeof(ch->prev_eni));
		v->nroutes++;
	}
	for (size_t i = 0; i < t->nchanges; i++) {
		struct sim_route *r = &v->routes[v->nroutes];
		ch = &t->changes[i];
		if (ch->prev_eni[0] == '\0' || !in_window(c->s, ch, now) ||
		    sim_route_find(t, ch->dest))
			continue;
		memcpy(r->dest, ch->dest, sizeof(r->dest));
		memcpy(r->eni, ch->prev_eni, sizeof(r->eni));
		r->family = ch->family;
		v->nroutes++;
	}
}

/* One line per route a describe showed as it was before its last change. */
static void log_stale(struct call *c, struct sim_table *t, uint64_t now)
{
	for (size_t i = 0; i < t->nchanges; i++) {
		const struct sim_change *ch = &t->changes[i];
		const struct sim_route *r = sim_route_find(t, ch->dest);
		const char *cur = r ? r->eni : "";
		if (!in_window(c->s, ch, now) || strcmp(cur, ch->prev_eni) == 0)
			continue;
		sim_log(
		    c->s,
		    "stale DescribeRouteTables by %s (injected): %s %s shown as %s, is "
		    "%s (changed %llu ms ago)",
		    c->akid, t->id, ch->dest, ch->prev_eni[0] ? ch->prev_eni : "-",
		    *cur ? cur : "-", (unsigned long long)(now - ch->at_ms));
	}
}

static int do_describe(struct call *c)
{
	struct sim_state *st = &c->s->st;
	struct indexed *ids = xcalloc(INDEX_MAX, sizeof(*ids));
	const struct sim_table **sel = xcalloc(st->ntables + 1, sizeof(*sel));
	size_t nids = indexed(c, "RouteTableId.", "", ids, INDEX_MAX), nsel = 0;
	size_t offset, limit, end;
	struct sim_table *views = NULL; /* --stale-ms: what describes show */
	uint64_t now = sim_mono_ms(c->s);
	int rc = -1;

	if (c->s->faults.stale_ms > 0) {
		views = xcalloc(st->ntables + 1, sizeof(*views));
		for (size_t i = 0; i < st->ntables; i++)
			stale_view(c, &st->tables[i], now, &views[i]);
	}
	for (size_t i = 0; i < nids; i++) {
		const struct sim_table *t = sim_table_find(st, ids[i].v);
		int dup = 0;
		/* EC2 fails the whole call when any one id is unknown. */
		if (t == NULL) {
			seterr(c, 400, "InvalidRouteTableID.NotFound",
			       "The routeTable ID '%.100s' does not exist", ids[i].v);
			goto out;
		}
		if (views)
			t = &views[t - st->tables];
		for (size_t k = 0; k < nsel; k++)
			dup |= sel[k] == t;
		if (!dup)
			sel[nsel++] = t;
	}
	if (nids == 0)
		for (size_t i = 0; i < st->ntables; i++)
			sel[nsel++] = views ? &views[i] : &st->tables[i];
	if (filters(c, sel, &nsel) == -1 || page_limits(c, nsel, &offset, &limit) == -1)
		goto out;
	end = limit && offset + limit < nsel ? offset + limit : nsel;
	if (xml_open(c) == -1 || sim_bprintf(&c->body, "<routeTableSet>") == -1)
		goto toolarge;
	for (size_t i = offset; i < end; i++)
		if (table_xml(c, sel[i]) == -1)
			goto toolarge;
	if (sim_bprintf(&c->body, "</routeTableSet>") == -1 ||
	    (end < nsel &&
	     sim_bprintf(&c->body, "<nextToken>" TOKEN_PREFIX "%zu</nextToken>", end) ==
		 -1) ||
	    sim_bprintf(&c->body, "</DescribeRouteTablesResponse>") == -1)
		goto toolarge;
	for (size_t i = offset; views && i < end; i++)
		log_stale(c, &st->tables[sel[i] - views], now);
	c->status = 200;
	rc = 0;
	goto out;
toolarge:
	seterr(c, 500, "InternalError", "An internal error has occurred.");
out:
	for (size_t i = 0; views && i < st->ntables; i++)
		free(views[i].routes);
	free(views);
	free(ids);
	free(sel);
	return rc;
}

/* ---- DescribeNetworkInterfaces ---- */

/* One ENI per instance, attached at device index 0, in the instance's AZ,
 * with EC2's element order. */
static int eni_xml(struct call *c, const struct sim_instance *in)
{
	const struct sim_state *st = &c->s->st;
	const char *hex = strchr(in->eni, '-') ? strchr(in->eni, '-') + 1 : in->eni;
	struct buf *b = &c->body;
	int rc = 0;

	rc |= sim_bprintf(b, "<item><networkInterfaceId>");
	rc |= sim_xml_escape(b, in->eni);
	rc |= sim_bprintf(b, "</networkInterfaceId><subnetId>");
	rc |= sim_xml_escape(b, in->subnet);
	rc |=
	    sim_bprintf(b, "</subnetId><vpcId>%s</vpcId><availabilityZone>", st->vpc_id);
	rc |= sim_xml_escape(b, in->az);
	rc |= sim_bprintf(b,
			  "</availabilityZone><description/><ownerId>%s</ownerId>"
			  "<requesterManaged>false</requesterManaged>"
			  "<status>in-use</status><macAddress>",
			  in->account);
	rc |= sim_xml_escape(b, in->mac);
	rc |= sim_bprintf(b,
			  "</macAddress><privateIpAddress>%s</privateIpAddress>"
			  "<sourceDestCheck>%s</sourceDestCheck><groupSet/>"
			  "<attachment><attachmentId>eni-attach-",
			  in->address, in->source_dest_check ? "true" : "false");
	rc |= sim_xml_escape(b, hex);
	rc |= sim_bprintf(b, "</attachmentId><instanceId>");
	rc |= sim_xml_escape(b, in->id);
	rc |= sim_bprintf(b,
			  "</instanceId><instanceOwnerId>%s</instanceOwnerId>"
			  "<deviceIndex>0</deviceIndex><status>attached</status>"
			  "<attachTime>2026-01-01T00:00:00.000Z</attachTime>"
			  "<deleteOnTermination>true</deleteOnTermination></attachment>"
			  "<tagSet/><privateIpAddressesSet><item>"
			  "<privateIpAddress>%s</privateIpAddress><primary>true</primary>"
			  "</item></privateIpAddressesSet><ipv6AddressesSet/>"
			  "<interfaceType>interface</interfaceType></item>",
			  in->account, in->address);
	return rc ? -1 : 0;
}

static int eni_filter_match(struct call *c, const struct sim_instance *in,
			    const char *name, const char *value)
{
	if (strcmp(name, "network-interface-id") == 0)
		return strcmp(in->eni, value) == 0;
	if (strcmp(name, "attachment.instance-id") == 0)
		return strcmp(in->id, value) == 0;
	if (strcmp(name, "availability-zone") == 0)
		return strcmp(in->az, value) == 0;
	if (strcmp(name, "subnet-id") == 0)
		return strcmp(in->subnet, value) == 0;
	return strcmp(c->s->st.vpc_id, value) == 0; /* vpc-id */
}

/* Filter.N.Name / Filter.N.Value.M, as for route tables. */
static int eni_filters(struct call *c, const struct sim_instance **sel, size_t *nsel)
{
	static const char *const names[] = {"network-interface-id",
					    "attachment.instance-id",
					    "availability-zone",
					    "subnet-id",
					    "vpc-id",
					    NULL};
	struct indexed fn[32], fv[64];
	size_t nf = indexed(c, "Filter.", ".Name", fn, ARRAY_SIZE(fn));

	for (size_t i = 0; i < nf; i++) {
		char prefix[64];
		size_t nv, keep = 0;
		int known = 0;

		for (const char *const *n = names; *n; n++)
			known |= strcmp(*n, fn[i].v) == 0;
		if (!known)
			return seterr(c, 400, "InvalidParameterValue",
				      "The filter '%.100s' is invalid", fn[i].v);
		snprintf(prefix, sizeof(prefix), "Filter.%u.Value.", fn[i].n);
		nv = indexed(c, prefix, "", fv, ARRAY_SIZE(fv));
		for (size_t k = 0; k < *nsel; k++) {
			int m = 0;
			for (size_t v = 0; v < nv && !m; v++)
				m = eni_filter_match(c, sel[k], fn[i].v, fv[v].v);
			if (m)
				sel[keep++] = sel[k];
		}
		*nsel = keep;
	}
	return 0;
}

static int do_describe_enis(struct call *c)
{
	struct sim_state *st = &c->s->st;
	struct indexed *ids = xcalloc(INDEX_MAX, sizeof(*ids));
	const struct sim_instance **sel = xcalloc(st->ninsts + 1, sizeof(*sel));
	size_t nids = indexed(c, "NetworkInterfaceId.", "", ids, INDEX_MAX), nsel = 0;
	int rc = -1;

	if (param(c, "MaxResults") || param(c, "NextToken")) {
		seterr(c, 400, "InvalidParameterValue",
		       "vpcsim does not page DescribeNetworkInterfaces: leave out "
		       "MaxResults and NextToken");
		goto out;
	}
	for (size_t i = 0; i < nids; i++) {
		const struct sim_instance *in = sim_inst_by_eni(st, ids[i].v);
		int dup = 0;
		/* As for route tables: one unknown id fails the whole call. */
		if (in == NULL) {
			seterr(c, 400, "InvalidNetworkInterfaceID.NotFound",
			       "The networkInterface ID '%.100s' does not exist",
			       ids[i].v);
			goto out;
		}
		for (size_t k = 0; k < nsel; k++)
			dup |= sel[k] == in;
		if (!dup)
			sel[nsel++] = in;
	}
	if (nids == 0)
		for (size_t i = 0; i < st->ninsts; i++)
			sel[nsel++] = &st->insts[i];
	if (eni_filters(c, sel, &nsel) == -1)
		goto out;
	if (xml_open(c) == -1 || sim_bprintf(&c->body, "<networkInterfaceSet>") == -1)
		goto toolarge;
	for (size_t i = 0; i < nsel; i++)
		if (eni_xml(c, sel[i]) == -1)
			goto toolarge;
	if (sim_bprintf(&c->body,
			"</networkInterfaceSet></DescribeNetworkInterfacesResponse>") ==
	    -1)
		goto toolarge;
	c->status = 200;
	rc = 0;
	goto out;
toolarge:
	seterr(c, 500, "InternalError", "An internal error has occurred.");
out:
	free(ids);
	free(sel);
	return rc;
}

/* ---- ReplaceRoute, CreateRoute, DeleteRoute ---- */

struct route_args {
	struct sim_table *t;
	char dest[SIM_CIDR_MAX];
	int family;
	char eni[SIM_ID_MAX];
};

static int route_dest(struct call *c, struct route_args *a)
{
	const char *v4 = param(c, "DestinationCidrBlock");
	const char *v6 = param(c, "DestinationIpv6CidrBlock");
	const char *name = v4 ? "destinationCidrBlock" : "destinationIpv6CidrBlock";
	const char *v = v4 ? v4 : v6;

	if (v4 && v6)
		return seterr(
		    c, 400, "InvalidParameterCombination",
		    "The parameter destinationCidrBlock cannot be used with the "
		    "parameter destinationIpv6CidrBlock");
	if (v == NULL)
		return seterr(
		    c, 400, "MissingParameter",
		    "The request must contain the parameter destinationCidrBlock or "
		    "destinationIpv6CidrBlock");
	if (sim_cidr_canon(v, a->dest, sizeof(a->dest), &a->family) == -1 ||
	    a->family != (v4 ? AF_INET : AF_INET6))
		return seterr(
		    c, 400, "InvalidParameterValue",
		    "Value (%.100s) for parameter %s is invalid. This is not a valid "
		    "CIDR block.",
		    v, name);
	return 0;
}

static int route_target(struct call *c, struct route_args *a)
{
	static const char *const other[] = {"GatewayId",
					    "NatGatewayId",
					    "TransitGatewayId",
					    "VpcPeeringConnectionId",
					    "EgressOnlyInternetGatewayId",
					    "LocalGatewayId",
					    "CarrierGatewayId",
					    "VpcEndpointId",
					    "CoreNetworkArn",
					    NULL};
	const char *eni = param(c, "NetworkInterfaceId"), *iid = param(c, "InstanceId");
	const struct sim_instance *in;

	for (const char *const *o = other; *o; o++)
		if (param(c, *o))
			return seterr(
			    c, 400, "InvalidParameterValue",
			    "vpcsim only simulates NetworkInterfaceId and InstanceId "
			    "targets, not %s",
			    *o);
	if (eni && iid)
		return seterr(c, 400, "InvalidParameterCombination",
			      "The parameter networkInterfaceId cannot be used with the "
			      "parameter instanceId");
	if (eni == NULL && iid == NULL)
		return seterr(
		    c, 400, "MissingParameter",
		    "The request must contain the parameter networkInterfaceId");
	if (iid) {
		if ((in = sim_inst_by_id(&c->s->st, iid)) == NULL)
			return seterr(c, 400, "InvalidInstanceID.NotFound",
				      "The instance ID '%.100s' does not exist", iid);
		strlcpy_chk(a->eni, in->eni, sizeof(a->eni));
		return 0;
	}
	if (sim_inst_by_eni(&c->s->st, eni) == NULL)
		return seterr(c, 400, "InvalidNetworkInterfaceID.NotFound",
			      "The networkInterface ID '%.100s' does not exist", eni);
	strlcpy_chk(a->eni, eni, sizeof(a->eni));
	return 0;
}

static int route_args(struct call *c, struct route_args *a, int need_target)
{
	const char *id = param(c, "RouteTableId");

	memset(a, 0, sizeof(*a));
	if (id == NULL)
		return seterr(c, 400, "MissingParameter",
			      "The request must contain the parameter routeTableId");
	if (route_dest(c, a) == -1)
		return -1;
	if ((a->t = sim_table_find(&c->s->st, id)) == NULL)
		return seterr(c, 400, "InvalidRouteTableID.NotFound",
			      "The routeTable ID '%.100s' does not exist", id);
	return need_target ? route_target(c, a) : 0;
}

static int do_replace(struct call *c)
{
	struct route_args a;
	struct sim_route *r;
	char old[SIM_ID_MAX];

	if (route_args(c, &a, 1) == -1)
		return -1;
	if ((r = sim_route_find(a.t, a.dest)) == NULL)
		return seterr(
		    c, 400, "InvalidParameterValue",
		    "There is no route defined for '%s' in the route table. Use "
		    "CreateRoute instead.",
		    a.dest);
	if (r->local)
		return seterr(
		    c, 400, "InvalidParameterValue",
		    "The route identified by %s is the VPC's local route; vpcsim "
		    "does not replace it.",
		    a.dest);
	strlcpy_chk(old, r->eni, sizeof(old));
	strlcpy_chk(r->eni, a.eni, sizeof(r->eni));
	c->s->writes++;
	sim_route_changed(c->s, c->action, a.t, a.dest, a.family, old, a.eni, c->by);
	return return_true(c);
}

static int do_create(struct call *c)
{
	struct route_args a;

	if (route_args(c, &a, 1) == -1)
		return -1;
	if (sim_route_find(a.t, a.dest))
		return seterr(c, 400, "RouteAlreadyExists",
			      "The route identified by %s already exists.", a.dest);
	if (a.t->nroutes >= SIM_ROUTES_MAX)
		return seterr(c, 400, "RouteLimitExceeded",
			      "The maximum number of routes has been reached.");
	sim_route_add(a.t, a.dest, a.family, a.eni);
	c->s->writes++;
	sim_route_changed(c->s, c->action, a.t, a.dest, a.family, NULL, a.eni, c->by);
	return return_true(c);
}

static int do_delete(struct call *c)
{
	struct route_args a;
	struct sim_route *r;
	char old[SIM_ID_MAX];

	if (route_args(c, &a, 0) == -1)
		return -1;
	if ((r = sim_route_find(a.t, a.dest)) == NULL)
		return seterr(c, 400, "InvalidRoute.NotFound",
			      "No route with destination-cidr-block %s in route table %s",
			      a.dest, a.t->id);
	if (r->local)
		return seterr(c, 400, "InvalidParameterValue",
			      "cannot remove local route %s in route table %s", a.dest,
			      a.t->id);
	strlcpy_chk(old, r->eni, sizeof(old));
	sim_route_del(a.t, r);
	c->s->writes++;
	sim_route_changed(c->s, c->action, a.t, a.dest, a.family, old, NULL, c->by);
	return return_true(c);
}

/* ---- faults ---- */

int ec2_code_valid(const char *code)
{
	size_t n = strlen(code);

	if (n == 0 || n >= SIM_CODE_MAX || !isalpha((unsigned char)code[0]))
		return 0;
	for (const char *p = code; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.')
			return 0;
	return 1;
}

struct fault_plan {
	unsigned latency_ms;
	unsigned slow_ms;
	unsigned delay_ms;
	unsigned stall_ms;
	int reset;
	int lose_answer;
	char code[SIM_CODE_MAX]; /* "" = no injected error */
};

static int mutating(const char *action)
{
	return action &&
	       (strcmp(action, "ReplaceRoute") == 0 ||
		strcmp(action, "CreateRoute") == 0 || strcmp(action, "DeleteRoute") == 0);
}

/* The longest --slow wait among the entries naming the call's source address
 * or the key id it claims: a node is slow whether or not it signs well. */
static unsigned slow_ms(const struct sim_faults *f, const struct call *c)
{
	unsigned ms = 0;

	for (size_t i = 0; i < f->nslow; i++)
		if ((strcmp(f->slow[i].who, c->peer) == 0 ||
		     strcmp(f->slow[i].who, c->client_key) == 0) &&
		    f->slow[i].ms > ms)
			ms = f->slow[i].ms;
	return ms;
}

/* A random wait in delay_min_ms..delay_max_ms. Long-tailed: Lomax (Pareto
 * II) of shape 1.16, the "80/20" one, scaled to a twentieth of the range
 * and cut at the top, so half the calls wait less than 4% of the range
 * above the minimum and about 3% wait the maximum. Caller holds mu. */
static unsigned delay_ms(struct sim *s, const struct sim_faults *f)
{
	double u = sim_rand01(s), range = f->delay_max_ms - f->delay_min_ms, x;

	if (f->delay_dist == SIM_DIST_PARETO)
		x = range / 20 * (pow(1 - u, -1 / 1.16) - 1);
	else
		x = u * (range + 1);
	return f->delay_min_ms + (unsigned)(x < range ? x : range);
}

static void plan_faults(struct call *c, struct fault_plan *fp)
{
	struct sim *s = c->s;
	struct sim_faults *f = &s->faults;

	memset(fp, 0, sizeof(*fp));
	pthread_mutex_lock(&s->mu);
	fp->latency_ms = f->latency_ms;
	fp->slow_ms = slow_ms(f, c);
	if (f->reset > 0 && sim_rand01(s) < f->reset) {
		fp->reset = 1;
		goto out;
	}
	if (f->stall_ratio > 0 && sim_rand01(s) < f->stall_ratio)
		fp->stall_ms = f->stall_ms;
	if (f->fail_next > 0) {
		f->fail_next--;
		strlcpy_chk(fp->code, f->fail_code, sizeof(fp->code));
	} else if (f->throttle > 0 && sim_rand01(s) < f->throttle) {
		strlcpy_chk(fp->code, "RequestLimitExceeded", sizeof(fp->code));
	} else if (f->error5xx > 0 && sim_rand01(s) < f->error5xx) {
		strlcpy_chk(fp->code,
			    sim_rand01(s) < 0.5 ? "InternalError" : "Unavailable",
			    sizeof(fp->code));
	}
	/* Drawn after the older faults, so that their seeds replay as before. */
	if (f->delay_max_ms > 0) {
		fp->delay_ms = delay_ms(s, f);
		/* Logged under mu: the log's order is the draws' order. */
		sim_log(s, "delay %s (injected): waits %u ms, client %s at %s",
			c->action_text, fp->delay_ms,
			c->client_key[0] ? c->client_key : "-",
			c->peer[0] ? c->peer : "-");
	}
	if (f->lost_answer > 0 && mutating(c->action) && sim_rand01(s) < f->lost_answer)
		fp->lose_answer = 1;
out:
	if (fp->slow_ms)
		sim_log(s, "slow %s (injected): waits %u ms, client %s at %s",
			c->action_text, fp->slow_ms,
			c->client_key[0] ? c->client_key : "-",
			c->peer[0] ? c->peer : "-");
	pthread_mutex_unlock(&s->mu);
}

/* ---- dispatch ---- */

static void identify_action(struct call *c)
{
	const char *a = param(c, "Action");
	size_t n = 0;

	strlcpy_chk(c->action_text, "-", sizeof(c->action_text));
	if (a == NULL)
		return;
	for (const char *const *k = actions; *k; k++)
		if (strcmp(*k, a) == 0)
			c->action = *k;
	for (const char *p = a; *p && n < sizeof(c->action_text) - 1; p++)
		if (isalnum((unsigned char)*p))
			c->action_text[n++] = *p;
	c->action_text[n ? n : 1] = '\0';
}

/* Who calls, for --slow: the source address, and the key id the
 * Authorization header names, before (and whether or not) it verifies. */
static void identify_client(struct call *c)
{
	const char *h = MHD_lookup_connection_value(c->r->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	const char *p = h ? strstr(h, "Credential=") : NULL;
	size_t n = 0;

	sim_client_addr(c->r->conn, c->peer, sizeof(c->peer));
	if (p == NULL)
		return;
	for (p += strlen("Credential=");
	     isalnum((unsigned char)*p) && n < sizeof(c->client_key) - 1; p++)
		c->client_key[n++] = *p;
	/* Only a whole key id, the scope's first part, names a client. */
	c->client_key[*p == '/' ? n : 0] = '\0';
}

/* A route write (dry or not) on a table of another account: EC2 refuses it
 * whatever the caller's policy says, as for a participant of a shared VPC.
 * Unknown tables are left to the action (NotFound). Caller holds mu. */
static int foreign_table(struct call *c, const char *account, const char *arn)
{
	const char *id = param(c, "RouteTableId");
	const struct sim_table *t = id ? sim_table_find(&c->s->st, id) : NULL;

	if (!mutating(c->action) || t == NULL || strcmp(t->owner, account) == 0)
		return 0;
	snprintf(c->why, sizeof(c->why),
		 "%s is owned by account %s, caller %.80s is in %s", t->id, t->owner, arn,
		 account);
	return 1;
}

/* Everything after the signature: which action, may this key, dry run. */
static int authorised_call(struct call *c, const struct sim_cred *cred)
{
	const char *dry = param(c, "DryRun");

	if (param(c, "Action") == NULL)
		return seterr(c, 400, "MissingParameter",
			      "The request must contain the parameter Action");
	if (c->action == NULL)
		return seterr(c, 400, "InvalidAction",
			      "The action %s is not valid for this web service.",
			      c->action_text);
	if (param(c, "Version") == NULL)
		return seterr(c, 400, "MissingParameter",
			      "The request must contain the parameter Version");
	const char *account;
	char arn[SIM_ARN_MAX];
	char *const *deny;
	size_t ndeny;
	sts_caller(c->s, cred, c->akid, &account, arn, sizeof(arn), &deny, &ndeny);
	if (sim_deny_has(deny, ndeny, c->action) || foreign_table(c, account, arn))
		return setcode(c, "UnauthorizedOperation");
	if (dry && strcasecmp(dry, "true") == 0)
		return setcode(c, "DryRunOperation");
	if (dry && strcasecmp(dry, "false") != 0)
		return seterr(c, 400, "InvalidParameterValue",
			      "Value (%.40s) for parameter dryRun is invalid.", dry);
	if (strcmp(c->action, "DescribeRouteTables") == 0)
		return do_describe(c);
	if (strcmp(c->action, "DescribeNetworkInterfaces") == 0)
		return do_describe_enis(c);
	if (strcmp(c->action, "ReplaceRoute") == 0)
		return do_replace(c);
	if (strcmp(c->action, "CreateRoute") == 0)
		return do_create(c);
	return do_delete(c);
}

static void execute(struct call *c)
{
	const struct sim_cred *cred = NULL;

	pthread_mutex_lock(&c->s->mu);
	switch (sigv4_verify(c->s, c->r, "ec2", &cred, c->akid, sizeof(c->akid), c->why,
			     sizeof(c->why))) {
	case SIGV4_OK:
		c->why[0] = '\0';
		snprintf(c->by, sizeof(c->by), "%s%s", c->akid,
			 c->lose_answer ? " (answer lost)" : "");
		authorised_call(c, cred);
		break;
	case SIGV4_EXPIRED:
		setcode(c, "RequestExpired");
		break;
	case SIGV4_TOKEN_EXPIRED:
		/* Real EC2 answers expired temporary credentials either way. */
		if (c->s->sts_request_expired) {
			const struct sim_tmpcred *t = imds_tmpcred_find(c->s, c->akid);
			if (t && t->arole >= 0) {
				setcode(c, "RequestExpired");
				break;
			}
		}
		setcode(c, "AuthFailure");
		break;
	case SIGV4_AUTH:
	case SIGV4_UNKNOWN_KEY:
		setcode(c, "AuthFailure");
		break;
	}
	pthread_mutex_unlock(&c->s->mu);
}

static enum MHD_Result answer(struct call *c, const char *injected)
{
	const char *table = param(c, "RouteTableId");
	const char *dest = param(c, "DestinationCidrBlock");

	pthread_mutex_lock(&c->s->mu);
	sim_count(c->s, c->action, c->status == 200 ? NULL : c->code);
	pthread_mutex_unlock(&c->s->mu);
	if (c->status == 200)
		return sim_respond(c->r->conn, 200, EC2_CTYPE, c->body.data, c->body.len,
				   NULL, NULL);
	if (dest == NULL)
		dest = param(c, "DestinationIpv6CidrBlock");
	sim_log(c->s, "rejected %s%s%.64s%s%.64s by %s: %s (%u)%s%s%s", c->action_text,
		table ? " " : "", table ? table : "", dest ? " " : "", dest ? dest : "",
		c->akid[0] ? c->akid : "-", c->code, c->status, injected ? injected : "",
		c->why[0] ? ": " : "", c->why);
	buf_reset(&c->body);
	if (sim_bprintf(&c->body,
			XML_DECL "<Response><Errors><Error><Code>%s</Code><Message>",
			c->code) == -1 ||
	    sim_xml_escape(&c->body, c->msg) == -1 ||
	    sim_bprintf(&c->body,
			"</Message></Error></Errors><RequestID>%s</RequestID></Response>",
			c->reqid) == -1)
		return MHD_NO;
	return sim_respond(c->r->conn, c->status, EC2_CTYPE, c->body.data, c->body.len,
			   NULL, NULL);
}

static enum MHD_Result handle(struct call *c)
{
	struct fault_plan fp;

	if (strcmp(c->r->method, "POST") != 0 && strcmp(c->r->method, "GET") != 0) {
		seterr(c, 405, "InvalidHttpRequest",
		       "The HTTP method %.16s is not allowed.", c->r->method);
		return answer(c, NULL);
	}
	if (parse_params(c) == -1) {
		seterr(c, 400, "MalformedQueryString",
		       "The query string or form body is malformed or has too many "
		       "parameters.");
		return answer(c, NULL);
	}
	identify_action(c);
	if (sts_wants(c->r, param(c, "Action")))
		return sts_handle(c->s, c->r, call_param, c);
	identify_client(c);
	plan_faults(c, &fp);
	/* Every wait comes before the call is applied: a call overtaken by a
	 * later one while it waits is applied after it. */
	sim_sleep_ms(c->s, fp.latency_ms + fp.slow_ms + fp.delay_ms);
	if (fp.reset) {
		pthread_mutex_lock(&c->s->mu);
		sim_count(c->s, c->action, "ConnectionReset");
		pthread_mutex_unlock(&c->s->mu);
		sim_log(c->s, "reset %s (injected): connection closed without an answer",
			c->action_text);
		return MHD_NO;
	}
	sim_sleep_ms(c->s, fp.stall_ms);
	if (fp.code[0]) {
		setcode(c, fp.code);
		return answer(c, " (injected)");
	}
	/* The account's bucket, when the call would be applied (ratelimit.c). */
	if (sim_rl_take(c->s, c->action, c->why, sizeof(c->why)) == -1) {
		char rl[sizeof(c->why)];
		memcpy(rl, c->why, sizeof(rl));
		c->why[0] = '\0';
		setcode(c, "RequestLimitExceeded");
		return answer(c, rl);
	}
	c->lose_answer = fp.lose_answer;
	execute(c);
	if (c->lose_answer && c->status == 200) {
		/* The change is made and logged; the client never hears of it. */
		pthread_mutex_lock(&c->s->mu);
		sim_count(c->s, c->action, "AnswerLost");
		pthread_mutex_unlock(&c->s->mu);
		return MHD_NO;
	}
	return answer(c, NULL);
}

enum MHD_Result ec2_handle(struct sim *s, struct sim_req *r)
{
	struct call *c = xcalloc(1, sizeof(*c));
	enum MHD_Result ret;

	c->s = s;
	c->r = r;
	c->status = 500;
	buf_init(&c->body, SIM_RESP_MAX);
	sim_uuid(c->reqid);
	pthread_mutex_lock(&s->mu);
	if (++s->in_flight > s->max_concurrent)
		s->max_concurrent = s->in_flight;
	pthread_mutex_unlock(&s->mu);
	ret = handle(c);
	pthread_mutex_lock(&s->mu);
	s->in_flight--;
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < c->np; i++) {
		free(c->p[i].k);
		free(c->p[i].v);
	}
	buf_free(&c->body);
	free(c);
	return ret;
}
