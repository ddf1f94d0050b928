/* notify.c — failover notifications, sent beside the failover, never in its
 * way.
 *
 * The reconciler reports each applied keepalived transition and each
 * convergence (group.h's observer). Each report becomes up to two messages,
 * built at once (the report is only valid during the call): a webhook
 * message for every report, and a Mackerel graph annotation for a converged
 * failover, i.e. a generation that began with a transition to MASTER and
 * wrote at least one route (a restart that finds its routes in place moved
 * nothing, and is no failover to mark on a graph). A MASTER that never
 * converges (BACKUP came first, or EC2 kept failing) gets its transition
 * message and no annotation.
 *
 * Messages wait in one bounded queue; when it is full the oldest is
 * dropped and counted. Each sink sends one message at a time, in order, on
 * the shared curl multi: a hanging receiver costs one connection and the
 * queue bound, never an EC2 request slot or an event-loop stall. A POST
 * that meets a network error, 429 or 5xx is retried with full-jitter
 * backoff until NTF_DEADLINE_MS after its first attempt; any other 4xx is
 * final and logged once with the status and the start of the answer.
 *
 * The Mackerel API key is read from a private file (private_file_check) at
 * start and at each reload, registered with the log redactor, and kept only
 * here: it is never logged, never in the status, and its error messages
 * name the file, never the content. A webhook URL may carry a token in its
 * path (Slack), so it is never logged either. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "daemon/notify.h"
#include "lib/util.h"
#include "lib/backoff.h"
#include "lib/http.h"

#define KEY_FILE_MAX 4096	    /* a key file is one short line */
#define ARROW	     "\xe2\x86\x92" /* U+2192, in titles and texts */

/* ---- the queue (pure) ---------------------------------------------------- */

void ntfq_init(struct ntf_queue *q, size_t cap)
{
	q->cap = cap ? cap : 1;
	q->n = 0;
	q->v = xcalloc(q->cap, sizeof(*q->v));
}

struct ntf_msg *ntfq_push(struct ntf_queue *q, struct ntf_msg *m)
{
	struct ntf_msg *dropped = NULL;

	if (q->n == q->cap) {
		dropped = q->v[0];
		memmove(q->v, q->v + 1, (q->n - 1) * sizeof(*q->v));
		q->n--;
	}
	q->v[q->n++] = m;
	return dropped;
}

struct ntf_msg *ntfq_take(struct ntf_queue *q, enum ntf_sink sink)
{
	for (size_t i = 0; i < q->n; i++) {
		struct ntf_msg *m = q->v[i];
		if (m->sink != sink)
			continue;
		memmove(q->v + i, q->v + i + 1, (q->n - i - 1) * sizeof(*q->v));
		q->n--;
		return m;
	}
	return NULL;
}

void ntf_msg_free(struct ntf_msg *m)
{
	if (m == NULL)
		return;
	free(m->body);
	free(m);
}

void ntfq_free(struct ntf_queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		ntf_msg_free(q->v[i]);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

/* ---- the messages (pure) ------------------------------------------------- */

/* "node-c (us-east-1c)", or "node-c" when the AZ is unknown. */
static void where(char *buf, size_t size, const struct ntf_who *who)
{
	if (who->az[0])
		snprintf(buf, size, "%s (%s)", who->host, who->az);
	else
		snprintf(buf, size, "%s", who->host);
}

void ntf_title(char *buf, size_t size, const struct ntf_who *who,
	       const struct grp_report *r)
{
	char node[320];

	/* Hook: the AZ the routes came from would read "(FROM_AZ → TO_AZ)",
	 * but nothing maps the previous ENI to its AZ without another EC2
	 * call (DescribeNetworkInterfaces); add it here once that is cheap. */
	where(node, sizeof(node), who);
	snprintf(buf, size, "vpc-failover: %s " ARROW " %s", r->group, node);
}

/* Routes this generation wrote (a failover), as opposed to found in place. */
static size_t written(const struct grp_report *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nroutes; i++)
		n += strcmp(r->routes[i].outcome, "replaced") == 0 ||
		     strcmp(r->routes[i].outcome, "created") == 0;
	return n;
}

/* Where the routes pointed before, when some route says (a pass that looked
 * first); NULL when unknown (a blind write, the fast path of a failover). */
