#!/bin/bash
# The network monitor inside vpc-failoverd: zone counters and per-zone TCP
# through `vpc-failover metrics`, exact to the packet; reload with changed
# zones keeps counters monotonic; the nftables table goes away on stop;
# [netmon] bpf: auto falls back to sock_diag, yes refuses to start.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

H=$(ns_new host) && A=$(ns_new zone-a) && Bn=$(ns_new zone-b) || { not_ok "namespaces"; exit 1; }
ip -n "$H" link add ha type veth peer name ah netns "$A" &&
	ip -n "$H" link add hb type veth peer name bh netns "$Bn" &&
	ip -n "$H" addr add 198.18.10.1/24 dev ha && ip -n "$A" addr add 198.18.10.2/24 dev ah &&
	ip -n "$H" addr add 198.18.20.1/24 dev hb && ip -n "$Bn" addr add 198.18.20.2/24 dev bh &&
	ip -n "$H" link set ha up && ip -n "$H" link set hb up &&
	ip -n "$A" link set ah up && ip -n "$Bn" link set bh up || { not_ok "links"; exit 1; }

conf() { # ZONES_TEXT
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
	$1
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
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range($3): s.sendto(b'x' * $4, ('$2', 9))"
}

conf "zone.a = 198.18.10.0/24
	zone.b = 198.18.20.0/24"
spawn "$T/daemon.log" ip netns exec "$H" "$VPCFD" -f -c "$T/vpcf.conf"
DPID=$SPAWNED_PID
check "daemon starts with two zones" wait_for 5 test -S "$T/ctl.sock"
# The control socket comes up before the monitor: wait for the table.
check "its nftables table exists" wait_for 5 bash -c "ip netns exec $H nft list tables | grep -q 'inet vpc_failover'"

# 50 datagrams of 100 bytes to zone a, 7 to zone b. An IPv4 UDP datagram is
# 20 + 8 + payload bytes on the wire, as netfilter counts it.
udp "$H" 198.18.10.2 50 100
udp "$H" 198.18.20.2 7 100
sleep 2.5 # two collections
expect_eq "zone a: 50 packets out" "$(metric "z['a']['packets_out']")" 50
expect_eq "zone a: 50 x 128 bytes out" "$(metric "z['a']['bytes_out']")" 6400
expect_eq "zone b: 7 packets out" "$(metric "z['b']['packets_out']")" 7
check "zone a: the ICMP port-unreachable answers counted in" \
	test "$(metric "z['a']['packets_in']")" -ge 1

# TCP to zone a only: per-zone TCP accounting sees it, zone b stays at 0
spawn "$T/sink.log" ip netns exec "$A" $PY -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('198.18.10.2', 5001)); s.listen(8)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
    c.close()"
wait_for 5 ip netns exec "$A" $PY -c "import socket; socket.create_connection(('198.18.10.2', 5001), 1).close()"
ip netns exec "$H" $PY -c "
import socket
c = socket.create_connection(('198.18.10.2', 5001), 2)
for i in range(200): c.sendall(b'y' * 1000)
c.close()"
sleep 2.5
check "zone a: TCP segments out counted" test "$(metric "z['a']['tcp_segments_out']")" -ge 100
expect_eq "zone b: no TCP" "$(metric "z['b']['tcp_segments_out']")" 0
check "host-wide TCP segments out counted" test "$(metric "m['tcp']['segments_out']")" -gt 0
# The smoothed RTT of that connection went into zone a's histogram.
check "zone a: RTT observed" test "$(metric "z['a']['tcp_rtt']['count']")" -ge 1
check "zone a: RTT sum > 0 and below 1 s a sample" $PY -c "
import json, sys
h = json.loads(sys.argv[1])
sys.exit(not (0 < h['sum'] < h['count'] and h['buckets'][-1][1] == h['count']))" \
	"$(metric "json.dumps(z['a']['tcp_rtt'])")"
expect_eq "zone b: no RTT observed" "$(metric "z['b']['tcp_rtt']['count']")" 0

# Loopback is in no zone, for both sources: TCP from the host to its own
# address in zone a (198.18.10.1) moves neither the nftables counters nor
# the sock_diag ones (before, sock_diag counted it to zone a).
spawn "$T/sink-lo.log" ip netns exec "$H" $PY -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('198.18.10.1', 5002)); s.listen(8)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
    c.close()"
wait_for 5 ip netns exec "$H" $PY -c "import socket; socket.create_connection(('198.18.10.1', 5002), 1).close()"
sleep 2.5
lo_before=$(metric "z['a']['packets_out'], z['a']['packets_in'], z['a']['tcp_segments_out'], z['a']['tcp_rtt']['count']")
ip netns exec "$H" $PY -c "
import socket
c = socket.create_connection(('198.18.10.1', 5002), 2)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(200): c.sendall(b'z' * 1000)
c.close()"
sleep 2.5
expect_eq "loopback TCP to the host's own zone address: no zone counter moves (nft out, nft in, TCP segments, RTT)" \
	"$(metric "z['a']['packets_out'], z['a']['packets_in'], z['a']['tcp_segments_out'], z['a']['tcp_rtt']['count']")" "$lo_before"

