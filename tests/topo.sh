# tests/topo.sh — the simulated VPC in network namespaces (sourced after
# tests/lib.sh). One router namespace plays the VPC: it runs vpcsim, which
# answers EC2 and instance metadata (169.254.169.254) and mirrors one route
# table into the router's kernel, so traffic to the overlay IP really goes
# where the route table says. Two nodes ("AZ a", "AZ c") and a client hang
# off it on veth pairs.
#
#   client 198.18.100.2 ── router ── 198.18.1.2 node-a (i-0aaa.., eni-0aaa..)
#                            │  └─── 198.18.3.2 node-c (i-0ccc.., eni-0ccc..)
#                            └ lo: 169.254.169.254 (IMDS), 198.18.255.1 (EC2)
#
# Overlay IP 198.19.255.10/32: outside the VPC CIDR 198.18.0.0/16, held on
# each node's lo; a TCP responder on port 7000 (bound to 0.0.0.0, so it also
# runs while the node does not hold the overlay IP) answers with the node's
# name. A node answers overlay traffic only while the address is on its lo.
#
# Helpers for failover timelines (all times are epoch seconds, same clock):
#   topo_responder NODE_NS NAME   (re)start a node's responder; its PID is in
#                                 TOPO_RESP_PID[NAME] (topo_up starts both)
#   topo_probe LOG INTERVAL_MS    from the client, one TCP ask of the overlay
#                                 IP every INTERVAL_MS, "EPOCH ANSWER" per line
#                                 ("-" = refused or no answer); TOPO_PROBE_PID
#   topo_changes [SINCE]          the simulator's route changes after SINCE:
#                                 "EPOCH ACTION TABLE OLD NEW BY" per line
#   topo_crash KA_PID NAME        a node crash: its keepalived and NAME's
#                                 responder SIGKILLed at one instant
#                                 (TOPO_CRASH_TIME)

OVERLAY=198.19.255.10
OVERLAY_CIDR=$OVERLAY/32
EC2_ADDR=198.18.255.1
ENI_A=eni-0aaaaaaaaaaaaaaa1 ENI_C=eni-0ccccccccccccccc3
I_A=i-0aaaaaaaaaaaaaaa1 I_C=i-0ccccccccccccccc3
TOPO_TABLES="rtb-00000000000000a01 rtb-00000000000000a02 rtb-00000000000000a03"
declare -gA TOPO_RESP_PID

# topo_link NS_A IF_A ADDR_A NS_B IF_B ADDR_B
topo_link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" || return 1
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

topo_state() { # write the simulator's state file to $1
	local tables="" t
	for t in $TOPO_TABLES; do
		tables+="${tables:+,}{\"id\": \"$t\", \"routes\": [{\"dest\": \"$OVERLAY_CIDR\", \"eni\": \"$ENI_A\"}]}"
	done
	cat >"$1" <<-J
	{"region": "us-east-1",
	 "vpc": {"id": "vpc-0123456789abcdef0", "cidr": "198.18.0.0/16", "owner": "123456789012"},
	 "credentials": [],
	 "instances": [
	  {"id": "$I_A", "az": "us-east-1a", "eni": "$ENI_A", "mac": "02:00:00:00:0a:01",
	   "address": "198.18.1.2", "role": "vpcf-node", "source_dest_check": false},
	  {"id": "$I_C", "az": "us-east-1c", "eni": "$ENI_C", "mac": "02:00:00:00:0c:03",
	   "address": "198.18.3.2", "role": "vpcf-node", "source_dest_check": false}],
	 "imds_default_instance": "$I_A",
	 "route_tables": [$tables],
	 "kernel_table": "${TOPO_TABLES%% *}"}
	J
}

