#!/bin/bash
# vpc-failover doctor on node-a of the namespace topology (tests/topo.sh):
# instance metadata at 169.254.169.254, role credentials, the simulated EC2,
# real keepalived (tests/keepalived.sh) running the notify hook, and the
# daemon. A healthy setup: every check ok, exit 0. Then one thing broken at
# a time, each giving its exact FAIL line and exit 1: a missing route table,
# IAM denying ReplaceRoute, the ENI's source/destination check on, the
# peer's or an unknown ENI configured, a keepalived.conf without the hook,
# the group's vrrp_instance missing from keepalived.conf, an unclosed block,
# the metadata service down, the role guard (a replica: INFO, the primary:
# ok, nothing listening: FAIL), the daemon and keepalived not running (and,
# once vpc-failoverd knows [group] track_file, a track_file that no
# keepalived block watches).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"
. "$(dirname "$0")/../keepalived.sh"

# Identity and role credentials come from the simulated metadata service.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE

D=$T/a
CONF=$D/vpcf.conf
KA=$D/ka.conf
POLICY=hooks/examples/iam-policy.json
FIRST=${TOPO_TABLES%% *}
mkdir -p "$D"

# write_conf [EXTRA GROUP KEYS]: node-a's vpc-failover.conf
write_conf() {
	topo_conf "$CONF" "$D" "[keepalived]
pid_file = $T/ka/$NS_A/keepalived.pid.ka" "${1:-}"
}

# doctor [KEEPALIVED_CONF]: run it in node-a; sets rc, out (stdout), err
doctor() {
	ip netns exec "$NS_A" "$VPCF" -c "$CONF" doctor --keepalived-conf "${1:-$KA}" \
		>"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	echo "$out" | sed 's/^/#   /'
}

# has_line NAME LINE: LINE is one of doctor's output lines, exactly
has_line() {
	if grep -qxF -- "$2" "$T/out"; then
		ok "$1"
	else
		not_ok "$1" "no line: $2"
	fi
}
# only_fails NAME N: exactly N FAIL lines and no WARN
only_fails() {
	local f w
	f=$(grep -c '^FAIL' "$T/out")
	w=$(grep -c '^WARN' "$T/out")
	expect_eq "$1: $2 FAIL, 0 WARN" "$f/$w" "$2/0"
}

topo_up || { not_ok "topology up"; exit 1; }
ok "topology up"

# node-a as in production: keepalived runs the hook, the daemon runs.
write_conf
ka_conf "$NS_A" 198.18.1.2 198.18.3.2 150 "$KA" notify "$VPCF -c $CONF notify" ||
	{ not_ok "keepalived.conf written"; exit 1; }
ka_start "$NS_A" "$KA" || { not_ok "keepalived starts"; exit 1; }
KPID=$KA_PID
rm -f "$D/ctl.sock"
spawn "$D/daemon.log" ip netns exec "$NS_A" "$VPCFD" -f -c "$CONF"
DPID=$SPAWNED_PID
wait_for 10 test -S "$D/ctl.sock" || { not_ok "daemon starts"; exit 1; }
ok "keepalived and the daemon run on node-a"
KPIDF=$T/ka/$NS_A/keepalived.pid.ka
VI_LINE=$(grep -n '^vrrp_instance VI_1' "$KA" | cut -d: -f1)

# == healthy ===================================================================
doctor
expect_eq "healthy: exit 0" "$rc" 0
only_fails "healthy" 0
expect_eq "healthy: the summary says so" "$(tail -1 "$T/out" | sed 's/.* info, //')" "0 WARN, 0 FAIL"
has_line "healthy: metadata" \
	"ok    instance metadata (IMDSv2) at http://169.254.169.254: $I_A in us-east-1a, primary ENI $ENI_A"
check "healthy: role credentials, the role named" grep -Eq \
	"^ok    AWS credentials from the instance profile's role vpcf-node, valid until [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\$" "$T/out"
check "healthy: no access key id in the output" bash -c "! grep -q 'ASIA' '$T/out'"
has_line "healthy: IAM ReplaceRoute on every table" \
	"ok    IAM allows ec2:ReplaceRoute on ${TOPO_TABLES// /, } (DryRun)"
has_line "healthy: IAM CreateRoute on every table" \
	"ok    IAM allows ec2:CreateRoute on ${TOPO_TABLES// /, } (DryRun)"
has_line "healthy: the first table exists" "ok    route table $FIRST exists (vpc-0123456789abcdef0)"
check "healthy: where the overlay route points, per table" \
	test "$(grep -c "^info  \[overlay\] $OVERLAY_CIDR in rtb-.* -> $ENI_A ($I_A), active: this node\$" "$T/out")" = 3
has_line "healthy: ENI" \
	"ok    ENI $ENI_A: source/destination check disabled, attached to $I_A in us-east-1a"
