/* doctor_check.h — what the files of vpc-failover doctor share: the run's
 * state, the line writer, and each file's checks. Internal to
 * hooks/doctor*.c.
 *
 *   doctor.c       the driver: the order of the checks, the configuration and
 *                  daemon checks, the report (text or JSON)
 *   doctor_aws.c   instance metadata, credentials, IAM (DryRun), route
 *                  tables, ENIs
 *   doctor_ka.c    keepalived.conf against the configuration, and whether
 *                  keepalived runs (groups with source = keepalived)
 *   doctor_patroni.c  etcd and Patroni's keys (groups with source = patroni)
 *   doctor_sentinel.c the sentinels and their quorum (source = sentinel)
 *   doctor_guard.c each group's role guard, asked once
 *   doctor_check.c the report line and the same-file test they all use */
#ifndef VPCF_DOCTOR_CHECK_H
#define VPCF_DOCTOR_CHECK_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/cfg.h"
#include "vpc/imds.h"

#define LIST_MAX 400 /* bytes of ids listed in one line; longer lists are cut */

enum verdict { V_OK, V_INFO, V_WARN, V_FAIL };

struct dtable;
struct deni;

struct doc {
	FILE *out;	/* where the lines go: stdout */
	json_t *checks; /* --json: the checks, printed at the end instead */
	const char *cfg_path;
	const char *ka_path;
	struct cfg *cfg;
	unsigned n[4]; /* lines per verdict */
	char self[PATH_MAX];

	int cloud;	  /* doc_check_aws started the AWS session */
	unsigned pending; /* asynchronous answers still to come */
	int overdue;

	int have_id;
	struct imds_identity id;
	char account[16];
	char role[128];
	char id_err[512];
	int have_creds;
	int ec2_ok; /* region known and ec2_init done */
	char region[32];
	uint64_t deadline;

	struct dtable *tables;
	size_t ntables;
	struct deni *enis;
	size_t nenis;
	int describe_denied, enis_denied;
};

/* doctor_check.c: one line (or JSON object) with its verdict, counted in
 * d->n. */
void doc_say(struct doc *d, enum verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* doctor_check.c: is a and b the same file (or both unresolvable and equal as text)? */
int doc_same_file(const char *a, const char *b);

/* doctor.c: free what the checks found and the configuration. */
void doc_free(struct doc *d);

/* doctor_aws.c: start the AWS session and check metadata, credentials and
 * EC2 (IAM, route tables, ENIs), in that order. */
void doc_check_aws(struct doc *d);
/* doctor_aws.c: stop the session doc_check_aws started, free what it
 * found. */
void doc_aws_fini(struct doc *d);

/* doctor_guard.c: ask each group's role guard once. */
void doc_check_guard(struct doc *d);

/* doctor_ka.c: keepalived.conf against the configuration. */
void doc_check_keepalived_conf(struct doc *d);
/* doctor_patroni.c: etcd answers, the leader key and this member exist. */
void doc_check_patroni(struct doc *d);
/* doctor_sentinel.c: the sentinels answer, a quorum agrees on the master. */
void doc_check_sentinel(struct doc *d);
/* doctor_ka.c: does the pid file name a running keepalived? */
void doc_check_keepalived_running(struct doc *d);

#endif
