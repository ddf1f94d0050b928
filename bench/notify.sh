#!/bin/bash
# keepalived's notify hook and what follows it, through the running daemon:
#
#   hook: the hook's own wall time, fork+exec to exit with the event
#     delivered (the daemon answered), side by side in one run: the lean
#     hook (vpc-failover, the front program: libc alone, docs/hook.md),
#     today's hook before it (the full CLI's notify, vpc-failover-cli), and
#     a minimal C program that connects, writes the same line and reads the
#     reply (tests/tools/min-notify); HOOK_ROUNDS rounds (200), interleaved
#     (tests/tools/hook-time). Then the tool's share of a failover via the
#     hook: keepalived's notify to every table converged, 5 tables, the
#     local simulator without latency, through each hook (median of REPS).
#   tables: notify to every route table converged for N = 1, 10, 50 tables
#     at 0 and 50 ms simulated API latency (the shell hook users write
#     today, an awscli call per table, is measured by bench/takeover.sh).
#
#   bench/notify.sh [REPS [hook|tables]]   (default: both parts;
#     HOOK_ROUNDS; BENCH_TABLES="1 10 50", BENCH_LATENCIES="0 50": the
#     tables part's rows, fewer for tests/integration/bench_smoke.sh)
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/lib.sh"

REPS=${1:-7}
PART=${2:-all}
HOOK_ROUNDS=${HOOK_ROUNDS:-200}
NTABLES=${BENCH_TABLES:-1 10 50}
LATENCIES=${BENCH_LATENCIES:-0 50}
CLI=$B/vpc-failover-cli
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET

