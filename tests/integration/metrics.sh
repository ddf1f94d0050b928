#!/bin/bash
# The exporters against the real daemon on loopback and the simulated VPC:
# /metrics checked by promtool and scraped by a real Prometheus server,
# the failover metrics after a MASTER, EC2 answers by action and code,
# `vpc-failover metrics` (--json, --format=prometheus, --format=mackerel
# with its state file and graph definitions), 404/405, a port already in
# use, and the endpoint gone after SIGTERM.
. "$(dirname "$0")/../lib.sh"

# TEST_BUILD=build/h-NAME runs this against a private build directory.
if [ -n "${TEST_BUILD:-}" ]; then
	B=$(cd "$TOP" && cd "$TEST_BUILD" && pwd)
	VPCF=$B/vpc-failover VPCFD=$B/vpc-failoverd VPCSIM=$B/vpcsim
fi
PROMTOOL=/usr/bin/promtool
PROMETHEUS=/usr/bin/prometheus
PY=/usr/bin/python3

ENI_A=eni-0aaaaaaaaaaaaaaa1 ENI_C=eni-0ccccccccccccccc3
I_A=i-0aaaaaaaaaaaaaaa1 I_C=i-0ccccccccccccccc3
AKID=AKIASIMULATED000001
SECRET=simulated/secret/key/0000000000000000001
DEST=10.255.0.10/32
RTB1=rtb-00000000000000001 RTB2=rtb-00000000000000002
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
unset MACKEREL_AGENT_PLUGIN_META MACKEREL_PLUGIN_WORKDIR

for t in "$PROMTOOL" "$PROMETHEUS" curl; do
	command -v "$t" >/dev/null || { echo "Bail out! $t missing (scripts/deps.sh installs it)"; exit 1; }
done

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sim_vpc "$T/state.json" 2
sim_start "$T/state.json" || exit 1

# write_conf FILE NAME LISTEN
write_conf() {
	cat >"$1" <<-C
	$(sim_aws "api_deadline = 10" "request_timeout = 2")
	[daemon]
	control_socket = $T/$2.sock
	state_dir = $T/$2.state
	[metrics]
	listen = $3
	[group redis]
	vrrp_instance = VI_1
	destinations = $DEST
	route_tables = $RTB1 $RTB2
	recheck_interval = 0
	C
}

MPORT=$(free_port)
write_conf "$T/vpcf.conf" d "127.0.0.1:$MPORT"
vf() { "$VPCF" -c "$T/vpcf.conf" "$@"; }
URL=http://127.0.0.1:$MPORT
scrape() { curl -sS --max-time 5 "$URL/metrics"; }
# value FILE SERIES: the sample value of one exact series ("" when absent)
value() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }

spawn "$T/daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
DPID=$SPAWNED_PID
check "daemon starts with [metrics] listen = 127.0.0.1:$MPORT" wait_for 5 test -S "$T/d.sock"
# The control socket comes up before the metrics endpoint: wait for the line.
check "the daemon says where it serves metrics" \
	wait_for 5 grep -q "metrics: Prometheus endpoint on http://127.0.0.1:$MPORT/metrics" "$T/daemon.log"

# Before any keepalived event: up once the identity is known, the group
# UNKNOWN, no convergence yet.
wait_for 10 bash -c "curl -sS --max-time 5 '$URL/metrics' | grep -qx 'vpc_failover_up 1'"
scrape >"$T/m0.txt"
expect_eq "vpc_failover_up is 1" "$(value "$T/m0.txt" vpc_failover_up)" 1
expect_eq "before any event the group is UNKNOWN" \
	"$(value "$T/m0.txt" 'vpc_failover_group_state{group="redis",state="UNKNOWN"}')" 1
check "no convergence time before the first failover" \
	bash -c "! grep -q '^vpc_failover_convergence_seconds' '$T/m0.txt'"

