/* control.c — the control socket, in one place: the transport (listen,
 * accept, SO_PEERCRED, one capped request line in, one reply line out, idle
 * clients dropped after CTL_IDLE_MS), the request schema, the permission
 * check and the handler of every command (notify, status, metrics, failover,
 * takeover). The wire protocol is daemon/ctl_proto.h; the client that speaks
 * it, daemon/ctlclient.c. What the handlers need of the daemon (the running
 * configuration, how an event is applied and recorded) comes from main.c
 * through control_init. */
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/ctl_proto.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/patroni.h"
#include "daemon/sentinel.h"
#include "daemon/track.h"
#include "daemon/probe.h"
#include "daemon/traffic.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/version.h"
#include "netmon/monitor.h"
#include "vpc/auth.h"

/* Who is on the other end of a connection (SO_PEERCRED at accept). */
struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

struct client {
	int fd;
	struct peer peer;
	char in[CTL_REQUEST_MAX + 1];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	uint64_t timer;
	struct client *next;
};

static int lfd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct client *clients;
/* From control_init (struct control_env). */
static const struct cfg *(*config)(void);
static enum grp_verdict (*apply_event)(const struct ka_event *ev, const char *source);
static int64_t started;

/* Replies. */

/* A reply {"ok":false,"error":msg}. */
static json_t *reply_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* A refused request: reason is "permission", "config", "state" or
 * "environment", so that the CLI can choose its exit code. */
static json_t *refuse(const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static json_t *refuse(const char *reason, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg, "reason", reason);
}

/* The request schema and the permission check. */

/* The event of a "notify" request, checked like keepalived's notify
 * arguments (ka_parse_args); a "mono" that is absent or from the future
 * becomes now_ms, an absent "wall" now_s. 0, or -1 with what was wrong in
 * err. */
static int notify_event(json_t *req, uint64_t now_ms, int64_t now_s, struct ka_event *ev,
			char *err, size_t errsz)
{
	const char *type, *name, *state;
	json_int_t prio, mono = 0, wall = 0;
	json_error_t je;
	char pbuf[24];

	if (json_unpack_ex(req, &je, 0, "{s:s, s:s, s:s, s:I, s?:I, s?:I}", "type", &type,
			   "name", &name, "state", &state, "priority", &prio, "mono",
			   &mono, "wall", &wall) == -1) {
		snprintf(err, errsz, "%s", je.text);
		return -1;
	}
	snprintf(pbuf, sizeof(pbuf), "%lld", (long long)prio);
	char *argv[] = {(char *)type, (char *)name, (char *)state, pbuf};
	if (ka_parse_args(4, argv, ev, err, errsz) == -1)
		return -1;
	/* The hook stamps with the real clocks; the loop may run on a test's
	 * fake clock. A time from the future cannot be ordered against others:
	 * use ours. */
	uint64_t m = mono > 0 ? ev_from_real((uint64_t)mono) : 0;
	ev->mono = m > 0 && m <= now_ms ? m : now_ms;
	ev->wall = wall > 0 ? ev_wall_from_real((int64_t)wall) : now_s;
	return 0;
}

/* "root (uid 0, pid 4242)" into buf, for the log: who asked. The user name
 * is looked up only here, for the few requests that are logged: a slow NSS
 * source must not stall every status call. */
