/* control.h — the daemon's control socket (server side): the transport, the
 * request schema, the permission check and every command's handler
 * (daemon/control.c). The client is daemon/ctlclient.h; the wire protocol
 * daemon/ctl_proto.h. */
#ifndef VPCF_CONTROL_H
#define VPCF_CONTROL_H

#include <stdint.h>

#include "daemon/cfg.h"
#include "daemon/group.h"
#include "daemon/kaevent.h"

/* What the command handlers need of the daemon, handed over once at start. */
struct control_env {
	const char *socket; /* path; created 0660, a stale one replaced */
	const char *group;  /* the socket's group (a name) */
	int64_t started;    /* unix seconds: when the daemon started (status) */
	/* The running configuration, asked at every request: reload swaps it. */
	const struct cfg *(*config)(void);
	/* Apply a keepalived event (a "notify" request; source "notify") and
	 * record it as the daemon records every accepted event: the verdict. */
	enum grp_verdict (*event)(const struct ka_event *ev, const char *source);
};

/* Listen on env->socket (its directory is created 0755 when missing; a live
 * socket there is an error) and serve requests until control_fini. The
 * strings are used during the call only. 0 or -1. */
int control_init(const struct control_env *env);
/* Drop the clients, close the socket and remove its file. */
void control_fini(void);

#endif
