/* control.h — the daemon's control socket (server side). */
#ifndef VPCF_CONTROL_H
#define VPCF_CONTROL_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/kaevent.h"

/* Who is on the other end of a connection (SO_PEERCRED at accept). */
struct ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* A request handler: returns the reply object (ownership passes to ctl). */
typedef json_t *(*ctl_handler_fn)(json_t *req, const struct ctl_peer *peer);

/* Listen on path, created 0660 and owned by group (a group name; the socket
 * directory is created 0755 when missing). A stale socket is replaced, a
 * live one is an error. 0 or -1. */
int ctl_init(const char *path, const char *group, ctl_handler_fn handler);
/* May this peer change routing (notify, failover, takeover)? Root or the
 * daemon's own user. */
int ctl_peer_privileged(const struct ctl_peer *peer);
/* "root (uid 0, pid 4242)" into buf, for the log: who asked. Returns buf. */
const char *ctl_peer_describe(const struct ctl_peer *peer, char *buf, size_t n);
void ctl_fini(void);
/* A reply {"ok":false,"error":msg}. */
json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The event of a "notify" request, checked like keepalived's notify
 * arguments (ka_parse_args); a "mono" that is absent or from the future
 * becomes now_ms, an absent "wall" now_s. 0, or -1 with what was wrong in
 * err. */
int ctl_notify_event(json_t *req, uint64_t now_ms, int64_t now_s, struct ka_event *ev,
		     char *err, size_t errsz);
#endif