static const char *peer_describe(const struct peer *peer, char *buf, size_t n)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (getpwuid_r(peer->uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
		snprintf(buf, n, "%s (uid %u, pid %d)", pw.pw_name, (unsigned)peer->uid,
			 (int)peer->pid);
	else
		snprintf(buf, n, "uid %u (pid %d)", (unsigned)peer->uid, (int)peer->pid);
	return buf;
}

/* May this peer change routing (notify, failover, takeover)? Root or the
 * daemon's own user. */
static int peer_privileged(const struct peer *peer)
{
	return peer->uid == 0 || peer->uid == geteuid();
}

/* Commands. */

static json_t *handle_notify(json_t *req, const struct peer *peer)
{
	struct ka_event ev;
	char err[256];

	if (notify_event(req, ev_now(), ev_wall(), &ev, err, sizeof(err)) == -1)
		return reply_error("notify: %s", err);
	ev.pid = (int)peer->pid;
	enum grp_verdict v = apply_event(&ev, "notify");
	return json_pack("{s:b, s:s}", "ok", 1, "verdict", grp_verdict_name(v));
}

static json_t *handle_status(json_t *req, const struct peer *peer)
{
	const struct cfg *cfg = config();
	json_t *st = grp_status(), *g;
	size_t i;
	json_array_foreach(json_object_get(st, "groups"), i, g)
	{
		const char *name = json_string_value(json_object_get(g, "name"));
		if (name)
			json_object_set_new(g, "traffic", trf_status(name));
		json_t *probe = name ? prb_status(name) : NULL;
		if (probe)
			json_object_set_new(g, "probe", probe);
	}
	json_object_set_new(st, "daemon",
			    json_pack("{s:i, s:s, s:I, s:s, s:s}", "pid", (int)getpid(),
				      "config", cfg->path, "started", (json_int_t)started,
				      "credentials", auth_source(), "version",
				      vpcf_version));
	json_object_set_new(st, "notifications", ntf_status());
	if (nm_packet_counter())
		json_object_set_new(st, "netmon",
				    json_pack("{s:s, s:s}", "packet_counter",
					      nm_packet_counter(), "tcp_counter",
					      nm_tcp_counter()));
	return st;
}

static json_t *handle_metrics(json_t *req, const struct peer *peer)
{
	return json_pack("{s:b, s:o}", "ok", 1, "metrics", mx_snapshot());
}

/* The groups a failover request names: "group", or "all" (those with a
 * track_file), or the only group. NULL with *why set when that is wrong. */
static const struct cfg_group **failover_groups(json_t *req, size_t *n, json_t **why)
{
	const char *name = json_string_value(json_object_get(req, "group"));
	int all = json_is_true(json_object_get(req, "all"));
	const struct cfg *cfg = config();
	const struct cfg_group **gs = xcalloc(cfg->ngroups + 1, sizeof(*gs));

	*n = 0;
	if (name) {
		if ((gs[0] = cfg_group_find(cfg, name)) == NULL) {
			*why =
			    refuse("config", "no group '%.64s' in %s", name, cfg->path);
			goto fail;
		}
		if (gs[0]->source == CFG_SRC_SENTINEL) {
			*why =
			    refuse("config",
				   "group %s follows Redis Sentinel: switch over with "
				   "SENTINEL FAILOVER %s; the routes follow its master",
				   name, gs[0]->sentinel_master);
			goto fail;
		}
		if (gs[0]->source == CFG_SRC_PATRONI) {
			*why = refuse("config",
				      "group %s follows Patroni: switch over with "
				      "patronictl switchover; the routes follow its "
				      "leader",
				      name);
			goto fail;
		}
		if (gs[0]->track_file[0] == '\0') {
			*why = refuse("config",
				      "group %s has no track_file: set [group %s] "
				      "track_file in %s and reference it from keepalived "
				      "(see vpc-failover.conf(5))",
				      name, name, cfg->path);
			goto fail;
		}
		*n = 1;
		return gs;
	}
	if (!all && cfg->ngroups != 1) {
		*why = refuse("config", "%s has %zu groups: name one, or ask for all",
			      cfg->path, cfg->ngroups);
		goto fail;
	}
	for (size_t i = 0; i < cfg->ngroups; i++)
		if (cfg->groups[i].track_file[0])
			gs[(*n)++] = &cfg->groups[i];
	if (*n == 0) {
		size_t np = 0;
		for (size_t i = 0; i < cfg->ngroups; i++)
			np += cfg->groups[i].source != CFG_SRC_KEEPALIVED;
		*why = refuse("config", "no group in %s has a track_file%s", cfg->path,
			      np ? " (a group that follows Patroni switches over "
				   "with patronictl switchover, one that follows "
				   "Redis Sentinel with SENTINEL FAILOVER)"
				 : "");
		goto fail;
	}
	return gs;
fail:
	free(gs);
	return NULL;
}

/* Planned switchover: demote this node through keepalived's track_file (or
 * clear the demotion). keepalived then moves MASTER to the peer, whose daemon
 * moves the routes; the CLI watches that happen. */
static json_t *handle_failover(json_t *req, const struct peer *peer)
{
	int clear = json_is_true(json_object_get(req, "clear"));
	json_t *why = NULL, *done = json_array();
	char who[128], eni[AWS_ID_MAX], err[600];
	enum ka_state st;
	size_t n, acting = 0;
	const struct cfg_group **gs = failover_groups(req, &n, &why);

	if (gs == NULL) {
		json_decref(done);
		return why;
	}
	peer_describe(peer, who, sizeof(who));
	/* Check every group before writing any: a refusal changes nothing. */
	for (size_t i = 0; i < n; i++) {
		grp_info(gs[i]->name, &st, eni, sizeof(eni));
		if (!clear && st != KA_MASTER && n == 1) {
			why = refuse("state",
				     "group %s: this node is %s, not MASTER; a planned "
				     "failover starts on the MASTER",
				     gs[i]->name, ka_state_name(st));
			goto out;
		}
		acting += clear || st == KA_MASTER;
	}
	if (acting == 0) {
		why = refuse("state", "this node is MASTER of none of these groups");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		grp_info(gs[i]->name, &st, eni, sizeof(eni));
		if (!clear && st != KA_MASTER)
			continue;
		if (trk_write(gs[i]->track_file, !clear, err, sizeof(err)) == -1) {
			log_warnx("failover: group %s: %s", gs[i]->name, err);
			why = refuse("environment", "group %s: %s%s", gs[i]->name, err,
				     json_array_size(done) ? " (groups listed before it "
							     "were done)"
							   : "");
			goto out;
		}
		log_info("failover: group %s %s through %s, for %s", gs[i]->name,
			 clear ? "no longer demoted" : "demoted (planned switchover)",
			 gs[i]->track_file, who);
		json_array_append_new(done, json_pack("{s:s, s:s, s:s, s:s}", "name",
						      gs[i]->name, "state",
						      ka_state_name(st), "eni", eni,
						      "track_file", gs[i]->track_file));
	}
out:
	free(gs);
	if (why) {
		json_decref(done);
		return why;
	}
	return json_pack("{s:b, s:o}", "ok", 1, "groups", done);
}

/* The CLI runs an emergency takeover itself; it tells the daemon first so
 * that the log says who did it. */
static json_t *handle_takeover(json_t *req, const struct peer *peer)
{
	const struct cfg *cfg = config();
	json_t *names = json_object_get(req, "groups"), *v;
	char who[128], list[512] = "";
	size_t i, off = 0;

	if (!json_is_array(names) || json_array_size(names) == 0)
		return reply_error("takeover: \"groups\" must be a non-empty array");
	json_array_foreach(names, i, v)
	{
		const char *s = json_string_value(v);
		if (s == NULL || cfg_group_find(cfg, s) == NULL)
			return refuse("config", "takeover: no group '%.64s' in %s",
				      s ? s : "(not a string)", cfg->path);
		off += (size_t)snprintf(list + off,
					off < sizeof(list) ? sizeof(list) - off : 0,
					"%s%s", i ? ", " : "", s);
		if (off >= sizeof(list))
			off = sizeof(list) - 1;
	}
	log_warnx("takeover --force of %s by %s: routes are pointed at this node, "
		  "bypassing keepalived",
		  list, peer_describe(peer, who, sizeof(who)));
	return json_pack("{s:b}", "ok", 1);
}

/* Sentinel's client-reconfig-script (hooks/notify.c): ask the sentinels of
 * every group following the master now. Only a hint (the groups follow a
 * quorum, never the script's arguments), so not root-only: Sentinel runs
 * the script as its own user, which needs the control group only. */
static json_t *handle_sentinel_reconfig(json_t *req, const struct peer *peer)
{
	const char *master = json_string_value(json_object_get(req, "master"));
	const char *role = json_string_value(json_object_get(req, "role"));
	const char *to = json_string_value(json_object_get(req, "to"));
	char what[200], who[128];
	int n;

	if (master == NULL || !ini_valid_name(master))
		return refuse("config", "sentinel-reconfig: no valid \"master\"");
	snprintf(what, sizeof(what),
		 "client-reconfig-script from %s (%.16s, master now %.64s:%d by its "
		 "arguments)",
		 peer_describe(peer, who, sizeof(who)), role ? role : "?", to ? to : "?",
		 (int)json_integer_value(json_object_get(req, "to_port")));
	n = sen_recheck(master, what);
	if (n == 0)
		return refuse("config",
			      "no group of %s follows Sentinel master '%.64s' (source = "
			      "sentinel, sentinel_master)",
			      config()->path, master);
	return json_pack("{s:b, s:i}", "ok", 1, "groups", n);
}

/* Patroni's callback (hooks/notify.c): the groups following the scope read
 * the leader key now. A hint like sentinel-reconfig (the key decides), so
 * not root-only: Patroni runs its callbacks as the postgres user. */
static json_t *handle_patroni_callback(json_t *req, const struct peer *peer)
{
	const char *action = json_string_value(json_object_get(req, "action"));
	const char *role = json_string_value(json_object_get(req, "role"));
	const char *scope = json_string_value(json_object_get(req, "scope"));
	char what[200], who[128];
	int n;

	if (scope == NULL || !ini_valid_name(scope))
		return refuse("config", "patroni-callback: no valid \"scope\"");
	snprintf(what, sizeof(what), "Patroni's %.16s (role %.32s) from %s",
		 action ? action : "callback", role ? role : "?",
		 peer_describe(peer, who, sizeof(who)));
	n = pat_recheck(scope, what);
	if (n == 0)
		return refuse("config",
			      "no group of %s follows Patroni scope '%.64s' (source = "
			      "patroni, patroni_scope)",
			      config()->path, scope);
	return json_pack("{s:b, s:i}", "ok", 1, "groups", n);
}

static const struct command {
	const char *name;
	json_t *(*fn)(json_t *req, const struct peer *peer);
	int mutating; /* changes routing: root (or the daemon's user) only */
} commands[] = {
    {"notify", handle_notify, 1},
    {"failover", handle_failover, 1},
    {"takeover", handle_takeover, 1},
    {"status", handle_status, 0},
    {"metrics", handle_metrics, 0},
    {"sentinel-reconfig", handle_sentinel_reconfig, 0},
    {"patroni-callback", handle_patroni_callback, 0},
};

/* The command a request names, run if this peer may: a command that changes
 * routing is refused (and logged) for anyone but root or the daemon's user. */
static json_t *dispatch(json_t *req, const struct peer *peer)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	char who[128];

	if (cmd == NULL)
		return reply_error("request has no \"cmd\" string");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		if (commands[i].mutating && !peer_privileged(peer)) {
			peer_describe(peer, who, sizeof(who));
			log_warnx("control: refused '%s' from %s: root only", cmd, who);
			return refuse(
			    "permission",
			    "permission denied: '%s' changes routing and is for "
			    "root only (you are %s)",
			    cmd, who);
		}
		return commands[i].fn(req, peer);
	}
	return reply_error("unknown command '%.40s'", cmd);
}