has_line "healthy: the hook" \
	"ok    [overlay] vrrp_instance VI_1 runs the hook: notify \"$VPCF -c $CONF notify\" ($KA:$(grep -n 'notify "' "$KA" | cut -d: -f1))"
has_line "healthy: keepalived runs" "ok    keepalived runs (pid $(cat "$KPIDF"), $KPIDF)"
has_line "healthy: the daemon answers" "ok    vpc-failoverd answers on $D/ctl.sock (pid $DPID)"

# == a missing route table =====================================================
write_conf
sed -i "s/^route_tables = .*/& rtb-0000000000000dead/" "$CONF"
doctor
expect_eq "missing table: exit 1" "$rc" 1
has_line "missing table: named, with the key to fix" \
	"FAIL  route table rtb-0000000000000dead does not exist (InvalidRouteTableID.NotFound): fix route_tables in [group overlay] of $CONF"
only_fails "missing table" 1
has_line "missing table: the others are still checked" "ok    route table $FIRST exists (vpc-0123456789abcdef0)"
write_conf

# == IAM denies ReplaceRoute ===================================================
topo_sim /_sim/deny '{"role": "vpcf-node", "deny": ["ReplaceRoute"]}' >/dev/null
doctor
expect_eq "ReplaceRoute denied: exit 1" "$rc" 1
for t in $TOPO_TABLES; do
	has_line "ReplaceRoute denied: $t named with its ARN" \
		"FAIL  IAM denies ec2:ReplaceRoute on $t: allow it on arn:aws:ec2:us-east-1:123456789012:route-table/$t (see $POLICY)"
done
only_fails "ReplaceRoute denied" 3
has_line "ReplaceRoute denied: CreateRoute still allowed" \
	"ok    IAM allows ec2:CreateRoute on ${TOPO_TABLES// /, } (DryRun)"
topo_sim /_sim/deny '{"role": "vpcf-node", "deny": []}' >/dev/null

# == source/destination check on ==============================================
topo_sim /_sim/eni "{\"eni\": \"$ENI_A\", \"source_dest_check\": true}" >/dev/null
doctor
expect_eq "source/dest check on: exit 1" "$rc" 1
has_line "source/dest check on: the command that fixes it" \
	"FAIL  ENI $ENI_A has source/destination check enabled: aws ec2 modify-network-interface-attribute --network-interface-id $ENI_A --no-source-dest-check"
only_fails "source/dest check on" 1
topo_sim /_sim/eni "{\"eni\": \"$ENI_A\", \"source_dest_check\": false}" >/dev/null

# == the peer's ENI configured as this node's ==================================
write_conf "network_interface = $ENI_C"
doctor
expect_eq "the peer's ENI: exit 1" "$rc" 1
has_line "the peer's ENI: attached elsewhere, the key to fix" \
	"FAIL  ENI $ENI_C is attached to $I_C, not to this instance $I_A: set network_interface in [group overlay] to an interface of this instance (empty: the primary, $ENI_A)"
only_fails "the peer's ENI" 1
write_conf

# == an ENI that does not exist ================================================
write_conf "network_interface = eni-0000000000000dead"
doctor
expect_eq "unknown ENI: exit 1" "$rc" 1
has_line "unknown ENI: named, with the key to fix" \
	"FAIL  ENI eni-0000000000000dead does not exist (InvalidNetworkInterfaceID.NotFound): set network_interface in [group overlay] to an interface of this instance (empty: the primary, $ENI_A)"
only_fails "unknown ENI" 1
write_conf

# == keepalived.conf without the hook ==========================================
grep -v 'notify "' "$KA" >"$D/nohook.conf"
doctor "$D/nohook.conf"
expect_eq "no hook: exit 1" "$rc" 1
has_line "no hook: what to add, and where" \
	"FAIL  [overlay] keepalived never tells vpc-failover about vrrp_instance VI_1: add notify \"$VPCF_EXE notify\" to it ($D/nohook.conf:$VI_LINE), or vrrp_notify_fifo PATH to global_defs and notify_fifo = PATH to [keepalived]"
only_fails "no hook" 1

# == the group's vrrp_instance missing =========================================
sed 's/^vrrp_instance VI_1 /vrrp_instance VI_9 /' "$KA" >"$D/other.conf"
doctor "$D/other.conf"
expect_eq "vrrp_instance missing: exit 1" "$rc" 1
has_line "vrrp_instance missing: names both sides" \
	"FAIL  [overlay] vrrp_instance = VI_1, but the keepalived config has no vrrp_instance VI_1 (it has: VI_9): fix vrrp_instance in [group overlay] of $CONF, or keepalived.conf"
only_fails "vrrp_instance missing" 1

