#!/bin/bash
# Runs every test tier and ends with one "N passed, N failed" line.
#   tests/run.sh [FILTER]   only tests whose file name contains FILTER
# Each test program prints TAP lines ("ok N - what" / "not ok N - what");
# a program that exits non-zero without a "not ok" line counts as one failure.
# Logs: build/test-logs/<name>.log
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
filter=${1:-}
logs=build/test-logs
mkdir -p "$logs"
passed=0 failed=0
failures=()

run_one() { # name cmd...
	local name=$1 log="$logs/$1.log" rc p f
	shift
	[ -n "$filter" ] && [[ $name != *"$filter"* ]] && return
	printf '%-40s ' "$name"
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" != 0 ]; then
		echo "FAIL ($p passed, $f failed)"
		failures+=("$name")
		grep '^not ok ' "$log" | head -20 | sed 's/^/    /'
	else
		echo "ok ($p)"
	fi
}

echo "== unit"
for t in build/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
done

echo "== integration"
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t" .sh)" timeout --kill-after=10 900 bash "$t"
done

for n in "${failures[@]}"; do
	echo "--- tail of $logs/$n.log"
	tail -40 "$logs/$n.log"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
