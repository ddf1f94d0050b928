#!/bin/bash
# The libFuzzer targets (tests/fuzz/, docs/fuzzing.md), briefly: built with
# clang when it is there, each run over its seed corpus (the regression
# inputs of fixed findings among them) plus 2000 new inputs, with ASan,
# UBSan and leak detection. One TAP line per target; any crash, leak,
# timeout or sanitizer report fails it. `make fuzz` is the long run.
. "$(dirname "$0")/../lib.sh"

if ! command -v clang >/dev/null 2>&1; then
	ok "fuzz targets # SKIP clang not installed (scripts/deps.sh has it)"
	exit 0
fi
if ! make -C "$TOP" -j2 fuzz-build >"$T/build.log" 2>&1; then
	not_ok "fuzz targets build" "$(tail -5 "$T/build.log")"
	exit 1
fi
ok "fuzz targets build"

# Its own output directory: a long `make fuzz` may be running beside it.
out=$TOP/build/fuzz/smoke
FUZZ_OUT=$out FUZZ_RUNS=${FUZZ_SMOKE_RUNS:-2000} FUZZ_JOBS=2 "$TOP/tests/fuzz/run.sh" >"$T/run.log" 2>&1
cat "$T/run.log"
n=0
while read -r name execs eps cov found secs artifacts; do
	n=$((n + 1))
	if [ "$found" = 0 ] && [ "$execs" -gt 0 ]; then
		ok "fuzz_$name: $execs inputs, coverage $cov, nothing found"
	else
		not_ok "fuzz_$name" "$found finding(s): build/fuzz/smoke/artifacts/$name/$artifacts" \
			"(log: build/fuzz/smoke/logs/$name.log)"
	fi
done < <(tail -n +3 "$out/summary.txt")
if [ "$n" -lt "$(find "$TOP/tests/fuzz" -name 'fuzz_*.c' | wc -l)" ]; then
	not_ok "every target ran" "$n results in build/fuzz/smoke/summary.txt"
fi
