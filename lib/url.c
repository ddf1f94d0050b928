/* url.c — URLs of the configuration, split and checked (see url.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/url.h"
#include "lib/util.h"

/* What libcurl refuses in a host name (its hostname_check), plus controls
 * and space. */
static int bad_host_char(unsigned char ch)
{
	return ch <= ' ' || ch == 0x7f || strchr("/:#?!@{}[]\\$'\"^`*<>=;,+&()%|", ch);
}

/* Path, query and fragment: no space, no control character. */
static int clean(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

static int host_part(const char *h, size_t n, struct url *u, char *why, size_t whylen)
{
	const char *port = NULL;
	size_t hn = n;

	if (n > 0 && h[0] == '[') {
		const char *close = memchr(h, ']', n);
		char a6[64];
		unsigned char bin[16];
		size_t an;

		if (close == NULL) {
			errf(why, whylen, "Bad IPv6 address");
			return -1;
		}
		an = (size_t)(close - h - 1);
		/* a zone ("%25eth0" or "%eth0") is not part of the address */
		if (memchr(h + 1, '%', an) != NULL)
			an = (size_t)((const char *)memchr(h + 1, '%', an) - h - 1);
		if (an == 0 || an >= sizeof(a6)) {
			errf(why, whylen, "Bad IPv6 address");
			return -1;
		}
		memcpy(a6, h + 1, an);
		a6[an] = '\0';
		if (inet_pton(AF_INET6, a6, bin) != 1) {
			errf(why, whylen, "Bad IPv6 address");
			return -1;
		}
		snprintf(u->host, sizeof(u->host), "[%s]", a6);
		hn = (size_t)(close - h + 1);
		if (hn < n && h[hn] != ':') {
			errf(why, whylen,
			     "Port number was not a decimal number between 0 and 65535");
			return -1;
		}
		if (hn < n)
			port = h + hn + 1;
	} else {
		const char *colon = memchr(h, ':', n);

		if (colon != NULL) {
			hn = (size_t)(colon - h);
			port = colon + 1;
		}
		if (hn == 0) {
			errf(why, whylen, "No host part in the URL");
			return -1;
		}
		for (size_t i = 0; i < hn; i++)
			if (bad_host_char((unsigned char)h[i])) {
				errf(why, whylen, "Bad hostname");
				return -1;
			}
		if (hn >= sizeof(u->host)) {
			errf(why, whylen, "Bad hostname");
			return -1;
		}
		memcpy(u->host, h, hn);
		u->host[hn] = '\0';
	}
	u->port = -1;
	if (port != NULL && port < h + n) {
		size_t pn = (size_t)(h + n - port), d = strspn(port, "0123456789");
		unsigned long v = 0;

		if (d < pn) {
			errf(why, whylen,
			     "Port number was not a decimal number between 0 and 65535");
			return -1;
		}
		for (size_t i = 0; i < pn && v <= 65535; i++)
			v = v * 10 + (unsigned long)(port[i] - '0');
		if (v > 65535) {
			errf(why, whylen,
			     "Port number was not a decimal number between 0 and 65535");
			return -1;
		}
		u->port = (int)v;
	}
	return 0;
}

int url_parse(const char *s, struct url *u, char *why, size_t whylen)
{
	size_t sn = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			      "0123456789+.-");
	const char *auth, *end, *at, *rest;

	memset(u, 0, sizeof(*u));
	u->port = -1;
	if (sn == 0 || !isalpha((unsigned char)s[0]) || s[sn] != ':' ||
	    sn >= sizeof(u->scheme)) {
		errf(why, whylen, "Bad scheme");
		return -1;
	}
	if (strncmp(s + sn, "://", 3) != 0) {
		errf(why, whylen, "Unsupported number of slashes following scheme");
		return -1;
	}
	for (size_t i = 0; i < sn; i++)
		u->scheme[i] = (char)tolower((unsigned char)s[i]);
	auth = s + sn + 3;
	end = auth + strcspn(auth, "/?#");
	/* user:password@ goes before the host */
	at = memchr(auth, '@', (size_t)(end - auth));
	if (at != NULL)
		auth = at + 1;
	if (host_part(auth, (size_t)(end - auth), u, why, whylen) == -1)
		return -1;
	rest = end;
	end = rest + strcspn(rest, "?#");
	if (!clean(rest, (size_t)(end - rest))) {
		errf(why, whylen, "Bad path");
		return -1;
	}
	if (*end == '?') {
		u->has_query = 1;
		rest = end + 1;
		end = rest + strcspn(rest, "#");
		if (!clean(rest, (size_t)(end - rest))) {
			errf(why, whylen, "Bad query");
			return -1;
		}
	}
	if (*end == '#') {
		u->has_fragment = 1;
		if (!clean(end + 1, strlen(end + 1))) {
			errf(why, whylen, "Bad fragment");
			return -1;
		}
	}
	return 0;
}

int url_loopback(const struct url *u)
{
	unsigned char a[4];

	if (strcmp(u->host, "localhost") == 0 || strcmp(u->host, "[::1]") == 0)
		return 1;
	return inet_pton(AF_INET, u->host, a) == 1 && a[0] == 127;
}
