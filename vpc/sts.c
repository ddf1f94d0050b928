/* sts.c — STS AssumeRole on the http layer. The answer is parsed by
 * ec2_xml.c (libxml2): AssumeRoleResponse into credentials, ErrorResponse
 * into a code and message. The request body names the role, the session
 * and the external id (not secret); the signature and the session token of
 * the base credentials travel in headers, never in a log line. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vpc/sts.h"

#define STS_BODY_MAX (64 * 1024) /* an AssumeRole answer is ~2 KiB */

struct sts_req {
	struct http_req *http;
	sts_fn fn;
	void *arg;
	struct sts_req *next;
};

static char *endpoint;
static char *sigv4_provider;
static unsigned timeout_ms = 5000;
static struct sts_req *inflight; /* every request out, for sts_fini */

void sts_init(const char *ep, const char *region, unsigned tmo)
{
	free(endpoint);
	free(sigv4_provider);
	if (ep && ep[0])
		endpoint = xstrdup(ep);
	else
		endpoint = xasprintf("https://sts.%s.amazonaws.com/", region);
	sigv4_provider = xasprintf("aws:amz:%s:sts", region);
	timeout_ms = tmo ? tmo : 5000;
}

void sts_fini(void)
{
	while (inflight)
		sts_cancel(inflight);
	free(endpoint);
	free(sigv4_provider);
	endpoint = sigv4_provider = NULL;
}

const char *sts_endpoint(void)
{
	return endpoint ? endpoint : "";
}

static void unlink_req(struct sts_req *q)
{
	for (struct sts_req **pp = &inflight; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			return;
		}
}

void sts_cancel(struct sts_req *q)
{
	unlink_req(q);
	http_req_cancel(q->http);
	free(q);
}

static void form_add(struct buf *b, const char *key, const char *value)
{
	char *e = curl_easy_escape(NULL, value, 0);

	if (e == NULL)
		fatalx("curl_easy_escape: out of memory");
	if (b->len)
		buf_append(b, "&", 1);
	buf_append(b, key, strlen(key));
	buf_append(b, "=", 1);
	buf_append(b, e, strlen(e));
	curl_free(e);
}

static void on_response(struct http_req *r, void *arg)
{
	struct sts_req *q = arg;
	long status = http_req_status(r);
	size_t len;
	const char *body = http_req_body_text(r, &len);
	struct ec2_error err;
	struct aws_creds c;
	char arn[256], why[256];
	sts_fn fn = q->fn;
	void *fnarg = q->arg;

	unlink_req(q);
	free(q);
	memset(&err, 0, sizeof(err));
	memset(&c, 0, sizeof(c));
	err.http_status = (int)status;
	if (status == 0) {
		snprintf(err.message, sizeof(err.message), "%s", http_req_error(r));
	} else if (status < 200 || status >= 300) {
		ec2_xml_error(body, len, &err);
		err.http_status = (int)status;
	} else if (ec2_xml_assume_role(body, len, &c, arn, sizeof(arn), why,
				       sizeof(why)) == -1) {
		snprintf(err.code, sizeof(err.code), "MalformedResponse");
		snprintf(err.message, sizeof(err.message), "%s", why);
	} else {
		/* Redacted before anything can log them. */
		creds_redact(&c);
		fn(fnarg, 0, &c, arn, NULL);
		explicit_bzero(&c, sizeof(c));
		explicit_bzero((char *)body, len);
		http_req_free(r);
		return;
	}
	fn(fnarg, -1, NULL, "", &err);
	http_req_free(r);
}

struct sts_req *sts_assume_role(const struct sts_assume *q, const struct aws_creds *base,
				sts_fn fn, void *arg)
{
	struct http_req *r;
	struct sts_req *sq;
	struct buf b;
	char dur[16];

	if (endpoint == NULL)
		return NULL;
	buf_init(&b, STS_BODY_MAX);
	form_add(&b, "Action", "AssumeRole");
	form_add(&b, "Version", STS_API_VERSION);
	snprintf(dur, sizeof(dur), "%u", q->duration_s);
	form_add(&b, "DurationSeconds", dur);
	if (q->external_id && q->external_id[0])
		form_add(&b, "ExternalId", q->external_id);
	form_add(&b, "RoleArn", q->role_arn);
	form_add(&b, "RoleSessionName", q->session_name);
	r = http_req_new("POST", endpoint);
	http_req_header(r,
			"Content-Type: application/x-www-form-urlencoded; charset=utf-8");
	if (base->session_token[0]) {
		char *h = xasprintf("X-Amz-Security-Token: %s", base->session_token);
		http_req_header(r, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	http_req_sigv4(r, sigv4_provider, base->access_key_id, base->secret_access_key);
	http_req_body(r, buf_str(&b), b.len);
	buf_free(&b);
	http_req_timeout(r, timeout_ms);
	http_req_limit(r, STS_BODY_MAX);
	sq = xcalloc(1, sizeof(*sq));
	sq->http = r;
	sq->fn = fn;
	sq->arg = arg;
	if (http_req_start(r, on_response, sq) == -1) {
		http_req_free(r);
		free(sq);
		return NULL;
	}
	sq->next = inflight;
	inflight = sq;
	return sq;
}
