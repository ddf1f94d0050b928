#!/bin/bash
# The client-visible outage of a MASTER crash, in the namespace topology with
# real keepalived and vpc-failoverd on node-a and node-c (tests/topo.sh,
# tests/keepalived.sh), for advert_int 1 (VRRPv2) and 0.1 (VRRPv3), with the
# notify hook and with vrrp_notify_fifo. Each run: the MASTER's keepalived and
# its service die at one instant (SIGKILL, no goodbye advert) while a client
# asks the overlay IP every 10 ms; then the dead node is restarted as BACKUP
# (nopreempt) and the next run crashes the other node. Measured per run:
#   (a) VRRP detection: kill -> the peer's keepalived reports MASTER
#   (b) ours: that report -> every route table points at the peer (the
#       simulator's change log) and -> the client's first answer from it
#   (c) the client's outage: its last answer from the old MASTER -> its first
#       answer from the new one
# Prints a markdown table of medians (min-max). Not a test: nothing asserted.
#   bench/outage.sh [REPS]     (default 5 runs per row)
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/../tests/topo.sh"
. "$(dirname "$0")/../tests/keepalived.sh"

REPS=${1:-5}
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE
PROBE_MS=10
declare -A NS ADDR PEER PRIO ENI KPID DPID

topo_up >/dev/null 2>&1 || { echo "outage: the namespace topology did not come up" >&2; exit 1; }
NS[a]=$NS_A NS[c]=$NS_C ADDR[a]=198.18.1.2 ADDR[c]=198.18.3.2
PEER[a]=c PEER[c]=a PRIO[a]=150 PRIO[c]=100 ENI[a]=$ENI_A ENI[c]=$ENI_C
topo_probe "$T/probe.log" $PROBE_MS

# node_up N ADVERT MODE: daemon (recheck_interval 0: the crashed node's
# daemon, which keepalived never told, must not re-assert) and keepalived
node_up() {
	local n=$1 adv=$2 mode=$3 d=$T/$1 fifo="" hook=()
	mkdir -p "$d"
	[ "$mode" = fifo ] && fifo="[keepalived]
notify_fifo = $d/notify.fifo"
	topo_conf "$d/vpcf.conf" "$d" "$fifo" "recheck_interval = 0"
	rm -rf "$d/state" "$d/notify.fifo" "$d/daemon.log"
	spawn "$d/daemon.log" ip netns exec "${NS[$n]}" "$VPCFD" -f -c "$d/vpcf.conf"
	DPID[$n]=$SPAWNED_PID
	wait_for 10 grep -q "instance i-" "$d/daemon.log" || return 1
	if [ "$mode" = fifo ]; then
		hook=(vrrp_notify_fifo "$d/notify.fifo")
	else
		hook=(notify "$VPCF -c $d/vpcf.conf notify")
	fi
	ka_conf "${NS[$n]}" "${ADDR[$n]}" "${ADDR[${PEER[$n]}]}" "${PRIO[$n]}" "$d/ka.conf" \
		advert_int "$adv" nopreempt "${hook[@]}" || return 1
	ka_start "${NS[$n]}" "$d/ka.conf" || return 1
	KPID[$n]=$KA_PID
}

pair_down() {
	local n
	for n in a c; do
		[ -n "${KPID[$n]:-}" ] && ka_stop "${KPID[$n]}"
		[ -n "${DPID[$n]:-}" ] && kill "${DPID[$n]}" 2>/dev/null && wait "${DPID[$n]}" 2>/dev/null
		KPID[$n]="" DPID[$n]=""
	done
}

all_at() { # ENI
	local t
	for t in $TOPO_TABLES; do [ "$(topo_route "$t")" = "$1" ] || return 1; done
}
answers_from() { # NAME SINCE: the client heard NAME after SINCE
	awk -v t="$2" -v n="$1" '$1 > t && $2 == n {f = 1; exit} END {exit !f}' "$T/probe.log"
}