# Node config: everything from metadata, like a real instance.
# topo_conf FILE [DIR [SECTIONS [GROUP_KEYS]]]: a node's vpc-failover.conf.
# DIR holds the daemon's control socket and state; SECTIONS are more INI
# sections (e.g. [keepalived]); GROUP_KEYS more keys of [group overlay].
topo_conf() {
	{
		printf '[aws]\nendpoint = http://%s\nrequest_timeout = 2\napi_deadline = 15\n' \
			"$EC2_ADDR"
		[ -n "${2:-}" ] &&
			printf '[daemon]\ncontrol_socket = %s/ctl.sock\nstate_dir = %s/state\n' "$2" "$2"
		[ -n "${3:-}" ] && printf '%s\n' "$3"
		printf '[group overlay]\nvrrp_instance = VI_1\ndestinations = %s\nroute_tables = %s\n' \
			"$OVERLAY_CIDR" "$TOPO_TABLES"
		[ -n "${4:-}" ] && printf '%s\n' "$4"
	} >"$1"
	return 0
}

# topo_up [VPCSIM ARGS]: sets NS_R NS_A NS_C NS_CL
topo_up() {
	NS_R=$(ns_new router) && NS_A=$(ns_new node-a) && NS_C=$(ns_new node-c) &&
		NS_CL=$(ns_new client) || return 1
	topo_link "$NS_R" r-a 198.18.1.1/24 "$NS_A" eth0 198.18.1.2/24 || return 1
	topo_link "$NS_R" r-c 198.18.3.1/24 "$NS_C" eth0 198.18.3.2/24 || return 1
	topo_link "$NS_R" r-cl 198.18.100.1/24 "$NS_CL" eth0 198.18.100.2/24 || return 1
	ip -n "$NS_R" addr add 169.254.169.254/32 dev lo
	ip -n "$NS_R" addr add $EC2_ADDR/32 dev lo
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$NS_A" route add default via 198.18.1.1
	ip -n "$NS_C" route add default via 198.18.3.1
	ip -n "$NS_CL" route add default via 198.18.100.1
	local n
	for n in "$NS_A" "$NS_C"; do
		ip -n "$n" addr add $OVERLAY_CIDR dev lo
	done
	topo_state "$T/topo-state.json"
	rm -f "$T/topo-sim.port"
	spawn "$T/topo-sim.log" ip netns exec "$NS_R" "$VPCSIM" --state "$T/topo-state.json" \
		--listen 169.254.169.254:80 --listen $EC2_ADDR:80 \
		--port-file "$T/topo-sim.port" --kernel-routes "$@"
	TOPO_SIM_PID=$SPAWNED_PID
	wait_for 10 test -s "$T/topo-sim.port" || { sed 's/^/# /' "$T/topo-sim.log"; return 1; }
	topo_responder "$NS_A" node-a || return 1
	topo_responder "$NS_C" node-c || return 1
	topo_conf "$T/node.conf"
	# The nodes' links operationally up (the kernel's link watch can take a
	# second after the carrier): a keepalived started before sees its
	# interface down, starts in FAULT and comes to BACKUP late, so a peer
	# started after it wins a nopreempt election it should lose.
	wait_for 10 topo_oper_up "$NS_A" && wait_for 10 topo_oper_up "$NS_C" || return 1
	wait_for 10 topo_ask
}

topo_oper_up() { ip -n "$1" -o link show eth0 | grep -q 'state UP'; }

# topo_responder NODE_NS NAME: start NAME's responder (port 7000, 0.0.0.0)
topo_responder() {
	spawn "$T/responder-$2.log" ip netns exec "$1" /usr/bin/python3 "$TOP/tests/responder.py" "$2" 0.0.0.0 7000
	# ip netns exec execs python: this is the responder's own PID
	TOPO_RESP_PID[$2]=$SPAWNED_PID
	# crash tests kill it on purpose: no "Killed" notice from bash
	disown "$SPAWNED_PID"
	wait_for 5 ip netns exec "$1" bash -c "exec 3<>/dev/tcp/127.0.0.1/7000"
}

# topo_ask [TIMEOUT]: ask the overlay IP from the client (default timeout
# 2 s); prints the answering node's name.
topo_ask() {
	ip netns exec "$NS_CL" timeout "${1:-2}" bash -c \
		"exec 3<>/dev/tcp/$OVERLAY/7000 && head -1 <&3" 2>/dev/null
}

topo_is() { [ "$(topo_ask)" = "$1" ]; }

