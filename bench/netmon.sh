#!/bin/bash
# What the network monitor costs, side by side in one run (issue 14):
#   1. CPU time of one per-zone TCP collection (nmt_collect, as the daemon
#      runs it) at 1k, 10k and 50k established sockets, against `ss -tin`
#      listing the same sockets;
#   2. the daemon's notify handling latency (a control-socket notify, sent
#      every ~10 ms while collections run each second) at 0 and 50k sockets;
#   3. one nftables counter read at 4, 100 and 1000 zones;
#   4. the daemon's RSS before, at and after 50k sockets;
#   (issue 16) one RTT histogram observation, and one read of EC2's limits
#      (ethtool statistics and the conntrack fill);
#   5. the zone counting's per-packet cost on the sender, none / the
#      nftables table / the eBPF programs: CPU per packet, 64-byte UDP
#      packets/s and bulk TCP throughput (iperf3 over veth), and perf's
#      share of the sender's CPU spent in netfilter or in the eBPF path;
#   (issue 16) the overlay rules' per-packet cost on the node packets arrive
#      at (zones only, 1 and 10 groups), and the ring of samples behind the
#      network around a failover (per collection and per window).
# The sockets live in namespaces this script creates: a "host" (the daemon,
# a listener on 198.18.0.1) and a "clients" namespace whose connections come
# from 198.18.1.1 .. 198.18.4.1, one address per zone. Everything started is
# stopped by PID and the namespaces removed on exit (tests/lib.sh).
# Not a test: nothing is asserted. Medians of REPS runs.
#   bench/netmon.sh [REPS]     (default 9; NETMON_SOCKETS="1000 10000 50000";
#                               NETMON_PACKETS=0 skips the per-packet part,
#                               NETMON_PACKETS=iperf runs only its iperf3 rates;
#                               NETMON_PARTS="..." runs only these of collect,
#                               read, rtt, watch, overlay, ring, daemon,
#                               packets: default all)
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/lib.sh"

PARTS=${NETMON_PARTS:-collect read rtt watch overlay ring daemon packets}
part() { [[ " $PARTS " == *" $1 "* ]]; }

