#!/bin/bash
# Issue 16: every query of the Grafana dashboard returns data from a real
# Prometheus scraping the two daemons of a pair (the namespace topology,
# real keepalived, a failover, client traffic to the overlay IP), except
# the ENA allowance panels: no interface here has an ENA driver
# (tests/unit/test_limits.c covers those names; metrics.sh has Prometheus
# evaluate those queries against rendered samples).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"
. "$(dirname "$0")/../keepalived.sh"
. "$(dirname "$0")/../nodes.sh"
PROMETHEUS=/usr/bin/prometheus
PY=/usr/bin/python3

topo_up || { not_ok "topology up"; exit 1; }
# The overlay IP on the MASTER's lo only (vip_device): the node that is not
# MASTER probes it through the VPC (probe = tcp:7000, docs/probe.md).
for n in a c; do
	ip -n "$(ns_of $n)" addr del "$OVERLAY_CIDR" dev lo
	[ $n = a ] && addr=$A_ADDR || addr=$C_ADDR
	node_conf $n vip=lo more="probe = tcp:7000
probe_interval = 2
probe_timeout = 1
[metrics]
listen = $addr:9641
allow_insecure_remote = yes
[netmon]
interval = 1
zone.az-a = 198.18.1.0/24
zone.az-c = 198.18.3.0/24
zone.clients = 198.18.100.0/24"
	ka_node_conf $n notify "$(hook $n)"
done
d_start a && d_start c && k_start a && k_start c
expect_eq "daemons and keepalived started" "$?" 0
check "node-a becomes MASTER" ka_wait_state "$NS_A" MASTER 10
check "every table points at node-a" within 10 all_at "$ENI_A"
topo_probe "$T/probe.log" 50 # client traffic: zone clients, TCP RTT

# Prometheus in the client's namespace scrapes both nodes every second.
cat >"$T/prometheus.yml" <<Y
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vpc-failover
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['$A_ADDR:9641', '$C_ADDR:9641']
        labels:
          service: overlay
Y
spawn "$T/prometheus.log" ip netns exec "$NS_CL" "$PROMETHEUS" --config.file="$T/prometheus.yml" \
	--storage.tsdb.path="$T/prometheus-data" --web.listen-address="127.0.0.1:9090"
pq() { # PromQL -> number of series in the result
	ip netns exec "$NS_CL" curl -sS --max-time 3 --get --data-urlencode "query=$1" \
		http://127.0.0.1:9090/api/v1/query 2>/dev/null |
		$PY -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))' 2>/dev/null
}
pq_ge() { [ "$(pq "$1")" -ge "$2" ] 2>/dev/null; } # QUERY N: at least N series
check "Prometheus scrapes both daemons" within 60 pq_ge 'vpc_failover_up == 1' 2
# A failover while Prometheus watches (the dashboard's annotation is
# increase() of the transitions): node-a's keepalived stops, node-c takes over.
ka_stop "${KPID[a]}"
check "node-c becomes MASTER" ka_wait_state "$NS_C" MASTER 10
check "every table points at node-c" within 15 all_at "$ENI_C"
check "the failover settled (settle time exported)" within 20 pq_ge 'vpc_failover_settle_seconds{instance="'$C_ADDR':9641"}' 1
check "node-a, no longer MASTER, probes node-c" within 10 \
	pq_ge 'vpc_failover_probe_up{instance="'$A_ADDR':9641"} == 1' 1
check "RTT observed towards the clients' zone" within 20 \
	pq_ge 'vpc_failover_zone_tcp_rtt_seconds_count{zone="clients"} > 0' 1
sleep 5 # rate() over a few scrapes
names=$($PY - "$TOP/dashboards/vpc-failover.json" <<'P'
import json, re, sys
sys.path.insert(0, sys.argv[1].rsplit("/", 2)[0] + "/tests")
import dashboard_check as d
used = set()
for _, e in d.exprs(json.load(open(sys.argv[1]))):
    used |= d.names(e)
print(",".join(sorted(n for n in used if not n.startswith("vpc_failover_ena_"))))
P
)
ip netns exec "$NS_CL" curl -sS --max-time 3 http://$A_ADDR:9641/metrics >"$T/a.txt"
ip netns exec "$NS_CL" curl -sS --max-time 3 http://$C_ADDR:9641/metrics >"$T/c.txt"
echo "# must return data: $names"
if out=$(ip netns exec "$NS_CL" $PY "$TOP/tests/dashboard_check.py" "$TOP/dashboards/vpc-failover.json" \
	"$T/a.txt" "$T/c.txt" --only vpc_failover_zone_,vpc_failover_group_,vpc_failover_conntrack_,vpc_failover_overlay_,vpc_failover_first_,vpc_failover_probe_ \
	--prom http://127.0.0.1:9090 --nonempty "$names" 2>&1); then
	ok "every dashboard query but the ENA ones returns data from both daemons ($(tr '\n' ' ' <<<"$out"))"
else
	not_ok "every dashboard query but the ENA ones returns data from both daemons" "$out"
fi
kill "$TOPO_PROBE_PID" 2>/dev/null