# == a keepalived.conf with an unclosed block =================================
head -n -1 "$KA" >"$D/open.conf"
doctor "$D/open.conf"
expect_eq "unclosed block: exit 1" "$rc" 1
has_line "unclosed block: file and line" \
	"FAIL  keepalived config: $D/open.conf:$VI_LINE: 'vrrp_instance' opens a block with '{' that is never closed (a '}' is missing)"

# == track_file ================================================================
write_conf "track_file = $D/overlay.demote"
doctor
expect_eq "track_file without a keepalived block: exit 1" "$rc" 1
has_line "track_file without a keepalived block: the block to add" \
	"FAIL  [overlay] track_file = $D/overlay.demote, but no track_file block of the keepalived config watches it: add track_file vpcf_overlay { file $D/overlay.demote weight 0 init_file 0 } and track_file { vpcf_overlay } in vrrp_instance VI_1 ($KA:$VI_LINE)"
ka_conf "$NS_A" 198.18.1.2 198.18.3.2 150 "$D/tf-ka.conf" notify "$VPCF -c $CONF notify" \
	track_file vpcf_overlay "$D/overlay.demote" 0 nopreempt
doctor "$D/tf-ka.conf"
check "track_file watched and used: ok" grep -q "^ok    \[overlay\] track_file vpcf_overlay (" "$T/out"
write_conf

# == metadata down =============================================================
topo_sim /_sim/imds/down '{"down": true}' >/dev/null
doctor
expect_eq "metadata down: exit 1" "$rc" 1
has_line "metadata down: the service and what to check" \
	"FAIL  instance metadata (IMDSv2) at http://169.254.169.254: metadata token request: HTTP 503: check the instance's metadata options (IMDSv2 enabled, hop limit 2 inside containers) or [aws] metadata_endpoint"
has_line "metadata down: the role's credentials cannot come" \
	"FAIL  no AWS credentials: the instance role's come from the instance metadata (above), or set [aws] credentials_file"
only_fails "metadata down" 2
check "metadata down: the keepalived checks still run" grep -q '^ok    keepalived runs' "$T/out"
topo_sim /_sim/imds/down '{"down": false}' >/dev/null

# == the role guard: node-a's Redis a replica, then the primary, then gone ======
spawn "$T/redis.log" ip netns exec "$NS_A" redis-server --port 6379 --bind 127.0.0.1 \
	--save '' --appendonly no --dir "$T" --replicaof 127.0.0.1 6390
check "guard: node-a's Redis starts (a replica)" wait_for 10 ip netns exec "$NS_A" redis-cli ping
write_conf "guard = redis://127.0.0.1:6379"
doctor
expect_eq "guard, a replica: exit 0" "$rc" 0
has_line "guard, a replica: INFO, saying what it means" \
	"info  [overlay] guard: redis at 127.0.0.1:6379 is a replica (of 127.0.0.1:6390): this node takes the routes only once it is promoted (as it should on the BACKUP)"
ip netns exec "$NS_A" redis-cli replicaof no one >/dev/null
doctor
expect_eq "guard, the primary: exit 0" "$rc" 0
check "guard, the primary: ok, with the question's time" grep -Eq \
	"^ok    \\[overlay\\] guard: redis at 127.0.0.1:6379 is the primary \([0-9]+ ms\)\$" "$T/out"
write_conf "guard = redis://127.0.0.1:6391"
doctor
expect_eq "guard, nothing listening: exit 1" "$rc" 1
has_line "guard, nothing listening: FAIL, and what to check" \
	"FAIL  [overlay] guard: redis at 127.0.0.1:6391 cannot be asked: Connection refused: while it cannot be asked, this node never takes the routes; check the service, the guard URL, the user and guard_password_file"
only_fails "guard, nothing listening" 1
write_conf

# == the daemon not running ====================================================
kill "$DPID"
wait "$DPID" 2>/dev/null
doctor
expect_eq "daemon down: exit 1" "$rc" 1
check "daemon down: the socket, and how to start it" grep -Eq \
	"^FAIL  vpc-failoverd does not answer: cannot connect to $D/ctl.sock: (No such file or directory|Connection refused) \(systemctl start vpc-failoverd\)\$" "$T/out"
only_fails "daemon down" 1

# == keepalived not running ====================================================
ka_stop "$KPID"
doctor
expect_eq "keepalived down too: exit 1" "$rc" 1
check "keepalived down: named with its pid file" grep -Eq \
	"^FAIL  keepalived is not running: pid file $KPIDF: No such file or directory|^FAIL  keepalived is not running: pid file $KPIDF names pid [0-9]+, which is gone" "$T/out"
only_fails "keepalived and daemon down" 2

# == usage ======================================================================
"$VPCF" -c "$CONF" doctor --bogus >/dev/null 2>&1
expect_eq "an unknown option: exit 2" "$?" 2
