#!/bin/bash
# netmon TCP accounting (netmon/tcp.c through tests/tools/tcp-probe) in
# namespaces of its own: a "host" namespace running the probe, with veth links
# to two server namespaces in two zones (198.18.10.0/24, 198.18.20.0/24).
# One link loses 20% of the segments the host sends (nftables numgen: this
# kernel has no netem). Checks: per-zone retransmission ratios, host-wide
# counters against the namespace's own /proc/net/snmp, short connections
# counted from destroy events (or the eBPF close tracepoint) alone, and lost
# events (ENOBUFS) counted; with eBPF (the default where it loads), sockets
# of other namespaces not counted; a reload re-zoning open sockets.
# VPCF_BUILD=build/h-x runs the probe of another build directory.
. "$(dirname "$0")/../lib.sh"

[ -n "${VPCF_BUILD:-}" ] && B=$(cd "$VPCF_BUILD" && pwd)
PROBE=$B/tools/tcp-probe
PY=/usr/bin/python3
PORT=5001
Z1=198.18.10.0/24 # lossy
Z2=198.18.20.0/24

if [ ! -x "$PROBE" ]; then
	not_ok "tcp-probe is built" "no $PROBE (run make)"
	exit 1
fi

cat >"$T/sink.py" <<'EOF'
# TCP sink: reads every connection to EOF, then closes it.
import socket, sys, threading
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1])))
l.listen(1024)
open(sys.argv[2], "w").close()
def serve(c):
    c.settimeout(120)
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

cat >"$T/client.py" <<'EOF'
# client.py HOST PORT CONNS BYTES CHUNK PARALLEL [HOLD]: each connection
# writes BYTES in CHUNK-byte writes (no Nagle), then (once the file HOLD
# exists, if given) half-closes and waits for the sink's EOF. Prints the sum
# of tcpi_segs_out read just before the half-close: a lower bound of what
# the connections sent. HOST "::ffff:a.b.c.d" makes IPv6 sockets.
import os, socket, struct, sys, threading, time
SEGS_OUT = 136  # offsetof(struct tcp_info, tcpi_segs_out), <linux/tcp.h>
host, port = sys.argv[1], int(sys.argv[2])
conns, nbytes, chunk, par = (int(a) for a in sys.argv[3:7])
hold = sys.argv[7] if len(sys.argv) > 7 else None
lock = threading.Lock()
st = {"next": 0, "segs": 0, "bytes": 0, "errors": 0}
def one():
    s = socket.create_connection((host, port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf, sent = b"x" * chunk, 0
    while sent < nbytes:
        s.sendall(buf)
        sent += chunk
    for _ in range(600):
        if hold is None or os.path.exists(hold):
            break
        time.sleep(0.05)
    ti = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    segs = struct.unpack_from("I", ti, SEGS_OUT)[0]
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()
    return segs, sent
def worker():
    while True:
        with lock:
            if st["next"] >= conns:
                return
            st["next"] += 1
        try:
            segs, sent = one()
            with lock:
                st["segs"] += segs
                st["bytes"] += sent
        except OSError as e:
            print("error:", e, file=sys.stderr)
            with lock:
                st["errors"] += 1
ts = [threading.Thread(target=worker) for _ in range(par)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("segs=%d bytes=%d errors=%d" % (st["segs"], st["bytes"], st["errors"]))
sys.exit(1 if st["errors"] else 0)
EOF

# kv FILE LINE_REGEX KEY: KEY's value on the last line matching LINE_REGEX
kv() {
	awk -v k="$3" -v re="$2" '$0 ~ re { for (i = 1; i <= NF; i++) { n = index($i, "=");
		if (n && substr($i, 1, n - 1) == k) v = substr($i, n + 1) } } END { print v }' "$1"
}
# maxkv FILE LINE_REGEX KEY: the largest value of KEY on matching lines
maxkv() {
	awk -v k="$3" -v re="$2" 'BEGIN { m = 0 } $0 ~ re { for (i = 1; i <= NF; i++) {
		n = index($i, "="); if (n && substr($i, 1, n - 1) == k && substr($i, n + 1) + 0 > m)
		m = substr($i, n + 1) + 0 } } END { print m }' "$1"
}
# cmp_ok NAME A OP B (awk arithmetic, floats allowed)
cmp_ok() {
	if [ -n "$2" ] && [ -n "$4" ] && awk -v a="$2" -v b="$4" "BEGIN { exit !(a $3 b) }"; then
		ok "$1"
	else
		not_ok "$1" "want $2 $3 $4"
	fi
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > 0 ? a / b : 0) }'; }
# Tcp: OutSegs RetransSegs of the host namespace
snmp() {
	ip netns exec "$NS_H" awk '/^Tcp:/ { if (h) { for (i = 2; i <= NF; i++) v[k[i]] = $i;
		print v["OutSegs"], v["RetransSegs"]; exit } for (i = 2; i <= NF; i++) k[i] = $i; h = 1 }' \
		/proc/net/snmp
}
# No socket in a state that still sends, on either end (TIME_WAIT only ACKs a
# retransmitted FIN, and no peer is left in LAST_ACK to send one).
quiet() {
	local n
	for n in "$NS_H" "$NS_1" "$NS_2"; do
		[ -z "$(ip netns exec "$n" ss -Htn state syn-sent state syn-recv \
			state established state fin-wait-1 state fin-wait-2 state close-wait \
			state last-ack state closing)" ] || return 1
	done
}
# probe_start LOG ARGS...: sets PROBE_PID once the probe has its baseline
# PROBE_ENV: assignments for the probe's environment (VPCF_BPF_TCP=walk)
PROBE_ENV=
probe_start() {
	local log=$1
	shift
	spawn "$log" ip netns exec "$NS_H" env $PROBE_ENV "$PROBE" "$@"
	PROBE_PID=$SPAWNED_PID
	wait_for 10 grep -q '^start host' "$log"
}
# probe_stop LOG: SIGTERM (final collection), wait for the report; sets probe_rc
probe_stop() {
	kill -TERM "$PROBE_PID"
	if wait_for 20 grep -q '^end stats' "$1"; then
		wait "$PROBE_PID"
		probe_rc=$?
	else
		probe_rc=timeout
	fi
}
client() { # ZONE_HOST CONNS BYTES CHUNK PARALLEL OUT [HOLD]
	timeout --kill-after=5 120 ip netns exec "$NS_H" $PY "$T/client.py" "$1" $PORT \
		"$2" "$3" "$4" "$5" ${7:+"$7"} >"$6" 2>&1
}

