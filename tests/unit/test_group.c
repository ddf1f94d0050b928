/* test_group.c — the per-group reconciler's decisions (daemon/group.c) with
 * the loop's clock and timers and the converge layer replaced (chrony style:
 * the module's .c is included and cv_start/cv_cancel, ev_now/ev_wall and
 * ev_timer_add/ev_timer_cancel swapped by macros). A pass is a recorded
 * fake op the test finishes by hand with the outcome it wants; nothing
 * touches a network. group.c is the specification: each check says what
 * it does, and fails with what broke. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/cidr.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "vpc/converge.h"

/* ---- the loop's clock and timers ----------------------------------------- */

static uint64_t clock_ms;
static uint64_t fake_now(void)
{
	return clock_ms;
}
static int64_t fake_wall(void)
{
	return 1800000000 + (int64_t)(clock_ms / 1000);
}
#define ev_now	fake_now
#define ev_wall fake_wall

/* Several timers (one per group, plus ids), each with its argument: group.c
 * hands the group to its timer callbacks. */
#define TIMERS_MAX 16
struct ftimer {
	uint64_t id, due;
	ev_timer_fn fn;
	void *arg;
};
static struct ftimer timers[TIMERS_MAX];
static int ntimers;
static uint64_t timer_ids;

static uint64_t fake_timer_add(uint64_t delay_ms, ev_timer_fn fn, void *arg)
{
	assert_true(ntimers < TIMERS_MAX);
	timers[ntimers] = (struct ftimer){++timer_ids, clock_ms + delay_ms, fn, arg};
	return timers[ntimers++].id;
}

static void fake_timer_cancel(uint64_t id)
{
	for (int i = 0; i < ntimers; i++)
		if (timers[i].id == id) {
			timers[i] = timers[--ntimers];
			return;
		}
}
#define ev_timer_add	fake_timer_add
#define ev_timer_cancel fake_timer_cancel

/* ---- the converge layer -------------------------------------------------- */

#define OPS_MAX 512
struct fop {
	int cancelled, done;
	int blind, observe;
	char eni[64];	    /* the target; "" when NULL */
	char only_from[64]; /* "" when NULL */
	uint64_t at;	    /* ev_now() when started */
	cv_done_fn fn;
	void *arg;
};
static struct fop ops[OPS_MAX];
static int nops;

static struct cv_op *fake_cv_start(const struct cv_spec *spec, cv_done_fn fn, void *arg)
{
	struct fop *o;

	assert_true(nops < OPS_MAX);
	o = &ops[nops++];
	memset(o, 0, sizeof(*o));
	o->blind = spec->blind;
	o->observe = spec->observe_only;
	snprintf(o->eni, sizeof(o->eni), "%s", spec->eni ? spec->eni : "");
	snprintf(o->only_from, sizeof(o->only_from), "%s",
		 spec->only_from ? spec->only_from : "");
	o->at = clock_ms;
	o->fn = fn;
	o->arg = arg;
	return (struct cv_op *)o;
}

static void fake_cv_cancel(struct cv_op *op)
{
	struct fop *o = (struct fop *)op;

	if (o->done)
		fail_msg("group.c cancelled a pass that had already finished");
	o->cancelled = 1;
}
#define cv_start  fake_cv_start
#define cv_cancel fake_cv_cancel

/* ---- the role guard: questions recorded, answered by the test ------------- */

#include "daemon/guard.h"
struct guard {
	int busy;
	guard_fn fn;
	void *arg;
};
static struct guard fguard;
static int guard_asks;
static struct guard *fake_guard_new(const char *url, const char *pw, unsigned ms)
{
	memset(&fguard, 0, sizeof(fguard));
	return &fguard;
}
static void fake_guard_cancel(struct guard *g)
{
	if (g)
		g->busy = 0;
}
static void fake_guard_ask(struct guard *g, guard_fn fn, void *arg)
{
	g->busy = 1;
	g->fn = fn;
	g->arg = arg;
	guard_asks++;
}
static int fake_guard_busy(const struct guard *g)
{
	return g->busy;
}
static const char *fake_guard_name(const struct guard *g)
{
	return "redis at 127.0.0.1:6379";
}
#define guard_new    fake_guard_new
#define guard_free   fake_guard_cancel
#define guard_cancel fake_guard_cancel
#define guard_ask    fake_guard_ask
#define guard_busy   fake_guard_busy
#define guard_name   fake_guard_name

#include "daemon/group.c"

/* ---- the configuration and the observer ---------------------------------- */

#define SELF	"eni-0000000000000aaaa"
#define PEER	"eni-0000000000000bbbb"
#define NTABLES 2

static struct cfg cfg;
static struct cfg_group cgrp;
static struct cidr dests[1];
static char tables[NTABLES][AWS_ID_MAX] = {"rtb-00000001", "rtb-00000002"};

static const char *route_state = "active"; /* of the routes a pass found */

static unsigned nreports, nconverged;
static struct grp_report last_conv; /* pointers cleared: valid in the call only */

static void on_report(const struct grp_report *r, void *arg)
{
	nreports++;
	if (r->kind == GRP_REPORT_CONVERGED) {
		nconverged++;
		last_conv = *r;
		last_conv.routes = NULL;
		last_conv.group = last_conv.source = last_conv.eni = last_conv.last_late =
		    NULL;
	}
}

static uint64_t rand_value;
static uint64_t fixed_rand(void *ctx)
{
	return rand_value;
}

/* One group over two tables and one destination, this node's ENI from
 * metadata; the identity is known (the start's read of the tables is ops[0]). */
static void start(unsigned request_timeout_ms)
{
	struct imds_identity id;

	memset(timers, 0, sizeof(timers));
	ntimers = 0;
	nops = 0;
	route_state = "active";
	nreports = nconverged = 0;
	memset(&last_conv, 0, sizeof(last_conv));
	clock_ms = 1000000;
	ready = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&cgrp, 0, sizeof(cgrp));
	assert_int_equal(cidr_parse("10.255.0.10/32", &dests[0]), 0);
	snprintf(cgrp.name, sizeof(cgrp.name), "web");
	snprintf(cgrp.vrrp_instance, sizeof(cgrp.vrrp_instance), "VI_1");
	cgrp.destinations = dests;
	cgrp.ndestinations = 1;
	cgrp.route_tables = tables;
	cgrp.nroute_tables = NTABLES;
	cgrp.recheck_interval_ms = 60000;
	cgrp.split_brain_flips = 3;
	cgrp.split_brain_window_ms = 600000;
	cfg.aws.api_deadline_ms = 20000;
	cfg.aws.request_timeout_ms = request_timeout_ms;
	cfg.groups = &cgrp;
	cfg.ngroups = 1;

	grp_init(&cfg);
	grp_set_observer(on_report, NULL);
	memset(&id, 0, sizeof(id));
	snprintf(id.instance_id, sizeof(id.instance_id), "i-0000000000000aaaa");
	snprintf(id.eni, sizeof(id.eni), "%s", SELF);
	grp_set_identity(&id);
	if (nops != 1 || !ops[0].observe)
		fail_msg("the identity should start one read-only look at the tables, "
			 "got %d ops",
			 nops);
}

