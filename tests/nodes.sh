# tests/nodes.sh — vpc-failoverd and keepalived on node-a (priority 150)
# and node-c (100) of the namespace topology (sourced after tests/lib.sh,
# tests/topo.sh and tests/keepalived.sh). Per node N ("a" or "c"): its
# config $T/N/vpcf.conf (node_conf), keepalived.conf $T/N/ka.conf
# (ka_node_conf), the daemon (d_start/d_stop, log $T/N/daemon.log), the CLI
# against it (vf), its status (st_of/status_is); route-table and timeline
# helpers; failures counted so that dump_logs shows the logs at the end.
# Identity and role credentials come from the simulated metadata service.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE

A_ADDR=198.18.1.2 C_ADDR=198.18.3.2
NTABLES=$(wc -w <<<"$TOPO_TABLES")
FAILS=0

# within SECONDS CMD...: like wait_for, but bounded by the clock even when
# CMD itself is slow (a client ask that times out)
within() {
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000 * TMULT))
	shift
	until "$@" >/dev/null 2>&1; do
		((${EPOCHREALTIME/./} < end)) || return 1
		sleep 0.05
	done
}

# Count failures so the logs can be shown at the end.
eval "_lib_$(declare -f not_ok)"
not_ok() {
	FAILS=$((FAILS + 1))
	_lib_not_ok "$@"
}

# -- per node: n is "a" or "c" --------------------------------------------------
ns_of() { if [ "$1" = a ]; then echo "$NS_A"; else echo "$NS_C"; fi; }
eni_of() { if [ "$1" = a ]; then echo "$ENI_A"; else echo "$ENI_C"; fi; }

# node_conf_head DIR: the [aws] and [daemon] sections every node's
# configuration starts with (the topology's simulator; socket and state in DIR).
node_conf_head() {
	echo "[aws]"
	echo "endpoint = http://$EC2_ADDR"
	echo "request_timeout = 2"
	echo "api_deadline = 15"
	echo "[daemon]"
	echo "control_socket = $1/ctl.sock"
	echo "state_dir = $1/state"
}

# node_conf N KEY=VALUE...: the node's vpc-failover.conf ($T/N/vpcf.conf).
# Keys: recheck (s), fifo (1 = [keepalived] notify_fifo), vip (device),
# track (the group's track_file), more (extra lines for [group overlay]).
node_conf() {
	local n=$1 d=$T/$1 recheck=60 fifo="" vip="" track="" more=""
	shift
	local kv
	for kv; do
		case $kv in
		recheck=*) recheck=${kv#*=} ;;
		fifo=*) fifo=${kv#*=} ;;
		vip=*) vip=${kv#*=} ;;
		track=*) track=${kv#*=} ;;
		more=*) more=${kv#*=} ;;
		esac
	done
	mkdir -p "$d"
	{
		node_conf_head "$d"
		echo "[keepalived]"
		# keepalived's pid file as tests/keepalived.sh starts it: a crashed
		# keepalived must stop its daemon from re-asserting routes
		echo "pid_file = $T/ka/$(ns_of "$n")/keepalived.pid.ka"
		[ -n "$fifo" ] && echo "notify_fifo = $d/notify.fifo"
		echo "[group overlay]"
		echo "vrrp_instance = VI_1"
		echo "destinations = $OVERLAY_CIDR"
		echo "route_tables = $TOPO_TABLES"
		echo "recheck_interval = $recheck"
		echo "split_brain_flips = 3"
		echo "split_brain_window = 15"
		[ -n "$vip" ] && echo "vip_device = $vip"
		[ -n "$track" ] && echo "track_file = $track"
		[ -n "$more" ] && echo "$more"
	} >"$d/vpcf.conf"
}

declare -A DPID
# d_start N: the node's daemon, in its namespace; its log is $T/N/daemon.log
# (earlier runs are kept in daemon.old.log)
d_start() {
	local n=$1 d=$T/$1
	[ -f "$d/daemon.log" ] && cat "$d/daemon.log" >>"$d/daemon.old.log"
	rm -f "$d/ctl.sock"
	spawn "$d/daemon.log" ip netns exec "$(ns_of "$n")" "$VPCFD" -f -c "$d/vpcf.conf"
	DPID[$n]=$SPAWNED_PID
	within 5 test -S "$d/ctl.sock" && within 10 grep -q "instance i-" "$d/daemon.log" && return 0
	echo "# node-$n's daemon did not start:"
	tail -20 "$d/daemon.log" | sed 's/^/#   /'
	return 1
}
d_stop() {
	local p=${DPID[$1]:-}
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	DPID[$1]=""
}