NS_H=$(ns_new tcph) && NS_1=$(ns_new tcpz1) && NS_2=$(ns_new tcpz2) || {
	not_ok "namespaces"
	exit 1
}
ip -n "$NS_H" link add name vh1 type veth peer name vs1 netns "$NS_1" &&
	ip -n "$NS_H" link add name vh2 type veth peer name vs2 netns "$NS_2" &&
	ip -n "$NS_H" addr add 198.18.10.1/24 dev vh1 &&
	ip -n "$NS_H" addr add 198.18.20.1/24 dev vh2 &&
	ip -n "$NS_1" addr add 198.18.10.2/24 dev vs1 &&
	ip -n "$NS_2" addr add 198.18.20.2/24 dev vs2 &&
	ip -n "$NS_H" link set vh1 up && ip -n "$NS_H" link set vh2 up &&
	ip -n "$NS_1" link set vs1 up && ip -n "$NS_2" link set vs2 up
check "veth links to both zones" test $? = 0
# The lossless link must not retransmit at all: on a link this fast a tail
# loss probe fires before the sink's delayed ACK and counts as a
# retransmission. Zone 1 still recovers by fast retransmit and RTO.
ip netns exec "$NS_H" sysctl -qw net.ipv4.tcp_early_retrans=0
check "no tail loss probes in the host namespace" test $? = 0
# 20% of what the host sends to zone 1's sink never arrives.
ip netns exec "$NS_1" nft -f - <<EOF
table inet lossy {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		tcp dport $PORT numgen random mod 100 < 20 drop
	}
}
EOF
check "20% loss towards zone 1" test $? = 0
spawn "$T/sink1.log" ip netns exec "$NS_1" $PY "$T/sink.py" $PORT "$T/sink1.ready"
spawn "$T/sink2.log" ip netns exec "$NS_2" $PY "$T/sink.py" $PORT "$T/sink2.ready"
check "sinks listening" wait_for 10 test -e "$T/sink1.ready" -a -e "$T/sink2.ready"

