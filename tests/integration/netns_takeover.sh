#!/bin/bash
# takeover --force inside the namespace topology: identity and role
# credentials from the simulated metadata address, routes rewritten, and
# the client's real TCP traffic moves from node-a to node-c and back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"

topo_up || { not_ok "topology up"; exit 1; }
ok "topology up"
expect_eq "client reaches node-a first" "$(topo_ask)" node-a

ip netns exec "$NS_C" "$VPCF" -c "$T/node.conf" routes >"$T/out" 2>&1
expect_eq "routes from node-c exits 0" "$?" 0
check "node-c sees node-a's ENI as other" grep -Eq "$ENI_A \($I_A\) +active +other" "$T/out"

ip netns exec "$NS_C" "$VPCF" -c "$T/node.conf" takeover --force >"$T/out" 2>&1
expect_eq "takeover on node-c exits 0" "$?" 0
check "takeover names node-c's instance" grep -q "$ENI_C on $I_C" "$T/out"
check "client traffic moved to node-c" wait_for 5 topo_is node-c
check "router kernel route via node-c" bash -c "ip -n $NS_R route show $OVERLAY | grep -q 'via 198.18.3.2'"

ip netns exec "$NS_A" "$VPCF" -c "$T/node.conf" takeover --force >"$T/out" 2>&1
expect_eq "takeover back on node-a exits 0" "$?" 0
check "client traffic moved back to node-a" wait_for 5 topo_is node-a
for t in $TOPO_TABLES; do
	expect_eq "$t points at node-a" "$(topo_route "$t")" "$ENI_A"
done