static const char *previous_eni(const struct grp_report *r)
{
	for (size_t i = 0; i < r->nroutes; i++)
		if (r->routes[i].before[0] && strcmp(r->routes[i].before, r->eni) != 0)
			return r->routes[i].before;
	return NULL;
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* "settled in 3042 ms", or what a MASTER that left before its settle
 * checks reports. Static buffer: one report is formatted at a time. */
static const char *settle_note(const struct grp_report *r)
{
	static char note[64];

	if (r->settle_ms == 0)
		return "left MASTER before settling";
	snprintf(note, sizeof(note), "settled in %llu ms",
		 (unsigned long long)r->settle_ms);
	return note;
}

/* " (2 late writes by another node taken back)", or "". Static buffer: one
 * report is formatted at a time, on the loop. */
static const char *late_note(const struct grp_report *r)
{
	static char note[64];

	if (r->late_writes == 0)
		return "";
	snprintf(note, sizeof(note), " (%u late write%s by another node taken back)",
		 r->late_writes, plural(r->late_writes));
	return note;
}

static char *webhook_text(const struct ntf_who *who, const struct grp_report *r)
{
	char node[320];

	where(node, sizeof(node), who);
	if (r->kind == GRP_REPORT_CONVERGED)
		return xasprintf(
		    "vpc-failover: group %s on %s: %s " ARROW
		    " %s (%s), all %zu route table%s " ARROW " %s in %llu ms, %s%s%s%s",
		    r->group, node, ka_state_name(r->previous), ka_state_name(r->state),
		    r->source, r->ntables, plural(r->ntables), r->eni,
		    (unsigned long long)r->convergence_ms, settle_note(r), late_note(r),
		    r->traffic && r->traffic[0] ? "; " : "",
		    r->traffic ? r->traffic : "");
	if (r->state == KA_MASTER)
		return xasprintf("vpc-failover: group %s on %s: %s " ARROW
				 " %s (%s), moving %zu route table%s to %s",
				 r->group, node, ka_state_name(r->previous),
				 ka_state_name(r->state), r->source, r->ntables,
				 plural(r->ntables), r->eni);
	return xasprintf("vpc-failover: group %s on %s: %s " ARROW " %s (%s)", r->group,
			 node, ka_state_name(r->previous), ka_state_name(r->state),
			 r->source);
}

static const char *or_null(const char *s)
{
	return s && s[0] ? s : NULL;
}

static char *dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (s == NULL)
		fatalx("notify: cannot encode JSON");
	return s;
}

char *ntf_webhook_body(const struct ntf_who *who, const struct grp_report *r)
{
	json_t *tables = json_array();
	char *text = webhook_text(who, r);
	int conv = r->kind == GRP_REPORT_CONVERGED;

	for (size_t i = 0; i < r->nroutes; i++) {
		const struct grp_report_route *rt = &r->routes[i];
		json_array_append_new(
		    tables, json_pack("{s:s, s:s, s:s, s:I}", "table", rt->table,
				      "destination", rt->destination, "outcome",
				      rt->outcome, "ms", (json_int_t)rt->ms));
	}
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:I, s:s?, s:s?, s:o, s:o, "
	    "s:I}",
	    "text", text, "event", conv ? "converged" : "transition", "group", r->group,
	    "host", who->host, "instance_id", or_null(who->instance_id), "az",
	    or_null(who->az), "state", ka_state_name(r->state), "previous_state",
	    ka_state_name(r->previous), "source", r->source, "generation",
	    (json_int_t)r->generation, "eni", or_null(r->eni), "previous_eni",
	    conv ? previous_eni(r) : NULL, "tables", tables, "convergence_ms",
	    conv ? json_integer((json_int_t)r->convergence_ms) : json_null(), "time",
	    (json_int_t)r->wall);
	if (o && conv) {
		json_object_set_new(o, "settle_ms",
				    json_integer((json_int_t)r->settle_ms));
		json_object_set_new(o, "late_writes",
				    json_integer((json_int_t)r->late_writes));
		if (r->traffic && r->traffic[0])
			json_object_set_new(o, "first_traffic", json_string(r->traffic));
	}
	free(text);
	if (o == NULL)
		fatalx("notify: cannot build the webhook message");
	return dump(o);
}

/* Appends to the description; a description over its cap is cut (the API
 * answers 400 to an oversized one, and a 400 is final). */
