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
};

/* [aws] and its keys. */
extern const struct ini_section aws_cfg_section;

/* Is s a well-formed AWS id with this prefix ("rtb", "eni", "i"): the prefix,
 * '-', then 8 or 17 lowercase hex digits? 1 or 0. */
int aws_valid_id(const char *s, const char *prefix);

#endif