static int setup(void **state)
{
	start(500);
	return 0;
}

static int teardown(void **state)
{
	grp_fini();
	grp_set_observer(NULL, NULL);
	return 0;
}

static struct grp *G(void)
{
	return groups[0];
}

/* ---- driving it ----------------------------------------------------------- */

/* Let ms pass, firing each timer when it is due, earliest first. */
static void advance(uint64_t ms)
{
	uint64_t until = clock_ms + ms;

	for (;;) {
		int best = -1;
		for (int i = 0; i < ntimers; i++)
			if (timers[i].due <= until &&
			    (best == -1 || timers[i].due < timers[best].due))
				best = i;
		if (best == -1)
			break;
		struct ftimer t = timers[best];
		timers[best] = timers[--ntimers];
		clock_ms = t.due;
		t.fn(t.arg);
	}
	clock_ms = until;
}

/* ms until the group's timer fires; fails when none is pending. */
static uint64_t timer_in(void)
{
	for (int i = 0; i < ntimers; i++)
		if (timers[i].id == G()->timer)
			return timers[i].due - clock_ms;
	fail_msg("no timer pending for the group");
	return 0;
}

static int timer_pending(void)
{
	return G()->timer != 0;
}

static enum grp_verdict event_full(enum ka_state st, uint64_t mono, int pid,
				   const char *source)
{
	struct ka_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = KA_INSTANCE;
	snprintf(ev.name, sizeof(ev.name), "VI_1");
	ev.state = st;
	ev.priority = 100;
	ev.mono = mono;
	ev.pid = pid;
	return grp_event(&ev, source);
}

static enum grp_verdict event(enum ka_state st)
{
	return event_full(st, clock_ms, 0, "notify");
}

static struct fop *last_op(void)
{
	assert_true(nops > 0);
	return &ops[nops - 1];
}

/* Passes started from index from on (the look at start is ops[0]). */
static int ops_since(int from)
{
	return nops - from;
}

/* Finish op o: table t's route had outcome outs[t], pointing at before (NULL:
 * the route did not exist). */
/* The error code of a failed item: a generic retryable one, or EC2's
 * throttling (a different path in group.c). */
static const char *fail_code = "InternalError";

static void finish_tables(struct fop *o, const enum cv_outcome *outs, const char *before)
{
	struct cv_table tb[NTABLES];
	struct cv_item it[NTABLES];
	struct cv_result res = {.tables = tb, .ntables = NTABLES, .ndest = 1};

	if (o->cancelled || o->done)
		fail_msg("finishing a pass that was %s",
			 o->cancelled ? "cancelled" : "done");
	memset(tb, 0, sizeof(tb));
	memset(it, 0, sizeof(it));
	for (int t = 0; t < NTABLES; t++) {
		snprintf(tb[t].id, sizeof(tb[t].id), "%s", tables[t]);
		tb[t].observed = 1;
		tb[t].items = &it[t];
		it[t].dest = dests[0];
		it[t].outcome = outs[t];
		it[t].done_ms = 40;
		if (before) {
			it[t].existed = 1;
			snprintf(it[t].before.dest, sizeof(it[t].before.dest), "%s",
				 dests[0].text);
			snprintf(it[t].before.eni, sizeof(it[t].before.eni), "%s",
				 before);
			snprintf(it[t].before.state, sizeof(it[t].before.state), "%s",
				 route_state);
		}
		if (outs[t] == CV_FAILED) {
			snprintf(it[t].err.code, sizeof(it[t].err.code), "%s", fail_code);
			snprintf(it[t].err.message, sizeof(it[t].err.message),
				 "slow down");
			res.failed_tables++;
		}
	}
	o->done = 1;
	o->fn(o->arg, &res);
}

static void finish(struct fop *o, enum cv_outcome out, const char *before)
{
	enum cv_outcome outs[NTABLES];

	for (int t = 0; t < NTABLES; t++)
		outs[t] = out;
	finish_tables(o, outs, before);
}

/* The start's look finds the routes at the peer: peer_eni known. */
static void learn_peer_from_look(void)
{
	finish(&ops[0], CV_UNCHANGED, PEER);
	if (strcmp(G()->peer_eni, PEER) != 0)
		fail_msg("the look should have learnt the peer's ENI, got '%s'",
			 G()->peer_eni);
}

/* The group's phase as `vpc-failover status` shows it. */
static char phase_buf[64];
static const char *phase(void)
{
	json_t *st = grp_status();
	const char *p = json_string_value(
	    json_object_get(json_array_get(json_object_get(st, "groups"), 0), "phase"));
	snprintf(phase_buf, sizeof(phase_buf), "%s", p ? p : "(none)");
	json_decref(st);
	return phase_buf;
}

/* Every settle look finds the routes still here. */
static void settle_clean(void)
{
	for (int i = 0; i < 10 && G()->settling; i++) {
		advance(timer_in());
		finish(last_op(), CV_UNCHANGED, SELF);
	}
	if (G()->settling)
		fail_msg("setup: the group should have settled");
}

/* MASTER, its pass written and its settle looks clean: settled. */
static void master_settled(void)
{
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	settle_clean();
	if (G()->settled_gen != G()->generation)
		fail_msg("setup: the group should have settled");
}

/* ---- blind vs describe-first ---------------------------------------------- */

static void blind_when_the_peer_is_known(void **state)
{
	learn_peer_from_look();
	event(KA_MASTER);
	struct fop *o = last_op();
	if (nops != 2)
		fail_msg("MASTER should start a pass at once, %d ops", nops);
	if (!o->blind)
		fail_msg("a live MASTER with a known peer should write blind");
	if (o->observe || strcmp(o->eni, SELF) != 0 || o->only_from[0])
		fail_msg("the pass should point routes at this node's ENI (got '%s', "
			 "observe %d, only_from '%s')",
			 o->eni, o->observe, o->only_from);
}

static void describe_first_without_a_peer(void **state)
{
	event(KA_MASTER);
	if (nops != 2)
		fail_msg("MASTER should start a pass at once, %d ops", nops);
	if (last_op()->blind)
		fail_msg("without a known peer ENI the first pass must describe first");
	/* The describe teaches the peer: whom the routes were taken from. */
	finish(last_op(), CV_REPLACED, PEER);
	assert_string_equal(G()->peer_eni, PEER);
}

