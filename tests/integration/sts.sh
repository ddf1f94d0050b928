#!/bin/bash
# Route tables owned by another account, reached through STS AssumeRole
# against the simulated VPC: the tables belong to the network account
# 111111111111, the key and the instances to the workload account
# 222222222222. A takeover succeeds only through [aws] role_arn; a wrong
# external id, a role that does not trust us and an unreachable STS end as
# documented; the daemon meets expired assumed credentials during a
# failover, assumes the role once more and carries on; doctor assumes the
# role and probes the writes under it; no secret of the role appears in any
# output, log, status or state file.
. "$(dirname "$0")/../lib.sh"

NET=111111111111 WORK=222222222222
ROLE=arn:aws:iam::$NET:role/vpcf-routes
NOTRUST=arn:aws:iam::$NET:role/vpcf-elsewhere
OTHER=444444444444 ROLE_B=arn:aws:iam::444444444444:role/vpcf-routes-b
DEST2=10.255.0.20/32
EXT=vpcf-ext-0001

# The simulated VPC of lib.sh, then accounts: tables the network account's,
# the key and the instances the workload's, and the roles.
sim_vpc "$T/state.json" 4
/usr/bin/python3 - "$T/state.json" <<PY
import json, sys
p = sys.argv[1]
d = json.load(open(p))
for c in d["credentials"]: c["account"] = "$WORK"
for i in d["instances"]: i["account"] = "$WORK"
for t in d["route_tables"]: t["owner"] = "$NET"
d["route_tables"][3]["owner"] = "$OTHER"
d["roles"] = [
    {"arn": "$ROLE", "trust": ["$AKID", "arn:aws:iam::$WORK:role/vpcf-node"],
     "external_id": "$EXT"},
    {"arn": "$NOTRUST", "trust": ["333333333333"]},
    {"arn": "$ROLE_B", "trust": ["$WORK"], "external_id": "vpcf-ext-b"}]
json.dump(d, open(p, "w"), indent=1)
PY
sim_start "$T/state.json" --secrets-log "$T/secrets" || exit 1

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE

# conf [AWS LINES...]: $T/vpcf.conf, group redis over rtb 1..3
conf() {
	SC_DEADLINE=${SC_DEADLINE:-6} sim_conf 3 0
	/usr/bin/python3 - "$T/vpcf.conf" "$@" <<'PY'
import sys
p, extra = sys.argv[1], sys.argv[2:]
text = open(p).read().replace("[aws]\n", "[aws]\n" + "".join(l + "\n" for l in extra), 1)
open(p, "w").write(text)
PY
}
role() { conf "role_arn = ${1:-$ROLE}" "external_id = ${2:-$EXT}" "sts_endpoint = ${3:-$SIM_URL}" "${@:4}"; }
vf() { "$VPCF" -c "$T/vpcf.conf" "$@"; }
run() { # NAME ARGS...: the CLI's output in $T/NAME.out, its exit status in rc
	local n=$1
	shift
	vf "$@" >"$T/$n.out" 2>&1
	rc=$?
}

# == configuration: bad values are named =====================================
bad() { # NAME WANT AWS-LINES...: --check fails and says WANT
	local name=$1 want=$2
	shift 2
	conf "$@"
	got=$("$VPCFD" --check -c "$T/vpcf.conf" 2>&1)
	if [ $? -ne 0 ] && grep -qF -- "$want" <<<"$got"; then ok "$name"; else not_ok "$name" "$got"; fi
}
bad "role_arn that is no role ARN" "role_arn: 'arn:aws:iam::1111:user/x' is not an IAM role ARN" \
	"role_arn = arn:aws:iam::1111:user/x"
bad "external_id with a space" "external_id: 2 to 1224 of" "role_arn = $ROLE" "external_id = a b"
bad "role_session_name too long" "role_session_name: '$(printf 'x%.0s' {1..65})' is not 2 to 64" \
	"role_arn = $ROLE" "role_session_name = $(printf 'x%.0s' {1..65})"
