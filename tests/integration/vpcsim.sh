#!/bin/bash
# The simulated VPC against Debian's awscli (botocore signs, parses the XML
# and the errors exactly as it would against EC2), libcurl's SigV4, a small
# independent signer, IMDSv2, the control API, injected faults, start-up
# errors, and the kernel route mirror inside a network namespace.
. "$(dirname "$0")/../lib.sh"

VPCSIM=${VPCSIM_BIN:-$VPCSIM} # VPCSIM_BIN: try a build from another directory
STATE=$TOP/tests/data/sim/basic.json
AK1=AKIASIMULATED000001 SK1=vpcsimSecretKey0000000000000000000000001
AK2=AKIASIMULATED000002 SK2=vpcsimSecretKey0000000000000000000000002
RTB1=rtb-0000000000000001 RTB2=rtb-0000000000000002 RTB3=rtb-0000000000000003
ENI_A=eni-0aaaaaaaaaaaaaaa1 ENI_C=eni-0ccccccccccccccc2
I_A=i-0aaaaaaaaaaaaaaa1 I_C=i-0ccccccccccccccc2
DEST=10.255.0.10/32
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

if [ ! -x "$VPCSIM" ]; then
	not_ok "vpcsim is built" "no $VPCSIM (make build/vpcsim)"
	exit 1
fi

# aws_at URL AKID SECRET TOKEN ec2-args...: awscli that can only talk to URL
# (inside namespace $NSX when that is set)
NSX=
aws_at() {
	local url=$1 ak=$2 sk=$3 tok=$4
	shift 4
	local e=(AWS_ACCESS_KEY_ID="$ak" AWS_SECRET_ACCESS_KEY="$sk"
		AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null
		AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_MAX_ATTEMPTS=1
		AWS_RETRY_MODE=standard AWS_PAGER=)
	[ -n "$tok" ] && e+=(AWS_SESSION_TOKEN="$tok")
	local pfx=()
	[ -n "$NSX" ] && pfx=(ip netns exec "$NSX")
	"${pfx[@]}" env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN -u AWS_REGION \
		-u AWS_DEFAULT_REGION -u AWS_CA_BUNDLE -u AWS_ENDPOINT_URL "${e[@]}" \
		"$AWS" --region us-east-1 --endpoint-url "$url" --cli-read-timeout 5 \
		--cli-connect-timeout 5 --output json ec2 "$@"
}
ec2() { aws_at "$SIM_URL" "$AK1" "$SK1" "" "$@"; }

# expect_code NAME CODE CMD...: CMD fails and names the EC2 error CODE
expect_code() {
	local name=$1 code=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		not_ok "$name" "succeeded, want $code"
	elif [[ $out == *"($code)"* ]]; then
		ok "$name"
	else
		not_ok "$name" "want $code, got: $(echo "$out" | tail -1)"
	fi
}

# has NAME TEXT SUBSTR...: ok when TEXT contains every SUBSTR
has() {
	local name=$1 text=$2 sub
	shift 2
	for sub; do
		if [[ $text != *"$sub"* ]]; then
			not_ok "$name" "no '$sub' in: $(echo "$text" | tail -c 300 | tr '\n' ' ')"
			return
		fi
	done
	ok "$name"
}
NL=$'\n'

