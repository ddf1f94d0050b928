#!/bin/bash
# The zone counters in eBPF ([netmon] bpf, netmon/zbpf.c): exact to the
# packet and byte in both directions and both families, an interface added
# after the start is counted, a reload keeps the counts of the zones that
# stay, the filters go on stop; bpf = no counts with nftables, exactly the
# same; bpf = yes without the capabilities eBPF needs refuses to start, and
# auto then falls back to nftables, saying why.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

H=$(ns_new host) && A=$(ns_new zone-a) && C=$(ns_new zone-c) || {
	not_ok "namespaces"
	exit 1
}
ip -n "$H" link add ha type veth peer name ah netns "$A" &&
	ip -n "$H" addr add 198.18.10.1/24 dev ha && ip -n "$A" addr add 198.18.10.2/24 dev ah &&
	ip -n "$H" addr add fd00:10::1/64 dev ha nodad && ip -n "$A" addr add fd00:10::2/64 dev ah nodad &&
	ip -n "$H" link set ha up && ip -n "$A" link set ah up || {
	not_ok "links"
	exit 1
}
# Static neighbours: no ARP or ND between the measurements (ND is IPv6 and
# would be counted).
mac() { ip -n "$1" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
ip -n "$H" neigh replace fd00:10::2 lladdr "$(mac "$A" ah)" dev ha nud permanent
ip -n "$A" neigh replace fd00:10::1 lladdr "$(mac "$H" ha)" dev ah nud permanent
ip -n "$H" neigh replace 198.18.10.2 lladdr "$(mac "$A" ah)" dev ha nud permanent
ip -n "$A" neigh replace 198.18.10.1 lladdr "$(mac "$H" ha)" dev ah nud permanent

conf() { # BPF ZONES_TEXT
	cat >"$T/vpcf.conf" <<-C
	[aws]
	region = us-east-1
	endpoint = http://127.0.0.1:9
	[daemon]
	control_socket = $T/ctl.sock
	state_dir = $T/state
	[metrics]
	listen =
	[netmon]
	interval = 1
	bpf = $1
	$2
	[group g]
	vrrp_instance = VI_1
	destinations = 198.19.255.10/32
	route_tables = rtb-00000000000000001
	network_interface = eni-0aaaaaaaaaaaaaaa1
	C
}
metric() { # python expression over the snapshot m, zones by name in z
	"$VPCF" -c "$T/vpcf.conf" metrics --json |
		$PY -c "import json,sys; m=json.load(sys.stdin); m=m.get('metrics',m); z={x['zone']: x for x in m['zones']}; print($1)"
}
udp() { # NS DST COUNT PAYLOAD: COUNT datagrams to a closed port
	ip netns exec "$1" $PY -c "
import socket
s = socket.socket(socket.AF_INET6 if ':' in '$2' else socket.AF_INET, socket.SOCK_DGRAM)
for i in range($3): s.sendto(b'x' * $4, ('$2', 9))"
}
settle() { sleep 1.3; } # a collection after the traffic (interval 1 s)
start() { # LOG [PREFIX...]: the daemon in $H
	local log=$1
	shift
	rm -f "$T/ctl.sock"
	spawn "$log" ip netns exec "$H" "$@" "$VPCFD" -f ${DFLAGS:-} -c "$T/vpcf.conf"
	DPID=$SPAWNED_PID
	wait_for 5 test -S "$T/ctl.sock" && wait_for 5 grep -q "netmon: .* zones, collecting" "$log"
}
stop() {
	kill -TERM "$DPID"
	wait "$DPID"
}
# The three IPv4 lookups (netmon/bpf/zones.bpf.c), each checked to the
# packet: zone t cuts into prefixes of 9 lengths (/17 .. /25) and u is 66
# separate /32s, so IPv4 starts in the trie (more than 8 lengths, more than
# 64 intervals); the first reload drops t (3 lengths: hash lookups), the
# second u (3 intervals: searched in place). IPv6: hash lookups.
U=$(for i in $(seq 1 2 131); do printf '198.18.200.%d/32 ' "$i"; done)
ZONES="zone.a = 198.18.10.0/24 fd00:10::/64
	zone.b = 198.18.20.0/24
	zone.c = 198.18.30.0/24
	zone.t = 198.19.0.0/17 198.19.128.0/18 198.19.192.0/19 198.19.224.0/20 198.19.240.0/21 198.19.248.0/22 198.19.252.0/23 198.19.254.0/24 198.19.255.0/25
	zone.u = $U"

# --- auto: eBPF ---------------------------------------------------------
conf auto "$ZONES"
DFLAGS=-v # debug: the lookups chosen
check "daemon starts (bpf = auto)" start "$T/d1.log"
DFLAGS=
expect_eq "eBPF counts the zones" "$(metric "m['netmon']['packet_counter']")" ebpf
check "the start says so, once" test "$(grep -c 'zone packets counted by eBPF' "$T/d1.log")" = 1
check "status says so" bash -c "'$VPCF' -c '$T/vpcf.conf' status | grep -qx 'network monitor: zone packets counted by eBPF (tc)'"
"$VPCF" -c "$T/vpcf.conf" doctor >"$T/doctor.txt" 2>&1
check "doctor says so" grep -q "^ok .*network monitor: zone packets counted by eBPF" "$T/doctor.txt"
check "status: TCP per zone by eBPF too" bash -c "'$VPCF' -c '$T/vpcf.conf' status | grep -qx 'network monitor: TCP per zone counted by eBPF (per-socket counts in the kernel)'"
"$VPCF" -c "$T/vpcf.conf" metrics >"$T/prom1.txt" 2>/dev/null
check "metrics: the counter info, both parts eBPF" grep -qxF 'vpc_failover_netmon_backend_info{part="packets",backend="ebpf"} 1' "$T/prom1.txt"
check "... for TCP too" grep -qxF 'vpc_failover_netmon_backend_info{part="tcp",backend="ebpf"} 1' "$T/prom1.txt"
check "doctor: TCP per zone by eBPF too" grep -q "^ok .*network monitor: TCP per zone counted by eBPF" "$T/doctor.txt"
check "on ha as tcx links (Linux 6.6+)" grep -q "zone counters on ha (ethernet, tcx)" "$T/d1.log"
# The table is there for the group's overlay only: no zone rules, no
# postrouting chain.
check "the nftables table counts no zone" bash -c \
	"ip netns exec $H nft list table inet vpc_failover >$T/table &&
	 ! grep -q postrouting $T/table && ! grep -q '@in4' $T/table"

udp "$H" 198.18.10.2 50 100
udp "$H" fd00:10::2 10 100
settle
# IPv4: 20 + 8 + 100 bytes, IPv6: 40 + 8 + 100, as netfilter counts them.
expect_eq "zone a out: 60 packets, 50 x 128 + 10 x 148 bytes" \
	"$(metric "z['a']['packets_out'], z['a']['bytes_out']")" "60 7880"
expect_eq "zone b, c, t, u: nothing" "$(metric "z['b']['packets_out'] + z['c']['packets_out'] + z['t']['packets_out'] + z['u']['packets_out']")" 0
check "IPv4 in the trie (78 prefixes of 10 lengths), IPv6 by hash" bash -c \
	"grep -q 'IPv4: 78 prefixes, trie lookups' $T/d1.log && grep -q 'IPv6: 1 prefixes, hash' $T/d1.log &&
	 ! grep -q 'intervals, searched in place' $T/d1.log"
in0=$(metric "z['a']['packets_in'], z['a']['bytes_in']") # the port-unreachable answers
udp "$A" 198.18.10.1 30 100
udp "$A" fd00:10::1 5 60
settle
expect_eq "zone a in: +35 packets, 30 x 128 + 5 x 108 bytes more" \
	"$(metric "z['a']['packets_in'] - ${in0% *}, z['a']['bytes_in'] - ${in0#* }")" "35 4380"

# An interface that appears after the start is counted.
ip -n "$H" link add hc type veth peer name ch netns "$C" &&
	ip -n "$H" addr add 198.18.30.1/24 dev hc && ip -n "$C" addr add 198.18.30.2/24 dev ch &&
	ip -n "$H" link set hc up && ip -n "$C" link set ch up
ip -n "$H" neigh replace 198.18.30.2 lladdr "$(mac "$C" ch)" dev hc nud permanent
check "on hc, added after the start" wait_for 5 grep -q "zone counters on hc (ethernet" "$T/d1.log"
udp "$H" 198.18.30.2 20 100
settle
expect_eq "zone c out: 20 packets, 2560 bytes" \
	"$(metric "z['c']['packets_out'], z['c']['bytes_out']")" "20 2560"

# Reload: b and t go, d comes, c's prefix grows; a and c keep their counts
# (a's out has the port-unreachable answers to what A sent, too).
a0=$(metric "z['a']['packets_out']")
conf auto "zone.a = 198.18.10.0/24 fd00:10::/64
	zone.c = 198.18.30.0/23
	zone.d = 198.18.40.0/24
	zone.u = $U"
kill -HUP "$DPID"
check "reload logged" wait_for 5 grep -q "netmon: reloaded, 4 zones" "$T/d1.log"
udp "$H" 198.18.10.2 5 100
udp "$H" 198.18.30.2 5 100
settle
expect_eq "after the reload a and c continue (+5 each)" \
	"$(metric "z['a']['packets_out'], z['c']['packets_out']")" "$((a0 + 5)) 25"
expect_eq "zone b is gone, d starts at 0" "$(metric "'b' in z, z['d']['packets_out']")" "False 0"
check "IPv4 by hash now (3 lengths)" grep -q "IPv4: 69 prefixes, hash" "$T/d1.log"
# Reload: u goes; 3 IPv4 intervals are searched in place.
conf auto "zone.a = 198.18.10.0/24 fd00:10::/64
	zone.c = 198.18.30.0/23
	zone.d = 198.18.40.0/24"
kill -HUP "$DPID"
check "second reload logged" wait_for 5 grep -q "netmon: reloaded, 3 zones" "$T/d1.log"
udp "$H" 198.18.10.2 5 100
udp "$H" 198.18.30.2 5 100
settle
expect_eq "after it a and c continue (+5 each), bytes too" \
	"$(metric "z['a']['packets_out'], z['c']['packets_out'], z['c']['bytes_out']")" "$((a0 + 10)) 30 3840"
check "IPv4 searched in place now" grep -q "IPv4: 3 intervals, searched in place" "$T/d1.log"
expect_eq "still eBPF" "$(metric "m['netmon']['packet_counter']")" ebpf

stop
expect_eq "daemon exits 0" "$?" 0
check "no program left loaded, no clsact qdisc made" bash -c \
	"! bpftool prog list | grep -q 'name zb_' && ! tc -n $H qdisc show | grep -q clsact"

# --- auto, attached as clsact filters (kernels before tcx) ---------------
check "daemon starts (VPCF_BPF_ATTACH=clsact)" start "$T/d5.log" env VPCF_BPF_ATTACH=clsact
check "clsact filters on ha, ingress and egress" bash -c \
	"tc -n $H filter show dev ha ingress | grep -q 'zb_in_eth' &&
	 tc -n $H filter show dev ha egress | grep -q 'zb_out_eth'"
udp "$H" 198.18.10.2 50 100
udp "$H" fd00:10::2 10 100
settle
expect_eq "zone a out: 60 packets, 7880 bytes (clsact)" \
	"$(metric "z['a']['packets_out'], z['a']['bytes_out']")" "60 7880"
stop
check "no filter and no clsact qdisc left on ha and hc" bash -c \
	"! tc -n $H filter show dev ha ingress | grep -q . &&
	 ! tc -n $H filter show dev hc egress | grep -q . &&
	 ! tc -n $H qdisc show | grep -q clsact"

# --- no: nftables, the same counts ---------------------------------------
conf no "$ZONES"
check "daemon starts (bpf = no)" start "$T/d2.log"
expect_eq "nftables counts the zones" "$(metric "m['netmon']['packet_counter']")" nftables
check "status says nftables" bash -c "'$VPCF' -c '$T/vpcf.conf' status | grep -q 'zone packets counted by nftables'"
check "status: TCP per zone by sock_diag" bash -c "'$VPCF' -c '$T/vpcf.conf' status | grep -qx 'network monitor: TCP per zone counted by sock_diag'"
"$VPCF" -c "$T/vpcf.conf" metrics >"$T/prom2.txt" 2>/dev/null
check "metrics: the counter info, nftables" grep -qxF 'vpc_failover_netmon_backend_info{part="packets",backend="nftables"} 1' "$T/prom2.txt"
check "... and sock_diag" grep -qxF 'vpc_failover_netmon_backend_info{part="tcp",backend="sock_diag"} 1' "$T/prom2.txt"
"$VPCF" -c "$T/vpcf.conf" doctor >"$T/doctor2.txt" 2>&1
check "doctor says nftables and why" grep -q "^info .*counted by nftables (\[netmon\] bpf = no" "$T/doctor2.txt"
check "the start says why" grep -q "counted by nftables (table inet vpc_failover): \[netmon\] bpf = no" "$T/d2.log"
check "no eBPF filter" bash -c "! tc -n $H filter show dev ha egress | grep -q ."
udp "$H" 198.18.10.2 50 100
udp "$H" fd00:10::2 10 100
settle
expect_eq "zone a out: 60 packets, 7880 bytes (nftables)" \
	"$(metric "z['a']['packets_out'], z['a']['bytes_out']")" "60 7880"
stop

# --- without CAP_BPF: yes refuses, auto falls back -------------------------
NOBPF="setpriv --bounding-set=-bpf,-sys_admin,-perfmon --inh-caps=-bpf,-sys_admin,-perfmon"
conf yes "$ZONES"
rm -f "$T/ctl.sock"
ip netns exec "$H" $NOBPF "$VPCFD" -f -c "$T/vpcf.conf" >"$T/d3.log" 2>&1
check "bpf = yes without CAP_BPF: the daemon exits non-zero" test $? -ne 0
check "and says why" grep -q "bpf = yes, but eBPF cannot count the zones: the programs do not load" "$T/d3.log"
conf auto "$ZONES"
check "bpf = auto without CAP_BPF: the daemon starts" start "$T/d4.log" $NOBPF
expect_eq "with nftables" "$(metric "m['netmon']['packet_counter']")" nftables
check "saying why" grep -q "counted by nftables (table inet vpc_failover): eBPF the programs do not load" "$T/d4.log"
stop
