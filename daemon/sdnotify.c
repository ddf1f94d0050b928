/* sdnotify.c — systemd's readiness protocol and watchdog (sd-daemon.h).
 *
 * The watchdog ping is a timer on the one event loop, not a thread: if the
 * loop wedges, the pings stop and systemd restarts the daemon, which is the
 * point. It fires every half interval, so one late round is not fatal.
 *
 * sd_notify() sends one datagram on a blocking AF_UNIX socket; PID 1 drains
 * its notify socket promptly, so this does not stall the loop in practice. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "daemon/sdnotify.h"

static int watchdog_started;
static uint64_t watchdog_ms; /* ping period: half of WatchdogSec= */
static int warned;

static int enabled(void)
{
	const char *s = getenv("NOTIFY_SOCKET");

	return s != NULL && *s != '\0';
}

static void send_state(const char *state)
{
	int r = sd_notify(0, state);

	/* Once: a broken notify socket would otherwise repeat every ping. */
	if (r < 0 && !warned) {
		warned = 1;
		log_warnx("systemd notify: %s (further failures not logged)",
			  strerror(-r));
	}
}

static void watchdog_ping(void *arg)
{
	send_state("WATCHDOG=1");
	ev_timer_add(ev_from_real(watchdog_ms), watchdog_ping, NULL);
}

static void watchdog_start(void)
{
	uint64_t usec = 0;

	watchdog_started = 1;
	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is us. */
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	watchdog_ms = usec / 2000;
	if (watchdog_ms == 0)
		watchdog_ms = 1;
	log_info("systemd watchdog: %llu ms, pinging every %llu ms",
		 (unsigned long long)(usec / 1000), (unsigned long long)watchdog_ms);
	send_state("WATCHDOG=1");
	ev_timer_add(ev_from_real(watchdog_ms), watchdog_ping, NULL);
}

void sdn_ready(const char *fmt, ...)
{
	char status[256], msg[300];
	va_list ap;

	if (!enabled())
		return;
	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	send_state(msg);
	if (!watchdog_started)
		watchdog_start();
}

void sdn_reloading(void)
{
	struct timespec ts;
	char msg[64];

	if (!enabled())
		return;
	/* systemd >= 253 (Type=notify-reload) requires the timestamp; older
	 * ones ignore it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
		     (unsigned long long)ts.tv_nsec / 1000);
	send_state(msg);
}

void sdn_stopping(void)
{
	if (enabled())
		send_state("STOPPING=1\nSTATUS=stopping");
}
