/* ratelim.h — a client-side rate limiter that learns from throttling, in
 * the manner of the AWS SDKs' "adaptive" retry mode: no limit until the
 * server throttles; then calls are paced, the rate cut on every throttle
 * and raised on every success, until it is high enough not to matter. */
#ifndef VPCF_RATELIM_H
#define VPCF_RATELIM_H

#include <stdint.h>

struct ratelim {
	/* tuning, set by rl_init */
	double first_rate; /* calls/s right after the first throttle */
	double min_rate, max_rate;
	double cut;  /* rate *= cut on a throttle */
	double grow; /* rate *= grow on a success */
	/* state */
	int limited;	    /* pacing: a throttle was seen, rate < max_rate */
	double rate;	    /* calls per second while limited */
	uint64_t next;	    /* earliest time (ms) of the next call's slot */
	uint64_t burst_end; /* throttles before this are one signal */
	uint64_t throttles; /* seen, ever */
	uint64_t waits;	    /* calls that waited for a slot, ever */
	uint64_t waited_ms; /* how long, together */
};

/* first_rate calls/s after the first throttle: EC2's bucket refill over its
 * size (5 / 50 for writes) assumes a whole burst of clients shares it. */
void rl_init(struct ratelim *r, double first_rate);
/* Reserve the next call's slot at now (ms); u uniform in [0, 1) spreads
 * slots (a gap of 0.5..1.5 times 1 / rate). The delay before the call may
 * be sent: 0 when not limited. */
uint64_t rl_reserve(struct ratelim *r, uint64_t now, double u);
/* The delay rl_reserve would return now, without reserving. */
uint64_t rl_delay(const struct ratelim *r, uint64_t now);
/* A call was throttled (RequestLimitExceeded) at now: pace, or pace slower.
 * The throttles of calls sent together (within one round trip of the first)
 * are one signal. */
void rl_throttled(struct ratelim *r, uint64_t now, double u);
/* A call went through: pace faster; at max_rate pacing ends. */
void rl_success(struct ratelim *r);

#endif
