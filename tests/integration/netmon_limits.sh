#!/bin/bash
# netmon/limits.c on real interfaces (tests/tools/ethtool-probe): a veth's
# driver statistics read through SIOCETHTOOL are exactly what `ethtool -S`
# prints; interfaces without the ENA allowance statistics export nothing;
# the conntrack fill is the namespace's /proc/sys/net/netfilter values.
# (The ENA names are matched against recorded statistics in
# tests/unit/test_limits.c: there is no ENA device here.)
. "$(dirname "$0")/../lib.sh"
PROBE=$B/tools/ethtool-probe
ETHTOOL=/usr/sbin/ethtool

N=$(ns_new limits) || { not_ok "namespace"; exit 1; }
ip -n "$N" link add va type veth peer name vb && ip -n "$N" link set va up &&
	ip -n "$N" link set vb up || { not_ok "veth"; exit 1; }

for dev in va vb; do
	ip netns exec "$N" "$PROBE" stats $dev >"$T/probe-$dev.txt"
	expect_eq "$dev: read exits 0" "$?" 0
	ip netns exec "$N" "$ETHTOOL" -S $dev | sed -n 's/^ *\([^:]*\): \(.*\)$/\1: \2/p' >"$T/ethtool-$dev.txt"
	check "$dev: the driver is veth" grep -qx "driver veth" "$T/probe-$dev.txt"
	check "$dev: every name and value as ethtool -S prints them" \
		diff <(grep -v '^driver ' "$T/probe-$dev.txt") "$T/ethtool-$dev.txt"
	check "$dev: ethtool -S listed statistics ($(wc -l <"$T/ethtool-$dev.txt"))" \
		test "$(wc -l <"$T/ethtool-$dev.txt")" -ge 3
done
vb_index=$(ip -n "$N" -o link show vb | cut -d: -f1)
expect_eq "va's peer_ifindex is vb's index" \
	"$(sed -n 's/^peer_ifindex: //p' "$T/probe-va.txt")" "$vb_index"

out=$(ip netns exec "$N" "$PROBE" stats nosuchdev 2>&1)
expect_eq "an unknown interface fails" "$?" 1
check "... saying so" grep -q "No such device" <<<"$out"
out=$(ip netns exec "$N" "$PROBE" stats lo 2>&1)
expect_eq "lo (no driver statistics) fails" "$?" 1

ip netns exec "$N" "$PROBE" collect >"$T/collect.txt" 2>"$T/collect.err"
expect_eq "collect exits 0" "$?" 0
expect_eq "no interface here has the ENA statistics: none exported" \
	"$(grep -c '^iface ' "$T/collect.txt")" 0
expect_eq "collect logs nothing" "$(wc -c <"$T/collect.err")" 0
if ip netns exec "$N" test -r /proc/sys/net/netfilter/nf_conntrack_max; then
	want="conntrack $(ip netns exec "$N" cat /proc/sys/net/netfilter/nf_conntrack_count) $(ip netns exec "$N" cat /proc/sys/net/netfilter/nf_conntrack_max)"
	expect_eq "conntrack fill as /proc/sys/net/netfilter says" "$(grep '^conntrack ' "$T/collect.txt")" "$want"
else
	expect_eq "no conntrack module: none, silently" "$(grep '^conntrack ' "$T/collect.txt")" "conntrack none"
fi
