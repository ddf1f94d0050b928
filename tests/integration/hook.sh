#!/bin/bash
# The lean notify hook (docs/hook.md): vpc-failover, the program keepalived
# forks, loads libc alone for notify (its dynamic section, ldd, ld.so's own
# account and /proc/PID/maps of a run held open by a control socket that
# does not answer), and answers exactly as the full CLI
# (build/vpc-failover-cli) does: notify delivered, ignored, recorded with
# the daemon down, a hint not recorded, a broken configuration, URLs in the
# configuration (lib/url.c's verdict, the same in both); and every other
# command (status, --version, --help, help, an
# unknown one, a usage error) through the front is the full CLI's answer.
. "$(dirname "$0")/../lib.sh"

FRONT=$B/vpc-failover
CLI=$B/vpc-failover-cli
PY=/usr/bin/python3
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET

# The sanitizer build's front loads their run-time libraries: the libc-only
# checks are the plain build's.
sanitized=0
readelf -d "$FRONT" | grep -q 'NEEDED.*lib[a-z]*san' && sanitized=1

# --- what it loads ---------------------------------------------------------
if [ $sanitized = 0 ]; then
	expect_eq "the front needs libc alone (dynamic section)" \
		"$(readelf -d "$FRONT" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')" "libc.so.6 "
	expect_eq "ldd: vdso, libc, ld.so" \
		"$(ldd "$FRONT" | awk '{print $1}' | sed 's|.*/||' | sort | tr '\n' ' ')" \
		"ld-linux-x86-64.so.2 libc.so.6 linux-vdso.so.1 "
	check "the full CLI is the one with libcurl (the test tells them apart)" \
		bash -c "ldd '$CLI' | grep -q libcurl"
else
	ok "# skip libc-only checks: sanitizer build"
fi

# libs_of OUT CMD...: run CMD with ld.so's account of the libraries it
# looks up (LD_DEBUG=libs) into OUT.* ; prints their names, sorted.
libs_of() {
	local out=$1
	shift
	rm -f "$out".*
	LD_DEBUG=libs LD_DEBUG_OUTPUT=$out "$@" >/dev/null 2>&1
	cat "$out".* 2>/dev/null | sed -n 's/.*find library=\([^ ;]*\).*/\1/p' | sort -u | tr '\n' ' '
}

# --- notify through a control socket that accepts and does not answer ----
# (the hook waits for it 800 ms: long enough to read its maps)
cat >"$T/mute.py" <<'P'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
    open(sys.argv[2], "a").write("accepted\n")
P
cat >"$T/mute.conf" <<C
[daemon]
control_socket = $T/mute.sock
state_dir = $T/mute-state
[metrics]
listen =
[group g]
vrrp_instance = VI_1
destinations = $DEST
route_tables = $(rtb 1)
network_interface = $ENI_C
C
spawn "$T/mute.log" "$PY" "$T/mute.py" "$T/mute.sock" "$T/accepted"
check "a control socket that does not answer" wait_for 5 test -S "$T/mute.sock"

# maps_of BIN: the shared objects a notify run of BIN maps while it waits
maps_of() {
	local n pid maps
	n=$(cat "$T/accepted" 2>/dev/null | wc -l)
	"$1" -c "$T/mute.conf" notify INSTANCE VI_1 BACKUP 100 2>"$T/maps.err" &
	pid=$!
	wait_for 2 bash -c "[ \$(cat '$T/accepted' 2>/dev/null | wc -l) -gt $n ]"
	maps=$(grep -o '/[^ ]*\.so[^ ]*' "/proc/$pid/maps" | sed 's|.*/||' | sort -u | tr '\n' ' ')
	wait "$pid"
	echo "rc=$? $maps"
}
front_maps=$(maps_of "$FRONT")
front_err=$(cat "$T/maps.err")
cli_maps=$(maps_of "$CLI")
cli_err=$(cat "$T/maps.err")
echo "# front maps: $front_maps"
echo "# full CLI maps $(wc -w <<<"$cli_maps") objects"
if [ $sanitized = 0 ]; then
	expect_eq "notify maps libc and ld.so alone (/proc/PID/maps)" "$front_maps" \
		"rc=0 ld-linux-x86-64.so.2 libc.so.6 "
	expect_eq "ld.so looked up libc alone (LD_DEBUG=libs)" \
		"$(libs_of "$T/ld" "$FRONT" -c "$T/mute.conf" notify INSTANCE VI_1 BACKUP 100)" "libc.so.6 "
