/* ctl.h — the daemon's control socket (server side). */
#ifndef VPCF_CTL_H
#define VPCF_CTL_H

#include <jansson.h>

/* A request handler: returns the reply object (ownership passes to ctl). */
typedef json_t *(*ctl_handler_fn)(json_t *req);

/* Listen on path (created 0660 under a 0117 umask; a stale socket is
 * replaced, a live one is an error). 0 or -1. */
int ctl_init(const char *path, ctl_handler_fn handler);
void ctl_fini(void);
/* A reply {"ok":false,"error":msg}. */
json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Client side (the CLI; blocking with a timeout): send req, get the reply.
 * Returns 0 with *reply, -1 with err; *down = 1 when no daemon listens. */
int ctl_request(const char *path, json_t *req, json_t **reply, int timeout_ms, int *down,
		char *err, size_t errsz);

#endif
