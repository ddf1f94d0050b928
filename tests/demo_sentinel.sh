#!/bin/bash
# make demo SOURCE=sentinel: Redis Sentinel decides, vpc-failover follows, on
# the simulated VPC. Redis runs on node-a (the primary) and node-c (its
# replica), three sentinels on node-a, node-c and the client
# (tests/sentinel.sh), and vpc-failoverd on both nodes with source =
# sentinel. A client asks the overlay IP every 20 ms while node-a's Redis is
# killed: Sentinel promotes node-c's, and the timeline shows Sentinel's
# share (detection, election, promotion) and ours (a quorum of sentinels
# asked, every route table written). Last, a sentinel that disagrees with
# the others is outvoted.
# Everything it starts is removed on exit, also on Ctrl-C (tests/lib.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/nodes.sh"
. "$(dirname "$0")/sentinel.sh"

if [ -t 1 ]; then BOLD=$'\033[1m' OFF=$'\033[0m'; else BOLD="" OFF=""; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"; }
indent() { sed '/./s/^/    /'; }
die() {
	echo "demo: $*" >&2
	for f in "$T"/a/daemon.log "$T"/c/daemon.log "$T"/sentinel-w-26379.log; do
		[ -s "$f" ] && { echo "--- ${f#"$T"/}"; tail -15 "$f"; } >&2
	done
	exit 1
}
for b in redis-server redis-sentinel redis-cli; do
	command -v "$b" >/dev/null || die "$b is not installed (scripts/deps.sh installs it)"
done

say "Setting up: a simulated VPC (router), node-a (AZ a), node-c (AZ c), a client"
topo_up || die "the topology did not come up"
sen_redis a || die "node-a's Redis did not start"
sen_redis c --replicaof "$A_ADDR" 6379 || die "node-c's Redis did not start"
sen_up || die "the sentinels did not start"
say "Three sentinels (node-a, node-c, client) watch master '$SEN_MASTER' (quorum 2, down-after-milliseconds $SEN_DOWN_MS)"
within 20 sen_settled || die "the sentinels did not find each other"
for w in a c w; do
	echo "sentinel on $(_sen_addr $w): master is $(sen_master $w | tr ' ' :)"
done | indent

say "vpc-failoverd on both nodes, source = sentinel; node-a's configuration:"
sen_node_conf a
sen_node_conf c
sed -n '/^\[group/,$p' "$T/a/vpcf.conf" | indent
set_all "$ENI_C"
d_start a >/dev/null || die "node-a's daemon did not start"
d_start c >/dev/null || die "node-c's daemon did not start"
within 10 all_at "$ENI_A" || die "the routes did not move to node-a"
within 5 status_is c "g['sentinel']['agree']" 3 || die "node-c's daemon did not hear the sentinels"

say "vpc-failover status on node-c"
vf c status | indent

say "A client asks the overlay IP every 20 ms; node-a's Redis is killed (SIGKILL)"
topo_probe "$T/probe.log" 20
sen_watch "$T/switch.log"
within 5 traffic_at node-a || die "the client does not reach node-a"
sleep 1
T0=$EPOCHREALTIME
kill -9 "${REDIS_PID[a]}"
wait "${REDIS_PID[a]}" 2>/dev/null
within 20 sen_master_is w "$C_ADDR 6379" || die "Sentinel did not promote node-c's Redis"
within 10 all_at "$ENI_C" || die "the routes did not follow"
within 5 traffic_at node-c || die "the client does not reach node-c"

say "Timeline (ms after the kill)"
ts=$(sen_switch_at "$T/switch.log" "$T0")
{
	echo "0 node-a's Redis killed"
	sort -n "$T/switch.log" | awk -v t="$T0" '$1 > t && /"message"/ && !seen[$2]++ {print $1, $2}' |
		while read -r t w; do
			echo "$(ms_since "$t" "$T0") Sentinel: +switch-master from the sentinel on $(_sen_addr "$w")"
		done
	topo_changes "$T0" | awk -v e="$ENI_C" '$5 == e && !seen[$3]++ {print $1 " " $3 " -> node-c"}' |
		while read -r t rest; do echo "$(ms_since "$t" "$T0") $rest"; done
	t=$(first_answer "$T0" node-c)
	[ -n "$t" ] && echo "$(ms_since "$t" "$T0") the client's first answer from node-c"
} | sort -n | awk '{printf "%6d ms  ", $1; $1 = ""; sub(/^ /, ""); print}' | indent
tm=$(tables_moved "$T0" "$ENI_C")
echo
echo "Sentinel's share (detection, election, promotion): $(ms_since "$ts" "$T0") ms;" \
	"ours (+switch-master -> every route table at node-c): $(ms_since "$tm" "$ts") ms"

say "vpc-failover status on node-c"
vf c status | indent

say "A sentinel that disagrees: the nodes are told of one on the client that monitors '$SEN_MASTER' at node-a ($A_ADDR:6390)"
sen_start w 26380 "$A_ADDR" 6390 1 || die "the disagreeing sentinel did not start"
mix="$A_ADDR:26379,$C_ADDR:26379,$SEN_CL_ADDR:26380"
sen_node_conf a sentinels="$mix"
sen_node_conf c sentinels="$mix"
kill -HUP "${DPID[a]}" "${DPID[c]}"
within 5 status_is a "g['sentinel']['agree']" 2 || die "node-a did not reload"
sleep 1
say "vpc-failover doctor on node-a: the minority is named, the quorum decides"
vf a doctor 2>&1 | grep -i "sentinel" | indent
all_at "$ENI_C" && echo "every route table still points at node-c"
echo
echo "Done; everything is removed now."