static void describe_first_for_a_replayed_state(void **state)
{
	learn_peer_from_look();
	event_full(KA_MASTER, clock_ms, 0, "state");
	if (last_op()->blind)
		fail_msg("a MASTER replayed from the state file may be stale: describe "
			 "first, even with a known peer");
}

static void describe_first_when_passes_are_recent(void **state)
{
	learn_peer_from_look();
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	advance(100);
	event(KA_FAULT);
	advance(1400); /* 1.5 s after the last pass: within BLIND_QUIET_MS */
	event(KA_MASTER);
	if (last_op()->blind || last_op()->at != clock_ms)
		fail_msg("a MASTER 1.5 s after the last pass should describe first "
			 "(blind %d)",
			 last_op()->blind);
	finish(last_op(), CV_UNCHANGED, SELF);
	event(KA_FAULT);
	advance(2500);
	event(KA_MASTER);
	if (!last_op()->blind)
		fail_msg("a MASTER 2.5 s after the last pass should write blind again");
}

static void retries_and_rechecks_describe_first(void **state)
{
	learn_peer_from_look();
	event(KA_MASTER);
	assert_true(last_op()->blind);
	finish(last_op(), CV_FAILED, NULL);
	advance(timer_in());
	if (last_op()->blind)
		fail_msg("a retry must describe first, not write blind");
	finish(last_op(), CV_UNCHANGED, SELF);
	settle_clean();
	advance(timer_in());
	if (!G()->op_recheck || G()->op_settle)
		fail_msg("the pass after settling should be a re-check");
	if (last_op()->blind || last_op()->observe)
		fail_msg("a re-check must describe first and may write (blind %d, "
			 "observe %d)",
			 last_op()->blind, last_op()->observe);
}

/* ---- flap gaps and coalescing --------------------------------------------- */

static void flapping_master_waits_the_flap_gap(void **state)
{
	event(KA_MASTER);
	uint64_t first = last_op()->at;
	advance(100);
	event(KA_BACKUP);
	if (!ops[1].cancelled)
		fail_msg("leaving MASTER should cancel the pass in flight");
	advance(200);
	int before = nops;
	event(KA_MASTER);
	if (nops != before)
		fail_msg("a MASTER 300 ms after the last pass while flapping started a "
			 "pass at once");
	if (timer_in() != 700)
		fail_msg("the flapping MASTER's pass should wait until FLAP_GAP_MS "
			 "(1000) after the last, i.e. 700 ms; waits %llu",
			 (unsigned long long)timer_in());
	advance(699);
	assert_int_equal(nops, before);
	advance(1);
	if (nops != before + 1 || last_op()->at != first + 1000)
		fail_msg("the coalesced pass should start exactly 1 s after the last");
}

static void a_reassert_waits_the_minimum_gap(void **state)
{
	event(KA_MASTER);
	uint64_t first = last_op()->at;
	finish(last_op(), CV_REPLACED, PEER);
	advance(50);
	int before = nops;
	assert_int_equal(event(KA_MASTER_RX_LOWER_PRI), GRP_APPLIED);
	if (nops != before)
		fail_msg("a re-assert 50 ms after a pass must not start a pass at once");
	if (timer_in() != 150)
		fail_msg("the re-assert should wait for PASS_MIN_GAP_MS after the last "
			 "pass (150 ms more), waits %llu",
			 (unsigned long long)timer_in());
	advance(timer_in());
	if (nops != before + 1 || last_op()->at != first + 200)
		fail_msg("the re-assert pass should start 200 ms after the last one");
	if (last_op()->blind || last_op()->observe)
		fail_msg("a re-assert describes and writes");
}

static void an_event_storm_costs_a_pass_a_second(void **state)
{
	event(KA_MASTER);
	int from = nops;
	/* 60 transitions over 3 s, ending in MASTER. */
	for (int i = 0; i < 60; i++) {
		advance(50);
		event(i % 2 ? KA_MASTER : KA_BACKUP);
	}
	int during = ops_since(from);
	if (during > 3)
		fail_msg("60 transitions in 3 s started %d passes; at most one a second",
			 during);
	for (int i = from - 1; i + 1 < nops; i++)
		if (ops[i + 1].at - ops[i].at < 1000)
			fail_msg(
			    "passes %d and %d of a flapping group only %llu ms apart", i,
			    i + 1, (unsigned long long)(ops[i + 1].at - ops[i].at));
	advance(2000);
	struct fop *o = last_op();
	if (o->cancelled || o->done || o->observe)
		fail_msg("the storm ended in MASTER: a pass should be under way");
	finish(o, CV_REPLACED, PEER);
	if (G()->converged_gen != G()->generation)
		fail_msg("the last generation of the storm should converge");
}

static void a_duplicate_master_does_not_restart_the_pass(void **state)
{
	event(KA_MASTER);
	advance(10);
	assert_int_equal(event(KA_MASTER), GRP_DUPLICATE);
	if (nops != 2 || ops[1].cancelled)
		fail_msg("a repeated MASTER should leave the pass in flight alone");
	finish(last_op(), CV_REPLACED, PEER);
	assert_int_equal(G()->converged_gen, 1);
}

/* ---- retries --------------------------------------------------------------- */

static void a_failed_pass_is_retried_with_backoff(void **state)
{
	event(KA_MASTER);
	G()->retry.rand = fixed_rand;
	uint64_t want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		rand_value = want[i]; /* the top of each step's range */
		finish(last_op(), CV_FAILED, NULL);
		if (!G()->retrying || timer_in() != want[i])
			fail_msg(
			    "failure %zu: retry in %llu ms, wanted %llu (the backoff "
			    "ceiling doubles from 1 s, capped at 30 s)",
			    i + 1, (unsigned long long)(timer_pending() ? timer_in() : 0),
			    (unsigned long long)want[i]);
		int before = nops;
		advance(timer_in());
		if (nops != before + 1)
			fail_msg("failure %zu: the retry did not start a pass", i + 1);
	}
	assert_int_equal(G()->updates_failed, 7 * NTABLES);
	finish(last_op(), CV_REPLACED, PEER);
	if (G()->retrying || G()->converged_gen != G()->generation)
		fail_msg("a retry that succeeds should converge and stop retrying");
	if (G()->retry.attempt != 0)
		fail_msg("success should reset the backoff");
}

static void a_retry_is_bounded_by_the_first_ceiling(void **state)
{
	event(KA_MASTER);
	G()->retry.rand = fixed_rand;
	rand_value = 5000; /* beyond the first ceiling of 1000: 5000 % 1001 */
	finish(last_op(), CV_FAILED, NULL);
	if (timer_in() > 1000)
		fail_msg("the first retry waits at most 1 s, waits %llu",
			 (unsigned long long)timer_in());
}

