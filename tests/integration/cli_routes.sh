#!/bin/bash
# vpc-failover routes / takeover --force against the simulated VPC: every
# route case, 50 tables, faults, a bad table, bad keys, instance-role
# credentials and a revoked metadata token.
. "$(dirname "$0")/../lib.sh"

# write_state N: table 2 has no route; a second, read-only key
write_state() {
	sim_vpc "$T/state.json" "$1" 2 ', {"access_key_id": "AKIASIMULATEDREADONLY", "secret_access_key": "'"$SECRET"'", "deny": ["ReplaceRoute", "CreateRoute"]}'
}

# write_conf NTABLES [EXTRA_TABLE]
write_conf() {
	local n=$1 i tables=""
	for ((i = 1; i <= n; i++)); do tables+=" $(rtb "$i")"; done
	cat >"$T/vpcf.conf" <<-C
	$(sim_aws "api_deadline = 20" "request_timeout = 3")
	[group redis]
	vrrp_instance = VI_1
	destinations = $DEST
	route_tables =$tables ${2:-}
	C
}

routes_json() { sim_get /_sim/routes; }
# route_of TABLE: the ENI the simulator has for DEST in TABLE
route_of() {
	routes_json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('$1',{}).get('$DEST','none'))"
}
stat_of() {
	sim_get /_sim/stats | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"
}

vf() { "$VPCF" -c "$T/vpcf.conf" "$@"; }

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
unset AWS_SESSION_TOKEN

write_state 3
sim_start "$T/state.json" || exit 1
write_conf 3

# routes: read-only view
vf routes >"$T/out" 2>&1
rc=$?
expect_eq "routes exits 0" "$rc" 0
check "routes shows table 1 pointing at node a, not this node" \
	grep -Eq "$(rtb 1) +$DEST +$ENI_A \($I_A\) +active +other" "$T/out"
check "routes shows the missing route in table 2" grep -Eq "$(rtb 2) +$DEST +no route" "$T/out"
expect_eq "routes writes nothing" "$(stat_of "['writes']")" 0

# dry run: says what would change, checks IAM, writes nothing
sim_post /_sim/stats/reset >/dev/null
vf takeover --dry-run >"$T/out" 2>&1
expect_eq "takeover --dry-run exits 0" "$?" 0
check "dry run shows the replace" grep -Eq "$(rtb 1) +$DEST +would-replace" "$T/out"
check "dry run shows the create" grep -Eq "$(rtb 2) +$DEST +would-create" "$T/out"
expect_eq "dry run writes nothing" "$(stat_of "['writes']")" 0
expect_eq "dry run left table 1 alone" "$(route_of "$(rtb 1)")" "$ENI_A"
AWS_ACCESS_KEY_ID=AKIASIMULATEDREADONLY vf takeover --dry-run >"$T/out" 2>&1
expect_eq "dry run with a read-only key exits 1" "$?" 1
check "dry run names the missing permission" grep -q "UnauthorizedOperation" "$T/out"

# takeover: replace, create, exit 0
sim_post /_sim/stats/reset >/dev/null
vf takeover --force >"$T/out" 2>&1
rc=$?
conns=$(($(stat_of "['connections']") - 1)) # less the stats request itself
expect_eq "takeover exits 0" "$rc" 0
expect_eq "existing route replaced" "$(route_of "$(rtb 1)")" "$ENI_C"
expect_eq "missing route created" "$(route_of "$(rtb 2)")" "$ENI_C"
expect_eq "third table replaced" "$(route_of "$(rtb 3)")" "$ENI_C"
check "takeover reports the replace with the old target" \
	grep -Eq "$(rtb 1) +$DEST +replaced .*\(was $ENI_A" "$T/out"
check "takeover reports the create" grep -Eq "$(rtb 2) +$DEST +created" "$T/out"
check "takeover summary" grep -q "group redis: 3 of 3 route tables converged" "$T/out"
expect_eq "one describe, three writes" \
	"$(stat_of "['actions'].get('DescribeRouteTables',0)"),$(stat_of "['writes']")" "1,3"
# 10 requests (6 to metadata, 4 to EC2, same simulated host): the three
# parallel writes need 3 connections; everything else reuses them.
check "connections are reused ($conns connections for 10 requests)" test "$conns" -le 3

# already ours: no write
sim_post /_sim/stats/reset >/dev/null
vf takeover --force >"$T/out" 2>&1
expect_eq "second takeover exits 0" "$?" 0
expect_eq "second takeover writes nothing" "$(stat_of "['writes']")" 0
check "second takeover says unchanged" grep -Eq "$(rtb 1) +$DEST +unchanged" "$T/out"

