#!/bin/bash
# hooks/examples: every keepalived.conf passes keepalived's own
# --config-test, every vpc-failover.conf passes vpc-failoverd --check, the
# IAM policy is valid JSON of the right shape, and each pair of files agrees
# (instance names, track_file and FIFO paths, route tables in the policy,
# the notify path where make install puts the CLI).
. "$(dirname "$0")/../lib.sh"

EX=$TOP/hooks/examples
KA_BIN=/usr/sbin/keepalived

# keepalived checks that interfaces exist: give it the examples' ens5, the
# primary interface's name on current EC2 instances under Debian (one end
# of a veth pair: the kernel here may lack the dummy driver), in a
# namespace of our own, and no eth0.
NS=$(ns_new kacheck) || { not_ok "namespace"; exit 1; }
ip -n "$NS" link add ens5 type veth peer name ens6 && ip -n "$NS" link set ens5 up ||
	{ not_ok "ens5 in the namespace"; exit 1; }

# ka_test FILE: keepalived --config-test; sets rc and out (stdout+stderr).
# keepalived 2.2.7 exits 0 for some problems (a missing file) and prints
# them: a clean check is exit 0 AND no output. Under timeout because 2.2.7
# loops forever on a track_file reference no block defines.
ka_test() {
	out=$(ip netns exec "$NS" timeout 20 "$KA_BIN" --config-test -f "$1" 2>&1)
	rc=$?
}

# The check itself must be able to fail.
ka_test "$EX/db/keepalived.conf.nope"
check "keepalived --config-test reports a missing file" test -n "$out"
sed 's/^\tnopreempt$/\tnopreempt_typo/' "$EX/db/keepalived.conf" >"$T/typo.conf"
ka_test "$T/typo.conf"
check "keepalived --config-test fails on an unknown keyword" test "$rc" != 0
check "and names the line" grep -q "Line [0-9]*) Unknown keyword 'nopreempt_typo'" <<<"$out"
# What the examples said before (eth0) fails where the interface is ens5.
sed 's/ens5/eth0/g' "$EX/db/keepalived.conf" >"$T/eth0.conf"
ka_test "$T/eth0.conf"
check "an interface the node lacks fails keepalived --config-test" test "$rc" != 0
check "and is named" grep -q "interface eth0 for vrrp_instance VI_DB doesn't exist" <<<"$out"

prefix=$(sed -n 's/^PREFIX *?= *//p' "$TOP/Makefile")
for dir in "$EX"/*/; do
	ex=$(basename "$dir")
	ka=$dir/keepalived.conf
	vf=$dir/vpc-failover.conf
	check "$ex: names the interface ens5 and says why" bash -c \
		"grep -q '^[[:space:]]*interface ens5\$' '$ka' && grep -q '# ens5: ' '$ka' &&
		 ! grep -q eth0 '$ka'"
	ka_test "$ka"
	expect_eq "$ex: keepalived --config-test exits 0" "$rc" 0
	expect_eq "$ex: keepalived --config-test prints nothing" "$out" ""

	cp "$vf" "$T/$ex.conf"
	got=$("$VPCFD" --check -c "$T/$ex.conf" 2>&1)
	expect_eq "$ex: vpc-failoverd --check" "$got" "configuration OK"

	# the pair agrees
	inst=$(sed -n 's/^vrrp_instance *= *//p' "$vf")
	check "$ex: vrrp_instance $inst is in keepalived.conf" grep -q "^vrrp_instance $inst {" "$ka"
	tf=$(sed -n 's/^track_file *= *//p' "$vf")
	check "$ex: track_file $tf is watched by a track_file block" \
		grep -q "^[[:space:]]*file $tf\$" "$ka"
	fifo=$(sed -n 's/^notify_fifo *= *//p' "$vf")
	if [ -n "$fifo" ]; then
		check "$ex: keepalived writes the FIFO the daemon reads" \
			grep -q "^[[:space:]]*vrrp_notify_fifo $fifo\$" "$ka"
	else
		check "$ex: the notify hook is where make install puts it" \
			grep -q "^[[:space:]]*notify \"$prefix/sbin/vpc-failover notify\"\$" "$ka"
	fi
	for t in $(sed -n 's/^route_tables *= *//p' "$vf"); do
		check "$ex: $t is in the IAM policy" \
			grep -q "\"arn:aws:ec2:[a-z0-9-]*:[0-9]\{12\}:route-table/$t\"" "$EX/iam-policy.json"
	done
done

# The policy: JSON, Describe* on "*", the writes scoped to route tables.
pol() { jq -r "$1" "$EX/iam-policy.json"; }
expect_eq "iam-policy.json is a JSON object" "$(pol type 2>&1)" object
expect_eq "Describe actions on Resource *" \
	"$(pol '[.Statement[] | select(.Action | index("ec2:DescribeRouteTables")) | .Resource] | .[0]')" "*"
expect_eq "DescribeNetworkInterfaces is allowed" \
	"$(pol '[.Statement[] | select(.Effect == "Allow") | .Action[]] | index("ec2:DescribeNetworkInterfaces") != null')" true
