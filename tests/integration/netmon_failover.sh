#!/bin/bash
# The network around a failover (issue 16 item 7, [netmon] failover_window):
# vpc-failoverd in a "host" namespace, with the simulated VPC and a
# notification receiver on the namespace's loopback, and veth links to two
# zones (a = 198.18.10.0/24, b = 198.18.20.0/24) whose sinks the host sends
# TCP to all along. The failover (notify MASTER, through the real CLI) is
# followed by 20% loss on zone a's path (nftables numgen in a's namespace);
# failover_window = 5 s later the status, the log, the webhook's "network"
# message and the second Mackerel annotation must show zone a's
# retransmission ratio rising from 0 and zone b's staying 0; zone c, with
# no traffic, says so.
. "$(dirname "$0")/../lib.sh"

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
PY=/usr/bin/python3
PORT=5001
WIN=5

H=$(ns_new nfhost) && A=$(ns_new nfza) && Bn=$(ns_new nfzb) || { not_ok "namespaces"; exit 1; }
ip -n "$H" link add ha type veth peer name ah netns "$A" &&
	ip -n "$H" link add hb type veth peer name bh netns "$Bn" &&
	ip -n "$H" addr add 198.18.10.1/24 dev ha && ip -n "$A" addr add 198.18.10.2/24 dev ah &&
	ip -n "$H" addr add 198.18.20.1/24 dev hb && ip -n "$Bn" addr add 198.18.20.2/24 dev bh &&
	ip -n "$H" link set ha up && ip -n "$H" link set hb up &&
	ip -n "$A" link set ah up && ip -n "$Bn" link set bh up || { not_ok "links"; exit 1; }
# On a link this fast a tail loss probe fires before the sink's delayed ACK
# and counts as a retransmission: the lossless zone must show none.
ip netns exec "$H" sysctl -qw net.ipv4.tcp_early_retrans=0

# The simulated VPC and the receiver on the host namespace's loopback.
sim_vpc "$T/state.json" 1
spawn "$T/sim.log" ip netns exec "$H" "$VPCSIM" --state "$T/state.json" --listen 127.0.0.1:0 \
	--port-file "$T/sim.port"
wait_for 10 test -s "$T/sim.port" || { not_ok "simulator starts"; exit 1; }
SIM_URL="http://127.0.0.1:$(head -1 "$T/sim.port")"
RX_LOG=$T/rx.jsonl
: >"$RX_LOG"
spawn "$T/rx.log" ip netns exec "$H" "$PY" "$TOP/tests/tools/receiver.py" --port-file "$T/rx.port" \
	--log "$RX_LOG" --lifetime 120
wait_for 10 test -s "$T/rx.port" || { not_ok "receiver starts"; exit 1; }
RX=http://127.0.0.1:$(head -1 "$T/rx.port")
printf 'mkr-test-key-%s-0123456789\n' "$TESTID" >"$T/mackerel.key"
chmod 600 "$T/mackerel.key"

cat >"$T/vpcf.conf" <<-C
$(sim_aws "api_deadline = 10" "request_timeout = 2")
[daemon]
control_socket = $T/ctl.sock
state_dir = $T/state
[metrics]
listen =
[mackerel]
api_key_file = $T/mackerel.key
service = db-service
api_url = $RX/mkr
[webhook]
url = $RX/hook
[netmon]
interval = 1
failover_window = $WIN
zone.a = 198.18.10.0/24
zone.b = 198.18.20.0/24
zone.c = 198.18.30.0/24
[group redis]
vrrp_instance = VI_1
destinations = $DEST
route_tables = $(rtb 1)
recheck_interval = 0
C

cat >"$T/sink.py" <<'P'
import socket, sys, threading
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(16)
def serve(c):
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
P
spawn "$T/sink-a.log" ip netns exec "$A" $PY "$T/sink.py" 198.18.10.2 $PORT
spawn "$T/sink-b.log" ip netns exec "$Bn" $PY "$T/sink.py" 198.18.20.2 $PORT
# The host's traffic to both zones: 4 KB to each every 20 ms, 60 s at most.
cat >"$T/client.py" <<'P'
import socket, sys, time
end = time.monotonic() + 60
conns = []
for h in sys.argv[2:]:
    for _ in range(100):
        try:
            c = socket.create_connection((h, int(sys.argv[1])), 1)
            break
        except OSError:
            time.sleep(0.05)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conns.append(c)
