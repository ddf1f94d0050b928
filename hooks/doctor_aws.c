/* doctor_aws.c — doctor's AWS checks: instance metadata (IMDSv2),
 * credentials, IAM probed with DryRun=true calls (EC2 answers
 * DryRunOperation when allowed, UnauthorizedOperation when denied, and
 * changes nothing), the route tables and this node's ENIs. Each check waits
 * for its answers before the next starts: later checks depend on earlier
 * ones (no region without metadata or config, no EC2 without credentials). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/cfg.h"
#include "daemon/identity.h"
#include "hooks/doctor_check.h"
#include "lib/ev.h"
#include "lib/util.h"
#include "vpc/auth.h"
#include "vpc/ec2.h"
#include "vpc/imds.h"
#include "vpc/session.h"

#define POLICY_HINT "hooks/examples/iam-policy.json"

/* One configured route table, and what EC2 said about it. */
struct dtable {
	char id[AWS_ID_MAX];
	const struct cfg_group *g; /* the first group that uses it */
	enum { T_UNKNOWN, T_FOUND, T_MISSING, T_ERROR } state;
	char vpc[AWS_ID_MAX];
	struct ec2_route *routes;
	size_t nroutes;
	struct ec2_error err;
};

/* One ENI the config makes this node's, and what EC2 said about it. */
struct deni {
	char id[AWS_ID_MAX];
	const struct cfg_group *g; /* the first group that uses it */
	enum { E_UNKNOWN, E_FOUND, E_MISSING, E_ERROR } state;
	struct ec2_eni e;
	struct ec2_error err;
};

/* A DryRun probe: allowed (1), denied (0) or another answer (-1). */
struct probe {
	struct doc *d;
	const char *action;
	const char *table; /* NULL for the Describe calls */
	int verdict;
	struct ec2_error err;
};

/* ---- the event loop, step by step ---- */

static void on_overdue(void *arg)
{
	struct doc *d = arg;

	d->overdue = 1;
	ev_stop();
}

static void op_done(struct doc *d)
{
	if (d->pending > 0 && --d->pending == 0)
		ev_stop();
}

/* Run the loop until every pending answer came. Every call has a deadline
 * of its own; this bound only guards against a bug leaving us waiting. */
static int wait_all(struct doc *d)
{
	uint64_t t;

	if (d->pending == 0)
		return 0;
	t = ev_timer_add(d->cfg->aws.api_deadline_ms + 30000, on_overdue, d);
	ev_run();
	ev_timer_cancel(t);
	if (d->overdue) {
		doc_say(d, V_FAIL, "no answer within %u s: the checks stop here",
			d->cfg->aws.api_deadline_ms / 1000 + 30);
		return -1;
	}
	return 0;
}

/* ---- instance metadata ---- */

static void on_identity(void *arg, int rc, const struct imds_identity *id,
			const char *err)
{
	struct doc *d = arg;

	if (rc == 0) {
		d->have_id = 1;
		d->id = *id;
	} else {
		snprintf(d->id_err, sizeof(d->id_err), "%s", err);
	}
	op_done(d);
}

/* The account id, for exact ARNs in IAM advice; "" if not available. */
static void on_document(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct doc *d = arg;
	json_t *o = rc == 0 ? json_loadb(body, len, 0, NULL) : NULL;
	const char *acct = json_string_value(json_object_get(o, "accountId"));

	if (acct && strlen(acct) == 12 && strspn(acct, "0123456789") == 12)
		snprintf(d->account, sizeof(d->account), "%s", acct);
	json_decref(o);
	op_done(d);
}