expect_eq "ReplaceRoute and CreateRoute in one statement" \
	"$(pol '[.Statement[] | select(.Action | index("ec2:ReplaceRoute")) | .Action | sort | join(" ")] | .[0]')" \
	"ec2:CreateRoute ec2:ReplaceRoute"
expect_eq "the writes only on route-table ARNs" \
	"$(pol '[.Statement[] | select(.Action | index("ec2:ReplaceRoute")) | .Resource[] | test("^arn:aws:ec2:[a-z0-9-]+:[0-9]{12}:route-table/rtb-[0-9a-f]{8,17}$")] | all')" true
expect_eq "no other actions" \
	"$(pol '[.Statement[].Action[]] | sort | join(" ")')" \
	"ec2:CreateRoute ec2:DescribeNetworkInterfaces ec2:DescribeRouteTables ec2:ReplaceRoute"

# multi-account/: the three policies of the two-account setup agree with
# its vpc-failover.conf and with each other.
MA=$EX/multi-account
ma() { jq -r "$2" "$MA/$1" 2>&1; }
role=$(sed -n 's/^role_arn *= *//p' "$MA/vpc-failover.conf")
ext=$(sed -n 's/^external_id *= *//p' "$MA/vpc-failover.conf")
acct=$(cut -d: -f5 <<<"$role")
expect_eq "multi-account: the trust policy lets sts:AssumeRole" \
	"$(ma trust-policy.json '.Statement[0].Action')" "sts:AssumeRole"
expect_eq "multi-account: the trust policy requires the configured external id" \
	"$(ma trust-policy.json '.Statement[0].Condition.StringEquals["sts:ExternalId"]')" "$ext"
expect_eq "multi-account: its principal is the workload account's role that the other policy belongs to" \
	"$(ma trust-policy.json '.Statement[0].Principal.AWS' | cut -d: -f5)" 222222222222
expect_eq "multi-account: the workload account may assume exactly role_arn" \
	"$(ma assume-role-policy.json '[.Statement[] | select(.Action == "sts:AssumeRole") | .Resource] | .[0]')" "$role"
expect_eq "multi-account: the route-table writes are the owner account's tables" \
	"$(ma route-tables-policy.json "[.Statement[] | select(.Action | index(\"ec2:ReplaceRoute\")) | .Resource[] | test(\"^arn:aws:ec2:[a-z0-9-]+:$acct:route-table/rtb-[0-9a-f]{8,17}\$\")] | all")" true
for t in $(sed -n 's/^route_tables *= *//p' "$MA/vpc-failover.conf"); do
	check "multi-account: $t is in route-tables-policy.json" \
		grep -q "\"arn:aws:ec2:[a-z0-9-]*:$acct:route-table/$t\"" "$MA/route-tables-policy.json"
done

# Prometheus: the scrape configuration and the alert rules load, and the
# rules pass their promtool tests (tests/data/prometheus-rules-test.yml),
# among them two services that each name a group db, which is no split brain.
PROMTOOL=/usr/bin/promtool
check "prometheus-scrape.yml: promtool check config (with its rule file)" \
	bash -c "cd '$EX' && $PROMTOOL check config prometheus-scrape.yml >/dev/null"
check "prometheus-rules.yml: promtool check rules" $PROMTOOL check rules "$EX/prometheus-rules.yml"
# Grafana: the provisioning file points at where make install and the
# package put the dashboard (tests/dashboard_check.py, run by metrics.sh,
# checks the dashboard's queries against the daemon).
check "grafana-provisioning.yml: a file provider for the installed dashboard" /usr/bin/python3 - "$EX/grafana-provisioning.yml" "$TOP/Makefile" <<'P'
import re, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
assert c["apiVersion"] == 1, c
p = c["providers"][0]
assert p["type"] == "file" and p["options"]["path"] == "/usr/share/vpc-failover/grafana", p
mk = open(sys.argv[2]).read()
assert "GRAFANADIR ?= $(PREFIX)/share/vpc-failover/grafana" in mk
P
out=$(cd "$TOP/tests/data" && $PROMTOOL test rules prometheus-rules-test.yml 2>&1)
rc=$?
[ "$rc" = 0 ] || sed 's/^/# /' <<<"$out"
expect_eq "prometheus-rules.yml passes its promtool tests" "$rc" 0
# The tests can fail: the old rule summed by group alone.
mkdir -p "$T/p/hooks/examples" "$T/p/tests/data"
sed 's/sum by (service, group)/sum by (group)/' "$EX/prometheus-rules.yml" >"$T/p/hooks/examples/prometheus-rules.yml"
cp "$TOP/tests/data/prometheus-rules-test.yml" "$T/p/tests/data/"
check "summed by group alone, the two services' db groups would alert" \
	bash -c "cd '$T/p/tests/data' && ! $PROMTOOL test rules prometheus-rules-test.yml >/dev/null 2>&1"