print("connected", flush=True)
while time.monotonic() < end:
    for c in conns:
        c.sendall(b"x" * 4096)
    time.sleep(0.02)
P

vf() { "$VPCF" -c "$T/vpcf.conf" "$@"; }
net() { # python expression over the status's timeline.network, n
	vf status --json | $PY -c "
import json, sys
g = json.load(sys.stdin)['groups'][0]
n = g['traffic']['timeline']['network']
z = lambda side, name: [x for x in n[side]['zones'] if x['zone'] == name][0]
print($1)"
}
net_is() { [ "$(net "$1" 2>/dev/null)" = "$2" ]; }
rx() { # python expression over the receiver's requests: hooks, annos (bodies)
	$PY - "$RX_LOG" "$1" <<-'P'
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	reqs = [r for r in recs if r["event"] == "request"]
	hooks = [json.loads(r["body"]) for r in reqs if r["path"] == "/hook"]
	annos = [json.loads(r["body"]) for r in reqs if r["path"] == "/mkr/api/v0/graph-annotations"]
	print(eval(sys.argv[2]))
	P
}
rx_true() { [ "$(rx "$1")" = True ]; }

spawn "$T/daemon.log" ip netns exec "$H" "$VPCFD" -f -c "$T/vpcf.conf"
check "daemon starts" wait_for 5 test -S "$T/ctl.sock"
check "the instance identity is known" wait_for 10 grep -q "instance $I_C" "$T/daemon.log"
spawn "$T/client.log" ip netns exec "$H" $PY "$T/client.py" $PORT 198.18.10.2 198.18.20.2
check "traffic to both zones" wait_for 10 grep -q connected "$T/client.log"
# The window before the failover: WIN s of samples, and one more.
sleep $((WIN + 1))
vf notify INSTANCE VI_1 BACKUP 100
vf notify INSTANCE VI_1 MASTER 150
check "the failover converged" wait_for 10 bash -c \
	"'$VPCF' -c '$T/vpcf.conf' status --json | $PY -c \"import json,sys; sys.exit(not json.load(sys.stdin)['groups'][0]['converged'])\""
# 20% of what reaches zone a's sink from now on is lost.
ip netns exec "$A" nft -f - <<EOF
table inet lossy {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		tcp dport $PORT numgen random mod 100 < 20 drop
	}
}
EOF
check "20% loss towards zone a after the failover" test $? = 0
check "status: the window before is there at once, the after pending" \
	net_is "n['pending'] and n['before'] is not None and n['window_s']" $WIN
check "status: the window after, $WIN s after the transition" wait_for $((WIN + 5)) net_is "n['pending']" False
net "'# before: a %.4f (%d segs), b %.4f (%d segs); after: a %.4f (%d segs, %d retrans), b %.4f (%d segs); RTT p50 a %s -> %s us' % (z('before','a')['tcp_retrans_ratio'], z('before','a')['tcp_segments_out'], z('before','b')['tcp_retrans_ratio'], z('before','b')['tcp_segments_out'], z('after','a')['tcp_retrans_ratio'], z('after','a')['tcp_segments_out'], z('after','a')['tcp_retrans_segments'], z('after','b')['tcp_retrans_ratio'], z('after','b')['tcp_segments_out'], z('before','a')['rtt_p50_us'], z('after','a')['rtt_p50_us'])"
expect_eq "status: both zones had traffic before and after" \
	"$(net "all(z(s, n)['traffic'] and z(s, n)['tcp_segments_out'] > 50 for s in ('before', 'after') for n in 'ab')")" True
# ~0: a lossless veth does not retransmit (no tail loss probes), short of
# a stall of the machine longer than the minimum RTO (200 ms).
expect_eq "status: zone a's retransmission ratio before the loss: ~0 (at most 0.5%)" \
	"$(net "z('before', 'a')['tcp_retrans_ratio'] <= 0.005")" True