# MASTER: converge, then look at what the exporter says about it.
vf notify INSTANCE VI_1 MASTER 150
check "MASTER converged" wait_for 5 all_at $ENI_C 2
# The failover is counted once it settled (request_timeout 2 + 1 s).
settled() { vf status --json | /usr/bin/python3 -c "import json,sys; sys.exit(json.load(sys.stdin)['groups'][0]['phase'] != 'converged')"; }
check "MASTER settled" wait_for 8 settled
scrape >"$T/m1.txt"
"$PROMTOOL" check metrics <"$T/m1.txt" >"$T/promtool.out" 2>&1
rc=$?
sed 's/^/# promtool: /' "$T/promtool.out"
expect_eq "promtool check metrics passes" "$rc" 0
expect_eq "promtool has no complaint" "$(wc -c <"$T/promtool.out")" 0
expect_eq "group_state MASTER is 1" \
	"$(value "$T/m1.txt" 'vpc_failover_group_state{group="redis",state="MASTER"}')" 1
expect_eq "group_state BACKUP is 0" \
	"$(value "$T/m1.txt" 'vpc_failover_group_state{group="redis",state="BACKUP"}')" 0
expect_eq "the MASTER transition is counted" \
	"$(value "$T/m1.txt" 'vpc_failover_transitions_total{group="redis",state="MASTER"}')" 1
expect_eq "route_updates ok counts both tables" \
	"$(value "$T/m1.txt" 'vpc_failover_route_updates_total{group="redis",result="ok"}')" 2
expect_eq "route_updates failed is 0" \
	"$(value "$T/m1.txt" 'vpc_failover_route_updates_total{group="redis",result="failed"}')" 0
expect_eq "no late write" "$(value "$T/m1.txt" 'vpc_failover_late_writes_total{group="redis"}')" 0
expect_eq "no split-brain flip" "$(value "$T/m1.txt" 'vpc_failover_split_brain_flips_total{group="redis"}')" 0
settle=$(value "$T/m1.txt" 'vpc_failover_settle_seconds{group="redis"}')
check "settle_seconds is set, after the settle checks ($settle s)" /usr/bin/python3 -c "assert 2 < float('$settle') < 10"
conv=$(value "$T/m1.txt" 'vpc_failover_convergence_seconds{group="redis"}')
expect_eq "the convergence histogram counts the failover" \
	"$(value "$T/m1.txt" 'vpc_failover_convergence_duration_seconds_count{group="redis"}')" 1
expect_eq "... in its +Inf bucket" \
	"$(value "$T/m1.txt" 'vpc_failover_convergence_duration_seconds_bucket{group="redis",le="+Inf"}')" 1
check "... and in the 60 s bucket (cumulative)" test \
	"$(value "$T/m1.txt" 'vpc_failover_convergence_duration_seconds_bucket{group="redis",le="60"}')" = 1
check "convergence_seconds is set ($conv s)" $PY -c "assert 0 < float('$conv') < 10"
# The simulator's own count per action must equal ours.
sim_get /_sim/stats >"$T/sim.json"
check "api_requests per action equal the simulator's count" $PY - "$T/m1.txt" "$T/sim.json" <<'P'
import json, re, sys
ours = {}
for l in open(sys.argv[1]):
    m = re.match(r'vpc_failover_api_requests_total\{action="([^"]+)",code="([^"]+)"\} (\d+)$', l)
    if m:
        ours[m[1]] = ours.get(m[1], 0) + int(m[3])
sim = json.load(open(sys.argv[2]))["actions"]
print("# ours", ours, "simulator", sim)
assert ours and ours == {k: v for k, v in sim.items() if v}, (ours, sim)
P
check "ReplaceRoute answered OK is counted" \
	grep -qE '^vpc_failover_api_requests_total\{action="ReplaceRoute",code="OK"\} [1-9]' "$T/m1.txt"
check "host-wide TCP counters are read from /proc/net/snmp" \
	test "$(value "$T/m1.txt" vpc_failover_tcp_segments_out_total)" -gt 0