# takeover without --force refuses and changes nothing
sim_post /_sim/route "{\"table\":\"$(rtb 1)\",\"dest\":\"$DEST\",\"eni\":\"$ENI_A\"}" >/dev/null
vf takeover >"$T/out" 2>&1
expect_eq "takeover without --force exits 2" "$?" 2
check "takeover without --force says why" grep -q "pass --force" "$T/out"
expect_eq "takeover without --force left the route" "$(route_of "$(rtb 1)")" "$ENI_A"

# unknown table: named with its EC2 error, the others converge, exit 1
write_conf 3 rtb-0deadbeefdeadbeef
vf takeover --force >"$T/out" 2>&1
expect_eq "takeover with an unknown table exits 1" "$?" 1
check "unknown table reported with its EC2 error" \
	grep -Eq "rtb-0deadbeefdeadbeef +error: InvalidRouteTableID.NotFound" "$T/out"
expect_eq "the known tables still converged" "$(route_of "$(rtb 1)")" "$ENI_C"
check "summary says not converged" grep -q "NOT converged" "$T/out"
write_conf 3

# bad secret: a clear authentication error, nothing written
sim_post /_sim/route "{\"table\":\"$(rtb 1)\",\"dest\":\"$DEST\",\"eni\":\"$ENI_A\"}" >/dev/null
AWS_SECRET_ACCESS_KEY=wrong/secret/key/000000000000000000000 vf takeover --force >"$T/out" 2>&1
expect_eq "takeover with a bad key exits 1" "$?" 1
check "bad key reported as AuthFailure" grep -q "AuthFailure" "$T/out"
check "the secret never appears in the output" bash -c "! grep -q 'wrong/secret' '$T/out'"
expect_eq "bad key wrote nothing" "$(route_of "$(rtb 1)")" "$ENI_A"

# instance-role credentials from IMDS (no environment keys)
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; vf takeover --force) >"$T/out" 2>&1
expect_eq "takeover with instance-role credentials exits 0" "$?" 0
expect_eq "instance-role takeover replaced the route" "$(route_of "$(rtb 1)")" "$ENI_C"

# a revoked metadata token mid-run is renewed
sim_post /_sim/route "{\"table\":\"$(rtb 1)\",\"dest\":\"$DEST\",\"eni\":\"$ENI_A\"}" >/dev/null
sim_post /_sim/stats/reset >/dev/null
sim_post /_sim/imds/expire-tokens '{"after_requests": 2}' >/dev/null
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; vf takeover --force) >"$T/out" 2>&1
expect_eq "takeover across a revoked IMDS token exits 0" "$?" 0
expect_eq "takeover across a revoked IMDS token converged" "$(route_of "$(rtb 1)")" "$ENI_C"
expect_eq "a second IMDS token was fetched" "$(stat_of "['imds'].get('token',0)")" 2

# faults: throttling, 5xx and resets still converge
for i in 1 3; do
	sim_post /_sim/route "{\"table\":\"$(rtb $i)\",\"dest\":\"$DEST\",\"eni\":\"$ENI_A\"}" >/dev/null
done
sim_post /_sim/stats/reset >/dev/null
sim_post /_sim/faults '{"throttle": 0.3, "error5xx": 0.2, "reset": 0.1}' >/dev/null
vf takeover --force >"$T/out" 2>&1
rc=$?
sim_post /_sim/faults '{"throttle": 0, "error5xx": 0, "reset": 0}' >/dev/null
expect_eq "takeover under throttling, 5xx and resets exits 0" "$rc" 0
expect_eq "faulty run converged table 1" "$(route_of "$(rtb 1)")" "$ENI_C"
expect_eq "faulty run converged table 3" "$(route_of "$(rtb 3)")" "$ENI_C"

# fail the next 3 calls: retried
sim_post /_sim/route "{\"table\":\"$(rtb 1)\",\"dest\":\"$DEST\",\"eni\":\"$ENI_A\"}" >/dev/null
sim_post /_sim/faults '{"fail_next": 3}' >/dev/null
vf takeover --force >"$T/out" 2>&1
expect_eq "takeover after 3 throttled calls exits 0" "$?" 0
check "the retries are counted" grep -Eq "\(3 retries\)" "$T/out"

# 50 tables, in parallel
kill "$SIM_PID"
wait "$SIM_PID" 2>/dev/null
write_state 50
# The latency stretches with TMULT: under valgrind the CLI needs longer to
# put 50 requests in flight than a call takes at 100 ms.
sim_start "$T/state.json" --latency $((100 * TMULT)) || exit 1
write_conf 50
vf takeover --force >"$T/out" 2>&1
expect_eq "takeover of 50 tables exits 0" "$?" 0
n=0
for ((i = 1; i <= 50; i++)); do [ "$(route_of "$(rtb $i)")" = "$ENI_C" ] && n=$((n + 1)); done
expect_eq "all 50 tables point at this node" "$n" 50
# Parallel, not sequential: the simulator saw the writes overlap.
conc=$(stat_of "['max_concurrent']")
check "writes to 50 tables overlapped (max concurrent $conc)" test "$conc" -ge 25