# ---- 1. ratios and host-wide counters
read -r out0 re0 < <(snmp)
probe_start "$T/p1.out" "$Z1" "$Z2" -- 300 0.5
check "probe took its baseline" test $? = 0
# Wherever the eBPF zone counters load, TCP counts where sent after them.
if grep -q 'per-zone counting in eBPF' "$T/p1.out" && ! grep -q 'no eBPF zone counters' "$T/p1.out"; then
	check "eBPF here: counted where sent" grep -q 'counted where sent, after the zone counters' "$T/p1.out"
fi
client 198.18.10.2 8 262144 512 4 "$T/c1.out" &
c1=$!
client 198.18.20.2 8 262144 512 4 "$T/c2.out" &
c2=$!
wait $c1
rc1=$?
wait $c2
rc2=$?
sed 's/^/# zone 1 clients: /' "$T/c1.out"
sed 's/^/# zone 2 clients: /' "$T/c2.out"
expect_eq "clients to zone 1 done" "$rc1 $(kv "$T/c1.out" . bytes)" "0 2097152"
expect_eq "clients to zone 2 done" "$rc2 $(kv "$T/c2.out" . bytes)" "0 2097152"
check "connections closed on both ends" wait_for 60 quiet
probe_stop "$T/p1.out"
read -r out1 re1 < <(snmp)
expect_eq "probe exits 0" "$probe_rc" 0
sed 's/^/# /' "$T/p1.out" | grep -v '^# interval' | head -20
grep '^interval .* zone=1 ' "$T/p1.out" | awk '{ print "# " $0 }' | grep -v ' retrans_segs=0 ' | head -5

z1_segs=$(kv "$T/p1.out" '^end zone=0 ' segs_out)
z1_re=$(kv "$T/p1.out" '^end zone=0 ' retrans_segs)
z2_segs=$(kv "$T/p1.out" '^end zone=1 ' segs_out)
z2_re=$(kv "$T/p1.out" '^end zone=1 ' retrans_segs)
cmp_ok "zone 1 retransmitted" "$z1_re" '>' 0
cmp_ok "zone 1 interval ratio clearly above 0" "$(maxkv "$T/p1.out" '^interval .* zone=0 ' ratio)" '>' 0.02
cmp_ok "zone 1 cumulative ratio clearly above 0" "$(div "$z1_re" "$z1_segs")" '>' 0.02
cmp_ok "zone 2 interval ratio stays near 0" "$(maxkv "$T/p1.out" '^interval .* zone=1 ' ratio)" '<' 0.01
cmp_ok "zone 2 cumulative ratio near 0" "$(div "$z2_re" "$z2_segs")" '<' 0.01
cmp_ok "zone 1 segs_out >= what the clients saw sent" "$z1_segs" '>=' "$(kv "$T/c1.out" . segs)"
cmp_ok "zone 2 segs_out >= what the clients saw sent" "$z2_segs" '>=' "$(kv "$T/c2.out" . segs)"
cmp_ok "zone 1 bytes_sent >= bytes written" "$(kv "$T/p1.out" '^end zone=0 ' bytes_sent)" '>=' 2097152
cmp_ok "zone 2 bytes_sent >= bytes written" "$(kv "$T/p1.out" '^end zone=1 ' bytes_sent)" '>=' 2097152
cmp_ok "zone 1 bytes_retrans > 0" "$(kv "$T/p1.out" '^end zone=0 ' bytes_retrans)" '>' 0
# The probe's first and last reading lie inside the script's: with no other
# TCP in the namespace, the deltas are equal.
expect_eq "host OutSegs delta = /proc/net/snmp delta" \
	"$(kv "$T/p1.out" '^end host ' d_out_segs)" "$((out1 - out0))"
expect_eq "host RetransSegs delta = /proc/net/snmp delta" \
	"$(kv "$T/p1.out" '^end host ' d_retrans_segs)" "$((re1 - re0))"