static void a_repeat_event_does_not_rush_a_retry(void **state)
{
	event(KA_MASTER);
	G()->retry.rand = fixed_rand;
	rand_value = 1000;
	finish(last_op(), CV_FAILED, NULL);
	advance(300);
	int before = nops;
	event(KA_MASTER);
	if (nops != before || timer_in() != 700)
		fail_msg("a repeated MASTER during the backoff should leave the retry "
			 "where it is");
}

static void a_transition_resets_the_backoff(void **state)
{
	event(KA_MASTER);
	G()->retry.rand = fixed_rand;
	rand_value = 2000;
	finish(last_op(), CV_FAILED, NULL);
	advance(timer_in());
	finish(last_op(), CV_FAILED, NULL);
	assert_int_equal(G()->retry.attempt, 2);
	event(KA_BACKUP);
	if (G()->retrying || timer_pending())
		fail_msg("leaving MASTER should drop the scheduled retry");
	advance(5000);
	event(KA_MASTER);
	if (G()->retry.attempt != 0)
		fail_msg("a new transition should start the backoff afresh");
}

static void a_failed_settle_check_is_retried_as_one(void **state)
{
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	advance(timer_in());
	assert_true(G()->op_settle);
	unsigned passes = G()->settle_passes;
	finish(last_op(), CV_FAILED, NULL);
	advance(timer_in());
	if (!G()->op_settle || !G()->op_recheck)
		fail_msg("the retry of a settle check should be a settle check again");
	assert_int_equal(G()->settle_passes, passes + 1);
}

static void a_failed_hand_back_is_not_retried(void **state)
{
	learn_peer_from_look();
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	advance(1500);
	event(KA_BACKUP);
	advance(timer_in());
	assert_string_equal(last_op()->only_from, SELF);
	finish(last_op(), CV_FAILED, NULL);
	if (timer_pending() || G()->retrying)
		fail_msg("a failed hand-back is left to the MASTER's re-check, not "
			 "retried");
}

/* ---- generation cancel ---------------------------------------------------- */

static void a_newer_generation_supersedes_the_pass(void **state)
{
	event(KA_MASTER);
	struct fop *old = last_op();
	advance(50);
	event(KA_FAULT);
	advance(50);
	event(KA_MASTER);
	if (!old->cancelled)
		fail_msg("the pass of generation 1 should be cancelled by newer events");
	advance(timer_in());
	struct fop *now = last_op();
	if (now == old || G()->op_gen != 3)
		fail_msg("a new pass should serve generation 3 (op_gen %llu)",
			 (unsigned long long)G()->op_gen);
	finish(now, CV_REPLACED, PEER);
	if (G()->converged_gen != 3)
		fail_msg("generation 3 should converge with its own pass");
}

static void a_reassert_keeps_the_pass_of_its_generation(void **state)
{
	event(KA_MASTER);
	advance(20);
	event(KA_MASTER_RX_LOWER_PRI);
	if (ops[1].cancelled || nops != 2)
		fail_msg("a re-assert while this generation's pass runs should keep it");
}

static void a_stale_pass_result_is_ignored(void **state)
{
	/* The guard in on_pass: a result for a generation that is no longer the
	 * group's (cv_cancel normally keeps it from arriving) converges
	 * nothing and retries nothing. The generation is moved by hand, as if
	 * an event had moved on without cancelling. */
	event(KA_MASTER);
	G()->generation++;
	finish(last_op(), CV_FAILED, NULL);
	if (G()->retrying || timer_pending())
		fail_msg("a failed pass of an older generation was retried");
	G()->generation--;
	kick(G());
	advance(timer_in());
	G()->generation++;
	finish(last_op(), CV_REPLACED, PEER);
	if (G()->converged_gen != 0 || G()->settling || timer_pending())
		fail_msg("a pass of an older generation converged the group "
			 "(converged_gen %llu)",
			 (unsigned long long)G()->converged_gen);
}

/* ---- settle checks -------------------------------------------------------- */

static void settling_takes_two_looks_a_second_apart(void **state)
{
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	if (G()->converged_gen != 1 || !G()->settling)
		fail_msg("a converged MASTER should be settling");
	if (nconverged != 0)
		fail_msg("CONVERGED must wait for the settle checks");
	uint64_t conv = clock_ms;
	if (timer_in() != 1000)
		fail_msg("the first settle look should come 1 s later, comes in %llu",
			 (unsigned long long)timer_in());
	advance(timer_in());
	if (!G()->op_settle || last_op()->observe || last_op()->blind)
		fail_msg("the first settle look is a describe-first settle pass");
	finish(last_op(), CV_UNCHANGED, SELF);
	advance(timer_in());
	if (last_op()->at != conv + 2000)
		fail_msg("the second look should come 2 s after convergence, came at "
			 "+%llu",
			 (unsigned long long)(last_op()->at - conv));
	finish(last_op(), CV_UNCHANGED, SELF);
	if (G()->settling || G()->settled_gen != 1 || nconverged != 1)
		fail_msg("two clean looks should settle the group and report CONVERGED "
			 "once (settling %d, reports %u)",
			 G()->settling, nconverged);
	if (last_conv.settle_ms != clock_ms - G()->event_mono || last_conv.late_writes)
		fail_msg("the report should carry settle_ms and no late writes");
	/* Then re-checks on the interval, +-10 %. */
	uint64_t in = timer_in();
	if (in < 54000 || in >= 66000)
		fail_msg("the next re-check should come in 60 s +-10 %%, comes in %llu",
			 (unsigned long long)in);
}

static void settling_waits_out_a_slow_request(void **state)
{
	grp_fini();
	start(5000);
	event(KA_MASTER);
	uint64_t got = clock_ms;
	advance(100);
	finish(last_op(), CV_REPLACED, PEER);
	advance(timer_in());
	finish(last_op(), CV_UNCHANGED, SELF);
	advance(timer_in());
	if (last_op()->at != got + 6000)
		fail_msg("the last look should wait for request_timeout + 1 s after the "
			 "event arrived (+6000), came at +%llu",
			 (unsigned long long)(last_op()->at - got));
}

static void a_late_write_is_taken_back_and_counted(void **state)
{
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	advance(timer_in());
	enum cv_outcome outs[NTABLES] = {CV_REPLACED, CV_UNCHANGED};
	finish_tables(last_op(), outs, PEER);
	if (G()->late_total != 1 || G()->gen_late != 1)
		fail_msg("a route found taken at the first settle look is one late "
			 "write (late_total %llu)",
			 (unsigned long long)G()->late_total);
	if (G()->flips_total != 0)
		fail_msg("the first settle take is a late write, not a split-brain flip");
	if (!G()->settling || timer_in() != 1000)
		fail_msg("after taking it back, settling starts again: a look 1 s later");
	advance(timer_in());
	finish(last_op(), CV_UNCHANGED, SELF);
	advance(timer_in());
	finish(last_op(), CV_UNCHANGED, SELF);
	if (nconverged != 1 || last_conv.late_writes != 1)
		fail_msg("CONVERGED should report the one late write taken back");
}