static void on_role(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct doc *d = arg;

	if (rc == 0 && len > 0 && len < sizeof(d->role)) {
		memcpy(d->role, body, len);
		d->role[len] = '\0';
		d->role[strcspn(d->role, "\r\n")] = '\0';
		for (char *p = d->role; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				*p = '?';
	}
	op_done(d);
}

static const char *metadata_url(const struct doc *d)
{
	return d->cfg->aws.metadata_endpoint[0] ? d->cfg->aws.metadata_endpoint
						: IMDS_ENDPOINT_DEFAULT;
}

static void check_metadata(struct doc *d)
{
	d->pending = 1;
	if (imds_identity(on_identity, d) == -1) {
		d->pending = 0;
		snprintf(d->id_err, sizeof(d->id_err), "the request could not start");
	}
	if (wait_all(d) == -1)
		return;
	if (!d->have_id) {
		doc_say(d, ident_needs_metadata(d->cfg, NULL) ? V_FAIL : V_WARN,
			"instance metadata (IMDSv2) at %s: %s: check the "
			"instance's metadata "
			"options (IMDSv2 enabled, hop limit 2 inside containers) "
			"or [aws] "
			"metadata_endpoint",
			metadata_url(d), d->id_err);
		return;
	}
	doc_say(d, V_OK, "instance metadata (IMDSv2) at %s: %s in %s, primary ENI %s",
		metadata_url(d), d->id.instance_id, d->id.az, d->id.eni);
	d->pending = 1;
	if (imds_get("dynamic/instance-identity/document", on_document, d) == -1)
		d->pending = 0;
	wait_all(d);
}

/* ---- credentials ---- */

static void on_creds(void *arg, const struct aws_creds *c, const char *err)
{
	struct doc *d = arg;

	if (c) {
		char until[64] = "";
		d->have_creds = 1;
		if (c->expiration > 0) {
			struct tm tm;
			time_t t = (time_t)c->expiration;
			gmtime_r(&t, &tm);
			strftime(until, sizeof(until), ", valid until %Y-%m-%dT%H:%M:%SZ",
				 &tm);
		}
		if (strcmp(c->source, "instance-role") == 0)
			doc_say(d, V_OK,
				"AWS credentials from the instance profile's "
				"role%s%s%s",
				d->role[0] ? " " : "", d->role, until);
		else if (strcmp(c->source, "file") == 0)
			doc_say(d, V_OK, "AWS credentials from %s [%s]%s",
				d->cfg->aws.credentials_file, d->cfg->aws.profile, until);
		else
			doc_say(d, V_OK,
				"AWS credentials from the environment "
				"(AWS_ACCESS_KEY_ID)%s",
				until);
	} else {
		doc_say(d, V_FAIL,
			"no AWS credentials: %s: attach an instance profile "
			"whose role has "
			"the policy of " POLICY_HINT ", or set [aws] credentials_file",
			err);
	}
	op_done(d);
}

static void check_credentials(struct doc *d)
{
	if (strcmp(auth_source(), "instance-role") == 0) {
		if (!d->have_id) {
			doc_say(d, V_FAIL,
				"no AWS credentials: the instance role's come from "
				"the "
				"instance "
				"metadata (above), or set [aws] credentials_file");
			return;
		}
		d->pending = 1;
		if (imds_get("meta-data/iam/security-credentials/", on_role, d) == -1)
			d->pending = 0;
		if (wait_all(d) == -1)
			return;
	}
	d->pending = 1;
	auth_base_get(on_creds, d);
	wait_all(d);
}

/* ---- STS: the roles whose credentials the EC2 calls use ---- */

/* The account of a role ARN (its fifth field) into out. */
static void role_account(const char *arn, char *out, size_t outsz)
{
	const char *p = arn;

	out[0] = '\0';
	for (int i = 0; i < 4 && p; i++)
		if ((p = strchr(p, ':')) != NULL)
			p++;
	if (p)
		snprintf(out, outsz, "%.*s", (int)strcspn(p, ":"), p);
}

struct assume {
	struct doc *d;
	int slot;
	const char *group; /* NULL: [aws] role_arn */
	int ok;
};

static void on_assumed(void *arg, const struct aws_creds *c, const char *err)
{
	struct assume *a = arg;
	struct doc *d = a->d;
	char who[INI_NAME_MAX + 16] = "";

	if (a->group)
		snprintf(who, sizeof(who), "[%s] ", a->group);
	if (c) {
		char until[64] = "";
		time_t t = (time_t)c->expiration;
		struct tm tm;
		if (c->expiration > 0 && gmtime_r(&t, &tm))
			strftime(until, sizeof(until), ", valid until %Y-%m-%dT%H:%M:%SZ",
				 &tm);
		a->ok = 1;
		doc_say(d, V_OK,
			"%sAssumeRole %s as %s%s; the EC2 checks below run as it", who,
			auth_role_arn(a->slot), auth_assumed_arn(a->slot), until);
	} else {
		doc_say(d, V_FAIL, "%s%s", who, err);
	}
	op_done(d);
}

/* Assume slot's role (group: whose), say how it went; 0 or -1. */
static int assume_one(struct doc *d, int slot, const char *group)
{
	struct assume a = {d, slot, group, 0};

	if (slot < 0) {
		doc_say(d, V_FAIL, "[%s] too many different role_arn", group);
		return -1;
	}
	d->pending = 1;
	auth_get_as(slot, on_assumed, &a);
	if (wait_all(d) == -1 || !a.ok)
		return -1;
	return 0;
}

/* With [aws] role_arn or a group's own: assume each role (STS), so that the
 * DryRun probes that follow run with the role's credentials, as the
 * daemon's calls do. The route tables' ARNs are then the role's
 * account's. */
static int check_assume_role(struct doc *d)
{
	int rc = 0;

	if (auth_role_arn(0)[0]) {
		role_account(auth_role_arn(0), d->account, sizeof(d->account));
		if (assume_one(d, 0, NULL) == -1)
			return -1;
	}
	for (size_t i = 0; i < d->cfg->ngroups; i++) {
		const struct cfg_group *g = &d->cfg->groups[i];
		int slot = ident_group_creds(g), seen = 0;
		if (slot == 0)
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= ident_group_creds(&d->cfg->groups[j]) == slot;
		if (!seen && assume_one(d, slot, g->name) == -1)
			rc = -1;
	}
	return rc;
}

/* ---- EC2: IAM, route tables, ENIs ---- */

static void collect(struct doc *d)
{
	for (size_t i = 0; i < d->cfg->ngroups; i++) {
		const struct cfg_group *g = &d->cfg->groups[i];
		const char *eni = ident_group_eni(g, d->have_id ? &d->id : NULL);
		for (size_t t = 0; t < g->nroute_tables; t++) {
			size_t k;
			for (k = 0; k < d->ntables; k++)
				if (strcmp(d->tables[k].id, g->route_tables[t]) == 0)
					break;
			if (k < d->ntables)
				continue;
			d->tables = xgrow(d->tables, d->ntables, sizeof(*d->tables));
			memset(&d->tables[d->ntables], 0, sizeof(d->tables[0]));
			snprintf(d->tables[d->ntables].id, AWS_ID_MAX, "%s",
				 g->route_tables[t]);
			d->tables[d->ntables++].g = g;
		}
		if (eni[0] == '\0')
			continue;
		size_t k;
		for (k = 0; k < d->nenis; k++)
			if (strcmp(d->enis[k].id, eni) == 0)
				break;
		if (k < d->nenis)
			continue;
		d->enis = xgrow(d->enis, d->nenis, sizeof(*d->enis));
		memset(&d->enis[d->nenis], 0, sizeof(d->enis[0]));
		snprintf(d->enis[d->nenis].id, AWS_ID_MAX, "%s", eni);
		d->enis[d->nenis++].g = g;
	}
}

static void on_probe(void *arg, enum ec2_class cls, const struct ec2_error *err,
		     const char *body, size_t len)
{
	struct probe *p = arg;

	if (cls == EC2_OK)
		p->verdict = 1;
	else if (strcmp(err->code, "UnauthorizedOperation") == 0)
		p->verdict = 0;
	else {
		p->verdict = -1;
		p->err = *err;
	}
	op_done(p->d);
}

/* A DryRun call with the credentials of slot (a group's own role, or 0). */
static void probe_start(struct doc *d, struct probe *p, int slot, const char *action,
			const char *table, const char *params)
{
	p->d = d;
	p->action = action;
	p->table = table;
	d->pending++;
	if (ec2_call_as(slot, action, params, d->deadline, on_probe, p) == NULL) {
		d->pending--;
		p->verdict = -1;
		snprintf(p->err.message, sizeof(p->err.message), "could not start");
	}
}

/* A route table's ARN: in the account of the role its group assumes. */
static void arn(const struct doc *d, const struct dtable *t, char *out, size_t n)
{
	char acct[32] = "";

	if (t->g->role_arn[0])
		role_account(t->g->role_arn, acct, sizeof(acct));
	snprintf(out, n, "arn:aws:ec2:%s:%s:route-table/%s", d->region,
		 acct[0]	 ? acct
		 : d->account[0] ? d->account
				 : "ACCOUNT",
		 t->id);
}

static void probe_error_line(struct doc *d, const struct probe *p)
{
	doc_say(d, V_FAIL, "ec2:%s with DryRun%s%s: %s%s%s", p->action,
		p->table ? " on " : "", p->table ? p->table : "", p->err.code,
		p->err.code[0] ? ": " : "", p->err.message);
}

/* The result of one write action's probes: one ok line for the allowed
 * tables, one FAIL line per denied or failed table. */
static void report_writes(struct doc *d, struct probe *p, size_t n)
{
	char ok[LIST_MAX] = "", a[160];
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		if (p[i].verdict == 1 && len < sizeof(ok))
			len += (size_t)snprintf(ok + len, sizeof(ok) - len, "%s%s",
						len ? ", " : "", p[i].table);
	if (len)
		doc_say(d, V_OK, "IAM allows ec2:%s on %s (DryRun)", p[0].action, ok);
	for (size_t i = 0; i < n; i++) {
		if (p[i].verdict == 0) {
			arn(d, &d->tables[i], a, sizeof(a)); /* p[i] probes tables[i] */
			doc_say(d, V_FAIL,
				"IAM denies ec2:%s on %s: allow it on %s "
				"(see " POLICY_HINT ")",
				p[i].action, p[i].table, a);
		} else if (p[i].verdict == -1) {
			probe_error_line(d, &p[i]);
		}
	}
}

/* DescribeRouteTables first: an answer other than allowed/denied (bad
 * credentials, endpoint unreachable, clock skew) stops the EC2 checks. */
static int check_iam(struct doc *d)
{
	struct probe desc, *rep = NULL, *cre = NULL, dni;
	struct buf b;
	char key[48];
	int rc = -1;

	memset(&desc, 0, sizeof(desc));
	memset(&dni, 0, sizeof(dni));
	buf_init(&b, 1 << 20);
	buf_append(&b, "DryRun=true", 11);
	for (size_t i = 0; i < d->ntables; i++) {
		snprintf(key, sizeof(key), "&RouteTableId.%zu=", i + 1);
		buf_append(&b, key, strlen(key));
		buf_append(&b, d->tables[i].id, strlen(d->tables[i].id));
	}
	probe_start(d, &desc, 0, "DescribeRouteTables", NULL, buf_str(&b));
	buf_free(&b);
	if (wait_all(d) == -1)
		goto out;
	if (desc.verdict == -1) {
		doc_say(d, V_FAIL,
			"EC2 at %s: ec2:DescribeRouteTables with DryRun: %s%s%s",
			ec2_endpoint(), desc.err.code, desc.err.code[0] ? ": " : "",
			desc.err.message);
		goto out;
	}
	if (desc.verdict == 0) {
		d->describe_denied = 1;
		doc_say(d, V_FAIL,
			"IAM denies ec2:DescribeRouteTables: allow it with "
			"\"Resource\": "
			"\"*\" "
			"(Describe calls cannot be limited to resources; "
			"see " POLICY_HINT ")");
	} else {
		doc_say(d, V_OK, "IAM allows ec2:DescribeRouteTables (DryRun)");
	}

	/* The writes, per table: the first destination of the first group that
	 * uses it, to this node's ENI. */
	rep = xcalloc(d->ntables + 1, sizeof(*rep));
	cre = xcalloc(d->ntables + 1, sizeof(*cre));
	for (size_t i = 0; i < d->ntables; i++) {
		const struct dtable *t = &d->tables[i];
		const char *eni = ident_group_eni(t->g, d->have_id ? &d->id : NULL);
		if (eni[0] == '\0' || t->g->ndestinations == 0) {
			rep[i].verdict = cre[i].verdict = -2; /* not probed */
			continue;
		}
		char *params = ec2_route_params(t->id, &t->g->destinations[0], eni, 1);
		int slot = ident_group_creds(t->g);
		probe_start(d, &rep[i], slot, "ReplaceRoute", t->id, params);
		probe_start(d, &cre[i], slot, "CreateRoute", t->id, params);
		free(params);
	}
	if (d->nenis) {
		buf_init(&b, 1 << 20);
		buf_append(&b, "DryRun=true", 11);
		for (size_t i = 0; i < d->nenis; i++) {
			snprintf(key, sizeof(key), "&NetworkInterfaceId.%zu=", i + 1);
			buf_append(&b, key, strlen(key));
			buf_append(&b, d->enis[i].id, strlen(d->enis[i].id));
		}
		probe_start(d, &dni, 0, "DescribeNetworkInterfaces", NULL, buf_str(&b));
		buf_free(&b);
	}
	if (wait_all(d) == -1)
		goto out;
	if (d->ntables && rep[0].verdict == -2)
		doc_say(d, V_WARN,
			"ec2:ReplaceRoute and ec2:CreateRoute not checked: this "
			"node's ENI "
			"is "
			"unknown (no metadata, no network_interface)");
	else {
		report_writes(d, rep, d->ntables);
		report_writes(d, cre, d->ntables);
	}
	if (d->nenis && dni.verdict == 1) {
		doc_say(d, V_OK, "IAM allows ec2:DescribeNetworkInterfaces (DryRun)");
	} else if (d->nenis && dni.verdict == 0) {
		d->enis_denied = 1;
		doc_say(d, V_WARN,
			"IAM denies ec2:DescribeNetworkInterfaces: the ENI "
			"checks below "
			"cannot "
			"run; allow it with \"Resource\": \"*\" (the daemon "
			"itself does not "
			"need it; see " POLICY_HINT ")");
	} else if (d->nenis) {
		probe_error_line(d, &dni);
	}
	rc = 0;
out:
	free(rep);
	free(cre);
	return rc;
}

/* Answers to the route-table describes: one call for all, then one per
 * table when EC2 refused the whole call for an unknown id. */
struct tcall {
	struct doc *d;
	size_t idx; /* table index, or (size_t)-1 for the batched call */
	int rc;
	struct ec2_error err;
};

static void keep_table(struct dtable *dt, const struct ec2_table *t)
{
	dt->state = T_FOUND;
	snprintf(dt->vpc, sizeof(dt->vpc), "%s", t->vpc);
	free(dt->routes);
	dt->routes = t->nroutes ? xcalloc(t->nroutes, sizeof(*dt->routes)) : NULL;
	if (t->nroutes)
		memcpy(dt->routes, t->routes, t->nroutes * sizeof(*dt->routes));
	dt->nroutes = t->nroutes;
}

static void on_tables(void *arg, int rc, const struct ec2_table *tables, size_t n,
		      const struct ec2_error *err)
{
	struct tcall *c = arg;
	struct doc *d = c->d;

	c->rc = rc;
	if (rc == -1) {
		c->err = *err;
	} else {
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < d->ntables; k++)
				if (strcmp(tables[i].id, d->tables[k].id) == 0)
					keep_table(&d->tables[k], &tables[i]);
	}
	if (c->idx != (size_t)-1) {
		struct dtable *dt = &d->tables[c->idx];
		if (rc == -1) {
			dt->state = strcmp(err->code, "InvalidRouteTableID.NotFound") == 0
					? T_MISSING
					: T_ERROR;
			dt->err = *err;
		} else if (dt->state != T_FOUND) {
			dt->state = T_MISSING; /* an empty answer for the id */
		}
	}
	op_done(d);
}

