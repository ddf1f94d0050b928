#!/bin/bash
# Runs every test tier and ends with one "N passed, N failed" line.
#   tests/run.sh [FILTER]   only tests whose file name contains FILTER
# Each test program prints TAP lines ("ok N - what" / "not ok N - what");
# a program that exits non-zero without a "not ok" line counts as one failure.
# Logs: BUILD/test-logs/<name>.log
# Environment: VPCF_BUILD=DIR tests the binaries of another build directory
# (default build/; tests/lib.sh reads it too), VPCF_TIER=unit|integration
# runs one tier only (tests/check.sh, make check-asan / check-valgrind).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
filter=${1:-}
build=${VPCF_BUILD:-build}
tier=${VPCF_TIER:-}
# `make` builds the product only: bring the test programs (unit tests, the
# simulator, tools) up to date in the default build directory, so that
# `make && tests/run.sh` tests what is there. Other build directories are
# built by whoever names them (make check-asan).
if [ -z "${VPCF_BUILD:-}" ] && ! make --no-print-directory -s tests >&2; then
	echo "tests/run.sh: make tests failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
logs=$build/test-logs
mkdir -p "$logs"
passed=0 failed=0
failures=()

# VPCF_SAN_DIR (tests/check.sh): where sanitized or valgrind-run processes
# write their reports, one file per process. After each test the non-empty
# ones are moved to VPCF_SAN_DIR/<test>/ and the test fails: a daemon's report
# counts even when no script reads its exit status.
san_reports() { # name log
	local f found=1
	[ -n "${VPCF_SAN_DIR:-}" ] || return 1
	for f in "$VPCF_SAN_DIR"/*; do
		[ -f "$f" ] || continue
		if [ ! -s "$f" ]; then
			rm -f "$f"
			continue
		fi
		mkdir -p "$VPCF_SAN_DIR/$1"
		mv "$f" "$VPCF_SAN_DIR/$1/"
		echo "not ok - sanitizer/valgrind report: $VPCF_SAN_DIR/$1/${f##*/}" >>"$2"
		head -30 "$VPCF_SAN_DIR/$1/${f##*/}" | sed 's/^/# /' >>"$2"
		found=0
	done
	return $found
}

run_one() { # name cmd...
	local name=$1 log="$logs/$1.log" rc p f
	shift
	[ -n "$filter" ] && [[ $name != *"$filter"* ]] && return
	printf '%-40s ' "$name"
	local t0=$SECONDS
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	local secs=$((SECONDS - t0))
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	san_reports "$name" "$log" && f=$((f + 1))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" != 0 ]; then
		echo "FAIL ($p passed, $f failed) ${secs} s"
		failures+=("$name")
		grep '^not ok ' "$log" | head -20 | sed 's/^/    /'
	else
		echo "ok ($p) ${secs} s"
	fi
}

# VPCF_UNIT_WRAP: a command the unit tests run under (valgrind).
if [ "$tier" != integration ]; then
	echo "== unit"
	for t in "$build"/test_*; do
		[ -x "$t" ] || continue
		# shellcheck disable=SC2086
		run_one "$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP ${VPCF_UNIT_WRAP:-} "$t"
	done
fi

# VPCF_TIMEOUT_MULT (integer) stretches the per-script limit for slow runs.
if [ "$tier" != unit ]; then
	echo "== integration"
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		run_one "$(basename "$t" .sh)" \
			timeout --kill-after=10 $((900 * ${VPCF_TIMEOUT_MULT:-1})) bash "$t"
	done
fi

for n in "${failures[@]}"; do
	echo "--- tail of $logs/$n.log"
	tail -40 "$logs/$n.log"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