# hook N: the notify command keepalived runs on node N. node-a runs the CLI
# directly, as in production; node-c through a wrapper because keepalived
# sends a notify script's stderr to /dev/null and the test wants to read it.
hook() {
	local n=$1 d=$T/$1
	if [ "$n" = a ]; then
		echo "$VPCF -c $d/vpcf.conf notify"
		return
	fi
	printf '#!/bin/sh\n# keepalived throws a notify script'"'"'s stderr away: keep it\nexec %s -c %s notify "$@" 2>>%s\n' \
		"$VPCF" "$d/vpcf.conf" "$d/hook.err" >"$d/hook"
	chmod 755 "$d/hook"
	echo "$d/hook"
}

# ka_node_conf N [ka_conf options]: keepalived.conf for node N ($T/N/ka.conf)
ka_node_conf() {
	local n=$1 me peer prio
	shift
	if [ "$n" = a ]; then me=$A_ADDR peer=$C_ADDR prio=150; else me=$C_ADDR peer=$A_ADDR prio=100; fi
	ka_conf "$(ns_of "$n")" $me $peer $prio "$T/$n/ka.conf" advert_int 1 "$@"
}
declare -A KPID
k_start() { ka_start "$(ns_of "$1")" "$T/$1/ka.conf" && KPID[$1]=$KA_PID; }

vf() { # N CMD...: the CLI against node N's daemon, in N's namespace (its
	# metadata service is the simulator's; the host's must never be asked)
	local n=$1
	shift
	ip netns exec "$(ns_of "$n")" "$VPCF" -c "$T/$n/vpcf.conf" "$@"
}
st_of() { # N PYTHON-EXPR on the first group g (and the whole status s)
	vf "$1" status --json 2>/dev/null | /usr/bin/python3 -c \
		"import json,sys; s=json.load(sys.stdin); g=s['groups'][0]; print($2)" 2>/dev/null
}
status_is() { [ "$(st_of "$1" "$2")" = "$3" ]; } # N EXPR WANT
writes() {
	topo_sim /_sim/stats | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['writes'])"
}
all_at() { # ENI: every table of the topology points at ENI
	local t
	for t in $TOPO_TABLES; do [ "$(topo_route "$t")" = "$1" ] || return 1; done
}
set_all() { # ENI: another writer (the control API) points every table at ENI
	local t
	for t in $TOPO_TABLES; do
		topo_sim /_sim/route "{\"table\":\"$t\",\"dest\":\"$OVERLAY_CIDR\",\"eni\":\"$1\"}" >/dev/null
	done
}
check_tables() { # WHAT N: every table at node N's ENI, one TAP line per table
	local t
	for t in $TOPO_TABLES; do
		expect_eq "$1: $t -> node-$2" "$(topo_route "$t")" "$(eni_of "$2")"
	done
}
# A few consecutive answers from the node, not one lucky one.
traffic_at() { local _; for _ in 1 2 3; do [ "$(topo_ask 1)" = "$1" ] || return 1; done; }

# Timeline from the logs: first probe answer from NODE after SINCE, and the
# time the last table moved to ENI after SINCE.
first_answer() { awk -v t="$1" -v n="$2" '$1 > t && $2 == n {print $1; exit}' "$T/probe.log"; }
last_answer() { awk -v t="$1" -v n="$2" '$1 <= t && $2 == n {x = $1} END {print x}' "$T/probe.log"; }
tables_moved() {
	topo_changes "$1" | awk -v e="$2" -v n="$NTABLES" '
		$5 == e && $6 != "control" && !($3 in seen) {seen[$3] = $1; k++; if ($1 > m) m = $1}
		END {if (k == n) print m}'
}
ms_since() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "") print "?"; else printf "%d", (a - b) * 1000}'; }
ka_master_at() { ka_events "$1" | awk -v t="$2" '$1 > t && $4 == "MASTER" {print $1; exit}'; }

dump_logs() {
	local f
	[ "$FAILS" -gt 0 ] || return 0
	for f in "$T"/a/daemon.log "$T"/c/daemon.log "$T"/c/hook.err \
		"$T/ka/$NS_A/keepalived.log" "$T/ka/$NS_C/keepalived.log" "$T/topo-sim.log"; do
		[ -s "$f" ] || continue
		echo "# --- tail of ${f#"$T"/}"
		tail -25 "$f" | sed 's/^/#   /'
	done
}
trap 'dump_logs; _cleanup' EXIT

