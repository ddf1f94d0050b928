#!/bin/bash
# vpc-failoverd --check on good and bad configuration files: exit codes,
# "configuration OK", every "file:line: message", usage errors.
# VPCF_BUILD=build/h-x runs the binary of another build directory (lib.sh).
. "$(dirname "$0")/../lib.sh"

DATA=$TOP/tests/data/cfg

# run ARGS...: sets rc, out (stdout) and err (stderr)
run() {
	"$VPCFD" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# has NAME TEXT NEEDLE: TAP line for "NEEDLE is in TEXT"
has() {
	case $2 in
	*"$3"*) ok "$1" ;;
	*) not_ok "$1" "'$3' not in: $2" ;;
	esac
}

if [ ! -x "$VPCFD" ]; then
	not_ok "vpc-failoverd is built" "no $VPCFD (run make)"
	exit 1
fi

# The shipped example must pass: it is what people copy.
run --check -c "$TOP/hooks/vpc-failover.conf.example"
expect_eq "example config: exit 0" "$rc" 0
expect_eq "example config: configuration OK" "$out" "configuration OK"
expect_eq "example config: nothing on stderr" "$err" ""

run -n --config="$DATA/good.conf"
expect_eq "good.conf: exit 0" "$rc" 0
expect_eq "good.conf: configuration OK" "$out" "configuration OK"
expect_eq "good.conf: nothing on stderr" "$err" ""

# credentials_file and ca_file must exist at check time.
printf '[default]\n' >"$T/credentials"
: >"$T/ca.pem"
cat >"$T/files.conf" <<EOF
[aws]
credentials_file = $T/credentials
ca_file = $T/ca.pem
[group g]
vrrp_instance = VI_1
destinations = 10.255.0.10/32
route_tables = rtb-0123abcd
EOF
run --check -c "$T/files.conf"
expect_eq "existing credentials_file and ca_file: exit 0" "$rc" 0
rm "$T/ca.pem"
run --check -c "$T/files.conf"
expect_eq "missing ca_file: exit 1" "$rc" 1
expect_eq "missing ca_file: message" "$err" \
	"vpc-failoverd: $T/files.conf:3: ca_file: '$T/ca.pem': No such file or directory"
expect_eq "missing ca_file: no OK" "$out" ""

# errors.conf: every error reported, in line order, and nothing else.
f=$DATA/errors.conf
run --check -c "$f"
expect_eq "errors.conf: exit 1" "$rc" 1
expect_eq "errors.conf: nothing on stdout" "$out" ""
want=(
	"4: region: 'us-east' is not an AWS region (like us-east-1)"
	"5: endpoint: 'ec2.amazonaws.com' is not an http:// or https:// URL"
	"6: api_deadline: 900 is out of range 1..600"
	"7: request_timeout: 'five' is not a number"
	"9: duplicate key 'max_parallel' in [aws] (first at line 8)"
	"10: unknown key 'timeout' in [aws]"
	"12: unknown section [tuning]"
	"17: destinations: bad CIDR '10.255.0.10/24': host bits set: the network is 10.255.0.0/24"
	"17: destinations: 10.255.0.11/32 is listed twice"
	"18: route_tables: 'rtb-XYZ' is not a route table id"
	"19: network_interface: 'eni-0123' is not an ENI id"
	"21: duplicate group 'db' (first at line 15)"
	"26: group 'cache': set vrrp_instance or vrrp_group, not both"
	"26: group 'cache': no destinations"
	"26: group 'cache': no route_tables"
	"29: destinations: bad CIDR 'fd00::1/64': host bits set: the network is fd00::/64"
	"30: syntax error: want [section], key = value or a comment: 'this line has no equals sign"
)
mapfile -t got <"$T/err"
expect_eq "errors.conf: one line per error" "${#got[@]}" "${#want[@]}"
for i in "${!want[@]}"; do
	case ${got[$i]:-} in
	"vpc-failoverd: $f:${want[$i]}"*) ok "errors.conf line ${want[$i]%%:*}: ${want[$i]#*: }" ;;
	*) not_ok "errors.conf: ${want[$i]}" "got '${got[$i]:-}'" ;;
	esac
done

run --check -c "$DATA/conflict.conf"
expect_eq "conflict.conf: exit 1" "$rc" 1
expect_eq "conflict.conf: the one fight, at the later group" "$err" \
	"vpc-failoverd: $DATA/conflict.conf:13: group 'db3': the route to 10.255.0.10/32 in rtb-0fedcba9876543210 is also claimed by group 'db' (line 3)"

# An over-long line is an error, not silently cut.
{
	printf '[group g]\nvrrp_instance = VI_1\nroute_tables = rtb-0123abcd\ndestinations ='
	for ((i = 0; i < 400; i++)); do printf ' 10.1.%d.%d/32' $((i / 256)) $((i % 256)); done
	printf '\n'
} >"$T/long.conf"
run --check -c "$T/long.conf"
expect_eq "long line: exit 1" "$rc" 1
has "long line: named" "$err" "$T/long.conf:4: line longer than 4096 characters"

run --check -c "$T/absent.conf"
expect_eq "missing file: exit 1" "$rc" 1
expect_eq "missing file: message" "$err" \
	"vpc-failoverd: $T/absent.conf: cannot open: No such file or directory"

: >"$T/empty.conf"
run --check -c "$T/empty.conf"
expect_eq "empty file: exit 1" "$rc" 1
has "empty file: says why" "$err" "no [group NAME] section"

# The daemon itself refuses to start on a configuration with errors (it
# never gets as far as the network: no test may reach the real metadata
# address).
run -f -c "$T/empty.conf"
expect_eq "daemon with a broken config: exit 1" "$rc" 1
has "daemon with a broken config: says why" "$err" "no [group NAME] section"

run -h
expect_eq "-h: exit 0" "$rc" 0
has "-h: usage on stdout" "$out" "usage: vpc-failoverd [-c FILE] [-f] [-v] [--check|-n] [-h]"
for args in "-x" "--bogus" "-c" "--check extra" "--check=1"; do
	# shellcheck disable=SC2086
	run $args
	expect_eq "usage error '$args': exit 2" "$rc" 2
	has "usage error '$args': usage line" "$err" "usage: vpc-failoverd"
	expect_eq "usage error '$args': nothing on stdout" "$out" ""
done
