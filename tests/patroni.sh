# tests/patroni.sh — a real Patroni cluster in the namespace topology
# (sourced after tests/lib.sh, tests/topo.sh and tests/nodes.sh): three etcd
# 3.4 members on node-a, node-c and the client, and Patroni with PostgreSQL
# 15 on node-a (started first: the leader) and node-c (its replica), both
# running as postgres (setpriv). Debian packages etcd-server, etcd-client,
# patroni, postgresql-15 (scripts/deps.sh).
#   pat_etcd_up            the etcd cluster, healthy
#   pat_start N            Patroni on node N (a or c)
#   pat_kill N             SIGKILL node N's Patroni and its PostgreSQL
#   pat_down               SIGKILL what is left of Patroni, PostgreSQL and
#                          etcd (they take seconds on SIGTERM: the end of a
#                          test is no test of their shutdown)
#   pat_leader             the leader key's value ("" when none)
#   pat_node_conf N [KEY=VALUE...]  node N's vpc-failover.conf with
#                          source = patroni (more=LINES: extra group keys)
#   pat_cut N / pat_heal N  drop / restore node N's traffic to etcd (nft)
# Patroni's timing: ttl 10, loop_wait 1, retry_timeout 4 (PAT_TTL).
PAT_SCOPE=vpcf PAT_TTL=10
PAT_CL_ADDR=198.18.100.2
PAT_ENDPOINTS="http://$A_ADDR:2379,http://$C_ADDR:2379,http://$PAT_CL_ADDR:2379"
declare -A PAT_PID
PAT_ETCD_PIDS=()

_pat_ns() { case $1 in a) echo "$NS_A" ;; c) echo "$NS_C" ;; w) echo "$NS_CL" ;; esac; }
_pat_addr() { case $1 in a) echo "$A_ADDR" ;; c) echo "$C_ADDR" ;; w) echo "$PAT_CL_ADDR" ;; esac; }

pat_etcd_up() {
	local n cluster="e-a=http://$A_ADDR:2380,e-c=http://$C_ADDR:2380,e-w=http://$PAT_CL_ADDR:2380"
	for n in a c w; do
		mkdir -p "$T/etcd-$n"
		spawn "$T/etcd-$n.log" ip netns exec "$(_pat_ns $n)" etcd --name "e-$n" \
			--data-dir "$T/etcd-$n" --listen-peer-urls "http://$(_pat_addr $n):2380" \
			--initial-advertise-peer-urls "http://$(_pat_addr $n):2380" \
			--listen-client-urls "http://$(_pat_addr $n):2379" \
			--advertise-client-urls "http://$(_pat_addr $n):2379" \
			--initial-cluster "$cluster" --initial-cluster-state new \
			--initial-cluster-token "vpcf-$TESTID" \
			--heartbeat-interval 100 --election-timeout 1000
		PAT_ETCD_PIDS+=("$SPAWNED_PID")
	done
	wait_for 20 pat_etcdctl endpoint health
}