setup() { # N LATENCY [SIMLOG]
	local n=$1 i ids=""
	for ((i = 1; i <= n; i++)); do ids+=" $(rtb "$i")"; done
	sim_vpc "$T/state.json" "$n"
	[ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
	sim_start "$T/state.json" --latency "$2" --log "${3:-/dev/null}" || exit 1
	cat >"$T/vpcf.conf" <<-C
	$(sim_aws)
	[daemon]
	control_socket = $T/ctl.sock
	state_dir = $T/state
	[metrics]
	listen =
	[group bench]
	vrrp_instance = VI_1
	destinations = $DEST
	route_tables =$ids
	network_interface = $ENI_C
	recheck_interval = 0
	C
	TABLES=$ids
	rm -f "$T/ctl.sock" "$T/state/events/"*
	spawn "$T/daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
	DPID=$SPAWNED_PID
	wait_for 5 test -S "$T/ctl.sock" || { echo "daemon did not start"; exit 1; }
}

status_field() {
	"$VPCF" -c "$T/vpcf.conf" status --json |
		/usr/bin/python3 -c "import json,sys; g=json.load(sys.stdin)['groups'][0]; print($1)"
}

# One failover: BACKUP (no writes), routes back to node a, MASTER; the
# daemon's own measurement: event time (taken when the hook starts) to the
# last table converged.
run_ours() {
	local i
	for ((i = 0; i < REPS; i++)); do
		"$VPCF" -c "$T/vpcf.conf" notify INSTANCE VI_1 BACKUP 100
		reset_routes
		# A real failover comes after a quiet spell; right after another
		# transition the daemon would coalesce (keepalived flapping).
		sleep 2.2
		"$VPCF" -c "$T/vpcf.conf" notify INSTANCE VI_1 MASTER 150
		wait_for 20 bash -c "[ \"\$('$VPCF' -c '$T/vpcf.conf' status --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"groups\"][0][\"phase\"])')\" = converged ]" ||
			echo "# did not converge" >&2
		status_field "g['convergence_ms']"
	done | median
}

# The tool's share of a failover via HOOK: from keepalived's fork of the hook
# (tests/tools/hook-time --once: the wall clock at the fork) to the last
# table's route written, as the simulator logs it (wall clock, ms); REPS
# failovers like run_ours'. The daemon's own convergence_ms counts from the
# hook's start time as /proc gives it, in clock ticks (10 ms): too coarse.
share_ours() {
	local i hook=$1 t0 n
	for ((i = 0; i < REPS; i++)); do
		"$VPCF" -c "$T/vpcf.conf" notify INSTANCE VI_1 BACKUP 100
		reset_routes
		sleep 2.2
		n=$(wc -l <"$T/simreq.log")
		t0=$("$B/tools/hook-time" --once -- "$hook" -c "$T/vpcf.conf" notify INSTANCE VI_1 MASTER 150)
		wait_for 20 bash -c "[ \$(tail -n +$((n + 1)) '$T/simreq.log' | grep -c ' -> $ENI_C ') -ge 5 ]" ||
			echo "# did not converge" >&2
		tail -n +$((n + 1)) "$T/simreq.log" | grep " -> $ENI_C " |
			/usr/bin/python3 -c "
import sys, datetime
ts = [datetime.datetime.strptime(l.split()[0].rstrip('Z'), '%Y-%m-%dT%H:%M:%S.%f').replace(tzinfo=datetime.timezone.utc).timestamp() for l in sys.stdin]
print(round(max(ts) * 1000 - $t0))"
	done | median
}

ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

hook_part() {
	local lean full min ratio
	setup 5 0 "$T/simreq.log"
	"$VPCF" -c "$T/vpcf.conf" notify INSTANCE VI_1 BACKUP 100
	# The same event over and over: the daemon answers at once (BACKUP
	# again is no transition); what is timed is the hook.
	mapfile -t r < <("$B/tools/hook-time" "$HOOK_ROUNDS" \
		-- "$VPCF" -c "$T/vpcf.conf" notify INSTANCE VI_1 BACKUP 100 \
		-- "$CLI" -c "$T/vpcf.conf" notify INSTANCE VI_1 BACKUP 100 \
		-- "$B/tools/min-notify" "$T/ctl.sock" INSTANCE VI_1 BACKUP 100)
	read -r lean lean90 leanf <<<"${r[0]}"
	read -r full full90 fullf <<<"${r[1]}"
	read -r min min90 minf <<<"${r[2]}"
	echo "| hook | libraries loaded | wall time, median (ms) | p90 (ms) | / minimal (median) |"
	echo "|---|---:|---:|---:|---:|"
	printf '| lean hook: vpc-failover notify | %s | %s | %s | %s× |\n' \
		"$(ldd "$VPCF" | grep -c '=>')" "$(ms "$lean")" "$(ms "$lean90")" \
		"$(awk -v a="$lean" -v b="$min" 'BEGIN { printf "%.2f", a / b }')"
	printf '| before: the full CLI'"'"'s notify (vpc-failover-cli) | %s | %s | %s | %s× |\n' \
		"$(ldd "$CLI" | grep -c '=>')" "$(ms "$full")" "$(ms "$full90")" \
		"$(awk -v a="$full" -v b="$min" 'BEGIN { printf "%.2f", a / b }')"
	printf '| minimal C program (tests/tools/min-notify) | %s | %s | %s | 1× |\n' \
		"$(ldd "$B/tools/min-notify" | grep -c '=>')" "$(ms "$min")" "$(ms "$min90")"
	[ "$leanf$fullf$minf" = 000 ] || echo "(runs not delivered: lean $leanf, before $fullf, minimal $minf)"
	echo
	echo "| hook | keepalived's notify → 5 tables converged, local simulator (median ms) |"
	echo "|---|---:|"
	printf '| lean hook | %s |\n' "$(share_ours "$VPCF")"
	printf '| before: the full CLI | %s |\n' "$(share_ours "$CLI")"
	echo
	echo "($HOOK_ROUNDS interleaved runs of each hook, fork+exec to exit with the daemon's answer; $REPS failovers through each, from the fork of the hook to the last route written as the simulator logs it; $(nproc) cores, $(date -u +%F))"
}

tables_part() {
	echo "| tables | API latency | notify → converged, vpc-failoverd (median ms) |"
	echo "|---:|---:|---:|"
	for lat in $LATENCIES; do
		for n in $NTABLES; do
			setup "$n" "$lat"
			printf '| %d | %d ms | %s |\n' "$n" "$lat" "$(run_ours)"
		done
	done
	echo
	echo "($REPS runs, from the hook's start to the last table converged, as the daemon measures it; the shell-hook comparison is the awscli loop of bench/takeover.sh; $(nproc) cores, $(date -u +%F))"
}

case $PART in
hook) hook_part ;;
tables) tables_part ;;
*)
	hook_part
	echo
	tables_part
	;;
esac