# Every retransmission in the namespace was one of these sockets'.
expect_eq "zones' retransmissions add up to the host's" "$((z1_re + z2_re))" "$((re1 - re0))"
mono=$(awk '/^interval / { split($3, z, "="); split($4, s, "=");
	if (s[2] + 0 < last[z[2]]) bad++; last[z[2]] = s[2] + 0 } END { print bad + 0 }' "$T/p1.out")
expect_eq "zone counters never decrease between intervals" "$mono" 0
expect_eq "no lost events with the default buffer" "$(kv "$T/p1.out" '^end stats' lost_events)" 0

# ---- 2. short connections: no dump ever sees them, destroy events count them
probe_start "$T/p2.out" "$Z1" "$Z2" -- 600 600
check "probe 2 took its baseline" test $? = 0
client 198.18.20.2 20 20000 1000 4 "$T/c3.out"
expect_eq "short connections done" "$?" 0
check "short connections closed" wait_for 60 quiet
probe_stop "$T/p2.out"
expect_eq "probe 2 exits 0" "$probe_rc" 0
sed 's/^/# /' "$T/p2.out" | head -20
expect_eq "only the baseline and the final dump ran" "$(kv "$T/p2.out" '^end stats' dumps)" 2
# Counted where sent, their packets made them seen; walks saw none.
if grep -q 'counted where sent' "$T/p2.out"; then
	cmp_ok "closes accounted for every short connection" \
		"$(kv "$T/p2.out" '^end stats' destroy_events)" '>=' 20
else
	cmp_ok "destroy events for every short connection" \
		"$(kv "$T/p2.out" '^end stats' destroyed_unseen)" '>=' 20
fi
cmp_ok "zone 2 segs_out >= segments the short connections sent" \
	"$(kv "$T/p2.out" '^end zone=1 ' segs_out)" '>=' "$(kv "$T/c3.out" . segs)"
cmp_ok "zone 2 bytes_sent >= bytes they wrote" \
	"$(kv "$T/p2.out" '^end zone=1 ' bytes_sent)" '>=' 400000
expect_eq "zone 1 untouched" "$(kv "$T/p2.out" '^end zone=0 ' segs_out)" 0

# ---- 3. lost events: a stopped probe with a tiny buffer overflows (the
# destroy groups of the sock_diag path: bpf = no)
probe_start "$T/p3.out" -m no -b 4096 "$Z1" "$Z2" -- 600 600
check "probe 3 took its baseline" test $? = 0
kill -STOP "$PROBE_PID"
client 198.18.20.2 300 1000 1000 8 "$T/c4.out"
expect_eq "burst of connections done" "$?" 0
kill -CONT "$PROBE_PID"
check "burst closed" wait_for 60 quiet
probe_stop "$T/p3.out"
expect_eq "probe 3 exits 0" "$probe_rc" 0
sed 's/^/# /' "$T/p3.out" | head -20
cmp_ok "ENOBUFS counted as lost events" "$(kv "$T/p3.out" '^end stats' lost_events)" '>=' 1
cmp_ok "some destroy events really were lost" \
	"$(kv "$T/p3.out" '^end stats' destroy_events)" '<' 300
cmp_ok "a dump followed the loss" "$(kv "$T/p3.out" '^end stats' dumps)" '>=' 2
check "the loss was logged" grep -q 'destroy events lost' "$T/p3.out"