check "process metrics: the daemon's start time, fds and memory" $PY - "$T/m1.txt" "$DPID" <<'P'
import os, sys, time
v = {l.split()[0]: float(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("process_")}
print("#", v)
fds = len(os.listdir("/proc/%s/fd" % sys.argv[2]))
assert abs(v["process_start_time_seconds"] - time.time()) < 600, v
assert 3 <= v["process_open_fds"] and abs(v["process_open_fds"] - fds) <= 3, (v, fds)
assert v["process_resident_memory_bytes"] > 1 << 20 and v["process_cpu_seconds_total"] >= 0, v
assert v["process_max_fds"] >= v["process_open_fds"], v
P
check "every family has HELP and TYPE" $PY - "$T/m1.txt" <<'P'
import sys
import re
fams = set(); helped = set(); typed = set(); hists = set()
for l in open(sys.argv[1]):
    if l.startswith("# HELP "): helped.add(l.split()[2])
    elif l.startswith("# TYPE "):
        typed.add(l.split()[2])
        if l.split()[3] == "histogram": hists.add(l.split()[2])
    else:
        n = l.split("{")[0].split()[0]
        base = re.sub(r"_(bucket|sum|count)$", "", n)
        fams.add(base if base in hists else n)
assert fams and fams <= helped and fams <= typed, (fams - helped, fams - typed)
P

# The network monitor is not wired into the daemon yet: render a snapshot
# with zones (and labels that need escaping) the same way and check it too.
cat >"$T/zones.json" <<'J'
{"time": 1718000000.25, "up": 1,
 "zones": [{"zone": "us-east-1a", "packets_in": 10, "bytes_in": 15000, "packets_out": 20,
            "bytes_out": 2000, "tcp_segments_out": 300, "tcp_retrans_segments": 3,
            "tcp_retrans_ratio": 0.0125,
            "tcp_rtt": {"buckets": [[0.0001, 2], [0.0002, 5], [0.0005, 9], [null, 10]],
                        "sum": 0.0042, "count": 10}},
           {"zone": "us-east-1c", "packets_in": 0, "bytes_in": 0, "packets_out": 0,
            "bytes_out": 0, "tcp_segments_out": 0, "tcp_retrans_segments": 0,
            "tcp_retrans_ratio": 0}],
 "tcp": {"segments_out": 5000, "retrans_segments": 7},
 "groups": [{"group": "we\\ird\"name", "state": "BACKUP",
             "transitions": {"MASTER": 0, "BACKUP": 1, "FAULT": 0, "STOP": 0, "DELETED": 0},
             "route_updates": {"ok": 0, "failed": 0}, "convergence_seconds": null}],
 "api_requests": [{"action": "DescribeRouteTables", "code": "HTTP_502", "count": 2}],
 "netmon": {"collections": 3, "lost_events": 1, "enabled": true},
 "interfaces": [{"interface": "ens5", "bw_in_allowance_exceeded": 4, "bw_out_allowance_exceeded": 0,
                 "pps_allowance_exceeded": 0, "conntrack_allowance_exceeded": 0,
                 "linklocal_allowance_exceeded": 2, "conntrack_allowance_available": 90000}],
 "conntrack": {"count": 12, "max": 262144},
 "overlay": [{"group": "we\\ird\"name", "zone": "us-east-1a", "packets": 5, "bytes": 700,
              "misrouted": 0, "misroute_episodes": 0, "first_traffic_seconds": 0.061}],
 "probes": [{"group": "we\\ird\"name", "destination": "10.255.0.10", "zone": "us-east-1a",
             "probes": 7, "failures": 2, "up": 1, "connect_seconds": 0.0004},
            {"group": "we\\ird\"name", "destination": "10.255.0.11", "zone": "us-east-1a",
             "probes": 7, "failures": 7, "up": 0}]}
J
"$B/tools/prom_render" <"$T/zones.json" >"$T/zones.txt"
check "promtool accepts zones and escaped labels" "$PROMTOOL" check metrics <"$T/zones.txt"
expect_eq "zone bytes by direction" \
	"$(value "$T/zones.txt" 'vpc_failover_zone_bytes_total{zone="us-east-1a",direction="in"}')" 15000
check "the group label is escaped" \
	grep -qF 'vpc_failover_group_state{group="we\\ird\"name",state="BACKUP"} 1' "$T/zones.txt"
for l in 'vpc_failover_probe_up{group="we\\ird\"name",destination="10.255.0.11",zone="us-east-1a"} 0' \
	'vpc_failover_probe_connect_seconds{group="we\\ird\"name",destination="10.255.0.10",zone="us-east-1a"} 0.0004' \
	'vpc_failover_probe_failures_total{group="we\\ird\"name",destination="10.255.0.11",zone="us-east-1a"} 7'; do
	check "probe: ${l%%\{*}" grep -qxF "$l" "$T/zones.txt"
done
"$B/tools/prom_render" --mackerel <"$T/zones.json" >"$T/zones.mk"
check "Mackerel: probe reachability and connect time (ms)" bash -c \
	"grep -qP '^vpc-failover\\.probe_up\\.we_ird_name\\.10_255_0_11\t0\t' '$T/zones.mk' &&
	 grep -qP '^vpc-failover\\.probe_connect\\.we_ird_name\\.10_255_0_10\t0\\.4\t' '$T/zones.mk'"
check "Mackerel: zone ratio as a percentage" \
	grep -qP '^vpc-failover\.zone_tcp_retrans_ratio\.us-east-1a\t1\.25\t1718000000$' "$T/zones.mk"
check "Mackerel: odd group names sanitised" grep -qP '^vpc-failover\.group_state\.we_ird_name\.backup\t1\t' "$T/zones.mk"

# EC2 error codes: throttle every call while a failover runs.
vf notify INSTANCE VI_1 BACKUP 100
set_all $ENI_A 2
sim_post /_sim/faults '{"throttle": 1.0}' >/dev/null
vf notify INSTANCE VI_1 MASTER 150
check "a throttled answer is counted by its EC2 code" wait_for 5 bash -c \
	"curl -sS '$URL/metrics' | grep -qE '^vpc_failover_api_requests_total\{action=\"[A-Za-z]+\",code=\"RequestLimitExceeded\"\} [1-9]'"
sim_post /_sim/faults '{"throttle": 0}' >/dev/null
check "converged after the throttling" wait_for 15 all_at $ENI_C 2
# Throttling of every call is an empty bucket to the client: its describes
# and writes are paced (docs/ratelimit.md), so the settle checks come
# seconds after the routes; the snapshots below must not race them.
check "settled after the throttling" wait_for 40 settled
scrape >"$T/m2.txt"
expect_eq "two MASTER transitions now" \
	"$(value "$T/m2.txt" 'vpc_failover_transitions_total{group="redis",state="MASTER"}')" 2
expect_eq "one BACKUP transition" \
	"$(value "$T/m2.txt" 'vpc_failover_transitions_total{group="redis",state="BACKUP"}')" 1

# HTTP details
expect_eq "Content-Type is text format 0.0.4" \
	"$(curl -sS -o /dev/null -w '%{content_type}' "$URL/metrics")" \
	"text/plain; version=0.0.4; charset=utf-8"
expect_eq "another path is 404" "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/")" 404
expect_eq "/metrics/x is 404" "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/metrics/x")" 404
expect_eq "POST /metrics is 405" \
	"$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data x=1 "$URL/metrics")" 405