REPS=${1:-9}
COUNTS=${NETMON_SOCKETS:-"1000 10000 50000"}
BIG=${COUNTS##* }
TOOLS=$B/tools
PY=/usr/bin/python3
PORT=5001

H=$(ns_new nmhost) && C=$(ns_new nmcli) && R=$(ns_new nmread) ||
	{ echo "netmon bench: namespaces" >&2; exit 1; }
ip -n "$H" link add h0 type veth peer name c0 netns "$C" &&
	ip -n "$H" addr add 198.18.0.1/16 dev h0 &&
	for z in 1 2 3 4; do ip -n "$C" addr add "198.18.$z.1/16" dev c0 || exit 1; done &&
	ip -n "$H" link set h0 up && ip -n "$C" link set c0 up ||
	{ echo "netmon bench: links" >&2; exit 1; }
# 50k connections from 4 addresses: 12.5k ports each out of the default range
ip netns exec "$H" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=8192

ZONES="zone.z1 = 198.18.1.0/24
zone.z2 = 198.18.2.0/24
zone.z3 = 198.18.3.0/24
zone.z4 = 198.18.4.0/24"
conf() { # FILE ZONES_TEXT [INTERVAL]
	cat >"$1" <<-C
	[aws]
	region = us-east-1
	endpoint = http://127.0.0.1:9
	[daemon]
	control_socket = $T/ctl.sock
	state_dir = $T/state
	[metrics]
	listen =
	[netmon]
	interval = ${3:-1}
	$2
	[group g]
	vrrp_instance = VI_1
	destinations = 198.19.255.10/32
	route_tables = rtb-00000000000000001
	network_interface = eni-0aaaaaaaaaaaaaaa1
	C
}
conf "$T/zones.conf" "$ZONES"

established() { ip netns exec "$H" ss -Htn state established | wc -l; }
at_least() { [ "$(established)" -ge "$1" ]; }
none_left() { [ "$(established)" -eq 0 ]; }

# A process may hold fewer fds than the sockets wanted (RLIMIT_NOFILE's hard
# limit; raising it needs CAP_SYS_RESOURCE): listeners share the port
# (SO_REUSEPORT) and clients come PER_PROC connections a process.
PER_PROC=15000
if part collect || part daemon; then
	for ((i = 0; i <= BIG / PER_PROC; i++)); do
		spawn "$T/serve$i.log" ip netns exec "$H" "$TOOLS/tcp-conns" serve 198.18.0.1 $PORT
		wait_for 5 grep -q listening "$T/serve$i.log" || { echo "netmon bench: listener" >&2; exit 1; }
	done
fi
CPIDS=()
conns_up() { # N
	local left=$1 i=0 k
	conns_down
	while [ "$left" -gt 0 ]; do
		k=$((left < PER_PROC ? left : PER_PROC))
		spawn "$T/conns$i.log" ip netns exec "$C" "$TOOLS/tcp-conns" connect 198.18.0.1 $PORT "$k" \
			198.18.1.1 198.18.2.1 198.18.3.1 198.18.4.1
		CPIDS+=("$SPAWNED_PID")
		wait_for 150 grep -q established "$T/conns$i.log" ||
			{ echo "netmon bench: $k connections did not come up" >&2; cat "$T/conns$i.log" >&2; exit 1; }
		left=$((left - k)) i=$((i + 1))
	done
	wait_for 30 at_least "$1" || { echo "netmon bench: $1 connections did not come up" >&2; exit 1; }
}
conns_down() {
	local p
	[ ${#CPIDS[@]} -gt 0 ] || return 0
	for p in "${CPIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${CPIDS[@]}"; do wait "$p" 2>/dev/null; done
	CPIDS=()
	wait_for 60 none_left
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; } # KEY from "a=1 b=2" on stdin
ms() { awk '{printf "%.1f", $1 / 1000}'; }       # microseconds -> ms, one decimal

# ---- 1. collection CPU against ss -tin ----------------------------------------
if part collect; then # (the parts are not indented)
conf "$T/bpf.conf" "$ZONES
bpf = yes"
conf "$T/diag.conf" "$ZONES
bpf = no"
cpu() { # NM_COST_OUTPUT: "C (U + S)" in ms
	printf '%s (%s + %s)' "$(field cpu_us <<<"$1" | ms)" "$(field user_us <<<"$1" | ms)" \
		"$(field sys_us <<<"$1" | ms)"
}
ratio() { awk -v a="$(field cpu_us <<<"$1")" -v b="$(field cpu_us <<<"$2")" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}'; }
HOLD=""
# collect_table WHAT: the table for the sockets between $C and $H. The eBPF
# column is the daemon's default (counted where sent, by the zone
# counters' egress program: a collection copies the zones' totals); the
# rows after it are the eBPF walk, what runs where the zones are not
# counted in eBPF (VPCF_BPF_TCP=walk).
collect_table() {
	local walkrows=""
	echo "| established sockets | eBPF collection: CPU ms (user + sys) | wall ms | sock_diag collection: CPU ms | wall ms | \`ss -tin\`: CPU ms | \`ss -tin\` / eBPF | \`ss -tin\` / sock_diag |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
	for n in $COUNTS; do
		conns_up "$n"
		local ob od th hb hd ow
		ob=$(ip netns exec "$H" "$TOOLS/nm-cost" collect "$REPS" "$T/bpf.conf")
		od=$(ip netns exec "$H" "$TOOLS/nm-cost" collect "$REPS" "$T/diag.conf")
		th=$(ip netns exec "$H" "$TOOLS/nm-cost" run "$REPS" ss -tin)
		printf '| %d | %s | %s | %s | %s | %s | %s× | %s× |\n' "$n" "$(cpu "$ob")" \
			"$(field wall_us <<<"$ob" | ms)" "$(cpu "$od")" "$(field wall_us <<<"$od" | ms)" \
			"$(cpu "$th")" "$(ratio "$th" "$ob")" "$(ratio "$th" "$od")"
		ow=$(ip netns exec "$H" env VPCF_BPF_TCP=walk "$TOOLS/nm-cost" collect "$REPS" "$T/bpf.conf")
		walkrows+=$(printf '| %d, eBPF walking the sockets (zones not counted in eBPF) | %s | %s | | | | %s× | |' "$n" \
			"$(cpu "$ow")" "$(field wall_us <<<"$ow" | ms)" "$(ratio "$th" "$ow")")$'\n'
		[ -n "${1:-}" ] && continue
		for m in bpf diag; do
			hb=$(ip netns exec "$H" "$TOOLS/nm-cost" hold "$REPS" "$T/$m.conf")
			HOLD+=$(printf '| %d | %s | %s | %s | %s | %s | %s |' "$n" \
				"$([ $m = bpf ] && echo "eBPF (worker thread)" || echo "sock_diag (slices on the loop)")" \
				"$(field wall_us <<<"$hb" | ms)" \
				"$(field late_p50_us <<<"$hb" | ms)" "$(field late_p99_us <<<"$hb" | ms)" \
				"$(field late_max_us <<<"$hb" | ms)" \
				"$(field slice_max_us <<<"$hb" | awk '{printf "%.2f", $1 / 1000}')")$'\n'
		done
	done
	printf '%s' "$walkrows"
}
echo "### TCP collection CPU against \`ss -tin\`: the kernel's established hash table shared with the clients"
echo
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
collect_table
# The kernel-side filter: the same sockets, one zone of the four configured
ZONE1="zone.z1 = 198.18.1.0/24"
conf "$T/zone1.conf" "$ZONE1
bpf = no"
for f in on off; do
	nf=""
	[ $f = off ] && nf=NM_COST_NOFILTER=1
	ours=$(ip netns exec "$H" env $nf "$TOOLS/nm-cost" collect "$REPS" "$T/zone1.conf")
	printf '| %d, a quarter towards the one zone configured, sock_diag filter %s | | | %s | %s | | | |\n' "$BIG" "$f" \
		"$(cpu "$ours")" "$(field wall_us <<<"$ours" | ms)"
done
# The kernel's walk of its established-socket table alone: a zone that
# holds none of the sockets, so the filter lists nothing. The table is the
# host's, shared by every namespace: the clients' ends are in it too.
conf "$T/nozone.conf" "zone.none = 10.0.0.0/8
bpf = no"
ours=$(ip netns exec "$H" "$TOOLS/nm-cost" collect "$REPS" "$T/nozone.conf")
printf '| %d, no zone holding any of them (sock_diag: the kernel walking its socket table) | | | %s | %s | | | |\n' "$BIG" \
	"$(cpu "$ours")" "$(field wall_us <<<"$ours" | ms)"
conns_down
echo
echo "(medians of $REPS; CPU from getrusage around nmt_collect() in tests/tools/nm-cost ([netmon] bpf = yes, then no), and from wait4() for ss; sockets spread over 4 zones; load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
# The same with the host namespace given an established hash table of its
# own (net.ipv4.tcp_child_ehash_entries, set in the initial namespace while
# it is created, then put back): what a real database host is, its clients
# being other machines; the walk passes only its own sockets.
old_ehash=$(sysctl -n net.ipv4.tcp_child_ehash_entries)
sysctl -qw net.ipv4.tcp_child_ehash_entries=65536
H2=$(ns_new nmhost2)
rc=$?
sysctl -qw net.ipv4.tcp_child_ehash_entries="$old_ehash"
[ $rc = 0 ] && C2=$(ns_new nmcli2) || { echo "netmon bench: namespaces" >&2; exit 1; }
ip -n "$H2" link add h0 type veth peer name c0 netns "$C2" &&
	ip -n "$H2" addr add 198.18.0.1/16 dev h0 &&
	for z in 1 2 3 4; do ip -n "$C2" addr add "198.18.$z.1/16" dev c0 || exit 1; done &&
	ip -n "$H2" link set h0 up && ip -n "$C2" link set c0 up ||
	{ echo "netmon bench: links" >&2; exit 1; }
ip netns exec "$H2" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=8192
H1=$H C1=$C H=$H2 C=$C2
for ((i = 0; i <= BIG / PER_PROC; i++)); do
	spawn "$T/serve2.$i.log" ip netns exec "$H" "$TOOLS/tcp-conns" serve 198.18.0.1 $PORT
	wait_for 5 grep -q listening "$T/serve2.$i.log" || { echo "netmon bench: listener" >&2; exit 1; }
done
echo "### TCP collection CPU against \`ss -tin\`: the host namespace with an established hash table of its own"
echo
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
collect_table own
conns_down
H=$H1 C=$C1
echo
echo "(as above; the host namespace created with net.ipv4.tcp_child_ehash_entries = 65536, the clients' namespace sharing the initial one's table; load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "### the event loop while a collection runs on it"
echo
echo "| established sockets | path | collection, start to end (ms) | 1 ms timer late by: median ms | p99 ms | max ms | longest slice on the loop, CPU ms |"
echo "|---:|---|---:|---:|---:|---:|---:|"
printf '%s' "$HOLD"
echo
echo "($REPS collections started as the daemon starts them, nmt_collect_start, beside a timer re-armed every 1 ms: its lateness is how long the loop was held, preemption by other work on the machine included; the longest slice is the CPU time of the longest piece of a collection run on the loop: a sock_diag read between two loop rounds, or the eBPF path's copy of the per-zone totals once the worker's walk ended; shared ehash)"
echo
fi # collect

# ---- 3. counter reads -----------------------------------------------------------
if part read; then
echo "### counter read: nftables table / eBPF"
echo
echo "| zones | nftables: one read (median ms) | eBPF: one read (median ms) |"
echo "|---:|---:|---:|"
for nz in 4 100 1000; do
	zt=""
	for ((i = 0; i < nz; i++)); do zt+="zone.r$i = 10.$((i / 250)).$((i % 250)).0/24
"; done
	conf "$T/read$nz.conf" "$zt"
	out=$(ip netns exec "$R" "$TOOLS/nm-cost" read $((REPS * 5)) "$T/read$nz.conf")
	bout=$(ip netns exec "$R" "$TOOLS/nm-cost" bpfread $((REPS * 5)) "$T/read$nz.conf")
	printf '| %d | %s | %s |\n' "$nz" "$(field wall_us <<<"$out" | awk '{printf "%.2f", $1 / 1000}')" \
		"$(field wall_us <<<"$bout" | awk '{printf "%.3f", $1 / 1000}')"
done
echo
echo "($((REPS * 5)) reads each, medians: one NFT_MSG_GETOBJ dump of 2 counters per zone; eBPF: one BPF_MAP_LOOKUP_BATCH of the per-CPU array up to the highest slot in use, summed over the CPUs)"
echo
fi # read

# ---- issue 16: the RTT histogram and EC2's limits ---------------------------------
if part rtt; then
echo "### RTT histogram and EC2 limits"
echo
rtt_ns=$(for ((i = 0; i < REPS; i++)); do "$TOOLS/nm-cost" rtt 20000000 | field ns; done | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
lim_us=$(for ((i = 0; i < REPS; i++)); do ip netns exec "$H" "$TOOLS/ethtool-probe" collect 200 2>&1 >/dev/null | sed -n 's/^us_per_collect //p'; done | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
echo "| part | cost |"
echo "|---|---:|"
printf '| one RTT observation (a socket that sent, per collection) | %s ns CPU |\n' "$rtt_ns"
printf '| ... for %d sockets all sending in one interval | %s ms CPU per collection |\n' "$BIG" \
	"$(awk -v n="$rtt_ns" -v k="$BIG" 'BEGIN {printf "%.2f", n * k / 1e6}')"
printf '| EC2 limits read (ethtool statistics of %d interfaces + conntrack fill) | %s µs CPU per collection |\n' \
	"$(ip -n "$H" -o link show | wc -l)" "$lim_us"
echo
echo "(medians of $REPS: nm-cost rtt, 20 million observations over RTTs spread from 20 µs to 2 s; ethtool-probe collect, 200 rounds of nml_collect in the daemon's namespace: a GDRVINFO per interface, lo and a veth here, whose statistics hold none of the ENA names; on an ENA interface a GSTATS more, which the driver answers with an admin command to the device)"
echo
fi # rtt
# ---- 3b. overlay counters and the first-traffic watch (issue 16) -----------------
if part watch; then
# The read the watch makes every 10 ms for [netmon] watch_window after a
# failover: the same dump, with each group's counters per source zone.
echo "### overlay counters: the first-traffic watch's read"
echo
echo "| zones | groups | counters | one read, wall (median µs) | CPU (median µs) | CPU per second of watching (10 ms reads) |"
echo "|---:|---:|---:|---:|---:|---:|"
for zg in 4:1 4:10 100:10 1000:10; do
	nz=${zg%:*} ng=${zg#*:} zt="" gt=""
	for ((i = 0; i < nz; i++)); do zt+="zone.r$i = 10.$((i / 250)).$((i % 250)).0/24
"; done
	for ((i = 1; i < ng; i++)); do gt+="[group g$i]
vrrp_instance = VI_$((i + 1))
destinations = 198.19.$i.10/32
route_tables = rtb-$(printf '%017x' $((i + 1)))
network_interface = eni-0aaaaaaaaaaaaaaa1
"; done
	conf "$T/watch$zg.conf" "$zt"
	printf '%s' "$gt" >>"$T/watch$zg.conf"
	out=$(ip netns exec "$R" "$TOOLS/nm-cost" watch $((REPS * 20)) "$T/watch$zg.conf")
	printf '| %d | %d | %s | %s | %s | %s |\n' "$nz" "$ng" "$(field counters <<<"$out")" \
		"$(field wall_us <<<"$out")" "$(field cpu_us <<<"$out")" \
		"$(field cpu_us <<<"$out" | awk '{printf "%.1f ms (%.2f%% of a core)", $1 * 100 / 1000, $1 * 100 / 10000}')"
done
echo
echo "($((REPS * 20)) reads each: one NFT_MSG_GETOBJ dump of the zones' 2 counters and each group's zones + 1; the watch reads for at most [netmon] watch_window (30 s) after a transition to MASTER, one read per 10 ms)"
echo
fi # watch

# ---- 3c. the overlay rules per packet (issue 16) ----------------------------------
# Overlays are counted in prerouting of the node the packets arrive at: here
# the clients' namespace, with the host's 198.18.0.1 in a zone of its own.
# On veth the receiving namespace's softirq runs in the sender's context, so
# the sender's CPU per packet includes the receiver's hooks (the method of
# part 5). Modes, alternating within each repetition: no table; the zones
# only; one group whose destination is the packets'; ten groups, the
# packets to the first; ten groups, the packets to an address of none; one
# group in the table the daemon makes when eBPF counts the zones (the
# overlay rules alone, no postrouting chain).
if part overlay; then
ovconf() { # FILE NGROUPS
	local i
	{
		printf '[aws]\nregion = us-east-1\nendpoint = http://127.0.0.1:9\n'
		printf '[daemon]\ncontrol_socket = %s\nstate_dir = %s\n' "$T/ctl.sock" "$T/state"
		printf '[metrics]\nlisten =\n[netmon]\nzone.z0 = 198.18.0.0/24\n%s\n' "$ZONES"
		for ((i = 0; i < $2; i++)); do
			printf '[group g%d]\nvrrp_instance = VI_%d\nroute_tables = rtb-%017x\n' "$i" $((i + 1)) $((i + 1))
			printf 'network_interface = eni-0aaaaaaaaaaaaaaa1\n'
			if [ "$i" = 0 ]; then
				printf 'destinations = 198.18.1.1/32\n'
			else
				printf 'destinations = 198.19.%d.10/32\n' "$i"
			fi
		done
	} >"$1"
}
ovconf "$T/ov1.conf" 1
ovconf "$T/ov10.conf" 10
ov_mode() { # MODE: the clients' namespace's table for MODE; the destination
	case $1 in
	none) ip netns exec "$C" "$TOOLS/nft-probe" remove ;;
	zones) ip netns exec "$C" "$TOOLS/nft-probe" apply "$T/ov1.conf" 2>"$T/ov.err" ;;
	g1) ip netns exec "$C" "$TOOLS/nft-probe" apply-groups "$T/ov1.conf" 2>"$T/ov.err" ;;
	g1ov) ip netns exec "$C" "$TOOLS/nft-probe" apply-overlays "$T/ov1.conf" 2>"$T/ov.err" ;;
	g10 | g10miss) ip netns exec "$C" "$TOOLS/nft-probe" apply-groups "$T/ov10.conf" 2>"$T/ov.err" ;;
	esac || { echo "# apply $1 failed:" >&2; cat "$T/ov.err" >&2; }
}
ov_dest() { [ "$1" = g10miss ] && echo 198.18.2.1 || echo 198.18.1.1; }
OVMODES="none zones g1 g10 g10miss g1ov"
for m in $OVMODES; do : >"$T/ov.$m" >"$T/ovperf.$m"; done
for ((i = 0; i < REPS; i++)); do
	for m in $OVMODES; do
		ov_mode $m
		ip netns exec "$H" "$TOOLS/nm-cost" udp 300000 "$(ov_dest $m)" 9 | field cpu_ns >>"$T/ov.$m"
	done
done
# perf's share of the run's CPU in netfilter (nf_hook_slow, nft_*), times
# that run's CPU per packet: the rules' own cost, whatever the load did.
if command -v perf >/dev/null; then
	for ((i = 0; i < REPS; i++)); do
		for m in zones g1 g10 g10miss g1ov; do
			ov_mode $m
			c=$(ip netns exec "$H" perf record -q -o "$T/perf.data" -- \
				"$TOOLS/nm-cost" udp 200000 "$(ov_dest $m)" 9 2>/dev/null | field cpu_ns)
			sh=$(perf report -i "$T/perf.data" --no-children --sort sym -q 2>/dev/null |
				awk '/\[k\] (nft_|nf_hook_slow)/ {gsub("%", "", $1); s += $1} END {printf "%.2f", s}')
			awk -v c="$c" -v s="$sh" 'BEGIN {printf "%d\n", c * s / 100}' >>"$T/ovperf.$m"
		done
	done
fi
ip netns exec "$C" "$TOOLS/nft-probe" remove
echo "### overlay counting per packet (the node packets arrive at)"
echo
echo "| the receiver's table | sender CPU per packet (median) | vs no table | vs zones only | in netfilter (perf) |"
echo "|---|---:|---:|---:|---:|"
n0=$(median <"$T/ov.none") nz=$(median <"$T/ov.zones")
for m in $OVMODES; do
	v=$(median <"$T/ov.$m")
	case $m in
	none) what="none" ;;
	zones) what="the zones only (5)" ;;
	g1) what="+ 1 group, packets to its destination (counted)" ;;
	g10) what="+ 10 groups, packets to the first's destination (counted)" ;;
	g10miss) what="+ 10 groups, packets to none of theirs" ;;
	g1ov) what="1 group, the table without the zones' rules (eBPF counts the zones), packets to its destination" ;;
	esac
	pf="-"
	[ -s "$T/ovperf.$m" ] && pf="$(median <"$T/ovperf.$m") ns"
	printf '| %s | %d ns | %+d ns | %s | %s |\n' "$what" "$v" $((v - n0)) \
		"$([ $m = none ] && echo - || printf '%+d ns' $((v - nz)))" "$pf"