# etcdctl against the client's member, from the client's namespace
pat_etcdctl() { ip netns exec "$NS_CL" etcdctl --endpoints "http://$PAT_CL_ADDR:2379" "$@"; }
pat_leader() { pat_etcdctl get "/service/$PAT_SCOPE/leader" --print-value-only 2>/dev/null; }
pat_leader_is() { [ "$(pat_leader)" = "$1" ]; }
# pat_watch FILE: every change of the leader key, "EPOCHREALTIME VALUE"
# lines, as a watcher in the client's namespace sees them (the timeline's
# "leader key changed")
pat_watch() {
	spawn /dev/null bash -c "ip netns exec '$NS_CL' etcdctl --endpoints 'http://$PAT_CL_ADDR:2379' \
		watch '/service/$PAT_SCOPE/leader' | while read -r l; do
		case \$l in PUT|DELETE|/*) ;; *) echo \"\$EPOCHREALTIME \$l\" >>'$1' ;; esac; done"
}
# stop pat_watch's etcdctl (its shell loop then ends): by its pid in the
# client's namespace, where nothing else runs etcdctl
pat_watch_stop() {
	local p
	for p in $(ip netns pids "$NS_CL"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = etcdctl ] && kill "$p"
	done
	return 0
}
# pat_key_at FILE SINCE VALUE: when the watcher first saw VALUE after SINCE
pat_key_at() { awk -v t="$2" -v v="$3" '$1 > t && $2 == v {print $1; exit}' "$1"; }

pat_start() {
	local n=$1 a
	a=$(_pat_addr "$n")
	chmod 755 "$T"
	mkdir -p "$T/pg-$n" "$T/sock-$n"
	chown postgres: "$T/pg-$n" "$T/sock-$n"
	chmod 700 "$T/pg-$n"
	cat >"$T/patroni-$n.yml" <<Y
scope: $PAT_SCOPE
namespace: /service/
name: node-$n
restapi:
  listen: $a:8008
  connect_address: $a:8008
etcd3:
  hosts: $A_ADDR:2379,$C_ADDR:2379,$PAT_CL_ADDR:2379
bootstrap:
  dcs:
    ttl: $PAT_TTL
    loop_wait: 1
    retry_timeout: 4
    postgresql:
      use_pg_rewind: false
  initdb:
  - encoding: UTF8
  pg_hba:
  - local all all trust
  - host replication replicator 198.18.0.0/16 trust
  - host all all 198.18.0.0/16 trust
postgresql:
  listen: $a:5432
  connect_address: $a:5432
  data_dir: $T/pg-$n
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: $T/sock-$n/pgpass
  authentication:
    replication: {username: replicator, password: rep}
    superuser: {username: postgres, password: pg}
  parameters:
    unix_socket_directories: $T/sock-$n
Y
	chown postgres: "$T/patroni-$n.yml"
	spawn "$T/patroni-$n.log" ip netns exec "$(_pat_ns "$n")" setpriv --reuid postgres \
		--regid postgres --init-groups patroni "$T/patroni-$n.yml"
	PAT_PID[$n]=$SPAWNED_PID
}

# Patroni's REST API on node N says it runs a replica (or the primary)
pat_role_is() { ip netns exec "$(_pat_ns "$1")" curl -sf "http://$(_pat_addr "$1"):8008/$2" >/dev/null; }

pat_kill() {
	local p c pids=""
	for p in $(ip netns pids "$(_pat_ns "$1")"); do
		c=$(cat "/proc/$p/comm" 2>/dev/null)
		case $c in postgres | patroni) pids="$pids $p" ;; esac
	done
	[ -n "$pids" ] && kill -9 $pids
	wait "${PAT_PID[$1]}" 2>/dev/null
	return 0
}

pat_down() {
	local p
	pat_kill a
	pat_kill c
	for p in "${PAT_ETCD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	return 0
}

pat_node_conf() {
	local n=$1 d=$T/$1 more="" kv
	shift
	for kv; do case $kv in more=*) more=${kv#*=} ;; esac; done
	mkdir -p "$d"
	{
		node_conf_head "$d"
		echo "[group overlay]"
		echo "source = patroni"
		echo "etcd_endpoints = $PAT_ENDPOINTS"
		echo "patroni_scope = $PAT_SCOPE"
		echo "member_name = node-$n"
		echo "destinations = $OVERLAY_CIDR"
		echo "route_tables = $TOPO_TABLES"
		echo "recheck_interval = 5"
		[ -n "$more" ] && echo "$more"
	} >"$d/vpcf.conf"
}

# Drop node N's traffic to every etcd client port (its own member included:
# neither the daemon nor Patroni on N reaches any; the etcd members still
# reach each other on 2380).
pat_cut() {
	ip netns exec "$(_pat_ns "$1")" nft -f - <<N
table inet vpcf_pat_cut {
	chain out { type filter hook output priority 0; tcp dport 2379 drop; }
}
N
}
pat_heal() { ip netns exec "$(_pat_ns "$1")" nft delete table inet vpcf_pat_cut; }
