#!/bin/bash
# The whole test suite under the sanitizers or valgrind memcheck.
#   tests/check.sh asan BUILDDIR       BUILDDIR built with make SAN=1
#   tests/check.sh valgrind BUILDDIR   unit tests, daemon and CLI under memcheck
# VPCF_TIER=unit|integration limits it to one tier (make test runs the unit
# tier under ASan). Any report fails the run, even from a daemon whose exit
# status no test reads: every process of ours logs into its own file in
# BUILDDIR/san-logs, and tests/run.sh moves the non-empty ones to
# BUILDDIR/san-logs/<test>/ and counts a failure there.
# Only our binaries are instrumented (keepalived, python, awscli are not).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
mode=${1:?usage: tests/check.sh asan|valgrind BUILDDIR [FILTER]}
build=$(cd "${2:?usage: tests/check.sh asan|valgrind BUILDDIR [FILTER]}" && pwd) || exit 2
shift 2
# VPCF_SAN_LOGS: another report directory, for two runs on one build.
logs=${VPCF_SAN_LOGS:-$build/san-logs}
rm -rf "$logs"
# 1777: the permissions test runs the CLI as nobody and daemon.
mkdir -p "$logs" && chmod 1777 "$logs" && chmod o+x "$build"
export VPCF_SAN_DIR=$logs VPCF_BUILD=$build

case $mode in
asan)
	# abort_on_error: a report kills the process (non-zero exit status for
	# those whose status is read); log_path: reports into $logs, one file
	# per process, named after the binary.
	common="log_path=$logs/asan:log_exe_name=1:abort_on_error=1"
	export ASAN_OPTIONS="detect_leaks=1:$common:detect_stack_use_after_return=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:$common"
	export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
	export VPCF_BURST=${VPCF_BURST:-200} # daemon.sh's notify storm
	;;
valgrind)
	vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect"
	# Shown = counted: "possibly lost" (libnl's constructors) would fill the logs.
	vg+=" --show-leak-kinds=definite,indirect"
	vg+=" --error-exitcode=99 --suppressions=$top/tests/valgrind.supp"
	export VPCF_UNIT_WRAP="$vg --log-file=$logs/vg.unit.%p"
	# The daemon and CLI through wrappers that keep the pid (exec): the
	# tests signal, watch and compare pids. Outside $logs' sticky bit and
	# not group/world writable: keepalived's script security runs the CLI.
	wrap=$logs-bin
	rm -rf "$wrap"
	mkdir -p "$wrap"
	chmod 0755 "$wrap"
	# vpc-failover is the lean front (docs/hook.md), which executes the
	# full CLI for every command but notify: memcheck follows it there.
	for b in vpc-failover vpc-failoverd; do
		opt=
		[ "$b" = vpc-failover ] && opt=--trace-children=yes
		printf '#!/bin/sh\nexec %s %s --log-file=%s/vg.%s.%%p %s "$@"\n' \
			"$vg" "$opt" "$logs" "$b" "$build/$b" >"$wrap/$b"
		chmod 0755 "$wrap/$b"
	done
	export VPCF_CLI=$wrap/vpc-failover VPCF_DAEMON=$wrap/vpc-failoverd
	# memcheck is ~20x slower: longer waits and script limits.
	export VPCF_TIMEOUT_MULT=${VPCF_TIMEOUT_MULT:-4}
	export VPCF_BURST=${VPCF_BURST:-40} # daemon.sh's notify storm
	;;
*)
	echo "tests/check.sh: unknown mode $mode (asan or valgrind)" >&2
	exit 2
	;;
esac

start=$(date +%s)
./tests/run.sh "$@"
rc=$?
echo "$mode: $(($(date +%s) - start)) s"
# Reports left over (a process that outlived its test, or logged after the
# test was counted): still a failure.
left=$(find "$logs" -maxdepth 1 -type f -size +0 2>/dev/null)
if [ -n "$left" ]; then
	echo "$mode: reports not attributed to a test:"
	for f in $left; do
		echo "--- $f"
		head -40 "$f"
	done
	rc=1
fi
reports=$(find "$logs" -mindepth 2 -type f 2>/dev/null)
if [ -n "$reports" ]; then
	echo "$mode: reports in:"
	echo "$reports" | sed 's/^/    /'
fi
exit $rc
