/* aws_cfg.c — [aws] (see aws_cfg.h). Only libc and lib/: a program that
 * reads the configuration need not load the AWS client. */
#include <ctype.h>
#include <regex.h>
#include <stddef.h>
#include <string.h>

#include "lib/log.h"
#include "vpc/aws_cfg.h"

static int p_region(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	/* us-east-1, ap-northeast-1, us-gov-west-1, us-isob-east-1 */
	static const char re_text[] = "^[a-z]{2}(-[a-z]+){1,3}-[0-9]{1,2}$";
	regex_t re;
	int bad;

	if (*v == '\0')
		return ini_str(x, k, base, v);
	if (regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB) != 0)
		fatalx("cfg: cannot compile %s", re_text);
	bad = regexec(&re, v, 0, NULL, 0) != 0;
	regfree(&re);
	if (bad) {
		ini_err(x, 0,
			"region: '" INI_SHOW "' is not an AWS region (like us-east-1)",
			v);
		return -1;
	}
	return ini_str(x, k, base, v);
}

/* Only [\w+=,.@-] and the characters of extra: what STS takes in a
 * RoleSessionName (extra "") or an ExternalId (extra ":/"). */
static int sts_chars(const char *v, const char *extra)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (!(*p < 0x80 &&
		      (isalnum(*p) || strchr("_+=,.@-", *p) || strchr(extra, *p))))
			return 0;
	return 1;
}

int aws_cfg_role_arn(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	/* arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME */
	static const char re_text[] =
	    "^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([A-Za-z0-9_+=,.@-]+/)*"
	    "[A-Za-z0-9_+=,.@-]{1,64}$";
	regex_t re;
	int bad;

	if (*v == '\0')
		return ini_str(x, k, base, v);
	if (regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB) != 0)
		fatalx("cfg: cannot compile %s", re_text);
	bad = regexec(&re, v, 0, NULL, 0) != 0 || strlen(v) >= AWS_ROLE_ARN_MAX;
	regfree(&re);
	if (bad) {
		ini_err(x, 0,
			"role_arn: '" INI_SHOW "' is not an IAM role ARN (like "
			"arn:aws:iam::111111111111:role/vpc-failover-routes)",
			v);
		return -1;
	}
	return ini_str(x, k, base, v);
}

int aws_cfg_external_id(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	if (*v &&
	    (strlen(v) < 2 || strlen(v) >= AWS_EXTERNAL_ID_MAX || !sts_chars(v, ":/"))) {
		ini_err(x, 0,
			"external_id: 2 to 1224 of A-Z a-z 0-9 and _+=,.@:/- (what the "
			"role's trust policy names as sts:ExternalId)");
		return -1;
	}
	return ini_str(x, k, base, v);
}

static int p_session_name(struct ini *x, const struct ini_key *k, void *base,
			  const char *v)
{
	if (*v &&
	    (strlen(v) < 2 || strlen(v) >= AWS_SESSION_NAME_MAX || !sts_chars(v, ""))) {
		ini_err(x, 0,
			"role_session_name: '" INI_SHOW "' is not 2 to 64 of A-Z a-z 0-9 "
			"and _+=,.@-",
			v);
		return -1;
	}
	return ini_str(x, k, base, v);
}

#define AWS(f) INI_FIELD(struct aws_cfg, f)

/* Credentials, the metadata service and the CA bundle are bound once, when
 * the client starts: a reload keeps them. */
/* clang-format off */
static const struct ini_key keys[] = {
	{"region", p_region, AWS(region), .def = NULL},
	{"endpoint", ini_url, AWS(endpoint), .def = NULL},
	{"metadata_endpoint", ini_url, AWS(metadata_endpoint), .def = "http://169.254.169.254", .flags = INI_RESTART},
	{"credentials_file", ini_file, AWS(credentials_file), .def = NULL, .flags = INI_RESTART},
	{"profile", ini_word, AWS(profile), .def = "default", .flags = INI_RESTART},
	{"ca_file", ini_file, AWS(ca_file), .def = NULL, .flags = INI_RESTART},
	{"api_deadline", ini_uint, AWS(api_deadline_ms), .def = "20", .min = 1, .max = 600, .scale = 1000},
	{"request_timeout", ini_uint, AWS(request_timeout_ms), .def = "5", .min = 1, .max = 120, .scale = 1000},
	{"max_parallel", ini_uint, AWS(max_parallel), .def = "50", .min = 1, .max = 256, .scale = 1},
	{"role_arn", aws_cfg_role_arn, AWS(role_arn), .def = NULL, .flags = INI_RESTART},
	{"external_id", aws_cfg_external_id, AWS(external_id), .def = NULL, .flags = INI_RESTART},
	{"role_session_name", p_session_name, AWS(role_session_name), .def = NULL, .flags = INI_RESTART},
	{"duration", ini_uint, AWS(role_duration_s), .def = "3600", .min = 900, .max = 43200, .scale = 1, .flags = INI_RESTART},
	{"sts_endpoint", ini_url, AWS(sts_endpoint), .def = NULL, .flags = INI_RESTART},
	{NULL},
};
/* clang-format on */

const struct ini_section aws_cfg_section = {.word = "aws", .keys = keys};

int aws_cfg_check(struct ini *x, const struct aws_cfg *aws, int other_roles)
{
	int line = ini_first(x, "aws");

	if (aws->role_arn[0])
		return 0;
	if (aws->external_id[0] ||
	    (!other_roles && (aws->role_session_name[0] || aws->sts_endpoint[0]))) {
		ini_err(x, line,
			"[aws] %s is set but role_arn is not: set role_arn to the role "
			"to assume, or remove it",
			aws->external_id[0]	    ? "external_id"
			: aws->role_session_name[0] ? "role_session_name"
						    : "sts_endpoint");
		return -1;
	}
	return 0;
}

int aws_valid_id(const char *s, const char *prefix)
{
	size_t plen, n;

	if (s == NULL || prefix == NULL)
		return 0;
	plen = strlen(prefix);
	if (strncmp(s, prefix, plen) != 0 || s[plen] != '-')
		return 0;
	s += plen + 1;
	n = strspn(s, "0123456789abcdef");
	return s[n] == '\0' && (n == 8 || n == 17);
}
