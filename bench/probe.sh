#!/bin/bash
# What the active probe (probe = tcp:PORT, docs/probe.md) costs the node that
# runs it, side by side in one run: the daemon of node-c (BACKUP, set by a
# notify; no keepalived needed) in the namespace topology (tests/topo.sh),
# probing node-a's responder on the overlay IP through the router, with
# probe_interval = 2 s (the floor: probe_timeout, 1 s at least, is shorter). Windows of WINDOW seconds alternate probe off and on
# (a SIGHUP reload switches it); per window: probes made, the daemon's CPU
# time (/proc/PID/schedstat, ns), and packets on node-c's eth0 (both
# directions). Medians of REPS windows each; per probe: the on-off
# difference over the probes made; and the connect latency's median as
# status reports it. Not a test: nothing is asserted.
#   bench/probe.sh [REPS] (default 5; WINDOW=10)
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/../tests/topo.sh"
. "$(dirname "$0")/../tests/keepalived.sh"
. "$(dirname "$0")/../tests/nodes.sh"
. "$(dirname "$0")/lib.sh"

REPS=${1:-5}
WINDOW=${WINDOW:-10}
PY=/usr/bin/python3

topo_up >/dev/null || { echo "probe bench: topology" >&2; exit 1; }
ip -n "$NS_C" addr del "$OVERLAY_CIDR" dev lo # node-a keeps it: the MASTER
conf() { # on|off: node-c's configuration, with or without the probe
	local more=""
	[ "$1" = on ] && more="probe = tcp:7000
probe_interval = 2
probe_timeout = 1"
	node_conf c vip=lo more="$more"
}
conf off
d_start c >/dev/null || { echo "probe bench: daemon" >&2; exit 1; }
DP=${DPID[c]}
vf c notify INSTANCE VI_1 BACKUP 100 >/dev/null

cpu_ns() { awk '{print $1}' "/proc/$DP/schedstat"; }
pkts() { # rx + tx packets of node-c's eth0
	ip -n "$NS_C" -j -s link show eth0 |
		$PY -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["packets"] + s["tx"]["packets"])'
}
probes() { st_of c "g.get('probe', {}).get('destinations', [{}])[0].get('probes', 0)"; }

: >"$T/off" && : >"$T/on" && : >"$T/lat"
for ((i = 0; i < REPS; i++)); do
	for mode in off on; do
		conf $mode
		kill -HUP "$DP"
		sleep 1 # the reload, and the first round after it
		p0=$(probes) c0=$(cpu_ns) k0=$(pkts)
		end=$((SECONDS + WINDOW))
		while ((SECONDS < end)); do
			sleep 1
			# one status request a second in both modes, so that
			# serving them costs both the same
			l=$(st_of c "g.get('probe', {}).get('destinations', [{}])[0].get('connect_ms', '')")
			[ $mode = on ] && echo "$l" >>"$T/lat"
		done
		p1=$(probes) c1=$(cpu_ns) k1=$(pkts)
		echo "$((p1 - p0)) $((c1 - c0)) $((k1 - k0))" >>"$T/$mode"
	done
done
med() { awk -v f="$2" '{print $f}' "$1" | median; }
pon=$(med "$T/on" 1) con=$(med "$T/on" 2) coff=$(med "$T/off" 2) kon=$(med "$T/on" 3) koff=$(med "$T/off" 3)
lat=$(grep -v '^$' "$T/lat" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "| per ${WINDOW} s window (median of $REPS) | probe off | probe on (interval 2 s) |"
echo "| --- | --- | --- |"
echo "| probes made | 0 | $pon |"
echo "| daemon CPU | $((coff / 1000)) µs | $((con / 1000)) µs |"
echo "| packets on eth0 (rx + tx) | $koff | $kon |"
if ((pon > 0)); then
	echo
	echo "Per probe: $(((con - coff) / pon / 1000)) µs of daemon CPU," \
		"$($PY -c "print('%.1f' % (($kon - $koff) / $pon))") packets; connect latency (median of status samples) $lat ms."
fi
d_stop c
