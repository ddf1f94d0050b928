/* guard-probe.c — ask a role guard (daemon/guard.c) on the event loop, as the
 * daemon does, for tests/integration/guard_servers.sh and the latency
 * figures in docs/config.md. Asks N times in a row; prints one line per
 * answer ("primary|replica|unknown DETAIL") and, with N > 1, the median
 * and 90th percentile of question-to-answer time in microseconds. Exit
 * status: 0 primary, 1 replica, 2 unknown (the last answer).
 *   guard-probe URL [PASSWORD_FILE|-] [TIMEOUT_MS] [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/guard.h"
#include "lib/ev.h"
#include "lib/log.h"

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static struct guard *gd;
static long long *us, t0;
static int n, done;
static enum guard_answer last;

static void on_answer(void *arg, enum guard_answer a, const char *detail, unsigned ms)
{
	us[done++] = now_us() - t0;
	last = a;
	if (n == 1 || done == n || a != GUARD_PRIMARY)
		printf("%s %s\n", guard_answer_name(a), detail);
	if (done == n) {
		ev_stop();
		return;
	}
	t0 = now_us();
	guard_ask(gd, on_answer, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 5) {
		fprintf(stderr,
			"usage: guard-probe URL [PASSWORD_FILE|-] [TIMEOUT_MS] [N]\n");
		return 64;
	}
	const char *pw = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : "";
	unsigned timeout = argc > 3 ? (unsigned)atoi(argv[3]) : 1000;
	n = argc > 4 ? atoi(argv[4]) : 1;
	if (n < 1 || n > 100000 || timeout < 1)
		return 64;
	struct guard_target t;
	char why[200];
	if (guard_target_parse(argv[1], &t, why, sizeof(why)) == -1) {
		fprintf(stderr, "guard-probe: %s: %s\n", argv[1], why);
		return 64;
	}
	log_init("guard-probe", 1, LOG_LVL_WARN);
	if (ev_init() == -1)
		return 70;
	us = calloc((size_t)n, sizeof(*us));
	gd = guard_new(argv[1], pw, timeout);
	t0 = now_us();
	guard_ask(gd, on_answer, NULL);
	ev_run();
	if (n > 1) {
		qsort(us, (size_t)n, sizeof(*us), cmp);
		printf("%d questions: median %lld us, p90 %lld us\n", n, us[n / 2],
		       us[n * 9 / 10]);
	}
	guard_free(gd);
	ev_fini();
	free(us);
	return last == GUARD_PRIMARY ? 0 : last == GUARD_REPLICA ? 1 : 2;
}