# ---- 4. an open IPv6 socket (IPv4-mapped destination) counted while open:
# where sent (tcx) and by the walks (VPCF_BPF_TCP=walk; sock_diag's dumps
# where eBPF does not load).
for mode in sent walk; do
	log=$T/p4$mode.out
	[ $mode = walk ] && PROBE_ENV=VPCF_BPF_TCP=walk
	probe_start "$log" "$Z1" "$Z2" -- 300 0.3
	check "probe 4 ($mode) took its baseline" test $? = 0
	PROBE_ENV=
	rm -f "$T/release"
	client ::ffff:198.18.20.2 1 100000 1000 1 "$T/c5.out" "$T/release" &
	c5=$!
	# Still open (it waits for $T/release): only a collection can have
	# counted it.
	dumped() { [ "$(kv "$log" '^interval .* zone=1 ' bytes_sent)" -ge 100000 ]; }
	# well before the client gives up holding it open (30 s)
	check "$mode: a collection counts the open IPv6 socket in zone 2" wait_for 10 dumped
	# Quiet now: the walks (every 0.3 s) pass it by with one read.
	sleep 1
	touch "$T/release"
	wait $c5
	expect_eq "$mode: IPv6 client done" "$?" 0
	check "$mode: IPv6 connection closed" wait_for 60 quiet
	probe_stop "$log"
	expect_eq "$mode: probe 4 exits 0" "$probe_rc" 0
	sed 's/^/# /' "$log" | grep -v '^# interval' | head -20
	cmp_ok "$mode: its destroy event came too" "$(kv "$log" '^end stats' destroy_events)" '>=' 1
	expect_eq "$mode: it was no unseen socket" "$(kv "$log" '^end stats' destroyed_unseen)" 0
	cmp_ok "$mode: zone 2 has all it sent" "$(kv "$log" '^end zone=1 ' segs_out)" '>=' \
		"$(kv "$T/c5.out" . segs)"
	if [ $mode = sent ] && grep -q 'counted where sent' "$log"; then
		expect_eq "sent: no walk after the baseline" "$(kv "$log" '^end stats' quiet)" 0
	elif [ $mode = walk ] && grep -q 'a TCP socket walk per collection' "$log"; then
		cmp_ok "walk: walks passed the quiet socket by" "$(kv "$log" '^end stats' quiet)" '>=' 1
	else
		ok "$mode: # SKIP not this path here: $(grep -m1 'per-zone counting' "$log")"
	fi
done

# ---- 5. the eBPF path: sockets of another namespace count nowhere. A
# namespace with a zone 2 address of its own talks to itself (a held
# connection through several walks, then short ones: their closes pass the
# global close tracepoint); the host's own connections to zone 2 count.
probe_start "$T/p5.out" "$Z1" "$Z2" -- 300 0.3
if ! grep -q 'per-zone counting in eBPF' "$T/p5.out"; then
	probe_stop "$T/p5.out"
	ok "other namespaces # SKIP no eBPF here: $(grep -m1 'sock_diag' "$T/p5.out")"
else
	NS_O=$(ns_new tcpo) && ip -n "$NS_O" addr add 198.18.20.9/32 dev lo
	check "another namespace with a zone 2 address" test $? = 0
	spawn "$T/sinko.log" ip netns exec "$NS_O" $PY "$T/sink.py" $PORT "$T/sinko.ready"
	check "its sink listening" wait_for 10 test -e "$T/sinko.ready"
	oclient() { # CONNS BYTES OUT [HOLD]
		timeout --kill-after=5 120 ip netns exec "$NS_O" $PY "$T/client.py" 198.18.20.9 \
			$PORT "$1" "$2" 1000 4 ${4:+"$4"} >"$3" 2>&1
	}
	oclient 1 100000 "$T/c6.out" "$T/release6" &
	c6=$!
	n0=$(grep -c '^interval .* zone=1 ' "$T/p5.out")
	walks() { [ "$(grep -c '^interval .* zone=1 ' "$T/p5.out")" -ge $((n0 + 3)) ]; }
	check "three walks while the other namespace's connection is open" wait_for 30 walks
	touch "$T/release6"
	wait $c6
	expect_eq "held connection there done" "$?" 0
	oclient 20 20000 "$T/c7.out"
	expect_eq "short connections there done" "$?" 0
	client 198.18.20.2 5 20000 1000 2 "$T/c8.out"
	expect_eq "the host's own connections to zone 2 done" "$?" 0
	check "all closed" wait_for 60 quiet
	probe_stop "$T/p5.out"
	expect_eq "probe 5 exits 0" "$probe_rc" 0
	sed 's/^/# /' "$T/p5.out" | grep -v '^# interval' | head -20
	# The other namespace wrote 500000 bytes towards zone 2, the host 100000.
	b5=$(kv "$T/p5.out" '^end zone=1 ' bytes_sent)
	cmp_ok "the host's connections count in zone 2" "$b5" '>=' 100000
	cmp_ok "the other namespace's count nowhere" "$b5" '<' 200000
	cmp_ok "closes accounted: the host's 5, not the other namespace's 21" \
		"$(kv "$T/p5.out" '^end stats' destroy_events)" '<' 21
fi

