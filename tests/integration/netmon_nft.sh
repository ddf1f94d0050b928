#!/bin/bash
# The zone counters in nftables (netmon/nft.c through build/tools/nft-probe),
# in namespaces of our own:
#
#   A (198.18.10.2, .200, 198.18.11.5; fd00:10::2) --ha-- H --hb-- B (198.18.20.2,
#   198.18.21.2; fd00:20::2)
#
# H holds the table and routes between A and B. UDP datagrams of known size,
# each echoed back, are counted to the packet and to the byte (the reply is
# what `in` counts): local traffic of H both ways,
# forwarded traffic A <-> B, nested zones (longest prefix), adjacent zones, a
# reload that keeps a surviving zone's counters, removal, a leftover table,
# and that the table decides nothing (policy accept, no verdicts).
#
# Bytes are the IP packet as netfilter sees it (skb->len from the network
# header, no link-layer header): an IPv4 datagram of S payload bytes is
# 20 (IP) + 8 (UDP) + S bytes, an IPv6 one 40 + 8 + S. Neighbours are static
# so that no ARP/ND packets (ND is ICMPv6, and would be counted) mix in.
. "$(dirname "$0")/../lib.sh"

PROBE=${NFT_PROBE:-$B/tools/nft-probe}
PY=/usr/bin/python3
PORT=7
MAC_HA=02:00:00:00:0a:01 MAC_AH=02:00:00:00:0a:02
MAC_HB=02:00:00:00:0b:01 MAC_BH=02:00:00:00:0b:02

[ -x "$PROBE" ] || { not_ok "nft-probe built" "missing $PROBE"; exit 1; }

H=$(ns_new h) && A=$(ns_new a) && B_NS=$(ns_new b) || { not_ok "namespaces"; exit 1; }
if ! ip netns exec "$H" nft list tables >/dev/null 2>&1; then
	echo "1..0 # SKIP nf_tables not available"
	exit 0
fi

hx() { ip netns exec "$H" "$@"; }
ax() { ip netns exec "$A" "$@"; }
bx() { ip netns exec "$B_NS" "$@"; }

topo() {
	ip -n "$H" link add ha address $MAC_HA type veth peer name ah netns "$A" address $MAC_AH &&
		ip -n "$H" link add hb address $MAC_HB type veth peer name bh netns "$B_NS" address $MAC_BH &&
		ip -n "$H" addr add 198.18.10.1/24 dev ha &&
		ip -n "$H" addr add fd00:10::1/64 dev ha nodad &&
		ip -n "$H" addr add 198.18.20.1/24 dev hb &&
		ip -n "$H" addr add fd00:20::1/64 dev hb nodad &&
		ip -n "$A" addr add 198.18.10.2/24 dev ah &&
		ip -n "$A" addr add 198.18.10.200/32 dev ah &&
		ip -n "$A" addr add 198.18.11.5/32 dev ah &&
		ip -n "$A" addr add fd00:10::2/64 dev ah nodad &&
		ip -n "$B_NS" addr add 198.18.20.2/24 dev bh &&
		ip -n "$B_NS" addr add 198.18.21.2/32 dev bh &&
		ip -n "$B_NS" addr add fd00:20::2/64 dev bh nodad &&
		ip -n "$H" link set ha up && ip -n "$H" link set hb up &&
		ip -n "$A" link set ah up && ip -n "$B_NS" link set bh up &&
		ip -n "$H" route add 198.18.11.5/32 via 198.18.10.2 &&
		ip -n "$H" route add 198.18.21.2/32 via 198.18.20.2 &&
		ip -n "$A" route add default via 198.18.10.1 &&
		ip -n "$A" -6 route add default via fd00:10::1 &&
		ip -n "$B_NS" route add default via 198.18.20.1 &&
		ip -n "$B_NS" -6 route add default via fd00:20::1 &&
		hx sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
		ip -n "$H" neigh add 198.18.10.2 lladdr $MAC_AH dev ha nud permanent &&
		ip -n "$H" neigh add 198.18.10.200 lladdr $MAC_AH dev ha nud permanent &&
		ip -n "$H" neigh add fd00:10::2 lladdr $MAC_AH dev ha nud permanent &&
		ip -n "$H" neigh add 198.18.20.2 lladdr $MAC_BH dev hb nud permanent &&
		ip -n "$H" neigh add fd00:20::2 lladdr $MAC_BH dev hb nud permanent &&
		ip -n "$A" neigh add 198.18.10.1 lladdr $MAC_HA dev ah nud permanent &&
		ip -n "$A" neigh add fd00:10::1 lladdr $MAC_HA dev ah nud permanent &&
		ip -n "$B_NS" neigh add 198.18.20.1 lladdr $MAC_HB dev bh nud permanent &&
		ip -n "$B_NS" neigh add fd00:20::1 lladdr $MAC_HB dev bh nud permanent
}
check "topology" topo

