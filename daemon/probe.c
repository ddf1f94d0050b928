/* probe.c — the active probe (see probe.h, docs/probe.md).
 *
 * One non-blocking connect per host destination and round, on the event
 * loop: the socket is watched for EPOLLOUT and a timer bounds it by
 * probe_timeout; a round never starts while the last one is in flight
 * (probe_timeout < probe_interval, group_cfg.c). The connect's latency is
 * measured on CLOCK_MONOTONIC in real time, whatever the loop's clock. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/probe.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"

/* What the last probe of a destination found. */
enum prb_result {
	PRB_NONE,	 /* not probed yet */
	PRB_OK,		 /* connected */
	PRB_REFUSED,	 /* RST: the path works, nothing listens on the port */
	PRB_TIMEOUT,	 /* no answer within probe_timeout */
	PRB_UNREACHABLE, /* ICMP unreachable (EHOSTUNREACH, ENETUNREACH, ...) */
	PRB_LOCAL,	 /* this node holds the address: skipped, never loopback */
	PRB_ERROR,	 /* this node could not send it (socket, connect errors) */
};

static const char *const result_names[] = {
    [PRB_NONE] = "none",
    [PRB_OK] = "ok",
    [PRB_REFUSED] = "refused",
    [PRB_TIMEOUT] = "timeout",
    [PRB_UNREACHABLE] = "unreachable",
    [PRB_LOCAL] = "local",
    [PRB_ERROR] = "error",
};

struct prb_dest {
	struct prb_group *g;
	struct sockaddr_storage sa;
	socklen_t salen;
	char addr[INET6_ADDRSTRLEN];
	/* in flight */
	int fd;
	uint64_t timer;
	uint64_t t0_us; /* CLOCK_MONOTONIC */
	/* the last result */
	enum prb_result last;
	char detail[160]; /* strerror, or why it was skipped */
	uint64_t connect_us;
	int64_t at_us, ok_at_us; /* CLOCK_REALTIME; 0 never */
	unsigned consecutive_failures;
	uint64_t probes, failures;
};

struct prb_group {
	char name[INI_NAME_MAX];
	unsigned port, interval_ms, timeout_ms;
	enum ka_state state;
	uint64_t timer;
	int follow_up; /* the next round is the one PRB_FOLLOW_UP_MS after a
			* transition */
	struct prb_dest *d;
	size_t nd;
};

static struct prb_group **groups;
static size_t ngroups;
static char zone[INI_NAME_MAX] = "unknown";

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t prb_jitter(uint64_t interval_ms, unsigned long r)
{
	uint64_t span = interval_ms / PRB_JITTER_DIV;

	return interval_ms - span + (uint64_t)(r % (2 * span + 1));
}

/* Only while a state is known and it is not MASTER. */
static int probing(const struct prb_group *g)
{
	return g->state == KA_BACKUP || g->state == KA_FAULT || g->state == KA_STOP;
}

static void abort_dest(struct prb_dest *d)
{
	if (d->fd == -1)
		return;
	ev_fd_del(d->fd);
	close(d->fd);
	d->fd = -1;
	if (d->timer)
		ev_timer_cancel(d->timer);
	d->timer = 0;
}

static void finish(struct prb_dest *d, enum prb_result res, int err)
{
	int reachable = res == PRB_OK || res == PRB_REFUSED;
	enum prb_result was = d->last;

	if (d->fd != -1)
		d->connect_us = mono_us() - d->t0_us;
	abort_dest(d);
	d->last = res;
	d->at_us = real_us();
	d->detail[0] = '\0';
	if (err)
		snprintf(d->detail, sizeof(d->detail), "%s", strerror(err));
	if (res == PRB_LOCAL) /* neither a probe of the path nor a failure of it */
		snprintf(d->detail, sizeof(d->detail),
			 "this node holds %s: the connect would stay on it "
			 "(loopback), not go through the VPC",
			 d->addr);
	else if (reachable) {
		d->probes++;
		d->ok_at_us = d->at_us;
		d->consecutive_failures = 0;
	} else {
		d->probes++;
		d->failures++;
		d->consecutive_failures++;
	}
	/* The log says when the answer changes, not every round; a path that
	 * stops answering is a warning. */
	if (was == res || (was == PRB_NONE && res == PRB_OK))
		return;
	if (reachable || res == PRB_LOCAL)
		log_info("probe %s:%u (group %s) from %s: %s%s%s", d->addr, d->g->port,
			 d->g->name, zone, result_names[res], d->detail[0] ? ": " : "",
			 d->detail);
	else
		log_warnx("probe %s:%u (group %s) from %s: %s%s%s (the path through "
			  "this zone's route table does not answer)",
			  d->addr, d->g->port, d->g->name, zone, result_names[res],
			  d->detail[0] ? ": " : "", d->detail);
}

