#!/bin/bash
# The command line behaves as GNU tools and the tools operators know do
# (issue 15): --help, -h, `help [COMMAND]` and per-command help with no
# configuration; global options before or after the command, never ignored;
# unknown options and arguments named on one line, checked before the
# configuration is read; JSON numbers rounded to what they mean.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
NOCONF=$T/no-such.conf
COMMANDS="notify status metrics routes failover resume takeover doctor"
# run ARGS...: $out, $err, $rc of the CLI, from a directory with no config
run() {
	out=$(cd "$T" && "$VPCF" "$@" 2>"$T/err")
	rc=$?
	err=$(cat "$T/err")
}
has() { case $2 in *"$3"*) ok "$1" ;; *) not_ok "$1" "no '$3' in: $2" ;; esac; }
lacks() { case $2 in *"$3"*) not_ok "$1" "'$3' in: $2" ;; *) ok "$1" ;; esac; }

# --- help, everywhere, without a configuration ---------------------------------
for args in "--help" "-h" "help"; do
	# shellcheck disable=SC2086
	run $args
	expect_eq "vpc-failover $args: exit 0" "$rc" 0
	has "vpc-failover $args: usage on stdout" "$out" "usage: vpc-failover [-c FILE]"
	has "vpc-failover $args: lists --version" "$out" "--version"
	expect_eq "vpc-failover $args: nothing on stderr" "$err" ""
done
for c in $COMMANDS; do
	for form in "help $c" "$c --help" "$c -h" "--help $c" "-c $NOCONF $c --help"; do
		# shellcheck disable=SC2086
		run $form
		if [ "$rc" = 0 ] && [ -z "$err" ] && [[ $out == "usage: vpc-failover [-c FILE] [-v] $c"* ]]; then
			ok "'$form': the command's help, exit 0, no config needed"
		else
			not_ok "'$form': the command's help, exit 0, no config needed" "rc $rc, err '$err', out '${out%%$'\n'*}'"
		fi
	done
done
run help status
has "status help says what --json does" "$out" "--json"
run takeover --help
has "takeover help lists --dry-run" "$out" "--dry-run"
run help nosuch
expect_eq "help of an unknown command: exit 2" "$rc" 2
has "help of an unknown command: named" "$err" "unknown command 'nosuch'"
out=$(cd "$T" && "$VPCFD" --help -c "$NOCONF" 2>&1)
has "vpc-failoverd --help: no config needed, lists --version" "$out" "--version"

# --- no command, unknown command -----------------------------------------------
run
expect_eq "no command: exit 2" "$rc" 2
has "no command: says so in one line" "$err" "no command given"
expect_eq "no command: one line on stderr" "$(wc -l <<<"$err")" 1
run frobnicate
expect_eq "unknown command: exit 2" "$rc" 2
has "unknown command: named, with the commands" "$err" "unknown command 'frobnicate' (commands: notify"