done
echo
echo "(nm-cost udp, 64-byte datagrams from the host namespace to the clients' over veth, 300,000 a run, medians of $REPS runs per mode, the modes alternating; perf: medians of $REPS runs of 200,000 under perf record, the share of samples in nf_hook_slow and nft_* times the run's CPU per packet)"
echo
fi # overlay

# ---- 3d. the ring of samples behind the network around a failover (issue 16) ------
if part ring; then
echo "### the network around a failover: the ring of samples"
echo
echo "| zones | one sample pushed (per collection) | one window taken (two per failover) | the ring's memory (a minute at interval = 1) |"
echo "|---:|---:|---:|---:|"
for nz in 4 100; do
	: >"$T/ring.push" >"$T/ring.win"
	for ((i = 0; i < REPS; i++)); do
		out=$("$TOOLS/nm-cost" ring 200000 $nz)
		field push_ns <<<"$out" >>"$T/ring.push"
		field window_ns <<<"$out" >>"$T/ring.win"
		b=$(field bytes <<<"$out")
	done
	printf '| %d | %s ns | %s ns | %s KiB |\n' "$nz" \
		"$(sort -n "$T/ring.push" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')" \
		"$(sort -n "$T/ring.win" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')" \
		"$(awk -v b="$b" 'BEGIN {printf "%.0f", b / 1024}')"
