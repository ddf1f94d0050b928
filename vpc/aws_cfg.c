/* aws_cfg.c — [aws] (see aws_cfg.h). Only libc and lib/: a program that
 * reads the configuration need not load the AWS client. */
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
	{NULL},
};
/* clang-format on */

const struct ini_section aws_cfg_section = {.word = "aws", .keys = keys};

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
