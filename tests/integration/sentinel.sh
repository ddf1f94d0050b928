#!/bin/bash
# Real components: Redis Sentinel (three sentinels, on node-a, node-c and
# the client; Redis on node-a, the primary, and node-c, its replica;
# tests/sentinel.sh) decides the master; vpc-failoverd on both nodes follows
# a quorum of the sentinels (source = sentinel) and points every route table
# of the namespace topology at the master's node.
#   start: node-a's Redis is the master, every table moves to node-a;
#   failover: node-a's Redis killed, Sentinel promotes node-c's, every table
#     follows (timings: Sentinel's detection, then ours);
#   a sentinel minority disagreeing: the daemons reloaded with a third
#     sentinel (a real one on the client, monitoring a master that names
#     node-a) in place of the client's: the two others still say node-c,
#     so the quorum decides (node-a stays BACKUP, no table moves); with
#     node-c's sentinel stopped no two agree: node-c's group is held
#     (sentinel_unreachable = keep), nothing is written; node-c's sentinel
#     back: converged again; the same with sentinel_unreachable =
#     step_down: node-c goes BACKUP, writes nothing, and is MASTER again
#     once the quorum is back.
# Timings are "# " lines, never asserted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"
. "$(dirname "$0")/../nodes.sh"
. "$(dirname "$0")/../sentinel.sh"

for b in redis-server redis-sentinel redis-cli; do
	command -v "$b" >/dev/null || { echo "1..0 # SKIP $b not installed (scripts/deps.sh)"; exit 0; }
done

topo_up || { not_ok "topology up"; exit 1; }
check "redis: node-a's starts (the primary)" sen_redis a
check "redis: node-c's starts, a replica of node-a's" sen_redis c --replicaof "$A_ADDR" 6379
t0=$EPOCHREALTIME
check "sentinel: three sentinels start" sen_up
check "sentinel: each knows the two others and the replica" within 15 sen_settled
echo "# sentinels settled after $(ms_since "$EPOCHREALTIME" "$t0") ms"

# == start ====================================================================
sen_node_conf a
sen_node_conf c
check "a sentinel group's configuration checks" "$VPCFD" -n -c "$T/a/vpcf.conf"
set_all "$ENI_C"
check "daemon on node-a starts" d_start a
check "daemon on node-c starts" d_start c
check "start: every table moves to node-a" within 10 all_at "$ENI_A"
check_tables start a
check "start: node-a MASTER converged, source sentinel, master node-a's" within 5 status_is a \
	"g['state'], g['converged'], g['source'], g['sentinel']['master'], g['sentinel']['this_node']" \
	"MASTER True sentinel $A_ADDR:6379 True"
check "start: node-c BACKUP, 3 of 3 sentinels agree, all subscribed" within 5 status_is c \
	"g['state'], g['sentinel']['agree'], [x['subscribed'] for x in g['sentinel']['sentinels']]" \
	"BACKUP 3 [True, True, True]"
expect_eq "start: the events came from the sentinel source" "$(st_of a "g['last_source']")" sentinel
out=$(vf c status 2>&1)
check "status names the source and what the quorum says" grep -q \
	"group overlay: BACKUP (sentinel: master '$SEN_MASTER' at $A_ADDR:6379 (another node), 3 of 3 sentinels agree (quorum 2))" <<<"$out"
check "status shows each sentinel's answer" grep -q "sentinel $C_ADDR:26379: $A_ADDR:6379\$" <<<"$out"
out=$(vf a failover overlay 2>&1)
check "failover of a sentinel group is refused: SENTINEL FAILOVER switches over" \
	grep -q "follows Redis Sentinel: switch over with SENTINEL FAILOVER $SEN_MASTER" <<<"$out"
vf c doctor >"$T/doctor.out" 2>&1
check "doctor: every sentinel answers, naming the master" \
	test "$(grep -c "\[overlay\] sentinel .* says master '$SEN_MASTER' is $A_ADDR:6379" "$T/doctor.out")" = 3
check "doctor: the quorum, and this node's role" grep -q \
	"3 of 3 sentinels agree: master '$SEN_MASTER' at $A_ADDR:6379, not this node: BACKUP" "$T/doctor.out"
m=$(vf a metrics 2>/dev/null)
check "metrics: every sentinel reachable" test "$(grep -c '^vpc_failover_sentinel_reachable{.*} 1$' <<<"$m")" = 3
check "metrics: the quorum agrees" grep -q '^vpc_failover_sentinel_quorum_agrees{group="overlay"} 1$' <<<"$m"

# == failover: kill node-a's Redis ============================================
sen_watch "$T/switch.log"
sleep 0.5
w0=$(writes)
t0=$EPOCHREALTIME
kill -9 "${REDIS_PID[a]}"
wait "${REDIS_PID[a]}" 2>/dev/null
check "failover: Sentinel promotes node-c's Redis" within 20 sen_master_is w "$C_ADDR 6379"
check "failover: every table moves to node-c" within 10 all_at "$ENI_C"
check_tables failover c
check "failover: node-c MASTER converged, node-a BACKUP" within 5 bash -c \
	"$(declare -f st_of status_is vf); VPCF='$VPCF' T='$T' NS_A='$NS_A' NS_C='$NS_C'; $(declare -f ns_of);
	 status_is c \"g['state'], g['converged']\" 'MASTER True' && status_is a \"g['state']\" BACKUP"
