#!/bin/bash
# Run the libFuzzer targets (built by `make fuzz-build`) and summarise.
#   tests/fuzz/run.sh [TARGET...]      default: every build/fuzz/fuzz_* binary
# Environment:
#   FUZZ_TIME=60    seconds per target (-max_total_time)
#   FUZZ_RUNS=N     the seeds plus N new inputs (-runs); with FUZZ_TIME too,
#                   whichever comes first ends the target
#   FUZZ_JOBS=2     targets run at once
#   FUZZ_OUT=build/fuzz   where a run keeps its files (below: OUT), so that
#                   two runs (a long one and make test's smoke) stay apart
# Each target runs on a copy of tests/fuzz/corpus/NAME (OUT/work/NAME): the
# checked-in corpus never grows by itself. Crashes, leaks, timeouts and
# out-of-memory inputs land in OUT/artifacts/NAME/, the fuzzer's output in
# OUT/logs/NAME.log, one line per target in OUT/summary.txt. Exit status 1
# if any target found something.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
B=build/fuzz
O=${FUZZ_OUT:-$B}
time=${FUZZ_TIME:-60}
runs=${FUZZ_RUNS:-}
jobs=${FUZZ_JOBS:-2}

# Longest input per target: a little over what the parser itself accepts
# where it has a cap (so the cap is exercised), else what real inputs need.
max_len() {
	case $1 in
	ec2_xml | tcp) echo 16384 ;;
	kaevent) echo 640 ;;
	track) echo 128 ;;
	imds) echo 2048 ;;
	state) echo 4200 ;;
	*) echo 8192 ;;
	esac
}

run_target() {
	local name=$1 bin=$B/fuzz_$1 work=$O/work/$1 art=$O/artifacts/$1/
	local log=$O/logs/$1.log opts start end
	rm -rf "$work" "$art"
	mkdir -p "$work" "$art" "$O/logs" "$O/results"
	cp tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null
	opts=(-max_len="$(max_len "$name")" -timeout=5 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$art")
	[ -n "$runs" ] && opts+=(-runs="$runs")
	[ -z "$runs" ] || [ -n "${FUZZ_TIME:-}" ] && opts+=(-max_total_time="$time")
	[ -f tests/fuzz/"$name".dict ] && opts+=(-dict=tests/fuzz/"$name".dict)
	start=$(date +%s)
	# A 16 MiB quarantine (default 256) still holds every block an input
	# frees, and fresh memory is no longer paged in for each input: the
	# config target ran 2.8 times as fast.
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:quarantine_size_mb=16 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" "${opts[@]}" "$work" >"$log" 2>&1 </dev/null
	local rc=$?
	end=$(date +%s)
	local execs eps cov found
	execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
	eps=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -1)
	cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
	found=$(find "$art" -type f | wc -l)
	[ "$rc" != 0 ] && [ "$found" = 0 ] && found=1 # died without an artifact
	printf '%-12s %10s %8s %6s %7s %5s %s\n' "$name" "${execs:-0}" "${eps:-0}" \
		"${cov:-0}" "$found" "$((end - start))" \
		"$(find "$art" -type f -printf '%f ' | head -c 200)" >"$O/results/$name"
}

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for b in "$B"/fuzz_*; do
		[ -x "$b" ] && [[ $b != *.d ]] && targets+=("${b#"$B"/fuzz_}")
	done
fi
[ ${#targets[@]} -gt 0 ] || {
	echo "fuzz: no targets in $B (make fuzz-build)" >&2
	exit 1
}
rm -f "$O"/results/*
for t in "${targets[@]}"; do
	[ -x "$B/fuzz_$t" ] || {
		echo "fuzz: no $B/fuzz_$t" >&2
		exit 1
	}
	run_target "$t" &
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
done
wait

{
	if [ -n "$runs" ]; then
		printf '# %s, seeds + %s runs per target\n' "$(date -u +%FT%TZ)" "$runs"
	else
		printf '# %s, %s s per target\n' "$(date -u +%FT%TZ)" "$time"
	fi
	printf '%-12s %10s %8s %6s %7s %5s %s\n' target executions exec/s cov crashes \
		secs artifacts
	for t in "${targets[@]}"; do cat "$O/results/$t"; done
} >"$O/summary.txt"
cat "$O/summary.txt"
! awk 'NR > 2 && $5 != 0 { bad = 1 } END { exit !bad }' "$O/summary.txt"
