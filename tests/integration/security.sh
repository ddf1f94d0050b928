#!/bin/bash
# Security (loopback, simulated VPC): secrets never in any output; unsafe
# config and credentials files refused; TLS verification that cannot be
# turned off; hostile answers from an https endpoint and hostile requests on
# the control socket get clear errors and change nothing. (Who may use the
# control socket: tests/integration/permissions.sh; the unit's exposure:
# tests/integration/systemd.sh.)
. "$(dirname "$0")/../lib.sh"

N=2
MKEY="mkr-$TESTID-0123456789abcdefSECRETKEY"
vf() { "$VPCF" -c "$T/vpcf.conf" "$@"; }
daemon_start() {
	rm -f "$T/ctl.sock"
	spawn "$T/daemon.log" "$VPCFD" -f -v -c "$T/vpcf.conf"
	DPID=$SPAWNED_PID
	wait_for 5 test -S "$T/ctl.sock"
}
daemon_stop() {
	kill "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
}
g() { vf status --json | /usr/bin/python3 -c "import json,sys; g=json.load(sys.stdin)['groups'][0]; print($1)"; }
# run NAME CMD...: keep the command's stdout and stderr as $T/out/NAME
mkdir -p "$T/out"
run() {
	local name=$1
	shift
	"$@" >"$T/out/$name" 2>&1
}

sim_vpc "$T/state.json" $N
sim_start "$T/state.json" --secrets-log "$T/secrets" || exit 1
RX_PORT_FILE=$T/rx.port
spawn "$T/rx.out" /usr/bin/python3 "$TOP/tests/tools/receiver.py" --port-file "$RX_PORT_FILE" \
	--log "$T/rx.log" --lifetime 300
wait_for 10 test -s "$RX_PORT_FILE" || { not_ok "receiver starts"; exit 1; }
echo "$MKEY" >"$T/mkr.key"
chmod 600 "$T/mkr.key"

# == secrets never in any output ================================================
# Role credentials from the simulated metadata (session tokens, IMDS
# tokens), a Mackerel key; then static keys from the environment. Debug
# logging on. Everything the programs print or write is searched for every
# secret the simulator issued (--secrets-log) and the keys we gave them.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
sim_conf $N 0 "[mackerel]
api_key_file = $T/mkr.key
service = sec
api_url = http://127.0.0.1:$(cat "$RX_PORT_FILE")"
sed -i '/^region = /d' "$T/vpcf.conf" # identity and keys from metadata
check "role credentials: daemon starts" daemon_start
vf notify INSTANCE VI_1 MASTER 150
check "role credentials: converged" wait_for 15 all_at "$ENI_C" $N
sim_post /_sim/imds/expire-tokens >/dev/null # a second IMDS token
vf notify INSTANCE VI_1 BACKUP 100
set_all "$ENI_A" $N
vf notify INSTANCE VI_1 MASTER 150
check "role credentials: converged again after the IMDS tokens expired" wait_for 15 all_at "$ENI_C" $N
check "the annotation was sent (the key was used)" wait_for 10 grep -q graph-annotations "$T/rx.log"
run status vf status
run status-json vf status --json
run metrics-json vf metrics --json
run metrics-prom vf metrics --format=prometheus
run metrics-mkr vf metrics --format=mackerel --state "$T/mkr.state"
run routes vf -v -v routes
run dry-run vf -v -v takeover --dry-run
run takeover vf -v -v takeover --force --yes
run doctor vf doctor --keepalived-conf /nonexistent
run failover vf failover
run check "$VPCFD" --check -v -c "$T/vpcf.conf"
daemon_stop
cp "$T/daemon.log" "$T/out/daemon-role.log"
n_secrets=$(wc -l <"$T/secrets")
check "the simulator issued secrets to look for ($n_secrets)" test "$n_secrets" -ge 4

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN="sess-$TESTID-0123456789SESSIONTOKEN"
sim_conf $N 0
check "static keys: daemon starts" daemon_start
vf notify INSTANCE VI_1 BACKUP 100
set_all "$ENI_A" $N
vf notify INSTANCE VI_1 MASTER 150
wait_for 10 all_at "$ENI_C" $N
run status-env vf status --json
run routes-env vf -v -v routes
run takeover-env vf -v -v takeover --force --yes
daemon_stop
cp "$T/daemon.log" "$T/out/daemon-env.log"
unset AWS_SESSION_TOKEN
cp -r "$T/state" "$T/out/state_dir"

{
	cat "$T/secrets"
	echo "$MKEY"
	echo "$SECRET"
	echo "sess-$TESTID-0123456789SESSIONTOKEN"
} >"$T/needles"
found=$(grep -rlFf "$T/needles" "$T/out" 2>/dev/null)
expect_eq "no secret (of $(wc -l <"$T/needles")) in any of $(find "$T/out" -type f | wc -l) outputs, logs or state files" "$found" ""
[ -n "$found" ] && grep -rnFf "$T/needles" "$T/out" | head -5 | sed 's/^/# /'
check "the outputs are not empty (the search searched something)" \
	test "$(cat "$T"/out/* 2>/dev/null | wc -c)" -gt 5000

