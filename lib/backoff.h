/* backoff.h — full-jitter exponential backoff under an overall deadline. */
#ifndef VPCF_BACKOFF_H
#define VPCF_BACKOFF_H

#include <stdint.h>

#define BACKOFF_GIVE_UP UINT64_MAX

struct backoff {
	uint64_t base_ms;  /* first ceiling */
	uint64_t cap_ms;   /* ceiling never exceeds this */
	uint64_t deadline; /* absolute ms on the caller's clock; no retry after it */
	unsigned attempt;  /* retries handed out so far */
	uint64_t (*rand)(void *ctx); /* uniform 64-bit source; NULL = random(3) */
	void *rand_ctx;
};

/* Set up for a deadline; base and cap in ms. */
void backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms,
		  uint64_t deadline);
/* Delay before the next retry, uniform in [0, min(cap, base * 2^attempt)];
 * clamped to the time left; BACKOFF_GIVE_UP once the deadline has passed. */
uint64_t backoff_next(struct backoff *b, uint64_t now);

#endif
