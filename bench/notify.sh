#!/bin/bash
# Time from `vpc-failover notify INSTANCE VI_1 MASTER` to every route table
# converged, through the running daemon, for N = 1, 10, 50 tables at 0 and
# 50 ms simulated API latency (the shell hook users write today, an awscli
# call per table, is measured by bench/takeover.sh). Median of REPS runs.
#   bench/notify.sh [REPS]
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/lib.sh"

REPS=${1:-7}
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET

setup() { # N LATENCY
	local n=$1 i ids=""
	for ((i = 1; i <= n; i++)); do ids+=" $(rtb "$i")"; done
	sim_vpc "$T/state.json" "$n"
	[ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
	sim_start "$T/state.json" --latency "$2" --log /dev/null || exit 1
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

echo "| tables | API latency | notify → converged, vpc-failoverd (median ms) |"
echo "|---:|---:|---:|"
for lat in 0 50; do
	for n in 1 10 50; do
		setup "$n" "$lat"
		printf '| %d | %d ms | %s |\n' "$n" "$lat" "$(run_ours)"
	done
done
echo
echo "($REPS runs, from the hook's start to the last table converged, as the daemon measures it; the shell-hook comparison is the awscli loop of bench/takeover.sh; $(nproc) cores, $(date -u +%F))"