# udp.py echo PORT ADDR...: echo every datagram from the address it came to.
# udp.py send ADDR PORT COUNT SIZE: COUNT datagrams of SIZE bytes, one at a
# time, each answered within 2 s; exit 1 otherwise (or if sending fails).
cat >"$T/udp.py" <<-'PY'
	import select, socket, sys
	if sys.argv[1] == "echo":
	    socks = []
	    for a in sys.argv[3:]:
	        s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
	        s.bind((a, int(sys.argv[2])))
	        socks.append(s)
	    while True:
	        for s in select.select(socks, [], [])[0]:
	            data, peer = s.recvfrom(65535)
	            s.sendto(data, peer)
	addr, port, n, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
	s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
	s.settimeout(2)
	try:
	    s.connect((addr, port))
	    for i in range(n):
	        s.send(bytes(size))
	        if s.recv(65535) != bytes(size):
	            sys.exit(1)
	except OSError as e:
	    print(e)
	    sys.exit(1)
PY
spawn "$T/echo-h.log" ip netns exec "$H" $PY "$T/udp.py" echo $PORT 198.18.10.1
spawn "$T/echo-a.log" ip netns exec "$A" $PY "$T/udp.py" echo $PORT 198.18.10.2 \
	198.18.10.200 198.18.11.5 fd00:10::2
spawn "$T/echo-b.log" ip netns exec "$B_NS" $PY "$T/udp.py" echo $PORT 198.18.20.2 \
	198.18.21.2 fd00:20::2
send() { ip netns exec "$1" $PY "$T/udp.py" send "$2" $PORT "${3:-1}" "${4:-0}"; }
# Every path works before the table exists (so no first-packet surprises).
check "paths up" wait_for 10 bash -c "$(declare -f send); T=$T PY=$PY PORT=$PORT;
	send $H 198.18.10.1 && send $H 198.18.10.2 && send $H 198.18.10.200 &&
	send $H 198.18.11.5 && send $H 198.18.20.2 && send $H 198.18.21.2 &&
	send $H fd00:20::2 && send $A 198.18.20.2 && send $A fd00:20::2"

conf() { # FILE, then [netmon] lines on stdin
	{
		printf '[group g]\nvrrp_instance = VI_1\ndestinations = 198.18.250.10/32\n'
		printf 'route_tables = rtb-0123456789abcdef0\n[netmon]\n'
		cat
	} >"$1"
}
# wide holds everything; pin sits inside az1, adj right after it; top is the
# last address of each family (an interval with no end element).
conf "$T/one.conf" <<-'C'
	zone.wide = 198.18.0.0/15
	zone.az1 = 198.18.10.0/24 fd00:10::/64
	zone.az2 = 198.18.20.0/24 fd00:20::/64
	zone.adj = 198.18.11.0/24
	zone.pin = 198.18.10.200/32
	zone.top = 255.255.255.255/32 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128
C
# Reload: az1 stays, az2's addresses become az3 (a new zone), the rest go.
conf "$T/two.conf" <<-'C'
	zone.az1 = 198.18.10.0/24 fd00:10::/64
	zone.az3 = 198.18.20.0/24 fd00:20::/64