check "405 says Allow: GET" bash -c "curl -sS -i -X PUT --data x '$URL/metrics' | grep -qi '^Allow: GET'"
expect_eq "HEAD /metrics is 200" "$(curl -sS -o /dev/null -w '%{http_code}' -I "$URL/metrics")" 200
check "the daemon still answers after all that" bash -c "'$VPCF' -c '$T/vpcf.conf' status >/dev/null"

# The CLI prints the same snapshot.
vf metrics --json >"$T/cli.json"
expect_eq "metrics --json exits 0" "$?" 0
vf metrics --format=prometheus >"$T/cli.txt"
expect_eq "metrics --format=prometheus exits 0" "$?" 0
vf metrics >"$T/cli-default.txt"
scrape >"$T/m3.txt"
check "metrics --json is the snapshot" $PY - "$T/cli.json" "$T/cli.txt" <<'P'
import json, sys
s = json.load(open(sys.argv[1]))
text = set(open(sys.argv[2]).read().splitlines())
assert s["up"] == 1 and s["zones"] == [] and isinstance(s["time"], (int, float))
g = s["groups"][0]
assert g["group"] == "redis" and g["state"] == "MASTER"
want = ['vpc_failover_group_state{group="redis",state="MASTER"} 1']
want += ['vpc_failover_transitions_total{group="redis",state="%s"} %d' % kv for kv in g["transitions"].items()]
want += ['vpc_failover_route_updates_total{group="redis",result="%s"} %d' % kv for kv in g["route_updates"].items()]
want += ['vpc_failover_api_requests_total{action="%s",code="%s"} %d' % (a["action"], a["code"], a["count"]) for a in s["api_requests"]]
missing = [w for w in want if w not in text]
assert not missing, missing
P
# Host TCP counters move with every connection (this scrape's too), netmon's
# collection count with its timer (between the two reads on a slow run): the
# rest of the text must be identical.
# Counters that move between two reads: host TCP, collections, the process.
notcp() { grep -v -e '^vpc_failover_tcp_' -e '^vpc_failover_netmon_collections_total' -e '^process_' "$1"; }
if diff <(notcp "$T/cli.txt") <(notcp "$T/m3.txt") >"$T/diff"; then
	ok "--format=prometheus prints what /metrics serves"