bad "duration below STS's 900 s" "duration" "role_arn = $ROLE" "duration = 100"
bad "external_id without role_arn" "[aws] external_id is set but role_arn is not" "external_id = $EXT"
conf "role_arn = arn:aws-us-gov:iam::$NET:role/path/to/vpcf-routes" "external_id = $EXT" \
	"role_session_name = db-a" "duration = 43200" "sts_endpoint = $SIM_URL"
expect_eq "a full role setup checks OK" "$("$VPCFD" --check -c "$T/vpcf.conf" 2>&1)" "configuration OK"

# == the key's own account may not write the network account's tables ======
conf
run plain takeover --force
check "without role_arn takeover fails" test "$rc" -ne 0
check "and says EC2 refused the write" grep -q UnauthorizedOperation "$T/plain.out"
expect_eq "no table moved" "$(route_of "$(rtb 1)")" "$ENI_A"

# == through the role ======================================================
role
run role takeover --force
expect_eq "with role_arn takeover exits 0" "$rc" 0
check "every table points at this node" all_at "$ENI_C" 3
check "the writes were the role's (sim log)" \
	grep -Eq "ReplaceRoute $(rtb 1) $DEST $ENI_A -> $ENI_C by ASIA" "$T/sim.log"
check "the session is named after the instance" \
	grep -q "sts issued ASIA[A-Z0-9]* to $AKID ($ROLE session vpc-failover-$I_C)" "$T/sim.log"

# == a group whose tables are in a third account: a role of its own =========
# group redis (rtb 1..3) through [aws] role_arn, group other (rtb 4, owned
# by 444444444444) through its own role_arn and external_id.
role
cat >>"$T/vpcf.conf" <<C
[group other]
vrrp_instance = VI_2
destinations = $DEST2
route_tables = $(rtb 4)
role_arn = $ROLE_B
external_id = vpcf-ext-b
C
run two takeover --force --all
expect_eq "two groups in two accounts: takeover exits 0" "$rc" 0
expect_eq "group other's table moved through its own role" \
	"$(sim_get /_sim/routes | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$(rtb 4)'].get('$DEST2','none'))")" \
	"$ENI_C"
check "group redis's tables moved through [aws]'s role" all_at "$ENI_C" 3
check "each role was assumed with its external id (sim log)" \
	grep -q "sts issued ASIA[A-Z0-9]* to $AKID ($ROLE_B session vpc-failover-$I_C)" "$T/sim.log"
run two-doctor doctor
check "doctor assumes both roles, naming the group of the second" \
	bash -c "grep -Eq '^ok +AssumeRole $ROLE as ' '$T/two-doctor.out' &&
		grep -Eq '^ok +\[other\] AssumeRole $ROLE_B as arn:aws:sts::$OTHER:assumed-role/vpcf-routes-b/' '$T/two-doctor.out'"
check "and probes each table's writes under its group's role" \
	grep -Eq "^ok +IAM allows ec2:ReplaceRoute on $(rtb 1), $(rtb 2), $(rtb 3), $(rtb 4) " "$T/two-doctor.out"
rm -f "$T/ctl.sock"
spawn "$T/two-daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
TWO=$SPAWNED_PID
check "the daemon assumes both roles at start, before any failover" \
	wait_for 5 bash -c "grep -q 'assumed role $ROLE as' '$T/two-daemon.log' &&
		grep -q 'assumed role $ROLE_B as' '$T/two-daemon.log'"
# status: per group, the role in use and when its keys expire, no secret
run two-status status
run two-status-json status --json
check "status names each group's role, its assumed ARN and expiry" \
	bash -c "grep -Eq '^  role $ROLE \\(as arn:aws:sts::$NET:assumed-role/vpcf-routes/[^)]*\\); credentials expire 20[0-9-]+T[0-9:]+Z$' '$T/two-status.out' &&
		grep -Eq '^  role $ROLE_B \\(as arn:aws:sts::$OTHER:assumed-role/vpcf-routes-b/[^)]*\\); credentials expire ' '$T/two-status.out'"