static void a_second_settle_take_is_a_flip(void **state)
{
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	advance(timer_in());
	finish(last_op(), CV_REPLACED, PEER);
	advance(timer_in());
	finish(last_op(), CV_REPLACED, PEER);
	if (G()->late_total != 2 * NTABLES)
		fail_msg("every route taken while settling is a late write (%llu)",
			 (unsigned long long)G()->late_total);
	if (G()->flips_total != 1)
		fail_msg("the second settle look that finds routes taken is one "
			 "split-brain flip, got %llu",
			 (unsigned long long)G()->flips_total);
}

static void settling_stops_after_settle_passes_max(void **state)
{
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	int settles = 0;
	for (int i = 0; i < 10 && G()->settling; i++) {
		advance(timer_in());
		if (G()->op_settle)
			settles++;
		finish(last_op(), CV_REPLACED, PEER);
	}
	if (settles != 4)
		fail_msg("a competitor writing on: %d settle passes, wanted %d "
			 "(SETTLE_PASSES_MAX)",
			 settles, 4);
	if (G()->settling || G()->settled_gen != 1 || nconverged != 1)
		fail_msg("after the cap the group stops settling and reports once");
	if (!G()->damped)
		fail_msg(
		    "three settle flips (split_brain_flips 3) should damp the group");
	/* Damped: the next re-check only observes. */
	advance(timer_in());
	if (!last_op()->observe)
		fail_msg("a damped group's re-check must only observe");
}

static void leaving_before_settled_reports_unsettled(void **state)
{
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	advance(500);
	event(KA_BACKUP);
	if (nconverged != 1 || last_conv.settle_ms != 0 || last_conv.generation != 1)
		fail_msg("a converged MASTER leaving before its settle checks should "
			 "report CONVERGED with settle_ms 0 (reports %u)",
			 nconverged);
}

/* ---- split-brain damping --------------------------------------------------- */

static void rechecks_that_lose_routes_damp_and_a_lower_peer_undamps(void **state)
{
	master_settled();
	for (int i = 0; i < 3; i++) {
		advance(timer_in()); /* re-check */
		assert_true(G()->op_recheck && !G()->op_settle && !last_op()->observe);
		finish(last_op(), CV_REPLACED, PEER); /* taken: a flip */
		/* a write starts settling again; the looks find it kept */
		if (i < 2)
			settle_clean();
	}
	if (G()->flips_total != 3 || !G()->damped)
		fail_msg("three re-checks that found routes taken: 3 flips and damped "
			 "(flips %llu, damped %d)",
			 (unsigned long long)G()->flips_total, G()->damped);
	/* The peer keeps them: a look that finds them there stays damped. */
	advance(timer_in());
	assert_true(last_op()->observe);
	finish(last_op(), CV_UNCHANGED, PEER);
	if (!G()->damped)
		fail_msg("a look that finds the routes at the peer should stay damped");
	assert_int_equal(event(KA_MASTER_RX_LOWER_PRI), GRP_APPLIED);
	if (G()->damped)
		fail_msg("a lower-priority peer claiming MASTER should end damping");
	advance(timer_in());
	if (last_op()->observe)
		fail_msg("after damping ends the re-assert pass writes again");
}

/* MASTER, and a competitor that takes the routes at every settle look until
 * the group damps (three flips: settle looks 2 to 4). */
static void damped_by_a_competitor(void)
{
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	for (int i = 0; i < 10 && !G()->damped; i++) {
		advance(timer_in());
		finish(last_op(), CV_REPLACED, PEER);
	}
	if (!G()->damped)
		fail_msg("setup: a competitor writing through the settle checks damps");
}

static void damping_ends_after_the_window(void **state)
{
	damped_by_a_competitor();
	uint64_t until = G()->damped_until;
	int observed = 0;
	for (int i = 0; i < 1000; i++) {
		advance(timer_in());
		if (!last_op()->observe)
			break;
		if (clock_ms >= until)
			fail_msg("a re-check after the damping window only observed");
		observed++;
		finish(last_op(), CV_UNCHANGED, PEER);
	}
	if (observed == 0 || last_op()->observe || G()->damped)
		fail_msg("damped re-checks observe (%d did) until split_brain_window "
			 "is over, then write again",
			 observed);
}

/* Seed 388 of the chaos harness (re-checks off): both nodes MASTER, each
 * one's settle looks taking the routes from the other, until this node
 * damped holding them; then VRRP healed and the peer stepped down, but
 * keepalived told this node nothing (hook only, no MASTER_RX_LOWER_PRI).
 * Nothing looked at the tables again: the group said "damped (split
 * brain)" for good, and a late write of the peer would have stayed. */
static void a_damped_master_that_keeps_every_route_settles(void **state)
{
	cgrp.recheck_interval_ms = 0;
	damped_by_a_competitor();
	if (!timer_pending())
		fail_msg("a damped group must keep looking at its tables, re-checks "
			 "off or not");
	if (timer_in() > 2000)
		fail_msg("a damped group looks every 2 s (DAMPED_LOOK_MS), next in "
			 "%llu ms",
			 (unsigned long long)timer_in());
	advance(timer_in());
	if (!last_op()->observe)
		fail_msg("a damped group's look only observes");
	finish(last_op(), CV_UNCHANGED, SELF);
	if (!G()->damped)
		fail_msg("one look that finds the routes here is not enough: the "
			 "damping flip itself put them here");
	if (!timer_pending() || timer_in() != 2000)
		fail_msg("the next look should come 2 s after the first");
	advance(timer_in());
	assert_true(last_op()->observe);
	finish(last_op(), CV_UNCHANGED, SELF);
	if (G()->damped)
		fail_msg("without re-checks, routes found here by looks 2 s apart end "
			 "the damping: a competitor takes them only in its settle "
			 "looks, a second apart");
	assert_string_equal(phase(), "settling");
	/* The peer's last write, landing late: taken back, not a flip. */
	advance(timer_in());
	if (last_op()->observe)
		fail_msg("after damping ended the settle looks write again");
	finish(last_op(), CV_REPLACED, PEER);
	if (G()->damped)
		fail_msg("the first take after damping ended is a late write: taken "
			 "back, not damped again");
	settle_clean();
	assert_string_equal(phase(), "converged");
}

/* Routes seen at the peer keep the group damped, re-checks off or not, and
 * it still sees the window end. */
