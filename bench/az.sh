#!/bin/bash
# An availability zone goes down: every pair whose MASTER was there fails
# over in the same instant, against EC2's account-wide token buckets
# (vpcsim --rate-limit: mutating 50, refill 5/s; DescribeRouteTables 100,
# 20/s; DescribeNetworkInterfaces 50, 10/s).
#
# N pairs, T route tables each: table (i, j) routes $DEST to pair i's node in
# zone a. Zone a is the failed zone: its nodes make no calls once it is down,
# so they are not run. Each survivor (zone c) is its own vpc-failoverd, one
# group, its own FIFO, one process per node as in the field: the client-side
# rate limiting and retries are per process, so N groups in one daemon would
# share what N nodes cannot. All survivors are BACKUP and have looked at
# their tables (the start-up read that learns the peer's ENI); the buckets
# are then refilled, the counters zeroed, and every survivor gets
# `INSTANCE "VI_1" MASTER` on its FIFO in one loop (keepalived's FIFO lines,
# a few ms for all).
#
# Measured, from the simulator's change log (the instant each table's route
# was written to point at its survivor) against the instant before the
# first FIFO line: per pair (its last table) p50/p99/max, the whole account
# (the last table of all); EC2 calls by action and answer; throttled calls;
# mutating tokens taken beyond the writes needed (wasted); the physical
# bound (writes needed - burst) / refill, and the ratio to it.
#
#   bench/az.sh [N [T]]        (default 50 pairs, 4 tables)
#   AZ_BUILD=DIR               run the daemon of another build (the
#                              simulator is always this tree's)
#   AZ_TIMEOUT=300             give up waiting after this many seconds
#   AZ_LABEL=text              the row's label
#   AZ_CONF="key = value;..."  extra [aws] lines for the daemons
#   AZ_BUCKET=mutating=10/1    another mutating bucket (vpcsim --bucket): the
#                              shape of 50 x 4 at a fifth of the pairs
#   AZ_HOOK=awscli             the anchor instead of the daemons: each
#                              survivor's notify hook is the shell loop of
#                              `aws ec2 replace-route` per table (as
#                              Pacemaker's aws-vpc-move-ip; bench/takeover.sh
#                              times it for one pair), Debian's awscli with
#                              its default retries; all N hooks start in one
#                              loop, as keepalived runs them. The N Python
#                              processes share this machine's cores, where
#                              in the field each node has its own: at
#                              N = 50 the cores, not the bucket, set the pace
#                              (AZ_BUCKET=mutating=10/1 with N = 10 keeps the
#                              shape at a fifth of the processes).
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/lib.sh"

N=${1:-50}
NT=${2:-4}
TIMEOUT=${AZ_TIMEOUT:-300}
SIMBIN=$TOP/build/vpcsim
DAEMON=${AZ_BUILD:+$AZ_BUILD/vpc-failoverd}
DAEMON=${DAEMON:-$VPCFD}
LABEL=${AZ_LABEL:-$(basename "$(dirname "$DAEMON")")}
HOOK=${AZ_HOOK:-daemon}
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
case $HOOK in
daemon) ;;
awscli)
	LABEL=${AZ_LABEL:-awscli loop}
	[ -x "$AWS" ] || { echo "bench/az.sh: AZ_HOOK=awscli needs $AWS (Debian's awscli)" >&2; exit 2; }
	export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	;;
*)
	echo "bench/az.sh: AZ_HOOK is daemon or awscli, not '$HOOK'" >&2
	exit 2
	;;
esac

if ((N < 1 || N > 50 || NT < 1 || NT > 20)); then
	echo "bench/az.sh: N in 1..50, T in 1..20" >&2
	exit 2
fi
eni_of() { printf 'eni-%s%016x' "$1" "$2"; } # ZONE I (17 hex digits)
inst_of() { printf 'i-%s%016x' "$1" "$2"; }
tbl_of() { printf 'rtb-%017x' $((($1 - 1) * NT + $2)); } # PAIR TABLE

# The account: 2N instances, N*T tables.
{
	printf '{"region": "us-east-1",\n "vpc": {"id": "vpc-0123456789abcdef0", "cidr": "198.18.0.0/16", "owner": "123456789012"},\n'
	printf ' "credentials": [{"access_key_id": "%s", "secret_access_key": "%s"}],\n "instances": [' "$AKID" "$SECRET"
	for ((i = 1; i <= N; i++)); do
		for z in a c; do
			{ ((i > 1)) || [ $z = c ]; } && printf ","
			printf '\n  {"id": "%s", "az": "us-east-1%s", "eni": "%s", "mac": "02:00:00:%02x:%02x:%s", "address": "198.18.%d.%d", "source_dest_check": false}' \
				"$(inst_of $z $i)" $z "$(eni_of $z $i)" $((i / 256)) $((i % 256)) \
				"$([ $z = a ] && echo 0a || echo 0c)" "$([ $z = a ] && echo 1 || echo 3)" "$i"
		done
	done
	printf '],\n "imds_default_instance": "%s",\n "route_tables": [' "$(inst_of c 1)"
	for ((i = 1; i <= N; i++)); do
		for ((j = 1; j <= NT; j++)); do
			((i > 1 || j > 1)) && printf ','
			printf '\n  {"id": "%s", "routes": [{"dest": "%s", "eni": "%s"}]}' \
				"$(tbl_of $i $j)" "$DEST" "$(eni_of a $i)"
		done
	done
	printf ']}\n'
} >"$T/state.json"