done
echo
echo "(nm-cost ring: 200,000 pushes into and windows out of a 63-slot ring, medians of $REPS; the daemon adds to a push one read of each zone's TCP counters and histogram, already in memory)"
echo
fi # ring

# ---- 2 and 4. notify latency and RSS through the daemon --------------------------
if part daemon; then
# notify BACKUP (no route is touched) every 5..15 ms for SECS seconds, each on
# a fresh control connection as the hook makes it; reply time in ms per line
lat() { # SECS
	$PY - "$T/ctl.sock" "$1" <<-'P'
	import json, random, socket, sys, time
	path, secs = sys.argv[1], float(sys.argv[2])
	end = time.monotonic() + secs
	while time.monotonic() < end:
	    time.sleep(random.uniform(0.005, 0.015))
	    req = {"cmd": "notify", "type": "INSTANCE", "name": "VI_1", "state": "BACKUP",
	           "priority": 100, "mono": int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1000),
	           "wall": int(time.time())}
	    t0 = time.monotonic()
	    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	    s.settimeout(5)
	    s.connect(path)
	    s.sendall((json.dumps(req) + "\n").encode())
	    buf = b""
	    while not buf.endswith(b"\n"):
	        b = s.recv(65536)
	        if not b:
	            break
	        buf += b
	    s.close()
	    print("%.3f" % ((time.monotonic() - t0) * 1000))
	P
}
pct() { # P: the P-th percentile of the numbers on stdin
	sort -n | awk -v p="$1" '{v[NR] = $1} END {i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.1f", v[i]}'
}
rss() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$DPID/status"; }
collections() {
	"$VPCF" -c "$T/vpcf.conf" metrics --json | $PY -c "import json,sys; m=json.load(sys.stdin); m=m.get('metrics',m); print(m['netmon']['collections'])"
}
settle() { # wait for 3 more collections
	local c0
	c0=$(collections)
	wait_for 20 bash -c "[ \"\$('$VPCF' -c '$T/vpcf.conf' metrics --json | $PY -c 'import json,sys; m=json.load(sys.stdin); m=m.get(\"metrics\",m); print(m[\"netmon\"][\"collections\"])')\" -ge $((c0 + 3)) ]"
}

