/* test_clock.c — the fake clock (VPCF_FAKE_CLOCK): parsing, its arithmetic,
 * and the event loop on it, with the system clocks and the timerfd replaced
 * (chrony style: ev.c is included and its I/O swapped by macros). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "lib/util.h"

/* The system clocks, set by the tests. */
static struct timespec mono_now, real_now;
static int fake_gettime(clockid_t id, struct timespec *ts)
{
	*ts = id == CLOCK_MONOTONIC ? mono_now : real_now;
	return 0;
}
#define clock_gettime fake_gettime

/* The timerfd: remember what the loop armed it with. */
static struct itimerspec armed;
static int fake_settime(int fd, int flags, const struct itimerspec *its,
			struct itimerspec *old)
{
	armed = *its;
	return 0;
}
#define timerfd_settime fake_settime

#include "lib/ev.c"

#define EPOCH 1800000000LL /* 2027-01-15T08:00:00Z */

static struct timespec ts(int64_t sec, long nsec)
{
	struct timespec t = {.tv_sec = sec, .tv_nsec = nsec};
	return t;
}

static uint64_t mono_fixed(void)
{
	return 5000;
}

static uint64_t armed_ns(void)
{
	return (uint64_t)armed.it_value.tv_sec * 1000000000 +
	       (uint64_t)armed.it_value.tv_nsec;
}

static void parses_scale_at_epoch(void **state)
{
	struct fake_clock fc;
	char err[256];

	assert_int_equal(fake_clock_parse("1000@1800000000", &fc, err, sizeof(err)), 0);
	assert_int_equal(fc.scale, 1000);
	assert_int_equal(fc.epoch, EPOCH);
	assert_int_equal(fake_clock_parse("1@0", &fc, err, sizeof(err)), 0);
	assert_int_equal(fc.scale, 1);
	assert_int_equal(fc.epoch, 0);
	assert_int_equal(fake_clock_parse("100000@1", &fc, err, sizeof(err)), 0);
	assert_int_equal(fc.scale, FAKE_CLOCK_SCALE_MAX);
}

static void refuses_malformed_values(void **state)
{
	static const char *bad[] = {
	    "",
	    "1000",
	    "1000@",
	    "@1800000000",
	    "0@1800000000",
	    "100001@1",
	    "-5@1",
	    "+5@1",
	    " 5@1",
	    "5@-1",
	    "5@ 1",
	    "5@1x",
	    "x@1",
	    "5@@1",
	    "5@1@2",
	    "5.5@1",
	    "5@1e9",
	    "5@999999999999",
	    "99999999999999999999999@1",
	};
	struct fake_clock fc;
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		fc.scale = 7;
		if (fake_clock_parse(bad[i], &fc, err, sizeof(err)) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(err, "VPCF_FAKE_CLOCK"));
		assert_int_equal(fc.scale, 1); /* real time, whatever was there */
	}
}