# py EXPR: evaluate EXPR with the JSON on stdin as d
py() { /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
route_of() { sim_get /_sim/routes | py "d.get('$1',{}).get('$2','none')"; }
stat() { sim_get /_sim/stats | py "$1"; }
log_has() { grep -Eq "$1" "$T/sim.log"; }
imds_token() { curl -sS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: ${2:-60}" "$1/latest/api/token"; }
# imds_get URL PATH TOKEN: prints the body, then the HTTP status on its own line
imds_get() { curl -sS --max-time 5 -w '\n%{http_code}' ${3:+-H "X-aws-ec2-metadata-token: $3"} "$1/latest/$2"; }
# curl_ec2 AKID:SECRET BODY: libcurl's CURLOPT_AWS_SIGV4, prints body + status
curl_ec2() {
	curl -sS --max-time 10 --aws-sigv4 "aws:amz:us-east-1:ec2" --user "$1" \
		-d "$2" -w '\n%{http_code}' "$SIM_URL/"
}

# An independent SigV4 signer (Python stdlib) for what awscli and curl will
# not do: sign with an old date, or sign one body and send another.
cat >"$T/sign.py" <<'PY'
import datetime, hashlib, hmac, sys, urllib.request, urllib.error
url, akid, secret, body = sys.argv[1:5]
amzdate = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else \
    datetime.datetime.utcnow().strftime('%Y%m%dT%H%M%SZ')
send = sys.argv[6] if len(sys.argv) > 6 else body
date, region = amzdate[:8], 'us-east-1'
hdrs = {'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'host': url.split('/')[2], 'x-amz-date': amzdate}
names = sorted(hdrs)
canon = '\n'.join(['POST', '/', '', ''.join(f'{k}:{hdrs[k]}\n' for k in names),
                   ';'.join(names), hashlib.sha256(body.encode()).hexdigest()])
scope = f'{date}/{region}/ec2/aws4_request'
sts = '\n'.join(['AWS4-HMAC-SHA256', amzdate, scope,
                 hashlib.sha256(canon.encode()).hexdigest()])
k = ('AWS4' + secret).encode()
for m in (date, region, 'ec2', 'aws4_request'):
    k = hmac.new(k, m.encode(), hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(url + '/', data=send.encode(), method='POST')
for h in names:
    if h != 'host':
        req.add_header(h, hdrs[h])
req.add_header('Authorization', f'AWS4-HMAC-SHA256 Credential={akid}/{scope}, '
               f'SignedHeaders={";".join(names)}, Signature={sig}')
try:
    r = urllib.request.urlopen(req, timeout=10)
    print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
PY
sign() { /usr/bin/python3 "$T/sign.py" "$SIM_URL" "$@"; }

###########################################################################
# start-up errors
"$VPCSIM" --state "$T/nope.json" >"$T/err" 2>&1
rc=$?
expect_eq "missing state file exits 2" "$rc" 2
check "missing state file is named" grep -q "$T/nope.json" "$T/err"

sed 's/"eni": "eni-0ccccccccccccccc2",//' "$STATE" >"$T/bad.json"
"$VPCSIM" --state "$T/bad.json" >"$T/err" 2>&1
rc=$?
expect_eq "state without an instance's eni exits 2" "$rc" 2
check "the error names the file and the JSON path" \
	grep -Fq "$T/bad.json: \$.instances[1]: missing key \"eni\"" "$T/err"

printf '{"region": "us-east-1",\n "vpc": }\n' >"$T/syntax.json"
"$VPCSIM" --state "$T/syntax.json" >"$T/err" 2>&1
rc=$?
expect_eq "JSON syntax error exits 2" "$rc" 2
check "the syntax error gives file:line" grep -q "$T/syntax.json:2:" "$T/err"

"$VPCSIM" --state "$STATE" --throttle 1.5 >"$T/err" 2>&1
expect_eq "a ratio above 1 exits 2" "$?" 2
check "the bad flag is named" grep -q -- "--throttle" "$T/err"
"$VPCSIM" --state "$STATE" --bucket mutating=0/5 >"$T/err" 2>&1
expect_eq "--bucket with a zero burst exits 2" "$?" 2
check "the bad bucket is named" grep -q -- "--bucket: \"mutating=0/5\"" "$T/err"
"$VPCSIM" --state "$STATE" --no-such-flag >"$T/err" 2>&1
expect_eq "an unknown flag exits 2" "$?" 2
# the race faults' flags: each bad value exits 2 naming its flag
for args in "--slow nope" "--slow 127.0.0.1=soon" "--slow not/a/client=5" \
	"--delay 50-10" "--delay 0-10 --delay-dist normal" "--lost-answer 1.5" "--stale-ms -1"; do
	# shellcheck disable=SC2086
	"$VPCSIM" --state "$STATE" $args >"$T/err" 2>&1
	rc=$?
	flag=${args##*--}
	flag=--${flag%% *}
	if [ "$rc" = 2 ] && grep -q -- "^vpcsim: $flag: " "$T/err"; then
		ok "$args: exit 2 naming $flag"
	else
		not_ok "$args: exit 2 naming $flag" "exit $rc: $(cat "$T/err")"
	fi
done
slows=()
for i in 1 2 3 4 5 6 7 8 9; do slows+=(--slow "198.18.1.$i=5"); done
"$VPCSIM" --state "$STATE" "${slows[@]}" >"$T/err" 2>&1
expect_eq "a ninth --slow client exits 2" "$?" 2
check "and says at most 8" grep -q -- "--slow: at most 8 clients" "$T/err"

###########################################################################
# SIGTERM: clean stop, exit 0
rm -f "$T/term.port"
"$VPCSIM" --state "$STATE" --listen 127.0.0.1:0 --listen 127.0.0.1:0 \
	--port-file "$T/term.port" --log "$T/term.log" >/dev/null 2>&1 &
term_pid=$!
_pids+=("$term_pid")
if wait_for 10 test -s "$T/term.port"; then
	expect_eq "the port file has one port per --listen" "$(wc -l <"$T/term.port")" 2
	p2=$(sed -n 2p "$T/term.port")
	check "the second listener answers too" \
		curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$p2/_sim/routes"
	check "start-up is logged" grep -Eq "^$TS start vpcsim .*listen=127.0.0.1:[0-9]+,127.0.0.1:$p2" \
		"$T/term.log"
	kill -TERM "$term_pid"
	wait "$term_pid"
	expect_eq "SIGTERM exits 0" "$?" 0
else
	not_ok "simulator with two listeners started"
fi

###########################################################################
sim_start "$STATE" || exit 1
check "change log starts with a start-up line" log_has "^$TS start vpcsim "

# DescribeRouteTables
ec2 describe-route-tables >"$T/out" 2>&1
expect_eq "describe-route-tables exits 0" "$?" 0
expect_eq "describe all: every table, in order" \
	"$(py "' '.join(t['RouteTableId'] for t in d['RouteTables'])" <"$T/out")" "$RTB1 $RTB2 $RTB3"
ec2 describe-route-tables --route-table-ids $RTB2 >"$T/out" 2>&1
expect_eq "describe by id: one table" "$(py "len(d['RouteTables'])" <"$T/out")" 1
expect_eq "describe by id: local route first" \
	"$(py "[(r['DestinationCidrBlock'], r.get('GatewayId'), r['Origin'], r['State']) for r in d['RouteTables'][0]['Routes']][0]" <"$T/out")" \
	"('198.18.0.0/16', 'local', 'CreateRouteTable', 'active')"
expect_eq "describe by id: ENI route with instance and owner" \
	"$(py "[(r['NetworkInterfaceId'], r['InstanceId'], r['InstanceOwnerId'], r['Origin'], r['State']) for r in d['RouteTables'][0]['Routes'] if r['DestinationCidrBlock'] == '$DEST'][0]" <"$T/out")" \
	"('$ENI_A', '$I_A', '123456789012', 'CreateRoute', 'active')"
expect_eq "a route to an unknown ENI is a blackhole" \
	"$(py "[r['State'] + ' ' + str(r.get('InstanceId')) for r in d['RouteTables'][0]['Routes'] if r['DestinationCidrBlock'] == '10.255.0.20/32'][0]" <"$T/out")" \
	"blackhole None"
expect_eq "vpc and owner ids" "$(py "d['RouteTables'][0]['VpcId'] + ' ' + d['RouteTables'][0]['OwnerId']" <"$T/out")" \
	"vpc-0123456789abcdef0 123456789012"

# paging: the sim pages at 1 table by itself; awscli follows nextToken
sim_post /_sim/faults '{"page_size": 1}' >/dev/null
sim_post /_sim/stats/reset >/dev/null
ec2 describe-route-tables >"$T/out" 2>&1
expect_eq "paged describe still returns all 3 tables" \
	"$(py "' '.join(t['RouteTableId'] for t in d['RouteTables'])" <"$T/out")" "$RTB1 $RTB2 $RTB3"
expect_eq "paged describe took 3 calls" "$(stat "d['actions'].get('DescribeRouteTables')")" 3
ec2 describe-route-tables --route-table-ids $RTB3 $RTB1 >"$T/out" 2>&1
expect_eq "paged describe by ids keeps the asked order" \
	"$(py "' '.join(t['RouteTableId'] for t in d['RouteTables'])" <"$T/out")" "$RTB3 $RTB1"
sim_post /_sim/faults '{"page_size": 0}' >/dev/null
out=$(curl_ec2 "$AK1:$SK1" "Action=DescribeRouteTables&Version=2016-11-15&MaxResults=5")
has "MaxResults 5 over 3 tables: all of them" "$out" "$RTB3" "${NL}200"
check "MaxResults 5 over 3 tables: no nextToken" test "${out/nextToken/}" = "$out"
out=$(curl_ec2 "$AK1:$SK1" "Action=DescribeRouteTables&Version=2016-11-15&MaxResults=2")
has "MaxResults below 5 is InvalidParameterValue" "$out" "<Code>InvalidParameterValue</Code>" "${NL}400"

expect_code "unknown table: InvalidRouteTableID.NotFound" InvalidRouteTableID.NotFound \
	ec2 describe-route-tables --route-table-ids rtb-0deadbeefdeadbeef
expect_code "one unknown id fails the whole describe" InvalidRouteTableID.NotFound \
	ec2 describe-route-tables --route-table-ids $RTB1 rtb-0deadbeefdeadbeef
out=$(ec2 describe-route-tables --route-table-ids rtb-0deadbeefdeadbeef 2>&1)
has "NotFound message is EC2's" "$out" "The routeTable ID 'rtb-0deadbeefdeadbeef' does not exist"

# DescribeNetworkInterfaces: the instances' ENIs, as awscli reads them
ec2 describe-network-interfaces --network-interface-ids $ENI_A >"$T/out" 2>&1
expect_eq "describe-network-interfaces exits 0" "$?" 0
expect_eq "ENI: id, AZ, subnet, VPC, status, source/dest check" \
	"$(py "[(e['NetworkInterfaceId'], e['AvailabilityZone'], e['SubnetId'], e['VpcId'], e['Status'], e['SourceDestCheck']) for e in d['NetworkInterfaces']]" <"$T/out")" \
	"[('$ENI_A', 'us-east-1a', 'subnet-0aaaaaaaaaaaaaaa1', 'vpc-0123456789abcdef0', 'in-use', False)]"
expect_eq "ENI: attachment to its instance" \
	"$(py "[(a['InstanceId'], a['DeviceIndex'], a['Status']) for a in [d['NetworkInterfaces'][0]['Attachment']]][0]" <"$T/out")" \
	"('$I_A', 0, 'attached')"
ec2 describe-network-interfaces >"$T/out" 2>&1
expect_eq "describe all ENIs: defaults are source/dest check on, own subnet" \
	"$(py "[(e['NetworkInterfaceId'], e['AvailabilityZone'], e['SourceDestCheck'], e['SubnetId'][:7]) for e in d['NetworkInterfaces']]" <"$T/out")" \
	"[('$ENI_A', 'us-east-1a', False, 'subnet-'), ('$ENI_C', 'us-east-1c', True, 'subnet-')]"
ec2 describe-network-interfaces --filters Name=attachment.instance-id,Values=$I_C >"$T/out" 2>&1
expect_eq "ENI filter attachment.instance-id" \
	"$(py "[e['NetworkInterfaceId'] for e in d['NetworkInterfaces']]" <"$T/out")" "['$ENI_C']"
expect_code "unknown ENI: InvalidNetworkInterfaceID.NotFound" InvalidNetworkInterfaceID.NotFound \
	ec2 describe-network-interfaces --network-interface-ids $ENI_A eni-0deadbeefdeadbeef
out=$(ec2 describe-network-interfaces --network-interface-ids eni-0deadbeefdeadbeef 2>&1)
has "ENI NotFound message is EC2's" "$out" "The networkInterface ID 'eni-0deadbeefdeadbeef' does not exist"
expect_code "describe-network-interfaces --dry-run: DryRunOperation" DryRunOperation \
	ec2 describe-network-interfaces --dry-run --network-interface-ids $ENI_A
sim_post /_sim/eni "{\"eni\":\"$ENI_C\",\"source_dest_check\":false}" >/dev/null
expect_eq "control API turns source/dest check off" \
	"$(ec2 describe-network-interfaces --network-interface-ids $ENI_C | py "d['NetworkInterfaces'][0]['SourceDestCheck']")" False
expect_eq "GET /_sim/enis shows it" "$(sim_get /_sim/enis | py "d['$ENI_C']['source_dest_check']")" False
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST --data '{"eni":"eni-0nope","source_dest_check":true}' "$SIM_URL/_sim/eni")
expect_eq "control ENI change of an unknown ENI: 404" "$code" 404

# ReplaceRoute
sim_post /_sim/stats/reset >/dev/null
ec2 replace-route --route-table-id $RTB1 --destination-cidr-block $DEST \
	--network-interface-id $ENI_C >"$T/out" 2>&1
expect_eq "replace-route exits 0" "$?" 0
expect_eq "replace-route moved the route" "$(route_of $RTB1 $DEST)" "$ENI_C"
expect_eq "replace-route left the other table" "$(route_of $RTB2 $DEST)" "$ENI_A"
check "replace-route is logged with old and new target and key id" \
	log_has "^$TS ReplaceRoute $RTB1 10\.255\.0\.10/32 $ENI_A -> $ENI_C by $AK1\$"
expect_eq "stats count one write" "$(stat "d['writes']")" 1
ec2 replace-route --route-table-id $RTB1 --destination-cidr-block $DEST \
	--instance-id $I_A >"$T/out" 2>&1
expect_eq "replace-route by InstanceId maps to the ENI" "$(route_of $RTB1 $DEST)" "$ENI_A"
out=$(ec2 replace-route --route-table-id $RTB3 --destination-cidr-block $DEST \
	--network-interface-id $ENI_C 2>&1)
has "replace on a missing route: InvalidParameterValue, use CreateRoute" "$out" \
	"(InvalidParameterValue)" "There is no route defined for '$DEST' in the route table. Use CreateRoute instead."
expect_code "replace to an unknown ENI" InvalidNetworkInterfaceID.NotFound \
	ec2 replace-route --route-table-id $RTB1 --destination-cidr-block $DEST \
	--network-interface-id eni-0123456789abcdef9
expect_code "replace in an unknown table" InvalidRouteTableID.NotFound \
	ec2 replace-route --route-table-id rtb-0deadbeefdeadbeef --destination-cidr-block $DEST \
	--network-interface-id $ENI_C
expect_code "a CIDR with host bits is invalid" InvalidParameterValue \
	ec2 replace-route --route-table-id $RTB1 --destination-cidr-block 10.255.0.10/24 \
	--network-interface-id $ENI_C
check "rejected requests are logged with their code" \
	log_has "^$TS rejected ReplaceRoute rtb-0deadbeefdeadbeef $DEST by $AK1: InvalidRouteTableID.NotFound \(400\)"

# CreateRoute / DeleteRoute
ec2 create-route --route-table-id $RTB3 --destination-cidr-block 10.255.0.30/32 \
	--network-interface-id $ENI_C >"$T/out" 2>&1
expect_eq "create-route exits 0" "$?" 0
expect_eq "create-route added the route" "$(route_of $RTB3 10.255.0.30/32)" "$ENI_C"
check "create-route is logged" log_has "^$TS CreateRoute $RTB3 10\.255\.0\.30/32 - -> $ENI_C by $AK1\$"
out=$(ec2 create-route --route-table-id $RTB3 --destination-cidr-block 10.255.0.30/32 \
	--network-interface-id $ENI_A 2>&1)
has "create on an existing route: RouteAlreadyExists" "$out" "(RouteAlreadyExists)" \
	"The route identified by 10.255.0.30/32 already exists."
ec2 create-route --route-table-id $RTB3 --destination-ipv6-cidr-block 2001:DB8::/64 \
	--network-interface-id $ENI_C >"$T/out" 2>&1
expect_eq "create-route for IPv6 exits 0" "$?" 0
expect_eq "IPv6 destination is stored canonical" "$(route_of $RTB3 2001:db8::/64)" "$ENI_C"
ec2 describe-route-tables --route-table-ids $RTB3 >"$T/out" 2>&1
expect_eq "IPv6 route described as DestinationIpv6CidrBlock" \
	"$(py "[r['NetworkInterfaceId'] for r in d['RouteTables'][0]['Routes'] if r.get('DestinationIpv6CidrBlock') == '2001:db8::/64'][0]" <"$T/out")" \
	"$ENI_C"
ec2 delete-route --route-table-id $RTB3 --destination-cidr-block 10.255.0.30/32 >"$T/out" 2>&1
expect_eq "delete-route exits 0" "$?" 0
expect_eq "delete-route removed the route" "$(route_of $RTB3 10.255.0.30/32)" none
check "delete-route is logged" log_has "^$TS DeleteRoute $RTB3 10\.255\.0\.30/32 $ENI_C -> - by $AK1\$"
expect_code "delete of a missing route: InvalidRoute.NotFound" InvalidRoute.NotFound \
	ec2 delete-route --route-table-id $RTB3 --destination-cidr-block 10.255.0.30/32
expect_code "the local route cannot be deleted" InvalidParameterValue \
	ec2 delete-route --route-table-id $RTB3 --destination-cidr-block 198.18.0.0/16

# DryRun and permissions
sim_post /_sim/stats/reset >/dev/null
expect_code "replace-route --dry-run: DryRunOperation" DryRunOperation \
	ec2 replace-route --dry-run --route-table-id $RTB1 --destination-cidr-block $DEST \
	--network-interface-id $ENI_C
expect_eq "dry run changed nothing" "$(route_of $RTB1 $DEST)/$(stat "d['writes']")" "$ENI_A/0"
expect_code "describe --dry-run: DryRunOperation" DryRunOperation ec2 describe-route-tables --dry-run
expect_code "denied action: UnauthorizedOperation" UnauthorizedOperation \
	aws_at "$SIM_URL" "$AK2" "$SK2" "" create-route --route-table-id $RTB3 \
	--destination-cidr-block 10.255.0.31/32 --network-interface-id $ENI_C
expect_code "denied action with --dry-run: UnauthorizedOperation" UnauthorizedOperation \
	aws_at "$SIM_URL" "$AK2" "$SK2" "" create-route --dry-run --route-table-id $RTB3 \
	--destination-cidr-block 10.255.0.31/32 --network-interface-id $ENI_C
aws_at "$SIM_URL" "$AK2" "$SK2" "" describe-route-tables --route-table-ids $RTB1 >"$T/out" 2>&1
expect_eq "the denied key may still describe" "$?" 0
expect_eq "denied call wrote nothing" "$(route_of $RTB3 10.255.0.31/32)" none
# a deny list set at run time: for a key, and for an instance role's
# temporary credentials
sim_post /_sim/deny "{\"access_key_id\":\"$AK1\",\"deny\":[\"DescribeNetworkInterfaces\"]}" >/dev/null
expect_code "a key denied at run time: UnauthorizedOperation" UnauthorizedOperation \
	ec2 describe-network-interfaces --dry-run
sim_post /_sim/deny "{\"access_key_id\":\"$AK1\",\"deny\":[]}" >/dev/null
expect_code "and allowed again" DryRunOperation ec2 describe-network-interfaces --dry-run
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST --data '{"role":"nope","deny":[]}' "$SIM_URL/_sim/deny")
expect_eq "deny for an unknown role: 404" "$code" 404

# signatures
expect_code "wrong secret: AuthFailure" AuthFailure \
	aws_at "$SIM_URL" "$AK1" "wrong$SK1" "" describe-route-tables
expect_code "unknown key: AuthFailure" AuthFailure \
	aws_at "$SIM_URL" AKIAUNKNOWN000000000 "$SK1" "" describe-route-tables
check "AuthFailure is logged with the reason" \
	log_has "^$TS rejected DescribeRouteTables by $AK1: AuthFailure \(401\): signature does not match"
out=$(curl_ec2 "$AK1:$SK1" "Action=ReplaceRoute&Version=2016-11-15&RouteTableId=$RTB1&DestinationCidrBlock=10.255.0.10%2F32&NetworkInterfaceId=$ENI_C")
has "libcurl CURLOPT_AWS_SIGV4 verifies (ReplaceRoute 200)" "$out" \
	"<return>true</return></ReplaceRouteResponse>${NL}200"
expect_eq "libcurl's ReplaceRoute applied" "$(route_of $RTB1 $DEST)" "$ENI_C"
out=$(curl_ec2 "$AK1:x$SK1" "Action=DescribeRouteTables&Version=2016-11-15")
has "libcurl with a wrong secret: 401 AuthFailure" "$out" "<Code>AuthFailure</Code>" \
	"<Message>AWS was not able to validate the provided access credentials</Message>" "${NL}401"
out=$(sign "$AK1" "$SK1" "Action=DescribeRouteTables&Version=2016-11-15&RouteTableId.1=$RTB2")
expect_eq "an independent signer verifies" "$(echo "$out" | head -1)" 200
has "the success body is EC2's XML" "$out" \
	"200${NL}<?xml version=\"1.0\" encoding=\"UTF-8\"?>${NL}<DescribeRouteTablesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>" \
	"<routeTableSet><item><routeTableId>$RTB2</routeTableId>"
out=$(sign "$AK1" "$SK1" "Action=DescribeRouteTables&Version=2016-11-15" 20200101T000000Z)
has "a date 5+ minutes off: 400 RequestExpired" "$out" "400${NL}" "<Code>RequestExpired</Code>"
out=$(sign "$AK1" "$SK1" "Action=DescribeRouteTables&Version=2016-11-15" "" \
	"Action=DeleteRoute&Version=2016-11-15")
has "a body other than the signed one: AuthFailure" "$out" "401${NL}" "<Code>AuthFailure</Code>"
out=$(curl -sS --max-time 5 -d "Action=DescribeRouteTables&Version=2016-11-15" -w '\n%{http_code}' "$SIM_URL/")
has "an unsigned call: AuthFailure" "$out" "<Code>AuthFailure</Code>" "${NL}401"
out=$(curl_ec2 "$AK1:$SK1" "Action=RebootInstances&Version=2016-11-15")
has "unknown action: InvalidAction" "$out" "<Code>InvalidAction</Code>" "${NL}400"
out=$(curl_ec2 "$AK1:$SK1" "Action=ReplaceRoute&Version=2016-11-15&DestinationCidrBlock=10.255.0.10%2F32&NetworkInterfaceId=$ENI_C")
has "missing RouteTableId: MissingParameter" "$out" "<Code>MissingParameter</Code>" routeTableId "${NL}400"
code=$(head -c 70000 /dev/zero | tr '\0' a | curl -sS --max-time 5 -o /dev/null -w '%{http_code}' --data-binary @- "$SIM_URL/")
expect_eq "a body over 64 KiB: 413" "$code" 413

# control API
sim_post /_sim/route "{\"table\":\"$RTB2\",\"dest\":\"$DEST\",\"eni\":\"$ENI_C\"}" >/dev/null
expect_eq "control route set" "$(route_of $RTB2 $DEST)" "$ENI_C"
check "control route change is logged" log_has "^$TS SimSetRoute $RTB2 10\.255\.0\.10/32 $ENI_A -> $ENI_C by control\$"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST --data '{"table":"rtb-x","dest":"10.0.0.0/8","eni":"eni-1"}' "$SIM_URL/_sim/route")
expect_eq "control route on an unknown table: 404" "$code" 404
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST --data '{"latency_ms":-1}' "$SIM_URL/_sim/faults")
expect_eq "a bad fault value: 400" "$code" 400
expect_eq "faults unchanged after a bad value" "$(sim_get /_sim/faults | py "d['latency_ms']")" 0

# IMDSv2
tok=$(imds_token "$SIM_URL" 60)
check "IMDS token issued" test "${#tok}" -ge 32
expect_eq "IMDS without a token: 401" "$(imds_get "$SIM_URL" meta-data/instance-id | tail -1)" 401
expect_eq "IMDS with a made-up token: 401" "$(imds_get "$SIM_URL" meta-data/instance-id bogus | tail -1)" 401
expect_eq "IMDS instance-id" "$(imds_get "$SIM_URL" meta-data/instance-id "$tok" | tr '\n' ' ')" "$I_A 200"
expect_eq "IMDS region and AZ" \
	"$(imds_get "$SIM_URL" meta-data/placement/region "$tok" | head -1) $(imds_get "$SIM_URL" meta-data/placement/availability-zone "$tok" | head -1)" \
	"us-east-1 us-east-1a"
mac=$(imds_get "$SIM_URL" meta-data/mac "$tok" | head -1)
expect_eq "IMDS mac -> interface-id" \
	"$(imds_get "$SIM_URL" "meta-data/network/interfaces/macs/$mac/interface-id" "$tok" | head -1)" "$ENI_A"
expect_eq "IMDS role name" "$(imds_get "$SIM_URL" meta-data/iam/security-credentials/ "$tok" | head -1)" vpcf-node
expect_eq "IMDS unknown path: 404" "$(imds_get "$SIM_URL" meta-data/no/such "$tok" | tail -1)" 404
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 21601" "$SIM_URL/latest/api/token")
expect_eq "IMDS token TTL above 21600: 400" "$code" 400
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X PUT "$SIM_URL/latest/api/token")
expect_eq "IMDS token without a TTL: 400" "$code" 400
imds_get "$SIM_URL" meta-data/iam/security-credentials/vpcf-node "$tok" | head -n -1 >"$T/creds.json"
expect_eq "IMDS credentials JSON" \
	"$(py "d['Code'] + ' ' + d['Type'] + ' ' + d['AccessKeyId'][:4] + ' ' + str(len(d['Token']) > 0) + ' ' + d['Expiration'][-1]" <"$T/creds.json")" \
	"Success AWS-HMAC ASIA True Z"
