#!/bin/bash
# Who may do what on the control socket (loopback, simulated VPC): the
# socket is 0660 root:control_group; members (here: nobody, group nogroup)
# may read (status, metrics), only root may change routing (notify,
# failover, takeover), checked with the kernel's SO_PEERCRED; users outside
# the group cannot connect at all. Refusals leave routes and files as they
# were. takeover --force asks on a terminal unless --yes, and the daemon's
# log names who forced it.
. "$(dirname "$0")/../lib.sh"

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
# nobody must reach the socket: $T is root's 0700 temp dir, made traversable
chmod 0711 "$T"
mkdir -m 0755 "$T/run"
sim_vpc "$T/state.json" 2
sim_start "$T/state.json" || exit 1
cat >"$T/vpcf.conf" <<-C
$(sim_aws "api_deadline = 10" "request_timeout = 2")
[daemon]
control_socket = $T/run/ctl.sock
state_dir = $T/state
control_group = nogroup
[metrics]
listen =
[group redis]
vrrp_instance = VI_1
destinations = $DEST
route_tables = $(rtb 1) $(rtb 2)
network_interface = $ENI_C
recheck_interval = 0
track_file = $T/run/redis.demote
C
chmod 0644 "$T/vpcf.conf"

vf() { "$VPCF" -c "$T/vpcf.conf" "$@"; }
# as USER CMD...: run as USER (its own group only, no supplementary groups)
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups "$@"
}

spawn "$T/daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
DPID=$SPAWNED_PID
check "daemon starts" wait_for 5 test -S "$T/run/ctl.sock"
expect_eq "socket is 0660 root:nogroup" "$(stat -c '%a %U:%G' "$T/run/ctl.sock")" "660 root:nogroup"
check "root: notify MASTER" vf notify INSTANCE VI_1 MASTER 150
check "routes converge to this node" wait_for 10 bash -c "[ \"\$(curl -sS '$SIM_URL/_sim/routes')\" != '' ] && \
	curl -sS '$SIM_URL/_sim/routes' | grep -q $ENI_C"
check "every table at this node" wait_for 10 bash -c \
	"[ \"\$(curl -sS '$SIM_URL/_sim/routes' | grep -o $ENI_C | wc -l)\" = 2 ]"

# -- a member of control_group reads --------------------------------------------
out=$(as nobody "$VPCF" -c "$T/vpcf.conf" status 2>&1)
expect_eq "nobody (in nogroup): status exits 0" "$?" 0
check "nobody: status shows the group" grep -q "redis" <<<"$out"
as nobody "$VPCF" -c "$T/vpcf.conf" metrics --json >/dev/null
expect_eq "nobody: metrics --json exits 0" "$?" 0

# -- ... but changes nothing ------------------------------------------------------
w0=$(stat_of "['writes']")
out=$(as nobody "$VPCF" -c "$T/vpcf.conf" notify INSTANCE VI_1 BACKUP 100 2>&1)
rc=$?
check "nobody: notify refused (exit $rc)" test "$rc" -ne 0
check "nobody: notify refusal says root only and who asked" \
	grep -q "permission denied: 'notify' changes routing and is for root only (you are nobody (uid 65534" <<<"$out"
out=$(as nobody "$VPCF" -c "$T/vpcf.conf" failover 2>&1)
expect_eq "nobody: failover exit 3" "$?" 3
check "nobody: failover refusal names the command" grep -q "permission denied: 'failover'" <<<"$out"
test -e "$T/run/redis.demote"
expect_eq "nobody: no track_file written" "$?" 1
out=$(as nobody "$VPCF" -c "$T/vpcf.conf" takeover --force --yes 2>&1)
expect_eq "nobody: takeover exit 3" "$?" 3
check "nobody: takeover refusal names the command" grep -q "permission denied: 'takeover'" <<<"$out"
check "nobody: takeover says nothing changed" grep -q "nothing changed" <<<"$out"
check "the daemon logs each refusal with the uid" \
	grep -q "refused 'takeover' from nobody (uid 65534" "$T/daemon.log"
expect_eq "refusals: status still MASTER" \
	"$(vf status --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["groups"][0]["state"])')" MASTER
