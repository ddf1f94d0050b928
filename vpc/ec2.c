/* ec2.c — EC2 Query API calls on the http layer.
 *
 * A call is: wait for a slot (max_parallel), get credentials (may fetch the
 * instance role), POST the signed form, classify the answer. Retryable
 * answers (throttling, 5xx, transport errors) go back through backoff until
 * the caller's deadline; an AuthFailure with instance-role credentials gets
 * one retry with freshly fetched ones (they may have rotated), as does a
 * RequestExpired signed with assumed-role keys that have expired.
 *
 * EC2 throttles each account with token buckets shared by every node (and
 * every other tool). After a RequestLimitExceeded the calls of that
 * category are paced by a client-side limiter that learns from throttling
 * (lib/ratelim.h): a throttled call is not retried on the backoff schedule
 * but at its next slot, and every call of the category waits for one. */
#include <curl/curl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vpc/auth.h"
#include "lib/backoff.h"
#include "vpc/ec2.h"
#include "lib/http.h"
#include "lib/ratelim.h"

#define EC2_BACKOFF_BASE_MS 100
#define EC2_BACKOFF_CAP_MS  5000
#define EC2_MAX_PAGES	    100
#define EC2_BURST_POLL_MS   20 /* a throttled retry asks again this often */
#define EC2_SLOT_MARGIN_MS                                                               \
	1000 /* a rate-limit slot this close to the                                      \
	      * deadline is after it */

struct ec2_call {
	char action[32];
	char *params;
	uint64_t deadline;
	ec2_call_fn fn;
	void *arg;
	struct backoff bo;
	struct http_req *req;
	uint64_t timer;
	int reauthed;
	int slotted;   /* waits for its rate-limit slot; asks again when the
			* timer fires */
	int throttled; /* its last attempt was throttled */
	int first_out; /* its first attempt is in flight (first_out[]) */
	int waiting_creds;
	char akid[128]; /* the key the last attempt was signed with */
	int slot;	/* whose credentials (auth_slot) */
	int cancelled;
	struct ec2_error err;
	struct ec2_call *next;		/* in the slot queue */
	struct ec2_call *wnext, *wprev; /* in waiters[] while slotted */
};

static char *endpoint;
static char *sigv4_provider;
static unsigned max_parallel = 50;
static unsigned request_timeout_ms = 5000;
static unsigned inflight;
static struct ec2_call *queue_head, *queue_tail;
static struct ec2_counters counters;
/* EC2's documented buckets (refill / size): writes 5/50, DescribeRouteTables
 * 20/100, DescribeNetworkInterfaces 10/50: the first pace after a throttle. */
static struct ratelim limiters[EC2_RL_NCAT];
/* First attempts of calls in flight, by category: while any is, the retry
 * of a throttled call is not counted as sent for the limiter's evidence. */
static unsigned first_out[EC2_RL_NCAT];
/* Calls waiting for their rate-limit slot, by category: when a success
 * pulls the next slot in, their timers are moved to it. */
static struct ec2_call *waiters[EC2_RL_NCAT];
static const double first_rate[EC2_RL_NCAT] = {5.0 / 50, 20.0 / 100, 10.0 / 50};
static struct ec2_api_count api_counts[EC2_API_COUNTS_MAX];
static size_t napi_counts;

static void call_start(struct ec2_call *c);
static void call_retry_timer(void *arg);

static int rl_category(const char *action)
{
	if (strcmp(action, "DescribeRouteTables") == 0)
		return EC2_RL_DESCRIBE;
	if (strcmp(action, "DescribeNetworkInterfaces") == 0)
		return EC2_RL_ENIS;
	return EC2_RL_WRITE;
}