tak=$(py "d['AccessKeyId']" <"$T/creds.json")
tsk=$(py "d['SecretAccessKey']" <"$T/creds.json")
ttok=$(py "d['Token']" <"$T/creds.json")
ec2_tmp() { aws_at "$SIM_URL" "$tak" "$tsk" "$1" "${@:2}"; }
ec2_tmp "$ttok" replace-route --route-table-id $RTB1 --destination-cidr-block $DEST \
	--network-interface-id $ENI_A >"$T/out" 2>&1
expect_eq "awscli with IMDS temporary credentials exits 0" "$?" 0
expect_eq "temporary credentials wrote the route" "$(route_of $RTB1 $DEST)" "$ENI_A"
check "the write is logged with the temporary key id" log_has "^$TS ReplaceRoute $RTB1 .* by $tak\$"
sim_post /_sim/deny '{"role":"vpcf-node","deny":["ReplaceRoute"]}' >/dev/null
expect_code "a role's deny list applies to its temporary credentials" UnauthorizedOperation \
	ec2_tmp "$ttok" replace-route --dry-run --route-table-id $RTB1 --destination-cidr-block $DEST \
	--network-interface-id $ENI_A
expect_code "and only to the actions it names" DryRunOperation \
	ec2_tmp "$ttok" create-route --dry-run --route-table-id $RTB1 --destination-cidr-block 10.255.0.99/32 \
	--network-interface-id $ENI_A