static void line(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void line(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len)
		buf_append(b, "\n", 1);
	buf_append(b, tmp, strlen(tmp));
}

static char *description(const struct ntf_who *who, const struct grp_report *r)
{
	const char *prev = previous_eni(r);
	struct buf b;
	char node[320];

	buf_init(&b, 4096);
	line(&b, "keepalived %s " ARROW " %s (via %s), generation %llu",
	     ka_state_name(r->previous), ka_state_name(r->state), r->source,
	     (unsigned long long)r->generation);
	if (prev)
		line(&b, "routes: %s " ARROW " %s", prev, r->eni);
	else
		line(&b, "routes " ARROW " %s", r->eni);
	for (size_t i = 0; i < r->nroutes && i < NTF_DESC_ROUTES; i++)
		line(&b, "%s %s: %s after %llu ms", r->routes[i].table,
		     r->routes[i].destination, r->routes[i].outcome,
		     (unsigned long long)r->routes[i].ms);
	if (r->nroutes > NTF_DESC_ROUTES)
		line(&b, "... and %zu more routes", r->nroutes - NTF_DESC_ROUTES);
	where(node, sizeof(node), who);
	line(&b, "all %zu route table%s in %llu ms on %s%s%s", r->ntables,
	     plural(r->ntables), (unsigned long long)r->convergence_ms, node,
	     who->instance_id[0] ? ", " : "", who->instance_id);
	if (r->settle_ms)
		line(&b, "settled: still there %llu ms after the transition",
		     (unsigned long long)r->settle_ms);
	else
		line(&b, "not settled: the group left MASTER before its settle checks");
	if (r->late_writes)
		line(&b, "%u late write%s by another node taken back (last: %s)",
		     r->late_writes, plural(r->late_writes), r->last_late);
	if (r->traffic && r->traffic[0])
		line(&b, "%s", r->traffic);
	char *s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

/* The annotation's roles, when [mackerel] names any. */
static void add_roles(json_t *o, const struct ntf_mackerel_cfg *m)
{
	if (m->nroles == 0)
		return;
	json_t *roles = json_array();
	for (size_t i = 0; i < m->nroles; i++)
		json_array_append_new(roles, json_string(m->roles[i]));
	json_object_set_new(o, "roles", roles);
}

char *ntf_annotation_body(const struct ntf_who *who, const struct ntf_mackerel_cfg *m,
			  const struct grp_report *r)
{
	char title[512];

	if (r->kind != GRP_REPORT_CONVERGED || !r->failover || written(r) == 0)
		return NULL;
	ntf_title(title, sizeof(title), who, r);
	char *desc = description(who, r);
	int64_t to = r->wall < r->event_wall ? r->event_wall : r->wall;
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s}", "title", title, "description",
			      desc, "from", (json_int_t)r->event_wall, "to",
			      (json_int_t)to, "service", m->service);
	free(desc);
	if (o == NULL)
		fatalx("notify: cannot build the annotation");
	add_roles(o, m);
	return dump(o);
}

char *ntf_network_webhook_body(const struct ntf_who *who, const struct ntf_net *n)
{
	char node[320];

	where(node, sizeof(node), who);
	char *text =
	    xasprintf("vpc-failover: group %s on %s: %s", n->group, node, n->text);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:I, s:I, s:I, s:O}",
			      "text", text, "event", "network", "group", n->group, "host",
			      who->host, "instance_id", or_null(who->instance_id), "az",
			      or_null(who->az), "generation", (json_int_t)n->generation,
			      "transition_time", (json_int_t)n->trans_wall, "time",
			      (json_int_t)(n->trans_wall + n->window_s), "network",
			      n->detail ? n->detail : json_null());
	free(text);
	if (o == NULL)
		fatalx("notify: cannot build the webhook message");
	return dump(o);
}

char *ntf_network_annotation_body(const struct ntf_who *who,
				  const struct ntf_mackerel_cfg *m,
				  const struct ntf_net *n)
{
	char title[512], node[320];

	where(node, sizeof(node), who);
	snprintf(title, sizeof(title),
		 "vpc-failover: %s " ARROW " %s, the network around it", n->group, node);
	json_t *o =
	    json_pack("{s:s, s:s, s:I, s:I, s:s}", "title", title, "description", n->desc,
		      "from", (json_int_t)(n->trans_wall - n->window_s), "to",
		      (json_int_t)(n->trans_wall + n->window_s), "service", m->service);
	if (o == NULL)
		fatalx("notify: cannot build the annotation");
	add_roles(o, m);
	return dump(o);
}

