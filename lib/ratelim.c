/* ratelim.c — adaptive client-side pacing (see ratelim.h).
 *
 * Why not the SDKs' CUBIC: when a whole availability zone fails over, N
 * independent nodes share one account bucket, and each learns only from
 * its own calls. The numbers that matter are how many calls hit an empty
 * bucket and when the last write lands. Pacing each node at the bucket's
 * refill over its size (5 / 50 = 0.1 call/s for EC2's writes) once its
 * throttling is evident keeps a burst-sized crowd within the refill;
 * tripling on each success lets the last nodes with writes left speed up
 * as the crowd thins; a throttle cuts the rate by 0.7, and after a cut a
 * success pulls the next slot in to the raised rate (recovery). The slot
 * gaps are jittered (0.5 to 1.5 times 1 / rate) so that nodes throttled
 * together do not come back together. docs/ratelimit.md has the measurements behind
 * the constants. */
#include "lib/ratelim.h"

#define RL_BURST_WINDOW_MS 1000 /* throttles of one burst: one signal */

void rl_init(struct ratelim *r, double first_rate)
{
	*r = (struct ratelim){
	    .first_rate = first_rate > 0 ? first_rate : 0.1,
	    .min_rate = 0.02,
	    .max_rate = 20,
	    .cut = 0.7,
	    .grow = 3,
	    .quiet_ms = 30000,
	    .window_ms = 10000,
	    .min_thr = 3,
	    .min_ratio = 0.75,
	};
}

void rl_reset(struct ratelim *r)
{
	r->limited = 0;
	r->next = 0;
	r->cut_since = 0;
	r->win_start = 0;
	r->win_sent = r->win_ok = r->win_thr = 0;
}

static uint64_t gap_ms(const struct ratelim *r, double u)
{
	return (uint64_t)(1000.0 / r->rate * (0.5 + u));
}

/* Long without a throttle: whatever crowd there was has gone (three times
 * the time EC2's write bucket takes to refill from empty). */
static int quiet(const struct ratelim *r, uint64_t now)
{
	return now >= r->last_throttle + r->quiet_ms;
}

uint64_t rl_delay(const struct ratelim *r, uint64_t now)
{
	return r->limited && !quiet(r, now) && r->next > now ? r->next - now : 0;
}

uint64_t rl_take(struct ratelim *r, uint64_t now, double u, int waited)
{
	uint64_t d;

	if (r->limited && quiet(r, now))
		rl_reset(r);
	if (!r->limited)
		return 0;
	if (r->next <= now) {
		r->next = now + gap_ms(r, u);
		r->slot_at = now;
		r->slot_u = u;
		return 0;
	}
	d = r->next - now;
	if (!waited)
		r->waits++;
	r->waited_ms += d;
	return d;
}

static void window(struct ratelim *r, uint64_t now)
{
	if (now >= r->win_start + r->window_ms) {
		r->win_start = now;
		r->win_sent = r->win_ok = r->win_thr = 0;
	}
}

void rl_sent(struct ratelim *r, uint64_t now)
{
	window(r, now);
	r->win_sent++;
}

/* Throttling is evident: min_thr throttles, min_ratio of the window's
 * calls. Calls in flight count as calls: when a failover's ten writes go
 * out and the first three answers are throttled, three in ten is a storm's
 * dice, not an empty bucket; when all four of a failover's writes come
 * back throttled, it is one. */
static int evident(const struct ratelim *r)
{
	unsigned calls = r->win_thr + r->win_ok;

	if (r->win_sent > calls)
		calls = r->win_sent;
	return r->win_thr >= r->min_thr && r->win_thr >= r->min_ratio * calls;
}

void rl_throttled(struct ratelim *r, uint64_t now, double u)
{
	r->throttles++;
	r->last_throttle = now;
	window(r, now);
	r->win_thr++;
	if (!r->limited) {
		if (!evident(r))
			return; /* not evident yet: the caller backs off */
		r->limited = 1;
		r->rate = r->first_rate;
		r->burst_end = now + RL_BURST_WINDOW_MS;
		r->next = now + gap_ms(r, u);
		r->slot_at = now;
		r->slot_u = u;
		return;
	}
	if (now < r->burst_end)
		return;
	r->rate *= r->cut;
	if (r->rate < r->min_rate)
		r->rate = r->min_rate;
	r->cut_since = 1;
	/* The next slot is at least a (new) gap away, and a recovery pulls
	 * it in from here. */
	if (r->next < now + gap_ms(r, u))
		r->next = now + gap_ms(r, u);
	r->slot_at = now;
	r->slot_u = u;
}

/* Why only after a cut: before one, every node of an AZ outage has its
 * first slot 5 to 15 s after the burst and succeeds in it; pulled in at
 * the tripled rate, the whole crowd comes back three times as fast and
 * overshoots the refill (one run of 50 x 4: 40.3 s, 267 throttled). A cut
 * is this node's own evidence of where the crowd's rate is; its later
 * successes say the cut was too deep, and the slot drawn at the cut rate
 * is what left the last pair's writes seconds after the account's bucket
 * had room (bench/az-model.py: 177 of 200 seeded runs within 1.2 x the
 * bound without, 198 of 200 with; the throttled calls unchanged). */
int rl_success(struct ratelim *r, uint64_t now)
{
	uint64_t pulled;

	window(r, now);
	r->win_ok++;
	if (!r->limited)
		return 0;
	r->rate *= r->grow;
	if (r->rate >= r->max_rate) {
		int waiting = r->next > now;
		rl_reset(r);
		return waiting;
	}
	if (!r->cut_since)
		return 0;
	pulled = r->slot_at + gap_ms(r, r->slot_u);
	if (pulled < now)
		pulled = now;
	if (pulled >= r->next)
		return 0;
	r->next = pulled;
	return 1;
}