static void describe_tables(struct doc *d, struct tcall *c, size_t idx,
			    char (*ids)[AWS_ID_MAX], size_t n)
{
	c->d = d;
	c->idx = idx;
	d->pending++;
	if (ec2_describe_tables(ids, n, d->deadline, on_tables, c) == NULL) {
		d->pending--;
		c->rc = -1;
		snprintf(c->err.message, sizeof(c->err.message), "could not start");
	}
}

/* Which groups use table id, for the advice: "[group a], [group b]". */
static void groups_using(const struct doc *d, const char *id, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < d->cfg->ngroups && len < n; i++) {
		const struct cfg_group *g = &d->cfg->groups[i];
		for (size_t t = 0; t < g->nroute_tables; t++)
			if (strcmp(g->route_tables[t], id) == 0) {
				len +=
				    (size_t)snprintf(out + len, n - len, "%s[group %s]",
						     len ? ", " : "", g->name);
				break;
			}
	}
}

static const struct ec2_route *route_for(const struct dtable *t, const char *dest)
{
	for (size_t i = 0; i < t->nroutes; i++)
		if (strcmp(t->routes[i].dest, dest) == 0)
			return &t->routes[i];
	return NULL;
}

/* Where each destination of each group points now. */
static void report_targets(struct doc *d)
{
	for (size_t i = 0; i < d->cfg->ngroups; i++) {
		const struct cfg_group *g = &d->cfg->groups[i];
		const char *eni = ident_group_eni(g, d->have_id ? &d->id : NULL);
		for (size_t t = 0; t < g->nroute_tables; t++) {
			const struct dtable *dt = NULL;
			for (size_t k = 0; k < d->ntables && dt == NULL; k++)
				if (strcmp(d->tables[k].id, g->route_tables[t]) == 0)
					dt = &d->tables[k];
			if (dt == NULL || dt->state != T_FOUND)
				continue;
			for (size_t x = 0; x < g->ndestinations; x++) {
				const char *dest = g->destinations[x].text;
				const struct ec2_route *r = route_for(dt, dest);
				if (r == NULL)
					doc_say(d, V_INFO,
						"[%s] %s in %s: no route yet "
						"(the first "
						"MASTER "
						"creates it)",
						g->name, dest, dt->id);
				else if (r->eni[0] == '\0')
					doc_say(d, V_WARN,
						"[%s] %s in %s points at %s, not "
						"a network "
						"interface: the MASTER will "
						"replace it; is "
						"%s "
						"really the overlay address?",
						g->name, dest, dt->id,
						r->gateway[0] ? r->gateway : "no target",
						dest);
				else if (strcmp(r->state, "blackhole") == 0)
					doc_say(d, V_WARN,
						"[%s] %s in %s -> %s, blackhole (no "
						"running "
						"instance holds it): the next MASTER "
						"replaces it",
						g->name, dest, dt->id, r->eni);
				else
					doc_say(d, V_INFO,
						"[%s] %s in %s -> %s%s%s%s, %s: %s",
						g->name, dest, dt->id, r->eni,
						r->instance[0] ? " (" : "", r->instance,
						r->instance[0] ? ")" : "", r->state,
						eni[0] && strcmp(eni, r->eni) == 0
						    ? "this node"
						    : "another node");
			}
		}
	}
}

