# tests/lib.sh — shared helpers for the integration scripts (bash).
#
# Every script: `. "$(dirname "$0")/../lib.sh"`, then uses
#   ok NAME / not_ok NAME [why]   TAP result lines
#   check NAME CMD...             ok if CMD exits 0
#   ns_new SHORT                  create a network namespace with a unique
#                                 name (printed), removed on exit
#   spawn LOGFILE CMD...          start a background process, killed on exit;
#                                 its PID is in $SPAWNED_PID
#   wait_for SECONDS CMD...       poll CMD every 50 ms until it succeeds
#   sim_start STATEFILE [ARGS]    start the simulated VPC on 127.0.0.1,
#                                 sets SIM_URL, SIM_PID
#   sim_get PATH / sim_post PATH [JSON]   the simulator's /_sim/ control API
#   sim_vpc FILE N [EMPTY] [CREDS]  write the loopback tests' simulated VPC
#   rtb I                         the id of route table I of sim_vpc
#   tmp                           a per-script temp dir ($T), removed on exit
# Everything a script started is stopped by PID, and its namespaces deleted,
# on exit, interrupt or failure.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# VPCF_BUILD: another build directory (make check-asan); VPCF_CLI and
# VPCF_DAEMON: what to run as the CLI and the daemon (tests/check.sh points
# them at valgrind wrappers); VPCF_TIMEOUT_MULT stretches wait_for and the
# shutdown grace period for slow runs (valgrind).
B=$(cd "${VPCF_BUILD:-$TOP/build}" && pwd)
VPCF=${VPCF_CLI:-$B/vpc-failover}
VPCFD=${VPCF_DAEMON:-$B/vpc-failoverd}
VPCF_EXE=$B/vpc-failover # the binary itself (/proc/self/exe), even when wrapped
TMULT=${VPCF_TIMEOUT_MULT:-1}
VPCSIM=$B/vpcsim
AWS=/usr/bin/aws # Debian's awscli, not whatever else is first on PATH
T=$(mktemp -d /tmp/vpcf-test.XXXXXX)
TESTID=$(printf '%x' $(($$ % 65536)))$(printf '%x' $((RANDOM % 256)))
tapn=0
_pids=()

ok() {
	tapn=$((tapn + 1))
	echo "ok $tapn - $1"
}
not_ok() {
	tapn=$((tapn + 1))
	echo "not ok $tapn - $1${2:+: $2}"
}
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "command failed: $*"; fi
}
# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi
}

ns_new() {
	local name="vpcf-$TESTID-$1"
	ip netns add "$name" || return 1
	# Recorded in a file: ns_new usually runs inside $(...), a subshell.
	echo "$name" >>"$T/.netns"
	ip -n "$name" link set lo up
	echo "$name"
}

spawn() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	SPAWNED_PID=$!
	_pids+=("$SPAWNED_PID")
}

wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20 * TMULT; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

sim_start() {
	local state=$1
	shift
	rm -f "$T/sim.port"
	spawn "$T/sim.log" "$VPCSIM" --state "$state" --listen 127.0.0.1:0 \
		--port-file "$T/sim.port" "$@"
	SIM_PID=$SPAWNED_PID
	if ! wait_for 10 test -s "$T/sim.port"; then
		echo "# simulator did not start:"
		sed 's/^/# /' "$T/sim.log"
		return 1
	fi
	SIM_URL="http://127.0.0.1:$(head -1 "$T/sim.port")"
}
# The simulated VPC of the loopback tests and benchmarks: node a (AZ a) and
# node c (AZ c, the instance the metadata answers for), one key pair, and N
# route tables whose route to $DEST points at node a, except table EMPTY
# (no route). CREDS: extra credential objects, JSON, comma-first.
ENI_A=eni-0aaaaaaaaaaaaaaa1 ENI_C=eni-0ccccccccccccccc3
I_A=i-0aaaaaaaaaaaaaaa1 I_C=i-0ccccccccccccccc3
AKID=AKIASIMULATED000001
SECRET=simulated/secret/key/0000000000000000001
DEST=10.255.0.10/32
rtb() { printf 'rtb-%017x' "$1"; }
sim_vpc() { # FILE N [EMPTY] [CREDS]
	local i routes tables=""
	for ((i = 1; i <= $2; i++)); do
		routes="[{\"dest\": \"$DEST\", \"eni\": \"$ENI_A\"}]"
		[ "$i" = "${3:-0}" ] && routes="[]"
		tables+="${tables:+,}{\"id\": \"$(rtb "$i")\", \"routes\": $routes}"
	done
	cat >"$1" <<-J
	{"region": "us-east-1",
	 "vpc": {"id": "vpc-0123456789abcdef0", "cidr": "198.18.0.0/16", "owner": "123456789012"},
	 "credentials": [{"access_key_id": "$AKID", "secret_access_key": "$SECRET"}${4:-}],
	 "instances": [
	  {"id": "$I_A", "az": "us-east-1a", "eni": "$ENI_A", "mac": "02:00:00:00:0a:01",
	   "address": "198.18.1.2", "role": "vpcf-node", "source_dest_check": false},
	  {"id": "$I_C", "az": "us-east-1c", "eni": "$ENI_C", "mac": "02:00:00:00:0c:03",
	   "address": "198.18.3.2", "role": "vpcf-node", "source_dest_check": false}],
	 "imds_default_instance": "$I_C",
	 "route_tables": [$tables]}
	J
}