/* Where client_request hands a request: dispatch (tests/fuzz/fuzz_ctl.c
 * puts a stand-in here, the handlers needing the reconciler). */
static json_t *(*handler)(json_t *req, const struct peer *peer) = dispatch;

/* Transport. */

static void client_close(struct client *c)
{
	for (struct client **pp = &clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->timer)
		ev_timer_cancel(c->timer);
	ev_fd_del(c->fd);
	close(c->fd);
	free(c->out);
	free(c);
}

static void client_timeout(void *arg)
{
	struct client *c = arg;
	c->timer = 0;
	log_debug("control: client idle for %d ms, dropped", CTL_IDLE_MS);
	client_close(c);
}

static void client_flush(struct client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1 && errno == EAGAIN)
			return; /* EPOLLOUT brings us back */
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	client_close(c);
}

static void client_reply(struct client *c, json_t *reply)
{
	if (reply == NULL)
		reply = reply_error("internal error");
	char *s = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (s == NULL) {
		client_close(c);
		return;
	}
	c->out = xasprintf("%s\n", s);
	free(s);
	c->outlen = strlen(c->out);
	c->outoff = 0;
	shutdown(c->fd, SHUT_RD);
	client_flush(c);
}

static void client_request(struct client *c)
{
	json_error_t je;
	json_t *req = json_loadb(c->in, c->inlen, JSON_REJECT_DUPLICATES, &je);

	if (req == NULL) {
		client_reply(c, reply_error("request is not JSON: %s (column %d)",
					    je.text, je.column));
		return;
	}
	if (!json_is_object(req)) {
		json_decref(req);
		client_reply(c, reply_error("request must be a JSON object"));
		return;
	}
	json_t *reply = handler(req, &c->peer);
	json_decref(req);
	client_reply(c, reply);
}

