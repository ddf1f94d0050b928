#!/bin/bash
# Planned switchover with the real keepalived: `vpc-failover failover` on
# the MASTER writes the group's track_file, keepalived demotes this node,
# the peer becomes MASTER and its vpc-failoverd moves the routes; the
# command shows each step and exits 0 only once every table points at the
# peer. Both keepalived forms: weight 0 (FAULT, works with nopreempt) and a
# negative weight (priority drop, preemption). Refusals change nothing; a
# switchover nobody takes over times out and is rolled back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"
. "$(dirname "$0")/../keepalived.sh"
. "$(dirname "$0")/../nodes.sh"

trk() { cat "$T/$1/overlay.demote" 2>/dev/null || echo none; }
# in_order FILE PATTERN...: the patterns appear on lines of FILE in this order
in_order() {
	local f=$1 line=0 n
	shift
	for p; do
		# ENVIRON, not -v: gawk (awk once mariadb-server pulled it in)
		# turns the \( of -v values into (, a regex group
		n=$(re="$p" awk -v from="$line" 'NR > from && $0 ~ ENVIRON["re"] {print NR; exit}' "$f")
		[ -n "$n" ] || { echo "# not found after line $line: $p"; return 1; }
		line=$n
	done
}

topo_up || { not_ok "topology up"; exit 1; }
ok "topology up"

# == weight 0 (FAULT) with nopreempt: the database pair =======================
node_conf a track="$T/a/overlay.demote"
node_conf c track="$T/c/overlay.demote"
ka_node_conf a notify "$(hook a)" nopreempt track_file vpcf "$T/a/overlay.demote" 0
ka_node_conf c notify "$(hook c)" nopreempt track_file vpcf "$T/c/overlay.demote" 0
check "daemons start" bash -c "true" && d_start a && d_start c
k_start a && k_start c
expect_eq "keepalived started on both nodes" "$?" 0
check "node-a becomes MASTER" ka_wait_state "$NS_A" MASTER 10
check "every table points at node-a" within 10 all_at "$ENI_A"
check "node-a's status says converged, not demoted" within 5 \
	status_is a "g['phase'], g['demoted']" "converged False"

# -- refusals: nothing changes -----------------------------------------------
writes0=$(writes)
out=$(vf c failover 2>&1)
expect_eq "failover on the BACKUP: exit 1" "$?" 1
check "failover on the BACKUP says why" grep -q "this node is BACKUP, not MASTER" <<<"$out"
expect_eq "failover on the BACKUP: track_file untouched" "$(trk c)" 0
out=$(vf a failover nosuch 2>&1)
expect_eq "failover of an unknown group: exit 2" "$?" 2
check "failover of an unknown group names it" grep -q "no group 'nosuch'" <<<"$out"
for bad in "--timeout 0" "--timeout 5x" "--timeout 3601" "--all overlay" "overlay extra"; do
	# shellcheck disable=SC2086 # the words are the arguments
	out=$(vf a failover $bad 2>&1)
	expect_eq "failover $bad: exit 2" "$?" 2
done
out=$(vf a failover --timeout 0 2>&1)
check "a bad --timeout is named" grep -q "'0' is not a number of seconds" <<<"$out"
expect_eq "refusals: node-a still MASTER" "$(ka_state "$NS_A")" MASTER
expect_eq "refusals: track_file untouched" "$(trk a)" 0
expect_eq "refusals: no route writes" "$(writes)" "$writes0"

# -- the switchover --------------------------------------------------------------
topo_probe "$T/probe.log" 20
t0=$EPOCHREALTIME
vf a failover --timeout 30 >"$T/sw1.out" 2>&1
expect_eq "failover: exit 0" "$?" 0
sed 's/^/# /' "$T/sw1.out"
check "failover: the steps, in order" in_order "$T/sw1.out" \
	"overlay: demoting this node \\($ENI_A\\) through $T/a/overlay.demote" \
	"overlay: demoted: keepalived on this node is FAULT" \
	"overlay: the peer \\($ENI_C\\) is MASTER" \
	"overlay: switched over: all 3 route table\\(s\\) point at the peer" \
	"failover done in"
for t in $TOPO_TABLES; do
	check "failover: shows $t moving" grep -q "overlay: $t now points at $ENI_C" "$T/sw1.out"
done
check_tables failover c
check "failover: client answered by node-c" within 5 traffic_at node-c
expect_eq "failover: node-a is FAULT" "$(ka_state "$NS_A")" FAULT
expect_eq "failover: track_file holds 1" "$(trk a)" 1
check "failover: status says demoted" status_is a "g['demoted']" True
check "failover: status text says demoted and how to undo it" bash -c \
	"$VPCF -c $T/a/vpcf.conf status | grep -q 'demoted for a planned switchover: .vpc-failover resume. undoes it'"