C

# One probe process for the whole run, so that a reload carries counters.
coproc PROBE_CO { exec ip netns exec "$H" "$PROBE" session 2>>"$T/probe.err"; }
# bash unsets PROBE_CO_PID once it reaps the coprocess: keep the pid.
PROBE_PID=$PROBE_CO_PID
_pids+=("$PROBE_PID")
# probe CMD: its output in $OUT; status 0 when it answered "ok".
probe() {
	local l
	OUT=""
	echo "$1" >&"${PROBE_CO[1]}" || return 1
	while IFS= read -r -t 15 l <&"${PROBE_CO[0]}"; do
		case $l in
		ok) return 0 ;;
		fail) return 1 ;;
		*) OUT+="$l"$'\n' ;;
		esac
	done
	echo "# probe gave no answer to '$1'"
	return 1
}
# zone NAME: "in_pkts in_bytes out_pkts out_bytes" from the last read
zone() { awk -v z="$1" '$1 == z { print $2, $3, $4, $5 }' <<<"$OUT"; }
# counts NAME ZONE=VALUES...: read, then compare each zone
counts() {
	local name=$1 zv z want got bad=""
	shift
	if ! probe read; then
		not_ok "$name" "read failed: $(tail -3 "$T/probe.err")"
		return
	fi
	for zv in "$@"; do
		z=${zv%%=*} want=${zv#*=} got=$(zone "$z")
		[ "$got" = "$want" ] || bad+=" $z: got '$got' want '$want';"
	done
	if [ -z "$bad" ]; then ok "$name"; else not_ok "$name" "$bad"; fi
}
udp_ok() { # NAME NS ADDR COUNT SIZE: every datagram must come back
	if send "$2" "$3" "$4" "$5" >"$T/send" 2>&1; then
		ok "$1"
	else
		not_ok "$1" "$(tail -2 "$T/send" | tr '\n' ' ')"
	fi
}

check "apply creates the table" probe "apply $T/one.conf"
check "nft lists table inet vpc_failover" bash -c \
	"ip netns exec $H nft list tables | grep -qx 'table inet vpc_failover'"
counts "all counters start at 0" wide="0 0 0 0" az1="0 0 0 0" az2="0 0 0 0" \
	adj="0 0 0 0" pin="0 0 0 0" top="0 0 0 0"
expect_eq "read prints every zone, in config order" "$(awk '{print $1}' <<<"$OUT" | xargs)" \
	"wide az1 az2 adj pin top"

# H -> A: 5 datagrams out, 5 replies in, 20 + 8 + 100 = 128 bytes each.
udp_ok "udp H -> az1" "$H" 198.18.10.2 5 100
counts "local IPv4: out by destination, in by the replies' source" \
	az1="5 640 5 640" wide="0 0 0 0" pin="0 0 0 0"

# A /32 inside az1 and wide: the longest prefix wins (3 x (28 + 200)).
udp_ok "udp H -> 198.18.10.200" "$H" 198.18.10.200 3 200
counts "longest prefix: the /32 counts, not az1 nor wide" \
	pin="3 684 3 684" az1="5 640 5 640" wide="0 0 0 0"

# The /24 right after az1: adjacent intervals of two zones (4 x 28).
udp_ok "udp H -> 198.18.11.5" "$H" 198.18.11.5 4 0
counts "adjacent zone" adj="4 112 4 112" az1="5 640 5 640"

# In wide only: 7 x (28 + 10).
udp_ok "udp H -> 198.18.21.2" "$H" 198.18.21.2 7 10
counts "address in the wide zone only" wide="7 266 7 266" az2="0 0 0 0"

# IPv6, H -> B: 4 x (40 + 8 + 64) = 448.
udp_ok "udp6 H -> az2" "$H" fd00:20::2 4 64
counts "local IPv6" az2="4 448 4 448" az1="5 640 5 640"

# H to itself over loopback (198.18.10.1 is in az1): not zone traffic.
udp_ok "udp H -> its own az1 address" "$H" 198.18.10.1 3 100
counts "loopback traffic is not counted" az1="5 640 5 640"

# Forwarded A -> B through H, 6 x (28 + 300) = 1968 each way: the request is
# az1's in (source) and az2's out (destination), the reply az2's in and
# az1's out.
udp_ok "udp A -> B through H" "$A" 198.18.20.2 6 300
counts "forwarded IPv4 counts at both ends" \
	az1="11 2608 11 2608" az2="10 2416 10 2416" wide="7 266 7 266"
# The same over IPv6: 2 x (48 + 500) = 1096.
udp_ok "udp6 A -> B through H" "$A" fd00:20::2 2 500
counts "forwarded IPv6 counts at both ends" \
	az1="13 3704 13 3704" az2="12 3512 12 3512"
counts "other zones untouched" pin="3 684 3 684" adj="4 112 4 112" top="0 0 0 0"

# The table only counts: two base chains with policy accept, and no rule
# with a verdict.
hx nft list table inet vpc_failover >"$T/table"
expect_eq "two chains, both policy accept" \
	"$(grep -c 'hook .* policy accept;' "$T/table") $(grep -c '^\s*chain ' "$T/table")" "2 2"
expect_eq "no verdict in any rule" \
	"$(sed 's/policy accept;//' "$T/table" | grep -Ewc 'accept|drop|reject|return|jump|goto|queue|continue')" 0
expect_eq "one rule per map: saddr before routing, daddr after" \
	"$(grep -Eo 'counter name ip6? [sd]addr map @[a-z0-9]+' "$T/table" | xargs)" \
	"counter name ip saddr map @in4 counter name ip6 saddr map @in6 counter name ip daddr map @out4 counter name ip6 daddr map @out6"
check "elements: nested, adjacent and last address" grep -q \
	'198.18.10.200 : "pin_in", 198.18.10.201-198.18.10.255 : "az1_in",' "$T/table"
check "element at the end of the space" grep -q '255.255.255.255 : "top_in"' "$T/table"

# Another table's drop still drops: our accept decides nothing.
hx nft -f - <<-'N'
	table inet vpcf_test_other {
		chain out { type filter hook output priority 0; policy accept; ip daddr 198.18.10.2 drop; }
	}
N
if send "$H" 198.18.10.2 >/dev/null 2>&1; then
	not_ok "another table's drop is not overridden" "the datagram went through"
else
	ok "another table's drop is not overridden"
fi
udp_ok "the drop is that table's only (other addresses pass)" "$H" 198.18.10.200 1 0
counts "dropped before postrouting: not counted as out" az1="13 3704 13 3704" \
	pin="4 712 4 712"
hx nft delete table inet vpcf_test_other

# Reload: az1 keeps its values exactly, az3 starts at 0, the others go.
check "reload with other zones" probe "apply $T/two.conf"
counts "surviving zone keeps counting from where it was" az1="13 3704 13 3704" az3="0 0 0 0"
expect_eq "removed zones are gone" "$(awk '{print $1}' <<<"$OUT" | xargs)" "az1 az3"
udp_ok "udp H -> az1 after reload" "$H" 198.18.10.2 2 100
udp_ok "udp H -> az3 after reload" "$H" 198.18.20.2 1 100
counts "counters go on after the reload" az1="15 3960 15 3960" az3="1 128 1 128"
# Subnets of one size per family: hash maps of masked prefixes, no interval.
expect_eq "one-size subnets: hash maps looked up with the prefix mask" \
	"$(hx nft list table inet vpc_failover | grep -Eo 'counter name ip6? [sd]addr & [0-9a-f:.]+ map @[a-z0-9]+' | xargs)" \
	"counter name ip saddr & 255.255.255.0 map @in4 counter name ip6 saddr & ffff:ffff:ffff:ffff:: map @in6 counter name ip daddr & 255.255.255.0 map @out4 counter name ip6 daddr & ffff:ffff:ffff:ffff:: map @out6"
check "and no interval flag on them" bash -c \
	"! ip netns exec $H nft list map inet vpc_failover in4 | grep -q interval"
# The values live in the kernel: a fresh process reads the same.
expect_eq "a fresh process reads the carried values" \
	"$(hx "$PROBE" read "$T/two.conf" 2>/dev/null | xargs)" "az1 15 3960 15 3960 az3 1 128 1 128"
check "nft shows the carried counter" bash -c \
	"ip netns exec $H nft list counter inet vpc_failover az1_in | grep -q 'packets 15 bytes 3960'"

# Someone flushes the table: read fails, apply brings it back where the last
# read left it.
hx nft delete table inet vpc_failover
if probe read; then not_ok "read fails once the table is gone"; else ok "read fails once the table is gone"; fi
check "apply after a flush" probe "apply $T/two.conf"
counts "counters restored from the last read" az1="15 3960 15 3960" az3="1 128 1 128"

# Remove.
check "remove" probe remove
check "table gone from nft list tables" bash -c \
	"! ip netns exec $H nft list tables | grep -q vpc_failover"
if hx "$PROBE" read "$T/two.conf" >/dev/null 2>"$T/read.err"; then
	not_ok "read after remove fails"
else
	ok "read after remove fails"
fi
check "remove with no table is fine" hx "$PROBE" remove
echo quit >&"${PROBE_CO[1]}"
check "probe session ends" wait_for 5 bash -c "! kill -0 $PROBE_PID"

# A leftover from a crashed run, made by hand to be harmful (policy drop on
# output): a new process replaces it, says so, and starts from 0.
hx nft -f - <<-'N'
	table inet vpc_failover {
		counter az1_in { packets 999 bytes 99999 }
		chain junk { type filter hook output priority 0; policy drop; }
	}
N
if send "$H" 198.18.10.2 >/dev/null 2>&1; then
	not_ok "the leftover drops traffic" "the datagram went through"
else
	ok "the leftover drops traffic"
fi
hx "$PROBE" apply "$T/one.conf" 2>"$T/apply.err"
expect_eq "apply over a leftover exits 0" "$?" 0
check "says it replaced the leftover" grep -q "replacing table inet vpc_failover left by an earlier run" "$T/apply.err"
check "leftover chain gone" bash -c "! ip netns exec $H nft list table inet vpc_failover | grep -q junk"
expect_eq "leftover values not adopted" "$(hx "$PROBE" read "$T/one.conf" 2>/dev/null | awk '$1 == "az1"')" "az1 0 0 0 0"
udp_ok "traffic flows again" "$H" 198.18.10.2 1 100
expect_eq "and is counted" "$(hx "$PROBE" read "$T/one.conf" 2>/dev/null | awk '$1 == "az1"')" "az1 1 128 1 128"

# 100 zones of 100 IPv4 and 100 IPv6 CIDRs each: a 2.6 MB transaction
# (larger than the default socket buffer), read back in one dump.
{
	for z in $(seq 1 100); do
		printf 'zone.z%d =' "$z"
		for n in $(seq 0 2 198); do printf ' 10.%d.%d.0/24 fd%02x:%x::/48' "$z" "$n" "$z" "$n"; done
		echo
	done
} | conf "$T/big.conf"
hx "$PROBE" apply "$T/big.conf" 2>"$T/big.err"
expect_eq "apply 10000 CIDRs per family" "$?" 0
expect_eq "read 100 zones" "$(hx "$PROBE" read "$T/big.conf" 2>/dev/null | grep -c ' 0 0 0 0$')" 100
expect_eq "20000 intervals in in4 + in6" \
	"$(hx nft list map inet vpc_failover in4 | grep -o '"z[0-9]*_in"' | wc -l) $(hx nft list map inet vpc_failover in6 | grep -o '"z[0-9]*_in"' | wc -l)" \
	"10000 10000"
check "remove the big table" hx "$PROBE" remove
echo "1..$tapn"