mkdir -p "$T/state"
SECS=$((REPS * 2))
LOADS=""
declare -A RSS
for mode in yes no; do
	conf "$T/vpcf.conf" "$ZONES
bpf = $mode" 1
	spawn "$T/daemon.$mode.log" ip netns exec "$H" "$VPCFD" -f -c "$T/vpcf.conf"
	DPID=$SPAWNED_PID
	wait_for 10 test -S "$T/ctl.sock" || { echo "netmon bench: daemon did not start" >&2; exit 1; }
	settle
	LOADS+="$mode: $(cut -d' ' -f1-3 /proc/loadavg); "
	RSS[$mode.0]=$(rss)
	lat "$SECS" >"$T/lat0.$mode"
	conns_up "$BIG"
	settle
	RSS[$mode.1]=$(rss)
	lat "$SECS" >"$T/lat1.$mode"
	conns_down
	settle
	RSS[$mode.2]=$(rss)
	kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	wait_for 10 bash -c "! test -S '$T/ctl.sock'"
done
what() { [ "$1" = yes ] && echo "eBPF" || echo "sock_diag"; }

echo "### notify handling while collections run (every 1 s)"
echo
echo "| established sockets | TCP path | notifies | median ms | p90 ms | p99 ms | max ms |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for mode in yes no; do
	for f in 0:lat0 "$BIG":lat1; do
		l=$T/${f#*:}.$mode
		printf '| %d | %s | %d | %s | %s | %s | %s |\n' "${f%%:*}" "$(what $mode)" "$(wc -l <"$l")" \
			"$(pct 50 <"$l")" "$(pct 90 <"$l")" "$(pct 99 <"$l")" "$(pct 100 <"$l")"
	done
done
echo
echo "(a notify BACKUP on a fresh control connection every 5-15 ms for $SECS s, connect to reply; [netmon] interval = 1, 4 zones, bpf = yes then no; load average at the start of each: $LOADS)"
echo
echo "### daemon RSS"
echo
echo "| TCP path | before | at $BIG sockets | after they closed |"
echo "|---|---:|---:|---:|"
for mode in yes no; do
	echo "| $(what $mode) | ${RSS[$mode.0]} MiB | ${RSS[$mode.1]} MiB | ${RSS[$mode.2]} MiB |"
done
echo
echo "(VmRSS of vpc-failoverd after 3 collections in each state)"
echo
fi # daemon

# ---- 5. per-packet cost -----------------------------------------------------------
{ [ "${NETMON_PACKETS:-1}" = 0 ] || ! part packets; } && exit 0
# NETMON_PACKETS=iperf: only the iperf3 rates below
IPERF_ONLY=$([ "${NETMON_PACKETS:-1}" = iperf ] && echo 1)
echo "### the counting table's per-packet cost (sender): none / nftables table / eBPF"
echo
# Three ways, alternating in one run: no counting, the nftables table
# (nft-probe apply, the table the daemon makes with bpf = no) and the eBPF
# programs at tc ingress/egress of every interface, the TCP counting's
# program tail-called by the egress one (tcp-probe loads both, as the
# daemon does with bpf = auto).
BPFHOLD=
pkt_mode() { # MODE: the host namespace's counting (none, table, bpf, bpfcls, bpfwalk, tcnop, empty)
	local p
	for p in $BPFHOLD; do
		kill "$p" && wait "$p" 2>/dev/null
	done
	BPFHOLD=
	ip netns exec "$H" "$TOOLS/nft-probe" remove
	ip netns exec "$H" nft delete table inet vpcf_bench_empty 2>/dev/null
	case $1 in
	table) ip netns exec "$H" "$TOOLS/nft-probe" apply "$T/zones.conf" || echo "# apply failed" >&2 ;;
	bpf | bpfcls | bpfwalk)
		# bpfwalk: as bpf, with the TCP counting walking per collection
		# ([netmon] tcp_count = walk): segments pay only the zone counters
		spawn "$T/bpf.log" ip netns exec "$H" env VPCF_BPF_ATTACH=$([ $1 = bpfcls ] && echo clsact || echo tcx) \
			VPCF_BPF_TCP=$([ $1 = bpfwalk ] && echo walk) \
			"$TOOLS/tcp-probe" -m yes 198.18.1.0/24 198.18.2.0/24 198.18.3.0/24 198.18.4.0/24 -- 3600 10
		BPFHOLD=$SPAWNED_PID
		wait_for 5 grep -q '^start host' "$T/bpf.log" || echo "# eBPF failed: $(cat "$T/bpf.log")" >&2
		if [ $1 = bpfwalk ]; then
			if grep -q 'counted where sent' "$T/bpf.log"; then echo "# eBPF: TCP counted where sent, not walked" >&2; fi
		else
			grep -q 'counted where sent' "$T/bpf.log" || echo "# eBPF: TCP not counted where sent: $(cat "$T/bpf.log")" >&2
		fi
		;;
	tcnop)
		spawn "$T/nop.log" ip netns exec "$H" "$TOOLS/zbpf-probe" empty
		BPFHOLD=$SPAWNED_PID
		wait_for 5 grep -q '^ready' "$T/nop.log" || echo "# empty program failed: $(cat "$T/nop.log")" >&2
		;;
	empty) ip netns exec "$H" nft add table inet vpcf_bench_empty '{ chain p { type filter hook postrouting priority 500; policy accept; }; }' ||
		echo "# empty chain failed" >&2 ;;
	esac
}
MODES="none table bpf"
# 64-byte TCP writes: one segment each (autocorking off in the sender's
# namespace; with it, how many writes a segment merges swings the rate by
# half from run to run). nm-cost sink reads them in zone z1.
ip netns exec "$H" sysctl -qw net.ipv4.tcp_autocorking=0
spawn "$T/sink.log" ip netns exec "$C" "$TOOLS/nm-cost" sink 7
wait_for 5 ip netns exec "$H" bash -c "exec 3<>/dev/tcp/198.18.1.1/7" || echo "# sink failed: $(cat "$T/sink.log")" >&2
# CPU time per packet is what the counting adds; packets/s also depends on
# how much of a core the sender got on this shared machine. UDP datagrams
# pass the TCP counting by (zones.bpf.c, maybe_tcp); TCP segments go
# through it in full.
if [ -z "$IPERF_ONLY" ]; then
for m in $MODES; do : >"$T/cpu.$m" >"$T/cput.$m"; done
for ((i = 0; i < REPS; i++)); do
	for m in $MODES; do
		pkt_mode $m
		ip netns exec "$H" "$TOOLS/nm-cost" udp 300000 198.18.1.1 9 | field cpu_ns >>"$T/cpu.$m"
		ip netns exec "$H" "$TOOLS/nm-cost" tcp 300000 198.18.1.1 7 | field cpu_ns >>"$T/cput.$m"
	done
