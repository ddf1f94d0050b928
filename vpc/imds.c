/* imds.c — IMDSv2 client. Every GET carries a session token obtained by
 * PUT /latest/api/token; the token lives only in this process's memory. A
 * 401 means the token expired or was revoked: fetch a new one and retry
 * once. Transport errors and 5xx are retried with backoff for a few seconds,
 * since metadata can be briefly unavailable at boot. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/backoff.h"
#include "lib/http.h"
#include "vpc/imds.h"

#define IMDS_TOKEN_TTL	 21600 /* seconds, the maximum IMDS allows */
#define IMDS_BODY_MAX	 (64 * 1024)
#define IMDS_TIMEOUT_MS	 2000
#define IMDS_DEADLINE_MS 10000
#define IMDS_PATH_MAX	 256

static char *base;
static char token[256];
static uint64_t token_expires; /* ev_now() ms */

struct imds_op {
	char path[IMDS_PATH_MAX];
	imds_fn fn;
	void *arg;
	int renewed; /* a 401 already led to a new token */
	struct backoff bo;
	struct http_req *req;
	uint64_t timer; /* the pending retry */
	char err[256];
	struct imds_op *prev, *next; /* live: imds_fini cancels them */
};

static struct imds_op *live;

static void op_send(struct imds_op *op);
static void ident_got(void *arg, int rc, const char *body, size_t len, const char *err);

static void op_unlink(struct imds_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		live = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->prev = op->next = NULL;
}

int imds_init(const char *endpoint)
{
	const char *e = endpoint && *endpoint ? endpoint : IMDS_ENDPOINT_DEFAULT;
	size_t n = strlen(e);

	while (n > 0 && e[n - 1] == '/')
		n--;
	free(base);
	base = xmalloc(n + 1);
	memcpy(base, e, n);
	base[n] = '\0';
	return 0;
}

void imds_fini(void)
{
	/* Requests still in flight at shutdown: cancelled without callbacks
	 * (nothing is left to run them). An identity fetch's state is ours. */
	while (live) {
		struct imds_op *op = live;
		op_unlink(op);
		http_req_cancel(op->req);
		if (op->timer)
			ev_timer_cancel(op->timer);
		if (op->fn == ident_got)
			free(op->arg);
		free(op);
	}
	imds_drop_token();
	free(base);
	base = NULL;
}

void imds_drop_token(void)
{
	explicit_bzero(token, sizeof(token));
	token_expires = 0;
}

static void op_finish(struct imds_op *op, int rc, const char *body, size_t len)
{
	op_unlink(op);
	op->fn(op->arg, rc, body, len, op->err);
	free(op);
}

static void op_resend(void *arg)
{
	struct imds_op *op = arg;

	op->timer = 0;
	op_send(op);
}

/* Retry later if the deadline allows; otherwise fail with op->err. */
static void op_retry(struct imds_op *op)
{
	uint64_t d = backoff_next(&op->bo, ev_now());
	if (d == BACKOFF_GIVE_UP) {
		op_finish(op, -1, NULL, 0);
		return;
	}
	log_debug("imds %s: %s; retrying in %llu ms", op->path, op->err,
		  (unsigned long long)d);
	op->timer = ev_timer_add(d, op_resend, op);
}

static void on_get(struct http_req *r, void *arg)
{
	struct imds_op *op = arg;
	long status = http_req_status(r);
	size_t len;
	const char *body = http_req_body_text(r, &len);

	op->req = NULL;
	if (status == 200) {
		char *copy = xmalloc(len + 1);
		memcpy(copy, body, len);
		copy[len] = '\0';
		http_req_free(r);
		op->err[0] = '\0';
		op_finish(op, 0, copy, len);
		free(copy);
		return;
	}
	if (status == 401 && !op->renewed) {
		op->renewed = 1;
		imds_drop_token();
		http_req_free(r);
		op_send(op);
		return;
	}
	if (status == 0)
		snprintf(op->err, sizeof(op->err), "metadata %s unreachable: %s", base,
			 http_req_error(r));
	else
		snprintf(op->err, sizeof(op->err), "metadata %s/latest/%s: HTTP %ld",
			 base, op->path, status);
	http_req_free(r);
	if (status == 0 || status >= 500 || status == 429)
		op_retry(op);
	else
		op_finish(op, -1, NULL, 0);
}

/* A token goes into a request header as it is: visible ASCII only. An
 * empty-looking one ("\0...") also made op_send ask for a token again, at
 * once and forever (found by fuzz_imds: corpus/imds/regress-nul-token). */
