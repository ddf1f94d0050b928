#!/bin/bash
# make demo SOURCE=patroni: a Patroni failover on the simulated VPC of
# tests/demo.sh. Three etcd members (node-a, node-c and the client's zone),
# Patroni with PostgreSQL 15 on node-a (the leader) and node-c (its
# replica), and vpc-failoverd on both nodes following Patroni's leader key
# (source = patroni). A client asks the overlay IP every 20 ms while
# node-a's Patroni and PostgreSQL are killed; Patroni's leader key expires
# (ttl 10 s), node-c's Patroni promotes its replica and takes the key, and
# every route table follows. The timeline comes from the product's own
# status (when node-c's etcd watch delivered the key change, each table
# written, converged, first traffic per zone), beside the client's log and
# node-c's Patroni log (its promotion line, millisecond stamps).
# Everything it starts is removed on exit, also on Ctrl-C (tests/lib.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/nodes.sh"
. "$(dirname "$0")/patroni.sh"

if [ -t 1 ]; then BOLD=$'\033[1m' OFF=$'\033[0m'; else BOLD="" OFF=""; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"; }
indent() { sed '/./s/^/    /'; }
die() {
	echo "demo: $*" >&2
	for f in "$T"/a/daemon.log "$T"/c/daemon.log "$T"/patroni-a.log "$T"/patroni-c.log; do
		[ -s "$f" ] && { echo "--- ${f#"$T"/}"; tail -15 "$f"; } >&2
	done
	exit 1
}
for b in etcd etcdctl patroni /usr/lib/postgresql/15/bin/postgres; do
	command -v "$b" >/dev/null || die "$b is not installed: make deps (scripts/deps.sh installs etcd-server, etcd-client, patroni, postgresql-15)"
done
id postgres >/dev/null 2>&1 || die "no postgres user: the postgresql-15 package creates it (make deps)"

# epoch seconds -> "+NNNN ms" after the kill
at() { awk -v a="$1" -v b="$T0" 'BEGIN {printf "%+7d ms", (a - b) * 1000}'; }
# sj N PYTHON-EXPR: node N's status --json, g its group, tl its timeline
sj() {
	vf "$1" status --json 2>/dev/null | /usr/bin/python3 -c "
import json, sys
g = json.load(sys.stdin)['groups'][0]
tl = g.get('traffic', {}).get('timeline') or {}
v = $2
print('' if v is None else v)" 2>/dev/null
}
converged() { [ "$(sj "$1" "g['phase']")" = converged ]; }

say "Setting up: a simulated VPC (router), node-a (AZ a), node-c (AZ c), a client"
topo_up || die "the namespace topology did not come up"
echo "overlay IP $OVERLAY_CIDR, in route tables: $TOPO_TABLES"

say "etcd: three members (node-a, node-c, the client's zone), etcd 3.4 from Debian"
pat_etcd_up || die "etcd did not become healthy"
pat_etcdctl member list | indent

say "Patroni + PostgreSQL 15: node-a first (it takes the leader key), then node-c (a replica)"
echo "Patroni: scope $PAT_SCOPE, namespace /service/, ttl $PAT_TTL s, loop_wait 1 s, retry_timeout 4 s"
pat_start a
wait_for 60 pat_leader_is node-a || die "node-a's Patroni did not take the leader key"
pat_start c
wait_for 60 pat_role_is c replica || die "node-c's Patroni did not start a replica"
echo "leader key /service/$PAT_SCOPE/leader = '$(pat_leader)'; node-c runs a replica"

say "vpc-failoverd on both nodes, source = patroni ([group overlay] of node-c's configuration)"
netmon="[netmon]
interval = 1
zone.clients = 198.18.100.0/24"
pat_node_conf a more="$netmon"
pat_node_conf c more="$netmon"
sed -n '/^\[group/,/^\[netmon/p' "$T/c/vpcf.conf" | sed '$d' | indent
d_start a || die "node-a's daemon did not start"
d_start c || die "node-c's daemon did not start"
wait_for 15 converged a || die "node-a's routes did not converge"

say "Route tables (vpc-failover routes, run on node-c)"
vf c routes 2>/dev/null | indent
say "vpc-failover status on node-a"
vf a status | indent
say "vpc-failover status on node-c"
vf c status | indent

say "A client asks the overlay IP every 20 ms (one TCP connection each)"
topo_probe "$T/probe.log" 20
sleep 1
echo "answers so far: $(awk '{n[$2]++} END {for (k in n) printf "%s %d  ", k, n[k]}' "$T/probe.log")"