VPCSIM=$SIMBIN
bucket=()
[ -n "${AZ_BUCKET:-}" ] && bucket=(--bucket "$AZ_BUCKET")
sim_start "$T/state.json" --rate-limit "${bucket[@]}" --log "$T/sim.log" || exit 1

# The anchor: one shell hook per survivor, a replace-route per table; a
# table whose call fails (after awscli's own retries) is left, as the
# script leaves it, and logged "not converged" (the failed passes column).
awscli_hook() { # I
	local j t
	for ((j = 1; j <= NT; j++)); do
		t=$(tbl_of "$1" $j)
		"$AWS" ec2 replace-route --region us-east-1 --endpoint-url "$SIM_URL" \
			--route-table-id "$t" --destination-cidr-block "$DEST" \
			--network-interface-id "$(eni_of c "$1")" >/dev/null 2>"$T/n$1/aws.err" ||
			echo "$t: not converged: $(tail -1 "$T/n$1/aws.err")"
	done
}
if [ "$HOOK" = daemon ]; then
	for ((i = 1; i <= N; i++)); do
		ids=""
		for ((j = 1; j <= NT; j++)); do ids+=" $(tbl_of $i $j)"; done
		mkdir -p "$T/n$i"
		{
			sim_aws
			[ -n "${AZ_CONF:-}" ] && echo "$AZ_CONF" | tr ';' '\n' | sed 's/^ *//'
			cat <<-C
			[daemon]
			control_socket = $T/n$i/ctl.sock
			state_dir = $T/n$i/state
			[keepalived]
			notify_fifo = $T/n$i/fifo
			pid_file = $T/no-keepalived.pid
			[netmon]
			enabled = no
			[metrics]
			listen =
			[group pair$i]
			vrrp_instance = VI_1
			destinations = $DEST
			route_tables =$ids
			network_interface = $(eni_of c $i)
			C
		} >"$T/n$i/vpcf.conf"
		spawn "$T/n$i/daemon.log" "$DAEMON" -f -c "$T/n$i/vpcf.conf"
	done
	peer_known() { # I: the survivor has read its tables (knows the peer's ENI)
		"$VPCF" -c "$T/n$1/vpcf.conf" status --json 2>/dev/null |
			/usr/bin/python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['groups'][0].get('peer_eni') else 1)"
	}
	for ((i = 1; i <= N; i++)); do
		wait_for 30 test -p "$T/n$i/fifo" || { echo "# daemon $i did not start" >&2; exit 1; }
		echo 'INSTANCE "VI_1" BACKUP 100' >"$T/n$i/fifo"
	done
	for ((i = 1; i <= N; i++)); do
		# An old daemon's status may lack peer_eni: then a fixed wait for its look.
		wait_for 30 peer_known "$i" || sleep 0.2
	done
	sleep 2.5 # past the daemons' coalescing gap after their BACKUP
else
	for ((i = 1; i <= N; i++)); do mkdir -p "$T/n$i"; done
fi
sim_post /_sim/ratelimit "$(sim_get /_sim/ratelimit | /usr/bin/python3 -c '
import json, sys
b = json.load(sys.stdin)["buckets"]
print(json.dumps({"buckets": {k: {"level": v["burst"]} for k, v in b.items()}}))')" >/dev/null
sim_post /_sim/stats/reset >/dev/null
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# The zone goes down.
hooks=()
t0=$(ms_now)
for ((i = 1; i <= N; i++)); do
	if [ "$HOOK" = daemon ]; then
		echo 'INSTANCE "VI_1" MASTER 150' >"$T/n$i/fifo"
	else
		spawn "$T/n$i/daemon.log" awscli_hook "$i"
		hooks+=("$SPAWNED_PID")
	fi
done
t1=$(ms_now)

