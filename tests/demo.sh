#!/bin/bash
# make demo: a keepalived failover on the simulated VPC. Real keepalived and
# vpc-failoverd run on node-a and node-c (network namespaces); a client asks
# the overlay IP every 20 ms while node-a crashes, and the timeline shows
# what happened when: VRRP, each route table, the client's traffic. Then
# node-a comes back and the operator switches back with a planned
# switchover (vpc-failover failover on node-c); last, what each node told
# "Mackerel" (graph annotations) and "the chat" (webhook), as received by a
# local HTTP receiver in each node's namespace. The daemons hold the overlay
# IP on lo while MASTER only (vip_device), so the node that is not MASTER
# can probe the MASTER through the VPC (probe = tcp:7000), and each reports
# the network WIN seconds before and after its transition to MASTER
# ([netmon] failover_window).
# Everything it starts is removed on exit, also on Ctrl-C (tests/lib.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/keepalived.sh"

# A node reads its identity and role credentials from instance metadata.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE

if [ -t 1 ]; then BOLD=$'\033[1m' OFF=$'\033[0m'; else BOLD="" OFF=""; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"; }
indent() { sed '/./s/^/    /'; }
die() {
	echo "demo: $*" >&2
	for f in "$T"/a/daemon.log "$T"/c/daemon.log; do
		[ -s "$f" ] && { echo "--- ${f#"$T"/}"; tail -15 "$f"; } >&2
	done
	exit 1
}

# receiver N NS: the node's stand-in for Mackerel and the chat, on its own
# loopback; sets RX_PORT
receiver() {
	local d=$T/$1
	spawn "$d/rx.out" ip netns exec "$2" /usr/bin/python3 "$TOP/tests/tools/receiver.py" \
		--port-file "$d/rx.port" --log "$d/rx.log" --lifetime 600
	wait_for 10 test -s "$d/rx.port" || return 1
	RX_PORT=$(cat "$d/rx.port")
}

# node N NS MY_ADDR PEER_ADDR PRIORITY: config, daemon and keepalived for a
# node: the notify hook, nopreempt (a node that comes back stays BACKUP),
# and a track_file for planned switchover (weight 0: FAULT)
node() {
	local n=$1 ns=$2 d=$T/$1
	mkdir -p "$d"
	receiver "$n" "$ns" || return 1
	echo "demo-key-$n" >"$d/mackerel.key"
	chmod 600 "$d/mackerel.key"
	topo_conf "$d/vpcf.conf" "$d" "$(printf '%s\n' "[netmon]" "interval = 1" \
		"zone.clients = 198.18.100.0/24" "failover_window = $WIN" "[mackerel]" \
		"api_key_file = $d/mackerel.key" "service = demo" "roles = db" \
		"api_url = http://127.0.0.1:$RX_PORT" "[webhook]" \
		"url = http://127.0.0.1:$RX_PORT/chat")" "$(printf '%s\n' \
		"track_file = $d/overlay.demote" "vip_device = lo" "probe = tcp:7000" \
		"probe_interval = 2")"
	# its own host name (UTS namespace), as a real node has: the
	# notifications name the node
	spawn "$d/daemon.log" unshare --uts /bin/bash -c 'hostname "$1" && exec ip netns exec "$2" "$3" -f -c "$4"' \
		_ "node-$n" "$ns" "$VPCFD" "$d/vpcf.conf"
	wait_for 10 grep -q "instance i-" "$d/daemon.log" || return 1
	ka_conf "$ns" "$3" "$4" "$5" "$d/keepalived.conf" advert_int 1 nopreempt \
		notify "$VPCF -c $d/vpcf.conf notify" \
		track_file vpcf_overlay "$d/overlay.demote" 0 || return 1
	ka_start "$ns" "$d/keepalived.conf" || return 1
	KPID[$n]=$KA_PID
}
declare -A KPID
WIN=5 # [netmon] failover_window: seconds before and after a transition to MASTER

