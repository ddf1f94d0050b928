/* ratelimit.c — EC2's account-wide request throttling: one token bucket per
 * call category for the whole simulator (one account and region), shared by
 * every client. A call takes one token when it is about to be applied;
 * with none left it is answered 503 RequestLimitExceeded and takes nothing.
 * Buckets refill continuously at their rate up to their size, on the
 * simulator's monotonic clock (simulated time under VPCF_FAKE_CLOCK). Off
 * unless --rate-limit, --bucket or the control API turns it on. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/vpcsim/sim.h"

/* EC2's documented defaults (subject to change by AWS). */
static const struct {
	const char *name;
	double burst, refill;
} defaults[SIM_RL_NCAT] = {
    {"mutating", 50, 5},
    {"non-mutating", 100, 20},
    {"DescribeNetworkInterfaces", 50, 10},
};

#define RL_LOG_EVERY_MS 1000 /* a level line per bucket at most this often */

void sim_rl_init(struct sim_rl *rl)
{
	memset(rl, 0, sizeof(*rl));
	for (int i = 0; i < SIM_RL_NCAT; i++) {
		rl->b[i].burst = defaults[i].burst;
		rl->b[i].refill = defaults[i].refill;
		rl->b[i].level = defaults[i].burst;
	}
}

int sim_rl_category(const char *action)
{
	if (action == NULL)
		return -1;
	if (strcmp(action, "ReplaceRoute") == 0 || strcmp(action, "CreateRoute") == 0 ||
	    strcmp(action, "DeleteRoute") == 0)
		return SIM_RL_MUTATING;
	if (strcmp(action, "DescribeNetworkInterfaces") == 0)
		return SIM_RL_ENIS;
	if (strcmp(action, "DescribeRouteTables") == 0)
		return SIM_RL_NONMUTATING;
	return -1; /* not an EC2 call we bucket (e.g. another service's) */
}

const char *sim_rl_name(int cat)
{
	return cat >= 0 && cat < SIM_RL_NCAT ? defaults[cat].name : "?";
}

static int rl_find(const char *name)
{
	for (int i = 0; i < SIM_RL_NCAT; i++)
		if (strcmp(defaults[i].name, name) == 0)
			return i;
	return -1;
}

/* Bring the level up to now. */
static void refill(struct sim_bucket *b, uint64_t now)
{
	if (b->last_ms && now > b->last_ms) {
		b->level += b->refill * (double)(now - b->last_ms) / 1000.0;
		if (b->level > b->burst)
			b->level = b->burst;
	}
	b->last_ms = now;
}