done
pkt_mode none
# The eBPF counters' own reading of its last run: it did count.
bpfseen=$(sed -n 's/^end packets zone=0 .*out_pkts=\([0-9]*\).*/\1/p' "$T/bpf.log")
echo "| 64 bytes to a zone, sender CPU per packet or write | none | nftables table | eBPF | table's cost | eBPF's cost |"
echo "|---|---:|---:|---:|---:|---:|"
for f in cpu cput; do
	cnone=$(median <"$T/$f.none") ctab=$(median <"$T/$f.table") cbpf=$(median <"$T/$f.bpf")
	case $f in
	cpu) what="nm-cost udp (300,000 datagrams a run)" ;;
	cput) what="nm-cost tcp (300,000 writes a run, TCP_NODELAY)" ;;
	esac
	printf '| %s | %d ns | %d ns | %d ns | %+d ns | %+d ns |\n' \
		"$what" "$cnone" "$ctab" "$cbpf" $((ctab - cnone)) $((cbpf - cnone))
done
echo
echo "(medians of $REPS runs each, alternating; CPU time of the sending process, which on veth includes the receiving namespace's softirq work, for TCP the ACKs' too; the eBPF programs counted ${bpfseen:-?} packets out to z1 in their last run, the UDP and TCP runs together)"
echo
fi
# The difference above swings with whatever else the machine runs (a shared
# host's load moves it by hundreds of ns either way). perf's samples split
# one run: for the table, the share spent in netfilter (nf_hook_slow and
# nft_*: no other hook is registered in the namespace); for eBPF, our
# programs and the helpers they call (BPF_RE below: other BPF programs that
# the machine runs meanwhile are not ours) and tc's entry
# (sch_handle_egress/ingress, and tcf_classify, cls_bpf_classify for clsact
# filters; tcx_run is inlined into sch_handle_egress where it shows at
# all). The daemon attaches tcx links where the kernel has them (6.6+),
# clsact filters otherwise: both are measured. With 4 IPv4 zones the zone
# counters call no map helper (the intervals are searched in place); a TCP
# segment's socket is accounted through helpers (its storage, its tcp_sock).
# That share times the run's CPU per packet is the counting's own cost,
# whatever the load did to the rest.
# The same for an empty base chain at the table's postrouting hook: the
# hook's own cost, which no nftables table can go below.
# Our symbols in perf's report: the programs (bpf_prog_<tag>_<function>:
# the zone counters' zb_*, the TCP counting's nmtb_tx and its subprograms
# zone_of, rtt_bucket) and the helpers they call, which perf names apart
# (bpf_sk_storage_get, ...); for eBPF also tc's entry.
TCP_RE='bpf_prog_[0-9a-f]+_(nmtb_tx|zone_of|rtt_bucket)|\\[k\\] (bpf_sk_storage_get|bpf_local_storage_[a-z_]*|bpf_skc_to_tcp_sock|bpf_sk_fullsock)$'
BPF_RE='bpf_prog_[0-9a-f]+_zb_|\\[k\\] (sch_handle_(egress|ingress)|_*tcf_classify|cls_bpf_[a-z_]*|tcx_[a-z_]*|bpf_skb_load_bytes)(\\.[a-z0-9.]*)?$|'$TCP_RE
if [ -z "$IPERF_ONLY" ] && command -v perf >/dev/null; then
	# MODE or MODE.tcp (64-byte TCP writes instead of UDP datagrams)
	PMODES="table empty bpf bpfcls table.tcp bpf.tcp bpfwalk.tcp"
	for m in $PMODES; do : >"$T/share.$m" >"$T/share.ns.$m"; done
	for ((i = 0; i < REPS; i++)); do
		for m in $PMODES; do
			pkt_mode ${m%.tcp}
			if [ $m = ${m%.tcp} ]; then
				send="udp 200000 198.18.1.1 9"
			else
				send="tcp 200000 198.18.1.1 7"
			fi
			# shellcheck disable=SC2086 # send: nm-cost's words
			c=$(ip netns exec "$H" perf record -q -o "$T/perf.data" -- \
				"$TOOLS/nm-cost" $send 2>/dev/null | field cpu_ns)
			if [ ${m%.tcp} != table ] && [ $m != empty ]; then
				re=$BPF_RE
			else
				re='\\[k\\] (nft_|nf_hook_slow)'
			fi
			perf report -i "$T/perf.data" --no-children --sort sym -q 2>/dev/null >"$T/perf.$m.txt"
			sh=$(awk -v re="$re" '$0 ~ re {gsub("%", "", $1); s += $1} END {printf "%.2f", s}' "$T/perf.$m.txt")
			echo "$sh" >>"$T/share.$m"
			awk -v c="$c" -v s="$sh" 'BEGIN {printf "%d\n", c * s / 100}' >>"$T/share.ns.$m"
		done
	done
	pkt_mode none
	echo "| perf samples in the counting | share of the sender's CPU | per packet (TCP: per write) |"
	echo "|---|---:|---:|"
	for m in $PMODES; do
		case $m in
		table) what="nm-cost udp (200,000 packets a run), with the nftables table (nf_hook_slow, nft_*)" ;;
		empty) what="... with an empty nftables base chain at the same hook instead" ;;
		bpf) what="... with the eBPF programs as tcx links (bpf_prog_*_zb_*, tcx_*, sch_handle_*; UDP passes the TCP counting by)" ;;
		bpfcls) what="... with them as clsact filters instead (bpf_prog_*_zb_*, cls_bpf_classify, tcf_classify, sch_handle_*)" ;;
		table.tcp) what="nm-cost tcp (200,000 64-byte writes a run), with the nftables table" ;;
		bpf.tcp) what="... with the eBPF programs as tcx links, each segment through the TCP counting (bpf_prog_*_nmtb_tx and the helpers: bpf_sk_storage_get, bpf_skc_to_tcp_sock, bpf_sk_fullsock)" ;;
		bpfwalk.tcp) what="... with them, the TCP counting walking per collection instead (\`tcp_count = walk\`): the zone counters alone" ;;
		esac
		printf '| %s | %s%% | %d ns |\n' "$what" \
			"$(sort -n "$T/share.$m" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')" \
			"$(median <"$T/share.ns.$m")"
	done
	echo
	echo "(medians of $REPS runs under perf record, alternating; only our table (or the empty chain, or our tc filters) hooks in the namespace; the empty chain is the cost of any nftables table hooking postrouting, the rest is the rules')"
	echo
	if [ -n "${NETMON_PERF_SYMS:-}" ]; then
		for m in bpf bpfcls; do
			echo "(the $m run's symbols counted, last run:)"
			awk -v re="$BPF_RE" '$0 ~ re' "$T/perf.$m.txt"
		done
		echo
	fi