ts=$(sen_switch_at "$T/switch.log" "$t0")
tm=$(tables_moved "$t0" "$ENI_C")
echo "# failover: kill -> first +switch-master $(ms_since "$ts" "$t0") ms" \
	"(Sentinel: down-after-milliseconds $SEN_DOWN_MS, election, promotion);" \
	"+switch-master -> last table at node-c $(ms_since "$tm" "$ts") ms (ours: a quorum of" \
	"answers, then the writes; node-c converged in $(st_of c "g['convergence_ms']") ms from its event)"
expect_eq "failover: node-c was told by +switch-master events" \
	"$(st_of c "g['sentinel']['events'] > 0")" True
check "fast path: Sentinel's client-reconfig-script told node-c's daemon" within 10 \
	grep -q "client-reconfig-script from .*master now $C_ADDR:6379" "$T/c/daemon.log"
check "fast path: and node-a's (its daemon asked the sentinels again)" within 10 \
	grep -q "client-reconfig-script from .*master now $C_ADDR:6379" "$T/a/daemon.log"
expect_eq "fast path: the script said nothing on stderr" "$(cat "$T/c/reconfig.err" 2>/dev/null)" ""

# sentinel-reconfig by hand: bad arguments change nothing
r=$(st_of a "g['sentinel']['rechecks']")
out=$(vf a sentinel-reconfig "$SEN_MASTER" leader failover "$A_ADDR" 6379 "$C_ADDR" 0 2>&1)
expect_eq "sentinel-reconfig: a bad port is a usage error (exit 2)" "$?" 2
check "sentinel-reconfig: the error names the argument" grep -q "to port '0': want 1 to 65535; nothing done" <<<"$out"
out=$(vf a sentinel-reconfig "$SEN_MASTER" leader failover 2>&1)
expect_eq "sentinel-reconfig: too few arguments: exit 2" "$?" 2
out=$(vf a sentinel-reconfig other leader failover "$A_ADDR" 6379 "$C_ADDR" 6379 2>&1)
expect_eq "sentinel-reconfig: a master no group follows: exit 2" "$?" 2
check "sentinel-reconfig: ... and says so" grep -q "no group of .* follows Sentinel master 'other'" <<<"$out"
expect_eq "sentinel-reconfig: nothing was asked for the bad ones" "$(st_of a "g['sentinel']['rechecks']")" "$r"
# the arguments are a hint: one that names node-a is not followed
vf a sentinel-reconfig "$SEN_MASTER" leader failover "$C_ADDR" 6379 "$A_ADDR" 6379
expect_eq "sentinel-reconfig: a good one is accepted (exit 0)" "$?" 0
check "sentinel-reconfig: node-a asked again" within 3 status_is a "g['sentinel']['rechecks']" "$((r + 1))"
sleep 1
expect_eq "sentinel-reconfig: node-a still BACKUP (the quorum says node-c)" "$(st_of a "g['state']")" BACKUP
check "sentinel-reconfig: every table still at node-c" all_at "$ENI_C"

# == a sentinel minority disagreeing ==========================================
# A fourth sentinel on the client, port 26380, monitors a master it says is
# node-a's (port 6390: nothing listens; it knows no replica to promote, so
# it keeps saying so). The nodes are told the two real sentinels on the
# nodes and this one: a minority that disagrees.
check "minority: a disagreeing sentinel starts" sen_start w 26380 "$A_ADDR" 6390 1
expect_eq "minority: it says node-a" "$(sen_master w 26380)" "$A_ADDR 6390"
mix="$A_ADDR:26379,$C_ADDR:26379,$SEN_CL_ADDR:26380"
sen_node_conf a sentinels="$mix"
sen_node_conf c sentinels="$mix"
w0=$(writes)
kill -HUP "${DPID[a]}" "${DPID[c]}"
check "minority: both reloads applied" within 5 bash -c \
	"[ \$(grep -c 'reload: .* applied' '$T/a/daemon.log') = 1 ] && [ \$(grep -c 'reload: .* applied' '$T/c/daemon.log') = 1 ]"
check "minority: node-a sees 2 of 3 agree on node-c's, and stays BACKUP" within 5 status_is a \
	"g['state'], g['sentinel']['agree'], g['sentinel']['master'], g['sentinel']['sentinels'][2]['master']" \
	"BACKUP 2 $C_ADDR:6379 $A_ADDR:6390"
vf a doctor >"$T/doctor.out" 2>&1
check "minority: doctor names the disagreeing sentinel" grep -q \
	"sentinel $SEN_CL_ADDR:26380 disagrees: it says $A_ADDR:6390, the quorum $C_ADDR:6379" "$T/doctor.out"
