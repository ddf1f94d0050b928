#!/bin/bash
# The benchmarks (make bench, make bench-az: bench/*.sh) kept working: each
# run once, at its smallest (one repetition, the fewest tables, sockets and
# pairs its knobs allow), and checked for what a broken one shows: a
# nonzero exit, no table, a "failed" on stderr, a figure that came out as
# nan or inf, a network namespace left behind. Nothing is timed or compared:
# the figures themselves are make bench's, on a quiet machine.
. "$(dirname "$0")/../lib.sh"

# bench NAME CMD...: one benchmark, its output in $T/NAME.out and .err
bench() {
	local name=$1 before left
	shift
	before=$(ip netns list | sort)
	if timeout 900 "$@" >"$T/$name.out" 2>"$T/$name.err"; then
		ok "$name: exits 0"
	else
		not_ok "$name: exits 0" "status $?: $(tail -n 5 "$T/$name.err")"
	fi
	if grep -qE '^\| *:?-{3}' "$T/$name.out"; then
		ok "$name: prints its tables ($(grep -c '^| ' "$T/$name.out") rows)"
	else
		not_ok "$name: prints its tables" "$(head -n 5 "$T/$name.out")"
	fi
	if grep -qi 'failed' "$T/$name.err"; then
		not_ok "$name: nothing failed" "$(grep -i -m 3 'failed' "$T/$name.err")"
	else
		ok "$name: nothing failed"
	fi
	if grep -qE '(^|[^a-z])-?(nan|inf)([^a-z]|$)' "$T/$name.out"; then
		not_ok "$name: every figure a number" "$(grep -m 3 -E '(^|[^a-z])-?(nan|inf)([^a-z]|$)' "$T/$name.out")"
	else
		ok "$name: every figure a number"
	fi
	# only the namespaces it added: others may come and go meanwhile
	left=$(comm -13 <(echo "$before") <(ip netns list | sort))
	expect_eq "$name: leaves no network namespace" "$left" ""
}

cd "$TOP" || exit 1
bench takeover env BENCH_TABLES="1 2" BENCH_LATENCIES=0 bash bench/takeover.sh 1
bench notify env HOOK_ROUNDS=10 BENCH_TABLES="1 2" BENCH_LATENCIES=0 bash bench/notify.sh 1
bench netmon env NETMON_SOCKETS="100 200" bash bench/netmon.sh 1
bench probe env WINDOW=3 bash bench/probe.sh 1
bench outage bash bench/outage.sh 1
bench az env AZ_TIMEOUT=120 bash bench/az.sh 4 2
