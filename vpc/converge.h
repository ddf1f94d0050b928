/* converge.h — make every (route table, destination) point at one ENI:
 * one DescribeRouteTables for all tables, then ReplaceRoute where the target
 * differs and CreateRoute where the route is missing, all in parallel. A
 * Replace that finds no route flips to Create and vice versa (a lost race).
 * Also used read-only to show where routes point. */
#ifndef VPCF_CONVERGE_H
#define VPCF_CONVERGE_H

#include <stdint.h>

#include "lib/cidr.h"
#include "vpc/aws_cfg.h"
#include "vpc/ec2_xml.h"

enum cv_outcome {
	CV_PENDING,
	CV_UNCHANGED, /* already pointed at the ENI (or observe-only) */
	CV_REPLACED,
	CV_CREATED,
	CV_FAILED,
};

struct cv_item {
	struct cidr dest;
	int existed;		 /* the route was in the table when observed */
	struct ec2_route before; /* as observed (dest "" if missing) */
	enum cv_outcome outcome;
	int writes;	       /* write calls made (flips included) */
	uint64_t done_ms;      /* since the start */
	struct ec2_error err;  /* when failed */
	struct ec2_call *call; /* in flight */
};

struct cv_table {
	char id[AWS_ID_MAX];
	int observed;	      /* DescribeRouteTables returned it (or a blind pass) */
	struct ec2_error err; /* table-level failure (e.g. NotFound) */
	struct cv_item *items;
	uint64_t done_ms; /* when its last item finished, since the start */
};

struct cv_result {
	struct cv_table *tables;
	size_t ntables;
	size_t ndest;
	uint64_t elapsed_ms;
	unsigned failed_tables;
};

struct cv_spec {
	char (*tables)[AWS_ID_MAX];
	size_t ntables;
	const struct cidr *dests;
	size_t ndests;
	const char *eni;   /* target; ignored when observe_only */
	uint64_t deadline; /* ev_now() ms */
	int observe_only;
	int dry_run;	       /* writes carry DryRun=true: a permission probe */
	int blind;	       /* write without describing first (ReplaceRoute,
				* CreateRoute if there is no route): one round
				* trip instead of two, for a fresh failover */
	const char *only_from; /* non-NULL: write only routes that point at this
				* ENI now (a hand-back); never blind */
	int creds;	       /* auth_slot of the group's own role; 0: [aws] */
};

struct cv_op;
/* The result is valid during the call only. */
typedef void (*cv_done_fn)(void *arg, const struct cv_result *res);

/* Start; fn runs from the event loop when every table finished. */
struct cv_op *cv_start(const struct cv_spec *spec, cv_done_fn fn, void *arg);
/* Abandon: in-flight calls are cancelled, fn never runs. */
void cv_cancel(struct cv_op *op);
/* Does an observed route point at eni and work? */
int cv_route_is(const struct ec2_route *r, const char *eni);
/* Human name of an outcome ("replaced", ...). */
const char *cv_outcome_name(enum cv_outcome o);

#endif