int ntf_read_key(const char *path, char *key, size_t keysz, char *why, size_t whylen)
{
	char buf[KEY_FILE_MAX + 1], detail[200];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	/* What was opened is what gets checked; O_NONBLOCK: a FIFO cannot
	 * hang us before that. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		errf(why, whylen, "'%s': %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		errf(why, whylen, "'%s': fstat: %s", path, strerror(errno));
		goto out;
	}
	if (private_file_check(&st, detail, sizeof(detail)) == -1) {
		errf(why, whylen, "'%s': %s", path, detail);
		goto out;
	}
	if ((n = read_fd_capped(fd, buf, sizeof(buf) - 1)) == -1 && errno != EFBIG) {
		errf(why, whylen, "'%s': read: %s", path, strerror(errno));
		goto out;
	}
	len = n == -1 ? sizeof(buf) - 1 : (size_t)n; /* too long: said below */
	/* One line: a trailing newline (and spaces) is what editors leave. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
			   buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		buf[--len] = '\0';
	if (len < 8 || len >= keysz || len >= NTF_KEY_MAX) {
		errf(why, whylen, "'%s': want one API key of 8 to %d characters", path,
		     NTF_KEY_MAX - 1);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f) {
			/* A newline would also split the HTTP header. */
			errf(why, whylen,
			     "'%s': the key holds a space, a second line or a "
			     "non-printable byte",
			     path);
			goto out;
		}
	memcpy(key, buf, len + 1);
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	return rc;
}

/* ---- the sender ---------------------------------------------------------- */

struct sender {
	struct ntf_msg *msg; /* being sent, or waiting for its retry */
	struct http_req *req;
	struct backoff bo;
	uint64_t timer;
	unsigned attempts;
};

static int started;
static struct ntf_mackerel_cfg mkr; /* service, roles */
static char api_key[NTF_KEY_MAX];   /* "" = annotations off */
static char mkr_url[URL_MAX + 64];  /* api_url + the API path */
static char hook_url[URL_MAX];	    /* "" = webhook off */
static struct ntf_who who;
static struct ntf_queue queue;
static struct sender senders[NTF_NSINKS];
static uint64_t pump_timer;
static uint64_t n_sent, n_failed, n_dropped, n_errors;
static char last_error[320];

static const char *sink_name(enum ntf_sink s)
{
	return s == NTF_MACKEREL ? "mackerel" : "webhook";
}

static int sink_on(enum ntf_sink s)
{
	return s == NTF_MACKEREL ? api_key[0] && mkr_url[0] : hook_url[0] != '\0';
}

/* The answer's start as one printable line, without the key (a server may
 * echo a request header back): scrubbed before it is cut, so that no prefix
 * of the key survives the cut either. */
static void show_body(char *out, size_t size, const char *body, size_t len)
{
	size_t kl = strlen(api_key), take = NTF_SHOW_BODY + kl, n = 0;
	char *tmp = xmalloc(take + 1), *p;

	for (size_t i = 0; i < len && i < take; i++) {
		unsigned char c = (unsigned char)body[i];
		tmp[n++] = c >= ' ' && c < 0x7f ? (char)c : ' ';
	}
	tmp[n] = '\0';
	while (kl && (p = strstr(tmp, api_key)) != NULL)
		memset(p, '*', kl);
	/* A key cut by the end of what was taken: hide its start too. */
	for (size_t k = kl > n ? n : kl; k > 0; k--)
		if (memcmp(tmp + n - k, api_key, k) == 0) {
			memset(tmp + n - k, '*', k);
			break;
		}
	snprintf(out, size, "%.*s", NTF_SHOW_BODY, tmp);
	free(tmp);
}

static void pump_later(void);

static void sender_done(struct sender *s)
{
	ntf_msg_free(s->msg);
	s->msg = NULL;
	s->attempts = 0;
	pump_later();
}

static void send_msg(void *arg);

