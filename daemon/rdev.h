/* rdev.h — hiredis's async API on the daemon's event loop (lib/ev.h): the
 * adapter hiredis calls to watch a context's socket for reading and
 * writing (its bundled adapters are for other loops). Used by the role
 * guard (daemon/guard.c) and the Sentinel follower (daemon/sentinel.c). */
#ifndef VPCF_RDEV_H
#define VPCF_RDEV_H

#include <hiredis/async.h>

/* The most one reply may take, in bytes (its objects, or a bulk string
 * buffered in transit): the guard's ROLE and the Sentinel follower's
 * replies are a few KiB. A larger one fails the connection (rdev.c). */
#define RDEV_REPLY_MAX (4u << 20)

/* Put ac's socket on the loop, and hold its replies to RDEV_REPLY_MAX; the
 * adapter is freed with the context. */
void rdev_attach(redisAsyncContext *ac);

/* Why ac failed, for a NULL reply or the disconnect callback: hiredis's
 * error text, or that a reply was too large. */
const char *rdev_errstr(const redisAsyncContext *ac);

#endif