static int token_ok(const char *s, size_t len)
{
	if (len == 0 || len >= sizeof(token))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

static void on_token(struct http_req *r, void *arg)
{
	struct imds_op *op = arg;
	long status = http_req_status(r);
	size_t len;
	const char *body = http_req_body_text(r, &len);

	op->req = NULL;
	if (status == 200 && token_ok(body, len)) {
		memcpy(token, body, len);
		token[len] = '\0';
		/* Renew well before IMDS would refuse it. */
		token_expires = ev_now() + (IMDS_TOKEN_TTL - 60) * 1000ULL;
		http_req_free(r);
		op_send(op);
		return;
	}
	if (status == 0)
		snprintf(op->err, sizeof(op->err), "metadata %s unreachable: %s", base,
			 http_req_error(r));
	else if (status == 200)
		snprintf(op->err, sizeof(op->err), "metadata token of %zu bytes refused",
			 len);
	else
		snprintf(op->err, sizeof(op->err), "metadata token request: HTTP %ld",
			 status);
	http_req_free(r);
	if (status == 0 || status >= 500 || status == 429)
		op_retry(op);
	else
		op_finish(op, -1, NULL, 0);
}

static void op_send(struct imds_op *op)
{
	struct http_req *r;
	char *url;

	if (token[0] == '\0' || ev_now() >= token_expires) {
		url = xasprintf("%s/latest/api/token", base);
		r = http_req_new("PUT", url);
		http_req_header(r, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
		http_req_limit(r, 1024);
		http_req_timeout(r, IMDS_TIMEOUT_MS);
		free(url);
		op->req = r;
		if (http_req_start(r, on_token, op) == -1)
			goto fail;
		return;
	}
	url = xasprintf("%s/latest/%s", base, op->path);
	r = http_req_new("GET", url);
	free(url);
	char *h = xasprintf("X-aws-ec2-metadata-token: %s", token);
	http_req_header(r, h);
	explicit_bzero(h, strlen(h));
	free(h);
	http_req_limit(r, IMDS_BODY_MAX);
	http_req_timeout(r, IMDS_TIMEOUT_MS);
	op->req = r;
	if (http_req_start(r, on_get, op) == -1)
		goto fail;
	return;
fail:
	http_req_free(r);
	op->req = NULL;
	snprintf(op->err, sizeof(op->err), "metadata request could not start");
	op_finish(op, -1, NULL, 0);
}

int imds_get(const char *path, imds_fn fn, void *arg)
{
	struct imds_op *op;

	if (base == NULL)
		imds_init(NULL);
	op = xcalloc(1, sizeof(*op));
	if (strlcpy_chk(op->path, path, sizeof(op->path)) == -1) {
		free(op);
		log_warnx("metadata path too long");
		return -1;
	}
	op->fn = fn;
	op->arg = arg;
	op->next = live;
	if (live)
		live->prev = op;
	live = op;
	backoff_init(&op->bo, 100, 1000, ev_now() + IMDS_DEADLINE_MS);
	op_send(op);
	return 0;
}

/* Identity: five values fetched in sequence (the ENI needs the MAC). */

struct ident_op {
	struct imds_identity id;
	int step;
	imds_identity_fn fn;
	void *arg;
};

static const struct {
	const char *path; /* %s: the MAC */
	size_t off;
	size_t size;
	const char *what;
} ident_steps[] = {
    {"meta-data/instance-id", offsetof(struct imds_identity, instance_id),
     sizeof(((struct imds_identity *)0)->instance_id), "instance id"},
    {"meta-data/placement/region", offsetof(struct imds_identity, region),
     sizeof(((struct imds_identity *)0)->region), "region"},
    {"meta-data/placement/availability-zone", offsetof(struct imds_identity, az),
     sizeof(((struct imds_identity *)0)->az), "availability zone"},
    {"meta-data/mac", offsetof(struct imds_identity, mac),
     sizeof(((struct imds_identity *)0)->mac), "MAC"},
    {"meta-data/network/interfaces/macs/%s/interface-id",
     offsetof(struct imds_identity, eni), sizeof(((struct imds_identity *)0)->eni),
     "primary interface id"},
};

/* Metadata values are short tokens: letters, digits, '-', ':' and '.'.
 * Not strchr: it finds the terminating NUL too, and a body with NUL bytes
 * passed as a value cut short (found by fuzzing). */
static int ident_value_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len >= max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !memchr("-:.", s[i], 3))
			return 0;
	return 1;
}

static void ident_next(struct ident_op *op);

static void ident_got(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct ident_op *op = arg;
	char msg[384];

	if (rc == -1) {
		op->fn(op->arg, -1, NULL, err);
		free(op);
		return;
	}
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		len--;
	if (!ident_value_ok(body, len, ident_steps[op->step].size)) {
		snprintf(msg, sizeof(msg), "metadata returned a malformed %s",
			 ident_steps[op->step].what);
		op->fn(op->arg, -1, NULL, msg);
		free(op);
		return;
	}
	char *dst = (char *)&op->id + ident_steps[op->step].off;
	memcpy(dst, body, len);
	dst[len] = '\0';
	op->step++;
	ident_next(op);
}

static void ident_next(struct ident_op *op)
{
	char path[IMDS_PATH_MAX];

	if ((size_t)op->step == ARRAY_SIZE(ident_steps)) {
		op->fn(op->arg, 0, &op->id, "");
		free(op);
		return;
	}
	/* Only the last path has a %s, and it takes the MAC. */
	if (strstr(ident_steps[op->step].path, "%s"))
		snprintf(path, sizeof(path),
			 "meta-data/network/interfaces/macs/%s/interface-id", op->id.mac);
	else
		snprintf(path, sizeof(path), "%s", ident_steps[op->step].path);
	if (imds_get(path, ident_got, op) == -1) {
		op->fn(op->arg, -1, NULL, "metadata request failed");
		free(op);
	}
}

int imds_identity(imds_identity_fn fn, void *arg)
{
	struct ident_op *op = xcalloc(1, sizeof(*op));

	op->fn = fn;
	op->arg = arg;
	ident_next(op);
	return 0;
}
