/* sts.h — the STS client: AssumeRole (Query API, Version 2011-06-15) signed
 * with CURLOPT_AWS_SIGV4 for service sts, at the regional endpoint unless
 * configured otherwise. auth.c is its only user: one request per role. */
#ifndef VPCF_STS_H
#define VPCF_STS_H

#include "vpc/creds.h"
#include "vpc/ec2_xml.h"

#define STS_API_VERSION "2011-06-15"

struct sts_assume {
	const char *role_arn;
	const char *session_name;
	const char *external_id; /* "" = none */
	unsigned duration_s;
};

/* rc 0: c holds the role's credentials (valid during the call) and arn the
 * assumed-role ARN; -1: err holds STS's code and message, or for a
 * transport failure http_status 0 and the reason. */
typedef void (*sts_fn)(void *arg, int rc, const struct aws_creds *c, const char *arn,
		       const struct ec2_error *err);

/* Endpoint (endpoint, or https://sts.REGION.amazonaws.com/) and signing
 * scope; timeout_ms per request. Again to change them. */
void sts_init(const char *endpoint, const char *region, unsigned timeout_ms);
void sts_fini(void);
/* The endpoint URL in use ("" before sts_init). */
const char *sts_endpoint(void);
struct sts_req;
/* Ask STS for q's role with base credentials; fn runs from the loop, once,
 * and the request is gone after it. NULL when not started. */
struct sts_req *sts_assume_role(const struct sts_assume *q, const struct aws_creds *base,
				sts_fn fn, void *arg);
/* Abandon a request: its fn is never called. */
void sts_cancel(struct sts_req *q);

#endif
