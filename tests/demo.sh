#!/bin/bash
# make demo: a failover on the simulated VPC, with real kernel routing and
# real client traffic, in network namespaces that are removed afterwards
# (also on Ctrl-C).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

ms() { date +%s%N | cut -c1-13; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "setting up: router/VPC, node-a (AZ a), node-c (AZ c), client"
topo_up || { echo "demo: topology failed"; exit 1; }
echo "overlay IP $OVERLAY_CIDR; route tables: $TOPO_TABLES"
echo "the router's kernel follows route table ${TOPO_TABLES%% *}:"
ip -n "$NS_R" route show $OVERLAY | sed 's/^/  /'

say "vpc-failover routes (run on node-c; identity and credentials from instance metadata)"
ip netns exec "$NS_C" "$VPCF" -c "$T/node.conf" routes

say "the client asks the overlay IP"
echo "  answered by: $(topo_ask)"

say "node-a fails; on node-c: vpc-failover takeover --force"
t0=$(ms)
ip netns exec "$NS_C" "$VPCF" -c "$T/node.conf" takeover --force
rc=$?
t1=$(ms)
moved=""
for ((i = 0; i < 200; i++)); do
	[ "$(topo_ask)" = node-c ] && { moved=$(ms); break; }
	sleep 0.02
done

say "timeline"
echo "  +0 ms      takeover started"
echo "  +$((t1 - t0)) ms    takeover finished (exit $rc; includes process start and metadata)"
if [ -n "$moved" ]; then
	echo "  +$((moved - t0)) ms    client traffic answered by node-c"
else
	echo "  client traffic did not move within 4 s"
fi

say "the router's kernel route and the route tables after"
ip -n "$NS_R" route show $OVERLAY | sed 's/^/  /'
ip netns exec "$NS_C" "$VPCF" -c "$T/node.conf" routes

say "the simulator's change log"
grep -E "ReplaceRoute|CreateRoute" "$T/topo-sim.log" | sed 's/^/  /'
say "cleaning up"
[ -n "$moved" ] && [ "$rc" = 0 ]
