#!/bin/bash
# Real components: Patroni (3 etcd members, PostgreSQL 15 on node-a and
# node-c, tests/patroni.sh) decides the leader; vpc-failoverd on both nodes
# follows the leader key (source = patroni) and points every route table of
# the namespace topology at the leader's node.
#   start: node-a leads, every table moves to node-a;
#   failover: node-a's Patroni and PostgreSQL killed, Patroni promotes
#     node-c, every table follows (timings: Patroni's detection, then ours);
#   etcd cut from node-c (nftables): etcd_unreachable = keep holds the
#     group (MASTER, no write: a table another writer moves stays moved);
#     after a reload to step_down, node-c steps down to BACKUP and still
#     writes nothing; healed, node-c leads again and re-asserts the tables;
#   etcd over https (a one-member etcd with a test CA): doctor reads the key
#     with etcd_ca_file and refuses the certificate without it.
# Timings are "# " lines, never asserted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"
. "$(dirname "$0")/../nodes.sh"
. "$(dirname "$0")/../patroni.sh"

for b in etcd etcdctl patroni /usr/lib/postgresql/15/bin/postgres; do
	command -v "$b" >/dev/null || { echo "1..0 # SKIP $b not installed (scripts/deps.sh)"; exit 0; }
done
id postgres >/dev/null 2>&1 || { echo "1..0 # SKIP no postgres user"; exit 0; }

topo_up || { not_ok "topology up"; exit 1; }
t0=$EPOCHREALTIME
check "etcd: three members healthy" pat_etcd_up
echo "# etcd healthy after $(ms_since "$EPOCHREALTIME" "$t0") ms"
t0=$EPOCHREALTIME
pat_start a
check "Patroni: node-a leads" within 40 pat_leader_is node-a
echo "# node-a leader after $(ms_since "$EPOCHREALTIME" "$t0") ms"
pat_start c
check "Patroni: node-c runs a replica" within 40 pat_role_is c replica
echo "# node-c replica after $(ms_since "$EPOCHREALTIME" "$t0") ms"

# == start ====================================================================
pat_node_conf a
pat_node_conf c
check "a patroni group's configuration checks" "$VPCFD" -n -c "$T/a/vpcf.conf"
set_all "$ENI_C"
check "daemon on node-a starts" d_start a
check "daemon on node-c starts" d_start c
check "start: every table moves to node-a" within 10 all_at "$ENI_A"
check_tables start a
check "start: node-a MASTER converged, source patroni, leader node-a" within 5 status_is a \
	"g['state'], g['converged'], g['source'], g['patroni']['leader']" "MASTER True patroni node-a"
check "start: node-c BACKUP, watching the key" within 5 status_is c \
	"g['state'], g['patroni']['leader'], g['patroni']['watching']" "BACKUP node-a True"
expect_eq "start: the events came from the patroni source" "$(st_of a "g['last_source']")" patroni
out=$(vf c status 2>&1)
check "status names the source and what it said" grep -q \
	"group overlay: BACKUP (patroni: leader 'node-a', this node 'node-c'; etcd http://" <<<"$out"
out=$(vf a failover overlay 2>&1)
check "failover of a patroni group is refused: patronictl switches over" \
	grep -q "follows Patroni: switch over with patronictl switchover" <<<"$out"
vf c doctor >"$T/doctor.out" 2>&1
check "doctor: every etcd endpoint answers" test "$(grep -c '\[overlay\] etcd http.* answers' "$T/doctor.out")" = 3
check "doctor: names the leader and this node's role" \
	grep -q "\[overlay\] Patroni leader (/service/vpcf/leader) is 'node-a'; this node is 'node-c': BACKUP" "$T/doctor.out"
check "doctor: Patroni knows this member" grep -q "Patroni knows member 'node-c'" "$T/doctor.out"
check "doctor: no keepalived check for a patroni-only config" bash -c "! grep -qi keepalived '$T/doctor.out'"