# told N WHICH: what node N's receiver got, WHICH = network (the messages
# about the network around a failover) or other (all the rest)
told() {
	/usr/bin/python3 - "$T/$1/rx.log" "$2" <<-'P' | indent
	import json, sys
	for line in open(sys.argv[1]):
	    r = json.loads(line)
	    if r.get("event") != "request":
	        continue
	    b = json.loads(r["body"])
	    ann = r["path"] == "/api/v0/graph-annotations"
	    net = b.get("event") == "network" or (ann and b["title"].endswith("the network around it"))
	    if net != (sys.argv[2] == "network"):
	        continue
	    if ann:
	        print("annotation: %s  [from %d to %d, service %s, roles %s]" % (
	            b["title"], b["from"], b["to"], b["service"], ",".join(b.get("roles", []))))
	        for d in b["description"].splitlines():
	            print("    " + d)
	    else:
	        print("chat: " + b["text"])
	P
}

# epoch seconds -> "+NNNN ms" after the kill
at() { awk -v a="$1" -v b="$T0" 'BEGIN {printf "%+7d ms", (a - b) * 1000}'; }

say "Setting up: a simulated VPC (router), node-a (AZ a), node-c (AZ c), a client"
topo_up || die "the namespace topology did not come up"
echo "overlay IP $OVERLAY_CIDR, in route tables: $TOPO_TABLES"
echo "the router's kernel follows ${TOPO_TABLES%% *}: $(ip -n "$NS_R" route show "$OVERLAY")"
# vip_device = lo: the daemon puts the overlay IP on the MASTER's lo only
ip -n "$NS_A" addr del "$OVERLAY_CIDR" dev lo
ip -n "$NS_C" addr del "$OVERLAY_CIDR" dev lo

say "Starting vpc-failoverd and keepalived on both nodes"
echo "keepalived: VRRP over unicast, advert_int 1; node-a priority 150, node-c 100"
echo "notify hook: $VPCF -c CONF notify   (keepalived appends INSTANCE VI_1 STATE PRIO)"
echo "vpc-failoverd: the overlay IP on lo while MASTER only (vip_device = lo); the node"
echo "that is not MASTER probes it through the VPC (probe = tcp:7000); the network"
echo "$WIN s before and after each transition to MASTER (failover_window = $WIN)"
node a "$NS_A" 198.18.1.2 198.18.3.2 150 || die "node-a did not start"
node c "$NS_C" 198.18.3.2 198.18.1.2 100 || die "node-c did not start"
ka_wait_state "$NS_A" MASTER 10 || die "node-a did not become MASTER"
ka_wait_state "$NS_C" BACKUP 5 || die "node-c did not become BACKUP"
probed() { # N [RESULT]: the node probes and has a result (RESULT, or any but "local")
	"$VPCF" -c "$T/$1/vpcf.conf" status --json 2>/dev/null | /usr/bin/python3 -c "
import json, sys
p = json.load(sys.stdin)['groups'][0].get('probe') or {}
r = (p.get('destinations') or [{}])[0].get('result')
sys.exit(not p.get('probing') or (r != sys.argv[1] if sys.argv[1] else r in (None, 'none', 'local')))" "${2:-}"
}
converged() { # N: the node's daemon says its group converged
	"$VPCF" -c "$T/$1/vpcf.conf" status --json 2>/dev/null |
		/usr/bin/python3 -c "import json,sys; sys.exit(json.load(sys.stdin)['groups'][0]['phase'] != 'converged')"
}
wait_for 10 converged a || die "node-a's routes did not converge"
# node-c probed before node-a held the overlay IP; its next probe (every 2 s)
# finds node-a
wait_for 5 probed c ok || echo "  (node-c's probe has not reached node-a within 5 s)"
echo "node-a: $(ka_state "$NS_A")    node-c: $(ka_state "$NS_C")"

say "Route tables (vpc-failover routes, run on node-c)"
ip netns exec "$NS_C" "$VPCF" -c "$T/c/vpcf.conf" routes 2>/dev/null | indent

say "vpc-failover status on node-a"
"$VPCF" -c "$T/a/vpcf.conf" status | indent
say "vpc-failover status on node-c"
"$VPCF" -c "$T/c/vpcf.conf" status | indent

say "A client asks the overlay IP every 20 ms (one TCP connection each)"
topo_probe "$T/probe.log" 20
sleep 1
echo "answers so far: $(awk '{n[$2]++} END {for (k in n) printf "%s %d  ", k, n[k]}' "$T/probe.log")"