static void environment_unset_empty_set_bad(void **state)
{
	struct fake_clock fc;
	char err[256] = "";

	unsetenv(FAKE_CLOCK_ENV);
	assert_int_equal(fake_clock_env(&fc, err, sizeof(err)), 0);
	assert_int_equal(fc.scale, 1);
	setenv(FAKE_CLOCK_ENV, "", 1);
	assert_int_equal(fake_clock_env(&fc, err, sizeof(err)), 0);
	setenv(FAKE_CLOCK_ENV, "1000@1800000000", 1);
	assert_int_equal(fake_clock_env(&fc, err, sizeof(err)), 1);
	assert_int_equal(fc.scale, 1000);
	setenv(FAKE_CLOCK_ENV, "fast", 1);
	assert_int_equal(fake_clock_env(&fc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VPCF_FAKE_CLOCK: 'fast'"));
	unsetenv(FAKE_CLOCK_ENV);
}

static void scale_one_is_real_time(void **state)
{
	struct fake_clock fc = {.scale = 1, .epoch = EPOCH};
	struct timespec m = ts(5, 123456789), w = ts(EPOCH + 77, 999999999);

	assert_int_equal(fake_mono_ms(&fc, &m), 5123);
	assert_int_equal(fake_wall_ms(&fc, &w), (EPOCH + 77) * 1000 + 999);
	assert_int_equal(fake_real_ns(&fc, 1500), 1500000000);
}

static void monotonic_runs_scale_times_faster(void **state)
{
	struct fake_clock fc = {.scale = 1000, .epoch = EPOCH};
	struct timespec a = ts(5, 123456789), b = ts(5 + 86, 523456789);

	assert_int_equal(fake_mono_ms(&fc, &a), 5123456);
	/* 86.4 real seconds are a day */
	assert_int_equal(fake_mono_ms(&fc, &b) - fake_mono_ms(&fc, &a), 86400000);
	/* Ten years of uptime at the largest scale still fit. */
	fc.scale = FAKE_CLOCK_SCALE_MAX;
	struct timespec up = ts(315360000, 999999999);
	assert_int_equal(fake_mono_ms(&fc, &up),
			 315360000ULL * 1000 * 100000 + 999999999ULL * 100000 / 1000000);
}

static void wall_time_meets_real_time_at_epoch(void **state)
{
	struct fake_clock fc = {.scale = 1000, .epoch = EPOCH};
	struct timespec at = ts(EPOCH, 0), day = ts(EPOCH + 86, 400000000);
	struct timespec before = ts(EPOCH - 1, 0);

	assert_int_equal(fake_wall_ms(&fc, &at), EPOCH * 1000);
	assert_int_equal(fake_wall_ms(&fc, &day), (EPOCH + 86400) * 1000);
	/* Before EPOCH it runs fast too, backwards from it. */
	assert_int_equal(fake_wall_ms(&fc, &before), (EPOCH - 1000) * 1000);
}

static void real_delay_is_rounded_up_never_early(void **state)
{
	struct fake_clock fc = {.scale = 1000, .epoch = 0};

	assert_int_equal(fake_real_ns(&fc, 0), 0);
	assert_int_equal(fake_real_ns(&fc, 1), 1000);
	assert_int_equal(fake_real_ns(&fc, 60000), 60000000);
	fc.scale = 3;
	assert_int_equal(fake_real_ns(&fc, 1), 333334);
	assert_int_equal(fake_real_ns(&fc, 3), 1000000);
	assert_int_equal(fake_real_ns(&fc, UINT64_MAX), UINT64_MAX);
	/* Waiting that long from any instant reaches the fake deadline. */
	for (uint64_t scale = 1; scale <= 100000; scale *= 7) {
		fc.scale = scale;
		for (uint64_t ms = 0; ms < 5000; ms += 37) {
			for (long start = 0; start < 1000000000; start += 99999989) {
				struct timespec a = ts(1000, start);
				uint64_t end = (uint64_t)start + fake_real_ns(&fc, ms);
				struct timespec b = ts(1000 + (int64_t)(end / 1000000000),
						       (long)(end % 1000000000));
				assert_true(
				    fake_mono_ms(&fc, &b) - fake_mono_ms(&fc, &a) >= ms);
			}
		}
	}
}

/* The notify hook is stamped with its fork, not its main(): a child that
 * sleeps 300 ms before asking still says it started about when forked. */
static void process_start_is_the_fork(void **state)
{
	int fds[2];
	uint64_t forked, stamp;

	assert_int_equal(pipe(fds), 0);
	forked = mono_ms();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(300 * 1000);
		uint64_t t = proc_started_mono_ms();
		_exit(write(fds[1], &t, sizeof(t)) == sizeof(t) ? 0 : 1);
	}
	assert_int_equal(read(fds[0], &stamp, sizeof(stamp)), sizeof(stamp));
	waitpid(pid, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	/* Within the clock tick (10 ms at 100 Hz) and the fork's own cost. */
	assert_true(stamp + 20 >= forked);
	assert_true(stamp <= forked + 100);
	assert_true(proc_started_mono_ms() <= mono_ms());
}

static void loop_on_the_fake_clock(void **state)
{
	struct fake_clock fc = {.scale = 1000, .epoch = EPOCH};

	mono_now = ts(100, 0);
	real_now = ts(EPOCH + 3, 500000000);
	ev_set_fake_clock(&fc);
	assert_int_equal(ev_now(), 100000000);
	assert_int_equal(ev_wall(), EPOCH + 3500);
	/* A 60 s re-check waits 60 real ms. */
	ev_timer_add(60000, NULL, NULL);
	assert_int_equal(armed_ns(), 60000000);
	/* curl's 200 ms stay 200 real ms; a hook's stamp lands on our clock. */
	assert_int_equal(ev_from_real(200), 200000);
	assert_int_equal(ev_from_real(UINT64_MAX / 10), UINT64_MAX);
	assert_int_equal(ev_wall_from_real(EPOCH + 2), EPOCH + 2000);
	mono_now = ts(100, 30000000);	 /* 30 real ms later: half way */
	ev_timer_add(90000, NULL, NULL); /* later than the first: not re-armed */
	timer_arm();
	assert_int_equal(armed_ns(), 30000000);
	ev_fini();

	/* Back on real time: unchanged behaviour. */
	ev_set_fake_clock(NULL);
	ev_set_clock(NULL);
	assert_int_equal(ev_from_real(200), 200);
	assert_int_equal(ev_wall_from_real(EPOCH + 2), EPOCH + 2);
	ev_set_clock(mono_fixed);
	ev_timer_add(60000, NULL, NULL);
	assert_int_equal(armed.it_value.tv_sec, 60);
	assert_int_equal(armed.it_value.tv_nsec, 0);
	ev_fini();
	ev_set_clock(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_scale_at_epoch),
	    cmocka_unit_test(refuses_malformed_values),
	    cmocka_unit_test(environment_unset_empty_set_bad),
	    cmocka_unit_test(scale_one_is_real_time),
	    cmocka_unit_test(monotonic_runs_scale_times_faster),
	    cmocka_unit_test(wall_time_meets_real_time_at_epoch),
	    cmocka_unit_test(real_delay_is_rounded_up_never_early),
	    cmocka_unit_test(loop_on_the_fake_clock),
	    cmocka_unit_test(process_start_is_the_fork),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