fi
if ! command -v iperf3 >/dev/null; then
	echo "(iperf3 is not installed: scripts/deps.sh installs it)"
	exit 0
fi
spawn "$T/iperf.log" ip netns exec "$C" iperf3 -s -B 198.18.1.1
wait_for 5 ip netns exec "$H" bash -c "exec 3<>/dev/tcp/198.18.1.1/5201" || true
iperf() { # ARGS...: one run from the host to zone z1; prints packets/s or bit/s
	local out
	for try in 1 2 3; do
		out=$(ip netns exec "$H" iperf3 -c 198.18.1.1 -t 2 -J "$@" 2>/dev/null) && break
		sleep 1
	done
	$PY -c "
import json, sys
j = json.loads(sys.stdin.read())
s = j['end']['sum'] if 'sum' in j['end'] else j['end']['sum_sent']
print(int(s['packets'] / s['seconds']) if 'packets' in s else int(s['bits_per_second']))" <<<"$out"
}
# A 2-core machine shared with others: the rate a run gets drifts with the
# load by more than the counting costs, so each mode is measured in pairs
# with none, back to back, none first in one round and second in the next;
# a pair's ratio is the mode's rate over none's, and the table has the
# median of the pairs' ratios and their quartiles. "none, again" pairs none
# with itself: its ratio is the method's own noise. "an empty tc program"
# does nothing at tcx ingress and egress: what any tc program costs a
# packet, before the counting's work. Each run starts 0.5 s after its mode
# is set up (a detached program is freed after an RCU grace period).
TMODES="none2 table tcnop bpf"
declare -A pairrate # a pair's two rates, by mode
for f in udp tcp tcps; do
	case $f in udp) args="-u -b 0 -l 64" ;; tcp) args= ;; tcps) args="-l 64 -N" ;; esac
	: >"$T/$f.none"
	for m in $TMODES; do : >"$T/$f.$m"; done
	for ((i = 0; i < REPS; i++)); do
		for m in $TMODES; do
			pair=(none "$m")
			((i % 2)) && pair=("$m" none)
			for x in "${pair[@]}"; do
				pkt_mode "${x%2}"
				sleep 0.5
				pairrate[$x]=$(iperf $args)
				# bulk TCP: how many packets the hooks saw (GSO packets
				# out, ACKs in), from the zone counters' own count
				if [ "$x" = bpf ] && [ $f = tcp ]; then
					pkt_mode none
					sed -n 's/^end packets zone=0 in_pkts=\([0-9]*\) out_pkts=\([0-9]*\)$/\1 \2/p' \
						"$T/bpf.log" >>"$T/tcp.hook"
				fi
			done
			echo "${pairrate[none]}" >>"$T/$f.none"
			echo "${pairrate[none]} ${pairrate[$m]}" >>"$T/$f.$m"
		done
	done
