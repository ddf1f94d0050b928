/* url.h — http:// and https:// URLs as the configuration takes them: split
 * and checked without libcurl, so that a program that only reads the
 * configuration (the notify hook) need not load it. The checks follow
 * libcurl's URL parser (curl_url_set) and its messages; where libcurl is
 * lenient (one or three slashes, 127.1, %-encoded hosts) this is strict. */
#ifndef VPCF_URL_H
#define VPCF_URL_H

#include <stddef.h>

#define URL_MAX 512 /* a configured URL, NUL included */

/* The parts of a URL; each is a NUL-terminated copy. */
struct url {
	char scheme[16];  /* lower case: "http", "https" */
	char host[256];	  /* "ec2.example", "127.0.0.1", "[::1]" (with brackets) */
	int port;	  /* -1 when not given */
	int has_query;	  /* a '?' is present (even an empty query) */
	int has_fragment; /* a '#' is present */
};

/* Split s into *u: SCHEME://[USER[:PASS]@]HOST[:PORT][/PATH][?QUERY][#FRAG].
 * 0, or -1 with the reason in why (libcurl's wording: "Bad scheme", "No
 * host part in the URL", ...). Any scheme is taken; the caller decides. */
int url_parse(const char *s, struct url *u, char *why, size_t whylen);
/* Is the host of u loopback: 127.0.0.0/8, [::1] or localhost? 1 or 0. */
int url_loopback(const struct url *u);

#endif