expect_eq "refusals: no route writes" "$(stat_of "['writes']")" "$w0"

# -- a user outside control_group cannot connect -------------------------------------
out=$(as daemon "$VPCF" -c "$T/vpcf.conf" status 2>&1)
expect_eq "daemon user (not in nogroup): status exit 3" "$?" 3
check "daemon user: says permission denied on the socket" grep -q "Permission denied" <<<"$out"

# -- a forged request with another uid in it changes nothing: the kernel's word counts
out=$(as nobody /usr/bin/python3 - "$T/run/ctl.sock" <<-'P'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(json.dumps({"cmd": "failover", "uid": 0, "user": "root"}).encode() + b"\n")
print(s.makefile().readline().strip())
P
)
check "forged uid in the request: still refused" grep -q '"reason": *"permission"' <<<"$out"

# -- takeover: asked on a terminal, logged with who ran it ----------------------------
set_to() { sim_post /_sim/route "{\"table\":\"$(rtb "$1")\",\"dest\":\"$DEST\",\"eni\":\"$2\"}" >/dev/null; }
# Once settled: a MASTER's settle checks would take these writes back.
settled() { vf status --json | /usr/bin/python3 -c "import json,sys; sys.exit(json.load(sys.stdin)['groups'][0]['phase'] != 'converged')"; }
check "the MASTER settled" wait_for 8 settled
set_to 1 "$ENI_A"
set_to 2 "$ENI_A"
w0=$(stat_of "['writes']")
# script(1) gives the command a terminal; "no" declines
out=$(echo no | script -qec "$VPCF -c $T/vpcf.conf takeover --force" /dev/null 2>&1)
check "takeover on a terminal asks" grep -q "Type yes to go on" <<<"$out"
check "takeover on a terminal: 'no' changes nothing" grep -q "not confirmed; nothing changed" <<<"$out"
expect_eq "takeover declined: no route writes" "$(stat_of "['writes']")" "$w0"
expect_eq "takeover declined: table 1 still at node a" "$(route_of "$(rtb 1)")" "$ENI_A"
out=$(echo yes | script -qec "$VPCF -c $T/vpcf.conf takeover --force" /dev/null 2>&1)
check "takeover on a terminal: 'yes' goes on" grep -q "converged" <<<"$out"
expect_eq "takeover confirmed: table 1 at this node" "$(route_of "$(rtb 1)")" "$ENI_C"
set_to 1 "$ENI_A"
out=$(vf takeover --force --yes redis </dev/null 2>&1)
expect_eq "takeover --yes: exit 0" "$?" 0
check "takeover --yes does not ask" bash -c "! grep -q 'Type yes' <<<\"\$1\"" _ "$out"
expect_eq "takeover --yes: table 1 at this node" "$(route_of "$(rtb 1)")" "$ENI_C"
check "the daemon logs who forced the takeover" \
	grep -q "takeover --force of redis by root (uid 0, pid [0-9]*): routes are pointed at this node" "$T/daemon.log"
out=$(vf takeover --dry-run </dev/null 2>&1)
expect_eq "takeover --dry-run: exit 0, no confirmation needed" "$?" 0

# -- daemon down: takeover goes ahead, the record goes to syslog ----------------------
kill "$DPID"
wait "$DPID" 2>/dev/null
set_to 1 "$ENI_A"
out=$(vf takeover --force --yes </dev/null 2>&1)
expect_eq "daemon down: takeover still works" "$?" 0
check "daemon down: takeover says the daemon is not running" grep -q "vpc-failoverd is not running" <<<"$out"
expect_eq "daemon down: table 1 at this node" "$(route_of "$(rtb 1)")" "$ENI_C"

# -- config: control_group must exist -------------------------------------------------
sed 's/^control_group = nogroup/control_group = no-such-group-vpcf/' "$T/vpcf.conf" >"$T/bad.conf"
out=$("$VPCFD" --check -c "$T/bad.conf" 2>&1)
expect_eq "unknown control_group: --check exit 1" "$?" 1
check "unknown control_group: file:line and the name" \
	grep -q "bad.conf:10: control_group: no group 'no-such-group-vpcf'" <<<"$out"