static void a_damped_master_without_rechecks_sees_the_window_end(void **state)
{
	cgrp.recheck_interval_ms = 0;
	damped_by_a_competitor();
	uint64_t until = G()->damped_until;
	int looks = 0;
	while (timer_pending() && G()->damped && looks < 1000) {
		uint64_t in = timer_in();
		if (in > 2000)
			fail_msg("a damped group looks every 2 s, next in %llu ms",
				 (unsigned long long)in);
		advance(in);
		if (!last_op()->observe)
			break;
		looks++;
		finish(last_op(), CV_UNCHANGED, PEER);
	}
	if (G()->damped || last_op()->observe || clock_ms < until ||
	    clock_ms > until + 2000)
		fail_msg("with re-checks off the damping should still end with its "
			 "window and the group write again (%d looks, %lld ms after "
			 "the window)",
			 looks, (long long)(clock_ms - until));
}

/* With re-checks on, the damping flip leaves the routes here and a live
 * competitor takes them at its next re-check: looks that find them here
 * end the damping only after a re-check interval (+10%, a slow request and
 * the margin), and a look that finds them taken starts that over. Ending
 * it sooner, two MASTERs would trade the routes at every re-check. */
static void damping_outlasts_a_competitors_recheck(void **state)
{
	damped_by_a_competitor();
	uint64_t quiet = 60000 + 6000 + 500 + 1000;
	uint64_t first = 0;
	int i;

	for (i = 0; i < 100 && G()->damped; i++) {
		advance(timer_in());
		if (!last_op()->observe)
			fail_msg("a damped group's look only observes");
		if (first == 0)
			first = clock_ms;
		/* the competitor's re-check: the routes at the peer, once */
		finish(last_op(), CV_UNCHANGED, i == 10 ? PEER : SELF);
		if (i == 10)
			first = 0;
	}
	if (G()->damped)
		fail_msg("routes left here for a re-check interval should end the "
			 "damping");
	if (clock_ms - first < quiet || clock_ms - first >= quiet + 2000)
		fail_msg("damping should end %llu ms after the first look that found "
			 "the routes here again, not %llu",
			 (unsigned long long)quiet,
			 (unsigned long long)(clock_ms - first));
	assert_string_equal(phase(), "settling");
}

/* Damping that ended early keeps the flips: a competitor that takes the
 * routes again damps the group at its next re-check. */
static void a_competitor_after_an_early_end_damps_again(void **state)
{
	damped_by_a_competitor();
	for (int i = 0; i < 100 && G()->damped; i++) {
		advance(timer_in());
		finish(last_op(), CV_UNCHANGED, SELF);
	}
	if (G()->damped)
		fail_msg("setup: the routes left here end the damping");
	settle_clean();
	advance(timer_in()); /* re-check */
	assert_true(G()->op_recheck && !last_op()->observe);
	finish(last_op(), CV_REPLACED, PEER);
	if (!G()->damped)
		fail_msg("a flip after damping ended early should damp again (the "
			 "window's flips stay counted)");
}

/* MASTER_RX_LOWER_PRI while a damped look is under way: the re-assert it
 * asks for follows the look, not the next re-check. */
static void a_lower_peer_during_a_look_is_not_lost(void **state)
{
	damped_by_a_competitor();
	advance(timer_in());
	struct fop *look = last_op();
	assert_true(look->observe);
	assert_int_equal(event(KA_MASTER_RX_LOWER_PRI), GRP_APPLIED);
	finish(look, CV_UNCHANGED, PEER);
	if (!timer_pending() || timer_in() > 1000)
		fail_msg("the re-assert should follow the look within the pass gap");
	advance(timer_in());
	if (last_op() == look || last_op()->observe || strcmp(last_op()->eni, SELF))
		fail_msg("after a lower-priority peer the group writes its routes "
			 "again");
}

/* ---- hand-back ------------------------------------------------------------- */

static void backup_hands_routes_back_to_the_peer(void **state)
{
	learn_peer_from_look();
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	advance(3000);
	int before = nops;
	event(KA_BACKUP);
	if (nops != before || timer_in() != 200)
		fail_msg("the hand-back should wait PASS_MIN_GAP_MS, not start at once");
	advance(timer_in());
	struct fop *o = last_op();
	if (nops != before + 1 || strcmp(o->eni, PEER) != 0 ||
	    strcmp(o->only_from, SELF) != 0 || o->blind || o->observe)
		fail_msg("hand-back: routes pointing at us (only_from '%s') to the peer "
			 "('%s'), describe first",
			 o->only_from, o->eni);
	finish(o, CV_REPLACED, SELF);
	if (G()->handbacks != NTABLES || G()->updates_ok != NTABLES)
		fail_msg("both routes handed back (%llu), not counted as updates (%llu)",
			 (unsigned long long)G()->handbacks,
			 (unsigned long long)G()->updates_ok);
	assert_string_equal(G()->routes[0].target, PEER);
	if (G()->settling || timer_pending())
		fail_msg("a hand-back is not a convergence: no settle, no re-check");
}

static void no_hand_back_without_a_peer_or_from_fault(void **state)
{
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, NULL); /* created: no peer learnt */
	advance(3000);
	event(KA_BACKUP);
	if (timer_pending() || G()->op)
		fail_msg("without a known peer there is nobody to hand back to");
	snprintf(G()->peer_eni, sizeof(G()->peer_eni), "%s", PEER);
	advance(3000);
	event(KA_MASTER);
	finish(last_op(), CV_UNCHANGED, SELF);
	advance(3000);
	event(KA_FAULT);
	if (timer_pending() || G()->op)
		fail_msg("MASTER -> FAULT hands nothing back (only MASTER -> BACKUP)");
}

static void returning_to_master_cancels_the_hand_back(void **state)
{
	learn_peer_from_look();
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	advance(3000);
	event(KA_BACKUP);
	int before = nops;
	advance(50); /* the hand-back is still waiting for its timer */
	event(KA_MASTER);
	advance(5000);
	for (int i = before; i < nops; i++)
		if (ops[i].only_from[0])
			fail_msg("a hand-back ran after the group became MASTER again");
	if (nops == before)
		fail_msg("the group back in MASTER should converge");
	/* Now with the hand-back in flight. */
	finish(last_op(), CV_UNCHANGED, SELF);
	advance(3000);
	event(KA_BACKUP);
	advance(timer_in());
	struct fop *hb = last_op();
	assert_string_equal(hb->only_from, SELF);
	event(KA_MASTER);
	if (!hb->cancelled)
		fail_msg("MASTER again should cancel the hand-back in flight");
}

