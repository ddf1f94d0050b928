/* aws_cfg.h — [aws]: the AWS client's configuration (region, endpoints,
 * credentials, deadlines), and what an AWS resource id looks like. Parsed by
 * the INI engine (lib/ini.h); daemon/cfg.c lists the section. */
#ifndef VPCF_AWS_CFG_H
#define VPCF_AWS_CFG_H

#include <limits.h>

#include "lib/ini.h"
#include "lib/url.h"

/* An AWS id as we store it: a configured rtb-/eni- id ("rtb-" and 8 or 17
 * hex digits) or any id EC2 returns (vpc-, subnet-, igw-, i-, ...). */
#define AWS_ID_MAX 64

#define AWS_ROLE_ARN_MAX     2049 /* STS: RoleArn 20..2048 */
#define AWS_EXTERNAL_ID_MAX  1225 /* ExternalId 2..1224 */
#define AWS_SESSION_NAME_MAX 65	  /* RoleSessionName 2..64 */
#define AWS_ROLES_MAX	     8	  /* roles assumed at once: [aws]'s, the groups' */

struct aws_cfg {
	char region[32];	/* "" = from instance metadata */
	char endpoint[URL_MAX]; /* "" = https://ec2.<region>.amazonaws.com */
	char metadata_endpoint[URL_MAX];
	char credentials_file[PATH_MAX];
	char profile[INI_NAME_MAX];  /* section of credentials_file, "default" */
	char ca_file[PATH_MAX];	     /* "" = system CAs */
	unsigned api_deadline_ms;    /* overall deadline of one convergence */
	unsigned request_timeout_ms; /* one HTTP request */
	unsigned max_parallel;	     /* concurrent EC2 requests */
	/* STS AssumeRole: the role whose credentials every EC2 call uses */
	char role_arn[AWS_ROLE_ARN_MAX]; /* "" = use the chain's directly */
	char external_id[AWS_EXTERNAL_ID_MAX];
	char role_session_name[AWS_SESSION_NAME_MAX]; /* "" = vpc-failover-<i-id> */
	unsigned role_duration_s;
	char sts_endpoint[URL_MAX]; /* "" = https://sts.<region>.amazonaws.com/ */
};

/* [aws] and its keys. */
extern const struct ini_section aws_cfg_section;

/* ini parsers of an IAM role ARN and an STS external id (also for the
 * groups' own role_arn and external_id). */
int aws_cfg_role_arn(struct ini *x, const struct ini_key *k, void *base, const char *v);
int aws_cfg_external_id(struct ini *x, const struct ini_key *k, void *base,
			const char *v);

/* Cross-key checks of [aws] once the file is read (role keys without
 * role_arn): 0, or -1 with the errors reported on x. other_roles: roles
 * are assumed elsewhere (a group's role_arn), so the keys every role shares
 * (role_session_name, sts_endpoint) are in use without [aws] role_arn. */
int aws_cfg_check(struct ini *x, const struct aws_cfg *aws, int other_roles);

/* Is s a well-formed AWS id with this prefix ("rtb", "eni", "i"): the prefix,
 * '-', then 8 or 17 lowercase hex digits? 1 or 0. */
int aws_valid_id(const char *s, const char *prefix);

#endif