static void check_tables(struct doc *d)
{
	struct tcall all, *one = NULL;
	char(*ids)[AWS_ID_MAX] = xcalloc(d->ntables + 1, AWS_ID_MAX);
	char users[LIST_MAX];

	memset(&all, 0, sizeof(all));
	for (size_t i = 0; i < d->ntables; i++)
		snprintf(ids[i], AWS_ID_MAX, "%s", d->tables[i].id);
	describe_tables(d, &all, (size_t)-1, ids, d->ntables);
	if (wait_all(d) == -1)
		goto out;
	if (all.rc == -1 && strcmp(all.err.code, "InvalidRouteTableID.NotFound") == 0) {
		/* EC2 names one unknown id and answers for none: ask per table.
		 */
		one = xcalloc(d->ntables, sizeof(*one));
		for (size_t i = 0; i < d->ntables; i++)
			describe_tables(d, &one[i], i, &ids[i], 1);
		if (wait_all(d) == -1)
			goto out;
	} else if (all.rc == -1) {
		doc_say(d, V_FAIL, "ec2:DescribeRouteTables: %s%s%s", all.err.code,
			all.err.code[0] ? ": " : "", all.err.message);
		goto out;
	}
	for (size_t i = 0; i < d->ntables; i++) {
		struct dtable *t = &d->tables[i];
		groups_using(d, t->id, users, sizeof(users));
		if (t->state == T_FOUND)
			doc_say(d, V_OK, "route table %s exists (%s)", t->id, t->vpc);
		else if (t->state == T_ERROR)
			doc_say(d, V_FAIL,
				"route table %s: ec2:DescribeRouteTables: %s%s%s", t->id,
				t->err.code, t->err.code[0] ? ": " : "", t->err.message);
		else
			doc_say(d, V_FAIL,
				"route table %s does not exist "
				"(InvalidRouteTableID.NotFound): "
				"fix route_tables in %s of %s",
				t->id, users, d->cfg_path);
	}
	report_targets(d);
out:
	free(one);
	free(ids);
}