static void on_answer(struct http_req *r, void *arg)
{
	struct sender *s = arg;
	enum ntf_sink sink = (enum ntf_sink)(s - senders);
	long status = http_req_status(r);
	size_t len;
	const char *body = http_req_body_text(r, &len);
	char shown[NTF_SHOW_BODY + 1], err[300];

	s->req = NULL;
	if (status >= 200 && status < 300) {
		n_sent++;
		if (s->attempts > 1)
			log_info("notifications: %s delivered after %u attempts",
				 s->msg->what, s->attempts);
		else
			log_debug("notifications: %s delivered", s->msg->what);
		http_req_free(r);
		sender_done(s);
		return;
	}
	n_errors++;
	show_body(shown, sizeof(shown), body, len);
	if (status == 0)
		snprintf(err, sizeof(err), "%s", http_req_error(r));
	else
		snprintf(err, sizeof(err), "HTTP %ld%s%s", status, shown[0] ? ": " : "",
			 shown);
	snprintf(last_error, sizeof(last_error), "%s: %s", sink_name(sink), err);
	http_req_free(r);
	if (status != 0 && status != 429 && status < 500) {
		n_failed++;
		log_warnx("notifications: %s refused with %s (not retried)", s->msg->what,
			  err);
		sender_done(s);
		return;
	}
	uint64_t d = backoff_next(&s->bo, ev_now());
	if (d == BACKOFF_GIVE_UP) {
		n_failed++;
		log_warnx("notifications: %s not delivered: gave up after %u attempts "
			  "in %d s; last: %s",
			  s->msg->what, s->attempts, NTF_DEADLINE_MS / 1000, err);
		sender_done(s);
		return;
	}
	/* The first failure of a message is worth a line; the retries are not. */
	if (s->attempts == 1)
		log_warnx("notifications: %s: %s; retrying for up to %d s", s->msg->what,
			  err, NTF_DEADLINE_MS / 1000);
	else
		log_debug("notifications: %s: %s; retry in %llu ms", s->msg->what, err,
			  (unsigned long long)d);
	s->timer = ev_timer_add(d, send_msg, s);
}

static void send_msg(void *arg)
{
	struct sender *s = arg;
	enum ntf_sink sink = (enum ntf_sink)(s - senders);
	struct http_req *r;

	s->timer = 0;
	s->attempts++;
	if (sink == NTF_MACKEREL) {
		char *h = xasprintf("X-Api-Key: %s", api_key);
		r = http_req_new("POST", mkr_url);
		http_req_header(r, h);
		explicit_bzero(h, strlen(h));
		free(h);
	} else {
		r = http_req_new("POST", hook_url);
	}
	http_req_header(r, "Content-Type: application/json");
	http_req_body(r, s->msg->body, strlen(s->msg->body));
	http_req_timeout(r, NTF_TIMEOUT_MS);
	http_req_limit(r, NTF_RESP_MAX);
	if (http_req_start(r, on_answer, s) == -1) {
		/* Logged by http.c; try again later like a network error. */
		http_req_free(r);
		n_errors++;
		uint64_t d = backoff_next(&s->bo, ev_now());
		if (d == BACKOFF_GIVE_UP) {
			n_failed++;
			sender_done(s);
			return;
		}
		s->timer = ev_timer_add(d, send_msg, s);
		return;
	}
	s->req = r;
}

static void pump(void *arg)
{
	pump_timer = 0;
	for (int i = 0; i < NTF_NSINKS; i++) {
		struct sender *s = &senders[i];
		if (s->msg != NULL || !sink_on((enum ntf_sink)i))
			continue;
		if ((s->msg = ntfq_take(&queue, (enum ntf_sink)i)) == NULL)
			continue;
		backoff_init(&s->bo, NTF_BACKOFF_BASE_MS, NTF_BACKOFF_CAP_MS,
			     ev_now() + NTF_DEADLINE_MS);
		s->attempts = 0;
		send_msg(s);
	}
}

/* From the event loop, never inside the caller (the reconciler, or curl's
 * completion loop). */
static void pump_later(void)
{
	if (pump_timer == 0)
		pump_timer = ev_timer_add(0, pump, NULL);
}

static void enqueue_as(enum ntf_sink sink, char *body, const char *what)
{
	struct ntf_msg *m = xcalloc(1, sizeof(*m)), *old;

	m->sink = sink;
	m->body = body;
	snprintf(m->what, sizeof(m->what), "%s", what);
	if ((old = ntfq_push(&queue, m)) != NULL) {
		n_dropped++;
		log_warnx(
		    "notifications: queue full (%d waiting): dropped the oldest, %s",
		    NTF_QUEUE_MAX, old->what);
		ntf_msg_free(old);
	}
	pump_later();
}