all_done() {
	sim_get /_sim/routes | /usr/bin/python3 -c "
import json, sys
d = json.load(sys.stdin)
n, nt = $N, $NT
sys.exit(0 if all(d['rtb-%017x' % ((i - 1) * nt + j)]['$DEST'] == 'eni-c%016x' % i
                  for i in range(1, n + 1) for j in range(1, nt + 1)) else 1)"
}
hooks_running() {
	local p
	for p in "${hooks[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}
converged=yes
if [ "$HOOK" = daemon ]; then
	wait_for "$TIMEOUT" all_done || converged=no
else
	# The hooks are done when they exit: no one retries what they left.
	# (bounded: TIMEOUT seconds)
	for ((k = 0; k < TIMEOUT * 10 && ${#hooks[@]} > 0; k++)); do
		hooks_running || break
		sleep 0.1
	done
	all_done || converged=no
fi
sleep 3 # the settle checks and any straggling calls
sim_get /_sim/stats >"$T/stats.json"
sim_get /_sim/ratelimit >"$T/rl.json"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$HOOK" = daemon ]; then
	for ((i = 1; i <= N; i++)); do
		"$VPCF" -c "$T/n$i/vpcf.conf" status --json >"$T/n$i/status.json" 2>/dev/null
	done
fi
cat "$T"/n*/daemon.log >"$T/daemons.log"

/usr/bin/python3 - "$T" "$N" "$NT" "$t0" "$t1" "$converged" "$LABEL" "$load0" "$load1" <<'PY'
import datetime, json, re, sys
T, n, nt, t0, t1, converged, label, load0, load1 = sys.argv[1:]
n, nt, t0, t1 = int(n), int(nt), int(t0), int(t1)
line = re.compile(r'^(\S+Z) (ReplaceRoute|CreateRoute) (rtb-[0-9a-f]+) \S+ \S+ -> (eni-[0-9a-f]+) by')
first = {}
for l in open(T + '/sim.log'):
    m = line.match(l)
    if not m:
        continue
    ts = datetime.datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S.%fZ').replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000
    tbl, eni = int(m.group(3)[4:], 16), m.group(4)
    pair = (tbl - 1) // nt + 1
    if ts >= t0 and eni == 'eni-c%016x' % pair and tbl not in first:
        first[tbl] = ts - t0
pairs = []
for i in range(1, n + 1):
    ts = [first.get((i - 1) * nt + j) for j in range(1, nt + 1)]
    pairs.append(None if None in ts else max(ts))
done = sorted(p for p in pairs if p is not None)
def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float('nan')
st = json.load(open(T + '/stats.json'))
rl = json.load(open(T + '/rl.json'))['buckets']
need = n * nt
mut = rl['mutating']
bound = max(0.0, (need - mut['burst']) / mut['refill'])
total = max(done) if len(done) == n else float('nan')
acts = st['actions']
thr = st['errors'].get('RequestLimitExceeded', 0)
gave_up = sum(len(re.findall(r'not converged|giving up', open(T + '/n%d/daemon.log' % i).read()))
              for i in range(1, n + 1))
rate_waits = sum(len(re.findall(r'rate limit', open(T + '/n%d/daemon.log' % i).read()))
                 for i in range(1, n + 1))
r = {
    'label': label, 'pairs': n, 'tables': nt, 'writes_needed': need,
    'converged': converged, 'pairs_done': len(done),
    'pair_p50_s': pct(done, 50) / 1000, 'pair_p99_s': pct(done, 99) / 1000,
    'pair_max_s': (max(done) / 1000) if done else float('nan'),
    'account_s': total / 1000, 'bound_s': bound,
    'ratio': (total / 1000 / bound) if bound else float('nan'),
    'calls': acts, 'throttled': thr,
    'throttled_per_write': thr / need,
    'mutating_taken': mut['taken'], 'wasted': mut['taken'] - need,
    'describe_taken': rl['non-mutating']['taken'],
    'errors': st['errors'], 'fifo_spread_ms': t1 - t0,
    'failed_passes_logged': gave_up, 'load_before': load0, 'load_after': load1,
}
json.dump(r, open(T + '/result.json', 'w'), indent=1)
if not __import__('os').environ.get('AZ_NOHEAD'):
    print('| build | pairs x tables | pair p50 (s) | pair p99 (s) | pair max (s) | account (s) | bound (s) | account / bound | EC2 calls | throttled | mutating tokens wasted | describes | failed passes |')
    print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
print('| %s | %d x %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.2fx | %d | %d (%.2f/write) | %d | %d | %d |' % (
    label, n, nt, r['pair_p50_s'], r['pair_p99_s'], r['pair_max_s'], r['account_s'], bound,
    r['ratio'], sum(acts.values()), thr, r['throttled_per_write'], r['wasted'],
    r['describe_taken'], gave_up))
print('# calls by action: %s; answers other than OK: %s' % (
    ', '.join('%s %d' % kv for kv in sorted(acts.items())),
    ', '.join('%s %d' % kv for kv in sorted(st['errors'].items())) or 'none'))
print('# %d of %d pairs converged (%s); FIFO lines sent within %d ms; load %s before, %s after' % (
    len(done), n, 'all tables' if converged == 'yes' else 'TIMED OUT', t1 - t0, load0, load1))
PY
if [ -n "${AZ_KEEP:-}" ]; then
	rm -rf "$AZ_KEEP" && cp -r "$T" "$AZ_KEEP" && echo "# kept in $AZ_KEEP"
fi
