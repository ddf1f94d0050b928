/* cfgurl.c — URLs in the configuration, parsed by libcurl's URL parser
 * (cfg_url_parse); apart from cfg.c so that a program without libcurl (the
 * lean notify hook, hooks/front.c) can parse the configuration with a
 * parser of its own. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cfg.h"
#include "lib/log.h"
#include "lib/util.h"

/* A part of u as a malloc'd string: "" when it has none. */
static char *part(CURLU *u, CURLUPart what, int *has)
{
	char *v = NULL, *s;

	if (curl_url_get(u, what, &v, 0) != CURLUE_OK || v == NULL) {
		*has = 0;
		return xstrdup("");
	}
	*has = 1;
	s = xstrdup(v);
	curl_free(v);
	return s;
}

int cfg_url_parse(const char *url, struct cfg_url *u, const char **why)
{
	CURLU *cu;
	CURLUcode rc;
	int has;

	memset(u, 0, sizeof(*u));
	if ((cu = curl_url()) == NULL)
		fatalx("cfg: out of memory");
	rc = curl_url_set(cu, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		*why = curl_url_strerror(rc);
		curl_url_cleanup(cu);
		return -1;
	}
	u->scheme = part(cu, CURLUPART_SCHEME, &has);
	u->host = part(cu, CURLUPART_HOST, &has);
	free(part(cu, CURLUPART_QUERY, &u->query));
	free(part(cu, CURLUPART_FRAGMENT, &u->fragment));
	curl_url_cleanup(cu);
	return 0;
}

void cfg_url_free(struct cfg_url *u)
{
	free(u->scheme);
	free(u->host);
	memset(u, 0, sizeof(*u));
}