say "node-a crashes: SIGKILL to its keepalived and its service"
topo_crash "${KPID[a]}" node-a || die "could not kill node-a's keepalived"
T0=$TOPO_CRASH_TIME
echo "at $(date -d "@${T0%.*}" +%T).$(cut -c1-3 <<<"${T0#*.}"); node-c hears nothing, its master-down timer must fire (~3 s)"
moved=""
for ((i = 0; i < 150; i++)); do # 15 s at most
	moved=$(awk -v t="$T0" '$1 > t && $2 == "node-c" {print $1; exit}' "$T/probe.log")
	[ -n "$moved" ] && break
	sleep 0.1
done
sleep 0.5 # a few more answers for the record

# The daemons' own view: node-c's first-traffic watch, node-a's overlay
# counters (collected every second) seeing the traffic stop.
ovz() { # N PYTHON-EXPR over z, the zone "clients" of the node's overlay view
	"$VPCF" -c "$T/$1/vpcf.conf" status --json 2>/dev/null | /usr/bin/python3 -c "
import json, sys
g = json.load(sys.stdin)['groups'][0]['traffic']
z = [z for z in g.get('overlay', {}).get('zones', []) if z['zone'] == 'clients']
f = [f for f in g.get('timeline', {}).get('first_traffic', []) if f['zone'] == 'clients']
z = z[0] if z else {}
f = f[0] if f else {}
v = $2
print('' if v is None else v)" 2>/dev/null
}
for ((i = 0; i < 30; i++)); do [ -n "$(ovz a "z.get('stopped_at_us')")" ] && break; sleep 0.1; done
first=$(ovz c "f['at_us'] / 1e6 if f.get('at_us') else None")
stopped=$(ovz a "z['stopped_at_us'] / 1e6 if z.get('stopped_at_us') else None")
say "Timeline (ms after the kill; from the client's log, keepalived's FIFO, the EC2 change log, and the daemons' overlay counters)"
last=$(awk -v t="$T0" '$1 <= t && $2 == "node-a" {x = $1} END {print x}' "$T/probe.log")
{
	echo "$T0 node-a: kill -9 keepalived and the service"
	[ -n "$last" ] && echo "$last client: last answer from node-a"
	ka_events "$NS_C" | awk -v t="$T0" '$1 > t && $4 == "MASTER" {print $1 " node-c: keepalived says MASTER (VRRP transition)"; exit}'
	topo_changes "$T0" | awk -v e="$ENI_C" '$5 == e && !seen[$3]++ {print $1 " " $3 ": " $2 " -> node-c (" $5 ")"}'
	[ -n "$moved" ] && echo "$moved client: first answer from node-c"
	[ -n "$first" ] && echo "$first node-c (vpc-failoverd): first traffic from zone clients (counter read every 10 ms)"
	[ -n "$stopped" ] && echo "$stopped node-a (vpc-failoverd): traffic from zone clients stopped arriving (collected every 1 s)"
} | sort -n | while read -r t what; do
	printf '  %s  %s\n' "$(at "$t")" "$what"
done
if [ -n "$moved" ]; then
	tm=$(ka_events "$NS_C" | awk -v t="$T0" '$1 > t && $4 == "MASTER" {print $1; exit}')
	tr=$(topo_changes "$T0" | awk -v e="$ENI_C" '$5 == e {x = $1} END {print x}')
	echo
	awk -v k="$T0" -v m="$tm" -v r="$tr" -v c="$moved" -v l="${last:-$T0}" 'BEGIN {
		printf "  VRRP detection (kill -> node-c MASTER)         %6d ms\n", (m - k) * 1000
		printf "  vpc-failover (MASTER -> all tables converged)  %6d ms\n", (r - m) * 1000
		printf "  client outage (last node-a -> first node-c)    %6d ms\n", (c - l) * 1000
	}'
else
	echo "  client traffic did not reach node-c within 15 s"
fi

say "Route tables after (vpc-failover routes, run on node-c)"
ip netns exec "$NS_C" "$VPCF" -c "$T/c/vpcf.conf" routes 2>/dev/null | indent
echo "the router's kernel: $(ip -n "$NS_R" route show "$OVERLAY")"