static void a_flapping_hand_back_waits_the_flap_gap(void **state)
{
	learn_peer_from_look();
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	advance(100);
	event(KA_BACKUP);
	advance(50);
	event(KA_MASTER);
	advance(50);
	event(KA_BACKUP);
	if (timer_in() != 800)
		fail_msg("a hand-back while flapping should wait FLAP_GAP_MS after the "
			 "last pass (800 ms more), waits %llu",
			 (unsigned long long)timer_in());
}

/* ---- peer learning and status --------------------------------------------- */

static void the_peer_is_an_other_working_eni(void **state)
{
	/* The look at start: routes at this node's own ENI teach nothing. */
	finish(&ops[0], CV_UNCHANGED, SELF);
	if (G()->peer_eni[0])
		fail_msg("this node's own ENI was taken for the peer's");
	/* A blackhole route (its ENI gone) teaches nothing either. */
	route_state = "blackhole";
	event(KA_MASTER);
	finish(last_op(), CV_REPLACED, PEER);
	if (G()->peer_eni[0])
		fail_msg("a blackhole route's ENI was taken for the peer's");
	/* A working route at another ENI does, from any pass. */
	route_state = "active";
	settle_clean();
	advance(timer_in());
	finish(last_op(), CV_REPLACED, "eni-0000000000000cccc");
	if (strcmp(G()->peer_eni, "eni-0000000000000cccc") != 0)
		fail_msg("a re-check that found the route at another ENI should learn "
			 "it as the peer, got '%s'",
			 G()->peer_eni);
}

static void a_throttled_pass_waits_for_the_rate_limit(void **state)
{
	event(KA_MASTER);
	fail_code = "RequestLimitExceeded";
	finish(last_op(), CV_FAILED, NULL);
	fail_code = "InternalError";
	assert_string_equal(phase(), "waiting for EC2's rate limit");
	if (!G()->retrying || timer_in() != PASS_MIN_GAP_MS)
		fail_msg("a pass failed only by throttling should be followed by the "
			 "next one at once (the client limiter paces the calls), in "
			 "%llu ms",
			 (unsigned long long)(timer_pending() ? timer_in() : 0));
	assert_int_equal(G()->updates_failed, 0);
	assert_int_equal(G()->updates_throttled, NTABLES);
	assert_int_equal(G()->rate_tables, NTABLES);
	assert_int_equal(G()->retry.attempt, 0);
	assert_string_equal(G()->last_error, "");
	assert_string_equal(G()->routes[0].outcome, "waiting");
	int before = nops;
	advance(timer_in());
	assert_int_equal(nops, before + 1);
	finish(last_op(), CV_REPLACED, PEER);
	assert_string_equal(phase(), "settling");
	assert_int_equal(G()->rate_limited, 0);
}

static void status_phases_follow_the_reconciler(void **state)
{
	assert_string_equal(phase(), "idle");
	event(KA_MASTER);
	assert_string_equal(phase(), "converging");
	/* A retry after the minimum gap: one timer, one pass (random() would
	 * give 0..1000 ms, and under 200 ms the gap's timer comes first). */
	G()->retry.rand = fixed_rand;
	rand_value = 1000;
	finish(last_op(), CV_FAILED, NULL);
	assert_string_equal(phase(), "retrying");
	advance(timer_in());
	finish(last_op(), CV_REPLACED, PEER);
	assert_string_equal(phase(), "settling");
	settle_clean();
	assert_string_equal(phase(), "converged");
	json_t *st = grp_status();
	json_t *g0 = json_array_get(json_object_get(st, "groups"), 0);
	if (!json_is_true(json_object_get(g0, "converged")) ||
	    json_integer_value(json_object_get(g0, "passes")) != 4)
		fail_msg("status should say converged after 4 passes (write, retry, "
			 "two settle looks)");
	json_decref(st);
	event(KA_BACKUP);
	assert_string_equal(phase(), "idle");
}

/* ---- event order ----------------------------------------------------------- */

static void an_older_event_is_stale(void **state)
{
	assert_int_equal(event_full(KA_MASTER, 5000, 0, "notify"), GRP_APPLIED);
	if (event_full(KA_BACKUP, 4000, 0, "fifo") != GRP_STALE)
		fail_msg("an event stamped before the applied one should be stale");
	assert_int_equal(G()->state, KA_MASTER);
	assert_int_equal(event_full(KA_BACKUP, 5000, 0, "fifo"), GRP_APPLIED);
}

static void hooks_within_the_tie_are_ordered_by_pid(void **state)
{
	assert_int_equal(event_full(KA_MASTER, 5000, 700, "notify"), GRP_APPLIED);
	if (event_full(KA_BACKUP, 5015, 699, "notify") != GRP_STALE)
		fail_msg("a hook stamped 15 ms later but forked earlier (lower pid) is "
			 "older");
	if (event_full(KA_BACKUP, 4990, 701, "notify") != GRP_APPLIED)
		fail_msg("a hook stamped 10 ms earlier but forked later (higher pid) is "
			 "newer");
	if (event_full(KA_MASTER, 5009, 700, "notify") != GRP_STALE)
		fail_msg("the pid tie-break still holds against the newest event seen");
	if (event_full(KA_MASTER, 5030, 600, "notify") != GRP_APPLIED)
		fail_msg("beyond HOOK_TIE_MS the stamp decides, not the pid");
}

static void pids_far_apart_count_as_wrapped(void **state)
{
	pid_space = 1u << 22; /* as on a 64-bit host: pid_max 4194304 */
	assert_int_equal(event_full(KA_MASTER, 5000, 100, "notify"), GRP_APPLIED);
	if (event_full(KA_BACKUP, 5005, 100 + (1 << 21) + 1, "notify") != GRP_STALE)
		fail_msg("a pid more than half the pid space higher is taken as forked "
			 "before a wrap: older");
	if (event_full(KA_BACKUP, 5005, 100 + (1 << 20), "notify") != GRP_APPLIED)
		fail_msg("a pid less than half the pid space higher is newer");
}

static void a_pid_after_the_wrap_is_newer(void **state)
{
	pid_space = 32768; /* pid_max's default on small hosts */
	assert_int_equal(event_full(KA_MASTER, 5000, 32700, "notify"), GRP_APPLIED);
	if (event_full(KA_BACKUP, 5005, 300, "notify") != GRP_APPLIED)
		fail_msg("pid 300 forked just after 32700 (the pid space wrapped) is "
			 "the newer hook");
	if (event_full(KA_MASTER, 5008, 32710, "notify") != GRP_STALE)
		fail_msg("pid 32710 forked before the wrap is older than pid 300");
	pid_space = 1u << 22;
	assert_int_equal(event_full(KA_MASTER, 9000, 4194300, "notify"), GRP_APPLIED);
	if (event_full(KA_BACKUP, 9005, 300, "notify") != GRP_APPLIED)
		fail_msg(
		    "pid 300 just after 4194300 (pid_max 4194304) is the newer hook");
}