# topo_route TABLE: the ENI the simulator's TABLE has for the overlay IP
topo_route() {
	topo_sim /_sim/routes | /usr/bin/python3 -c \
		"import json,sys; print(json.load(sys.stdin).get('$1',{}).get('$OVERLAY_CIDR','none'))"
}

# topo_sim PATH [JSON]: the router's simulator control API (GET, or POST with JSON)
topo_sim() {
	if [ $# -gt 1 ]; then
		ip netns exec "$NS_R" curl -sS --max-time 5 -X POST --data "$2" "http://$EC2_ADDR$1"
	else
		ip netns exec "$NS_R" curl -sS --max-time 5 "http://$EC2_ADDR$1"
	fi
}

# topo_probe LOG INTERVAL_MS: a client asking the overlay IP every
# INTERVAL_MS (each ask a new TCP connection, 0.5 s timeout), logging
# "EPOCH ANSWER" when each ask ends. Sets TOPO_PROBE_PID.
topo_probe() {
	spawn "$1" ip netns exec "$NS_CL" /usr/bin/python3 -u -c '
import socket, sys, time
addr, port, iv = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 1000
nxt = time.monotonic()
while True:
    try:
        with socket.create_connection((addr, port), timeout=0.5) as s:
            s.settimeout(0.5)
            a = s.makefile().readline().strip() or "-"
    except OSError:
        a = "-"
    print("%.6f %s" % (time.time(), a), flush=True)
    nxt = max(nxt + iv, time.monotonic())
    time.sleep(max(0.0, nxt - time.monotonic()))
' "$OVERLAY" 7000 "$2"
	TOPO_PROBE_PID=$SPAWNED_PID
}

# topo_changes [SINCE]: route changes from the simulator's log after SINCE
# (epoch seconds): "EPOCH ACTION TABLE OLD NEW BY" (SimSetRoute = the
# control API, i.e. the test itself; BY is the writer's access key id).
topo_changes() {
	/usr/bin/python3 - "${1:-0}" "$T/topo-sim.log" <<-'P'
	import datetime, sys
	since = float(sys.argv[1])
	for line in open(sys.argv[2], errors="replace"):
	    f = line.split()
	    # TS ACTION TABLE DEST OLD -> NEW by WHO
	    if len(f) < 9 or f[1] not in ("ReplaceRoute", "CreateRoute", "DeleteRoute", "SimSetRoute") or f[5] != "->":
	        continue
	    try:
	        t = datetime.datetime.strptime(f[0], "%Y-%m-%dT%H:%M:%S.%fZ")
	    except ValueError:
	        continue
	    e = t.replace(tzinfo=datetime.timezone.utc).timestamp()
	    if e > since:
	        print("%.3f %s %s %s %s %s" % (e, f[1], f[2], f[4], f[6], f[8]))
	P
}

# topo_crash KA_PID NAME: a node crash, as seen from outside: keepalived
# (started by ka_start, tests/keepalived.sh) and NAME's responder die at the
# same instant, without a goodbye advert. Like ka_kill, the keepalived parent
# is stopped first so it neither respawns its VRRP child nor lets the child
# see its death; here the child and the responder then get SIGKILL in one
# kill(1), so the client's outage starts when VRRP's silence does. Sets
# TOPO_CRASH_TIME (epoch seconds) to that instant.
topo_crash() {
	local ka=$1 resp=${TOPO_RESP_PID[$2]:-} kids i
	kill -STOP "$ka" 2>/dev/null || return 1
	kids=$(cat /proc/"$ka"/task/*/children 2>/dev/null)
	TOPO_CRASH_TIME=$EPOCHREALTIME
	# shellcheck disable=SC2086 # one word per PID
	kill -KILL $kids $resp 2>/dev/null
	kill -KILL "$ka" 2>/dev/null
	for ((i = 0; i < 100; i++)); do # gone or a zombie: dead either way
		case $(awk '{print $3}' "/proc/$ka/stat" 2>/dev/null) in "" | Z) return 0 ;; esac
		sleep 0.05
	done
	return 1
}