expect_eq "status: zone a's retransmission ratio after the loss: above 0.5% (3% in a typical run)" \
	"$(net "z('after', 'a')['tcp_retrans_ratio'] > 0.005")" True
expect_eq "status: zone b's stays ~0 before and after (at most 0.5%)" \
	"$(net "z('before', 'b')['tcp_retrans_ratio'] <= 0.005 and z('after', 'b')['tcp_retrans_ratio'] <= 0.005")" True
expect_eq "status: RTT p50 of both zones, both windows" \
	"$(net "all(isinstance(z(s, n)['rtt_p50_us'], int) for s in ('before', 'after') for n in 'ab')")" True
expect_eq "status: the windows meet at the transition and span about $WIN s" \
	"$(net "n['before']['to_us'] == n['after']['from_us'] and all($WIN - 1.5 <= (n[s]['to_us'] - n[s]['from_us']) / 1e6 <= $WIN + 1.5 for s in ('before', 'after'))")" True
expect_eq "status: no ENA interface here" "$(net "n['after']['allowance_exceeded']")" None
check "status text: zone a's line" bash -c \
	"'$VPCF' -c '$T/vpcf.conf' status | grep -Eq '^      a: retrans 0\.[0-9]+% -> [0-9]+\.[0-9]+%, RTT p50 [0-9.]+ -> [0-9.]+ ms, p90 [0-9.]+ -> [0-9.]+ ms$'"
check "status text: zone b's line" bash -c \
	"'$VPCF' -c '$T/vpcf.conf' status | grep -Eq '^      b: retrans 0\.[0-9]+% -> 0\.[0-9]+%, RTT p50'"
expect_eq "status: zone c had no traffic, before or after" \
	"$(net "[z(s, 'c')['traffic'] or z(s, 'c')['rtt_p50_us'] is not None for s in ('before', 'after')]")" "[False, False]"
check "status text: zone c says so" bash -c \
	"'$VPCF' -c '$T/vpcf.conf' status | grep -q '^      c: no traffic$'"
check "status text: the allowances line without ENA" bash -c \
	"'$VPCF' -c '$T/vpcf.conf' status | grep -q '^      EC2 allowances: no ENA interface$'"
# The text and status format the same numbers alike (RTT from whole µs).
st_a=$("$VPCF" -c "$T/vpcf.conf" status | sed -n 's/^      a: //p' | sed 's/ -> / → /g')
tx_a=$(net "n['text']" | grep -o ' a retrans [^;]*' | sed 's/^ a //')
expect_eq "status text: zone a's figures are the message text's" "$st_a" "$tx_a"
check "the log tells it" grep -Eq "group redis: network $WIN s before → after the transition to MASTER: a retrans 0\.[0-9]+% → [0-9.]+%, RTT p50 .*; b retrans .*; c no traffic; " "$T/daemon.log"
check "webhook: a \"network\" message" wait_for 10 rx_true "len([h for h in hooks if h['event'] == 'network']) == 1"
expect_eq "webhook: its numbers are the status's" \
	"$(rx "json.dumps([h for h in hooks if h['event'] == 'network'][0]['network'], sort_keys=True)")" \
	"$(net "json.dumps(n, sort_keys=True)")"
expect_eq "webhook: its text, the status's after this node's name" \
	"$(rx "[h for h in hooks if h['event'] == 'network'][0]['text']")" \
	"vpc-failover: group redis on $(hostname) (us-east-1c): $(net "n['text']")"
check "Mackerel: the failover's annotation and a second one, the network around it" \
	wait_for 10 rx_true "len(annos) == 2"
expect_eq "Mackerel: the second spans the window before and after the transition" \
	"$(rx "annos[1]['to'] - annos[1]['from'], annos[1]['service'], annos[1]['title'].endswith('the network around it')")" \
	"($((2 * WIN)), 'db-service', True)"
check "Mackerel: its description, the status's text a line per zone" rx_true \
	"annos[1]['description'].split('\\n')[1].startswith('a retrans ') and annos[1]['description'].split('\\n')[2].startswith('b retrans ')"
echo "# $(rx "annos[1]['description']" | tr '\n' '|')"
