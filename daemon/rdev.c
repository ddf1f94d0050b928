/* rdev.c — hiredis's async API on lib/ev.c (see rdev.h).
 *
 * Which of read and write hiredis wants, as one epoll watch. The adapter is
 * owned by the context (freed in its cleanup hook), not by the caller,
 * since hiredis may free a context after the caller let go of it. */
#include <stdlib.h>
#include <sys/epoll.h>

#include "daemon/rdev.h"
#include "lib/ev.h"
#include "lib/util.h"

struct rd_watch {
	redisAsyncContext *ac;
	int fd;
	int rd, wr;
};

static void on_fd(int fd, uint32_t events, void *arg)
{
	struct rd_watch *w = arg;

	/* One call per wake-up: either may free the context (and w). */
	if ((events & EPOLLOUT) && w->wr)
		redisAsyncHandleWrite(w->ac);
	else
		redisAsyncHandleRead(w->ac);
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

static void cleanup(void *p)
{
	struct rd_watch *w = p;

	ev_fd_del(w->fd);
	free(w);
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
}
