/* rdev.h — hiredis's async API on the daemon's event loop (lib/ev.h): the
 * adapter hiredis calls to watch a context's socket for reading and
 * writing (its bundled adapters are for other loops). Used by the role
 * guard (daemon/guard.c) and the Sentinel follower (daemon/sentinel.c). */
#ifndef VPCF_RDEV_H
#define VPCF_RDEV_H

#include <hiredis/async.h>

/* Put ac's socket on the loop; the adapter is freed with the context. */
void rdev_attach(redisAsyncContext *ac);

#endif
