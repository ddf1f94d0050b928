/* ec2.h — the EC2 Query API client (Version 2016-11-15): signed with
 * CURLOPT_AWS_SIGV4, retried with full-jitter backoff under a deadline,
 * at most max_parallel requests in flight, the rest queued in order. */
#ifndef VPCF_EC2_H
#define VPCF_EC2_H

#include <stdint.h>

#include "lib/cidr.h"
#include "vpc/aws_cfg.h"
#include "vpc/ec2_xml.h"

#define EC2_API_VERSION "2016-11-15"

struct ec2_call;
struct ec2_describe;

/* The answer to one call after retries: cls EC2_OK, or the class of the last
 * error (EC2_RETRY: retryable errors lasted until the deadline). err holds
 * the EC2 code and message, or the transport error. body valid in the call. */
typedef void (*ec2_call_fn)(void *arg, enum ec2_class cls, const struct ec2_error *err,
			    const char *body, size_t len);
/* rc 0 with tables (owned by the callee, valid during the call), or -1. */
typedef void (*ec2_describe_fn)(void *arg, int rc, const struct ec2_table *tables,
				size_t n, const struct ec2_error *err);

/* rc 0 with the interfaces (owned by the callee, valid during the call), or
 * -1 with err. */
typedef void (*ec2_enis_fn)(void *arg, int rc, const struct ec2_eni *enis, size_t n,
			    const struct ec2_error *err);

/* Endpoint and signing scope from config and the resolved region. 0 or -1. */
int ec2_init(const struct aws_cfg *aws, const char *region);
void ec2_fini(void);
/* The endpoint URL in use. */
const char *ec2_endpoint(void);

/* Call action with form-encoded params (no Action/Version), retrying
 * retryable failures until deadline (ev_now() ms). NULL if not started. */
struct ec2_call *ec2_call(const char *action, const char *params, uint64_t deadline,
			  ec2_call_fn fn, void *arg);
/* The same with the credentials of an auth_slot (a group's own role). */
struct ec2_call *ec2_call_as(int slot, const char *action, const char *params,
			     uint64_t deadline, ec2_call_fn fn, void *arg);
/* Abandon a call: fn is never called. */
void ec2_call_cancel(struct ec2_call *c);

/* DescribeRouteTables for these ids in one call (all pages). */
struct ec2_describe *ec2_describe_tables(char (*ids)[AWS_ID_MAX], size_t n,
					 uint64_t deadline, ec2_describe_fn fn,
					 void *arg);
/* The same with the credentials of an auth_slot. */
struct ec2_describe *ec2_describe_tables_as(int slot, char (*ids)[AWS_ID_MAX], size_t n,
					    uint64_t deadline, ec2_describe_fn fn,
					    void *arg);
/* DescribeNetworkInterfaces for these ids (NetworkInterfaceId.N), all pages;
 * cancelled with ec2_describe_cancel. */
struct ec2_describe *ec2_describe_enis(const char *const *ids, size_t n,
				       uint64_t deadline, ec2_enis_fn fn, void *arg);
/* Abandon a describe of either kind: its callback is never called. */
void ec2_describe_cancel(struct ec2_describe *d);

/* Form parameters for a route write (ReplaceRoute/CreateRoute), IPv4 or
 * IPv6 destination; dry_run adds DryRun=true. Caller frees. */
char *ec2_route_params(const char *table, const struct cidr *dest, const char *eni,
		       int dry_run);

/* EC2's throttling categories, each with its own client-side limiter. */
enum ec2_rl_cat { EC2_RL_WRITE, EC2_RL_DESCRIBE, EC2_RL_ENIS, EC2_RL_NCAT };

/* Process-wide counters. */
struct ec2_counters {
	uint64_t requests; /* HTTP requests sent, retries included */
	uint64_t retries;
	uint64_t throttled;
	unsigned rate_waiting[EC2_RL_NCAT]; /* calls waiting for their slot now */
};
const struct ec2_counters *ec2_counters(void);

/* The client-side rate limit of one category: limited (pacing after
 * RequestLimitExceeded), its rate (calls/s, 0 when not limited), throttles
 * and waits ever, calls waiting now. */
struct ec2_ratelim_state {
	int limited;
	double rate;
	uint64_t throttles, waits;
	unsigned waiting;
};
void ec2_ratelim(enum ec2_rl_cat cat, struct ec2_ratelim_state *st);
/* Stop pacing the category: a new event probes at full speed, and its own
 * throttling starts pacing again if the account's bucket is still empty. */
void ec2_ratelim_reset(enum ec2_rl_cat cat);
/* ms until the category's next slot is free (0 = now, or not limited). */
uint64_t ec2_ratelim_delay(enum ec2_rl_cat cat);

/* EC2 answers by action and code: "OK", the EC2 error code, "HTTP_<status>"
 * for an error without one, "TransportError" when no answer came. Distinct
 * pairs beyond EC2_API_COUNTS_MAX - 1 are counted under "Other"/"Other". */
#define EC2_API_COUNTS_MAX 64
struct ec2_api_count {
	char action[32];
	char code[64]; /* [A-Za-z0-9._-] only */
	uint64_t count;
};
/* The table so far: *n entries, owned by ec2.c, valid until the next call. */
const struct ec2_api_count *ec2_api_counts(size_t *n);

#endif