else
	not_ok "--format=prometheus prints what /metrics serves"
	sed 's/^/# /' "$T/diff"
fi
check "the default format is prometheus" diff <(notcp "$T/cli.txt") <(notcp "$T/cli-default.txt")
check "promtool accepts the CLI's output too" "$PROMTOOL" check metrics <"$T/cli.txt"
vf metrics --format=xml 2>"$T/err"
expect_eq "metrics --format=xml exits 2" "$?" 2
vf metrics --json --format=mackerel 2>/dev/null
expect_eq "metrics --json --format=mackerel exits 2" "$?" 2
vf metrics --state "$T/x" 2>/dev/null
expect_eq "metrics --state without mackerel exits 2" "$?" 2

# Mackerel: the first run remembers, the second prints per-minute rates.
MK=$T/mk.json
vf metrics --format=mackerel --state "$MK" >"$T/mk1.txt"
expect_eq "mackerel first run exits 0" "$?" 0
check "the state file was written" $PY -c "import json; json.load(open('$MK'))['values']"
check "first run: gauges (group state)" grep -qP '^vpc-failover\.group_state\.redis\.master\t1\t\d{10}$' "$T/mk1.txt"
check "first run: no rates yet" bash -c "! grep -q 'api_requests' '$T/mk1.txt'"
vf notify INSTANCE VI_1 BACKUP 100
set_all $ENI_A 2
vf notify INSTANCE VI_1 MASTER 150
check "a third failover converged" wait_for 5 all_at $ENI_C 2
sleep 0.3
vf metrics --format=mackerel --state "$MK" >"$T/mk2.txt"
sed 's/^/# /' "$T/mk2.txt"
check "second run: api request rates" grep -qP '^vpc-failover\.api_requests\.ReplaceRoute_OK\t[0-9.]+\t\d{10}$' "$T/mk2.txt"
check "second run: a MASTER transition rate > 0" \
	grep -qP '^vpc-failover\.transitions\.redis\.master\t([1-9][0-9.]*|0\.[0-9]*[1-9][0-9]*)\t' "$T/mk2.txt"
check "second run: route update rates" grep -qP '^vpc-failover\.route_updates\.redis\.ok\t' "$T/mk2.txt"
check "second run: convergence seconds" grep -qP '^vpc-failover\.convergence_seconds\.redis\t0\.\d+\t' "$T/mk2.txt"
check "every line is name<TAB>value<TAB>epoch" bash -c \
	"! grep -vP '^vpc-failover(\.[-a-zA-Z0-9_]+)+\t-?[0-9]+(\.[0-9]+)?\t[0-9]{10}$' '$T/mk2.txt'"
MACKEREL_AGENT_PLUGIN_META=1 "$VPCF" -c "$T/vpcf.conf" metrics --format=mackerel >"$T/meta.txt"
expect_eq "META=1 exits 0" "$?" 0
expect_eq "META=1 starts with the plugin line" "$(head -1 "$T/meta.txt")" "# mackerel-agent-plugin"
check "META=1 graph definitions are JSON with units and metrics" $PY - "$T/meta.txt" <<'P'
import json, sys
g = json.loads("".join(open(sys.argv[1]).readlines()[1:]))["graphs"]
assert "vpc-failover.zone_packets" in g and "vpc-failover.group_state.#" in g, g.keys()
for k, v in g.items():
    assert v["label"] and v["unit"] in ("float", "integer", "percentage", "seconds", "milliseconds", "bytes"), v
    assert all({"name", "label", "stacked"} <= set(m) for m in v["metrics"]), v