fi
check "the full CLI maps libcurl in the same run" grep -q libcurl <<<"$cli_maps"
expect_eq "not answering: the same message as the full CLI's" "$front_err" "$cli_err"
case $front_err in
*"vpc-failoverd is not answering"*"recorded INSTANCE VI_1 BACKUP in $T/mute-state/events"*)
	ok "and it says it recorded the event" ;;
*) not_ok "and it says it recorded the event" "$front_err" ;;
esac

# same NAME ARGS...: the front and the full CLI answer the same (stdout,
# stderr, exit code)
same() {
	local name=$1 f c
	shift
	f=$("$FRONT" "$@" 2>&1 </dev/null; echo "rc=$?")
	c=$("$CLI" "$@" 2>&1 </dev/null; echo "rc=$?")
	if [ "$f" = "$c" ]; then ok "$name: as the full CLI"; else not_ok "$name: as the full CLI" "front '$f', full CLI '$c'"; fi
}
# lean NAME ARGS...: ... and the front ran notify itself (nothing beyond libc)
lean() {
	local name=$1
	same "$@"
	shift
	[ $sanitized = 1 ] && return
	expect_eq "$name: by the front alone" "$(libs_of "$T/ld" "$FRONT" "$@")" "libc.so.6 "
}

# --- with the daemon down ------------------------------------------------------
cat >"$T/down.conf" <<C
[daemon]
control_socket = $T/none.sock
state_dir = $T/down-state
[metrics]
listen =
[group g]
vrrp_instance = VI_1
destinations = $DEST
route_tables = $(rtb 1)
network_interface = $ENI_C
C
lean "daemon down: recorded" -c "$T/down.conf" notify INSTANCE VI_1 MASTER 150
check "the event file is there" test -f "$T/down-state/events/INSTANCE.VI_1"
lean "daemon down: a hint is not recorded" -c "$T/down.conf" notify INSTANCE VI_1 MASTER_RX_LOWER_PRI 150
lean "options after notify" notify -c "$T/down.conf" -v GROUP G_1 BACKUP 0
lean "a bad priority" -c "$T/down.conf" notify INSTANCE VI_1 MASTER -1
lean "too few arguments" -c "$T/down.conf" notify INSTANCE VI_1
lean "a bad state" -c "$T/down.conf" notify INSTANCE VI_1 SLAVE 100
# A broken configuration: the default paths (a hint, which is not recorded:
# nothing is written outside $T).
printf '[daemon]\ncontrol_socket = %s\nstate_dir = %s\nbogus = 1\n' "$T/none.sock" "$T/x" >"$T/broken.conf"
if [ -e /run/vpc-failover/control.sock ]; then
	ok "# skip a broken configuration: a daemon listens on the default socket"
else
	lean "a broken configuration: the defaults" -c "$T/broken.conf" notify INSTANCE VI_1 MASTER_RX_LOWER_PRI 100
fi
same "a missing configuration, a usage error" -c "$T/nonexistent.conf" notify INSTANCE VI_1

