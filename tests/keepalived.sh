# tests/keepalived.sh — the real keepalived (Debian 12: 2.2.7) on the
# namespace topology's nodes (sourced after tests/lib.sh and tests/topo.sh).
#
#   ka_conf NODE_NS MY_ADDR PEER_ADDR PRIORITY OUTFILE [OPTION...]
#                        write a keepalived.conf: VRRP over unicast, one
#                        vrrp_instance VI_1 (virtual_router_id 51), state
#                        BACKUP, no VIP. Options (each a word plus arguments):
#       advert_int SECS         default 1; below 1 (e.g. 0.1) switches to
#                               VRRPv3, the only version with sub-second
#                               adverts, which needs a VIP: $KA_V3_VIP on lo
#                               unless the vip option names one
#       nopreempt
#       notify "CMD"            keepalived appends INSTANCE VI_1 STATE PRIO;
#                               ka_conf fails if script security would
#                               disable CMD's program (see ka_script_secure)
#       vrrp_notify_fifo PATH   lines like: INSTANCE "VI_1" MASTER 150
#       track_file NAME PATH WEIGHT
#                               track_file NAME { file PATH weight W init_file 0 }
#                               referenced from VI_1 (repeatable). init_file
#                               creates PATH with 0 only if it does not exist
#       notify_priority_changes
#       vip ADDR/PLEN           a virtual_ipaddress on lo
#       min_ttl N               drop adverts whose TTL arrives below N
#       max_auto_priority N     default -1 (no realtime escalation, no warning)
#       interface IF            default eth0
#       instance_line "LINE"    an extra line inside vrrp_instance VI_1
#       global_line "LINE"      an extra line inside global_defs
#   ka_start NODE_NS CONF    start keepalived in NODE_NS (foreground, logging
#                            to $T/ka/NODE_NS/keepalived.log); sets KA_PID
#   ka_stop PID              SIGTERM, wait (bounded) for it and its VRRP child
#   ka_kill PID              crash: SIGKILL the VRRP child and the parent, with
#                            no goodbye advert; sets KA_KILL_TIME (epoch, us)
#                            to when the VRRP child was killed
#   ka_state NODE_NS         MASTER|BACKUP|FAULT|STOP as keepalived last
#                            reported it, DOWN if its process is gone, NONE
#                            before the first report
#   ka_wait_state NODE_NS STATE SECONDS
#   ka_events NODE_NS        the state reports since the last ka_start,
#                            "EPOCH.USEC INSTANCE "VI_1" STATE PRIO" per line
#   ka_cut_vrrp / ka_restore_vrrp
#                            drop / pass IP protocol 112 in the router ($NS_R)
#   ka_cut_drops             VRRP packets the cut dropped so far
#   ka_script_secure PATH    would enable_script_security let root run PATH?
#
# How state is known: every config ka_conf writes has a global notify_fifo
# that only this harness reads. keepalived writes the same lines there as to
# vrrp_notify_fifo, in order (notify scripts are forked and may run out of
# order), so the caller's own notify/vrrp_notify_fifo stay free. A reader per
# node timestamps each line as it arrives.
#
# keepalived quirks this harness handles:
# - With -n keepalived still forks: the parent (PID from ka_start) only
#   supervises; the VRRP child does the work. The child has PR_SET_PDEATHSIG
#   SIGTERM, so killing only the parent makes the child stop gracefully and
#   send a priority-0 advert, an orderly handover, not a crash. ka_kill stops
#   the parent (no respawn), SIGKILLs the child, then the parent.
# - pid files default to /run/keepalived*.pid, and a second keepalived exits
#   ("daemon is already running", status 0!) when they name a live process:
#   each node gets its own -p/-r/-c/-b in $T/ka/NODE_NS. -P runs VRRP only (no
#   checker/BFD children). -n -l -G: foreground, log to stderr (the log file
#   spawn gives it), not to the host's syslog; -D: detailed log.
# - SIGUSR1/SIGUSR2/JSON dumps go to /tmp/keepalived*.data, one path for every
#   keepalived on the machine. The top-level `instance NAME` keyword (with
#   global data_use_instance) would put NAME in those file names, but then
#   2.2.7 creates /run/keepalived/ at start and removes it at exit, under
#   the other node's feet. So no `instance`, and the harness never dumps:
#   state comes from the FIFO.
# - enable_script_security (set here, as in production) disables a script run
#   as root if it or any directory on its path is not owned by root, or is
#   group-writable (non-root group) or world-writable; sticky directories
#   (/tmp) are allowed. script_user root avoids keepalived looking for the
#   keepalived_script user. ka_script_secure checks the same rules up front.
# - Unicast adverts cross the router and arrive with TTL 254. keepalived
#   2.2.7 checks TTL == 255 only for multicast (RFC 5798 5.1.1.3); with
#   unicast_peer it checks TTL only against a peer's min_ttl/max_ttl, which we
#   leave unset by default (option min_ttl sets it). Nothing is mangled.