sim_post /_sim/deny '{"role":"vpcf-node","deny":[]}' >/dev/null
check "run-time deny lists are logged" log_has "^$TS SimDeny role vpcf-node: 1 action\\(s\\)\$"
expect_code "temporary credentials with a wrong token: AuthFailure" AuthFailure \
	ec2_tmp "x$ttok" describe-route-tables
expect_code "temporary credentials without a token: AuthFailure" AuthFailure \
	ec2_tmp "" describe-route-tables
sim_post /_sim/imds/expire-tokens >/dev/null
expect_eq "expired IMDS token: 401" "$(imds_get "$SIM_URL" meta-data/instance-id "$tok" | tail -1)" 401
tok=$(imds_token "$SIM_URL" 60)
sim_post /_sim/imds/expire-tokens '{"after_requests": 1}' >/dev/null
expect_eq "expire after 1 request: that request still works" "$(imds_get "$SIM_URL" meta-data/instance-id "$tok" | tail -1)" 200
expect_eq "expire after 1 request: the next one is 401" "$(imds_get "$SIM_URL" meta-data/instance-id "$tok" | tail -1)" 401
tok=$(imds_token "$SIM_URL" 1)
sleep 1.2
expect_eq "a token past its TTL: 401" "$(imds_get "$SIM_URL" meta-data/instance-id "$tok" | tail -1)" 401
sim_post /_sim/imds/down '{"down": true}' >/dev/null
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$SIM_URL/latest/api/token")
expect_eq "IMDS down: 503" "$code" 503
sim_post /_sim/imds/down '{"down": false}' >/dev/null
tok=$(imds_token "$SIM_URL" 60)
expect_eq "IMDS back up" "$(imds_get "$SIM_URL" meta-data/instance-id "$tok" | tail -1)" 200
check "IMDS token requests are counted" test "$(stat "d['imds'].get('token', 0)")" -ge 4
check "no secret, session token or IMDS token in the log" \
	bash -c "! grep -Fq -e '$SK1' -e '$SK2' -e '$tsk' -e '$ttok' -e '$tok' '$T/sim.log'"

# faults
sim_post /_sim/stats/reset >/dev/null
sim_post /_sim/faults '{"throttle": 1.0}' >/dev/null
expect_code "throttle 1.0: RequestLimitExceeded" RequestLimitExceeded ec2 describe-route-tables
sim_post /_sim/faults '{"throttle": 0, "error5xx": 1.0}' >/dev/null
out=$(ec2 describe-route-tables 2>&1)
if [[ $out == *"(InternalError)"* || $out == *"(Unavailable)"* ]]; then
	ok "error5xx 1.0: InternalError or Unavailable"
else
	not_ok "error5xx 1.0: InternalError or Unavailable" "$out"
