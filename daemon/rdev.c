/* rdev.c — hiredis's async API on lib/ev.c (see rdev.h).
 *
 * Which of read and write hiredis wants, as one epoll watch. The adapter is
 * owned by the context (freed in its cleanup hook), not by the caller,
 * since hiredis may free a context after the caller let go of it.
 *
 * hiredis 0.14 (Debian 12) puts no bound on a reply: a server announcing a
 * bulk string of a gigabyte, or an array of a billion elements, is
 * buffered and built for as long as it keeps sending. The guard and the
 * Sentinel follower expect replies of a few KiB, so each is held to
 * RDEV_REPLY_MAX, in two places:
 *   - the bytes the reader holds unparsed (a bulk string in transit),
 *     checked before each read: past the limit the context gets an error of
 *     ours, and the read fails through hiredis's own disconnect;
 *   - the memory of the reply's objects, counted by wrapping hiredis's
 *     object functions: past the limit the next object is refused, which
 *     hiredis takes as out of memory (it stops parsing and frees the
 *     partial reply; an array's element pointers, which it allocates up
 *     front, are never asked for).
 * Either way pending callbacks get a NULL reply and the disconnect callback
 * REDIS_ERR; rdev_errstr says why, where hiredis would say "Out of
 * memory". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "daemon/rdev.h"
#include "lib/ev.h"
#include "lib/util.h"

struct rd_watch {
	redisAsyncContext *ac;
	int fd;
	int rd, wr;
	int over;	    /* a reply passed RDEV_REPLY_MAX: the connection fails */
	size_t reply_bytes; /* the objects of the reply being read */
	redisReplyObjectFunctions fn, *orig; /* the wrappers; hiredis's own */
};

#define TOO_BIG "a reply larger than 4 MiB: hung up"
_Static_assert(RDEV_REPLY_MAX == 4u << 20, "TOO_BIG names the limit");

/* The watch whose context is reading: the reader runs only inside
 * redisAsyncHandleRead, called from on_fd on this thread. */
static struct rd_watch *reading;

/* What a new object adds to its reply (a root object starts a reply);
 * nonzero: refuse it. */
static int refuse(const redisReadTask *t, size_t bytes)
{
	struct rd_watch *w = reading;

	if (w == NULL)
		return 0;
	w->reply_bytes = (t->parent ? w->reply_bytes : 0) + sizeof(redisReply) + bytes;
	if (w->reply_bytes > RDEV_REPLY_MAX)
		w->over = 1;
	return w->over;
}

static void *mk_string(const redisReadTask *t, char *s, size_t len)
{
	return refuse(t, len + 1) ? NULL : reading->orig->createString(t, s, len);
}

static void *mk_array(const redisReadTask *t, int n)
{
	return refuse(t, (size_t)n * sizeof(redisReply *))
		   ? NULL
		   : reading->orig->createArray(t, n);
}

static void *mk_integer(const redisReadTask *t, long long v)
{
	return refuse(t, 0) ? NULL : reading->orig->createInteger(t, v);
}

static void *mk_nil(const redisReadTask *t)
{
	return refuse(t, 0) ? NULL : reading->orig->createNil(t);
}

static void on_fd(int fd, uint32_t events, void *arg)
{
	struct rd_watch *w = arg;
	redisContext *c = &w->ac->c;

	/* One call per wake-up: either may free the context (and w). */
	if ((events & EPOLLOUT) && w->wr) {
		redisAsyncHandleWrite(w->ac);
		return;
	}
	if (c->err == 0 && c->reader &&
	    c->reader->len - c->reader->pos > RDEV_REPLY_MAX) {
		w->over = 1;
		c->err = REDIS_ERR_PROTOCOL;
		snprintf(c->errstr, sizeof(c->errstr), "%s", TOO_BIG);
	}
	reading = w;
	redisAsyncHandleRead(w->ac);
	reading = NULL;
}

static void update(struct rd_watch *w)
{
	uint32_t ev = (w->rd ? EPOLLIN : 0) | (w->wr ? EPOLLOUT : 0);

	if (ev == 0)
		ev_fd_del(w->fd);
	else if (ev_fd_set(w->fd, ev, on_fd, w) == -1) {
		/* Cannot watch it: nothing would ever answer; the caller's
		 * deadline ends the exchange. */
	}
}

static void add_read(void *p)
{
	((struct rd_watch *)p)->rd = 1;
	update(p);
}

static void del_read(void *p)
{
	((struct rd_watch *)p)->rd = 0;
	update(p);
}

static void add_write(void *p)
{
	((struct rd_watch *)p)->wr = 1;
	update(p);
}

static void del_write(void *p)
{
	((struct rd_watch *)p)->wr = 0;
	update(p);
}

/* hiredis calls it after the NULL replies and before the disconnect
 * callback: from here on the context's own error text says why. */
static void cleanup(void *p)
{
	struct rd_watch *w = p;

	if (w->over)
		snprintf(w->ac->c.errstr, sizeof(w->ac->c.errstr), "%s", TOO_BIG);
	w->ac->ev.data = NULL;
	ev_fd_del(w->fd);
	free(w);
}

const char *rdev_errstr(const redisAsyncContext *ac)
{
	const struct rd_watch *w = ac->ev.data;

	if (w && w->over)
		return TOO_BIG;
	return ac->errstr && ac->errstr[0] ? ac->errstr : "connection lost";
}

void rdev_attach(redisAsyncContext *ac)
{
	struct rd_watch *w = xcalloc(1, sizeof(*w));

	w->ac = ac;
	w->fd = ac->c.fd;
	ac->ev.data = w;
	ac->ev.addRead = add_read;
	ac->ev.delRead = del_read;
	ac->ev.addWrite = add_write;
	ac->ev.delWrite = del_write;
	ac->ev.cleanup = cleanup;
	if (ac->c.reader && ac->c.reader->fn) {
		w->orig = ac->c.reader->fn;
		w->fn = (redisReplyObjectFunctions){mk_string, mk_array, mk_integer,
						    mk_nil, w->orig->freeObject};
		ac->c.reader->fn = &w->fn;
	}
}