# one_run M: crash MASTER M; prints "a b1 b2 c" in ms, or nothing
one_run() {
	local m=$1 b=${PEER[$1]} t0 tm tr tc tl
	topo_crash "${KPID[$m]}" "node-$m" || return 1
	t0=$TOPO_CRASH_TIME
	ka_wait_state "${NS[$b]}" MASTER 15 &&
		wait_for 10 all_at "${ENI[$b]}" &&
		wait_for 5 answers_from "node-$b" "$t0" || return 1
	tm=$(ka_events "${NS[$b]}" | awk -v t="$t0" '$1 > t && $4 == "MASTER" {print $1; exit}')
	tr=$(topo_changes "$t0" | awk -v e="${ENI[$b]}" -v n="$(wc -w <<<"$TOPO_TABLES")" '
		$5 == e && !($3 in s) {s[$3] = 1; k++; if ($1 > x) x = $1} END {if (k == n) print x}')
	tc=$(awk -v t="$t0" -v n="node-$b" '$1 > t && $2 == n {print $1; exit}' "$T/probe.log")
	tl=$(awk -v t="$tc" -v n="node-$m" '$1 < t && $2 == n {x = $1} END {print x}' "$T/probe.log")
	[ -n "$tm" ] && [ -n "$tr" ] && [ -n "$tc" ] && [ -n "$tl" ] || return 1
	awk -v k="$t0" -v m="$tm" -v r="$tr" -v c="$tc" -v l="$tl" \
		'BEGIN {printf "%d %d %d %d\n", (m - k) * 1000, (r - m) * 1000, (c - m) * 1000, (c - l) * 1000}'
}

# back_up M: the crashed node comes back (service, keepalived) as BACKUP
back_up() {
	local m=$1
	topo_responder "${NS[$m]}" "node-$m" || return 1
	ka_start "${NS[$m]}" "$T/$m/ka.conf" || return 1
	KPID[$m]=$KA_PID
	ka_wait_state "${NS[$m]}" BACKUP 10
}

summary() { # column: "median (min-max)"
	sort -n | awk '{v[NR] = $1} END {
		if (NR == 0) {print "-"; exit}
		med = (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)
		printf "%d (%d-%d)", med, v[1], v[NR]}'
}

row() { # ADVERT MODE
	local adv=$1 mode=$2 m=a i out fails=0
	: >"$T/runs"
	node_up a "$adv" "$mode" && ka_wait_state "$NS_A" MASTER 10 && node_up c "$adv" "$mode" &&
		ka_wait_state "$NS_C" BACKUP 10 && wait_for 10 all_at "$ENI_A" ||
		{ echo "outage: the pair did not come up (advert_int $adv, $mode)" >&2; pair_down; return 1; }
	wait_for 5 answers_from node-a "$EPOCHREALTIME"
	for ((i = 0; i < REPS; i++)); do
		sleep 1 # steady state: adverts flowing, the client answered
		if out=$(one_run "$m"); then
			echo "$out" >>"$T/runs"
		else
			fails=$((fails + 1))
		fi
		back_up "$m" || { fails=$((fails + REPS - i - 1)); break; }
		m=${PEER[$m]}
	done
	pair_down
	local v=2
	awk "BEGIN {exit !($adv < 1)}" && v=3 # as ka_conf chooses
	printf '| %s (VRRPv%s) | %s | %s | %s | %s | %s | %d/%d |\n' "$adv" "$v" \
		"$([ "$mode" = fifo ] && echo vrrp_notify_fifo || echo notify hook)" \
		"$(awk '{print $1}' "$T/runs" | summary)" "$(awk '{print $2}' "$T/runs" | summary)" \
		"$(awk '{print $3}' "$T/runs" | summary)" "$(awk '{print $4}' "$T/runs" | summary)" \
		"$(wc -l <"$T/runs")" "$REPS"
}

echo "| advert_int | keepalived -> daemon | (a) VRRP detection: kill -> peer MASTER | (b) MASTER -> all tables converged | (b) MASTER -> client traffic moved | (c) client outage | runs |"
echo "|---|---|---:|---:|---:|---:|---:|"
for adv in 1 0.1; do
	for mode in notify fifo; do
		row "$adv" "$mode"
	done
done
echo
echo "Milliseconds, median (min-max) of the runs, $(nproc) cores, $(date -u +%F)." \
	"Each run crashes the MASTER: SIGKILL to its keepalived (no goodbye advert) and to its" \
	"service in one instant; a client asks the overlay IP every $PROBE_MS ms, each ask a new TCP" \
	"connection. (a) from the kill to the peer's keepalived reporting MASTER (its FIFO);" \
	"(b) from that report to the last of the $(wc -w <<<"$TOPO_TABLES") route tables rewritten (simulator log, no API latency)" \
	"and to the client's first answer from the new MASTER; (c) from the client's last answer from the" \
	"old MASTER to its first from the new one. Nodes alternate (nopreempt); priorities 150 and 100," \
	"so VRRP's skew time differs by node. Namespaces on one host: no real network or EC2 latency."