# == secrets not readable from the processes ======================================
# The daemon and the CLI are not dumpable: no core dump holds the keys, and
# another process of the same user cannot read their memory or environment.
# A daemon run as nobody, beside a plain process of nobody's as the control.
mkdir -m 0777 "$T/nb"
cat >"$T/nb.conf" <<-C
$(sim_aws)
[daemon]
control_socket = $T/nb/ctl.sock
state_dir = $T/nb/state
control_group = nogroup
[netmon]
enabled = no
[metrics]
listen =
[group redis]
vrrp_instance = VI_1
destinations = $DEST
route_tables = $(rtb 1)
network_interface = $ENI_C
C
chmod 0644 "$T/nb.conf"
chmod 0711 "$T"
nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
spawn "$T/nb.log" env AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="$SECRET" \
	"${nobody[@]}" "$VPCFD" -f -c "$T/nb.conf"
NPID=$SPAWNED_PID
spawn /dev/null env AWS_SECRET_ACCESS_KEY="$SECRET" "${nobody[@]}" sleep 30
CPID=$SPAWNED_PID
if check "a daemon runs as nobody" wait_for 10 test -S "$T/nb/ctl.sock"; then
	check "control: nobody reads the environment of its own plain process" \
		"${nobody[@]}" grep -qF "$SECRET" "/proc/$CPID/environ"
	if "${nobody[@]}" cat "/proc/$NPID/environ" >"$T/nb.environ" 2>/dev/null; then
		not_ok "nobody cannot read its daemon's environment (the secret key)" \
			"$(grep -cF "$SECRET" "$T/nb.environ") copies of the key read"
	else
		ok "nobody cannot read its daemon's environment (the secret key)"
	fi
	check "nor its daemon's memory" bash -c "! ${nobody[*]} cat /proc/$NPID/maps >/dev/null 2>&1"
else
	sed 's/^/# /' "$T/nb.log"
fi
kill "$NPID" "$CPID" 2>/dev/null
wait "$NPID" "$CPID" 2>/dev/null

# == unsafe files refused ========================================================
cp "$T/vpcf.conf" "$T/ww.conf"
chmod 666 "$T/ww.conf"
out=$("$VPCFD" --check -c "$T/ww.conf" 2>&1)
expect_eq "world-writable config: --check exit 1" "$?" 1
check "world-writable config: says why and what to do" \
	grep -q "ww.conf: refused: writable by anyone (mode 0666, .*chmod go-w" <<<"$out"
chmod 664 "$T/ww.conf"
chgrp nogroup "$T/ww.conf"
out=$("$VPCFD" --check -c "$T/ww.conf" 2>&1)
check "group-writable config (group nogroup): refused" \
	grep -q "refused: writable by a group other than root" <<<"$out"
chmod 640 "$T/ww.conf"
check "the same file 0640: accepted" "$VPCFD" --check -c "$T/ww.conf"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AKID" "$SECRET" >"$T/creds"
chmod 644 "$T/creds"
sim_conf $N 0 "" "network_interface = $ENI_C"
sed -i "s|^\[aws\]$|[aws]\ncredentials_file = $T/creds|" "$T/vpcf.conf"
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; vf routes) >"$T/o" 2>&1
check "credentials file 0644: refused" grep -q "credentials file $T/creds: mode 0644 is readable by others; chmod 600 it" "$T/o"
check "credentials file 0644: the secret is not shown" bash -c "! grep -qF '$SECRET' '$T/o'"

# == TLS: verified, always ========================================================
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vpcf-test" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/tls.key" -out "$T/tls.pem" >/dev/null 2>&1
tls_start() { # MODE: the https endpoint answering MODE; sets TLS_URL
	rm -f "$T/tls.port"
	spawn "$T/tls-$1.log" /usr/bin/python3 "$TOP/tests/tools/tls_ec2.py" --cert "$T/tls.pem" \
		--key "$T/tls.key" --port-file "$T/tls.port" --mode "$1"
	TLS_PID=$SPAWNED_PID
	wait_for 10 test -s "$T/tls.port"
	TLS_URL=https://127.0.0.1:$(cat "$T/tls.port")
}
tls_conf() { # [CA_FILE]
	sim_conf 1 0 "" "network_interface = $ENI_C"
	sed -i "s|^endpoint = .*|endpoint = $TLS_URL|" "$T/vpcf.conf"
	[ -n "${1:-}" ] && sed -i "s|^\[aws\]$|[aws]\nca_file = $1|" "$T/vpcf.conf"
	return 0
}
check "https endpoint (self-signed) starts" tls_start good
tls_conf
out=$(vf routes 2>&1)
rc=$?
check "self-signed certificate, no ca_file: refused (exit $rc)" test "$rc" -ne 0
check "self-signed certificate: the error says it is the certificate" grep -qi "certificate" <<<"$out"
tls_conf "$T/tls.pem"
out=$(vf routes 2>&1)
expect_eq "the same endpoint with ca_file = its certificate: exit 0" "$?" 0
check "... and the route is read" grep -q "eni-0ccccccccccccccc3" <<<"$out"
for key in "insecure = yes" "tls_verify = no" "verify_tls = no" "ssl_verify = false"; do
	tls_conf
	sed -i "s|^\[aws\]$|[aws]\n$key|" "$T/vpcf.conf"
	out=$("$VPCFD" --check -c "$T/vpcf.conf" 2>&1)
	check "no switch turns verification off: '$key' is an unknown key" grep -q "unknown key '${key%% =*}'" <<<"$out"
