#!/bin/bash
# Soak: SOAK_HOURS (default 24) hours of simulated time on the fake clock
# (VPCF_FAKE_CLOCK, SOAK_SCALE times faster than real: 24 h in about 90 s at
# the default 1000). In a fresh network namespace: the simulated VPC and one
# daemon on instance-role credentials that live 1 simulated hour, two groups
# of three route tables made MASTER by `vpc-failover notify`, netmon on with
# two zones, default re-check (60 s) and netmon (10 s) intervals. Group pg
# reaches its tables through STS AssumeRole (its own role_arn, on the
# instance role's keys): the simulator's role keys live 900 simulated
# seconds (--sts-ttl), so the daemon assumes the role anew every 675, and
# every hour pg fails over once more (BACKUP, another writer points its
# tables away, MASTER) on the role's keys of the moment.
#
# Every simulated hour it samples the daemon's VmRSS and open fds and the
# work done (re-check passes, DescribeRouteTables calls, role credential
# fetches, AssumeRole calls, netmon collections), then checks that the work
# kept pace with simulated time (>= 80% of what it implies; AssumeRole also
# no more than it implies), that every hourly failover of pg converged and
# EC2 never refused expired keys, the routes are still right,
# the fds other than pooled connections at the end are those after the first
# hour, the pool stays within max_parallel, and RSS grew by less than
# SOAK_RSS_KIB (1024) from hour 1 to the end. The table and the
# checks go to SOAK_OUT (BUILD/soak/results.txt). Exits 1 if a check failed.
# Used by `make soak`, and by tests/integration/soak_smoke.sh in `make test`.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

HOURS=${SOAK_HOURS:-24}
SCALE=${SOAK_SCALE:-1000}
RSS_BOUND=${SOAK_RSS_KIB:-1024}
CRED_TTL=3600 # simulated seconds
STS_TTL=900   # simulated seconds: AssumeRole keys of group pg
ROLE=arn:aws:iam::123456789012:role/vpcf-soak-routes
RECHECK=60 NETMON=10 # the defaults, not set in the config
# The daemon refreshes role keys a quarter of their life, at most 300 s,
# before Expiration.
REFRESH=$((CRED_TTL - (CRED_TTL / 4 > 300 ? 300 : CRED_TTL / 4)))
ASSUME=$((STS_TTL - (STS_TTL / 4 > 300 ? 300 : STS_TTL / 4)))
MAXPAR=4 # [aws] max_parallel: curl's connection pool bound
DEST2=10.255.0.11/32
OUT=${SOAK_OUT:-$B/soak/results.txt}

# TAP lines are also kept for the results file.
ok() {
	tapn=$((tapn + 1))
	echo "ok $tapn - $1" | tee -a "$T/tap.txt"
}
not_ok() {
	tapn=$((tapn + 1))
	echo "not ok $tapn - $1${2:+: $2}" | tee -a "$T/tap.txt"
}

NS=$(ns_new soak) || { not_ok "namespace"; exit 1; }
nsx() { ip netns exec "$NS" "$@"; }
# lib.sh's simulator helpers, pointed into the namespace
sim_get() { nsx curl -sS --max-time 5 "$SIM_URL$1"; }
vf() { "$VPCF" -c "$T/vpcf.conf" "$@"; }
dest_of() { # TABLE CIDR: the ENI its route points at, or "none"
	sim_get /_sim/routes | $PY -c "import json,sys; print(json.load(sys.stdin).get('$1',{}).get('$2','none'))"
}

# Both processes get the same value: they agree on simulated wall time.
EPOCH=$(date +%s)
FAKE="$SCALE@$EPOCH"

# Tables 1..3 carry $DEST (at node a), 4..6 have no route for $DEST2 yet.
sim_vpc "$T/state.json" 6
# The role pg assumes: it trusts the instance role, wants an external id.
$PY - "$T/state.json" <<PY
import json, sys
d = json.load(open(sys.argv[1]))
d["roles"] = [{"arn": "$ROLE", "trust": ["arn:aws:iam::123456789012:role/vpcf-node"],
               "external_id": "vpcf-soak"}]
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
rm -f "$T/sim.port"
spawn "$T/sim.log" env VPCF_FAKE_CLOCK="$FAKE" ip netns exec "$NS" \
	"$VPCSIM" --state "$T/state.json" --listen 127.0.0.1:0 --port-file "$T/sim.port" \
	--cred-ttl $CRED_TTL --sts-ttl $STS_TTL --sts-expired RequestExpired
if ! wait_for 10 test -s "$T/sim.port"; then
	not_ok "simulator starts" "$(tail -5 "$T/sim.log")"
	exit 1
fi
SIM_URL="http://127.0.0.1:$(head -1 "$T/sim.port")"

# api_deadline 120: at 1000x, a millisecond of real API latency is a
# simulated second; the default 20 s would be 20 real ms.
cat >"$T/vpcf.conf" <<-C
$(sim_aws "api_deadline = 120" "max_parallel = $MAXPAR" "sts_endpoint = $SIM_URL")
[daemon]
control_socket = $T/ctl.sock
state_dir = $T/state
[metrics]
listen =
[netmon]
zone.a = 198.18.1.0/24
zone.c = 198.18.3.0/24
[group redis]
vrrp_instance = VI_1
destinations = $DEST
route_tables = $(rtb 1) $(rtb 2) $(rtb 3)
[group pg]
vrrp_instance = VI_2
destinations = $DEST2
route_tables = $(rtb 4) $(rtb 5) $(rtb 6)
role_arn = $ROLE
external_id = vpcf-soak
C
out=$(VPCF_FAKE_CLOCK=fast timeout 10 ip netns exec "$NS" "$VPCFD" -f -c "$T/vpcf.conf" 2>&1)
rc=$?
check "a malformed VPCF_FAKE_CLOCK is refused at start, naming the variable (exit $rc)" \
	test "$rc" = 1 -a -n "$(echo "$out" | grep "VPCF_FAKE_CLOCK: 'fast' is not SCALE@EPOCH")"
spawn "$T/daemon.log" env VPCF_FAKE_CLOCK="$FAKE" ip netns exec "$NS" \
	"$VPCFD" -f -c "$T/vpcf.conf"
DPID=$SPAWNED_PID
check "daemon starts" wait_for 10 test -S "$T/ctl.sock"
check "the daemon warns that the fake clock is on" \
	wait_for 5 grep -q "FAKE CLOCK (VPCF_FAKE_CLOCK=$FAKE)" "$T/daemon.log"

