#!/usr/bin/python3
# bench/az-model.py: a model of bench/az.sh's AZ outage, no processes: N
# nodes x T writes against one token bucket (50, refill 5/s), each node's
# limiter as lib/ratelim.c (evidence 3 throttles >= 3/4 of the calls sent,
# first pace 0.1/s, x3 per success, x0.7 per throttle, slots jittered
# 0.5..1.5 gaps), full-jitter backoff (100 ms base) before pacing; the
# send/answer latency uniform in 5-40 ms, the FIFO lines within 200 ms.
# Not modelled: api_deadline's passes and their describes (in the daemons
# a pass ends when its next slot is past its deadline, and the next pass
# plans again: that rescued "fixed", measured at 34 s, not 52). Variants:
#   fixed       a slot reserved per waiting call at the rate of the instant
#               it queued (before ab022ed)
#   queue       only the next slot fixed (ab022ed, rl_take)
#   queue+pull  and a success pulls the next slot in (measured worse)
#   queue+recover  only the next slot fixed, and once a throttle has cut
#               the rate, a success pulls the next slot in (the product
#               since 691c3c6: lib/ratelim.c rl_success)
# Prints, per variant, the account's convergence (s) and throttled calls
# over SEEDS seeded runs (default 40): median, [min..max], runs <= 36 s.
#   bench/az-model.py [SEEDS]
import heapq
import random
import statistics
import sys

class RL:
    def __init__(s, v):
        s.v = v; s.first = 0.1; s.minr = 0.02; s.maxr = 20; s.cut = 0.7; s.grow = 3
        s.limited = False; s.rate = 0; s.next = 0; s.burst_end = 0; s.last_thr = -1e9
        s.ws = 0; s.wsent = s.wok = s.wthr = 0; s.lim_start = 0; s.last_slot = 0; s.u = 0.5
        s.cut_since = False
    def gap(s, u): return 1.0 / s.rate * (0.5 + u)
    def window(s, now):
        if now >= s.ws + 10: s.ws = now; s.wsent = s.wok = s.wthr = 0
    def sent(s, now): s.window(now); s.wsent += 1
    def evident(s):
        calls = max(s.wthr + s.wok, s.wsent)
        return s.wthr >= 3 and s.wthr >= 0.75 * calls
    def throttled(s, now, u):
        s.last_thr = now; s.window(now); s.wthr += 1
        if not s.limited:
            if not s.evident(): return
            s.limited = True; s.rate = s.first; s.burst_end = now + 1
            s.last_slot = now; s.u = u; s.next = now + s.gap(u); s.lim_start = now
            return
        if now < s.burst_end: return
        s.rate = max(s.minr, s.rate * s.cut); s.cut_since = True
        s.last_slot = now; s.u = u
        s.next = max(s.next, now + s.gap(u))
    def success(s, now, sent_at):
        s.window(now); s.wok += 1
        if not s.limited: return
        if s.v.get('slot_successes_only') and sent_at < s.lim_start: return
        s.rate *= s.grow
        if s.rate >= s.maxr: s.limited = False; s.next = 0; return
        if s.v.get('pull_in') or (s.v.get('recover') and s.cut_since):
            s.next = min(s.next, max(now, s.last_slot + s.gap(s.u)))
    def reserve(s, now, u):   # only for 'fixed' variant
        if not s.limited: return 0
        slot = max(s.next, now); s.next = slot + s.gap(u); return slot - now
    def take(s, now, u):      # queue variant: may a call go now?
        if not s.limited: return True
        if now + 1e-9 >= s.next:
            s.last_slot = now; s.u = u; s.next = now + s.gap(u); return True
        return False

def run(v, seed, N=50, T=4, lat=(0.005, 0.04)):
    R = random.Random(seed)
    level, lt = 50.0, 0.0
    def bucket(now):
        nonlocal level, lt
        level = min(50, level + (now - lt) * 5); lt = now
        if level >= 1: level -= 1; return True
        return False
    ev = []; seq = [0]
    def push(t, *a): seq[0] += 1; heapq.heappush(ev, (t, seq[0]) + a)
    rls = [RL(v) for _ in range(N)]
    queues = [[] for _ in range(N)]
    left = [T] * N; done = [None] * N; thr = 0
    for n in range(N):
        t = R.uniform(0, 0.2)
        for w in range(T): push(t, 'send', n, w, 0)
    def wake(n, now):
        r = rls[n]
        while queues[n] and r.take(now, R.random()):
            w, att = queues[n].pop(0); push(now, 'go', n, w, att)
        if queues[n] and r.limited: push(r.next, 'wake', n, -1, 0)
    steps = 0
    while ev and steps < 200000:
        steps += 1
        t, _, kind, n, w, att = heapq.heappop(ev)
        r = rls[n]
        if kind == 'wake': wake(n, t); continue
        if kind == 'send':
            if r.limited:
                if v.get('queue'):
                    queues[n].append((w, att)); wake(n, t); continue
                d = r.reserve(t, R.random())
                if d > 0: push(t + d, 'go', n, w, att); continue
            push(t, 'go', n, w, att); continue
        if kind == 'go':
            r.sent(t); ok = bucket(t + R.uniform(*lat) / 2)
            push(t + R.uniform(*lat), 'ok' if ok else 'thr', n, w, att + (0 if ok else 1))
            sent_at[(n, w)] = t
            continue
        if kind == 'ok':
            r.success(t, sent_at[(n, w)]); left[n] -= 1
            if left[n] == 0: done[n] = t
            if v.get('queue'): wake(n, t)
            continue
        if kind == 'thr':
            thr += 1; r.throttled(t, R.random())
            if r.limited: push(t, 'send', n, w, att)
            else:
                d = R.uniform(0, min(5, 0.1 * 2 ** (att - 1)))
                push(t + d, 'send', n, w, att)
    return max(done) if None not in done else float('nan'), thr


sent_at = {}
seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
for name, v in (('fixed', {}), ('queue', {'queue': 1}),
                ('queue+pull', {'queue': 1, 'pull_in': 1}),
                ('queue+recover', {'queue': 1, 'recover': 1})):
    res = [run(v, s) for s in range(seeds)]
    ts = sorted(r[0] for r in res)
    th = [r[1] for r in res]
    print('%-13s account med %.1f s [%.1f..%.1f], <= 36 s in %d of %d; '
          'throttled med %d [%d..%d]' % (
              name, statistics.median(ts), ts[0], ts[-1],
              sum(t <= 36 for t in ts), seeds, statistics.median(th),
              min(th), max(th)))