struct ecall {
	struct doc *d;
	size_t idx; /* ENI index, or (size_t)-1 for the batched call */
	int rc;
	struct ec2_error err;
};

static void on_enis(void *arg, int rc, const struct ec2_eni *enis, size_t n,
		    const struct ec2_error *err)
{
	struct ecall *c = arg;
	struct doc *d = c->d;

	c->rc = rc;
	if (rc == -1)
		c->err = *err;
	for (size_t i = 0; rc == 0 && i < n; i++)
		for (size_t k = 0; k < d->nenis; k++)
			if (strcmp(enis[i].id, d->enis[k].id) == 0) {
				d->enis[k].state = E_FOUND;
				d->enis[k].e = enis[i];
			}
	if (c->idx != (size_t)-1) {
		struct deni *de = &d->enis[c->idx];
		if (rc == -1) {
			de->state =
			    strcmp(err->code, "InvalidNetworkInterfaceID.NotFound") == 0
				? E_MISSING
				: E_ERROR;
			de->err = *err;
		} else if (de->state != E_FOUND) {
			de->state = E_MISSING;
		}
	}
	op_done(d);
}

static void describe_enis(struct doc *d, struct ecall *c, size_t idx,
			  const char *const *ids, size_t n)
{
	c->d = d;
	c->idx = idx;
	d->pending++;
	if (ec2_describe_enis(ids, n, d->deadline, on_enis, c) == NULL) {
		d->pending--;
		c->rc = -1;
		snprintf(c->err.message, sizeof(c->err.message), "could not start");
	}
}

