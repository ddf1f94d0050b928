/* sentinel.c — follow the master a quorum of Redis Sentinels reports (see
 * sentinel.h).
 *
 * Per sentinel group, on the daemon's loop through hiredis's async API
 * (daemon/rdev.c), two connections to each configured sentinel:
 *  - a question connection: a round asks every sentinel
 *    `SENTINEL get-master-addr-by-name NAME` at once, every SEN_POLL_MS (the
 *    level-triggered backstop) and at once after an event; a round ends when
 *    every sentinel answered, or at SEN_REQ_MS, when the silent ones count
 *    as unreachable (their connection dropped, reconnected after a backoff);
 *  - a Pub/Sub connection subscribed to +switch-master, the fast path: each
 *    message for our master starts a round (never trusted alone).
 * The group follows the address that sentinel_quorum sentinels give (a
 * KA_LEADER event, source "sentinel", on the path keepalived's events take;
 * repeating a state is a duplicate the groups ignore): MASTER when it is one
 * of this node's addresses, BACKUP when not.
 *
 * With no quorum (sentinels down, unknown master, or disagreeing) for
 * SEN_HOLD_MS, a group with sentinel_unreachable = keep (the default) keeps
 * its state and is held (grp_hold: no pass, no write) until a quorum agrees
 * again; with step_down it is told BACKUP after sentinel_step_down_after.
 * The same semantics as patroni.c's etcd_unreachable. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "daemon/rdev.h"
#include "daemon/sentinel.h"
#include "lib/backoff.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vpc/creds.h"

#define SEN_POLL_MS	  1000 /* a round's period */
#define SEN_REQ_MS	  1000 /* a round's deadline, connect included */
#define SEN_RETRY_BASE_MS 200
#define SEN_RETRY_CAP_MS  5000
/* keep: no quorum for a few rounds = unreachable */
#define SEN_HOLD_MS 3000
#define SEN_MSG_MAX 512 /* a +switch-master message, as logged */

struct sen;

struct sen_node {
	struct sen *s;
	const struct cfg_sentinel *cfg;
	redisAsyncContext *cmd, *sub;
	int asked;	    /* a question of this round is in flight */
	int subscribed;	    /* the SUBSCRIBE was confirmed */
	uint64_t sub_since; /* ev_now() of the Pub/Sub connect */
	struct backoff retry;
	uint64_t next_try; /* no reconnect before (ev_now()) */
	struct sen_answer ans;
	int reachable;	     /* answered the last round */
	char error[240];     /* the last failure, "" after an answer */
	int64_t answer_wall; /* its last answer */
	unsigned long answers, failures, events;
};

struct sen {
	const struct cfg_group *cfg;
	struct sen_node *nodes;
	size_t n;
	char *password; /* NULL = none; registered with the log redactor */
	char pw_err[300];
	uint64_t timer, deadline; /* the next round; the round's deadline */
	int in_round, again;
	unsigned pending;
	int known;		   /* a quorum has agreed at least once */
	struct sen_answer master;  /* what it agreed on */
	int is_me;		   /* ... is this node */
	char me[INET6_ADDRSTRLEN]; /* the local address that matched */
	unsigned agree;		   /* the last round's most common answer's count */
	uint64_t last_ok;	   /* ev_now() of the last quorum */
	int64_t last_ok_wall, changed_wall;
	char error[300]; /* why the last round had no quorum, "" after one */
	int held, stepped_down;
	unsigned long rounds, events, rechecks;
};

static struct sen **sens;
static size_t nsens;
static sen_event_fn on_event;

static void round_start(struct sen *s);

/* ---- parsing (untrusted: tests/unit/test_sentinel.c, tests/fuzz) ---- */

static int host_ok(const char *h, size_t n)
{
	if (n == 0 || n >= SEN_HOST_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		/* an IP literal, or a name if the sentinels announce names */
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '.' || c == ':' || c == '-' ||
		      c == '_' || c == '%'))
			return 0;
	}
	return 1;
}

