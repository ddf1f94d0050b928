/* converge.c — one convergence pass. Level-triggered: it looks at what the
 * tables say now and writes only the difference, so running it again is
 * harmless and a lost race resolves itself on the next pass. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vpc/converge.h"
#include "vpc/ec2.h"

#define CV_MAX_FLIPS 2 /* Create<->Replace races tolerated per route */

/* Callback arguments point into arrays the op owns, so nothing leaks when
 * calls are cancelled. */
struct item_ref {
	struct cv_op *op;
	size_t t, d;
};

struct describe_ref {
	struct cv_op *op;
	size_t index; /* into op->describes */
	size_t t;     /* single-table describe: its table; else SIZE_MAX */
};

struct cv_op {
	struct cv_result res;
	struct item_ref *irefs;	    /* ntables * ndest */
	struct describe_ref *drefs; /* ntables + 1: the batch, then one per table */
	char eni[AWS_ID_MAX];
	uint64_t started;
	uint64_t deadline;
	int observe_only;
	int dry_run;
	int slot;		    /* whose credentials (auth_slot) */
	char only_from[AWS_ID_MAX]; /* "" = write whatever differs */
	size_t pending;		    /* items and describes outstanding */
	struct ec2_describe **describes;
	size_t ndescribes;
	uint64_t timer;
	cv_done_fn fn;
	void *arg;
};

const char *cv_outcome_name(enum cv_outcome o)
{
	switch (o) {
	case CV_PENDING:
		return "pending";
	case CV_UNCHANGED:
		return "unchanged";
	case CV_REPLACED:
		return "replaced";
	case CV_CREATED:
		return "created";
	case CV_FAILED:
		return "failed";
	}
	return "?";
}

int cv_route_is(const struct ec2_route *r, const char *eni)
{
	return strcmp(r->eni, eni) == 0 && strcmp(r->state, "active") == 0;
}

static void op_free(struct cv_op *op)
{
	for (size_t t = 0; t < op->res.ntables; t++)
		free(op->res.tables[t].items);
	free(op->res.tables);
	free(op->describes);
	free(op->irefs);
	free(op->drefs);
	if (op->timer)
		ev_timer_cancel(op->timer);
	free(op);
}

static void op_done_timer(void *arg)
{
	struct cv_op *op = arg;
	op->timer = 0;
	op->res.elapsed_ms = ev_now() - op->started;
	op->res.failed_tables = 0;
	for (size_t t = 0; t < op->res.ntables; t++) {
		struct cv_table *tb = &op->res.tables[t];
		int failed = tb->err.code[0] || tb->err.message[0];
		for (size_t d = 0; d < op->res.ndest; d++)
			failed |= tb->items[d].outcome == CV_FAILED;
		op->res.failed_tables += failed;
	}
	op->fn(op->arg, &op->res);
	op_free(op);
}

static void op_settle(struct cv_op *op)
{
	if (--op->pending == 0)
		op->timer = ev_timer_add(0, op_done_timer, op);
}

static void table_update_done(struct cv_op *op, struct cv_table *tb)
{
	uint64_t now = ev_now() - op->started;
	for (size_t d = 0; d < op->res.ndest; d++)
		if (tb->items[d].outcome == CV_PENDING)
			return;
	tb->done_ms = now;
}

static void table_fail(struct cv_op *op, struct cv_table *tb, const struct ec2_error *err)
{
	tb->err = *err;
	for (size_t d = 0; d < op->res.ndest; d++) {
		tb->items[d].outcome = CV_FAILED;
		tb->items[d].err = *err;
		tb->items[d].done_ms = ev_now() - op->started;
	}
	tb->done_ms = ev_now() - op->started;
}

static int cidr_equal(const char *text, const struct cidr *c)
{
	struct cidr o;
	if (cidr_parse(text, &o) == -1)
		return strcmp(text, c->text) == 0;
	return o.family == c->family && o.plen == c->plen &&
	       memcmp(o.addr, c->addr, c->family == AF_INET ? 4 : 16) == 0;
}

static void item_write(struct cv_op *op, size_t t, size_t d);

