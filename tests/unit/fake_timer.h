/* fake_timer.h — the event loop's timers replaced by one pending timer that
 * a test fires by hand: `timer_delay` is what the module asked for,
 * `timer_fn(NULL)` runs it. For tests that include the module's .c (chrony
 * style); include it before that .c. The modules under test keep one timer
 * at a time, so a later add replaces the pending one. */
#ifndef VPCF_TEST_FAKE_TIMER_H
#define VPCF_TEST_FAKE_TIMER_H

#include <stdint.h>

#include "lib/ev.h"

static ev_timer_fn timer_fn;
static uint64_t timer_delay;
static void *timer_arg; /* what the module passed: timer_fn(timer_arg) */

static uint64_t fake_timer_add(uint64_t delay_ms, ev_timer_fn fn, void *arg)
{
	timer_arg = arg;
	timer_fn = fn;
	timer_delay = delay_ms;
	return 1;
}

static void fake_timer_cancel(uint64_t id)
{
	(void)id;
	timer_fn = NULL;
}

#define ev_timer_add	fake_timer_add
#define ev_timer_cancel fake_timer_cancel

#endif