static void on_fd(int fd, uint32_t events, void *arg)
{
	struct prb_dest *d = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0)
		finish(d, PRB_OK, 0);
	else if (err == ECONNREFUSED)
		finish(d, PRB_REFUSED, 0);
	else if (err == ETIMEDOUT)
		finish(d, PRB_TIMEOUT, 0);
	else
		finish(d, PRB_UNREACHABLE, err);
}

static void on_timeout(void *arg)
{
	struct prb_dest *d = arg;

	d->timer = 0;
	finish(d, PRB_TIMEOUT, 0);
	d->connect_us = 0;
}

/* The source address the kernel chose is the destination itself when the
 * route to it is local. */
static int is_local(int fd, const struct prb_dest *d)
{
	struct sockaddr_storage src;
	socklen_t len = sizeof(src);

	if (getsockname(fd, (struct sockaddr *)&src, &len) == -1)
		return 0;
	if (src.ss_family == AF_INET)
		return ((struct sockaddr_in *)&src)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&d->sa)->sin_addr.s_addr;
	if (src.ss_family == AF_INET6)
		return memcmp(&((struct sockaddr_in6 *)&src)->sin6_addr,
			      &((const struct sockaddr_in6 *)&d->sa)->sin6_addr,
			      sizeof(struct in6_addr)) == 0;
	return 0;
}

static void start_dest(struct prb_dest *d)
{
	int fd = socket(d->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1) {
		finish(d, PRB_ERROR, errno);
		return;
	}
	d->fd = fd;
	d->t0_us = mono_us();
	int rc = connect(fd, (struct sockaddr *)&d->sa, d->salen);
	if (rc == 0 || errno == EINPROGRESS) {
		if (is_local(fd, d)) {
			finish(d, PRB_LOCAL, 0);
			return;
		}
		if (rc == 0) { /* connected at once */
			finish(d, PRB_OK, 0);
			return;
		}
		if (ev_fd_set(fd, EPOLLOUT, on_fd, d) == -1) {
			finish(d, PRB_ERROR, errno);
			return;
		}
		d->timer = ev_timer_add(ev_from_real(d->g->timeout_ms), on_timeout, d);
		return;
	}
	int err = errno;
	finish(d,
	       err == ECONNREFUSED			   ? PRB_REFUSED
	       : err == EHOSTUNREACH || err == ENETUNREACH ? PRB_UNREACHABLE
							   : PRB_ERROR,
	       err == ECONNREFUSED ? 0 : err);
}

static void schedule(struct prb_group *g, uint64_t ms);

static void on_round(void *arg)
{
	struct prb_group *g = arg;

	g->timer = 0;
	if (!probing(g))
		return;
	for (size_t i = 0; i < g->nd; i++)
		if (g->d[i].fd == -1)
			start_dest(&g->d[i]);
	if (g->follow_up) {
		g->follow_up = 0;
		schedule(g, PRB_FOLLOW_UP_MS);
	} else
		schedule(g, prb_jitter(g->interval_ms, (unsigned long)random()));
}

static void schedule(struct prb_group *g, uint64_t ms)
{
	if (g->timer)
		ev_timer_cancel(g->timer);
	g->timer = ev_timer_add(ms, on_round, g);
}

static void stop(struct prb_group *g)
{
	if (g->timer)
		ev_timer_cancel(g->timer);
	g->timer = 0;
	for (size_t i = 0; i < g->nd; i++)
		abort_dest(&g->d[i]);
}

static void free_group(struct prb_group *g)
{
	stop(g);
	free(g->d);
	free(g);
}

static struct prb_group *find(struct prb_group **gs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (gs[i] && strcmp(gs[i]->name, name) == 0)
			return gs[i];
	return NULL;
}

/* A group's probe from its configuration; results of the same destinations
 * carried over from old. */
static struct prb_group *make_group(const struct cfg_group *cg,
				    const struct prb_group *old)
{
	struct prb_group *g = xcalloc(1, sizeof(*g));
	char eni[AWS_ID_MAX];

	strlcpy_chk(g->name, cg->name, sizeof(g->name));
	g->port = cg->probe_port;
	g->interval_ms = cg->probe_interval_ms;
	g->timeout_ms = cg->probe_timeout_ms;
	if (grp_info(cg->name, &g->state, eni, sizeof(eni)) == -1)
		g->state = KA_UNKNOWN;
	g->d = xcalloc(cg->ndestinations + 1, sizeof(*g->d));
	for (size_t i = 0; i < cg->ndestinations; i++) {
		const struct cidr *c = &cg->destinations[i];
		struct prb_dest *d = &g->d[g->nd];

		if (c->plen != (c->family == AF_INET ? 32 : 128))
			continue; /* a network: no one address to connect to */
		d->g = g;
		d->fd = -1;
		if (c->family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&d->sa;
			s->sin_family = AF_INET;
			s->sin_port = htons((uint16_t)g->port);
			memcpy(&s->sin_addr, c->addr, 4);
			d->salen = sizeof(*s);
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&d->sa;
			s->sin6_family = AF_INET6;
			s->sin6_port = htons((uint16_t)g->port);
			memcpy(&s->sin6_addr, c->addr, 16);
			d->salen = sizeof(*s);
		}
		inet_ntop(c->family, c->addr, d->addr, sizeof(d->addr));
		for (size_t k = 0; old && old->port == g->port && k < old->nd; k++)
			if (strcmp(old->d[k].addr, d->addr) == 0) {
				*d = old->d[k];
				d->g = g;
				d->fd = -1;
				d->timer = 0;
			}
		g->nd++;
	}
	return g;
}