static void enqueue(enum ntf_sink sink, char *body, const char *what,
		    const struct grp_report *r)
{
	char w[128];

	snprintf(w, sizeof(w), "%s (group %s, %s, generation %llu)", what, r->group,
		 ka_state_name(r->state), (unsigned long long)r->generation);
	enqueue_as(sink, body, w);
}

void ntf_network(const struct ntf_net *n, int annotate)
{
	char w[128];

	if (!started)
		return;
	if (sink_on(NTF_WEBHOOK)) {
		snprintf(w, sizeof(w),
			 "webhook network message (group %s, generation %llu)", n->group,
			 (unsigned long long)n->generation);
		enqueue_as(NTF_WEBHOOK, ntf_network_webhook_body(&who, n), w);
	}
	if (annotate && sink_on(NTF_MACKEREL)) {
		snprintf(w, sizeof(w),
			 "Mackerel network annotation (group %s, generation %llu)",
			 n->group, (unsigned long long)n->generation);
		enqueue_as(NTF_MACKEREL, ntf_network_annotation_body(&who, &mkr, n), w);
	}
}

void ntf_report(const struct grp_report *r, void *arg)
{
	char *body;

	if (!started)
		return;
	if (sink_on(NTF_WEBHOOK) && (body = ntf_webhook_body(&who, r)) != NULL)
		enqueue(NTF_WEBHOOK, body,
			r->kind == GRP_REPORT_CONVERGED ? "webhook convergence message"
							: "webhook transition message",
			r);
	if (sink_on(NTF_MACKEREL) && (body = ntf_annotation_body(&who, &mkr, r)) != NULL)
		enqueue(NTF_MACKEREL, body, "Mackerel annotation", r);
}

/* ---- settings ------------------------------------------------------------ */

/* Read what cfg asks for into the arguments; -1 (logged) leaves them alone. */
static int load(const struct cfg *cfg, char *key, char *url)
{
	const struct ntf_mackerel_cfg *m = &cfg->mackerel;
	char why[512];

	key[0] = url[0] = '\0';
	if (m->api_key_file[0] == '\0')
		return 0;
	if (ntf_read_key(m->api_key_file, key, NTF_KEY_MAX, why, sizeof(why)) == -1) {
		log_warnx("%s:%d: api_key_file: %s", cfg->path, m->key_line, why);
		return -1;
	}
	log_redact_add(key);
	size_t n = strlen(m->api_url);
	while (n > 0 && m->api_url[n - 1] == '/')
		n--;
	snprintf(url, URL_MAX + 64, "%.*s/api/v0/graph-annotations", (int)n, m->api_url);
	return 0;
}

int ntf_check(const struct cfg *cfg)
{
	char key[NTF_KEY_MAX], url[URL_MAX + 64];
	int rc = load(cfg, key, url);

	explicit_bzero(key, sizeof(key));
	return rc;
}

/* Drop what a sink that was turned off still holds. */
static void sink_off(enum ntf_sink sink)
{
	struct sender *s = &senders[sink];
	struct ntf_msg *m;
	unsigned n = 0;

	if (s->req)
		http_req_cancel(s->req);
	s->req = NULL;
	if (s->timer)
		ev_timer_cancel(s->timer);
	s->timer = 0;
	if (s->msg) {
		ntf_msg_free(s->msg);
		s->msg = NULL;
		n++;
	}
	while ((m = ntfq_take(&queue, sink)) != NULL) {
		ntf_msg_free(m);
		n++;
	}
	if (n) {
		n_dropped += n;
		log_info("notifications: %s turned off: %u unsent messages dropped",
			 sink_name(sink), n);
	}
}

/* A message waiting out its backoff goes at once, with a fresh deadline,
 * when its sink's URL or key changed: the operator just fixed it. */
static void retry_now(struct sender *s)
{
	if (s->msg == NULL || s->timer == 0)
		return;
	ev_timer_cancel(s->timer);
	backoff_init(&s->bo, NTF_BACKOFF_BASE_MS, NTF_BACKOFF_CAP_MS,
		     ev_now() + NTF_DEADLINE_MS);
	s->timer = ev_timer_add(0, send_msg, s);
}