say "node-a's database dies: SIGKILL to its Patroni, PostgreSQL and service"
T0=$EPOCHREALTIME
kill -KILL "${TOPO_RESP_PID[node-a]}" 2>/dev/null
pat_kill a
echo "at $(date -d "@${T0%.*}" +%T).$(cut -c1-3 <<<"${T0#*.}"); the leader key stays until its ttl ($PAT_TTL s) runs out, then node-c's Patroni promotes"
moved=""
for ((i = 0; i < 400; i++)); do # 40 s at most
	moved=$(awk -v t="$T0" '$1 > t && $2 == "node-c" {print $1; exit}' "$T/probe.log")
	[ -n "$moved" ] && break
	sleep 0.1
done
[ -n "$moved" ] || die "the client's traffic did not reach node-c within 40 s"
wait_for 10 converged c || echo "  (node-c has not settled within 10 s)"
sleep 0.5 # a few more answers for the record

# The product's own view, from node-c's status: when it saw the leader key
# name it (the transition), each table written and converged (ms after
# that), the first traffic per zone (its overlay counters).
trans=$(sj c "tl['transition_at_us'] / 1e6 if tl.get('transition_at_us') else None")
[ -n "$trans" ] || die "node-c's status has no failover timeline"
# Patroni's stamp: "YYYY-MM-DD HH:MM:SS,mmm INFO: promoted self to leader..."
# (written once its cycle that took the key and started the promotion ended)
promo=$(grep -m1 'promoted self to leader' "$T/patroni-c.log" | cut -c1-23 | tr , .)
[ -n "$promo" ] && promo=$(date -d "$promo" +%s.%N)
last=$(awk -v t="$T0" '$1 <= t && $2 == "node-a" {x = $1} END {print x}' "$T/probe.log")
say "Timeline (ms after the kill; from vpc-failover status on node-c, the client's log, node-c's Patroni log)"
{
	echo "$T0 node-a: kill -9 Patroni, PostgreSQL and the service"
	[ -n "$last" ] && echo "$last client: last answer from node-a"
	[ -n "$promo" ] && echo "$promo node-c (Patroni): logs 'promoted self to leader by acquiring session lock'"
	echo "$trans node-c (vpc-failoverd): its etcd watch delivers the leader key -> node-c: MASTER"
	sj c "'\n'.join('%.6f %s written -> node-c' % ($trans + t['ms'] / 1e3, t['table']) for t in tl.get('tables', []))"
	sj c "'%.6f node-c (vpc-failoverd): every table converged' % ($trans + tl['converged_ms'] / 1e3) if tl.get('converged_ms') is not None else None"
	sj c "'\n'.join('%.6f node-c (vpc-failoverd): first traffic from zone %s (counter read every 10 ms)' % (f['at_us'] / 1e6, f['zone']) for f in tl.get('first_traffic', []) if f.get('at_us'))"
	echo "$moved client: first answer from node-c"
} | sed '/^$/d' | sort -n | while read -r t what; do
	printf '  %s  %s\n' "$(at "$t")" "$what"
done
conv=$(sj c "tl.get('converged_ms')")
echo
ft=$(sj c "min([f['after_converged_ms'] for f in tl.get('first_traffic', []) if 'after_converged_ms' in f] or [None])")
awk -v k="$T0" -v m="$trans" -v cv="${conv:-0}" -v ft="$ft" -v c="$moved" -v l="${last:-$T0}" 'BEGIN {
	printf "  Patroni (kill -> our watch delivers the key: node-c)    %6d ms  (ttl %d s)\n", (m - k) * 1000, '"$PAT_TTL"'
	printf "  vpc-failover (the key change -> all tables converged)    %6d ms\n", cv
	if (ft != "")
		printf "  first traffic on node-c after converged                  %6d ms\n", ft
	printf "  client outage (last node-a -> first node-c)              %6d ms\n", (c - l) * 1000
}'

say "Route tables after (vpc-failover routes, run on node-c)"
vf c routes 2>/dev/null | indent
echo "the router's kernel: $(ip -n "$NS_R" route show "$OVERLAY")"

say "vpc-failover status on node-c, once settled"
vf c status | indent
say "vpc-failover status on node-a (its Patroni is gone; the key names node-c)"
vf a status | indent

say "Cleaning up"
d_stop a
d_stop c
pat_down