static double rand01(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

void ec2_ratelim_reset(enum ec2_rl_cat cat)
{
	rl_reset(&limiters[cat]);
}

uint64_t ec2_ratelim_delay(enum ec2_rl_cat cat)
{
	return rl_delay(&limiters[cat], ev_now());
}

void ec2_ratelim(enum ec2_rl_cat cat, struct ec2_ratelim_state *st)
{
	const struct ratelim *r = &limiters[cat];

	st->limited = r->limited;
	st->rate = r->limited ? r->rate : 0;
	st->throttles = r->throttles;
	st->waits = r->waits;
	st->waiting = counters.rate_waiting[cat];
}

int ec2_init(const struct aws_cfg *aws, const char *region)
{
	free(endpoint);
	free(sigv4_provider);
	if (aws->endpoint[0])
		endpoint = xstrdup(aws->endpoint);
	else
		endpoint = xasprintf("https://ec2.%s.amazonaws.com/", region);
	sigv4_provider = xasprintf("aws:amz:%s:ec2", region);
	auth_region(region);
	max_parallel = aws->max_parallel ? aws->max_parallel : 50;
	for (int i = 0; i < EC2_RL_NCAT; i++)
		if (limiters[i].first_rate == 0)
			rl_init(&limiters[i], first_rate[i]);
	request_timeout_ms = aws->request_timeout_ms ? aws->request_timeout_ms : 5000;
	if (strncmp(endpoint, "http://", 7) == 0)
		log_warnx("EC2 endpoint %s is plain http: session tokens travel in the "
			  "clear; use it only with a local simulator",
			  endpoint);
	return 0;
}

void ec2_fini(void)
{
	free(endpoint);
	free(sigv4_provider);
	endpoint = sigv4_provider = NULL;
}

const char *ec2_endpoint(void)
{
	return endpoint ? endpoint : "";
}

const struct ec2_counters *ec2_counters(void)
{
	return &counters;
}

const struct ec2_api_count *ec2_api_counts(size_t *n)
{
	*n = napi_counts;
	return api_counts;
}

static struct ec2_api_count *api_slot(const char *action, const char *code)
{
	for (size_t i = 0; i < napi_counts; i++)
		if (strcmp(api_counts[i].action, action) == 0 &&
		    strcmp(api_counts[i].code, code) == 0)
			return &api_counts[i];
	return NULL;
}

/* Count one answer. The code comes from the endpoint: only label-safe
 * characters are kept, and the table is bounded so that a server inventing
 * codes cannot grow it (the last slot takes every new pair). */
static void api_count(const char *action, const char *code)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789._-";
	char clean[sizeof(api_counts[0].code)];
	struct ec2_api_count *e;
	size_t i;

	for (i = 0; code[i] && i < sizeof(clean) - 1; i++)
		clean[i] = strchr(safe, code[i]) ? code[i] : '_';
	clean[i] = '\0';
	e = api_slot(action, clean);
	if (e == NULL && napi_counts == EC2_API_COUNTS_MAX - 1) {
		action = "Other";
		snprintf(clean, sizeof(clean), "Other");
		e = api_slot(action, clean);
	}
	if (e == NULL) {
		e = &api_counts[napi_counts++];
		snprintf(e->action, sizeof(e->action), "%s", action);
		snprintf(e->code, sizeof(e->code), "%s", clean);
	}
	e->count++;
}

/* RFC 3986 unreserved characters pass, the rest is %XX: SigV4's encoding,
 * and what curl_easy_escape does (the handle is unused since curl 7.82). */
static void form_escape(struct buf *b, const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);

	if (e == NULL)
		fatalx("curl_easy_escape: out of memory");
	buf_append(b, e, strlen(e));
	curl_free(e);
}

static void form_add(struct buf *b, const char *key, const char *value)
{
	if (b->len)
		buf_append(b, "&", 1);
	form_escape(b, key);
	buf_append(b, "=", 1);
	form_escape(b, value);
}