done
kill "$TLS_PID" 2>/dev/null

# == hostile answers from an endpoint ================================================
for mode in garbage huge deep; do
	tls_start $mode
	tls_conf "$T/tls.pem"
	out=$(timeout 60 "$VPCF" -c "$T/vpcf.conf" routes 2>&1)
	rc=$?
	check "$mode answer: a clear failure, no crash (exit $rc)" test "$rc" = 1
	case $mode in
	garbage) want="malformed XML" ;;
	huge) want="response body over 4194304 bytes" ;;
	deep) want="malformed XML.*depth" ;;
	esac
	check "$mode answer: the error says what was wrong" grep -q "$want" <<<"$out"
	sed -n 1,3p <<<"$out" | sed "s/^/# $mode: /"
	kill "$TLS_PID" 2>/dev/null
done

# == hostile requests on the control socket =========================================
sim_conf $N 0
check "daemon starts (control socket)" daemon_start
vf notify INSTANCE VI_1 MASTER 150
wait_for 10 all_at "$ENI_C" $N
before=$(g "g['state'], g['generation']")
ask() { # RAW-BYTES-FILE: send them, print the answer
	/usr/bin/python3 - "$T/ctl.sock" "$1" <<-'P'
	import socket, sys
	s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
	s.sendall(open(sys.argv[2], "rb").read())
	try:
	    s.shutdown(socket.SHUT_WR)
	except OSError:
	    pass
	print(s.makefile(errors="replace").readline().strip())
	P
}
req() { # NAME TEXT EXPECTED-ERROR-REGEX
	printf '%s\n' "$2" >"$T/req"
	local a
	a=$(ask "$T/req")
	check "control: $1 -> a clear error" grep -Eq "\"ok\": *false.*$3" <<<"$a" ||
		echo "# got: $a"
}
head -c 5000 /dev/zero | tr '\0' 'x' >"$T/big"
a=$(ask "$T/big")
check "control: 5000 bytes without a newline -> too long" grep -q "request longer than 4096 bytes" <<<"$a"
req "not JSON" '{"cmd": "status"' "not JSON"
req "an array" '["status"]' "must be a JSON object"
req "no cmd" '{"x": 1}' "no \\\\\"cmd\\\\\" string"
req "unknown cmd" '{"cmd": "reboot"}' "unknown command 'reboot'"
req "notify without fields" '{"cmd": "notify"}' "notify: "
req "notify with a bad state" '{"cmd":"notify","type":"INSTANCE","name":"VI_1","state":"BOSS","priority":1}' "notify: "
req "notify with a string priority" '{"cmd":"notify","type":"INSTANCE","name":"VI_1","state":"BACKUP","priority":"1"}' "notify: "
req "notify with a huge name" "{\"cmd\":\"notify\",\"type\":\"INSTANCE\",\"name\":\"$(head -c 300 /dev/zero | tr '\0' 'n')\",\"state\":\"BACKUP\",\"priority\":1}" "notify: "
req "duplicate keys" '{"cmd":"status","cmd":"notify"}' "not JSON"
req "takeover without groups" '{"cmd":"takeover"}' "groups"
req "takeover of an unknown group" '{"cmd":"takeover","groups":["nope"]}' "no group 'nope'"
req "failover of an unknown group" '{"cmd":"failover","group":"nope"}' "no group 'nope'"
printf '{"cmd":"status"}\0garbage\n' >"$T/nul"
a=$(ask "$T/nul")
check "control: a NUL byte in the line -> an error, not a truncated request" grep -q '"ok": *false' <<<"$a"
# An idle client does not hold up others.
exec 8<> >(/usr/bin/python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect('$T/ctl.sock'); time.sleep(8)")
check "control: a silent client does not block status" vf status
expect_eq "control: after all that, the group is as it was" "$(g "g['state'], g['generation']")" "$before"
check "control: the daemon is alive" kill -0 "$DPID"
check "control: every table still here" all_at "$ENI_C" $N
daemon_stop