done
pkt_mode none
# pair_stats FLAVOUR MODE: "median_rate median_ratio q1 q3" of MODE's pairs
pair_stats() {
	$PY - "$T/$1.$2" <<'P'
import statistics, sys
pairs = [tuple(float(v) for v in l.split()) for l in open(sys.argv[1]) if len(l.split()) == 2]
r = sorted(b / a for a, b in pairs if a > 0)
q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0], r[0], r[0]]
print(statistics.median(b for _, b in pairs), statistics.median(r), q[0], q[2])
P
}
name() {
	case $1 in none) echo none ;; none2) echo "none, again" ;; table) echo "nftables table" ;;
	tcnop) echo "an empty tc program" ;; bpf) echo eBPF ;; esac
}
declare -A pns # eBPF's per-packet cost by kind of traffic
echo "| | counting | rate (median) | ratio to none in its pair: median [quartiles] | per packet |"
echo "|---|---|---:|---:|---:|"
for f in udp tcp tcps; do
	nrate=$(median <"$T/$f.none")
	for m in none $TMODES; do
		if [ $m = none ]; then
			rate=$nrate r=1 q1=1 q3=1
		else
			read -r rate r q1 q3 < <(pair_stats $f $m)
		fi
		case $f in
		udp) what="64-byte UDP, packets/s" div=1 per=1 ;;
		tcp) what="bulk TCP, Gbit/s" div=1e9 per= ;;
		tcps) what="64-byte TCP writes (TCP_NODELAY, no autocorking), writes/s" div=512 per=1 ;;
		esac
		[ $m = bpf ] && [ -n "$per" ] &&
			pns[$f]=$(awk -v r="$r" -v n="$nrate" -v d="$div" 'BEGIN {printf "%.0f", (1 / r - 1) * 1e9 * d / n}')
		printf '| %s | %s | %s | %.3f [%.3f, %.3f] | %s |\n' "$what" "$(name $m)" \
			"$(awk -v a="$rate" -v d="$div" 'BEGIN {printf (d == 1e9 ? "%.2f" : "%d"), a / d}')" \
			"$r" "$q1" "$q3" \
			"$([ -n "$per" ] && awk -v r="$r" -v n="$nrate" -v d="$div" 'BEGIN {printf "%+.0f ns", (1 / r - 1) * 1e9 * d / n}')"
	done
done
echo
echo "(iperf3 from the host namespace to zone z1 over veth, 2 s per run, $REPS pairs of runs per mode, each with none, back to back; none's rate: the median of all its runs; per packet: (1 / ratio - 1) / none's rate, the time each packet or write took longer)"
# Bulk TCP's ratios swing more than the counting can cost it (and the
# 64-byte TCP writes' rate jumps between two levels), so a bound from its
# packets: every packet through the hooks at 64-byte UDP's per-packet cost
# above (the zone counters and the dispatch, which the TCP program shares
# as a tail call), plus the TCP program's own work, measured by perf over
# both cores during one bulk run (bpf_prog_*_nmtb_tx, its zone_of
# subprogram and the helpers only it calls), as a share of one core.
tcpwork=
if command -v perf >/dev/null; then
	pkt_mode bpf
	sleep 0.5
	ip netns exec "$H" perf record -q -a -o "$T/perf.bulk" -- iperf3 -c 198.18.1.1 -t 2 >/dev/null 2>&1
	pkt_mode none
	tcpwork=$(perf report -i "$T/perf.bulk" --no-children --sort sym -q 2>/dev/null |
		awk -v re="$TCP_RE" \
			'$0 ~ re {gsub("%", "", $1); s += $1} END {printf "%.2f", s * 2}')
fi
if [ -s "$T/tcp.hook" ]; then
	read -r pin pout < <(awk '{i += $1; o += $2; n++} END {printf "%d %d", i / n / 2, o / n / 2}' "$T/tcp.hook")
	hooks=$(awk -v o="$pout" -v i="$pin" -v a="${pns[udp]:-0}" 'BEGIN {printf "%.2f", (o + i) * a / 1e7}')
	echo
	echo "(bulk TCP through the eBPF hooks: $pout packets/s out (GSO packets of up to 64 KiB) and $pin in, means of its runs by the zone counters' own count; at 64-byte UDP's ${pns[udp]:-?} ns a packet that is $hooks% of one core, and the TCP program's own work ${tcpwork:-?}% (perf, one run): at most $(awk -v a="$hooks" -v b="${tcpwork:-0}" 'BEGIN {printf "%.2f", a + b}')% of the sender's core, the throughput a CPU-bound stream can lose)"
fi