static void client_io(int fd, uint32_t events, void *arg)
{
	struct client *c = arg;

	if (c->out) {
		client_flush(c);
		return;
	}
	ssize_t n = read(fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->inlen += (size_t)n;
	char *nl = memchr(c->in, '\n', c->inlen);
	if (nl) {
		c->inlen = (size_t)(nl - c->in);
		if (ev_fd_set(fd, EPOLLOUT, client_io, c) == -1) {
			client_close(c);
			return;
		}
		client_request(c);
		return;
	}
	if (c->inlen >= sizeof(c->in) - 1) {
		if (ev_fd_set(fd, EPOLLOUT, client_io, c) == -1) {
			client_close(c);
			return;
		}
		client_reply(
		    c, reply_error("request longer than %d bytes", CTL_REQUEST_MAX));
	}
}

/* The kernel's word on who connected: checked, never taken from the request. */
static int peer_get(int fd, struct peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		return -1;
	}
	p->pid = uc.pid;
	p->uid = uc.uid;
	p->gid = uc.gid;
	return 0;
}

static void on_accept(int fd, uint32_t events, void *arg)
{
	for (int i = 0; i < 64; i++) {
		int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("control: accept");
			return;
		}
		struct client *c = xcalloc(1, sizeof(*c));
		c->fd = cfd;
		if (peer_get(cfd, &c->peer) == -1) {
			close(cfd);
			free(c);
			continue;
		}
		c->next = clients;
		clients = c;
		if (ev_fd_set(cfd, EPOLLIN, client_io, c) == -1) {
			client_close(c);
			continue;
		}
		c->timer = ev_timer_add(ev_from_real(CTL_IDLE_MS), client_timeout, c);
	}
}