say "vpc-failover status on node-c, once settled"
# The settle checks: node-c looks at its tables again after about a second
# and once request_timeout (2 s here) + 1 s has passed, in case node-a's
# writes were still in flight; only then is the failover "converged".
wait_for 10 converged c || echo "  (node-c has not settled within 10 s)"
"$VPCF" -c "$T/c/vpcf.conf" status | indent
[ -n "$moved" ] || die "the crash failover did not move the client's traffic"

say "The network $WIN s before -> after node-c's transition to MASTER (failover_window = $WIN)"
# node-c takes "the W after" W after its transition: wait for it (bounded),
# then its status, and what its receiver got (the webhook's "network"
# message, the second annotation)
netdone() { # N: the node's timeline.network is no longer pending
	"$VPCF" -c "$T/$1/vpcf.conf" status --json 2>/dev/null | /usr/bin/python3 -c "
import json, sys
n = json.load(sys.stdin)['groups'][0]['traffic'].get('timeline', {}).get('network')
sys.exit(not n or n['pending'])"
}
nettold() { [ "$(told "$1" network | grep -c '^ *\(chat\|annotation\):')" -ge 2 ]; } # N: both arrived
if wait_for $((WIN + 5)) netdone c; then
	"$VPCF" -c "$T/c/vpcf.conf" status | awk '
		/^ +network [0-9]+ s before/ {on = 1; ind = match($0, /[^ ]/); print substr($0, ind); next}
		on && match($0, /[^ ]/) > ind {print substr($0, ind); next}
		{on = 0}' | indent
	echo "(before, node-c was BACKUP: the clients' traffic went to node-a)"
	wait_for 5 nettold c || echo "  (node-c's receiver got no network message within 5 s)"
	sleep 0.5 # the annotation and the webhook go out side by side
	told c network
else
	echo "  (node-c's network window was still pending after $((WIN + 5)) s)"
fi

say "node-a comes back: keepalived and the service restart (nopreempt: node-a stays BACKUP)"
topo_responder "$NS_A" node-a || die "node-a's service did not restart"
ka_start "$NS_A" "$T/a/keepalived.conf" || die "node-a's keepalived did not restart"
KPID[a]=$KA_PID
ka_wait_state "$NS_A" BACKUP 10 || die "node-a did not come back as BACKUP"
echo "node-a: $(ka_state "$NS_A")    node-c: $(ka_state "$NS_C")"
# node-a, BACKUP, no longer holds the overlay IP: it probes node-c through
# its own zone's route table, 200 ms after the transition
wait_for 5 probed a || echo "  (node-a has not probed within 5 s)"
echo "node-a's probe of the overlay IP, now answered by node-c:"
"$VPCF" -c "$T/a/vpcf.conf" status | grep -E '^ *probe ' | sed 's/^ *//' | indent

say "Planned switchover back to node-a: vpc-failover failover, run on node-c (the MASTER)"
echo "keepalived.conf tracks $T/c/overlay.demote with weight 0: writing 1 puts node-c in FAULT"
ip netns exec "$NS_C" "$VPCF" -c "$T/c/vpcf.conf" failover --timeout 30 2>/dev/null | indent
[ "${PIPESTATUS[0]}" = 0 ] || die "the planned switchover did not complete"
echo "client answers since: $(awk -v t="$(date +%s)" '$1 > t - 2 {n[$2]++} END {for (k in n) printf "%s %d  ", k, n[k]}' "$T/probe.log")"
ip netns exec "$NS_C" "$VPCF" -c "$T/c/vpcf.conf" resume 2>/dev/null | indent
ka_wait_state "$NS_C" BACKUP 10 || die "node-c did not come back as BACKUP after resume"
echo "node-a: $(ka_state "$NS_A")    node-c: $(ka_state "$NS_C")"

say "What the nodes told Mackerel (graph annotations) and the chat (webhook)"
# node-a's last failover is reported once it settled.
wait_for 10 converged a || echo "  (node-a has not settled within 10 s)"
sleep 1 # the messages are sent beside the failover, not before it
for n in c a; do
	told "$n" other
done
echo "(and the network messages, node-c's shown above; node-a's for the switchover come $WIN s after it)"

say "Cleaning up"