/* The advice for a wrong ENI: which key, and what leaving it empty gives. */
static void eni_fix(const struct doc *d, const struct cfg_group *g, char *out, size_t n)
{
	if (g->network_interface[0])
		snprintf(out, n,
			 "set network_interface in [group %s] to an interface of this "
			 "instance%s%s%s",
			 g->name, d->have_id ? " (empty: the primary, " : "",
			 d->have_id ? d->id.eni : "", d->have_id ? ")" : "");
	else
		snprintf(out, n, "the metadata's primary ENI is wrong?");
}

/* One ENI: exists, source/dest check off, this instance's, this AZ, the
 * route tables' VPC. */
static void report_eni(struct doc *d, const struct deni *de)
{
	const struct ec2_eni *e = &de->e;
	char fix[256];
	int bad = 0;

	eni_fix(d, de->g, fix, sizeof(fix));
	if (de->state == E_MISSING) {
		doc_say(d, V_FAIL,
			"ENI %s does not exist "
			"(InvalidNetworkInterfaceID.NotFound): %s",
			de->id, fix);
		return;
	}
	if (de->state != E_FOUND) {
		doc_say(d, V_FAIL, "ENI %s: ec2:DescribeNetworkInterfaces: %s%s%s",
			de->id, de->err.code, de->err.code[0] ? ": " : "",
			de->err.message);
		return;
	}
	if (e->source_dest_check == 1) {
		bad = 1;
		doc_say(d, V_FAIL,
			"ENI %s has source/destination check enabled: aws ec2 "
			"modify-network-interface-attribute "
			"--network-interface-id %s "
			"--no-source-dest-check",
			e->id, e->id);
	} else if (e->source_dest_check == -1) {
		bad = 1;
		doc_say(d, V_WARN,
			"ENI %s: EC2 did not report its source/destination check", e->id);
	}
	if (d->have_id && strcmp(e->instance, d->id.instance_id) != 0) {
		bad = 1;
		doc_say(d, V_FAIL,
			"ENI %s is attached to %s, not to this instance %s: %s", e->id,
			e->instance[0] ? e->instance : "no instance", d->id.instance_id,
			fix);
	} else if (d->have_id && strcmp(e->az, d->id.az) != 0) {
		bad = 1;
		doc_say(d, V_FAIL, "ENI %s is in %s, this instance in %s: %s", e->id,
			e->az, d->id.az, fix);
	}
	for (size_t i = 0; i < d->ntables; i++) {
		const struct dtable *t = &d->tables[i];
		if (t->state == T_FOUND && t->vpc[0] && e->vpc[0] &&
		    strcmp(t->vpc, e->vpc) != 0) {
			bad = 1;
			doc_say(d, V_FAIL,
				"route table %s is in %s, ENI %s in %s: a route "
				"cannot "
				"target "
				"an interface of another VPC",
				t->id, t->vpc, e->id, e->vpc);
		}
	}
	if (e->status[0] && strcmp(e->status, "in-use") != 0) {
		bad = 1;
		doc_say(d, V_WARN, "ENI %s is %s, not in-use", e->id, e->status);
	}
	if (!bad)
		doc_say(d, V_OK,
			"ENI %s: source/destination check disabled, attached to "
			"%s in %s",
			e->id, e->instance, e->az);
}

