#!/bin/bash
# The role guard end to end: real keepalived (advert_int 1) and real Redis
# on node-a (priority 150) and node-c (100) of the namespace topology
# (tests/topo.sh); each group has `guard = redis://127.0.0.1:6379`, the
# node's own Redis. node-c's Redis is the primary, node-a's a replica of it.
#   keepalived makes node-a MASTER: its guard says "replica", so the routes
#     stay at node-c (status, the log line once, the metrics say why);
#   REPLICAOF NO ONE on node-a's Redis: the routes follow within the retry
#     interval (1 s) plus the usual convergence; re-checks ask again: a
#     replica again refuses them (a new episode, logged again);
#   node-a's keepalived crashes: node-c (its Redis now a replica of nobody:
#     a primary) takes the routes; what the guard added to that failover is
#     its question's time, reported.
# Timings are "# " lines, never asserted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"
. "$(dirname "$0")/../keepalived.sh"
. "$(dirname "$0")/../nodes.sh"

topo_up || {
	not_ok "topology up"
	exit 1
}
ok "topology up"

# redis_on N ARGS: node N's Redis on 127.0.0.1 and its node address, port 6379
redis_on() {
	local n=$1 addr
	shift
	if [ "$n" = a ]; then addr=$A_ADDR; else addr=$C_ADDR; fi
	mkdir -p "$T/$n/redis"
	spawn "$T/$n/redis.log" ip netns exec "$(ns_of "$n")" redis-server --port 6379 \
		--bind "127.0.0.1 $addr" --save '' --appendonly no --dir "$T/$n/redis" \
		--protected-mode no "$@"
	within 10 rcli "$n" ping
}
rcli() { # N ARGS: redis-cli against node N's Redis
	local n=$1
	shift
	ip netns exec "$(ns_of "$n")" redis-cli -p 6379 "$@"
}
role_of() { rcli "$1" role | head -1; }
metric() { # N NAME: the value of vpc_failover_NAME{group="overlay"} on node N
	ip netns exec "$(ns_of "$1")" curl -s --max-time 2 http://127.0.0.1:9641/metrics |
		awk -v m="vpc_failover_$2{group=\"overlay\"}" '$1 == m {print $2}'
}

check "redis: node-c's starts (the primary)" redis_on c
check "redis: node-a's starts, a replica of node-c's" redis_on a --replicaof "$C_ADDR" 6379
expect_eq "redis: node-a's says slave" "$(role_of a)" slave
expect_eq "redis: node-c's says master" "$(role_of c)" master

guard="guard = redis://127.0.0.1:6379"$'\n'"guard_timeout_ms = 500"
node_conf a recheck=2 more="$guard"
node_conf c recheck=2 more="$guard"
ka_node_conf a notify "$(hook a)"
ka_node_conf c notify "$(hook c)"
set_all "$ENI_C"
check "daemon on node-a starts" d_start a
check "daemon on node-c starts" d_start c
check "config check passes with the guard keys" bash -c "\"$VPCFD\" -n -c $T/a/vpcf.conf >/dev/null"

# -- node-a MASTER, its Redis a replica: the guard keeps the routes off it ------------
t0=$EPOCHREALTIME
k_start a && k_start c
expect_eq "keepalived started on both nodes" "$?" 0
check "node-a (priority 150) becomes MASTER" ka_wait_state "$NS_A" MASTER 10
check "node-a's status: refused by guard" within 5 \
	status_is a "g['state'], g['phase']" "MASTER refused by guard"
sleep 3
check "replica: after 3 s every table still points at node-c" all_at "$ENI_C"
expect_eq "replica: node-a's status names the guard's answer" \
	"$(st_of a "g['guard']['answer'], g['guard']['detail']")" \
	"replica redis at 127.0.0.1:6379 is a replica (of $C_ADDR:6379)"
out=$(vf a status)
check "replica: vpc-failover status says routes not taken" grep -q \
	"guard: redis at 127.0.0.1:6379 is a replica (of $C_ADDR:6379); routes not taken" <<<"$out"