# URLs in the configuration: the front reads them itself (lib/url.c, libc
# only), good or bad, and answers as the full CLI. A hint, not recorded: a
# URL lib/url.c refuses breaks the configuration, and the hook
# then falls back to the default state_dir, outside $T. The message names
# the control socket it tried, the configuration's or the default.
url_conf() { # FILE KEY VALUE
	{
		printf '[aws]\nregion = us-east-1\n'
		[ "$2" = endpoint ] && printf 'endpoint = %s\n' "$3"
		printf '[daemon]\ncontrol_socket = %s\nstate_dir = %s\n[metrics]\nlisten =\n' \
			"$T/none.sock" "$T/url-state"
		[ "$2" = webhook ] && printf '[webhook]\nurl = %s\n' "$3"
		printf '[group g]\nvrrp_instance = VI_1\ndestinations = %s\nroute_tables = %s\nnetwork_interface = %s\n' \
			"$DEST" "$(rtb 1)" "$ENI_C"
	} >"$1"
}
for u in http://127.0.0.1:8080/hook https://hooks.example.com/services/T0/B0/x-y_z \
	'http://localhost/x?y=1' https://example.com#frag http://169.254.169.254 \
	https://ec2.us-east-1.amazonaws.com 'http://a_b.example:65535/p;q=1' http://10.1.2.3/a/../b; do
	for key in endpoint webhook; do
		url_conf "$T/url.conf" $key "$u"
		lean "$key = $u" -c "$T/url.conf" notify INSTANCE VI_1 MASTER_RX_LOWER_PRI 100
	done
done
for u in ftp://example.com http://user@example.com/ 'http://[::1]:80/' http://127.1/ \
	HTTP://EXAMPLE.COM http://example.com:0/ http://example.com:65536/ 'http://example.com?' \
	'http://example.com/%41' http://example.com:/x 'https://' 'http:///x' 'http://example.com#'; do
	for key in endpoint webhook; do
		url_conf "$T/url.conf" $key "$u"
		lean "$key = $u" -c "$T/url.conf" notify INSTANCE VI_1 MASTER_RX_LOWER_PRI 100
	done
done

# --- every other command through the front -----------------------------------
same "--version" --version
same "-V" -V
same "--help" --help
same "no command" ""
same "no arguments"
same "an unknown command" bogus
same "an unknown option" -x notify
same "help notify" help notify
same "notify --help" notify --help
same "notify -V" notify -V
same "status --help" status --help
same "status, the daemon down" -c "$T/down.conf" status

# --- with the daemon up ----------------------------------------------------------
sim_vpc "$T/state.json" 2
sim_start "$T/state.json" || exit 1
cat >"$T/vpcf.conf" <<C
$(sim_aws)
[daemon]
control_socket = $T/ctl.sock
state_dir = $T/state
[metrics]
listen =
[group g]
vrrp_instance = VI_1
destinations = $DEST
route_tables = $(rtb 1) $(rtb 2)
network_interface = $ENI_C
recheck_interval = 0
C
spawn "$T/daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
check "the daemon starts" wait_for 5 test -S "$T/ctl.sock"
lean "delivered" -c "$T/vpcf.conf" notify INSTANCE VI_1 BACKUP 100
lean "no group uses it: ignored" -c "$T/vpcf.conf" notify INSTANCE VI_9 BACKUP 100
lean "a group event" -c "$T/vpcf.conf" notify GROUP G_1 BACKUP 100
"$FRONT" -c "$T/vpcf.conf" notify INSTANCE VI_1 MASTER 150
check "delivered by the front: the routes converge" wait_for 10 all_at $ENI_C 2
st() { "$1" -c "$T/vpcf.conf" status --json | $PY -c 'import json,sys; g=json.load(sys.stdin)["groups"][0]; print(g["name"], g["state"], g["converged"])'; }
expect_eq "status --json through the front" "$(st "$FRONT")" "$(st "$CLI")"
# (the EC2 request counts cut: a settle check may land between the two)
st3() { "$1" -c "$T/vpcf.conf" status | head -3 | sed 's/EC2 requests .*/EC2 requests .../'; }
expect_eq "status through the front: the same lines" "$(st3 "$FRONT")" "$(st3 "$CLI")"