int sim_rl_take(struct sim *s, const char *action, char *why, size_t whysz)
{
	int cat = sim_rl_category(action), rc = 0;
	struct sim_bucket *b;
	uint64_t now;

	if (why && whysz)
		why[0] = '\0';
	pthread_mutex_lock(&s->mu);
	if (!s->rl.enabled || cat < 0)
		goto out;
	b = &s->rl.b[cat];
	now = sim_mono_ms(s);
	refill(b, now);
	if (b->level >= 1) {
		b->level -= 1;
		b->taken++;
		if (b->level < 1) {
			/* Once per emptying: the level lines show the rest. */
			if (!b->empty)
				sim_log(s, "ratelimit %s empty (burst %g, refill %g/s)",
					defaults[cat].name, b->burst, b->refill);
			b->empty = 1;
		} else {
			b->empty = 0;
		}
		if (now >= b->logged_ms + RL_LOG_EVERY_MS) {
			b->logged_ms = now;
			sim_log(s, "ratelimit %s %.1f/%g, %llu taken, %llu throttled",
				defaults[cat].name, b->level, b->burst,
				(unsigned long long)b->taken,
				(unsigned long long)b->throttled);
		}
		goto out;
	}
	b->throttled++;
	rc = -1;
	if (why && whysz)
		snprintf(why, whysz, " (rate limit: %s %.2f/%g)", defaults[cat].name,
			 b->level, b->burst);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* "CAT=BURST/REFILL": sets the bucket and turns throttling on. */
int sim_rl_parse(struct sim_rl *rl, const char *spec, char *err, size_t errsz)
{
	const char *eq = strchr(spec, '='), *slash = eq ? strchr(eq, '/') : NULL;
	char name[40], *end;
	double burst, rate;
	int cat;

	if (eq == NULL || slash == NULL || (size_t)(eq - spec) >= sizeof(name)) {
		snprintf(err, errsz, "\"%s\" is not CATEGORY=BURST/REFILL", spec);
		return -1;
	}
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	if ((cat = rl_find(name)) == -1) {
		snprintf(err, errsz,
			 "\"%s\": no such category (mutating, non-mutating, "
			 "DescribeNetworkInterfaces)",
			 name);
		return -1;
	}
	errno = 0;
	burst = strtod(eq + 1, &end);
	if (errno || end != slash || !(burst >= 1 && burst <= 1e6) ||
	    burst != floor(burst)) {
		snprintf(err, errsz, "\"%s\": burst must be a whole number in 1..1000000",
			 spec);
		return -1;
	}
	rate = strtod(slash + 1, &end);
	if (errno || end == slash + 1 || *end || !(rate > 0 && rate <= 1e6)) {
		snprintf(err, errsz, "\"%s\": refill must be a rate above 0 (per second)",
			 spec);
		return -1;
	}
	rl->b[cat].burst = burst;
	rl->b[cat].refill = rate;
	rl->b[cat].level = burst;
	rl->enabled = 1;
	return 0;
}

json_t *sim_rl_json(struct sim *s)
{
	json_t *o = json_object(), *bs = json_object();
	uint64_t now = sim_mono_ms(s);

	for (int i = 0; i < SIM_RL_NCAT; i++) {
		struct sim_bucket *b = &s->rl.b[i];
		refill(b, now);
		json_object_set_new(bs, defaults[i].name,
				    json_pack("{s:f, s:f, s:f, s:I, s:I}", "burst",
					      b->burst, "refill", b->refill, "level",
					      b->level, "taken", (json_int_t)b->taken,
					      "throttled", (json_int_t)b->throttled));
	}
	json_object_set_new(o, "enabled", json_boolean(s->rl.enabled));
	json_object_set_new(o, "buckets", bs);
	return o;
}

void sim_rl_reset_counts(struct sim *s)
{
	for (int i = 0; i < SIM_RL_NCAT; i++)
		s->rl.b[i].taken = s->rl.b[i].throttled = 0;
}

static int number(json_t *v, double min, double max, double *out)
{
	if (!json_is_number(v) || !(json_number_value(v) >= min) ||
	    !(json_number_value(v) <= max))
		return -1;
	*out = json_number_value(v);
	return 0;
}

int sim_rl_set(struct sim *s, json_t *o, char *err, size_t errsz)
{
	struct sim_rl nrl = s->rl;
	json_t *en = json_object_get(o, "enabled"), *bs = json_object_get(o, "buckets");
	const char *key, *k2;
	json_t *v, *v2;
	uint64_t now = sim_mono_ms(s);

	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "enabled") != 0 && strcmp(key, "buckets") != 0) {
			snprintf(err, errsz, "unknown key \"%.40s\"", key);
			return -1;
		}
	}
	if (en && !json_is_boolean(en)) {
		snprintf(err, errsz, "enabled must be true or false");
		return -1;
	}
	if (bs && !json_is_object(bs)) {
		snprintf(err, errsz, "buckets must be an object");
		return -1;
	}
	for (int i = 0; i < SIM_RL_NCAT; i++)
		refill(&nrl.b[i], now);
	json_object_foreach(bs, key, v)
	{
		int cat = rl_find(key), level_set = 0;
		if (cat == -1 || !json_is_object(v)) {
			snprintf(err, errsz,
				 "buckets.%.40s: want one of mutating, non-mutating, "
				 "DescribeNetworkInterfaces with an object",
				 key);
			return -1;
		}
		struct sim_bucket *b = &nrl.b[cat];
		json_object_foreach(v, k2, v2)
		{
			int bad;
			if (strcmp(k2, "burst") == 0)
				bad = number(v2, 1, 1e6, &b->burst) ||
				      b->burst != floor(b->burst);
			else if (strcmp(k2, "refill") == 0)
				bad = number(v2, 1e-6, 1e6, &b->refill);
			else if (strcmp(k2, "level") == 0)
				bad = number(v2, 0, 1e6, &b->level), level_set = 1;
			else
				bad = 1;
			if (bad) {
				snprintf(err, errsz,
					 "buckets.%s.%.40s: bad key or value (burst: "
					 "whole number 1..1000000, refill: rate above "
					 "0, level: 0..burst)",
					 key, k2);
				return -1;
			}
		}
		if (b->level > b->burst) {
			if (level_set) {
				snprintf(err, errsz, "buckets.%s.level above its burst",
					 key);
				return -1;
			}
			b->level = b->burst;
		}
		b->empty = b->level < 1;
	}
	if (en)
		nrl.enabled = json_is_true(en);
	s->rl = nrl;
	return 0;
}

void sim_rl_describe(const struct sim_rl *rl, char *out, size_t outsz)
{
	size_t n = 0;

	if (!rl->enabled) {
		snprintf(out, outsz, "off");
		return;
	}
	for (int i = 0; i < SIM_RL_NCAT && n < outsz; i++)
		n += (size_t)snprintf(out + n, outsz - n, "%s%s=%g/%g", i ? "," : "",
				      defaults[i].name, rl->b[i].burst, rl->b[i].refill);
}