expect_eq "replica: the alert line is logged once for the episode" \
	"$(grep -c "GUARD: group overlay is MASTER but redis at 127.0.0.1:6379 is a replica" "$T/a/daemon.log")" 1
r=$(metric a guard_refusals_total)
check "replica: vpc_failover_guard_refusals_total counts the refusals (asked every second)" \
	test "${r:-0}" -ge 3
expect_eq "replica: vpc_failover_guard_primary is 0" "$(metric a guard_primary)" 0
expect_eq "replica: node-a wrote no route" "$(st_of a "g['route_updates']['ok']")" 0
kill -HUP "${DPID[a]}"
check "replica: a reload (SIGHUP) is applied" within 5 grep -q "reload: .* applied, 1 groups" "$T/a/daemon.log"
r=$(st_of a "g['guard']['refusals']")
check "replica: after the reload the guard still refuses" within 5 \
	status_is a "g['phase'], g['guard']['refusals'] > $r" "refused by guard True"
expect_eq "replica: the reload started no new alert episode" \
	"$(grep -c "GUARD: group overlay is MASTER but" "$T/a/daemon.log")" 1
check "replica: every table still points at node-c" all_at "$ENI_C"

# -- promotion: the routes follow ---------------------------------------------------------
t0=$EPOCHREALTIME
rcli a replicaof no one >/dev/null
check "promoted: every table moves to node-a" within 10 all_at "$ENI_A"
check_tables promoted a
check "promoted: client answered by node-a" within 5 traffic_at node-a
check "promoted: node-a converged" within 5 status_is a "g['phase'], g['guard']['answer']" "converged primary"
check "promoted: the daemon logs that it takes the routes" \
	grep -q "guard: redis at 127.0.0.1:6379 is the primary: taking the routes" "$T/a/daemon.log"
expect_eq "promoted: vpc_failover_guard_primary is 1" "$(metric a guard_primary)" 1
echo "# promotion (REPLICAOF NO ONE) -> every table at node-a $(ms_since "$(tables_moved "$t0" "$ENI_A")" "$t0") ms" \
	"(the guard asks every 1000 ms while it refuses)"
# re-checks (every 2 s) ask again, and find the primary
p=$(st_of a "g['passes']")
r=$(st_of a "g['guard']['refusals']")
sleep 5
expect_eq "promoted: re-checks go on and ask, with no new refusal" \
	"$(st_of a "g['passes'] > $p, g['guard']['refusals']")" "True $r"

# -- demoted while MASTER: the re-checks refuse; promoted again: they go on ------------
rcli a replicaof "$C_ADDR" 6379 >/dev/null
check "demoted: a re-check refuses" within 6 status_is a "g['phase']" "refused by guard"
expect_eq "demoted: a second alert line, for the new episode" \
	"$(grep -c "GUARD: group overlay is MASTER but redis at 127.0.0.1:6379 is a replica" "$T/a/daemon.log")" 2
rcli a replicaof no one >/dev/null
check "promoted again: node-a converged" within 5 status_is a "g['phase']" converged
check "promoted again: every table at node-a" all_at "$ENI_A"

# -- failover to node-c, whose Redis is a primary: the guard adds one question ------------
rcli c replicaof no one >/dev/null
ka_kill "${KPID[a]}"
t0=$KA_KILL_TIME
check "crash: node-c becomes MASTER" ka_wait_state "$NS_C" MASTER 10
check "crash: every table moves to node-c" within 10 all_at "$ENI_C"
check_tables crash c
expect_eq "crash: node-c's guard said primary" "$(st_of c "g['guard']['answer']")" primary
expect_eq "crash: node-c refused nothing" "$(st_of c "g['guard']['refusals']")" 0
tm=$(ka_master_at "$NS_C" "$t0")
echo "# crash: node-c MASTER -> tables $(ms_since "$(tables_moved "$t0" "$ENI_C")" "$tm") ms" \
	"(daemon: $(st_of c "g['convergence_ms']") ms from the event; the last guard" \
	"question took $(st_of c "g['guard']['ms']") ms)"

ka_stop "${KPID[c]}"
d_stop a
d_stop c
echo "1..$tapn"
[ "$FAILS" = 0 ]