# The counters of the daemon and the simulator, one JSON object
# 'clock': simulated seconds when the daemon was read (the middle of the two
# reads, by the fake clock's formula: a reading takes simulated minutes).
snapshot() {
	local a=${EPOCHREALTIME/./} b
	vf status --json >"$T/st.json" 2>/dev/null
	vf metrics --json >"$T/mx.json" 2>/dev/null
	b=${EPOCHREALTIME/./}
	sim_get /_sim/stats >"$T/sim.json" 2>/dev/null
	$PY -c "
import json
def load(f):
    try:
        return json.load(open('$T/' + f))
    except Exception:
        return None
st, mx, sim = load('st.json'), load('mx.json'), load('sim.json')
mx = mx.get('metrics', mx) if mx else None
print(json.dumps({
  'passes': sum(g['passes'] for g in st['groups']) if st else -1,
  'converged': all(g['converged'] for g in st['groups']) if st else False,
  'started': st['daemon']['started'] if st else 0,
  'describes': sim['actions'].get('DescribeRouteTables', 0) if sim else -1,
  'creds': sim['imds'].get('credentials', 0) if sim else -1,
  'assumes': sim['actions'].get('AssumeRole', 0) if sim else -1,
  'expired': sum(sim['errors'].get(c, 0) for c in ('AuthFailure', 'RequestExpired', 'ExpiredToken')) if sim else -1,
  'pg_ok': [g for g in st['groups'] if g['name'] == 'pg'][0]['route_updates']['ok'] if st else -1,
  'pg_master': [g for g in st['groups'] if g['name'] == 'pg'][0]['transitions']['MASTER'] if st else -1,
  'pg_expires': ([g for g in st['groups'] if g['name'] == 'pg'][0]['role'] or {}).get('expires', 0) if st else 0,
  'tokens': sim['imds'].get('token', 0) if sim else -1,
  'collections': mx['netmon']['collections'] if mx else -1,
  'sim_time': sim['time'] if sim else 0,
  'mid_us': ($a + $b) // 2,
  'clock': $EPOCH + (($a + $b) // 2 - $EPOCH * 10**6) * $SCALE // 10**6}))"
}
field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])['$2'])" "$1"; }
converged() { [ "$(field "$(snapshot)" converged)" = True ]; }

vf notify INSTANCE VI_1 MASTER 150 >/dev/null
vf notify INSTANCE VI_2 MASTER 150 >/dev/null
check "both groups converge" wait_for 10 converged

# Hour 0 is now; hour k is k * 3600 / SCALE real seconds later.
base=$(snapshot)
t0=$(field "$base" mid_us)
# Read without forking per fd: a reading should take little real time.
rss_of() {
	local key val _
	while read -r key val _; do [ "$key" = VmRSS: ] && echo "$val" && return; done <"/proc/$DPID/status"
	echo -1
}
# Open fds: the fewest of 5 readings 20 ms apart (a request in flight holds
# a connection for a moment; a leaked fd is there in every reading), as
# "TOTAL CONNS": CONNS are the TCP connections among them (curl's pool to
# the simulator), which is as large as the most concurrent calls lately.
# What they are: $T/fds.K.
fds_of() {
	local i n min='' conns=0
	for ((i = 0; i < 5; i++)); do
		((i > 0)) && sleep 0.02
		# shellcheck disable=SC2012 # fd numbers and link targets, one process
		ls -l "/proc/$DPID/fd/" 2>/dev/null | awk 'NR > 1 {print $(NF - 2), $NF}' >"$T/fds.now"
		n=$(wc -l <"$T/fds.now")
		if [ -z "$min" ] || ((n < min)); then
			min=$n
			mv "$T/fds.now" "$T/fds.$k"
			# the namespace's TCP sockets by inode, then ours among them
			conns=$(awk 'FNR == NR {if (FNR > 1) tcp["socket:[" $10 "]"] = 1; next}
				($2 in tcp) {n++} END {print n + 0}' \
				"/proc/$DPID/net/tcp" "$T/fds.$k")
		fi
	done
	echo "$min $conns"
}
delta() { echo $(($(field "$1" "$2") - $(field "$base" "$2"))); }

mkdir -p "$(dirname "$OUT")"
{
	echo "# vpc-failover soak: $HOURS simulated hours at ${SCALE}x, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# 2 groups x 3 tables, role credentials of ${CRED_TTL} s, re-check ${RECHECK} s, netmon ${NETMON} s, 2 zones"
	echo "# group pg through AssumeRole ($ROLE), role keys of ${STS_TTL} s, a failover of pg every hour"
	printf '%5s %8s %8s %4s %5s %8s %9s %6s %6s %7s %11s\n' hour sim_s rss_kib fds conns rechecks describes creds tokens assumes collections
} >"$T/table.txt"
rss1=0 fds1=0 alive=1
for ((k = 1; k <= HOURS; k++)); do
	wait_us=$((t0 + k * 3600 * 1000000 / SCALE - ${EPOCHREALTIME/./}))
	((wait_us > 0)) && sleep "$((wait_us / 1000000)).$(printf '%06d' $((wait_us % 1000000)))"
	if ! kill -0 "$DPID" 2>/dev/null; then
		alive=0
		break
	fi
	rss=$(rss_of) s=$(snapshot)
	read -r fds conns < <(fds_of)
	((k == 1)) && rss1=$rss fds1=$fds conns1=$conns
	printf '%5d %8d %8d %4d %5d %8d %9d %6d %6d %7d %11d\n' "$k" "$(delta "$s" clock)" "$rss" "$fds" "$conns" "$(delta "$s" passes)" \
		"$(delta "$s" describes)" "$(delta "$s" creds)" "$(delta "$s" tokens)" \
		"$(delta "$s" assumes)" "$(delta "$s" collections)" >>"$T/table.txt"
	# pg fails over once more on the role keys of the moment: another
	# writer takes its tables, keepalived says BACKUP then MASTER.
	vf notify INSTANCE VI_2 BACKUP 100 >/dev/null
	for i in 4 5 6; do
		nsx curl -sS --max-time 5 -X POST -o /dev/null \
			--data "{\"table\":\"$(rtb $i)\",\"dest\":\"$DEST2\",\"eni\":\"$ENI_A\"}" "$SIM_URL/_sim/route"
	done
	vf notify INSTANCE VI_2 MASTER 150 >/dev/null
	failovers=$k
done
sed 's/^/# /' "$T/table.txt"
expect_eq "the daemon lived through the soak" "$alive" 1
((alive)) || exit 1

# The simulator's clock against the daemon's start: both fake, both theirs.
covered=$(($(field "$s" sim_time) - $(field "$s" started)))
check "covered >= $HOURS simulated hours (the daemon's start to the simulator's now: ${covered} s)" \
	test "$covered" -ge $((HOURS * 3600))
# 80% of what the simulated time between the first and the last reading
# implies
span=$(delta "$s" clock)
echo "# counted over $span simulated seconds"
want=$((2 * span * 8 / (RECHECK * 10)))
check "re-checks kept pace: $(delta "$s" passes) >= $want (2 groups every ${RECHECK} s, 80%)" \
	test "$(delta "$s" passes)" -ge $want
check "every re-check read the tables: $(delta "$s" describes) DescribeRouteTables >= $want" \
	test "$(delta "$s" describes)" -ge $want
want=$((span * 8 / (REFRESH * 10)))
((want > 0)) || want=1
check "credentials refreshed: $(delta "$s" creds) fetches >= $want (every ${REFRESH} s, 80%)" \
	test "$(delta "$s" creds)" -ge $want
# AssumeRole: the one at start is before the base reading; then one every
# ASSUME s (each takes a moment of simulated time, so a little less often).
got=$(delta "$s" assumes)
want=$((span * 8 / (ASSUME * 10)))
((want > 0)) || want=1
check "role keys refreshed ahead of expiry: $got AssumeRole >= $want (every ${ASSUME} s of ${STS_TTL} s keys, 80%)" \
	test "$got" -ge $want
check "and no more than that implies: $got AssumeRole <= $((span / ASSUME + 2))" \
	test "$got" -le $((span / ASSUME + 2))
check "the role's keys held at the end are not expired ($(field "$s" pg_expires) > $(field "$s" sim_time))" \
	test "$(field "$s" pg_expires)" -gt "$(field "$s" sim_time)"
# Each hourly failover of pg rewrote its 3 tables under the role (the last
# one is waited for below).
wait_for 10 converged
s=$(snapshot)
check "every hourly failover of pg converged on the role's keys: $(delta "$s" pg_master) MASTER, $(delta "$s" pg_ok) route updates >= $((3 * failovers))" \
	test "$(delta "$s" pg_master)" -ge "$failovers" -a "$(delta "$s" pg_ok)" -ge $((3 * failovers))
expect_eq "EC2 never refused expired keys (AuthFailure, RequestExpired, ExpiredToken at the simulator)" \
	"$(field "$s" expired)" 0
want=$((span * 8 / (NETMON * 10)))
check "netmon kept pace: $(delta "$s" collections) collections >= $want (every ${NETMON} s, 80%)" \
	test "$(delta "$s" collections)" -ge $want

ok_routes=1
for i in 1 2 3; do [ "$(dest_of "$(rtb $i)" "$DEST")" = "$ENI_C" ] || ok_routes=0; done
for i in 4 5 6; do [ "$(dest_of "$(rtb $i)" "$DEST2")" = "$ENI_C" ] || ok_routes=0; done
expect_eq "routes still at this node in all 6 tables" "$ok_routes" 1
check "still converged, no failed route updates" converged
check "no credential errors reached EC2" \
	bash -c "! grep -Eq 'AuthFailure|ExpiredToken|RequestExpired|deadline passed' '$T/daemon.log'"
# Pooled connections come and go with the calls' concurrency (curl keeps an
# idle one 118 real seconds, longer than the whole soak at 1000x): every
# other fd must be the same, and the pool within its bound.
expect_eq "open fds other than connections at the end = after hour 1 ($fds - $conns, $fds1 - $conns1)" \
	$((fds - conns)) $((fds1 - conns1))
[ $((fds - conns)) = $((fds1 - conns1)) ] || diff "$T/fds.1" "$T/fds.$((k - 1))" | sed 's/^/# /'
check "connections to the simulator within curl's pool bound: $conns <= $MAXPAR ([aws] max_parallel)" \
	test "$conns" -le $MAXPAR
if [ -n "${VPCF_SAN_DIR:-}" ]; then # tests/check.sh: ASan's quarantine, valgrind's shadow
	ok "RSS growth from hour 1 to the end: $((rss - rss1)) KiB # SKIP instrumented run (VPCF_SAN_DIR)"
else
	check "RSS growth from hour 1 to the end: $((rss - rss1)) KiB < $RSS_BOUND KiB" \
		test $((rss - rss1)) -lt "$RSS_BOUND"
fi

kill "$DPID"
wait "$DPID"
expect_eq "daemon exits 0" "$?" 0

{
	cat "$T/table.txt"
	echo "# covered ${covered} simulated seconds; RSS growth hour 1 -> end $((rss - rss1)) KiB; fds $fds1 -> $fds ($conns1 -> $conns connections)"
	cat "$T/tap.txt"
} >"$OUT"
echo "# results: $OUT"
! grep -q '^not ok' "$T/tap.txt"