check "minority: doctor says the quorum's master is not node-a" grep -q \
	"2 of 3 sentinels agree: master '$SEN_MASTER' at $C_ADDR:6379, not this node: BACKUP" "$T/doctor.out"
expect_eq "minority: node-a is still BACKUP" "$(st_of a "g['state']")" BACKUP
check "minority: every table still at node-c" all_at "$ENI_C"
expect_eq "minority: nothing written" "$(writes)" "$w0"

# Now no two agree: node-c's sentinel stops answering (SIGSTOP; node-a's
# says node-c, the client's node-a). keep: node-c's group is held, nothing
# is written.
kill -STOP "${SEN_PID[c:26379]}"
check "no quorum: node-c's group is held" within 8 status_is c \
	"g['state'], g['sentinel']['held'], g['phase']" "MASTER True held (leader source unreachable)"
check "no quorum: status says why" within 3 status_is c \
	"g['sentinel']['error']" "at most 1 of 3 sentinels agree on an address (quorum 2)"
vf c doctor >"$T/doctor.out" 2>&1
check "no quorum: doctor FAILs and says why" grep -q \
	"no quorum: 2 of 3 sentinels answer, at most 1 agree" "$T/doctor.out"
m=$(vf c metrics 2>/dev/null)
check "no quorum: the quorum gauge says 0" grep -q '^vpc_failover_sentinel_quorum_agrees{group="overlay"} 0$' <<<"$m"
expect_eq "no quorum: node-a stays BACKUP" "$(st_of a "g['state']")" BACKUP
check "no quorum: every table still at node-c" all_at "$ENI_C"
expect_eq "no quorum: nothing written" "$(writes)" "$w0"
kill -CONT "${SEN_PID[c:26379]}"
check "quorum back: node-c converged, not held" within 10 status_is c \
	"g['state'], g['sentinel']['held'], g['converged']" "MASTER False True"
check "quorum back: every table at node-c" all_at "$ENI_C"

# step_down: the same loss of quorum, node-c set to step down after 1 s: it
# goes BACKUP (writing nothing), and is MASTER again once the quorum is back.
sen_node_conf c sentinels="$mix" more=$'sentinel_unreachable = step_down\nsentinel_step_down_after = 1'
kill -HUP "${DPID[c]}"
check "step_down: the reload applied" within 5 bash -c \
	"[ \$(grep -c 'reload: .* applied' '$T/c/daemon.log') = 2 ]"
w0=$(writes)
kill -STOP "${SEN_PID[c:26379]}"
check "step_down: no quorum for 1 s: node-c steps down to BACKUP" within 10 status_is c \
	"g['state'], g['sentinel']['stepped_down']" "BACKUP True"
expect_eq "step_down: nothing written" "$(writes)" "$w0"
kill -CONT "${SEN_PID[c:26379]}"
check "step_down, quorum back: node-c MASTER, converged" within 10 status_is c \
	"g['state'], g['sentinel']['stepped_down'], g['converged']" "MASTER False True"
check "step_down, quorum back: every table at node-c" all_at "$ENI_C"

# == a sentinel that wants a password (sentinel_password_file) ================
# One more sentinel on the client, port 26381, with requirepass; node-c is
# told it alone (quorum 1), with the password from a file, then a wrong one.
printf 's3n-Pw-ok\n' >"$T/senpw" && chmod 600 "$T/senpw"
printf 'wrong-pw\n' >"$T/senpw-bad" && chmod 600 "$T/senpw-bad"
SEN_CONF_MORE="requirepass s3n-Pw-ok" REDISCLI_AUTH=s3n-Pw-ok check \
	"password: a sentinel with requirepass starts" sen_start w 26381 "$C_ADDR" 6379 1
pw_conf() { # FILE
	sen_node_conf c sentinels="$SEN_CL_ADDR:26381" more="sentinel_password_file = $1"
	kill -HUP "${DPID[c]}"
}
pw_conf "$T/senpw"
check "password: node-c authenticates, 1 of 1 agrees, MASTER converged" within 10 status_is c \
	"g['sentinel']['agree'], g['sentinel']['master'], g['state'], g['converged']" \
	"1 $C_ADDR:6379 MASTER True"
pw_conf "$T/senpw-bad"
check "password: a wrong one: the sentinel's refusal, naming the file" within 10 status_is c \
	"g['sentinel']['sentinels'][0]['error'].startswith('AUTH: ') and g['sentinel']['sentinels'][0]['error'].endswith('(sentinel_password_file)'), g['sentinel']['agree']" \
	"True 0"
check "password: a wrong one: node-c's group is held" within 10 status_is c \
	"g['sentinel']['held']" True
check "password: never in the log" bash -c "! grep -q 's3n-Pw-ok\\|wrong-pw' '$T/c/daemon.log'"
check "password: every table still at node-c" all_at "$ENI_C"

d_stop a
d_stop c
echo "1..$tapn"
[ "$FAILS" = 0 ]