KA_BIN=/usr/sbin/keepalived
KA_CUT_TABLE=vpcf_vrrp_cut
KA_V3_VIP=198.19.255.251/32

_ka_dir() { # per-node state directory
	local d=$T/ka/$1
	mkdir -p "$d" && echo "$d"
}

_ka_alive() { # PID exists and is not a zombie
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# ka_script_secure PATH: 0 if keepalived's enable_script_security would let
# root run PATH (mirrors check_security() in keepalived/core/notify.c).
ka_script_secure() {
	local p=$1 cur="" part mode uid gid
	case $p in /*) ;; *) echo "ka: $p: not an absolute path" >&2; return 1 ;; esac
	[ -x "$p" ] || { echo "ka: $p: not executable" >&2; return 1; }
	for part in "" ${p//\// }; do
		cur=${cur%/}/$part
		read -r mode uid gid < <(stat -c '%a %u %g' "$cur") || return 1
		mode=$((8#$mode))
		if [ "$uid" != 0 ]; then
			echo "ka: $cur: not owned by root" >&2
			return 1
		fi
		[ -d "$cur" ] && ((mode & 01000)) && continue # sticky directory
		if ((mode & 02)) || { [ "$gid" != 0 ] && ((mode & 020)); }; then
			echo "ka: $cur: writable by non-root" >&2
			return 1
		fi
	done
}

# ka_conf NODE_NS MY_ADDR PEER_ADDR PRIORITY OUTFILE [OPTION...]
ka_conf() {
	local ns=$1 me=$2 peer=$3 prio=$4 out=$5 d
	shift 5
	local adv=1 nopreempt="" notify="" vfifo="" tfblocks="" tfrefs=""
	local prio_changes="" vip="" min_ttl="" map=-1 ifname=eth0 ilines="" glines=""
	while [ $# -gt 0 ]; do
		case $1 in
		advert_int) adv=$2; shift 2 ;;
		nopreempt) nopreempt=1; shift ;;
		notify) notify=$2; shift 2 ;;
		vrrp_notify_fifo) vfifo=$2; shift 2 ;;
		track_file)
			tfblocks+="track_file $2 {"$'\n'"	file \"$3\""$'\n'"	weight $4"$'\n'
			tfblocks+="	init_file 0"$'\n'"}"$'\n'
			tfrefs+="		$2"$'\n'
			shift 4
			;;
		notify_priority_changes) prio_changes=1; shift ;;
		vip) vip=$2; shift 2 ;;
		min_ttl) min_ttl=$2; shift 2 ;;
		max_auto_priority) map=$2; shift 2 ;;
		interface) ifname=$2; shift 2 ;;
		instance_line) ilines+="	$2"$'\n'; shift 2 ;;
		global_line) glines+="	$2"$'\n'; shift 2 ;;
		*) echo "ka_conf: unknown option '$1'" >&2; return 1 ;;
		esac
	done
	if ! [[ $adv =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		echo "ka_conf: advert_int '$adv' is not a number" >&2
		return 1
	fi
	d=$(_ka_dir "$ns") || return 1
	# VRRPv2 carries whole seconds only ("must be an integer. rounding");
	# v3 carries centiseconds but refuses an instance without a VIP
	# ("No VIP specified; at least one is required"), so it gets a
	# placeholder that nothing routes to, not the overlay IP: keepalived
	# deletes its VIPs on BACKUP, and both nodes must keep the overlay IP.
	local v3=""
	if awk "BEGIN {exit !($adv < 1)}"; then
		v3=1
		vip=${vip:-$KA_V3_VIP}
	fi
	if [ -n "$notify" ] && ! ka_script_secure "${notify%% *}"; then
		echo "ka_conf: keepalived would disable notify '${notify%% *}'" >&2
		return 1
	fi
	{
		echo "# written by tests/keepalived.sh ka_conf for $ns"
		# no top-level `instance`: see the header
		echo "global_defs {"
		echo "	router_id $ns"
		echo "	script_user root"
		echo "	enable_script_security"
		echo "	max_auto_priority $map"
		# the harness's own state feed (ka_state); see the header
		echo "	notify_fifo $d/state.fifo"
		[ -n "$vfifo" ] && echo "	vrrp_notify_fifo $vfifo"
		printf '%s' "$glines"
		echo "}"
		printf '%s' "$tfblocks"
		echo "vrrp_instance VI_1 {"
		echo "	state BACKUP"
		echo "	interface $ifname"
		echo "	virtual_router_id 51"
		echo "	priority $prio"
		echo "	advert_int $adv"
		[ -n "$v3" ] && echo "	version 3"
		[ -n "$nopreempt" ] && echo "	nopreempt"
		echo "	unicast_src_ip $me"
		echo "	unicast_peer {"
		echo "		$peer${min_ttl:+ min_ttl $min_ttl}"
		echo "	}"
		[ -n "$notify" ] && echo "	notify \"$notify\""
		[ -n "$tfrefs" ] && printf '\ttrack_file {\n%s\t}\n' "$tfrefs"
		[ -n "$prio_changes" ] && echo "	notify_priority_changes"
		[ -n "$vip" ] && printf '\tvirtual_ipaddress {\n\t\t%s dev lo\n\t}\n' "$vip"
		printf '%s' "$ilines"
		echo "}"
	} >"$out"
}

# ka_start NODE_NS CONF: sets KA_PID
ka_start() {
	local ns=$1 conf=$2 d rp
	d=$(_ka_dir "$ns") || return 1
	if ! [ -p "$d/state.fifo" ]; then
		mkfifo -m 600 "$d/state.fifo" || return 1
	fi
	rp=$(cat "$d/reader.pid" 2>/dev/null)
	if [ -z "$rp" ] || ! _ka_alive "$rp"; then
		# O_RDWR: the open never blocks and never sees EOF when keepalived
		# exits, so one reader serves every keepalived run on this node.
		spawn "$d/reader.log" bash -c \
			'while IFS= read -r l; do printf "%s %s\n" "$EPOCHREALTIME" "$l" >>"$2"; done <>"$1"' \
			_ "$d/state.fifo" "$d/events"
		echo "$SPAWNED_PID" >"$d/reader.pid"
	fi
	rp=$(cat "$d/pid" 2>/dev/null)
	if [ -n "$rp" ] && _ka_alive "$rp"; then
		echo "ka_start: keepalived $rp still runs in $ns" >&2
		return 1
	fi
	echo "# start" >>"$d/events"
	rm -f "$d"/*.pid.ka
	spawn "$d/keepalived.log" ip netns exec "$ns" "$KA_BIN" -f "$conf" -n -l -D -G -P \
		-p "$d/keepalived.pid.ka" -r "$d/vrrp.pid.ka" -c "$d/checkers.pid.ka" -b "$d/bfd.pid.ka"
	KA_PID=$SPAWNED_PID
	# still killed by PID at cleanup; disowned so that bash does not print
	# "Killed" into the TAP output when ka_kill crashes it
	disown "$KA_PID"
	echo "$KA_PID" >"$d/pid"
	# running = the VRRP child wrote its pid file; a config error ends
	# the parent instead
	local i
	for ((i = 0; i < 200; i++)); do
		[ -s "$d/vrrp.pid.ka" ] && return 0
		_ka_alive "$KA_PID" || break
		sleep 0.05
	done
	echo "# keepalived in $ns did not start:"
	sed 's/^/#   /' "$d/keepalived.log"
	return 1
}

_ka_children() { ps -o pid= --ppid "$1" 2>/dev/null; }

_ka_wait_dead() { # PID... ; bounded by 10 s
	local p i
	for p; do
		for ((i = 0; i < 200; i++)); do
			_ka_alive "$p" || break
			sleep 0.05
		done
		_ka_alive "$p" && return 1
	done
	return 0
}

# ka_stop PID: graceful (keepalived sends a priority-0 advert, runs STOP
# notifies); SIGKILL and return 1 if it is not gone within 10 s.
ka_stop() {
	local pid=$1 kids
	_ka_alive "$pid" || return 0
	kids=$(_ka_children "$pid")
	kill -TERM "$pid" 2>/dev/null
	# shellcheck disable=SC2086 # one word per PID
	_ka_wait_dead "$pid" $kids && return 0
	echo "# keepalived $pid ignored SIGTERM for 10 s; killing it" >&2
	ka_kill "$pid"
	return 1
}

# ka_kill PID: a crash. SIGSTOP first so the parent cannot respawn the child
# nor let the child notice its death (PDEATHSIG would make it say goodbye).
ka_kill() {
	local pid=$1 kids
	_ka_alive "$pid" || return 0
	kill -STOP "$pid" 2>/dev/null
	kids=$(_ka_children "$pid")
	# shellcheck disable=SC2086 # one word per PID
	[ -n "$kids" ] && kill -KILL $kids 2>/dev/null
	# shellcheck disable=SC2034 # for the caller
	KA_KILL_TIME=$EPOCHREALTIME
	kill -KILL "$pid" 2>/dev/null
	# shellcheck disable=SC2086 # one word per PID
	_ka_wait_dead "$pid" $kids
}

# ka_events NODE_NS: the reports since the last ka_start
ka_events() {
	local f=$T/ka/$1/events
	[ -f "$f" ] || return 0
	awk '/^# start/ {n = 0; delete l; next} {l[n++] = $0} END {for (i = 0; i < n; i++) print l[i]}' "$f"
}

ka_state() {
	local ns=$1 pid st
	pid=$(cat "$T/ka/$ns/pid" 2>/dev/null)
	if [ -z "$pid" ] || ! _ka_alive "$pid"; then
		echo DOWN
		return 0
	fi
	st=$(ka_events "$ns" |
		awk '$2 == "INSTANCE" && $4 ~ /^(MASTER|BACKUP|FAULT|STOP|DELETED)$/ {s = $4} END {print s}')
	echo "${st:-NONE}"
}

# ka_wait_state NODE_NS STATE SECONDS
ka_wait_state() {
	local ns=$1 want=$2
	wait_for "$3" _ka_state_is "$ns" "$want"
}
_ka_state_is() { [ "$(ka_state "$1")" = "$2" ]; }

# ka_cut_vrrp: drop VRRP (IP protocol 112) forwarded by the router, both ways,
# like a security group that lost its protocol-112 rule: the EC2 endpoint and
# everything else stay reachable. The table is ours alone; it goes with the
# router namespace at cleanup if ka_restore_vrrp was not called.
ka_cut_vrrp() {
	ip netns exec "$NS_R" nft list table inet $KA_CUT_TABLE >/dev/null 2>&1 && return 0
	ip netns exec "$NS_R" nft -f - <<-N
	table inet $KA_CUT_TABLE {
		chain forward {
			type filter hook forward priority 0; policy accept;
			ip protocol vrrp counter drop
		}
	}
	N
}

ka_restore_vrrp() {
	ip netns exec "$NS_R" nft list table inet $KA_CUT_TABLE >/dev/null 2>&1 || return 0
	ip netns exec "$NS_R" nft delete table inet $KA_CUT_TABLE
}

# ka_cut_drops: VRRP packets the cut has dropped so far
ka_cut_drops() {
	ip netns exec "$NS_R" nft list table inet $KA_CUT_TABLE 2>/dev/null |
		awk '/counter packets/ {for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1)}'
}