fi
sim_post /_sim/faults '{"error5xx": 0, "fail_next": 2, "fail_code": "Unavailable"}' >/dev/null
r1=$(curl_ec2 "$AK1:$SK1" "Action=DescribeRouteTables&Version=2016-11-15" | tail -1)
r2=$(curl_ec2 "$AK1:$SK1" "Action=DescribeRouteTables&Version=2016-11-15" | tail -1)
r3=$(curl_ec2 "$AK1:$SK1" "Action=DescribeRouteTables&Version=2016-11-15" | tail -1)
expect_eq "fail_next 2: two failures then success" "$r1 $r2 $r3" "503 503 200"
check "injected errors are logged as such" log_has "^$TS rejected DescribeRouteTables by -: Unavailable \(503\) \(injected\)"
sim_post /_sim/faults '{"reset": 1.0}' >/dev/null
ec2 describe-route-tables >"$T/out" 2>&1
rc=$?
sim_post /_sim/faults '{"reset": 0}' >/dev/null
check "reset 1.0: awscli fails without an answer" test "$rc" != 0
expect_eq "the reset is counted" "$(stat "d['errors'].get('ConnectionReset', 0)")" 1
sim_post /_sim/faults '{"stall_ratio": 1.0, "stall_ms": 3000}' >/dev/null
curl_ec2 "$AK1:$SK1" "Action=DescribeRouteTables&Version=2016-11-15" >/dev/null 2>&1 &
stalled=$!
sleep 0.5
sim_post /_sim/faults '{"stall_ratio": 0}' >/dev/null
start=$(date +%s%N)
code=$(curl_ec2 "$AK1:$SK1" "Action=DescribeRouteTables&Version=2016-11-15" | tail -1)
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "a stalled call does not block others" "$code" 200
check "the other call was quick (${ms} ms)" test "$ms" -lt 2000
wait "$stalled"
expect_eq "fault counters: 1 throttled, 3 5xx" \
	"$(stat "d['errors'].get('RequestLimitExceeded', 0), d['errors'].get('InternalError', 0) + d['errors'].get('Unavailable', 0)")" "(1, 3)"
sim_post /_sim/faults '{"latency_ms": 1000}' >/dev/null
sim_post /_sim/stats/reset >/dev/null
start=$(date +%s%N)
par=()
for i in 1 2 3; do
	curl_ec2 "$AK1:$SK1" "Action=DescribeRouteTables&Version=2016-11-15" >"$T/par$i" 2>&1 &
	par+=($!)
done
wait "${par[@]}"
ms=$((($(date +%s%N) - start) / 1000000))
sim_post /_sim/faults '{"latency_ms": 0}' >/dev/null
check "latency 1000 ms applied (${ms} ms)" test "$ms" -ge 1000
check "latency sleeps outside the lock: 3 parallel calls overlap (${ms} ms)" test "$ms" -lt 2500
expect_eq "3 calls were in flight at once" "$(stat "d['max_concurrent']")" 3
expect_eq "all 3 parallel calls succeeded" "$(for i in 1 2 3; do tail -n1 "$T/par$i"; echo; done | tr '\n' ' ')" "200 200 200 "

# EC2's account-wide throttling: token buckets shared by every client
rl() { sim_get /_sim/ratelimit | py "$1"; }
expect_eq "rate limit off by default, buckets at EC2's documented sizes" \
	"$(rl "(d['enabled'], [(k, v['burst'], v['refill']) for k, v in d['buckets'].items()])")" \
	"(False, [('mutating', 50.0, 5.0), ('non-mutating', 100.0, 20.0), ('DescribeNetworkInterfaces', 50.0, 10.0)])"
code=$(curl -sS --max-time 5 -o "$T/out" -w '%{http_code}' -X POST \
	--data '{"buckets": {"mutating": {"burst": 0}}}' "$SIM_URL/_sim/ratelimit")
expect_eq "a zero burst is refused (400) naming the key" "$code $(grep -o 'buckets.mutating.burst' "$T/out")" \
	"400 buckets.mutating.burst"
sim_post /_sim/stats/reset >/dev/null
sim_post /_sim/ratelimit '{"enabled": true, "buckets": {"mutating": {"burst": 3, "refill": 0.1}}}' >/dev/null
wr="Action=ReplaceRoute&Version=2016-11-15&RouteTableId=$RTB1&DestinationCidrBlock=10.255.0.10%2F32&NetworkInterfaceId=$ENI_A"
codes=$(for i in 1 2 3 4 5; do curl_ec2 "$AK1:$SK1" "$wr" | tail -1; echo; done | tr '\n' ' ')
expect_eq "burst 3: three writes pass, then 503 (one account, one bucket)" "$codes" "200 200 200 503 503 "
expect_code "awscli reads the bucket's 503 as RequestLimitExceeded" RequestLimitExceeded \
	ec2 replace-route --route-table-id $RTB1 --destination-cidr-block 10.255.0.10/32 \
	--network-interface-id $ENI_A
expect_eq "describes draw from their own bucket" \
	"$(curl_ec2 "$AK2:$SK2" "Action=DescribeRouteTables&Version=2016-11-15" | tail -1)" 200
sim_post /_sim/ratelimit '{"buckets": {"mutating": {"refill": 4}}}' >/dev/null
sleep 0.6
expect_eq "refill 4/s: a write passes again 0.6 s later" "$(curl_ec2 "$AK1:$SK1" "$wr" | tail -1)" 200
expect_eq "control API: taken and throttled per bucket" \
	"$(rl "d['buckets']['mutating']['taken'], d['buckets']['mutating']['throttled'], d['buckets']['non-mutating']['taken'], 0 <= d['buckets']['mutating']['level'] <= 3")" \
	"(4, 3, 1, True)"
expect_eq "throttled calls count as RequestLimitExceeded in the stats" \
	"$(stat "d['errors'].get('RequestLimitExceeded', 0), d['ratelimit']['buckets']['mutating']['throttled']")" "(3, 3)"
check "a throttled call is logged with its bucket's level" \
	log_has "^$TS rejected ReplaceRoute $RTB1 10\.255\.0\.10/32 by -: RequestLimitExceeded \(503\) \(rate limit: mutating 0\.[0-9]+/3\)\$"
check "the bucket's emptying is logged" log_has "^$TS ratelimit mutating empty \(burst 3, refill 0.1/s\)\$"
sim_post /_sim/ratelimit '{"enabled": false}' >/dev/null
expect_eq "rate limit off again: writes pass" "$(curl_ec2 "$AK1:$SK1" "$wr" | tail -1)" 200

###########################################################################
# The faults behind failover races, each on a simulator of its own and
# replayable from --seed: a slow client, random delays that reorder
# concurrent calls, writes applied but answered with a closed connection,
# and describes that lag writes.
MAIN_URL=$SIM_URL
# race_sim NAME ARGS...: start one (change log $T/NAME.log = $RLOG); SIM_URL
# points at it until the next
race_sim() {
	local name=$1
	shift
	rm -f "$T/$name.port"
	spawn "$T/$name.out" "$VPCSIM" --state "$STATE" --listen 127.0.0.1:0 \
		--port-file "$T/$name.port" --log "$T/$name.log" "$@"
	RACE_PID=$SPAWNED_PID
	RLOG=$T/$name.log
	if ! wait_for 10 test -s "$T/$name.port"; then
		not_ok "simulator $name started" "$(tr '\n' ' ' <"$T/$name.out")"
		return 1
	fi
	SIM_URL="http://127.0.0.1:$(head -1 "$T/$name.port")"
}
race_stop() {
	kill "$RACE_PID"
	wait "$RACE_PID" 2>/dev/null
}
# the first line of $RLOG matching an ERE (0: none)
line_of() { grep -n -E -m1 "$1" "$RLOG" | cut -d: -f1 | grep . || echo 0; }
q_route() { # ACTION TABLE DEST [ENI]: a route call's form body
	echo "Action=$1&Version=2016-11-15&RouteTableId=$2&DestinationCidrBlock=${3/\//%2F}${4:+&NetworkInterfaceId=$4}"
}
Q_DESCRIBE="Action=DescribeRouteTables&Version=2016-11-15"
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# shown TABLE DEST: where a DescribeRouteTables call shows TABLE's route to
# DEST ("none": not there)
shown() {
	curl_ec2 "$AK1:$SK1" "$Q_DESCRIBE&RouteTableId.1=$1" | /usr/bin/python3 -c "
import re, sys
m = re.search(r'<destinationCidrBlock>$2</destinationCidrBlock><networkInterfaceId>([^<]*)<', sys.stdin.read())
print(m.group(1) if m else 'none')"
}
# bad_fault JSON KEY: POST /_sim/faults answers 400 with an error naming KEY
bad_fault() {
	local out
	out=$(curl -sS --max-time 5 -w '\n%{http_code}' -X POST --data "$1" "$SIM_URL/_sim/faults")
	has "faults $1: 400 naming $2" "$out" "{\"error\":" "\\\"$2\\\"" "${NL}400"
}