# ---- 6. a reload re-zones open sockets: the zones swap places while a
# connection to zone 2 is open; what it sends afterwards counts in its new
# index, and the counters restart at 0. Every path: counted where sent
# (auto here), the eBPF walks, sock_diag.
cat >"$T/phases.py" <<'EOF'
# phases.py HOST PORT BYTES GO: sends BYTES, waits for the file GO, sends
# BYTES again, then half-closes and waits for the sink's EOF.
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
n = int(sys.argv[3])
s.sendall(b"x" * n)
for _ in range(1200):
    if os.path.exists(sys.argv[4]):
        break
    time.sleep(0.05)
s.sendall(b"y" * n)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
s.close()
EOF
for mode in auto walk no; do
	log=$T/p6$mode.out
	m=$mode
	[ $mode = walk ] && m=auto PROBE_ENV=VPCF_BPF_TCP=walk
	probe_start "$log" -m $m "$Z1" "$Z2" -- 300 0.3
	check "probe 6 ($mode) took its baseline" test $? = 0
	PROBE_ENV=
	rm -f "$T/go6"
	timeout --kill-after=5 120 ip netns exec "$NS_H" $PY "$T/phases.py" 198.18.20.2 \
		$PORT 60000 "$T/go6" >"$T/c9.out" 2>&1 &
	c9=$!
	first() { [ "$(kv "$log" '^interval .* zone=1 ' bytes_sent)" -ge 60000 ]; }
	check "$mode: zone 2 counts the first phase" wait_for 30 first
	kill -USR1 "$PROBE_PID"
	check "$mode: reloaded" wait_for 10 grep -q '^reloaded' "$log"
	touch "$T/go6"
	wait $c9
	expect_eq "$mode: second phase done" "$?" 0
	check "$mode: closed" wait_for 60 quiet
	probe_stop "$log"
	expect_eq "$mode: probe 6 exits 0" "$probe_rc" 0
	# After the reload zone 2 is index 0.
	cmp_ok "$mode: the second phase counts in zone 2's new index" \
		"$(kv "$log" '^end zone=0 ' bytes_sent)" '>=' 60000
	cmp_ok "$mode: ... from 0 (not the first phase again)" \
		"$(kv "$log" '^end zone=0 ' bytes_sent)" '<' 120000
	expect_eq "$mode: zone 1, now index 1, untouched" \
		"$(kv "$log" '^end zone=1 ' bytes_sent)" 0
done

# ---- 7. connections reset on close (SO_LINGER 0): tcp_disconnect() takes
# the socket to TCP_CLOSE, sends the RST and zeroes the socket's counts. The
# eBPF close tracepoint runs before the zeroing, so what they sent counts;
# the RSTs are wiped with the counts (sock_diag's destroy events come after
# the zeroing: that path counts none of these connections). Zone 2 is
# lossless, has no tail loss probes here, and no TIME_WAIT is left: every
# segment the host namespace sent is one of these sockets'.
cat >"$T/rst.py" <<'EOF'
# rst.py HOST PORT CONNS BYTES: each connection sends BYTES, then closes
# with SO_LINGER 0 (a RST instead of a FIN).
import socket, struct, sys
for _ in range(int(sys.argv[3])):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"x" * int(sys.argv[4]))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
EOF
probe_start "$T/p7.out" "$Z1" "$Z2" -- 600 600
check "probe 7 took its baseline" test $? = 0
if grep -q 'per-zone counting in eBPF' "$T/p7.out"; then
	timeout --kill-after=5 60 ip netns exec "$NS_H" $PY "$T/rst.py" 198.18.20.2 $PORT 20 5000
	expect_eq "reset connections done" "$?" 0
	check "closed" wait_for 60 quiet
	probe_stop "$T/p7.out"
	expect_eq "probe 7 exits 0" "$probe_rc" 0
	sed 's/^/# /' "$T/p7.out" | grep -v '^# interval' | head -20
	expect_eq "zone 2 has the bytes of the reset connections" \
		"$(kv "$T/p7.out" '^end zone=1 ' bytes_sent)" 100000
	expect_eq "... and every segment the host sent but their 20 RSTs (no wrap)" \
		"$(kv "$T/p7.out" '^end zone=1 ' segs_out)" \
		"$(($(kv "$T/p7.out" '^end host' d_out_segs) - 20))"