check "failover: the log says who demoted it" \
	grep -q "group overlay demoted (planned switchover) through $T/a/overlay.demote, for root (uid 0, pid" "$T/a/daemon.log"
last=$(last_answer 9e9 node-a) first=$(first_answer "$t0" node-c)
echo "# switchover: last answer from node-a $(ms_since "$last" "$t0") ms, first from node-c $(ms_since "$first" "$t0") ms after the command started"

# -- resume: with nopreempt node-a comes back as BACKUP --------------------------
out=$(vf a resume 2>&1)
expect_eq "resume: exit 0" "$?" 0
check "resume: says so" grep -q "overlay: demotion removed" <<<"$out"
expect_eq "resume: track_file holds 0" "$(trk a)" 0
check "resume: node-a BACKUP (nopreempt keeps node-c)" ka_wait_state "$NS_A" BACKUP 10
sleep 2
check "resume: routes stay at node-c" all_at "$ENI_C"
check "resume: client still answered by node-c" traffic_at node-c

# -- and back, with failover --clear on node-c afterwards -----------------------
vf c failover overlay >"$T/sw2.out" 2>&1
expect_eq "switch back from node-c: exit 0" "$?" 0
check_tables "switch back" a
check "switch back: client answered by node-a" within 5 traffic_at node-a
out=$(vf c failover --clear overlay 2>&1)
expect_eq "failover --clear: exit 0" "$?" 0
expect_eq "failover --clear: track_file holds 0" "$(trk c)" 0
check "failover --clear: node-c BACKUP" ka_wait_state "$NS_C" BACKUP 10

# -- keepalived does not track the file: nothing happens, rolled back ------------
node_conf a track="$T/a/elsewhere.demote"
kill -HUP "${DPID[a]}"
check "reload with another track_file" within 5 grep -q "reload: .* applied" "$T/a/daemon.log"
vf a failover --timeout 3 >"$T/sw3.out" 2>&1
expect_eq "untracked file: exit 1" "$?" 1
sed 's/^/# /' "$T/sw3.out"
check "untracked file: says keepalived is still MASTER and names the file" \
	grep -q "keepalived on this node is still MASTER: does its vrrp_instance track the file $T/a/elsewhere.demote" "$T/sw3.out"
check "untracked file: says the demotion was removed" grep -q "demotion removed" "$T/sw3.out"
expect_eq "untracked file: file back to 0" "$(cat "$T/a/elsewhere.demote")" 0
check "untracked file: routes still at node-a" all_at "$ENI_A"
node_conf a track="$T/a/overlay.demote"
kill -HUP "${DPID[a]}"

# -- no peer: the switchover times out and is rolled back ------------------------
ka_stop "${KPID[c]}"
vf a failover --timeout 4 >"$T/sw4.out" 2>&1
expect_eq "no peer: exit 1" "$?" 1
sed 's/^/# /' "$T/sw4.out"
check "no peer: reports NOT done" grep -q "failover NOT done after 4 s" "$T/sw4.out"
check "no peer: the tables still at this node are named" \
	grep -q "overlay: ${TOPO_TABLES%% *} still points at this node" "$T/sw4.out"
check "no peer: demotion removed" grep -q "no peer took over: demotion removed" "$T/sw4.out"
expect_eq "no peer: track_file back to 0" "$(trk a)" 0
check "no peer: node-a MASTER again" ka_wait_state "$NS_A" MASTER 10
check "no peer: routes at node-a" within 10 all_at "$ENI_A"
check "no peer: client answered by node-a" within 10 traffic_at node-a
ka_stop "${KPID[a]}"

# == negative weight with preemption: the Redis pair ==============================
echo 0 >"$T/a/overlay.demote"
ka_node_conf a notify "$(hook a)" track_file vpcf "$T/a/overlay.demote" -60
ka_node_conf c notify "$(hook c)" track_file vpcf "$T/c/overlay.demote" -60
k_start a && k_start c
expect_eq "keepalived (weight -60) restarted" "$?" 0
check "weight -60: node-a MASTER" ka_wait_state "$NS_A" MASTER 10
check "weight -60: routes at node-a" within 10 all_at "$ENI_A"
vf a failover --timeout 30 >"$T/sw5.out" 2>&1
expect_eq "weight -60: failover exit 0" "$?" 0
check "weight -60: node-a demoted to BACKUP (150 - 60 < 100)" \
	grep -q "demoted: keepalived on this node is BACKUP" "$T/sw5.out"
check_tables "weight -60" c
check "weight -60: client answered by node-c" within 5 traffic_at node-c
vf a resume >/dev/null 2>&1
expect_eq "weight -60: resume exit 0" "$?" 0
check "weight -60: node-a preempts back" ka_wait_state "$NS_A" MASTER 10
check "weight -60: routes back at node-a" within 10 all_at "$ENI_A"
check "weight -60: client answered by node-a" within 5 traffic_at node-a