# slow client, by access key: key 2's write is sent first but waits 1 s;
# key 1's, sent 0.3 s later, lands first, and key 2's overwrites it, as a
# demoted node's late write does
race_sim slow --slow "$AK2=1000"
start=$(date +%s%N)
curl_ec2 "$AK2:$SK2" "$(q_route ReplaceRoute $RTB1 $DEST $ENI_C)" >"$T/slow2" 2>&1 &
slow_pid=$!
sleep 0.3
out=$(curl_ec2 "$AK1:$SK1" "$(q_route ReplaceRoute $RTB1 $DEST $ENI_A)")
ms1=$(ms_since "$start")
wait "$slow_pid"
ms2=$(ms_since "$start")
has "slow: the fast client's write is answered" "$out" "<return>true</return>" "${NL}200"
check "slow: ... within 0.8 s of the slow one's start (${ms1} ms)" test "$ms1" -lt 800
has "slow: the slow client's write is answered too" "$(cat "$T/slow2")" "<return>true</return>" "${NL}200"
check "slow: ... after its 1 s wait (${ms2} ms)" test "$ms2" -ge 1000
l_slow=$(line_of "slow ReplaceRoute \(injected\): waits 1000 ms, client $AK2 at 127\.0\.0\.1\$")
l_fast=$(line_of "ReplaceRoute $RTB1 10\.255\.0\.10/32 $ENI_A -> $ENI_A by $AK1\$")
l_late=$(line_of "ReplaceRoute $RTB1 10\.255\.0\.10/32 $ENI_A -> $ENI_C by $AK2\$")
check "slow: change log: key 2 arrived first, key 1 applied, then key 2 ($l_slow < $l_fast < $l_late)" \
	test 0 -lt "$l_slow" -a "$l_slow" -lt "$l_fast" -a "$l_fast" -lt "$l_late"
expect_eq "slow: the late write is what stays" "$(route_of $RTB1 $DEST)" "$ENI_C"
# by source address, through the control API (replacing the list)
sim_post /_sim/faults '{"slow": {"127.0.0.1": 600}}' >/dev/null
expect_eq "slow: GET /_sim/faults shows the clients" "$(sim_get /_sim/faults | py "d['slow']")" "{'127.0.0.1': 600}"
start=$(date +%s%N)
code=$(curl_ec2 "$AK1:$SK1" "$Q_DESCRIBE" | tail -1)
ms=$(ms_since "$start")
check "slow: a call from 127.0.0.1 waits 600 ms ($code, ${ms} ms)" test "$code" = 200 -a "$ms" -ge 600
sim_post /_sim/faults '{"slow": {}}' >/dev/null
start=$(date +%s%N)
code=$(curl_ec2 "$AK1:$SK1" "$Q_DESCRIBE" | tail -1)
ms=$(ms_since "$start")
check "slow: {} clears the list ($code, ${ms} ms)" test "$code" = 200 -a "$ms" -lt 500
bad_fault '{"slow": {"not a client": 5}}' slow
bad_fault '{"slow": {"127.0.0.1": -5}}' slow
bad_fault '{"slow": []}' slow
race_stop

# random delay: 20 concurrent CreateRoutes, sent 20 ms apart, are applied in
# another order; the same seed draws the same delays
delay_run() { # N: run N, writes $T/delay$N.{order,delays}
	local i pids=()
	race_sim "delay$1" --seed 42 --delay 0-300 || return 1
	for i in $(seq 1 20); do
		curl_ec2 "$AK1:$SK1" "$(q_route CreateRoute $RTB3 10.255.1.$i/32 $ENI_A)" >"$T/d$i" 2>&1 &
		pids+=($!)
		sleep 0.02
	done
	wait "${pids[@]}"
	grep -oE "CreateRoute $RTB3 10\.255\.1\.[0-9]+/32" "$RLOG" | sed -E 's/.*\.([0-9]+)\/32/\1/' |
		tr '\n' ' ' >"$T/delay$1.order"
	grep -oE '^[^ ]+ delay CreateRoute \(injected\): waits [0-9]+ ms' "$RLOG" | grep -oE '[0-9]+ ms' |
		tr '\n' ' ' >"$T/delay$1.delays"
	race_stop
}
delay_run 1
delay_run 2
expect_eq "delay: all 20 writes applied" "$(wc -w <"$T/delay1.order")" 20
check "delay: applied in another order than sent ($(cat "$T/delay1.order"))" \
	test "$(cat "$T/delay1.order")" != "$(seq 1 20 | tr '\n' ' ')"
check "delay: each call's delay is logged, within 0..300 ms" /usr/bin/python3 -c "
import sys; v = [int(x) for x in open('$T/delay1.delays').read().split() if x != 'ms']
sys.exit(0 if len(v) == 20 and min(v) >= 0 and max(v) <= 300 and len(set(v)) > 10 else 1)"
expect_eq "delay: the same seed draws the same delays" "$(cat "$T/delay2.delays")" "$(cat "$T/delay1.delays")"
# long-tailed: one call at a time, so each call's delay is replayed
pareto_run() { # N
	local i
	race_sim "pareto$1" --seed 7 --delay 20-500 --delay-dist pareto || return 1
	for i in $(seq 1 20); do curl_ec2 "$AK1:$SK1" "$Q_DESCRIBE" >/dev/null 2>&1; done
	grep -oE 'delay DescribeRouteTables \(injected\): waits [0-9]+ ms' "$RLOG" | grep -oE '[0-9]+ ms' |
		tr '\n' ' ' >"$T/pareto$1.delays"
	sim_get /_sim/faults | py "d['delay_min_ms'], d['delay_max_ms'], d['delay_dist']" >"$T/pareto$1.faults"
	race_stop
}
pareto_run 1
pareto_run 2
expect_eq "pareto: GET /_sim/faults shows the delay" "$(cat "$T/pareto1.faults")" "(20, 500, 'pareto')"
check "pareto: most calls wait near 20 ms, a few long, none over 500 ($(cat "$T/pareto1.delays"))" \
	/usr/bin/python3 -c "
import sys; v = sorted(int(x) for x in open('$T/pareto1.delays').read().split() if x != 'ms')
sys.exit(0 if len(v) == 20 and v[0] >= 20 and v[-1] <= 500 and v[10] < 80 and v[-1] > 260 else 1)"
expect_eq "pareto: the same seed gives each call the same delay" "$(cat "$T/pareto2.delays")" "$(cat "$T/pareto1.delays")"
race_sim delayctl || true
bad_fault '{"delay_dist": "normal"}' delay_dist
bad_fault '{"delay_min_ms": 500, "delay_max_ms": 100}' delay_min_ms
bad_fault '{"delay_max_ms": 700000}' delay_max_ms
sim_post /_sim/faults '{"delay_min_ms": 200, "delay_max_ms": 200}' >/dev/null
start=$(date +%s%N)
code=$(curl_ec2 "$AK1:$SK1" "$Q_DESCRIBE" | tail -1)
ms=$(ms_since "$start")
check "delay set through the control API: 200 ms ($code, ${ms} ms)" test "$code" = 200 -a "$ms" -ge 200
race_stop

# applied, answer lost: the write is made, the connection closed unanswered
race_sim lost --lost-answer 1
curl_ec2 "$AK1:$SK1" "$(q_route CreateRoute $RTB3 10.255.0.77/32 $ENI_A)" >"$T/out" 2>&1
expect_eq "lost answer: curl gets an empty reply (exit 52)" "$?" 52
expect_eq "lost answer: the route was created all the same" "$(route_of $RTB3 10.255.0.77/32)" "$ENI_A"
check "lost answer: the change log marks it" \
	grep -Eq "^$TS CreateRoute $RTB3 10\.255\.0\.77/32 - -> $ENI_A by $AK1 \(answer lost\)\$" "$RLOG"
expect_code "lost answer: awscli's retried CreateRoute meets RouteAlreadyExists" RouteAlreadyExists \
	ec2 create-route --route-table-id $RTB3 --destination-cidr-block 10.255.0.77/32 --network-interface-id $ENI_A