else
	probe_stop "$T/p7.out"
	ok "reset connections # SKIP no eBPF here"
fi

# ---- 8. counted where sent: an interface that comes after the start gets
# the zone counters on its link event (and with them the TCP counting), and
# an open connection through it counts while open (nothing walks).
PROBE_ENV="$PROBE_ENV TCP_PROBE_DEBUG=1" probe_start "$T/p8.out" "$Z1" "$Z2" 198.18.30.0/24 -- 300 0.3
check "probe 8 took its baseline" test $? = 0
if grep -q 'counted where sent' "$T/p8.out"; then
	NS_3=$(ns_new tcpz3) &&
		ip -n "$NS_H" link add name vh3 type veth peer name vs3 netns "$NS_3" &&
		ip -n "$NS_H" addr add 198.18.30.1/24 dev vh3 &&
		ip -n "$NS_3" addr add 198.18.30.2/24 dev vs3 &&
		ip -n "$NS_H" link set vh3 up && ip -n "$NS_3" link set vs3 up
	check "a third zone's link, made after the start" test $? = 0
	spawn "$T/sink3.log" ip netns exec "$NS_3" $PY "$T/sink.py" $PORT "$T/sink3.ready"
	check "its sink listening" wait_for 10 test -e "$T/sink3.ready"
	check "the zone counters took the new link" wait_for 10 grep -q 'zone counters on vh3' "$T/p8.out"
	rm -f "$T/release8"
	client 198.18.30.2 1 100000 1000 1 "$T/c10.out" "$T/release8" &
	c10=$!
	open3() { [ "$(kv "$T/p8.out" '^interval .* zone=2 ' bytes_sent)" -ge 100000 ]; }
	# well before the client gives up holding it open (30 s)
	check "the open connection through it counts in zone 3" wait_for 10 open3
	touch "$T/release8"
	wait $c10
	expect_eq "client through the new link done" "$?" 0
	check "closed" wait_for 60 quiet
	probe_stop "$T/p8.out"
	expect_eq "probe 8 exits 0" "$probe_rc" 0
	expect_eq "zone 3 has its bytes, once" "$(kv "$T/p8.out" '^end zone=2 ' bytes_sent)" 100000
else
	probe_stop "$T/p8.out"
	ok "a link that comes later # SKIP not counted where sent here"
fi

# ---- 9. clsact filters (kernels without tcx) count where sent too, and
# when the zone counters stop (a reload they cannot follow), walks take over
# without losing or doubling a byte: a connection counted while open by the
# program, then one counted while open by a walk, then both closed.
PROBE_ENV="VPCF_BPF_ATTACH=clsact" probe_start "$T/p9.out" "$Z1" "$Z2" -- 300 0.3
check "probe 9 (clsact) took its baseline" test $? = 0
if grep -q 'counted where sent' "$T/p9.out"; then
	ok "clsact: counted where sent"
	rm -f "$T/release9"
	client 198.18.20.2 1 100000 1000 1 "$T/c11.out" "$T/release9" &
	c11=$!
	sent9() { [ "$(kv "$T/p9.out" '^interval .* zone=1 ' bytes_sent)" -ge "$1" ]; }
	check "the first connection counts while open" wait_for 10 sent9 100000
	kill -USR2 "$PROBE_PID"
	check "the zone counters stopped" wait_for 5 grep -q '^zone counters stopped' "$T/p9.out"
	client 198.18.20.2 1 50000 1000 1 "$T/c12.out" "$T/release9" &
	c12=$!
	check "a walk counts the second while open" wait_for 10 sent9 150000
	check "and said so" grep -q 'zone counters stopped: a socket walk per collection' "$T/p9.out"
	touch "$T/release9"
	wait $c11
	r11=$?
	wait $c12
	expect_eq "both clients done" "$r11 $?" "0 0"
	check "closed" wait_for 60 quiet
	probe_stop "$T/p9.out"
	expect_eq "probe 9 exits 0" "$probe_rc" 0
	expect_eq "zone 2 has both connections' bytes, once" \
		"$(kv "$T/p9.out" '^end zone=1 ' bytes_sent)" 150000
else
	probe_stop "$T/p9.out"
	ok "clsact and a stop # SKIP not counted where sent here"
fi
