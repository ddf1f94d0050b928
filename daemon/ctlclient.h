/* ctlclient.h — the control socket's client side (the CLI, the notify hook):
 * one request, one reply. Blocking, with a timeout; nothing of the daemon. */
#ifndef VPCF_CTLCLIENT_H
#define VPCF_CTLCLIENT_H

#include <jansson.h>
#include <stddef.h>

/* Send req to the daemon listening on path and wait at most timeout_ms for
 * its reply. Returns 0 with *reply (the caller's to json_decref), or -1 with
 * err; *down = 1 when no daemon listens there (no socket, or refused). */
int ctl_request(const char *path, json_t *req, json_t **reply, int timeout_ms, int *down,
		char *err, size_t errsz);

#endif