static void a_repeat_moves_the_order_mark_and_hints_do_not(void **state)
{
	assert_int_equal(event_full(KA_MASTER, 5000, 0, "notify"), GRP_APPLIED);
	assert_int_equal(event_full(KA_MASTER, 6000, 0, "fifo"), GRP_DUPLICATE);
	if (event_full(KA_BACKUP, 5500, 0, "notify") != GRP_STALE)
		fail_msg("an event older than a repeat already seen should be stale");
	struct ka_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = KA_INSTANCE;
	snprintf(ev.name, sizeof(ev.name), "VI_1");
	ev.state = KA_MASTER_PRIORITY;
	ev.priority = 50;
	ev.mono = 9000;
	assert_int_equal(grp_event(&ev, "fifo"), GRP_DUPLICATE);
	assert_int_equal(G()->priority, 50);
	if (event_full(KA_BACKUP, 7000, 0, "fifo") != GRP_APPLIED)
		fail_msg("a priority hint must not move the order mark");
	snprintf(ev.name, sizeof(ev.name), "VI_9");
	assert_int_equal(grp_event(&ev, "fifo"), GRP_NO_GROUP);
}

/* The role guard: no pass that writes to this node without a fresh
 * "primary"; a replica or no answer refuses, counted, asked again every
 * GUARD_RETRY_MS; re-checks and settle checks ask too. */
static void guard_refuses_until_primary(void **state)
{
	snprintf(cgrp.guard, sizeof(cgrp.guard), "redis://127.0.0.1:6379");
	cgrp.guard_timeout_ms = 500;
	grp_reload(&cfg);
	guard_asks = 0;
	int n0 = nops;

	event(KA_MASTER);
	if (guard_asks != 1 || ops_since(n0) != 0)
		fail_msg("MASTER should ask the guard once and start no pass, got %d "
			 "asks, %d passes",
			 guard_asks, ops_since(n0));
	fguard.busy = 0;
	fguard.fn(fguard.arg, GUARD_REPLICA, "redis at 127.0.0.1:6379 is a replica", 1);
	assert_int_equal(ops_since(n0), 0);
	assert_true(G()->guard_refusing);
	assert_int_equal(G()->guard_refusals, 1);
	assert_int_equal(timer_in(), GUARD_RETRY_MS);
	json_t *st = grp_status();
	json_t *g = json_array_get(json_object_get(st, "groups"), 0);
	assert_string_equal(json_string_value(json_object_get(g, "phase")),
			    "refused by guard");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(g, "guard"), "answer")),
	    "replica");
	json_decref(st);

	advance(GUARD_RETRY_MS);
	assert_int_equal(guard_asks, 2);
	fguard.busy = 0;
	fguard.fn(fguard.arg, GUARD_UNKNOWN, "redis at 127.0.0.1:6379 cannot be asked",
		  500);
	assert_int_equal(ops_since(n0), 0);
	assert_int_equal(G()->guard_refusals, 2);

	advance(GUARD_RETRY_MS);
	assert_int_equal(guard_asks, 3);
	fguard.busy = 0;
	fguard.fn(fguard.arg, GUARD_PRIMARY, "redis at 127.0.0.1:6379 is the primary", 1);
	if (ops_since(n0) != 1 || last_op()->observe || strcmp(last_op()->eni, SELF) != 0)
		fail_msg("a primary should start one pass pointing the routes here");
	assert_false(G()->guard_refusing);
	finish(last_op(), CV_REPLACED, PEER);

	/* The settle check writes if it must: it asks first. */
	advance(SETTLE_FIRST_MS);
	assert_int_equal(guard_asks, 4);
	assert_int_equal(ops_since(n0), 1);
	fguard.busy = 0;
	fguard.fn(fguard.arg, GUARD_PRIMARY, "redis at 127.0.0.1:6379 is the primary", 1);
	assert_int_equal(ops_since(n0), 2);

	/* Leaving MASTER drops a question in flight. */
	finish(last_op(), CV_UNCHANGED, SELF);
	advance(SETTLE_FIRST_MS);
	assert_true(fguard.busy);
	event(KA_BACKUP);
	assert_false(fguard.busy);
	assert_int_equal(G()->guard_refusals, 2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(guard_refuses_until_primary),
	    T(blind_when_the_peer_is_known),
	    T(describe_first_without_a_peer),
	    T(describe_first_for_a_replayed_state),
	    T(describe_first_when_passes_are_recent),
	    T(retries_and_rechecks_describe_first),
	    T(flapping_master_waits_the_flap_gap),
	    T(a_reassert_waits_the_minimum_gap),
	    T(an_event_storm_costs_a_pass_a_second),
	    T(a_duplicate_master_does_not_restart_the_pass),
	    T(a_failed_pass_is_retried_with_backoff),
	    T(a_retry_is_bounded_by_the_first_ceiling),
	    T(a_repeat_event_does_not_rush_a_retry),
	    T(a_transition_resets_the_backoff),
	    T(a_failed_settle_check_is_retried_as_one),
	    T(a_failed_hand_back_is_not_retried),
	    T(a_newer_generation_supersedes_the_pass),
	    T(a_reassert_keeps_the_pass_of_its_generation),
	    T(a_stale_pass_result_is_ignored),
	    T(settling_takes_two_looks_a_second_apart),
	    T(settling_waits_out_a_slow_request),
	    T(a_late_write_is_taken_back_and_counted),
	    T(a_second_settle_take_is_a_flip),
	    T(settling_stops_after_settle_passes_max),
	    T(leaving_before_settled_reports_unsettled),
	    T(rechecks_that_lose_routes_damp_and_a_lower_peer_undamps),
	    T(damping_ends_after_the_window),
	    T(a_damped_master_that_keeps_every_route_settles),
	    T(a_damped_master_without_rechecks_sees_the_window_end),
	    T(damping_outlasts_a_competitors_recheck),
	    T(a_competitor_after_an_early_end_damps_again),
	    T(a_lower_peer_during_a_look_is_not_lost),
	    T(backup_hands_routes_back_to_the_peer),
	    T(no_hand_back_without_a_peer_or_from_fault),
	    T(returning_to_master_cancels_the_hand_back),
	    T(a_flapping_hand_back_waits_the_flap_gap),
	    T(the_peer_is_an_other_working_eni),
	    T(a_throttled_pass_waits_for_the_rate_limit),
	    T(status_phases_follow_the_reconciler),
	    T(an_older_event_is_stale),
	    T(hooks_within_the_tie_are_ordered_by_pid),
	    T(pids_far_apart_count_as_wrapped),
	    T(a_pid_after_the_wrap_is_newer),
	    T(a_repeat_moves_the_order_mark_and_hints_do_not),
	};
#undef T
	log_init("test_group", 1, LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