# --- unknown options: named, not the whole usage -------------------------------
for pair in "status --bogus|--bogus" "routes -q|-q" "takeover --force --frob=1|--frob" \
	"--bogus status|--bogus" "metrics --jsn|--jsn" "failover --timeout|--timeout" \
	"doctor --keepalived-conf|--keepalived-conf"; do
	form=${pair%|*} want=${pair#*|}
	# shellcheck disable=SC2086
	run -c "$NOCONF" $form
	expect_eq "'$form': exit 2" "$rc" 2
	has "'$form': names '$want'" "$err" "'$want'"
	lacks "'$form': no full usage" "$err" "commands:"
	lacks "'$form': the configuration is not read" "$err" "$NOCONF"
	expect_eq "'$form': one line" "$(wc -l <<<"$err")" 1
done
run status --timeout 5
has "an option of another command is unknown here" "$err" "vpc-failover status: unknown option '--timeout'"
run -c "$NOCONF" takeover --force -qy
has "a short option inside a bundle is named, not the word before" "$err" "unknown option '-q'"
run -c "$NOCONF" status --json=1
has "a flag given a value is named" "$err" "option takes no argument: '--json'"
# notify's operands are keepalived's data: options only before them, so a
# negative priority is a bad notify, and an option after them is not
# silently taken or ignored.
run -c "$NOCONF" notify INSTANCE VI_1 MASTER -1
expect_eq "notify ... MASTER -1: exit 2" "$rc" 2
has "notify ... MASTER -1: a bad priority, nothing recorded" "$err" "priority '-1' is not a number 0..255; nothing recorded"
run notify INSTANCE VI_1 MASTER 100 -c "$NOCONF"
expect_eq "notify ... 100 -c FILE: exit 2" "$rc" 2
has "notify ... 100 -c FILE: refused, nothing recorded" "$err" "nothing recorded"

# --- arguments checked before the configuration is read -----------------------
for form in "status extra" "routes a b" "takeover --force --all g" "failover --timeout 0" \
	"failover --timeout x" "takeover g" "metrics --format=xml" "doctor extra" \
	"notify INSTANCE VI_1 MASTER" "notify INSTANCE VI_1 HAPPY 100"; do
	# shellcheck disable=SC2086
	run -c "$NOCONF" $form
	expect_eq "'$form': exit 2" "$rc" 2
	lacks "'$form': refused before reading the configuration" "$err" "$NOCONF"
done
run -c "$NOCONF" routes a b
has "an extra argument is named" "$err" "unexpected argument 'b'"

# --- global options before or after the command, never ignored ----------------
# A configuration whose control socket does not exist: the error names the
# socket, which proves which file was read.
cat >"$T/a.conf" <<C
$(printf '[aws]\nregion = us-east-1\nendpoint = http://127.0.0.1:9\nmetadata_endpoint = http://127.0.0.1:9\n')
[daemon]
control_socket = $T/a.sock
state_dir = $T/a.state
[group db]
vrrp_instance = VI_1
destinations = 198.19.255.10/32
route_tables = rtb-00000000000000001
network_interface = eni-0aaaaaaaaaaaaaaa1
C
for form in "-c $T/a.conf status" "status -c $T/a.conf" "status --config $T/a.conf" \
	"status --config=$T/a.conf" "status --json -c $T/a.conf" "metrics -c $T/a.conf --json"; do
	# shellcheck disable=SC2086
	run $form
	expect_eq "'$form': exit 3 (daemon down)" "$rc" 3
	has "'$form': the file given was read" "$err" "$T/a.sock"
done
# The group after -c is a group, and the option after the group an option.
run -c "$T/a.conf" routes nosuch
has "'-c FILE routes nosuch': a group name" "$err" "no group 'nosuch'"
run routes nosuch -c "$T/a.conf"
has "'routes nosuch -c FILE': -c after the operand" "$err" "no group 'nosuch' in $T/a.conf"
# -- ends the options: a group named like an option is a group.
run -c "$T/a.conf" routes -- -x
has "'routes -- -x': -x is a group name" "$err" "no group '-x'"

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
# Table 2 has no route yet: takeover would create it.
sim_vpc "$T/state.json" 2 2
sim_start "$T/state.json" || exit 1
sim_conf 2 0
# jq EXPR FILE: one value of a JSON output
jqv() { jq -r "$1" "$2" 2>&1; }

# --- --json for routes, takeover --dry-run, doctor (docs/json.md) --------------
run -c "$T/vpcf.conf" routes --json
expect_eq "'-c FILE routes --json': exit 0" "$rc" 0
echo "$out" >"$T/routes.json"
expect_eq "routes --json: schema_version 1" "$(jqv .schema_version "$T/routes.json")" 1
expect_eq "routes --json: the group" "$(jqv '.groups[0].name' "$T/routes.json")" redis
expect_eq "routes --json: table 1's route points at node a" \
	"$(jqv '.groups[0].tables[0].routes[0].target.eni' "$T/routes.json")" "$ENI_A"
expect_eq "routes --json: not this node" \
	"$(jqv '.groups[0].tables[0].routes[0].target.this_node' "$T/routes.json")" false
expect_eq "routes --json: table 2 has no route" \
	"$(jqv '.groups[0].tables[1].routes[0] | [.exists, .target] | tostring' "$T/routes.json")" '[false,null]'
run -c "$T/vpcf.conf" routes redis --json
expect_eq "routes GROUP --json (option after the group): exit 0" "$rc" 0
run takeover --dry-run -c "$T/vpcf.conf" --json
expect_eq "takeover --dry-run --json: exit 0" "$rc" 0
echo "$out" >"$T/dry.json"
expect_eq "takeover --dry-run --json: dry_run, ok" "$(jqv '[.dry_run, .ok, .schema_version] | tostring' "$T/dry.json")" '[true,true,1]'
expect_eq "takeover --dry-run --json: outcomes" \
	"$(jqv '[.groups[0].tables[].routes[0].outcome] | join(" ")' "$T/dry.json")" "would-replace would-create"
expect_eq "takeover --dry-run --json: was" \
	"$(jqv '.groups[0].tables[0].routes[0].was.eni' "$T/dry.json")" "$ENI_A"
check "takeover --dry-run --json: every done_ms is an integer" \
	jq -e '[.groups[].tables[].routes[].done_ms | type == "number" and floor == .] | all' "$T/dry.json"
expect_eq "the dry run changed nothing" "$(route_of "$(rtb 1)")" "$ENI_A"
run -c "$T/vpcf.conf" takeover --force --yes --json
expect_eq "takeover --force --json: refused, exit 2" "$rc" 2
has "takeover --force --json: says why" "$err" "--json goes with --dry-run"
expect_eq "and changed nothing" "$(route_of "$(rtb 1)")" "$ENI_A"
run -c "$T/vpcf.conf" doctor --json --keepalived-conf "$T/no-keepalived.conf"
expect_eq "doctor --json: exit 1 (keepalived.conf missing: FAIL)" "$rc" 1
echo "$out" >"$T/doctor.json"
expect_eq "doctor --json: schema_version 1, ok false" "$(jqv '[.schema_version, .ok] | tostring' "$T/doctor.json")" '[1,false]'
check "doctor --json: the summary counts the checks" jq -e \
	'(.checks | length) == (.summary | .ok + .info + .warn + .fail) and
	 ([.checks[] | select(.verdict == "fail")] | length) == .summary.fail and .summary.fail > 0' "$T/doctor.json"
check "doctor --json: the IAM check is there" jq -e \
	'[.checks[] | select(.verdict == "ok" and (.message | startswith("IAM allows ec2:ReplaceRoute")))] | length == 1' "$T/doctor.json"
check "doctor --json: only JSON on stdout" bash -c "jq -e . '$T/doctor.json' >/dev/null"
for f in status metrics routes takeover doctor; do
	check "docs/json.md documents $f's JSON" grep -q "^## \`$f" "$TOP/docs/json.md"
done

# --- JSON numbers: ms integers, seconds to the millisecond ----------------------
spawn "$T/daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
check "daemon up" wait_for 5 test -S "$T/ctl.sock"
"$VPCF" -c "$T/vpcf.conf" notify INSTANCE VI_1 MASTER 150
check "MASTER converged" wait_for 10 all_at "$ENI_C" 2
expect_eq "status --json: schema_version 1" \
	"$("$VPCF" -c "$T/vpcf.conf" status --json | jq .schema_version)" 1
wait_for 5 bash -c "'$VPCF' -c '$T/vpcf.conf' status --json | grep -q '\"converged_at\": [1-9]'"
"$VPCF" -c "$T/vpcf.conf" status --json >"$T/status.json"
"$VPCF" metrics --json -c "$T/vpcf.conf" >"$T/metrics.json"
for f in status metrics; do
	check "$f --json: every number is an integer or has at most 3 decimals" $PY - "$T/$f.json" <<'P'
import re, sys
text = open(sys.argv[1]).read()
bad = [m for m in re.findall(r'(?<![\w."])-?\d+\.\d+(?:[eE][-+]?\d+)?', text)
       if re.fullmatch(r'-?\d+\.\d{1,3}', m) is None]
print("# numbers with fractions:", re.findall(r'(?<![\w."])-?\d+\.\d+', text)[:8])
assert not bad, bad
P
	check "$f --json: keys ending _ms are integers" $PY - "$T/$f.json" <<'P'
import json, sys
def walk(v, k=""):
    if isinstance(v, dict):
        for kk, vv in v.items(): walk(vv, kk)
    elif isinstance(v, list):
        for vv in v: walk(vv, k)
    elif k.endswith("_ms") and v is not None:
        assert isinstance(v, int), (k, v)
walk(json.load(open(sys.argv[1])))
P
done
check "metrics --json: convergence_seconds to the millisecond" $PY - "$T/metrics.json" <<'P'
import json, sys
g = json.load(open(sys.argv[1]))["groups"][0]
s = g["convergence_seconds"]
print("# convergence_seconds", s)
assert isinstance(s, (int, float)) and round(s, 3) == s and 0 <= s < 10, s
P