static void check_enis(struct doc *d)
{
	struct ecall all, *one = NULL;
	const char **ids = xcalloc(d->nenis + 1, sizeof(*ids));

	memset(&all, 0, sizeof(all));
	for (size_t i = 0; i < d->nenis; i++)
		ids[i] = d->enis[i].id;
	describe_enis(d, &all, (size_t)-1, ids, d->nenis);
	if (wait_all(d) == -1)
		goto out;
	if (all.rc == -1 &&
	    strcmp(all.err.code, "InvalidNetworkInterfaceID.NotFound") == 0) {
		one = xcalloc(d->nenis, sizeof(*one));
		for (size_t i = 0; i < d->nenis; i++)
			describe_enis(d, &one[i], i, &ids[i], 1);
		if (wait_all(d) == -1)
			goto out;
	} else if (all.rc == -1) {
		doc_say(d, V_FAIL, "ec2:DescribeNetworkInterfaces: %s%s%s", all.err.code,
			all.err.code[0] ? ": " : "", all.err.message);
		goto out;
	}
	for (size_t i = 0; i < d->nenis; i++)
		report_eni(d, &d->enis[i]);
out:
	free(one);
	free(ids);
}

static void check_ec2(struct doc *d)
{
	const char *region = d->cfg->aws.region[0] ? d->cfg->aws.region
			     : d->have_id	   ? d->id.region
						   : "";

	if (!d->have_creds)
		return; /* said above */
	if (region[0] == '\0') {
		doc_say(d, V_FAIL,
			"the region is unknown (no metadata): set [aws] region; "
			"the EC2 "
			"checks are skipped");
		return;
	}
	snprintf(d->region, sizeof(d->region), "%s", region);
	if (ec2_init(&d->cfg->aws, d->region) == -1) {
		doc_say(d, V_FAIL, "EC2 client: cannot start");
		return;
	}
	d->deadline = ev_now() + d->cfg->aws.api_deadline_ms;
	if (check_assume_role(d) == -1)
		return;
	collect(d);
	if (check_iam(d) == -1)
		return;
	d->deadline = ev_now() + d->cfg->aws.api_deadline_ms;
	if (!d->describe_denied && d->ntables)
		check_tables(d);
	if (!d->enis_denied && d->nenis)
		check_enis(d);
}

void doc_check_aws(struct doc *d)
{
	int rc;

	if (ev_init() == -1 || (rc = session_start(&d->cfg->aws)) == SESSION_NO_HTTP) {
		doc_say(d, V_FAIL, "cannot start the event loop or HTTP client (above)");
		return;
	}
	d->cloud = 1;
	check_metadata(d);
	if (rc == SESSION_NO_CREDS) {
		doc_say(d, V_FAIL,
			"AWS credentials: a configured source is broken (above): fix "
			"the AWS_* environment or [aws] credentials_file");
		return;
	}
	if (!d->overdue)
		check_credentials(d);
	if (!d->overdue)
		check_ec2(d);
}

void doc_aws_fini(struct doc *d)
{
	if (d->cloud) {
		session_stop();
		ev_fini();
		d->cloud = 0;
	}
	for (size_t i = 0; i < d->ntables; i++)
		free(d->tables[i].routes);
	free(d->tables);
	free(d->enis);
	d->tables = NULL;
	d->enis = NULL;
	d->ntables = d->nenis = 0;
}