char *ec2_route_params(const char *table, const struct cidr *dest, const char *eni,
		       int dry_run)
{
	struct buf b;

	buf_init(&b, 4096);
	form_add(&b, "RouteTableId", table);
	form_add(&b,
		 dest->family == AF_INET6 ? "DestinationIpv6CidrBlock"
					  : "DestinationCidrBlock",
		 dest->text);
	form_add(&b, "NetworkInterfaceId", eni);
	if (dry_run)
		form_add(&b, "DryRun", "true");
	char *s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

static void first_answered(struct ec2_call *c)
{
	if (c->first_out) {
		c->first_out = 0;
		first_out[rl_category(c->action)]--;
	}
}

static void slot_wait(struct ec2_call *c, int cat)
{
	c->slotted = 1;
	counters.rate_waiting[cat]++;
	c->wprev = NULL;
	c->wnext = waiters[cat];
	if (c->wnext)
		c->wnext->wprev = c;
	waiters[cat] = c;
}

static void slot_unwait(struct ec2_call *c, int cat)
{
	c->slotted = 0;
	counters.rate_waiting[cat]--;
	if (c->wprev)
		c->wprev->wnext = c->wnext;
	else
		waiters[cat] = c->wnext;
	if (c->wnext)
		c->wnext->wprev = c->wprev;
	c->wnext = c->wprev = NULL;
}

/* The next slot moved earlier (or pacing ended): every call waiting for
 * it asks again then; one takes it, the others learn the slot after. */
static void slot_pulled_in(int cat)
{
	uint64_t d = rl_delay(&limiters[cat], ev_now());

	for (struct ec2_call *c = waiters[cat]; c; c = c->wnext) {
		if (c->timer)
			ev_timer_cancel(c->timer);
		c->timer = ev_timer_add(d, call_retry_timer, c);
	}
}

static void call_free(struct ec2_call *c)
{
	first_answered(c);
	if (c->slotted)
		slot_unwait(c, rl_category(c->action));
	if (c->timer)
		ev_timer_cancel(c->timer);
	http_req_free(c->req);
	free(c->params);
	free(c);
}

/* A slot was freed: start the oldest queued call. */
static void slot_release(void)
{
	inflight--;
	while (queue_head && inflight < max_parallel) {
		struct ec2_call *c = queue_head;
		queue_head = c->next;
		if (queue_head == NULL)
			queue_tail = NULL;
		c->next = NULL;
		inflight++;
		c->timer = ev_timer_add(0, call_retry_timer, c);
	}
}

static void call_finish(struct ec2_call *c, enum ec2_class cls, const char *body,
			size_t len)
{
	c->fn(c->arg, cls, &c->err, body, len);
	call_free(c);
	slot_release();
}

static void call_retry_timer(void *arg)
{
	struct ec2_call *c = arg;
	c->timer = 0;
	call_start(c);
}

static void call_retry(struct ec2_call *c)
{
	uint64_t d;

	if (strcmp(c->err.code, "RequestLimitExceeded") == 0 &&
	    limiters[rl_category(c->action)].limited) {
		/* Paced by the limiter, not the backoff: call_start waits for
		 * the next slot (or gives up if it comes after the deadline). */
		counters.retries++;
		call_start(c);
		return;
	}
	d = backoff_next(&c->bo, ev_now());
	if (d == BACKOFF_GIVE_UP) {
		log_warnx("%s: giving up at the deadline: %s%s%s", c->action, c->err.code,
			  c->err.code[0] ? ": " : "", c->err.message);
		call_finish(c, EC2_RETRY, NULL, 0);
		return;
	}
	counters.retries++;
	log_debug("%s: %s, retry %u in %llu ms", c->action,
		  c->err.code[0] ? c->err.code : c->err.message, c->bo.attempt,
		  (unsigned long long)d);
	c->timer = ev_timer_add(d, call_retry_timer, c);
}

static void on_response(struct http_req *r, void *arg)
{
	struct ec2_call *c = arg;
	long status = http_req_status(r);
	size_t len;
	const char *body = http_req_body_text(r, &len);
	enum ec2_class cls;

	memset(&c->err, 0, sizeof(c->err));
	c->err.http_status = (int)status;
	if (status == 0) {
		snprintf(c->err.message, sizeof(c->err.message), "%s", http_req_error(r));
	} else if (status < 200 || status >= 300) {
		ec2_xml_error(body, len, &c->err);
		c->err.http_status = (int)status;
	}
	first_answered(c);
	cls = ec2_classify((int)status, c->err.code, c->err.message);
	if (status == 0 && http_req_permanent(r))
		cls = EC2_PERMANENT;
	if (strcmp(c->err.code, "RequestLimitExceeded") == 0) {
		counters.throttled++;
		rl_throttled(&limiters[rl_category(c->action)], ev_now(), rand01());
		c->throttled = 1;
	} else if (status != 0) {
		/* Any other answer shows the bucket had a token: evidence
		 * against an empty one (and a success speeds pacing up). */
		int cat = rl_category(c->action);
		if (rl_success(&limiters[cat], ev_now()))
			slot_pulled_in(cat);
		c->throttled = 0;
	}

	if (cls == EC2_OK && status >= 200 && status < 300) {
		char errbuf[256];
		/* Describe* answers are parsed by their own callers. */
		if (strncmp(c->action, "Describe", 8) != 0 &&
		    ec2_xml_ok(body, len, c->action, errbuf, sizeof(errbuf)) == -1) {
			/* A 2xx that is not the answer we asked for: treat as transient.
			 */
			snprintf(c->err.message, sizeof(c->err.message), "%s", errbuf);
			cls = EC2_RETRY;
		}
	}
	if (status == 0) {
		api_count(c->action, "TransportError");
	} else if (c->err.code[0]) {
		api_count(c->action, c->err.code);
	} else if (cls == EC2_OK) {
		api_count(c->action, "OK");
	} else {
		char code[24];
		snprintf(code, sizeof(code), "HTTP_%ld", status);
		api_count(c->action, code);
	}
	if (cls == EC2_PERMANENT && strcmp(c->err.code, "AuthFailure") == 0 &&
	    !c->reauthed && auth_invalidate_as(c->slot, c->akid)) {
		c->reauthed = 1;
		log_info("%s: AuthFailure, fetching fresh %s credentials", c->action,
			 auth_role_arn(c->slot)[0] ? "assumed-role" : "instance-role");
		http_req_free(r);
		c->req = NULL;
		call_start(c);
		return;
	}
	/* Real EC2 may say RequestExpired for expired temporary credentials,
	 * not only AuthFailure: when the role's keys are past their Expiration
	 * by our clock that is what it means. */
	if (cls == EC2_CLOCK_SKEW && strcmp(c->err.code, "RequestExpired") == 0 &&
	    !c->reauthed && auth_expired_as(c->slot, c->akid) &&
	    auth_invalidate_as(c->slot, c->akid)) {
		c->reauthed = 1;
		log_info("%s: RequestExpired with expired assumed-role credentials, "
			 "assuming the role again",
			 c->action);
		http_req_free(r);
		c->req = NULL;
		call_start(c);
		return;
	}
	if (cls == EC2_CLOCK_SKEW)
		log_warnx(
		    "%s: EC2 says %s (%s): this host's clock is off; check NTP/chrony",
		    c->action, c->err.code, c->err.message);
	if (cls == EC2_RETRY) {
		http_req_free(r);
		c->req = NULL;
		call_retry(c);
		return;
	}
	/* The body stays valid through the callback; c->req is freed after. */
	c->fn(c->arg, cls, &c->err, body, len);
	call_free(c);
	slot_release();
}

static void on_creds(void *arg, const struct aws_creds *cr, const char *err)
{
	struct ec2_call *c = arg;
	struct http_req *r;
	uint64_t now = ev_now();

	c->waiting_creds = 0;
	if (c->cancelled) {
		call_free(c);
		slot_release();
		return;
	}
	if (cr == NULL) {
		memset(&c->err, 0, sizeof(c->err));
		snprintf(c->err.code, sizeof(c->err.code), "NoCredentials");
		snprintf(c->err.message, sizeof(c->err.message), "%s", err);
		/* The metadata service may come back before the deadline. */
		if (strstr(err, "unreachable") || strstr(err, "HTTP 5"))
			call_retry(c);
		else
			call_finish(c, EC2_PERMANENT, NULL, 0);
		return;
	}
	if (now >= c->deadline) {
		/* Keep what the last attempt ran into: that is what to fix. */
		char last[sizeof(c->err.message)];
		snprintf(last, sizeof(last), "%s%s%s", c->err.code,
			 c->err.code[0] ? ": " : "", c->err.message);
		snprintf(c->err.message, sizeof(c->err.message), "deadline passed%s%s%s",
			 last[0] ? " (last error: " : "", last, last[0] ? ")" : "");
		call_finish(c, EC2_RETRY, NULL, 0);
		return;
	}
	char *body = xasprintf("Action=%s&Version=%s%s%s", c->action, EC2_API_VERSION,
			       c->params[0] ? "&" : "", c->params);
	r = http_req_new("POST", endpoint);
	http_req_header(r,
			"Content-Type: application/x-www-form-urlencoded; charset=utf-8");
	if (cr->session_token[0]) {
		char *h = xasprintf("X-Amz-Security-Token: %s", cr->session_token);
		http_req_header(r, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	http_req_sigv4(r, sigv4_provider, cr->access_key_id, cr->secret_access_key);
	snprintf(c->akid, sizeof(c->akid), "%s", cr->access_key_id);
	http_req_body(r, body, strlen(body));
	free(body);
	uint64_t left = c->deadline - now;
	http_req_timeout(r, left < request_timeout_ms ? left : request_timeout_ms);
	http_req_limit(r, EC2_BODY_MAX);
	c->req = r;
	counters.requests++;
	/* The retry of a throttled call sent while first attempts are still
	 * in flight (it waits for them, but not past its deadline) is not
	 * another call of the burst for the limiter's evidence: its answer
	 * counts when it comes. */
	if (!c->throttled) {
		c->first_out = 1;
		first_out[rl_category(c->action)]++;
	}
	if (!c->throttled || first_out[rl_category(c->action)] == 0)
		rl_sent(&limiters[rl_category(c->action)], now);
	if (http_req_start(r, on_response, c) == -1) {
		snprintf(c->err.message, sizeof(c->err.message),
			 "could not start request");
		call_finish(c, EC2_PERMANENT, NULL, 0);
	}
}

static void call_start(struct ec2_call *c)
{
	int cat = rl_category(c->action);
	uint64_t now = ev_now(), d = rl_delay(&limiters[cat], now);

	/* A throttled call's retry waits for the answers of the first
	 * attempts still in flight: they decide whether the bucket is empty
	 * (then it waits for a slot) or the throttle was the dice's. Sent
	 * before them, on a loaded host, the retries of an AZ outage's first
	 * throttled answers went into the empty bucket before the pacing
	 * their own burst was about to start. */
	if (c->throttled && !limiters[cat].limited && first_out[cat] > 0 &&
	    now + EC2_BURST_POLL_MS < c->deadline) {
		c->timer = ev_timer_add(EC2_BURST_POLL_MS, call_retry_timer, c);
		return;
	}
	/* A slot too close to the deadline leaves no time to answer. */
	if (d > 0 && now + d + EC2_SLOT_MARGIN_MS >= c->deadline) {
		/* The slot stays for a call that can use it in time. */
		snprintf(c->err.message, sizeof(c->err.message),
			 "deadline passed waiting for EC2's rate limit (last error: "
			 "%s)",
			 c->err.code[0] ? c->err.code : "none");
		snprintf(c->err.code, sizeof(c->err.code), "RequestLimitExceeded");
		log_info("%s: the next slot of the client's rate limit is %llu ms "
			 "away, after this pass's deadline",
			 c->action, (unsigned long long)d);
		call_finish(c, EC2_RETRY, NULL, 0);
		return;
	}
	/* Not yet: wait for the next slot and ask again then (another call
	 * may take it first; the slot after is at the rate of that instant). */
	d = rl_take(&limiters[cat], now, rand01(), c->slotted);
	if (d > 0) {
		if (!c->slotted)
			slot_wait(c, cat);
		c->timer = ev_timer_add(d, call_retry_timer, c);
		return;
	}
	if (c->slotted)
		slot_unwait(c, cat);
	c->waiting_creds = 1;
	auth_get_as(c->slot, on_creds, c);
}

struct ec2_call *ec2_call(const char *action, const char *params, uint64_t deadline,
			  ec2_call_fn fn, void *arg)
{
	return ec2_call_as(0, action, params, deadline, fn, arg);
}

struct ec2_call *ec2_call_as(int slot, const char *action, const char *params,
			     uint64_t deadline, ec2_call_fn fn, void *arg)
{
	struct ec2_call *c = xcalloc(1, sizeof(*c));

	c->slot = slot;
	if (strlcpy_chk(c->action, action, sizeof(c->action)) == -1 || endpoint == NULL) {
		free(c);
		return NULL;
	}
	c->params = xstrdup(params ? params : "");
	c->deadline = deadline;
	c->fn = fn;
	c->arg = arg;
	backoff_init(&c->bo, EC2_BACKOFF_BASE_MS, EC2_BACKOFF_CAP_MS, deadline);
	if (inflight >= max_parallel) {
		if (queue_tail)
			queue_tail->next = c;
		else
			queue_head = c;
		queue_tail = c;
		return c;
	}
	inflight++;
	/* Start from the loop, so fn never runs inside this call. */
	c->timer = ev_timer_add(0, call_retry_timer, c);
	return c;
}

void ec2_call_cancel(struct ec2_call *c)
{
	/* Still queued: unlink, it never held a slot. */
	for (struct ec2_call **pp = &queue_head, *prev = NULL; *pp;
	     prev = *pp, pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			if (queue_tail == c)
				queue_tail = prev;
			call_free(c);
			return;
		}
	}
	/* Waiting for credentials: auth holds our pointer until it answers. */
	if (c->waiting_creds) {
		c->cancelled = 1;
		return;
	}
	call_free(c);
	slot_release();
}

/* DescribeRouteTables and DescribeNetworkInterfaces across pages. */

struct ec2_describe {
	const char *action; /* "DescribeRouteTables" | "DescribeNetworkInterfaces" */
	char *ids_params;
	uint64_t deadline;
	ec2_describe_fn tables_fn; /* exactly one of these two is set */
	ec2_enis_fn enis_fn;
	void *arg;
	struct ec2_table *tables;
	size_t ntables;
	struct ec2_eni *enis;
	size_t nenis;
	int pages;
	int slot;
	struct ec2_call *call;
};

static void describe_free(struct ec2_describe *d)
{
	ec2_tables_free(d->tables, d->ntables);
	free(d->enis);
	free(d->ids_params);
	free(d);
}

/* The caller's callback, once, then d is gone. */
static void describe_done(struct ec2_describe *d, int rc, const struct ec2_error *err)
{
	if (d->tables_fn)
		d->tables_fn(d->arg, rc, rc == 0 ? d->tables : NULL,
			     rc == 0 ? d->ntables : 0, err);
	else
		d->enis_fn(d->arg, rc, rc == 0 ? d->enis : NULL, rc == 0 ? d->nenis : 0,
			   err);
	describe_free(d);
}

static int describe_page(struct ec2_describe *d, const char *next);

static void on_describe(void *arg, enum ec2_class cls, const struct ec2_error *err,
			const char *body, size_t len)
{
	struct ec2_describe *d = arg;
	struct ec2_error perr;
	char next[1024];
	int rc;

	d->call = NULL;
	if (cls != EC2_OK) {
		describe_done(d, -1, err);
		return;
	}
	memset(&perr, 0, sizeof(perr));
	if (d->tables_fn)
		rc = ec2_xml_describe(body, len, &d->tables, &d->ntables, next,
				      sizeof(next), perr.message, sizeof(perr.message));
	else
		rc = ec2_xml_describe_enis(body, len, &d->enis, &d->nenis, next,
					   sizeof(next), perr.message,
					   sizeof(perr.message));
	if (rc == -1) {
		snprintf(perr.code, sizeof(perr.code), "MalformedResponse");
		describe_done(d, -1, &perr);
		return;
	}
	if (next[0] && ++d->pages < EC2_MAX_PAGES) {
		if (describe_page(d, next) == 0)
			return;
		snprintf(perr.message, sizeof(perr.message), "could not start %s",
			 d->action);
		describe_done(d, -1, &perr);
		return;
	}
	describe_done(d, 0, NULL);
}

static int describe_page(struct ec2_describe *d, const char *next)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	buf_append(&b, d->ids_params, strlen(d->ids_params));
	if (next && *next)
		form_add(&b, "NextToken", next);
	d->call =
	    ec2_call_as(d->slot, d->action, buf_str(&b), d->deadline, on_describe, d);
	buf_free(&b);
	return d->call ? 0 : -1;
}

/* A describe of ids as key.1, key.2, ...; started, or NULL. */
static struct ec2_describe *describe_start(struct ec2_describe *d, const char *key,
					   const char *const *ids, size_t n)
{
	struct buf b;
	char k[48];

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%s.%zu", key, i + 1);
		form_add(&b, k, ids[i]);
	}
	d->ids_params = xstrdup(buf_str(&b));
	buf_free(&b);
	if (describe_page(d, NULL) == -1) {
		describe_free(d);
		return NULL;
	}
	return d;
}

