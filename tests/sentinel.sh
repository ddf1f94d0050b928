# tests/sentinel.sh — real Redis Sentinel in the namespace topology (sourced
# after tests/lib.sh, tests/topo.sh and tests/nodes.sh): Redis on node-a
# (started as the primary) and node-c (its replica), and three sentinels,
# on node-a, node-c and the client, monitoring master SEN_MASTER with
# quorum 2, down-after-milliseconds SEN_DOWN_MS. Debian packages
# redis-server, redis-sentinel (scripts/deps.sh).
#   sen_redis N [ARGS]      node N's Redis on its node address, port 6379
#   sen_up                  the three sentinels (w = the client's)
#   sen_start W [PORT [MASTER_ADDR [MASTER_PORT [QUORUM]]]]  one sentinel
#                           in W's namespace (a, c or w); SEN_PID[W:PORT]; on
#                           a node, with client-reconfig-script $T/N/reconfig.sh
#                           (vpc-failover sentinel-reconfig against N's daemon);
#                           SEN_CONF_MORE: more lines for its configuration
#   sen_master [W]          the master's address as sentinel W says it ("IP PORT")
#   sen_node_conf N [more=LINES] [sentinels=LIST]  node N's vpc-failover.conf
#                           with source = sentinel
#   sen_watch FILE          every +switch-master that watchers subscribed to
#                           the three sentinels see, "EPOCHREALTIME W MESSAGE"
SEN_MASTER=vpcf SEN_DOWN_MS=1000
SEN_CL_ADDR=198.18.100.2
SEN_ALL="$A_ADDR:26379,$C_ADDR:26379,$SEN_CL_ADDR:26379"
declare -A SEN_PID REDIS_PID

_sen_ns() { case $1 in a) echo "$NS_A" ;; c) echo "$NS_C" ;; w) echo "$NS_CL" ;; esac; }
_sen_addr() { case $1 in a) echo "$A_ADDR" ;; c) echo "$C_ADDR" ;; w) echo "$SEN_CL_ADDR" ;; esac; }

sen_redis() {
	local n=$1
	shift
	mkdir -p "$T/redis-$n"
	spawn "$T/redis-$n.log" ip netns exec "$(_sen_ns "$n")" redis-server --port 6379 \
		--bind "$(_sen_addr "$n") 127.0.0.1" --save '' --appendonly no \
		--dir "$T/redis-$n" --protected-mode no "$@"
	REDIS_PID[$n]=$SPAWNED_PID
	wait_for 10 ip netns exec "$(_sen_ns "$n")" redis-cli -h "$(_sen_addr "$n")" ping
}

# sen_start W [PORT [MASTER_ADDR [MASTER_PORT [QUORUM]]]]
sen_start() {
	local w=$1 port=${2:-26379} maddr=${3:-$A_ADDR} mport=${4:-6379} q=${5:-2}
	local conf=$T/sentinel-$w-$port.conf extra=""
	mkdir -p "$T/sentinel-$w-$port"
	# On the nodes, Sentinel's client-reconfig-script tells the node's
	# daemon (the fast path); its stderr kept in $T/N/reconfig.err
	if [ "$w" != w ]; then
		mkdir -p "$T/$w"
		printf '#!/bin/sh\nexec %s -c %s sentinel-reconfig "$@" 2>>%s\n' \
			"$VPCF" "$T/$w/vpcf.conf" "$T/$w/reconfig.err" >"$T/$w/reconfig.sh"
		chmod 755 "$T/$w/reconfig.sh"
		extra="sentinel client-reconfig-script $SEN_MASTER $T/$w/reconfig.sh"
	fi
	cat >"$conf" <<S
port $port
bind $(_sen_addr "$w") 127.0.0.1
protected-mode no
dir $T/sentinel-$w-$port
sentinel resolve-hostnames no
sentinel monitor $SEN_MASTER $maddr $mport $q
sentinel down-after-milliseconds $SEN_MASTER $SEN_DOWN_MS
sentinel failover-timeout $SEN_MASTER 10000
sentinel parallel-syncs $SEN_MASTER 1
$extra
${SEN_CONF_MORE:-}
S
	spawn "$T/sentinel-$w-$port.log" ip netns exec "$(_sen_ns "$w")" redis-sentinel "$conf"
	SEN_PID[$w:$port]=$SPAWNED_PID
	wait_for 10 ip netns exec "$(_sen_ns "$w")" redis-cli -h "$(_sen_addr "$w")" -p "$port" ping
}

sen_up() { sen_start a && sen_start c && sen_start w; }

sen_master() {
	local w=${1:-w} port=${2:-26379}
	ip netns exec "$(_sen_ns "$w")" redis-cli -h "$(_sen_addr "$w")" -p "$port" \
		sentinel get-master-addr-by-name "$SEN_MASTER" 2>/dev/null | paste -sd ' '
}
sen_master_is() { [ "$(sen_master "$1")" = "$2" ]; }
# every real sentinel knows 2 others and 1 replica
sen_settled() {
	local w
	for w in a c w; do
		[ "$(ip netns exec "$(_sen_ns "$w")" redis-cli -h "$(_sen_addr "$w")" -p 26379 \
			sentinel sentinels "$SEN_MASTER" 2>/dev/null | grep -c '^name$')" = 2 ] || return 1
		[ "$(ip netns exec "$(_sen_ns "$w")" redis-cli -h "$(_sen_addr "$w")" -p 26379 \
			sentinel replicas "$SEN_MASTER" 2>/dev/null | grep -c '^name$')" = 1 ] || return 1
	done
}

sen_watch() {
	local w
	for w in a c w; do
		spawn /dev/null bash -c "ip netns exec '$(_sen_ns $w)' redis-cli -h $(_sen_addr $w) \
			-p 26379 --csv subscribe +switch-master | while read -r l; do
			echo \"\$EPOCHREALTIME $w \$l\" >>'$1'; done"
	done
}
# sen_switch_at FILE SINCE: when a watcher saw the first +switch-master after SINCE
sen_switch_at() { sort -n "$1" | awk -v t="$2" '$1 > t && /"message"/ {print $1; exit}'; }

sen_node_conf() {
	local n=$1 d=$T/$1 more="" list=$SEN_ALL kv
	shift
	for kv; do
		case $kv in
		more=*) more=${kv#*=} ;;
		sentinels=*) list=${kv#*=} ;;
		esac
	done
	mkdir -p "$d"
	{
		node_conf_head "$d"
		echo "[group overlay]"
		echo "source = sentinel"
		echo "sentinels = $list"
		echo "sentinel_master = $SEN_MASTER"
		echo "destinations = $OVERLAY_CIDR"
		echo "route_tables = $TOPO_TABLES"
		echo "recheck_interval = 5"
		[ -n "$more" ] && echo "$more"
	} >"$d/vpcf.conf"
}