# == failover: the leader's Patroni and PostgreSQL die ==========================
pat_watch "$T/leader.log"
sleep 0.5 # the watcher is up
t0=$EPOCHREALTIME
pat_kill a
check "failover: Patroni promotes node-c" within 40 pat_leader_is node-c
tl=$(pat_key_at "$T/leader.log" "$t0" node-c)
pat_watch_stop
check "failover: every table follows to node-c" within 15 all_at "$ENI_C"
check_tables failover c
check "failover: node-c MASTER converged" within 5 status_is c "g['state'], g['converged']" "MASTER True"
check "failover: node-a BACKUP" within 5 status_is a "g['state'], g['patroni']['leader']" "BACKUP node-c"
metric_is() { # N NAME VALUE: node N's gauge NAME for the group is VALUE
	vf "$1" metrics 2>/dev/null | grep -qx "vpc_failover_$2{group=\"overlay\"} $3"
}
check "metrics: node-c reaches etcd" metric_is c patroni_etcd_reachable 1
check "metrics: node-c leads" metric_is c patroni_leader_is_self 1
check "metrics: node-a does not lead" metric_is a patroni_leader_is_self 0
echo "# failover: leader key -> node-c $(ms_since "$tl" "$t0") ms after the kill (Patroni, ttl" \
	"$PAT_TTL s; as an etcdctl watch saw it), last table at node-c" \
	"$(ms_since "$(tables_moved "$t0" "$ENI_C")" "$tl") ms after that;" \
	"daemon: $(st_of c "g['convergence_ms']") ms from its event to all tables written"

# == etcd cut from the MASTER's node ============================================
pat_cut c
check "cut, keep: node-c's group is held, MASTER" within 20 status_is c \
	"g['state'], g['phase'], g['patroni']['held']" "MASTER held (leader source unreachable) True"
check_tables "cut, keep" c
check "cut, keep: metrics say etcd is not reachable" within 10 metric_is c patroni_etcd_reachable 0
# Another writer moves one table: a held group does not take it back at its
# re-check (every 5 s).
t1=${TOPO_TABLES%% *}
topo_sim /_sim/route "{\"table\":\"$t1\",\"dest\":\"$OVERLAY_CIDR\",\"eni\":\"$ENI_A\"}" >/dev/null
sleep 7
expect_eq "cut, keep: the moved table stays where it was put" "$(topo_route "$t1")" "$ENI_A"
pat_node_conf c more="etcd_unreachable = step_down
etcd_step_down_after = 3"
kill -HUP "${DPID[c]}"
check "cut, step_down: node-c steps down to BACKUP" within 15 status_is c \
	"g['state'], g['patroni']['stepped_down']" "BACKUP True"
expect_eq "cut, step_down: BACKUP writes nothing" "$(topo_route "$t1")" "$ENI_A"
pat_heal c
check "healed: node-c leads and is MASTER again" within 30 status_is c \
	"g['state'], g['patroni']['leader']" "MASTER node-c"
check "healed: every table at node-c" within 10 all_at "$ENI_C"

# == etcd over https: the CA decides (doctor, the daemon's HTTP client) ========
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=vpcf-test-ca \
	-keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=etcd -keyout "$T/etcd.key" \
	-out "$T/etcd.csr" 2>/dev/null
printf 'subjectAltName = IP:%s\n' "$PAT_CL_ADDR" >"$T/etcd.ext"
openssl x509 -req -in "$T/etcd.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	-days 1 -extfile "$T/etcd.ext" -out "$T/etcd.pem" 2>/dev/null
mkdir -p "$T/etcd-tls"
spawn "$T/etcd-tls.log" ip netns exec "$NS_CL" etcd --name tls --data-dir "$T/etcd-tls" \
	--listen-peer-urls "http://127.0.0.1:2480" --initial-advertise-peer-urls "http://127.0.0.1:2480" \
	--initial-cluster "tls=http://127.0.0.1:2480" \
	--listen-client-urls "https://$PAT_CL_ADDR:2479" --advertise-client-urls "https://$PAT_CL_ADDR:2479" \
	--cert-file "$T/etcd.pem" --key-file "$T/etcd.key"
PAT_ETCD_PIDS+=("$SPAWNED_PID")
tls_put() {
	ip netns exec "$NS_CL" etcdctl --endpoints "https://$PAT_CL_ADDR:2479" --cacert "$T/ca.pem" \
		put /service/tls/leader node-c
}
check "https etcd: up, leader key written" within 20 tls_put
sed -e "s|^etcd_endpoints = .*|etcd_endpoints = https://$PAT_CL_ADDR:2479|" \
	-e "s|^patroni_scope = .*|patroni_scope = tls|" "$T/c/vpcf.conf" >"$T/tls.conf"
out=$(ip netns exec "$NS_C" "$VPCF" -c "$T/tls.conf" doctor 2>&1)
check "https etcd, no etcd_ca_file: the certificate does not verify" \
	grep -q "\[overlay\] etcd https://$PAT_CL_ADDR:2479 does not answer: .*certificate" <<<"$out"
echo "etcd_ca_file = $T/ca.pem" >>"$T/tls.conf"
out=$(ip netns exec "$NS_C" "$VPCF" -c "$T/tls.conf" doctor 2>&1)
check "https etcd with etcd_ca_file: the leader key is read" \
	grep -q "Patroni leader (/service/tls/leader) is 'node-c'; this node is 'node-c': MASTER" <<<"$out"

pat_down
