# bench/lib.sh — shared by the loopback benchmarks (after tests/lib.sh).

ms_now() { date +%s%N | cut -c1-13; }
# median of the numbers on stdin, one a line (integer)
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

# Point every table of $TABLES back at node a, through the simulator's
# control API (not timed).
reset_routes() {
	local t
	for t in $TABLES; do
		sim_post /_sim/route "{\"table\":\"$t\",\"dest\":\"$DEST\",\"eni\":\"$ENI_A\"}" >/dev/null
	done
}