void prb_configure(const struct cfg *cfg)
{
	struct prb_group **fresh = xcalloc(cfg->ngroups + 1, sizeof(*fresh));
	size_t n = 0;

	for (size_t i = 0; i < cfg->ngroups; i++) {
		const struct cfg_group *cg = &cfg->groups[i];
		if (cg->probe_port == 0)
			continue;
		struct prb_group *old = find(groups, ngroups, cg->name);
		fresh[n] = make_group(cg, old);
		/* Unchanged timing keeps its schedule's phase roughly: the
		 * next round comes within an interval. */
		if (probing(fresh[n]))
			schedule(fresh[n], old ? prb_jitter(fresh[n]->interval_ms,
							    (unsigned long)random())
					       : PRB_AFTER_TRANSITION_MS);
		n++;
	}
	prb_fini();
	groups = fresh;
	ngroups = n;
}

void prb_observe(const struct grp_report *r, void *arg)
{
	struct prb_group *g;

	if (r->kind != GRP_REPORT_TRANSITION ||
	    (g = find(groups, ngroups, r->group)) == NULL)
		return;
	g->state = r->state;
	stop(g);
	if (!probing(g))
		return;
	g->follow_up = 1;
	schedule(g, PRB_AFTER_TRANSITION_MS);
}

void prb_set_zone(const char *z)
{
	strlcpy_chk(zone, z && *z ? z : "unknown", sizeof(zone));
}

/* Unix microseconds (docs/json.md, keys ending in _us), or null. */
static json_t *us_json(int64_t us)
{
	return us ? json_integer((json_int_t)us) : json_null();
}

json_t *prb_status(const char *group)
{
	const struct prb_group *g = find(groups, ngroups, group);
	json_t *out, *ds;

	if (g == NULL)
		return NULL;
	ds = json_array();
	for (size_t i = 0; i < g->nd; i++) {
		const struct prb_dest *d = &g->d[i];
		json_t *e = json_pack(
		    "{s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:b}", "destination",
		    d->addr, "result", result_names[d->last], "detail", d->detail,
		    "at_us", us_json(d->at_us), "last_ok_at_us", us_json(d->ok_at_us),
		    "consecutive_failures", (json_int_t)d->consecutive_failures, "probes",
		    (json_int_t)d->probes, "failures", (json_int_t)d->failures,
		    "in_flight", d->fd != -1);
		if (d->last == PRB_OK || d->last == PRB_REFUSED)
			json_object_set_new(e, "connect_ms",
					    json_real((double)d->connect_us / 1000.0));
		json_array_append_new(ds, e);
	}
	out =
	    json_pack("{s:s, s:i, s:s, s:I, s:I, s:b, s:o}", "protocol", "tcp", "port",
		      (int)g->port, "zone", zone, "interval_ms",
		      (json_int_t)g->interval_ms, "timeout_ms", (json_int_t)g->timeout_ms,
		      "probing", probing(g), "destinations", ds);
	if (!probing(g))
		json_object_set_new(
		    out, "why_not",
		    json_string(g->state == KA_MASTER
				    ? "this node is MASTER: the probe runs on the others"
				    : "no state yet"));
	return out;
}

json_t *prb_metrics(void)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < ngroups; i++) {
		const struct prb_group *g = groups[i];
		for (size_t k = 0; k < g->nd; k++) {
			const struct prb_dest *d = &g->d[k];
			if (d->last == PRB_LOCAL)
				continue;
			json_t *e = json_pack("{s:s, s:s, s:s, s:I, s:I}", "group",
					      g->name, "destination", d->addr, "zone",
					      zone, "probes", (json_int_t)d->probes,
					      "failures", (json_int_t)d->failures);
			/* Gauges only while they are news: a MASTER's last
			 * result would be stale. */
			if (probing(g) && d->last != PRB_NONE) {
				int up = d->last == PRB_OK || d->last == PRB_REFUSED;
				json_object_set_new(e, "up", json_integer(up));
				if (up)
					json_object_set_new(
					    e, "connect_seconds",
					    json_real((double)d->connect_us / 1e6));
			}
			json_array_append_new(arr, e);
		}
	}
	return arr;
}

void prb_fini(void)
{
	for (size_t i = 0; i < ngroups; i++)
		free_group(groups[i]);
	free(groups);
	groups = NULL;
	ngroups = 0;
}
