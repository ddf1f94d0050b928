/* control.c — control socket: accept, read one line (capped), hand the parsed
 * JSON to the daemon's handler, write the reply, close. Clients are
 * non-blocking and dropped after CTL_IDLE_MS. */
#include <errno.h>
#include <grp.h>
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
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"

struct client {
	int fd;
	struct ctl_peer peer;
	char in[CTL_REQUEST_MAX + 1];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	uint64_t timer;
	struct client *next;
};

static int lfd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static ctl_handler_fn handler;
static struct client *clients;

json_t *ctl_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

int ctl_notify_event(json_t *req, uint64_t now_ms, int64_t now_s, struct ka_event *ev,
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
		reply = ctl_error("internal error");
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
		client_reply(c, ctl_error("request is not JSON: %s (column %d)", je.text,
					  je.column));
		return;
	}
	if (!json_is_object(req)) {
		json_decref(req);
		client_reply(c, ctl_error("request must be a JSON object"));
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
		client_reply(c,
			     ctl_error("request longer than %d bytes", CTL_REQUEST_MAX));
	}
}

/* The kernel's word on who connected: checked, never taken from the request. */
static int peer_get(int fd, struct ctl_peer *p)
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

/* The user name is looked up only here, for the few requests that are
 * logged: a slow NSS source must not stall every status call. */
const char *ctl_peer_describe(const struct ctl_peer *peer, char *buf, size_t n)
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

int ctl_peer_privileged(const struct ctl_peer *peer)
{
	return peer->uid == 0 || peer->uid == geteuid();
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

int ctl_init(const char *path, const char *group, ctl_handler_fn fn)
{
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
	handler = fn;
	return 0;
fail:
	close(lfd);
	lfd = -1;
	return -1;
}

void ctl_fini(void)
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