# EC2's limits: no interface here has the ENA statistics; the conntrack
# fill is the namespace's (netmon_limits.sh tests the reading itself).
expect_eq "no ENA interfaces, none exported" "$(metric "len(m['interfaces'])")" 0
if ip netns exec "$H" test -r /proc/sys/net/netfilter/nf_conntrack_max; then
	expect_eq "conntrack limit as /proc/sys/net/netfilter/nf_conntrack_max" \
		"$(metric "m['conntrack']['max']")" "$(ip netns exec "$H" cat /proc/sys/net/netfilter/nf_conntrack_max)"
fi

# Reload: zone b goes, zone c comes; zone a keeps counting from where it was
before=$(metric "z['a']['packets_out']")
conf "zone.a = 198.18.10.0/24
	zone.c = 198.18.30.0/24"
kill -HUP "$DPID"
check "reload logged" wait_for 5 grep -q "netmon: reloaded, 2 zones" "$T/daemon.log"
udp "$H" 198.18.10.2 5 100
sleep 2.5
expect_eq "after reload zone a continues (+5)" "$(metric "z['a']['packets_out']")" $((before + 5))
expect_eq "zone b is gone" "$(metric "'b' in z")" False
expect_eq "zone c starts at 0" "$(metric "z['c']['packets_out']")" 0

# Prometheus text for the zones
"$VPCF" -c "$T/vpcf.conf" metrics --format=prometheus >"$T/prom.txt"
check "prometheus text has the zone counter" \
	grep -q "^vpc_failover_zone_packets_total{zone=\"a\",direction=\"out\"} $((before + 5))" "$T/prom.txt"
# The Grafana dashboard's network metrics are what this daemon exports
# (metrics.sh checks the rest and has a Prometheus evaluate the queries).
check "the Grafana dashboard's zone, TCP and monitor metrics are in the scrape" \
	/usr/bin/python3 "$TOP/tests/dashboard_check.py" "$TOP/dashboards/vpc-failover.json" "$T/prom.txt" \
	--only vpc_failover_zone_,vpc_failover_tcp_,vpc_failover_netmon_

# Stop: the table is removed
kill -TERM "$DPID"
wait "$DPID"
expect_eq "daemon exits 0" "$?" 0
check "the nftables table is gone after stop" \
	bash -c "! ip netns exec $H nft list tables | grep -q vpc_failover"

# [netmon] bpf: the run above counted TCP per zone in eBPF where it loads
# (auto); without CAP_BPF, auto says why it uses sock_diag and yes refuses
# to start.
if grep -q 'per-zone counting in eBPF' "$T/daemon.log"; then
	ok "auto: TCP per zone counted in eBPF (logged)"
	if grep -q 'zone packets counted by eBPF' "$T/daemon.log"; then
		check "... where sent, by the zone counters' program" \
			grep -q 'counted where sent, after the zone counters' "$T/daemon.log"
		# tcp_count = walk: a walk per collection instead, and it counts
		conf "zone.a = 198.18.10.0/24
		tcp_count = walk"
		spawn "$T/walk.log" ip netns exec "$H" "$VPCFD" -f -c "$T/vpcf.conf"
		WPID=$SPAWNED_PID
		check "tcp_count = walk: a socket walk per collection, saying why" \
			wait_for 10 grep -q 'a TCP socket walk per collection: \[netmon\] tcp_count = walk' "$T/walk.log"
		check "... and not counted where sent" bash -c "! grep -q 'counted where sent' $T/walk.log"
		wait_for 5 test -S "$T/ctl.sock"
		ip netns exec "$H" $PY -c "
import socket
c = socket.create_connection(('198.18.10.2', 5001), 2)
for i in range(200): c.sendall(b'y' * 1000)
c.close()"
		segs_counted() { [ "$(metric "z['a']['tcp_segments_out']")" -ge 100 ]; }
		check "... and the walks count zone a's segments" wait_for 10 segs_counted
		kill -TERM "$WPID"
		wait "$WPID"
		expect_eq "... and exits 0" "$?" 0
	fi
	nocap() { # LOG: the daemon without CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN
		timeout --kill-after=2 10 ip netns exec "$H" capsh \
			--drop=cap_bpf,cap_perfmon,cap_sys_admin -- -c "exec $VPCFD -f -c $T/vpcf.conf" \
			>"$1" 2>&1
	}
	conf "zone.a = 198.18.10.0/24
	bpf = yes"
	nocap "$T/yes.log"
	rc=$?
	check "bpf = yes without CAP_BPF: the daemon refuses to start (rc $rc)" \
		test $rc -ne 0 -a $rc -ne 124
	# the zone counters are tried first (netmon_bpf.sh); either part says so
	check "... saying why" grep -Eq 'bpf = yes, but (the eBPF TCP counting cannot run|eBPF cannot count the zones)' "$T/yes.log"
	conf "zone.a = 198.18.10.0/24
	bpf = auto"
	spawn "$T/auto.log" ip netns exec "$H" capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin \
		-- -c "exec $VPCFD -f -c $T/vpcf.conf"
	check "bpf = auto without CAP_BPF: starts with sock_diag, saying why" \
		wait_for 5 grep -q 'per-zone counting with sock_diag: no eBPF (loading the programs' \
		"$T/auto.log"
	kill -TERM "$SPAWNED_PID"
	wait "$SPAWNED_PID"
	expect_eq "... and exits 0" "$?" 0
else
	ok "[netmon] bpf # SKIP no eBPF here: $(grep -m1 'sock_diag' "$T/daemon.log")"
fi
