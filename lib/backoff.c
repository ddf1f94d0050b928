/* backoff.c — full jitter ("Exponential Backoff And Jitter", AWS
 * Architecture Blog): sleep = random_between(0, min(cap, base * 2^attempt)).
 * Full jitter spreads clients that were throttled together, which is what a
 * shared per-account EC2 bucket needs. */
#include <stdlib.h>

#include "lib/backoff.h"

void backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms, uint64_t deadline)
{
	b->base_ms = base_ms ? base_ms : 1;
	b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
	b->deadline = deadline;
	b->attempt = 0;
	b->rand = NULL;
	b->rand_ctx = NULL;
}

static uint64_t rand64(struct backoff *b)
{
	if (b->rand)
		return b->rand(b->rand_ctx);
	return ((uint64_t)random() << 32) ^ (uint64_t)random();
}

uint64_t backoff_next(struct backoff *b, uint64_t now)
{
	uint64_t ceiling = b->base_ms;

	for (unsigned i = 0; i < b->attempt && ceiling < b->cap_ms; i++)
		ceiling *= 2;
	if (ceiling > b->cap_ms)
		ceiling = b->cap_ms;
	if (now >= b->deadline)
		return BACKOFF_GIVE_UP;
	uint64_t delay = rand64(b) % (ceiling + 1);
	/* A large draw near the deadline still gets its last try in time. */
	if (delay > b->deadline - now)
		delay = b->deadline - now;
	b->attempt++;
	return delay;
}