int control_init(const struct control_env *env)
{
	const char *path = env->socket, *group = env->group;
	struct sockaddr_un sun;
	char dir[sizeof(sock_path)];
	struct group *gr = getgrnam(group);

	if (gr == NULL) {
		log_warnx("control_group: no group '%s' on this system", group);
		return -1;
	}

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy_chk(sun.sun_path, path, sizeof(sun.sun_path)) == -1) {
		log_warnx("control socket path %s is too long", path);
		return -1;
	}
	/* The directory: created if missing (systemd's RuntimeDirectory
	 * normally makes it); searchable, so that control_group's members
	 * reach the socket, whose own mode is what guards it. */
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			log_warn("control socket directory %s", dir);
			return -1;
		}
	}
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1) {
		log_warn("control: socket");
		return -1;
	}
	/* A socket file that nobody answers on is left over from a crash. */
	if (connect(lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		log_warnx("control socket %s: another vpc-failoverd is running", path);
		goto fail;
	}
	close(lfd);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1) {
		log_warn("control: socket");
		return -1;
	}
	unlink(path);
	mode_t old = umask(0117);
	int rc = bind(lfd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1) {
		log_warn("control: bind %s", path);
		goto fail;
	}
	/* Under the systemd unit the daemon runs with Group=control_group and
	 * without CAP_CHOWN: the socket already has the right group then. */
	struct stat st;
	if (stat(path, &st) == -1 ||
	    (st.st_gid != gr->gr_gid && chown(path, (uid_t)-1, gr->gr_gid) == -1) ||
	    chmod(path, 0660) == -1) {
		log_warn("control: chown/chmod %s (group %s, mode 0660)", path, group);
		goto fail;
	}
	if (listen(lfd, 128) == -1) {
		log_warn("control: listen %s", path);
		goto fail;
	}
	if (ev_fd_set(lfd, EPOLLIN, on_accept, NULL) == -1)
		goto fail;
	snprintf(sock_path, sizeof(sock_path), "%s", path);
	config = env->config;
	apply_event = env->event;
	started = env->started;
	return 0;
fail:
	close(lfd);
	lfd = -1;
	return -1;
}

void control_fini(void)
{
	while (clients)
		client_close(clients);
	if (lfd != -1) {
		ev_fd_del(lfd);
		close(lfd);
		unlink(sock_path);
	}
	lfd = -1;
}