int sen_parse_reply(const struct redisReply *r, struct sen_answer *a, char *why,
		    size_t whylen)
{
	const redisReply *h, *p;
	char port[8], *end;
	long v;

	memset(a, 0, sizeof(*a));
	if (r == NULL) {
		snprintf(why, whylen, "no reply");
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, whylen, "error reply: %.160s", r->str ? r->str : "");
		return -1;
	}
	if (r->type == REDIS_REPLY_NIL) {
		a->kind = SEN_NOMASTER;
		return 0;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    (h = r->element[0])->type != REDIS_REPLY_STRING ||
	    ((p = r->element[1])->type != REDIS_REPLY_STRING &&
	     p->type != REDIS_REPLY_INTEGER)) {
		snprintf(why, whylen,
			 "not a master address (want a two-element array: host, port)");
		return -1;
	}
	if (!host_ok(h->str, h->len) || memchr(h->str, '\0', h->len)) {
		snprintf(why, whylen, "the master's host is not an address");
		return -1;
	}
	if (p->type == REDIS_REPLY_INTEGER)
		v = p->integer < 1 || p->integer > 65535 ? -1 : (long)p->integer;
	else if (p->len == 0 || p->len >= sizeof(port))
		v = -1;
	else {
		memcpy(port, p->str, p->len);
		port[p->len] = '\0';
		v = strtol(port, &end, 10);
		if (*end != '\0' || port[0] < '0' || port[0] > '9' || v < 1 || v > 65535)
			v = -1;
	}
	if (v == -1) {
		snprintf(why, whylen, "the master's port is not 1 to 65535");
		return -1;
	}
	a->kind = SEN_ADDR;
	memcpy(a->host, h->str, h->len);
	a->host[h->len] = '\0';
	a->port = (int)v;
	return 0;
}

int sen_parse_switch(const char *msg, size_t len, char *name, size_t namelen)
{
	const char *sp = memchr(msg, ' ', len);
	size_t words = 1;

	if (sp == NULL || sp == msg || (size_t)(sp - msg) >= namelen)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\0' || msg[i] == '\n' || msg[i] == '\r')
			return -1;
		words += msg[i] == ' ';
	}
	if (words != 5)
		return -1;
	memcpy(name, msg, (size_t)(sp - msg));
	name[sp - msg] = '\0';
	return 0;
}

static int same(const struct sen_answer *a, const struct sen_answer *b)
{
	return a->kind == SEN_ADDR && b->kind == SEN_ADDR && a->port == b->port &&
	       strcmp(a->host, b->host) == 0;
}

int sen_quorum(const struct sen_answer *a, size_t n, unsigned quorum, unsigned *agree)
{
	unsigned best = 0;
	int pick = -1;

	for (size_t i = 0; i < n; i++) {
		unsigned c = 0;
		if (a[i].kind != SEN_ADDR)
			continue;
		for (size_t j = 0; j < n; j++)
			c += same(&a[i], &a[j]);
		if (c > best) {
			best = c;
			pick = (int)i;
		}
	}
	*agree = best;
	return best >= quorum && quorum > 0 ? pick : -1;
}

/* Both as 16 bytes (IPv4 mapped), or -1. */
static int addr16(const char *s, unsigned char out[16])
{
	unsigned char v4[4];

	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	if (inet_pton(AF_INET, s, v4) != 1)
		return -1;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, v4, 4);
	return 0;
}