P
echo '{"time": "garbage' >"$MK"
vf metrics --format=mackerel --state "$MK" >"$T/mk3.txt" 2>"$T/err"
expect_eq "a broken state file is not fatal" "$?" 0
check "a broken state file is reported" grep -q "state file $MK: not JSON" "$T/err"
check "and replaced" $PY -c "import json; json.load(open('$MK'))['values']"
vf metrics --format=mackerel >/dev/null 2>"$T/err"
check "the default state file is in state_dir" test -s "$T/d.state/mackerel-state.json"
# go-mackerel-plugin's conventions: MACKEREL_PLUGIN_WORKDIR holds the state
# (an agent that is not root cannot write state_dir), a metric key prefix
# renames every metric and graph, and a state that cannot be kept is an
# error with nothing printed, not a run that silently lacks its rates.
mkdir -p "$T/wd"
MACKEREL_PLUGIN_WORKDIR=$T/wd vf metrics --format=mackerel >/dev/null 2>"$T/err"
expect_eq "MACKEREL_PLUGIN_WORKDIR: exit 0" "$?" 0
check "MACKEREL_PLUGIN_WORKDIR holds the state" test -s "$T/wd/mackerel-plugin-vpc-failover.json"
MACKEREL_PLUGIN_WORKDIR=$T/wd vf metrics --format=mackerel --metric-key-prefix redis-a >"$T/mkp.txt" 2>"$T/err"
expect_eq "--metric-key-prefix: exit 0" "$?" 0
check "--metric-key-prefix: every line under the prefix" bash -c \
	"test -s '$T/mkp.txt' && ! grep -v '^redis-a\.' '$T/mkp.txt'"
check "--metric-key-prefix: its own state file" test -s "$T/wd/mackerel-plugin-redis-a.json"
MACKEREL_AGENT_PLUGIN_META=1 vf metrics --format=mackerel --metric-key-prefix redis-a >"$T/metap.txt"
check "--metric-key-prefix: the graph definitions follow" $PY - "$T/metap.txt" <<'P'
import json, sys
g = json.loads("".join(open(sys.argv[1]).readlines()[1:]))["graphs"]
assert g and all(k.startswith("redis-a.") for k in g), list(g)
P
vf metrics --format=mackerel --metric-key-prefix a.b >/dev/null 2>"$T/err"
expect_eq "--metric-key-prefix a.b: exit 2" "$?" 2
vf metrics --metric-key-prefix x >/dev/null 2>&1
expect_eq "--metric-key-prefix without --format=mackerel: exit 2" "$?" 2
MACKEREL_PLUGIN_WORKDIR=$T/no-such-dir vf metrics --format=mackerel >"$T/mkf.txt" 2>"$T/err"
expect_eq "a state that cannot be written: exit 3" "$?" 3
expect_eq "a state that cannot be written: nothing printed" "$(wc -c <"$T/mkf.txt")" 0
check "a state that cannot be written: says what to do" grep -q "set MACKEREL_PLUGIN_WORKDIR" "$T/err"
# mackerel-agent.conf example: TOML the agent reads, running this command.
check "hooks/examples/mackerel-agent.conf: TOML with the plugin" $PY - "$TOP/hooks/examples/mackerel-agent.conf" <<'P'
import sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))["plugin"]["metrics"]["vpc-failover"]
cmd = c["command"]
assert cmd[0].endswith("/sbin/vpc-failover") and cmd[1:3] == ["metrics", "--format=mackerel"], cmd
assert c["env"]["MACKEREL_PLUGIN_WORKDIR"], c
P

# A real Prometheus server scrapes the daemon.
PPORT=$(free_port)
cat >"$T/prometheus.yml" <<Y
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vpc-failover
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
Y
check "promtool check config" bash -c "'$PROMTOOL' check config '$T/prometheus.yml' >/dev/null"
spawn "$T/prometheus.log" "$PROMETHEUS" --config.file="$T/prometheus.yml" \
	--storage.tsdb.path="$T/prometheus-data" --web.listen-address="127.0.0.1:$PPORT"
PROMPID=$SPAWNED_PID
pquery() { # value of the first result of a PromQL query ("" when none)
	curl -sS --max-time 3 --get --data-urlencode "query=$1" \
		"http://127.0.0.1:$PPORT/api/v1/query" 2>/dev/null |
		$PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null
}
pquery_is() { [ "$(pquery "$1")" = "$2" ]; }
if wait_for 60 pquery_is vpc_failover_up 1; then
	ok "Prometheus scraped vpc_failover_up = 1"