curl_ec2 "$AK1:$SK1" "$(q_route ReplaceRoute $RTB1 $DEST $ENI_C)" >"$T/out" 2>&1
expect_eq "lost answer: a ReplaceRoute too (exit 52)" "$?" 52
expect_eq "lost answer: ... and it was applied" "$(route_of $RTB1 $DEST)" "$ENI_C"
expect_eq "lost answer: describes are answered" "$(curl_ec2 "$AK1:$SK1" "$Q_DESCRIBE" | tail -1)" 200
expect_eq "lost answer: counted as AnswerLost, the writes as writes" \
	"$(stat "d['errors'].get('AnswerLost'), d['writes'], d['errors'].get('RouteAlreadyExists')")" "(2, 2, 1)"
bad_fault '{"lost_answer": 1.5}' lost_answer
race_stop
lost_run() { # N: 12 ReplaceRoutes with --lost-answer 0.5: curl's exit codes
	local i
	race_sim "lost$1" --seed 5 --lost-answer 0.5 || return 1
	for i in $(seq 1 12); do
		curl_ec2 "$AK1:$SK1" "$(q_route ReplaceRoute $RTB1 $DEST $ENI_C)" >/dev/null 2>&1
		printf '%s ' $?
	done >"$T/lost$1.rc"
	race_stop
}
lost_run 1
lost_run 2
check "lost answer 0.5: some answers lost, some not ($(cat "$T/lost1.rc"))" \
	bash -c "grep -q 52 '$T/lost1.rc' && grep -qw 0 '$T/lost1.rc'"
expect_eq "lost answer 0.5: the same seed loses the same answers" "$(cat "$T/lost2.rc")" "$(cat "$T/lost1.rc")"

# eventual consistency: for 2 s after a write, describes show the route as
# it was; /_sim/routes and the writes see the truth
race_sim stale --stale-ms 2000
start=$(date +%s%N)
code=$(curl_ec2 "$AK1:$SK1" "$(q_route ReplaceRoute $RTB1 $DEST $ENI_C)" | tail -1)
expect_eq "stale: ReplaceRoute answered" "$code" 200
expect_eq "stale: a describe right after still shows the old target" "$(shown $RTB1 $DEST)" "$ENI_A"
expect_eq "stale: /_sim/routes shows the new one" "$(route_of $RTB1 $DEST)" "$ENI_C"
curl_ec2 "$AK1:$SK1" "$(q_route CreateRoute $RTB3 10.255.0.88/32 $ENI_A)" >/dev/null
expect_eq "stale: a route just created is not shown yet" "$(shown $RTB3 10.255.0.88/32)" none
has "stale: but creating it again meets RouteAlreadyExists" \
	"$(curl_ec2 "$AK1:$SK1" "$(q_route CreateRoute $RTB3 10.255.0.88/32 $ENI_A)")" \
	"<Code>RouteAlreadyExists</Code>" "${NL}400"
curl_ec2 "$AK1:$SK1" "$(q_route DeleteRoute $RTB2 $DEST)" >/dev/null
expect_eq "stale: a route just deleted is still shown" "$(shown $RTB2 $DEST)" "$ENI_A"
has "stale: but replacing it fails: no route" \
	"$(curl_ec2 "$AK1:$SK1" "$(q_route ReplaceRoute $RTB2 $DEST $ENI_C)")" \
	"<Code>InvalidParameterValue</Code>" "There is no route defined" "${NL}400"
sim_post /_sim/route "{\"table\":\"$RTB2\",\"dest\":\"10.255.0.20/32\",\"eni\":\"$ENI_C\"}" >/dev/null
expect_eq "stale: a control-API write lags too" "$(shown $RTB2 10.255.0.20/32)" eni-0deaddeaddeaddead
check "stale: describes showing a lagging route are logged" \
	grep -Eq "^$TS stale DescribeRouteTables by $AK1 \(injected\): $RTB1 10\.255\.0\.10/32 shown as $ENI_A, is $ENI_C \(changed [0-9]+ ms ago\)\$" "$RLOG"
shows() { test "$(shown "$1" "$2")" = "$3"; } # TABLE DEST ENI
wait_for 5 shows $RTB1 $DEST $ENI_C
ms=$(ms_since "$start")
check "stale: the new target shows once 2 s have passed (${ms} ms)" test "$ms" -ge 2000 -a "$ms" -lt 5000
check "stale: then the created route shows" wait_for 5 shows $RTB3 10.255.0.88/32 $ENI_A
check "stale: and the deleted one is gone" wait_for 5 shows $RTB2 $DEST none
sim_post /_sim/faults '{"stale_ms": 0}' >/dev/null
curl_ec2 "$AK1:$SK1" "$(q_route ReplaceRoute $RTB1 $DEST $ENI_A)" >/dev/null
expect_eq "stale_ms 0 through the control API: consistent again" "$(shown $RTB1 $DEST)" "$ENI_A"
bad_fault '{"stale_ms": "soon"}' stale_ms
bad_fault '{"stale_ms": 100, "lost_answer": 2}' lost_answer
expect_eq "a refused POST changes no fault" "$(sim_get /_sim/faults | py "d['stale_ms'], d['lost_answer']")" "(0, 0.0)"
race_stop
SIM_URL=$MAIN_URL

###########################################################################
# STS: AssumeRole across accounts (tests/data/sim/accounts.json: the VPC and
# rtb 1 belong to the network account 111111111111, the keys and instances
# to the workload account 222222222222). awscli parses the answers and the
# errors as botocore would from STS; curl's SigV4 covers the rest quickly.
WK1=AKIAWORKLOAD00000001 WS1=vpcsimWorkloadKey000000000000000000000001
WK2=AKIAWORKLOAD00000002 WS2=vpcsimWorkloadKey000000000000000000000002
ROLE=arn:aws:iam::111111111111:role/vpcf-routes
NRTB1=rtb-00000000000000001 NRTB2=rtb-00000000000000002 NENI_C=eni-0ccccccccccccccc3
# sts_at AKID SECRET TOKEN sts-args...: awscli's sts against the simulator
sts_at() {
	local ak=$1 sk=$2 tok=$3
	shift 3
	env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_REGION -u AWS_DEFAULT_REGION \
		-u AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID="$ak" AWS_SECRET_ACCESS_KEY="$sk" \
		${tok:+AWS_SESSION_TOKEN="$tok"} AWS_EC2_METADATA_DISABLED=true \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_MAX_ATTEMPTS=1 \
		AWS_PAGER= "$AWS" --region us-east-1 --endpoint-url "$SIM_URL" \
		--cli-read-timeout 5 --cli-connect-timeout 5 --output json sts "$@"
}
# curl_sts AKID:SECRET BODY [TOKEN]: libcurl's SigV4 for sts; body + status
curl_sts() {
	curl -sS --max-time 10 --aws-sigv4 "aws:amz:us-east-1:sts" --user "$1" \
		${3:+-H "X-Amz-Security-Token: $3"} -d "$2" -w '\n%{http_code}' "$SIM_URL/"
}
q_assume() { # ARN [EXTRA]: an AssumeRole form body
	echo "Action=AssumeRole&Version=2011-06-15&RoleArn=${1//:/%3A}&RoleSessionName=t-1${2:-}"
}
SAVED_STATE=$STATE
STATE=$TOP/tests/data/sim/accounts.json
if race_sim sts --sts-ttl 600; then
	sts_at $WK1 $WS1 "" assume-role --role-arn $ROLE --role-session-name vpcf-i-1 \
		--external-id vpcf-ext-0001 --duration-seconds 900 >"$T/ar.json" 2>&1
	expect_eq "awscli sts assume-role exits 0" "$?" 0
	has "assume-role: awscli reads the assumed role and ASIA keys" "$(cat "$T/ar.json")" \
		'"Arn": "arn:aws:sts::111111111111:assumed-role/vpcf-routes/vpcf-i-1"' \
		'"AccessKeyId": "ASIA' '"SessionToken": "' '"Expiration": "'
	read -r SAK SSK STK SEXP < <(py "' '.join(d['Credentials'][k] for k in ('AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration'))" <"$T/ar.json")
	left=$(( $(date -d "$SEXP" +%s) - $(stat "d['time']") ))
	check "--sts-ttl 600 beats DurationSeconds 900 ($left s left)" test "$left" -gt 590 -a "$left" -le 600
	aws_at "$SIM_URL" "$SAK" "$SSK" "$STK" replace-route --route-table-id $NRTB1 \
		--destination-cidr-block $DEST --network-interface-id $NENI_C >"$T/out" 2>&1
	expect_eq "the assumed role writes its account's table" "$?" 0
	expect_code "the assumed role may not write the workload account's table" UnauthorizedOperation \
		aws_at "$SIM_URL" "$SAK" "$SSK" "$STK" replace-route --route-table-id $NRTB2 \
		--destination-cidr-block $DEST --network-interface-id $NENI_C
	expect_code "the workload key may not write the network account's table (DryRun)" \
		UnauthorizedOperation aws_at "$SIM_URL" $WK1 $WS1 "" replace-route --dry-run \
		--route-table-id $NRTB1 --destination-cidr-block $DEST --network-interface-id $ENI_A
	expect_code "wrong external id: AccessDenied" AccessDenied \
		sts_at $WK1 $WS1 "" assume-role --role-arn $ROLE --role-session-name s1 --external-id nope
	has "AccessDenied names the caller and the role" \
		"$(curl_sts $WK1:$WS1 "$(q_assume arn:aws:iam::111111111111:role/no-trust)")" \
		"<Code>AccessDenied</Code>" \
		"User: arn:aws:iam::222222222222:user/$WK1 is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/no-trust" \
		"${NL}403"
	check "the change log says why (for the test's eyes only)" \
		grep -Eq "rejected AssumeRole by $WK1: AccessDenied \(403\): the role's trust policy does not name" "$RLOG"
	has "a key whose policy denies sts:AssumeRole: AccessDenied" \
		"$(curl_sts $WK2:$WS2 "$(q_assume $ROLE '&ExternalId=vpcf-ext-0001')")" "<Code>AccessDenied</Code>" "${NL}403"
	has "DurationSeconds 100: ValidationError" \
		"$(curl_sts $WK1:$WS1 "$(q_assume $ROLE '&ExternalId=vpcf-ext-0001&DurationSeconds=100')")" \
		"<Code>ValidationError</Code>" "at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900" "${NL}400"
	has "a malformed role ARN: ValidationError" \
		"$(curl_sts $WK1:$WS1 "Action=AssumeRole&Version=2011-06-15&RoleArn=not-an-arn-of-a-role&RoleSessionName=t-1")" \
		"<Code>ValidationError</Code>" "not-an-arn-of-a-role is invalid" "${NL}400"
	has "an unknown key: InvalidClientTokenId" \
		"$(curl_sts AKIANOSUCHKEY0000001:x "$(q_assume $ROLE)")" "<Code>InvalidClientTokenId</Code>" "${NL}403"
	has "a wrong secret: SignatureDoesNotMatch" \
		"$(curl_sts $WK1:wrong "$(q_assume $ROLE)")" "<Code>SignatureDoesNotMatch</Code>" "${NL}403"
	sim_post /_sim/sts/expire >/dev/null
	expect_code "expired assumed credentials: STS says ExpiredToken" ExpiredToken \
		sts_at "$SAK" "$SSK" "$STK" get-caller-identity
	has "and EC2 refuses them (AuthFailure)" \
		"$(curl -sS --max-time 10 --aws-sigv4 "aws:amz:us-east-1:ec2" --user "$SAK:$SSK" \
			-H "X-Amz-Security-Token: $STK" -d "Action=DescribeRouteTables&Version=2016-11-15" \
			-w '\n%{http_code}' "$SIM_URL/")" "<Code>AuthFailure</Code>" "${NL}401"
	check "the change log names key ids, never the issued secrets" \
		bash -c "! grep -qF -e '$SSK' -e '$STK' '$RLOG'"
	check "STS issues are logged" grep -Eq "^$TS sts issued $SAK to $WK1 \($ROLE session vpcf-i-1\) until " "$RLOG"
	race_stop