static void on_write(void *arg, enum ec2_class cls, const struct ec2_error *err,
		     const char *body, size_t len)
{
	struct item_ref *ref = arg;
	struct cv_op *op = ref->op;
	struct cv_table *tb = &op->res.tables[ref->t];
	struct cv_item *it = &tb->items[ref->d];
	size_t t = ref->t, d = ref->d;

	it->call = NULL;
	switch (cls) {
	case EC2_OK:
		it->outcome = it->existed ? CV_REPLACED : CV_CREATED;
		break;
	case EC2_NO_ROUTE:
	case EC2_ROUTE_EXISTS:
		if (it->writes <= CV_MAX_FLIPS) {
			/* Someone else changed the table between our look and our write.
			 */
			it->existed = cls == EC2_ROUTE_EXISTS;
			log_info("%s %s: route %s meanwhile, switching to %s", tb->id,
				 it->dest.text, it->existed ? "appeared" : "vanished",
				 it->existed ? "ReplaceRoute" : "CreateRoute");
			item_write(op, t, d);
			return;
		}
		/* fall through */
	default:
		it->outcome = CV_FAILED;
		it->err = *err;
		if (strcmp(err->code, "RequestLimitExceeded") == 0) {
			/* EC2's account bucket: the caller decides what next. */
			log_info("%s %s: %s not sent in this pass: EC2's rate limit (%s)",
				 tb->id, it->dest.text,
				 it->existed ? "ReplaceRoute" : "CreateRoute",
				 err->message[0] ? err->message : "RequestLimitExceeded");
			break;
		}
		log_warnx("%s %s: %s failed: %s%s%s", tb->id, it->dest.text,
			  it->existed ? "ReplaceRoute" : "CreateRoute",
			  err->code[0] ? err->code : "error", err->message[0] ? ": " : "",
			  err->message);
		break;
	}
	it->done_ms = ev_now() - op->started;
	table_update_done(op, tb);
	op_settle(op);
}

static void item_write(struct cv_op *op, size_t t, size_t d)
{
	struct cv_table *tb = &op->res.tables[t];
	struct cv_item *it = &tb->items[d];
	struct item_ref *ref = &op->irefs[t * op->res.ndest + d];

	ref->op = op;
	ref->t = t;
	ref->d = d;
	it->writes++;
	char *params = ec2_route_params(tb->id, &it->dest, op->eni, op->dry_run);
	it->call = ec2_call_as(op->slot, it->existed ? "ReplaceRoute" : "CreateRoute",
			       params, op->deadline, on_write, ref);
	free(params);
	if (it->call == NULL) {
		it->outcome = CV_FAILED;
		snprintf(it->err.message, sizeof(it->err.message),
			 "could not start request");
		table_update_done(op, tb);
		op_settle(op);
	}
}

/* A table was observed (obs NULL: a blind pass assumes every route exists
 * and points elsewhere): decide per destination, start the writes. */
static void table_observed(struct cv_op *op, size_t t, const struct ec2_table *obs)
{
	struct cv_table *tb = &op->res.tables[t];

	tb->observed = 1;
	for (size_t d = 0; d < op->res.ndest; d++) {
		struct cv_item *it = &tb->items[d];
		if (obs == NULL) {
			it->existed = 1;
			op->pending++;
			item_write(op, t, d);
			continue;
		}
		for (size_t r = 0; r < obs->nroutes; r++) {
			if (cidr_equal(obs->routes[r].dest, &it->dest)) {
				it->existed = 1;
				it->before = obs->routes[r];
				break;
			}
		}
		if (op->observe_only ||
		    (it->existed && cv_route_is(&it->before, op->eni)) ||
		    (op->only_from[0] &&
		     !(it->existed && strcmp(it->before.eni, op->only_from) == 0))) {
			it->outcome = CV_UNCHANGED;
			it->done_ms = ev_now() - op->started;
			continue;
		}
		op->pending++;
		item_write(op, t, d);
	}
	table_update_done(op, tb);
}

static void describe_each(struct cv_op *op);

static void on_describe(void *arg, int rc, const struct ec2_table *tables, size_t n,
			const struct ec2_error *err)
{
	struct describe_ref *ref = arg;
	struct cv_op *op = ref->op;
	size_t single = ref->t;

	op->describes[ref->index] = NULL;
	if (rc == -1) {
		/* One unknown id fails the whole batch: ask table by table, so the
		 * others still converge and the bad one is named. */
		if (single == SIZE_MAX && op->res.ntables > 1 &&
		    strcmp(err->code, "InvalidRouteTableID.NotFound") == 0) {
			describe_each(op);
			op_settle(op);
			return;
		}
		for (size_t t = 0; t < op->res.ntables; t++)
			if (single == SIZE_MAX || single == t)
				table_fail(op, &op->res.tables[t], err);
		log_warnx("DescribeRouteTables%s%s: %s%s%s",
			  single == SIZE_MAX ? "" : " ",
			  single == SIZE_MAX ? "" : op->res.tables[single].id,
			  err->code[0] ? err->code : "error", err->message[0] ? ": " : "",
			  err->message);
		op_settle(op);
		return;
	}
	for (size_t t = 0; t < op->res.ntables; t++) {
		struct cv_table *tb = &op->res.tables[t];
		if (single != SIZE_MAX && single != t)
			continue;
		const struct ec2_table *found = NULL;
		for (size_t i = 0; i < n && !found; i++)
			if (strcmp(tables[i].id, tb->id) == 0)
				found = &tables[i];
		if (found) {
			table_observed(op, t, found);
		} else {
			struct ec2_error e;
			memset(&e, 0, sizeof(e));
			snprintf(e.code, sizeof(e.code), "InvalidRouteTableID.NotFound");
			snprintf(e.message, sizeof(e.message),
				 "DescribeRouteTables did not return %s", tb->id);
			table_fail(op, tb, &e);
		}
	}
	op_settle(op);
}

