/* ratelim.h — a client-side rate limiter that learns from throttling, in
 * the manner of the AWS SDKs' "adaptive" retry mode: no limit until the
 * server's throttling is evident; then calls are paced, the rate cut on
 * every throttle and raised on every success, until it is high enough not
 * to matter or throttling has stopped for a while. */
#ifndef VPCF_RATELIM_H
#define VPCF_RATELIM_H

#include <stdint.h>

struct ratelim {
	/* tuning, set by rl_init */
	double first_rate; /* calls/s when pacing starts */
	double min_rate, max_rate;
	double cut;	    /* rate *= cut on a throttle */
	double grow;	    /* rate *= grow on a success */
	uint64_t quiet_ms;  /* this long without a throttle ends pacing */
	uint64_t window_ms; /* the evidence window */
	unsigned min_thr;   /* throttles in the window before pacing starts */
	double min_ratio;   /* and their share of the window's calls */
	/* state */
	int limited;	    /* pacing */
	double rate;	    /* calls per second while limited */
	uint64_t next;	    /* earliest time (ms) of the next call's slot */
	uint64_t slot_at;   /* when next was fixed: a slot taken, a throttle */
	double slot_u;	    /* and the jitter it was drawn with */
	int cut_since;	    /* a throttle cut the rate since pacing started */
	uint64_t burst_end; /* throttles before this are one signal */
	uint64_t last_throttle;
	uint64_t win_start; /* the evidence window: answers since win_start */
	unsigned win_sent, win_ok, win_thr;
	uint64_t throttles; /* seen, ever */
	uint64_t waits;	    /* calls that waited for a slot, ever */
	uint64_t waited_ms; /* how long, together */
};

/* first_rate calls/s when pacing starts: EC2's bucket refill over its size
 * (5 / 50 for writes) assumes a whole burst of clients shares the refill. */
void rl_init(struct ratelim *r, double first_rate);
/* Back to unlimited, keeping the counters ever (a new event: probe again). */
void rl_reset(struct ratelim *r);
/* Take the slot at now (ms) if it has come: 0, and the next slot is one gap
 * (0.5..1.5 times 1 / rate, u uniform in [0, 1)) later, at the rate of
 * this instant; 0 too when not limited. Otherwise the delay until the next
 * slot, nothing taken: the caller waits and asks again. Only the next slot
 * is ever fixed, so a rate that grew meanwhile applies to every later one
 * (slots reserved ahead at the first, slowest pace kept a node's last
 * writes seconds apart after the account's bucket had room). waited: the
 * call has been told to wait before (counted in waits once). */
uint64_t rl_take(struct ratelim *r, uint64_t now, double u, int waited);
/* The delay rl_take would return now, without taking. */
uint64_t rl_delay(const struct ratelim *r, uint64_t now);
/* A call (or a retry) was sent at now: in the window's count of calls.
 * (vpc/ec2.c does not count the retry of a throttled call sent while
 * first attempts are still in flight: it is not another call of the
 * burst, and its answer counts when it comes.) */
void rl_sent(struct ratelim *r, uint64_t now);
/* A call was throttled (RequestLimitExceeded) at now. Pacing starts when
 * the window (10 s, about the time EC2's write bucket takes to drain)
 * holds min_thr throttles that are min_ratio of the calls it sent (or
 * answered, if more): an empty account bucket throttles nearly every call,
 * while random throttling of a burst rarely reaches 3 in 4 of its calls,
 * and calls still in flight count against pacing, so that the first
 * throttled answers of a burst do not decide alone. Once pacing, each
 * throttle after the first second (the burst that started it is one
 * signal) cuts the rate. */
void rl_throttled(struct ratelim *r, uint64_t now, double u);
/* A call was answered at now, other than throttled: evidence against an
 * empty bucket; paces faster; at max_rate pacing ends. Once a throttle has
 * cut the rate (since pacing started), a success also pulls the next slot
 * in to one gap at the raised rate after the instant it was fixed (never
 * before now): the fast recovery of the SDKs' CUBIC, so that a node cut
 * near the end of an AZ outage does not spend its last writes' gaps, drawn
 * at the cut rate, after the crowd has gone. 1 if the next slot moved
 * earlier (calls waiting for it should ask again), else 0. */
int rl_success(struct ratelim *r, uint64_t now);

#endif