fi
STATE=$SAVED_STATE
SIM_URL=$MAIN_URL

###########################################################################
# kernel routes: the sim in a "router" namespace mirrors rtb-1 into its
# main table; an "instance" namespace behind a veth asks IMDS at
# 169.254.169.254 and is recognised by its source address. Describes lag
# writes by a minute (--stale-ms): the kernel must not.
NS=$(ns_new router) && NI=$(ns_new inst) || { not_ok "namespaces"; exit 1; }
if ip -n "$NS" link add sim0 type dummy 2>/dev/null; then
	ip -n "$NS" addr add 198.18.1.1/24 dev sim0
	ip -n "$NS" link set sim0 up
	ip link add r-i netns "$NS" type veth peer name eth0 netns "$NI"
else # no dummy module: the veth alone carries both subnets
	ip link add r-i netns "$NS" type veth peer name eth0 netns "$NI"
	ip -n "$NS" addr add 198.18.1.1/24 dev r-i
fi
ip -n "$NS" addr add 198.18.2.1/24 dev r-i
ip -n "$NI" addr add 198.18.2.2/24 dev eth0
ip -n "$NS" link set r-i up
ip -n "$NI" link set eth0 up
ip -n "$NI" route add 169.254.169.254/32 via 198.18.2.1
ip -n "$NS" addr add 169.254.169.254/32 dev lo
rm -f "$T/k.port"
spawn "$T/k.log" ip netns exec "$NS" "$VPCSIM" --state "$STATE" --listen 127.0.0.1:0 \
	--listen 169.254.169.254:80 --port-file "$T/k.port" --kernel-routes --page-size 1 \
	--stale-ms 60000
if ! wait_for 10 test -s "$T/k.port"; then
	not_ok "simulator in a namespace started" "$(tr '\n' ' ' <"$T/k.log")"
	exit 1
fi
KURL="http://127.0.0.1:$(head -1 "$T/k.port")"
nsec2() { NSX=$NS aws_at "$KURL" "$AK1" "$SK1" "" "$@"; }
via() { ip -n "$NS" route get 10.255.0.10 2>&1 | grep -o 'via [0-9.]*'; }
expect_eq "kernel route on start: via node a" "$(via)" "via 198.18.1.2"
nsec2 replace-route --route-table-id $RTB1 --destination-cidr-block $DEST \
	--network-interface-id $ENI_C >"$T/out" 2>&1
expect_eq "replace-route in the namespace exits 0" "$?" 0
expect_eq "kernel route after replace-route: via node c" "$(via)" "via 198.18.2.2"
expect_eq "the kernel follows the true route, not what describes show (--stale-ms)" \
	"$(nsec2 describe-route-tables --route-table-ids $RTB1 | py "[r['NetworkInterfaceId'] for r in d['RouteTables'][0]['Routes'] if r['DestinationCidrBlock'] == '$DEST'][0]")" \
	"$ENI_A"
nsec2 replace-route --route-table-id $RTB2 --destination-cidr-block $DEST \
	--network-interface-id $ENI_C >"$T/out" 2>&1
expect_eq "a write to another table leaves the kernel alone" "$(via)" "via 198.18.2.2"
ip netns exec "$NS" curl -sS --max-time 5 -X POST \
	--data "{\"table\":\"$RTB1\",\"dest\":\"10.255.0.60/32\",\"eni\":\"eni-0deaddeaddeaddead\"}" \
	"$KURL/_sim/route" >/dev/null
check "a route to an unknown ENI is a kernel blackhole" \
	bash -c "ip -n '$NS' route show 10.255.0.60/32 | grep -q '^blackhole'"
nsec2 delete-route --route-table-id $RTB1 --destination-cidr-block $DEST >"$T/out" 2>&1
expect_eq "delete-route in the namespace exits 0" "$?" 0
expect_eq "delete-route removed the kernel route" "$(ip -n "$NS" route show 10.255.0.10/32)" ""
ip netns exec "$NS" curl -sS --max-time 5 -X POST "$KURL/_sim/stats/reset" >/dev/null
nsec2 describe-route-tables >"$T/out" 2>&1
expect_eq "--page-size 1: awscli still sees all tables" "$(py "len(d['RouteTables'])" <"$T/out")" 3
expect_eq "--page-size 1: one call per table" \
	"$(ip netns exec "$NS" curl -sS --max-time 5 "$KURL/_sim/stats" | py "d['actions'].get('DescribeRouteTables')")" 3
ktok=$(ip netns exec "$NI" curl -sS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" \
	http://169.254.169.254/latest/api/token)
expect_eq "IMDS at 169.254.169.254 answers the instance by source address" \
	"$(ip netns exec "$NI" curl -sS --max-time 5 -H "X-aws-ec2-metadata-token: $ktok" \
		http://169.254.169.254/latest/meta-data/instance-id)" "$I_C"
expect_eq "IMDS AZ of that instance" \
	"$(ip netns exec "$NI" curl -sS --max-time 5 -H "X-aws-ec2-metadata-token: $ktok" \
		http://169.254.169.254/latest/meta-data/placement/availability-zone)" "us-east-1c"
check "kernel changes are logged" grep -Eq "^$TS kernel: 10\.255\.0\.10/32 via 198\.18\.2\.2\$" "$T/k.log"