int sen_is_local(const char *host, const char *override, char *match, size_t matchlen)
{
	static const unsigned char lo4[16] = {[10] = 0xff, [11] = 0xff, 127, 0, 0, 1};
	unsigned char want[16], have[16];
	struct ifaddrs *ifs = NULL, *i;
	char text[INET6_ADDRSTRLEN];
	int found = 0;

	if (match && matchlen)
		match[0] = '\0';
	if (addr16(host, want) == -1)
		return 0; /* a name: never ours (sentinel_address is an IP) */
	if (override && *override) {
		found = addr16(override, have) == 0 && memcmp(want, have, 16) == 0;
		if (found && match)
			snprintf(match, matchlen, "%s", override);
		return found;
	}
	if (getifaddrs(&ifs) == -1) {
		log_warn("getifaddrs");
		return 0;
	}
	for (i = ifs; i && !found; i = i->ifa_next) {
		const void *src;
		int fam = i->ifa_addr ? i->ifa_addr->sa_family : AF_UNSPEC;
		if (fam == AF_INET) {
			src =
			    &((const struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
			memset(have, 0, 10);
			have[10] = have[11] = 0xff;
			memcpy(have + 12, src, 4);
		} else if (fam == AF_INET6) {
			src = &((const struct sockaddr_in6 *)(void *)i->ifa_addr)
				   ->sin6_addr;
			memcpy(have, src, 16);
		} else
			continue;
		/* 127.0.0.1 is every node's: a master announced as loopback
		 * names no node (sentinel_address says which one is meant). */
		if (memcmp(want, have, 16) == 0 && memcmp(have, lo4, 16) != 0 &&
		    memcmp(have, in6addr_loopback.s6_addr, 16) != 0) {
			found = 1;
			if (match && inet_ntop(fam, src, text, sizeof(text)))
				snprintf(match, matchlen, "%s", text);
		}
	}
	freeifaddrs(ifs);
	return found;
}

/* ---- the follower ---- */

static void on_timer(void *arg)
{
	struct sen *s = arg;

	s->timer = 0;
	round_start(s);
}

static void schedule(struct sen *s, uint64_t ms)
{
	if (s->timer)
		ev_timer_cancel(s->timer);
	s->timer = ev_timer_add(ms, on_timer, s);
}

static void emit(struct sen *s, enum ka_state st)
{
	struct ka_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = KA_LEADER;
	snprintf(ev.name, sizeof(ev.name), "%s", s->cfg->name);
	ev.state = st;
	ev.mono = ev_now();
	ev.wall = ev_wall();
	on_event(&ev, "sentinel");
}

/* Drop a connection we own (its callbacks to come are for nobody). */
static void drop(redisAsyncContext **acp)
{
	redisAsyncContext *ac = *acp;

	if (ac == NULL)
		return;
	*acp = NULL;
	ac->data = NULL;
	/* Inside a reply callback hiredis defers the free until it returns. */
	redisAsyncFree(ac);
}

static void node_failed(struct sen_node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void node_failed(struct sen_node *n, const char *fmt, ...)
{
	char msg[sizeof(n->error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n->failures++;
	n->reachable = 0;
	n->ans.kind = SEN_NONE;
	if (strcmp(msg, n->error) != 0)
		log_warnx("group %s: sentinel %s: %s", n->s->cfg->name, n->cfg->text,
			  msg);
	snprintf(n->error, sizeof(n->error), "%s", msg);
	drop(&n->cmd);
	drop(&n->sub);
	n->subscribed = 0;
	n->next_try = ev_now() + backoff_next(&n->retry, ev_now());
}

/* Connect to n, with AUTH queued first when there is a password. */
static redisAsyncContext *connect_node(struct sen_node *n, redisCallbackFn *auth_cb)
{
	redisAsyncContext *ac = redisAsyncConnect(n->cfg->host, n->cfg->port);

	if (ac == NULL)
		fatalx("out of memory");
	if (ac->err) {
		node_failed(n, "cannot connect: %s", ac->errstr);
		redisAsyncFree(ac);
		return NULL;
	}
	rdev_attach(ac);
	ac->data = n;
	if (n->s->password)
		redisAsyncCommand(ac, auth_cb, NULL, "AUTH %s", n->s->password);
	return ac;
}

static void round_end(struct sen *s);

/* A node's answer (or its failure) is in: the round ends with the last. */
static void answered(struct sen_node *n)
{
	struct sen *s = n->s;

	if (!n->asked)
		return;
	n->asked = 0;
	if (s->pending > 0 && --s->pending == 0 && s->in_round)
		round_end(s);
}

static void on_auth(redisAsyncContext *ac, void *r, void *priv)
{
	struct sen_node *n = ac->data;
	redisReply *reply = r;

	if (n == NULL || reply == NULL || reply->type != REDIS_REPLY_ERROR)
		return; /* the command's callback decides */
	node_failed(n, "AUTH: %.200s (sentinel_password_file)", reply->str);
	answered(n);
}

static void on_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct sen_node *n = ac->data;
	char why[200];

	if (n == NULL || n->cmd != ac)
		return;
	if (r == NULL) { /* hiredis is freeing it: connection lost or refused */
		n->cmd = NULL;
		ac->data = NULL;
		node_failed(n, "%s", rdev_errstr(ac));
		answered(n);
		return;
	}
	if (sen_parse_reply(r, &n->ans, why, sizeof(why)) == -1) {
		node_failed(n, "SENTINEL get-master-addr-by-name %s: %s",
			    n->s->cfg->sentinel_master, why);
		answered(n);
		return;
	}
	if (n->error[0])
		log_info("group %s: sentinel %s answers again", n->s->cfg->name,
			 n->cfg->text);
	n->error[0] = '\0';
	n->reachable = 1;
	n->answers++;
	n->answer_wall = ev_wall();
	backoff_init(&n->retry, SEN_RETRY_BASE_MS, SEN_RETRY_CAP_MS, UINT64_MAX);
	answered(n);
}

/* A +switch-master (or the subscription's confirmation) on n's Pub/Sub
 * connection. */
static void on_message(redisAsyncContext *ac, void *r, void *priv)
{
	struct sen_node *n = ac->data;
	redisReply *reply = r, *kind, *msg;
	char name[INI_NAME_MAX];

	if (n == NULL || n->sub != ac)
		return;
	if (reply == NULL) {
		n->sub = NULL;
		ac->data = NULL;
		n->subscribed = 0;
		log_info("group %s: sentinel %s: Pub/Sub connection lost (%s); "
			 "reconnecting",
			 n->s->cfg->name, n->cfg->text, rdev_errstr(ac));
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("group %s: sentinel %s: SUBSCRIBE +switch-master: %.200s",
			  n->s->cfg->name, n->cfg->text, reply->str);
		drop(&n->sub);
		n->subscribed = 0;
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    (kind = reply->element[0])->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(kind->str, "subscribe") == 0) {
		n->subscribed = 1;
		log_debug("group %s: sentinel %s: subscribed to +switch-master",
			  n->s->cfg->name, n->cfg->text);
		return;
	}
	msg = reply->element[2];
	if (strcmp(kind->str, "message") != 0 || msg->type != REDIS_REPLY_STRING)
		return;
	if (sen_parse_switch(msg->str, msg->len, name, sizeof(name)) == -1) {
		log_warnx("group %s: sentinel %s: a +switch-master message that is "
			  "not 'NAME OLD-IP OLD-PORT NEW-IP NEW-PORT'; ignored",
			  n->s->cfg->name, n->cfg->text);
		return;
	}
	if (strcmp(name, n->s->cfg->sentinel_master) != 0)
		return;
	n->events++;
	n->s->events++;
	log_info("group %s: sentinel %s: +switch-master %.*s; asking every sentinel",
		 n->s->cfg->name, n->cfg->text,
		 (int)(msg->len < SEN_MSG_MAX ? msg->len : SEN_MSG_MAX), msg->str);
	round_start(n->s);
}

static void subscribe(struct sen_node *n)
{
	if ((n->sub = connect_node(n, NULL)) == NULL)
		return;
	n->sub_since = ev_now();
	/* AUTH's callback is NULL here: a refusal shows on the question
	 * connection, and SUBSCRIBE's own error reply. */
	redisAsyncCommand(n->sub, on_message, NULL, "SUBSCRIBE +switch-master");
}

static void ask(struct sen_node *n)
{
	uint64_t now = ev_now();

	if (n->s->pw_err[0]) {
		node_failed(n, "cannot ask: %s", n->s->pw_err);
		return;
	}
	if (n->cmd == NULL && now < n->next_try) {
		n->reachable = 0;
		n->ans.kind = SEN_NONE;
		return; /* in its backoff: the error stays */
	}
	if (n->sub && !n->subscribed && now - n->sub_since > SEN_REQ_MS)
		drop(&n->sub); /* no confirmation: try again */
	if (n->sub == NULL && now >= n->next_try)
		subscribe(n);
	if (n->cmd == NULL && (n->cmd = connect_node(n, on_auth)) == NULL)
		return;
	if (redisAsyncCommand(n->cmd, on_reply, NULL,
			      "SENTINEL get-master-addr-by-name %s",
			      n->s->cfg->sentinel_master) != REDIS_OK) {
		node_failed(n, "cannot send the question");
		return;
	}
	n->asked = 1;
	n->s->pending++;
}

static void on_deadline(void *arg)
{
	struct sen *s = arg;

	s->deadline = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->nodes[i].asked) {
			s->nodes[i].asked = 0;
			node_failed(&s->nodes[i], "no answer within %d ms", SEN_REQ_MS);
		}
	s->pending = 0;
	round_end(s);
}

static void round_start(struct sen *s)
{
	if (s->in_round) {
		s->again = 1; /* an event during a round: one more after it */
		return;
	}
	if (s->timer)
		ev_timer_cancel(s->timer);
	s->timer = 0;
	s->in_round = 1;
	s->again = 0;
	s->pending = 0;
	s->rounds++;
	for (size_t i = 0; i < s->n; i++)
		ask(&s->nodes[i]);
	if (s->pending == 0) {
		/* nothing in flight: end it from the loop, not inside the
		 * caller (an event handler) */
		s->deadline = ev_timer_add(0, on_deadline, s);
		return;
	}
	s->deadline = ev_timer_add(SEN_REQ_MS, on_deadline, s);
}

/* No quorum this round: after SEN_HOLD_MS hold (keep) or, after
 * sentinel_step_down_after, step down. */
static void no_quorum(struct sen *s, const char *why)
{
	uint64_t silent = ev_now() - s->last_ok;

	if (strcmp(why, s->error) != 0)
		log_warnx("group %s: no quorum of sentinels on master '%s': %s",
			  s->cfg->name, s->cfg->sentinel_master, why);
	snprintf(s->error, sizeof(s->error), "%s", why);
	if (s->cfg->sentinel_unreachable == CFG_ETCD_KEEP && !s->held &&
	    silent >= SEN_HOLD_MS) {
		s->held = 1;
		grp_hold(s->cfg->name, 1);
	}
	if (s->cfg->sentinel_unreachable == CFG_ETCD_STEP_DOWN && !s->stepped_down &&
	    silent >= s->cfg->sentinel_step_down_after_ms) {
		log_warnx("group %s: no quorum of sentinels for %llu s "
			  "(sentinel_unreachable = step_down): stepping down to "
			  "BACKUP; routes are left as they are",
			  s->cfg->name, (unsigned long long)silent / 1000);
		s->stepped_down = 1;
		emit(s, KA_BACKUP);
	}
}

static void round_end(struct sen *s)
{
	struct sen_answer a[CFG_SENTINEL_MAX];
	unsigned reach = 0;
	int k;

	if (s->deadline)
		ev_timer_cancel(s->deadline);
	s->deadline = 0;
	s->in_round = 0;
	for (size_t i = 0; i < s->n; i++) {
		a[i] = s->nodes[i].ans;
		reach += s->nodes[i].reachable;
	}
	k = sen_quorum(a, s->n, s->cfg->sentinel_quorum, &s->agree);
	if (k == -1) {
		char why[200];
		if (reach < s->cfg->sentinel_quorum)
			snprintf(why, sizeof(why),
				 "%u of %zu sentinels answer (quorum %u)", reach, s->n,
				 s->cfg->sentinel_quorum);
		else
			snprintf(why, sizeof(why),
				 "at most %u of %zu sentinels agree on an address "
				 "(quorum %u)",
				 s->agree, s->n, s->cfg->sentinel_quorum);
		no_quorum(s, why);
	} else {
		const struct sen_answer *m = &a[k];
		int me =
		    sen_is_local(m->host, s->cfg->sentinel_address, s->me, sizeof(s->me));
		if (!s->known || !same(&s->master, m) || me != s->is_me) {
			log_info("group %s: %u of %zu sentinels say master '%s' is %s:%d "
				 "(%s)",
				 s->cfg->name, s->agree, s->n, s->cfg->sentinel_master,
				 m->host, m->port, me ? "this node" : "another node");
			s->master = *m;
			s->changed_wall = ev_wall();
		}
		if (s->error[0] || s->stepped_down)
			log_info("group %s: a quorum of sentinels agrees again",
				 s->cfg->name);
		s->known = 1;
		s->is_me = me;
		s->error[0] = '\0';
		s->stepped_down = 0;
		s->last_ok = ev_now();
		s->last_ok_wall = ev_wall();
		emit(s, me ? KA_MASTER : KA_BACKUP);
		if (s->held) { /* after the event, as patroni.c */
			s->held = 0;
			grp_hold(s->cfg->name, 0);
		}
	}
	if (s->again)
		round_start(s);
	else
		schedule(s, SEN_POLL_MS);
}

/* The password (sentinel_password_file), read now under the AWS
 * credentials file's rules; a bad one fails every question, saying why. */
static void read_password(struct sen *s)
{
	if (*s->cfg->sentinel_password_file != '\0' &&
	    creds_read_password(s->cfg->sentinel_password_file, "sentinel_password_file",
				&s->password, s->pw_err, sizeof(s->pw_err)) == -1)
		log_warnx("group %s: %s", s->cfg->name, s->pw_err);
}

static void start(const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->ngroups; i++) {
		const struct cfg_group *g = &cfg->groups[i];
		if (g->source != CFG_SRC_SENTINEL)
			continue;
		struct sen *s = xcalloc(1, sizeof(*s));
		s->cfg = g;
		s->n = g->nsentinels;
		s->nodes = xcalloc(s->n, sizeof(*s->nodes));
		for (size_t j = 0; j < s->n; j++) {
			s->nodes[j].s = s;
			s->nodes[j].cfg = &g->sentinels[j];
			backoff_init(&s->nodes[j].retry, SEN_RETRY_BASE_MS,
				     SEN_RETRY_CAP_MS, UINT64_MAX);
		}
		read_password(s);
		s->last_ok = ev_now(); /* step_down counts from the start */
		sens = xgrow(sens, nsens, sizeof(*sens));
		sens[nsens++] = s;
		log_info("group %s: following Redis Sentinel's master '%s' (%zu "
			 "sentinels, quorum %u), this node %s",
			 g->name, g->sentinel_master, g->nsentinels, g->sentinel_quorum,
			 *g->sentinel_address ? g->sentinel_address
					      : "any local address");
		round_start(s);
	}
}

void sen_init(const struct cfg *cfg, sen_event_fn fn)
{
	on_event = fn;
	start(cfg);
}

static void stop(int release)
{
	for (size_t i = 0; i < nsens; i++) {
		struct sen *s = sens[i];
		if (s->held && release)
			grp_hold(s->cfg->name, 0);
		if (s->timer)
			ev_timer_cancel(s->timer);
		if (s->deadline)
			ev_timer_cancel(s->deadline);
		for (size_t j = 0; j < s->n; j++) {
			drop(&s->nodes[j].cmd);
			drop(&s->nodes[j].sub);
		}
		if (s->password) {
			explicit_bzero(s->password, strlen(s->password));
			free(s->password);
		}
		free(s->nodes);
		free(s);
	}
	free(sens);
	sens = NULL;
	nsens = 0;
}

void sen_fini(void)
{
	stop(1);
}

void sen_reload(const struct cfg *cfg)
{
	char(*held)[INI_NAME_MAX] = NULL;
	size_t nheld = 0, i, j;

	/* A held group stays held across a reload until a quorum agrees. */
	for (i = 0; i < nsens; i++)
		if (sens[i]->held) {
			held = xgrow(held, nheld, sizeof(*held));
			snprintf(held[nheld++], INI_NAME_MAX, "%s", sens[i]->cfg->name);
		}
	stop(0);
	start(cfg);
	for (i = 0; i < nheld; i++) {
		for (j = 0; j < nsens && strcmp(sens[j]->cfg->name, held[i]) != 0; j++)
			;
		if (j < nsens)
			sens[j]->held = 1;
		else
			grp_hold(held[i], 0);
	}
	free(held);
}

int sen_recheck(const char *master, const char *what)
{
	int n = 0;

	for (size_t i = 0; i < nsens; i++) {
		struct sen *s = sens[i];
		if (strcmp(s->cfg->sentinel_master, master) != 0)
			continue;
		log_info("group %s: %s: asking every sentinel now", s->cfg->name, what);
		s->rechecks++;
		round_start(s);
		n++;
	}
	return n;
}

static struct sen *find(const char *group)
{
	for (size_t i = 0; i < nsens; i++)
		if (strcmp(sens[i]->cfg->name, group) == 0)
			return sens[i];
	return NULL;
}

static json_t *answer_json(const struct sen_answer *a)
{
	char t[SEN_HOST_MAX + 16];

	if (a->kind == SEN_NOMASTER)
		return json_string("");
	if (a->kind != SEN_ADDR)
		return json_null();
	snprintf(t, sizeof(t), strchr(a->host, ':') ? "[%s]:%d" : "%s:%d", a->host,
		 a->port);
	return json_string(t);
}

json_t *sen_status(const char *group)
{
	const struct sen *s = find(group);
	json_t *arr, *o;

	if (s == NULL)
		return NULL;
	arr = json_array();
	for (size_t i = 0; i < s->n; i++) {
		const struct sen_node *n = &s->nodes[i];
		json_t *e = json_pack(
		    "{s:s, s:b, s:b, s:s, s:I, s:I, s:I, s:I}", "address", n->cfg->text,
		    "reachable", n->reachable, "subscribed", n->subscribed, "error",
		    n->error, "last_answer", (json_int_t)n->answer_wall, "answers",
		    (json_int_t)n->answers, "failures", (json_int_t)n->failures, "events",
		    (json_int_t)n->events);
		json_object_set_new(e, "master", answer_json(&n->ans));
		json_array_append_new(arr, e);
	}
	o = json_pack(
	    "{s:s, s:i, s:i, s:o, s:b, s:s, s:s, s:I, s:I, s:s, s:b, s:b, "
	    "s:s, s:I, s:I, s:I}",
	    "master_name", s->cfg->sentinel_master, "quorum",
	    (int)s->cfg->sentinel_quorum, "agree", (int)s->agree, "sentinels", arr,
	    "this_node", s->known && s->is_me, "address", s->me, "sentinel_address",
	    s->cfg->sentinel_address, "last_quorum", (json_int_t)s->last_ok_wall,
	    "master_since", (json_int_t)s->changed_wall, "error", s->error, "held",
	    s->held, "stepped_down", s->stepped_down, "sentinel_unreachable",
	    s->cfg->sentinel_unreachable == CFG_ETCD_KEEP ? "keep" : "step_down",
	    "rounds", (json_int_t)s->rounds, "events", (json_int_t)s->events, "rechecks",
	    (json_int_t)s->rechecks);
	json_object_set_new(o, "master",
			    s->known ? answer_json(&s->master) : json_null());
	return o;
}

json_t *sen_metrics(const char *group)
{
	const struct sen *s = find(group);
	json_t *r;

	if (s == NULL)
		return NULL;
	r = json_object();
	for (size_t i = 0; i < s->n; i++)
		json_object_set_new(r, s->nodes[i].cfg->text,
				    json_integer(s->nodes[i].reachable));
	return json_pack("{s:o, s:i}", "sentinel_reachable", r, "sentinel_quorum_agrees",
			 s->known && s->error[0] == '\0' && s->rounds > 0);
}