got=$(/usr/bin/python3 -c "
import json, sys, time
d = json.load(open(sys.argv[1]))
r = {g['name']: g['role'] for g in d['groups']}
now = time.time()
ok = (r['redis']['arn'] == '$ROLE' and r['other']['arn'] == '$ROLE_B'
      and r['other']['assumed_arn'].startswith('arn:aws:sts::$OTHER:assumed-role/vpcf-routes-b/')
      and all(now < g['expires'] <= now + 43200 for g in r.values())
      and sorted(r['redis']) == ['arn', 'assumed_arn', 'expires'])
print('ok' if ok else json.dumps(r))" "$T/two-status-json.out" 2>&1)
expect_eq "status --json: groups[].role arn, assumed_arn, expires (in the future), nothing else" "$got" ok
kill "$TWO"
wait "$TWO" 2>/dev/null
set_all "$ENI_A" 3
conf "sts_endpoint = $SIM_URL" "role_session_name = db-a"
printf '[group other]\nvrrp_instance = VI_2\ndestinations = %s\nroute_tables = %s\nrole_arn = %s\n' \
	"$DEST2" "$(rtb 4)" "$ROLE_B" >>"$T/vpcf.conf"
expect_eq "only a group assumes a role: [aws] sts_endpoint and role_session_name are allowed" \
	"$("$VPCFD" --check -c "$T/vpcf.conf" 2>&1)" "configuration OK"
conf "role_arn = $ROLE" "external_id = $EXT" "sts_endpoint = $SIM_URL"
printf '[group other]\nvrrp_instance = VI_2\ndestinations = %s\nroute_tables = %s\nexternal_id = x1\n' \
	"$DEST2" "$(rtb 4)" >>"$T/vpcf.conf"
got=$("$VPCFD" --check -c "$T/vpcf.conf" 2>&1)
check "a group's external_id without its role_arn is an error" \
	grep -q "group 'other': external_id is set but role_arn is not" <<<"$got"

# == errors that name the fix ===============================================
set_all "$ENI_A" 3
role "$ROLE" wrong-external-id
run ext takeover --force
check "a wrong external id fails" test "$rc" -ne 0
check "and names AccessDenied, the role and the external id" \
	grep -q "AssumeRole $ROLE refused (AccessDenied): .*sts:ExternalId equal to external_id" "$T/ext.out"
role "$NOTRUST"
run trust takeover --force
check "a role that does not trust us fails" test "$rc" -ne 0
check "and names the trust policy in the owner account and sts:AssumeRole" \
	grep -q "AssumeRole $NOTRUST refused (AccessDenied): the role's trust policy in account $NET must name this caller (arn:aws:iam::$WORK:user/$AKID) as Principal.*must allow sts:AssumeRole on $NOTRUST" "$T/trust.out"
SC_DEADLINE=3 role "$ROLE" "$EXT" http://127.0.0.1:9/
run down takeover --force
check "STS unreachable fails" test "$rc" -ne 0
check "and says where STS is and what to allow" \
	grep -q "AssumeRole $ROLE: STS endpoint http://127.0.0.1:9/ unreachable .*set \[aws\] sts_endpoint" "$T/down.out"
expect_eq "none of them moved a table" "$(route_of "$(rtb 1)")" "$ENI_A"

# == the daemon: expired assumed credentials during a failover ================
role
n0=$(grep -c "sts issued .* to $AKID ($ROLE " "$T/sim.log")
rm -f "$T/ctl.sock"
spawn "$T/daemon.log" "$VPCFD" -f -v -c "$T/vpcf.conf"
DPID=$SPAWNED_PID
check "daemon starts" wait_for 5 test -S "$T/ctl.sock"
check "it assumes the role ahead of any failover" \
	wait_for 5 grep -q "assumed role $ROLE as arn:aws:sts::$NET:assumed-role/vpcf-routes/vpc-failover-$I_C" "$T/daemon.log"
sim_post /_sim/sts/expire >/dev/null
vf notify INSTANCE VI_1 MASTER 150
check "a failover with expired role credentials converges" wait_for 10 all_at "$ENI_C" 3
check "after EC2 refused them once and the role was assumed again" \
	grep -q "AuthFailure, fetching fresh assumed-role credentials" "$T/daemon.log"
expect_eq "the daemon assumed the role twice (at start, after the expiry)" \
	"$(($(grep -c "sts issued .* to $AKID ($ROLE " "$T/sim.log") - n0))" 2
# Real EC2 may answer expired temporary credentials RequestExpired rather
# than AuthFailure. Keys that are still good by this host's clock (an hour
# left) make that clock skew: warned about, no new AssumeRole.
vf notify INSTANCE VI_1 BACKUP 100
set_all "$ENI_A" 3
got=$(sim_post /_sim/sts/expire '{"answer": "RequestExpired"}')
check "the simulator answers RequestExpired from now on ($got)" \
	grep -q '"answer": *"RequestExpired"' <<<"$got"
n1=$(grep -c "sts issued .* to $AKID ($ROLE " "$T/sim.log")
vf notify INSTANCE VI_1 MASTER 150
check "RequestExpired for keys good by our clock: the daemon warns of clock skew" \
	wait_for 10 grep -q "RequestExpired (Request has expired.): this host's clock is off" "$T/daemon.log"
expect_eq "and assumes the role no more for it" \
	"$(($(grep -c "sts issued .* to $AKID ($ROLE " "$T/sim.log") - n1))" 0
sim_post /_sim/sts/expire '{"answer": "AuthFailure"}' >/dev/null
vf status --json >"$T/status.json" 2>&1
kill "$DPID"
wait "$DPID" 2>/dev/null

# == RequestExpired for keys expired by our clock too =========================
# AssumeRole keys of 45 s are within a minute of their Expiration from the
# start: when EC2 (--sts-expired RequestExpired) calls them expired, the
# daemon assumes the role once more and carries on, as after AuthFailure.
rm -f "$T/re.port"
spawn "$T/re.out" "$VPCSIM" --state "$T/state.json" --listen 127.0.0.1:0 \
	--port-file "$T/re.port" --log "$T/re.log" --sts-ttl 45 \
	--sts-expired RequestExpired --secrets-log "$T/secrets"
RE_PID=$SPAWNED_PID
if wait_for 10 test -s "$T/re.port"; then
	MAIN_URL=$SIM_URL
	SIM_URL="http://127.0.0.1:$(head -1 "$T/re.port")"
	role
	rm -f "$T/ctl.sock"
	spawn "$T/re-daemon.log" "$VPCFD" -f -v -c "$T/vpcf.conf"
	RED=$SPAWNED_PID
	check "RequestExpired: the daemon assumes the role" \
		wait_for 5 grep -q "assumed role $ROLE" "$T/re-daemon.log"
	# It may be MASTER from the state file: a transition to make.
	vf notify INSTANCE VI_1 BACKUP 100
	set_all "$ENI_A" 3
	sim_post /_sim/sts/expire >/dev/null
	n1=$(grep -c "sts issued .* to $AKID ($ROLE " "$T/re.log")
	vf notify INSTANCE VI_1 MASTER 150
	check "RequestExpired: a failover with expired role credentials converges" \
		wait_for 10 all_at "$ENI_C" 3
	check "after EC2 said RequestExpired (sim log)" \
		grep -q "rejected .* RequestExpired" "$T/re.log"
	check "and the daemon took it for expired credentials, not clock skew" \
		bash -c "grep -q 'RequestExpired with expired assumed-role credentials, assuming the role again' '$T/re-daemon.log' &&
			! grep -q 'this host.s clock is off' '$T/re-daemon.log'"
	expect_eq "the daemon assumed the role once more for it" \
		"$(($(grep -c "sts issued .* to $AKID ($ROLE " "$T/re.log") - n1))" 1
	kill "$RED" "$RE_PID"
	wait "$RED" "$RE_PID" 2>/dev/null
	SIM_URL=$MAIN_URL
else
	not_ok "RequestExpired: simulator starts" "$(tail -3 "$T/re.out")"
fi

# == refresh ahead of expiry, on a fake clock (100x) =========================
# The role's keys live 900 simulated seconds (9 real): the daemon asks for
# new ones a quarter of that before they expire, in the background, and a
# failover after that uses them without an AuthFailure.
EPOCH=$(date +%s)
rm -f "$T/fc.port"
spawn "$T/fc.out" env VPCF_FAKE_CLOCK="100@$EPOCH" "$VPCSIM" --state "$T/state.json" \
	--listen 127.0.0.1:0 --port-file "$T/fc.port" --log "$T/fc.log" --sts-ttl 900 \
	--secrets-log "$T/secrets"
FC_PID=$SPAWNED_PID
if wait_for 10 test -s "$T/fc.port"; then
	MAIN_URL=$SIM_URL
	SIM_URL="http://127.0.0.1:$(head -1 "$T/fc.port")"
	set_all "$ENI_A" 3
	SC_DEADLINE=600 role
	rm -f "$T/ctl.sock"
	spawn "$T/fc-daemon.log" env VPCF_FAKE_CLOCK="100@$EPOCH" "$VPCFD" -f -v -c "$T/vpcf.conf"
	FCD=$SPAWNED_PID
	check "fake clock: the daemon assumes the role" \
		wait_for 5 grep -q "assumed role $ROLE" "$T/fc-daemon.log"
	check "fake clock: and refreshes it ahead of expiry, unasked" \
		wait_for 15 grep -q "role $ROLE refreshed: ASIA" "$T/fc-daemon.log"
	vf notify INSTANCE VI_1 MASTER 150
	check "fake clock: a failover after the refresh converges" wait_for 10 all_at "$ENI_C" 3
	check "fake clock: EC2 never refused the role's keys" bash -c "! grep -q AuthFailure '$T/fc.log'"
	kill "$FCD" "$FC_PID"
	wait "$FCD" "$FC_PID" 2>/dev/null
	SIM_URL=$MAIN_URL
else
	not_ok "fake clock: simulator starts" "$(tail -3 "$T/fc.out")"
fi

# == doctor: AssumeRole, then the DryRun writes under the role ================
role
run doctor doctor
check "doctor assumes the role" \
	grep -Eq "^ok +AssumeRole $ROLE as arn:aws:sts::$NET:assumed-role/vpcf-routes/vpc-failover-$I_C, valid until" "$T/doctor.out"
check "doctor probes ReplaceRoute under the role" \
	grep -Eq "^ok +IAM allows ec2:ReplaceRoute on $(rtb 1)" "$T/doctor.out"
role "$ROLE" wrong-external-id
run doctor-bad doctor
check "doctor with a wrong external id fails on AssumeRole" \
	grep -Eq "^FAIL +AssumeRole $ROLE refused \(AccessDenied\)" "$T/doctor-bad.out"

# == no secret of the role anywhere =========================================
n_secrets=$(wc -l <"$T/secrets")
check "the simulator issued secrets to look for ($n_secrets)" test "$n_secrets" -ge 6
leaks=0
while IFS= read -r s; do
	[ -n "$s" ] || continue
	for f in "$T"/*.out "$T"/*daemon.log "$T/status.json" "$T/vpcf.conf" $(find "$T/state" -type f 2>/dev/null); do
		if grep -qF -- "$s" "$f"; then
			leaks=$((leaks + 1))
			echo "# secret found in $f"
		fi
	done
done <"$T/secrets"
expect_eq "no issued secret in any output, log, status or state file" "$leaks" 0