/* Switch to cfg's settings; key and url NULL: [mackerel] stays as it runs
 * (its key could not be read; the old key never goes to a new URL). */
static void apply(const struct cfg *cfg, const char *key, const char *url)
{
	int was[NTF_NSINKS], moved[NTF_NSINKS];

	for (int i = 0; i < NTF_NSINKS; i++)
		was[i] = sink_on((enum ntf_sink)i);
	moved[NTF_MACKEREL] =
	    key && url && (strcmp(key, api_key) || strcmp(url, mkr_url));
	moved[NTF_WEBHOOK] = strcmp(cfg->webhook.url, hook_url) != 0;
	if (key && url) {
		mkr = cfg->mackerel;
		snprintf(api_key, sizeof(api_key), "%s", key);
		snprintf(mkr_url, sizeof(mkr_url), "%s", url);
	}
	snprintf(hook_url, sizeof(hook_url), "%s", cfg->webhook.url);
	/* A webhook URL may carry a token in its path. */
	if (hook_url[0])
		log_redact_add(hook_url);
	for (int i = 0; i < NTF_NSINKS; i++) {
		int on = sink_on((enum ntf_sink)i);
		if (was[i] && !on)
			sink_off((enum ntf_sink)i);
		else if (on && moved[i])
			retry_now(&senders[i]);
		if (was[i] != on || (!started && on))
			log_info("notifications: %s %s", sink_name((enum ntf_sink)i),
				 on ? (i == NTF_MACKEREL ? "annotations on" : "on")
				    : "off");
	}
	pump_later();
}

void ntf_init(const struct cfg *cfg)
{
	char key[NTF_KEY_MAX], url[URL_MAX + 64];

	memset(&who, 0, sizeof(who));
	if (gethostname(who.host, sizeof(who.host) - 1) == -1 || who.host[0] == '\0')
		snprintf(who.host, sizeof(who.host), "unknown-host");
	ntfq_init(&queue, NTF_QUEUE_MAX);
	if (load(cfg, key, url) == -1)
		log_warnx("notifications: Mackerel annotations off (see above); "
			  "failover is unaffected");
	apply(cfg, key, url); /* load() left them "" on error: off */
	explicit_bzero(key, sizeof(key));
	started = 1;
}

int ntf_reload(const struct cfg *cfg)
{
	char key[NTF_KEY_MAX], url[URL_MAX + 64];

	int rc;

	if (!started)
		return -1;
	if ((rc = load(cfg, key, url)) == -1)
		log_warnx("reload: keeping the running [mackerel] settings (%s)",
			  api_key[0] ? "annotations on with the key read before" : "off");
	apply(cfg, rc == 0 ? key : NULL, rc == 0 ? url : NULL);
	explicit_bzero(key, sizeof(key));
	return rc;
}

void ntf_set_identity(const struct imds_identity *id)
{
	snprintf(who.instance_id, sizeof(who.instance_id), "%s", id->instance_id);
	snprintf(who.az, sizeof(who.az), "%s", id->az);
}

json_t *ntf_status(void)
{
	size_t busy = 0;

	for (int i = 0; i < NTF_NSINKS; i++)
		busy += senders[i].msg != NULL;
	return json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:s}", "mackerel",
			 sink_on(NTF_MACKEREL), "webhook", sink_on(NTF_WEBHOOK), "queued",
			 (json_int_t)(queue.n + busy), "sent", (json_int_t)n_sent,
			 "failed", (json_int_t)n_failed, "dropped", (json_int_t)n_dropped,
			 "errors", (json_int_t)n_errors, "last_error", last_error);
}

void ntf_fini(void)
{
	size_t left = queue.n;

	if (!started)
		return;
	for (int i = 0; i < NTF_NSINKS; i++) {
		struct sender *s = &senders[i];
		if (s->req)
			http_req_cancel(s->req);
		if (s->timer)
			ev_timer_cancel(s->timer);
		left += s->msg != NULL;
		ntf_msg_free(s->msg);
		memset(s, 0, sizeof(*s));
	}
	if (pump_timer)
		ev_timer_cancel(pump_timer);
	pump_timer = 0;
	if (left)
		log_info("notifications: %zu unsent at exit", left);
	ntfq_free(&queue);
	explicit_bzero(api_key, sizeof(api_key));
	started = 0;
}
