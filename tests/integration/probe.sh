#!/bin/bash
# The active probe (issue 16, probe = tcp:PORT; docs/probe.md), with real
# kernel routing: real keepalived on node-a (150) and node-c (100) of the
# namespace topology (tests/topo.sh); the router's kernel follows the
# simulator's route table, so the BACKUP's connect to the overlay IP goes
# out of its eth0 and reaches whoever the table names. The daemons hold the
# overlay IP on lo while MASTER only (vip_device = lo).
#   - node-c still holds the address topo_up put on its lo: the probe skips
#     it ("local": it would stay on loopback); once removed, node-c's probe
#     reaches node-a's responder: ok, with a connect latency;
#   - node-a's responder stopped: refused (RST, the path works);
#   - node-a drops the probe's SYNs (nftables): timeout, UNREACHABLE,
#     failures counted, vpc_failover_probe_up 0;
#   - failover (node-a's keepalived stops): node-c MASTER stops probing, and
#     node-a, now STOP, probes node-c through the moved route: ok.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"
. "$(dirname "$0")/../keepalived.sh"
. "$(dirname "$0")/../nodes.sh"

topo_up || { not_ok "topology up"; exit 1; }
ok "topology up"
ip -n "$NS_A" addr del "$OVERLAY_CIDR" dev lo
PROBE="probe = tcp:7000
probe_interval = 2
probe_timeout = 1"
node_conf a vip=lo more="$PROBE"
node_conf c vip=lo more="$PROBE"
ka_node_conf a notify "$(hook a)"
ka_node_conf c notify "$(hook c)"
check "daemon on node-a starts" d_start a
check "daemon on node-c starts" d_start c
k_start a && k_start c
check "node-a becomes MASTER" ka_wait_state "$NS_A" MASTER 10
check "node-c BACKUP" ka_wait_state "$NS_C" BACKUP 5
check "every table at node-a" within 10 all_at "$ENI_A"

pr() { # N FIELD: the first probe destination's FIELD in node N's status
	st_of "$1" "g['probe']['destinations'][0]['$2']"
}
pr_is() { [ "$(pr "$1" "$2")" = "$3" ]; }
check "node-c: the address on its own lo is skipped (never loopback)" within 6 pr_is c result local
detail=$(pr c detail)
check "node-c: the skip says why ($detail)" grep -q loopback <<<"$detail"
expect_eq "node-c: a skip is no probe" "$(pr c probes)" 0
ip -n "$NS_C" addr del "$OVERLAY_CIDR" dev lo
check "node-c probes node-a through the VPC: ok" within 6 pr_is c result ok
ms=$(pr c connect_ms)
echo "# node-c -> $OVERLAY:7000 connect: $ms ms"
check "node-c: a connect latency" python3 -c "import sys; sys.exit(not 0 < $ms < 1000)"
expect_eq "node-a MASTER does not probe" "$(st_of a "g['probe']['probing']")" False
vf c status >"$T/c-status.txt"
sed 's/^/# /' "$T/c-status.txt" | grep probe
check "node-c's status text: probe ... from us-east-1c: ok" \
	grep -Eq "probe $OVERLAY:7000 from us-east-1c: ok [0-9.]+ ms, [0-9]+ s ago" "$T/c-status.txt"
vf c metrics >"$T/c-metrics.txt"
check "node-c exports vpc_failover_probe_up 1" grep -q \
	"^vpc_failover_probe_up{group=\"overlay\",destination=\"$OVERLAY\",zone=\"us-east-1c\"} 1$" "$T/c-metrics.txt"
check "node-c exports the connect time" grep -q "^vpc_failover_probe_connect_seconds{" "$T/c-metrics.txt"
vf a metrics >"$T/a-metrics.txt"
check "node-a (MASTER) exports no probe_up" bash -c "! grep -q '^vpc_failover_probe_up' $T/a-metrics.txt"

# -- node-a's port closed: RST ----------------------------------------------------
kill "${TOPO_RESP_PID[node-a]}"
check "responder stopped: node-c's probe says refused" within 6 pr_is c result refused
check "refused counts as reachable (probe_up 1)" bash -c \
	"ip netns exec $NS_C $VPCF -c $T/c/vpcf.conf metrics | grep -q '^vpc_failover_probe_up{.*} 1$'"
check "refused in the status text" bash -c \
	"ip netns exec $NS_C $VPCF -c $T/c/vpcf.conf status | grep -q 'refused .* nothing listens'"

# -- node-a drops the SYNs: timeout -------------------------------------------------
ip netns exec "$NS_A" nft -f - <<-N
	table inet vpcf_probe_test {
		chain input { type filter hook input priority 0; tcp dport 7000 drop; }
	}
N
f0=$(pr c failures)
check "SYNs dropped: node-c's probe times out" within 8 pr_is c result timeout
check "failures counted" within 6 bash -c "[ \$(ip netns exec $NS_C $VPCF -c $T/c/vpcf.conf status --json |
	python3 -c \"import json,sys; print(json.load(sys.stdin)['groups'][0]['probe']['destinations'][0]['consecutive_failures'])\") -ge 2 ]"
check "more failures than before ($f0)" python3 -c "import sys; sys.exit(not $(pr c failures) > $f0)"
vf c metrics >"$T/c-metrics.txt"
check "vpc_failover_probe_up 0" grep -q '^vpc_failover_probe_up{.*} 0$' "$T/c-metrics.txt"
check "vpc_failover_probe_failures_total > 0" grep -Eq '^vpc_failover_probe_failures_total\{.*\} [1-9]' "$T/c-metrics.txt"
check "UNREACHABLE in the status text" bash -c \
	"ip netns exec $NS_C $VPCF -c $T/c/vpcf.conf status | grep -q 'UNREACHABLE (no answer in 1000 ms).*failures in a row, last ok'"
check "node-c logs the timeout" grep -q "probe $OVERLAY:7000 (group overlay) from us-east-1c: timeout" "$T/c/daemon.log"
ip netns exec "$NS_A" nft delete table inet vpcf_probe_test

# -- failover: the new BACKUP probes the new MASTER -----------------------------------
ka_stop "${KPID[a]}"
check "failover: node-c MASTER" ka_wait_state "$NS_C" MASTER 10
check "failover: every table at node-c" within 10 all_at "$ENI_C"
check "failover: node-c no longer probes" within 3 status_is c "g['probe']['probing']" False
check "failover: node-a (STOP) probes node-c: ok" within 8 pr_is a result ok
echo "# node-a -> $OVERLAY:7000 connect after the failover: $(pr a connect_ms) ms"
check "failover: node-c exports no probe_up now" bash -c \
	"! ip netns exec $NS_C $VPCF -c $T/c/vpcf.conf metrics | grep -q '^vpc_failover_probe_up'"
vf a status | grep probe | sed 's/^/# /'
d_stop a
d_stop c