else
	not_ok "Prometheus scraped vpc_failover_up = 1" "$(tail -5 "$T/prometheus.log")"
fi
check "Prometheus sees the group MASTER" pquery_is 'vpc_failover_group_state{group="redis",state="MASTER"}' 1
check "Prometheus sees the transitions" pquery_is 'vpc_failover_transitions_total{group="redis",state="MASTER"}' 3
check "the scrape target is healthy" bash -c "curl -sS 'http://127.0.0.1:$PPORT/api/v1/targets' | $PY -c '
import json,sys; t=json.load(sys.stdin)[\"data\"][\"activeTargets\"][0]
assert t[\"health\"] == \"up\" and t[\"lastError\"] == \"\", t'"

# The Grafana dashboard (dashboards/vpc-failover.json): every metric its
# queries, annotation and variables name is in a scrape of this daemon (the
# zone families, which need the network monitor, in the renderer's output
# for a snapshot with zones; netmon_daemon.sh checks them against a daemon
# with zones), and this Prometheus evaluates every query, the failover ones
# with data.
curl -sS --max-time 3 "http://127.0.0.1:$MPORT/metrics" >"$T/live.txt"
sleep 2 # a second scrape for rate() and increase()
if out=$($PY "$TOP/tests/dashboard_check.py" "$TOP/dashboards/vpc-failover.json" \
	"$T/live.txt" "$T/zones.txt" --prom "http://127.0.0.1:$PPORT" \
	--nonempty vpc_failover_up,vpc_failover_group_state,vpc_failover_group_converged,vpc_failover_group_damped,vpc_failover_convergence_seconds,vpc_failover_route_updates_total,vpc_failover_api_requests_total,process_cpu_seconds_total,process_open_fds 2>&1); then
	ok "the Grafana dashboard names only exported metrics; Prometheus evaluates its queries ($(tr '\n' ' ' <<<"$out"))"
else
	not_ok "the Grafana dashboard names only exported metrics; Prometheus evaluates its queries" "$out"
fi

# vpc_failover_up is 0 while the daemon cannot act: metadata unanswered.
NPORT=$(free_port)
cat >"$T/noid.conf" <<C
[aws]
region = us-east-1
endpoint = $SIM_URL
metadata_endpoint = http://127.0.0.1:9
[daemon]
control_socket = $T/noid.sock
state_dir = $T/noid.state
[metrics]
listen = 127.0.0.1:$NPORT
[group redis]
vrrp_instance = VI_1
destinations = $DEST
route_tables = $RTB1
C
spawn "$T/noid.log" "$VPCFD" -f -c "$T/noid.conf"
NOID=$SPAWNED_PID
check "a daemon without metadata serves metrics" \
	wait_for 5 grep -q "Prometheus endpoint on http://127.0.0.1:$NPORT" "$T/noid.log"
expect_eq "without its identity, vpc_failover_up is 0" \
	"$(curl -sS --max-time 5 "http://127.0.0.1:$NPORT/metrics" | awk '$1 == "vpc_failover_up" { print $2 }')" 0
kill "$NOID"

# A second daemon on the same port: a clear error at start.
write_conf "$T/busy.conf" busy "127.0.0.1:$MPORT"
timeout 10 "$VPCFD" -f -c "$T/busy.conf" >"$T/busy.log" 2>&1
rc=$?
check "a second daemon on a taken port fails to start (rc $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "and says why" grep -q "cannot serve metrics on 127.0.0.1:$MPORT" "$T/busy.log"
check "naming the bind error" grep -q "Address already in use" "$T/busy.log"

# SIGTERM: the endpoint goes away with the daemon.
kill -TERM "$DPID"
wait "$DPID"
expect_eq "SIGTERM exits 0" "$?" 0
check "the endpoint was stopped" grep -q "metrics: endpoint stopped" "$T/daemon.log"
check "nothing listens on the port any more" bash -c "! curl -s --max-time 2 '$URL/metrics' >/dev/null"
vf metrics --json >/dev/null 2>"$T/err"
expect_eq "metrics with the daemon down exits 3" "$?" 3
check "Prometheus notices the target is down" wait_for 15 pquery_is 'up{job="vpc-failover"}' 0
kill "$PROMPID"