sim_get() { curl -sS --max-time 5 "$SIM_URL$1"; }
sim_post() { curl -sS --max-time 5 -X POST --data "${2:-}" "$SIM_URL$1"; }

# sim_aws [LINE...]: the [aws] section of a config for a daemon or the CLI
# on loopback against the simulator (SIM_URL), with LINEs ("key = value")
# added to it.
sim_aws() {
	printf '[aws]\nregion = us-east-1\nendpoint = %s\nmetadata_endpoint = %s\n' \
		"$SIM_URL" "$SIM_URL"
	if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi
}

# sim_conf NTABLES RECHECK [SECTIONS [GROUP_KEYS]]: $T/vpcf.conf for a daemon
# on loopback against the simulator (SIM_URL): group redis (VI_1, $DEST in
# tables rtb 1..NTABLES), re-check every RECHECK s, no metrics endpoint.
# SECTIONS: more INI sections; GROUP_KEYS: more keys of [group redis];
# SC_DEADLINE / SC_TIMEOUT: api_deadline / request_timeout (10 / 2 s).
sim_conf() {
	local i tables=""
	for ((i = 1; i <= $1; i++)); do tables+=" $(rtb "$i")"; done
	cat >"$T/vpcf.conf" <<-C
	$(sim_aws "api_deadline = ${SC_DEADLINE:-10}" "request_timeout = ${SC_TIMEOUT:-2}")
	[daemon]
	control_socket = $T/ctl.sock
	state_dir = $T/state
	[metrics]
	listen =
	${3:-}
	[group redis]
	vrrp_instance = VI_1
	destinations = $DEST
	route_tables =$tables
	recheck_interval = $2
	split_brain_flips = 3
	split_brain_window = 60
	${4:-}
	C
}

# The loopback simulator's routes to $DEST (sim_vpc's tables rtb 1..N).
route_of() { # TABLE: the ENI its route to $DEST points at, or "none"
	sim_get /_sim/routes | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('$1',{}).get('$DEST','none'))"
}
all_at() { # ENI N: tables 1..N all point at ENI (one read of the routes)
	sim_get /_sim/routes | /usr/bin/python3 -c "
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if all(d.get('rtb-%017x' % i, {}).get('$DEST') == '$1' for i in range(1, $2 + 1)) else 1)"
}
set_all() { # ENI N: another writer (the control API) points tables 1..N at ENI
	local i args=()
	for ((i = 1; i <= $2; i++)); do
		((i > 1)) && args+=(--next)
		args+=(-sS --max-time 5 -X POST -o /dev/null --data
			"{\"table\":\"$(rtb $i)\",\"dest\":\"$DEST\",\"eni\":\"$1\"}" "$SIM_URL/_sim/route")
	done
	curl "${args[@]}"
}
stat_of() { # EXPR: a Python subscript of the simulator's /_sim/stats, e.g. "['writes']"
	sim_get /_sim/stats | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"
}

_cleanup() {
	local p n
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_pids[@]}"; do
		for ((n = 0; n < 40 * TMULT; n++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		# Said in the log: a SIGKILLed process skips its leak check.
		kill -9 "$p" 2>/dev/null && echo "# cleanup: pid $p outlived SIGTERM, killed"
	done
	for n in $(cat "$T/.netns" 2>/dev/null); do
		# processes left in the namespace (keepalived children) die with it
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM
