#!/bin/bash
# The two races of issue 12 with real keepalived (tests/topo.sh topology):
#   startup race: both keepalived start at the same instant with VRRPv3
#     advert_int 0.1; node-c may be MASTER for a few ms and send writes that
#     land after node-a converged. Re-checks off: only the settle checks can
#     save the routes. Every table must be at node-a within the settle bound
#     (request_timeout 2 + 2 s) after keepalived's last transition, and
#     still there after twice the bound.
#   partition heal: the default configuration (notify hook only, re-check
#     60 s): VRRP cut until node-c is MASTER and has every table, then
#     healed; node-a, MASTER throughout, gets no notify. Every table must
#     be at node-a within 5 s of the heal (node-c hands them back).
#   RACES_STARTS (3) and RACES_HEALS (2) runs; RACES_CUT (0: until node-c
#   has the tables) seconds of cut. The issue's measurement:
#   RACES_STARTS=20 RACES_HEALS=10 RACES_CUT=20.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"
. "$(dirname "$0")/../keepalived.sh"
. "$(dirname "$0")/../nodes.sh"

STARTS=${RACES_STARTS:-3}
HEALS=${RACES_HEALS:-2}
CUT=${RACES_CUT:-0}
BOUND=4 # request_timeout (2, nodes.sh) + 2 s

topo_up || {
	not_ok "topology up"
	exit 1
}
ok "topology up"

last_transition() { # NS: the time of keepalived's last reported transition
	ka_events "$1" | awk '$4 ~ /^(MASTER|BACKUP|FAULT)$/ {t = $1} END {print t}'
}
off_a() { # the tables not at node-a, one read each
	local t n=0
	for t in $TOPO_TABLES; do [ "$(topo_route "$t")" = "$ENI_A" ] || n=$((n + 1)); done
	echo $n
}

# == startup race =================================================================
node_conf a recheck=0
node_conf c recheck=0
ka_node_conf a notify "$(hook a)" advert_int 0.1
ka_node_conf c notify "$(hook c)" advert_int 0.1
d_start a && d_start c
expect_eq "startup race: daemons start" "$?" 0
bad=0 late=0 both=0
for ((i = 1; i <= STARTS; i++)); do
	set_all "$ENI_C"
	k_start a &
	kp=$!
	k_start c
	wait "$kp"
	# KPID of the backgrounded start is lost in its subshell: read it back.
	KPID[a]=$(cat "$T/ka/$NS_A/pid")
	KPID[c]=$(cat "$T/ka/$NS_C/pid")
	ka_wait_state "$NS_A" MASTER 10 || {
		bad=$((bad + 1))
		echo "# start $i: node-a never became MASTER"
	}
	ka_wait_state "$NS_C" BACKUP 10
	ka_events "$NS_C" | grep -q ' MASTER' && both=$((both + 1))
	tl=$(last_transition "$NS_A")
	tc=$(last_transition "$NS_C")
	awk -v a="$tl" -v c="$tc" 'BEGIN {exit !(c > a)}' && tl=$tc
	# until the bound: where the tables point; then at twice the bound
	wait_until=$(awk -v t="$tl" -v b=$BOUND 'BEGIN {printf "%.3f", t + b}')
	while awk -v n="$EPOCHREALTIME" -v w="$wait_until" 'BEGIN {exit !(n < w)}'; do sleep 0.1; done
	n1=$(off_a)
	sleep $BOUND
	n2=$(off_a)
	l=$(st_of a "g['late_writes']")
	echo "# start $i: node-c MASTER first: $(ka_events "$NS_C" | grep -c ' MASTER$\| MASTER ') time(s);" \
		"tables off node-a at the bound: $n1, at twice the bound: $n2; node-a's late writes so far: $l"
	[ "$n1" = 0 ] && [ "$n2" = 0 ] || bad=$((bad + 1))
	ka_stop "${KPID[a]}"
	ka_stop "${KPID[c]}"
done
late=$(st_of a "g['late_writes']")
echo "# startup race: $STARTS starts, node-c was MASTER at some point in $both, $late late write(s) taken back by node-a"
expect_eq "startup race: every table at node-a within the settle bound, $STARTS starts" "$bad" 0

show() { # WHEN: what an operator sees on both nodes, as '#' lines
	local n
	for n in a c; do
		echo "# node-$n $1: vpc-failover status"
		vf $n status 2>&1 | sed -n '/^group/,$p' | sed 's/^/#     /'
		echo "# node-$n $1: vpc-failover metrics (route guard)"
		vf $n metrics 2>&1 | grep -E '^vpc_failover_(late_writes|split_brain_flips|route_updates)_total' | sed 's/^/#     /'
	done
	echo "# $1: the daemons' last lines"
	for n in a c; do
		grep -E "SPLIT BRAIN|LATE WRITE|hand|settl|->" "$T/$n/daemon.log" | tail -4 |
			sed "s/^vpc-failoverd: /#     node-$n: /"
	done
}

# == partition heal, default configuration ===============================================
d_stop a
d_stop c
node_conf a
node_conf c
ka_node_conf a notify "$(hook a)"
ka_node_conf c notify "$(hook c)"
set_all "$ENI_A"
d_start a && d_start c
expect_eq "partition heal: daemons start (re-check 60 s, hook only)" "$?" 0
k_start a && k_start c
check "partition heal: node-a MASTER" ka_wait_state "$NS_A" MASTER 10
check "partition heal: node-c BACKUP" ka_wait_state "$NS_C" BACKUP 10
bad=0
for ((i = 1; i <= HEALS; i++)); do
	w0=$(writes)
	t_cut=$EPOCHREALTIME
	ka_cut_vrrp
	ka_wait_state "$NS_C" MASTER 15 && within 10 all_at "$ENI_C" || {
		bad=$((bad + 1))
		echo "# heal $i: node-c did not take the tables during the cut"
	}
	if ((CUT > 0)); then
		while awk -v n="$EPOCHREALTIME" -v w="$t_cut" -v c="$CUT" 'BEGIN {exit !(n < w + c)}'; do
			sleep 0.2
		done
	fi
	w1=$(writes)
	((i == 1)) && show "during the cut"
	t0=$EPOCHREALTIME
	ka_restore_vrrp
	if within 5 all_at "$ENI_A"; then
		echo "# heal $i: cut $(ms_since "$t0" "$t_cut") ms, $((w1 - w0)) EC2 writes during it;" \
			"every table back at node-a $(ms_since "$EPOCHREALTIME" "$t0") ms after the heal"
	else
		bad=$((bad + 1))
		echo "# heal $i: tables not back at node-a 5 s after the heal: $(off_a) off"
	fi
	ka_wait_state "$NS_C" BACKUP 10
	sleep 1
	((i == 1)) && show "after the heal"
done
echo "# node-c handed back $(st_of c "g['handed_back']") route(s); node-a status: $(st_of a "g['state'], g['phase']")"
expect_eq "partition heal: every table at node-a within 5 s of the heal, $HEALS runs" "$bad" 0
check "partition heal: node-c logged the hand-back" grep -q "handed back to $ENI_A" "$T/c/daemon.log"
expect_eq "partition heal: node-a MASTER, converged" "$(st_of a "g['state'], g['phase']")" "MASTER converged"
ka_stop "${KPID[a]}"
ka_stop "${KPID[c]}"
dump_logs