static int describe_start(struct cv_op *op, char (*ids)[AWS_ID_MAX], size_t n, size_t t)
{
	struct describe_ref *ref = &op->drefs[op->ndescribes];

	ref->op = op;
	ref->index = op->ndescribes;
	ref->t = t;
	op->describes[op->ndescribes] =
	    ec2_describe_tables_as(op->slot, ids, n, op->deadline, on_describe, ref);
	if (op->describes[op->ndescribes] == NULL)
		return -1;
	op->ndescribes++;
	op->pending++;
	return 0;
}

static void describe_each(struct cv_op *op)
{
	for (size_t t = 0; t < op->res.ntables; t++) {
		char id[1][AWS_ID_MAX];
		memcpy(id[0], op->res.tables[t].id, AWS_ID_MAX);
		if (describe_start(op, id, 1, t) == -1) {
			struct ec2_error e;
			memset(&e, 0, sizeof(e));
			snprintf(e.message, sizeof(e.message), "could not start request");
			table_fail(op, &op->res.tables[t], &e);
		}
	}
}

struct cv_op *cv_start(const struct cv_spec *spec, cv_done_fn fn, void *arg)
{
	struct cv_op *op = xcalloc(1, sizeof(*op));
	char(*ids)[AWS_ID_MAX] = xcalloc(spec->ntables ? spec->ntables : 1, AWS_ID_MAX);

	op->fn = fn;
	op->arg = arg;
	op->started = ev_now();
	op->deadline = spec->deadline;
	op->observe_only = spec->observe_only;
	op->dry_run = spec->dry_run;
	op->slot = spec->creds;
	if (spec->only_from)
		strlcpy_chk(op->only_from, spec->only_from, sizeof(op->only_from));
	if (spec->eni)
		strlcpy_chk(op->eni, spec->eni, sizeof(op->eni));
	op->res.ntables = spec->ntables;
	op->res.ndest = spec->ndests;
	op->res.tables =
	    xcalloc(spec->ntables ? spec->ntables : 1, sizeof(struct cv_table));
	op->irefs = xcalloc(spec->ntables * spec->ndests + 1, sizeof(*op->irefs));
	op->drefs = xcalloc(spec->ntables + 1, sizeof(*op->drefs));
	op->describes = xcalloc(spec->ntables + 1, sizeof(*op->describes));
	for (size_t t = 0; t < spec->ntables; t++) {
		struct cv_table *tb = &op->res.tables[t];
		memcpy(tb->id, spec->tables[t], AWS_ID_MAX);
		memcpy(ids[t], spec->tables[t], AWS_ID_MAX);
		tb->items =
		    xcalloc(spec->ndests ? spec->ndests : 1, sizeof(struct cv_item));
		for (size_t d = 0; d < spec->ndests; d++)
			tb->items[d].dest = spec->dests[d];
	}
	/* Held until set-up finishes, so no early completion. */
	op->pending = 1;
	if (spec->blind && !spec->observe_only && !op->only_from[0]) {
		for (size_t t = 0; t < spec->ntables; t++)
			table_observed(op, t, NULL);
	} else if (spec->ntables > 0 &&
		   describe_start(op, ids, spec->ntables, SIZE_MAX) == -1) {
		struct ec2_error e;
		memset(&e, 0, sizeof(e));
		snprintf(e.message, sizeof(e.message),
			 "could not start DescribeRouteTables");
		for (size_t t = 0; t < spec->ntables; t++)
			table_fail(op, &op->res.tables[t], &e);
	}
	free(ids);
	op_settle(op);
	return op;
}

void cv_cancel(struct cv_op *op)
{
	for (size_t i = 0; i < op->ndescribes; i++) {
		if (op->describes[i])
			ec2_describe_cancel(op->describes[i]);
	}
	for (size_t t = 0; t < op->res.ntables; t++)
		for (size_t d = 0; d < op->res.ndest; d++)
			if (op->res.tables[t].items[d].call)
				ec2_call_cancel(op->res.tables[t].items[d].call);
	op_free(op);
}