struct ec2_describe *ec2_describe_tables(char (*ids)[AWS_ID_MAX], size_t n,
					 uint64_t deadline, ec2_describe_fn fn, void *arg)
{
	return ec2_describe_tables_as(0, ids, n, deadline, fn, arg);
}

struct ec2_describe *ec2_describe_tables_as(int slot, char (*ids)[AWS_ID_MAX], size_t n,
					    uint64_t deadline, ec2_describe_fn fn,
					    void *arg)
{
	struct ec2_describe *d = xcalloc(1, sizeof(*d));

	d->slot = slot;
	const char **v = xcalloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = ids[i];
	d->action = "DescribeRouteTables";
	d->deadline = deadline;
	d->tables_fn = fn;
	d->arg = arg;
	d = describe_start(d, "RouteTableId", v, n);
	free(v);
	return d;
}

struct ec2_describe *ec2_describe_enis(const char *const *ids, size_t n,
				       uint64_t deadline, ec2_enis_fn fn, void *arg)
{
	struct ec2_describe *d = xcalloc(1, sizeof(*d));

	d->action = "DescribeNetworkInterfaces";
	d->deadline = deadline;
	d->enis_fn = fn;
	d->arg = arg;
	return describe_start(d, "NetworkInterfaceId", ids, n);
}

void ec2_describe_cancel(struct ec2_describe *d)
{
	if (d->call)
		ec2_call_cancel(d->call);
	describe_free(d);
}
