/* ev.c — epoll + timerfd event loop. Timers are kept in a sorted list: the
 * loop holds a handful (retries, re-checks, curl's one timeout), so a list is
 * simpler than a heap and just as fast at this size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"

struct ev_watch {
	ev_fd_fn fn;
	void *arg;
};

struct ev_timer {
	uint64_t id;
	uint64_t when;
	ev_timer_fn fn;
	void *arg;
	struct ev_timer *next;
};

static int ep = -1;
static int tfd = -1;
static struct ev_watch *watches;
static size_t nwatches;
static struct ev_timer *timers;
static uint64_t next_timer_id = 1;
static int stopping;
static uint64_t (*clock_fn)(void) = mono_ms;
static struct fake_clock fake = {.scale = 1};

uint64_t ev_now(void)
{
	return clock_fn();
}

void ev_set_clock(uint64_t (*now)(void))
{
	clock_fn = now ? now : mono_ms;
}

static uint64_t fake_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return fake_mono_ms(&fake, &ts);
}

void ev_set_fake_clock(const struct fake_clock *fc)
{
	fake.scale = fc ? fc->scale : 1;
	fake.epoch = fc ? fc->epoch : 0;
	clock_fn = fake.scale > 1 ? fake_now : mono_ms;
}

int64_t ev_wall(void)
{
	struct timespec ts;

	if (fake.scale <= 1)
		return wall_s();
	clock_gettime(CLOCK_REALTIME, &ts);
	return fake_wall_ms(&fake, &ts) / 1000;
}

uint64_t ev_from_real(uint64_t real_ms)
{
	if (real_ms > UINT64_MAX / fake.scale)
		return UINT64_MAX;
	return real_ms * fake.scale;
}

int64_t ev_wall_from_real(int64_t real_s)
{
	/* From a client: clamped to years 1970..5138, where the product fits. */
	struct timespec ts = {.tv_sec = real_s < 0		 ? 0
					: real_s > 99999999999LL ? 99999999999LL
								 : real_s};

	if (fake.scale <= 1)
		return real_s;
	return fake_wall_ms(&fake, &ts) / 1000;
}

static void timer_arm(void)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (timers) {
		uint64_t now = ev_now();
		uint64_t d = timers->when > now ? timers->when - now : 0;
		if (fake.scale > 1) {
			/* The timerfd counts real time, shorter than fake time. */
			uint64_t ns = fake_real_ns(&fake, d);
			its.it_value.tv_sec = (time_t)(ns / 1000000000);
			its.it_value.tv_nsec = (long)(ns % 1000000000);
		} else {
			its.it_value.tv_sec = d / 1000;
			its.it_value.tv_nsec = (d % 1000) * 1000000;
		}
		/* Zero disarms a timerfd: a due timer fires after 1 ns instead. */
		its.it_value.tv_nsec += d == 0;
	}
	if (timerfd_settime(tfd, 0, &its, NULL) == -1)
		log_warn("timerfd_settime");
}

static void timers_run(int fd, uint32_t events, void *arg)
{
	uint64_t expirations;
	uint64_t now = ev_now();

	if (read(tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("timerfd read");
	/* Run only what is due now; timers added by callbacks wait a round. */
	while (timers && timers->when <= now) {
		struct ev_timer *t = timers;
		timers = t->next;
		ev_timer_fn fn = t->fn;
		void *targ = t->arg;
		free(t);
		fn(targ);
	}
	timer_arm();
}

int ev_init(void)
{
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1) {
		log_warn("epoll_create1");
		return -1;
	}
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd == -1) {
		log_warn("timerfd_create");
		close(ep);
		ep = -1;
		return -1;
	}
	stopping = 0;
	return ev_fd_set(tfd, EPOLLIN, timers_run, NULL);
}

void ev_fini(void)
{
	while (timers) {
		struct ev_timer *t = timers;
		timers = t->next;
		free(t);
	}
	if (tfd != -1)
		close(tfd);
	if (ep != -1)
		close(ep);
	free(watches);
	watches = NULL;
	nwatches = 0;
	tfd = ep = -1;
}

int ev_fd_set(int fd, uint32_t events, ev_fd_fn fn, void *arg)
{
	struct epoll_event ee;

	if (fd < 0)
		return -1;
	if ((size_t)fd >= nwatches) {
		size_t n = (size_t)fd + 64;
		watches = xreallocarray(watches, n, sizeof(*watches));
		memset(watches + nwatches, 0, (n - nwatches) * sizeof(*watches));
		nwatches = n;
	}
	memset(&ee, 0, sizeof(ee));
	ee.events = events;
	ee.data.fd = fd;
	int op = watches[fd].fn ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(ep, op, fd, &ee) == -1) {
		log_warn("epoll_ctl fd %d", fd);
		return -1;
	}
	watches[fd].fn = fn;
	watches[fd].arg = arg;
	return 0;
}

void ev_fd_del(int fd)
{
	if (fd < 0 || (size_t)fd >= nwatches || watches[fd].fn == NULL)
		return;
	/* The fd may already be closed by its owner: ignore errors. */
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	watches[fd].fn = NULL;
	watches[fd].arg = NULL;
}

uint64_t ev_timer_add(uint64_t delay_ms, ev_timer_fn fn, void *arg)
{
	struct ev_timer *t = xcalloc(1, sizeof(*t));
	struct ev_timer **pp = &timers;

	t->id = next_timer_id++;
	t->when = ev_now() + delay_ms;
	t->fn = fn;
	t->arg = arg;
	while (*pp && (*pp)->when <= t->when)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	if (timers == t)
		timer_arm();
	return t->id;
}

void ev_timer_cancel(uint64_t id)
{
	for (struct ev_timer **pp = &timers; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct ev_timer *t = *pp;
			*pp = t->next;
			free(t);
			return;
		}
	}
}

int ev_run(void)
{
	struct epoll_event evs[64];

	stopping = 0;
	while (!stopping) {
		int n = epoll_wait(ep, evs, ARRAY_SIZE(evs), -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			return -1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			/* An earlier callback in this round may have removed it. */
			if ((size_t)fd >= nwatches || watches[fd].fn == NULL)
				continue;
			watches[fd].fn(fd, evs[i].events, watches[fd].arg);
		}
	}
	return 0;
}

void ev_stop(void)
{
	stopping = 1;
}
