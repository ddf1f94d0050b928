#!/bin/bash
# Time for `vpc-failover takeover --force` to converge N route
# tables, at 0 and 50 ms simulated API latency, beside the shell way (a loop
# of `aws ec2 replace-route` per table, as Pacemaker's aws-vpc-move-ip does)
# against the same simulator. Prints a markdown table of medians.
#   bench/takeover.sh [REPS]     (default 5; the awscli loop uses min(REPS, 3);
#                                 BENCH_TABLES="1 10 50", BENCH_LATENCIES="0 50":
#                                 the rows, fewer for tests/integration/bench_smoke.sh)
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/lib.sh"

REPS=${1:-5}
NTABLES=${BENCH_TABLES:-1 10 50}
LATENCIES=${BENCH_LATENCIES:-0 50}
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

setup() { # N LATENCY
	local n=$1 i ids=""
	for ((i = 1; i <= n; i++)); do ids+=" $(rtb "$i")"; done
	sim_vpc "$T/state.json" "$n"
	[ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
	sim_start "$T/state.json" --latency "$2" --log /dev/null || exit 1
	cat >"$T/vpcf.conf" <<-C
	$(sim_aws)
	[group bench]
	vrrp_instance = VI_1
	destinations = $DEST
	route_tables =$ids
	network_interface = $ENI_C
	C
	TABLES=$ids
}

run_ours() {
	local i t0 t1
	for ((i = 0; i < REPS; i++)); do
		reset_routes
		t0=$(ms_now)
		"$VPCF" -c "$T/vpcf.conf" takeover --force >"$T/takeover.out" 2>&1 ||
			{ echo "# takeover failed:"; sed "s/^/#   /" "$T/takeover.out"; } >&2
		t1=$(ms_now)
		echo $((t1 - t0))
	done | median
}

run_shell() {
	local i t0 t1 t reps=$((REPS < 3 ? REPS : 3))
	for ((i = 0; i < reps; i++)); do
		reset_routes
		t0=$(ms_now)
		for t in $TABLES; do
			"$AWS" ec2 replace-route --region us-east-1 --endpoint-url "$SIM_URL" \
				--route-table-id "$t" --destination-cidr-block "$DEST" \
				--network-interface-id "$ENI_C" >/dev/null 2>&1 || echo "# aws failed" >&2
		done
		t1=$(ms_now)
		echo $((t1 - t0))
	done | median
}

echo "| tables | API latency | vpc-failover takeover (median ms) | aws replace-route loop (median ms) | speed-up |"
echo "|---:|---:|---:|---:|---:|"
for lat in $LATENCIES; do
	for n in $NTABLES; do
		setup "$n" "$lat"
		ours=$(run_ours)
		shell=$(run_shell)
		printf '| %d | %d ms | %d | %d | %.1fx |\n' "$n" "$lat" "$ours" "$shell" \
			"$(echo "$shell $ours" | awk '{print ($2 > 0) ? $1 / $2 : 0}')"
	done
done
echo
echo "($REPS runs each, awscli loop $((REPS < 3 ? REPS : 3)); wall time of the whole command, process start included; $(nproc) cores, $(date -u +%F))"
