#!/bin/bash
# The systemd side: the unit (systemd-analyze verify, the exposure score),
# the tmpfiles.d entry, `make install DESTDIR=...` installing every file,
# and the daemon's sd_notify messages (READY, RELOADING, STOPPING, WATCHDOG)
# received on a NOTIFY_SOCKET this script listens on. systemd is not PID 1
# here: nothing is started through systemctl.
. "$(dirname "$0")/../lib.sh"

UNIT=$TOP/systemd/vpc-failoverd.service
# 2.0 before the eBPF counting ([netmon] bpf); CAP_BPF and bpf() (a call of
# @privileged) add 0.1 together, the price of counting in the kernel.
MAXEXPOSURE=2.1

for tool in systemd-analyze systemd-tmpfiles man; do
	if ! command -v $tool >/dev/null; then
		not_ok "$tool is installed" "run scripts/deps.sh"
		exit 1
	fi
done

# --- the unit as checked in ---------------------------------------------
# exposure UNITFILE: the overall exposure level systemd-analyze prints.
exposure() {
	systemd-analyze security --offline=true --no-pager "$1" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
score=$(exposure "$UNIT")
echo "# exposure of systemd/vpc-failoverd.service: ${score:-?}"
check "systemd-analyze security prints an exposure level ($score)" test -n "$score"
check "exposure $score <= $MAXEXPOSURE" \
	awk -v s="${score:-99}" -v m=$MAXEXPOSURE 'BEGIN { exit !(s + 0 <= m + 0) }'
# The same bound the way systemd itself applies it (exposure x 10).
check "systemd-analyze security --threshold=21 accepts the unit" \
	systemd-analyze security --offline=true --threshold=21 --no-pager "$UNIT"

# What the daemon needs stays allowed: a hardening change that drops one of
# these would break it in production, where no test runs under systemd.
prop() { sed -n "s/^$1=//p" "$UNIT"; }
expect_eq "Type=notify" "$(prop Type)" notify
check "WatchdogSec= is set" test -n "$(prop WatchdogSec)"
expect_eq "Restart=on-failure" "$(prop Restart)" on-failure
expect_eq "ExecStart runs the daemon in the foreground" "$(prop ExecStart)" "/usr/sbin/vpc-failoverd -f"
check "ExecReload sends SIGHUP" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$UNIT"
expect_eq "CapabilityBoundingSet is CAP_NET_ADMIN CAP_BPF CAP_PERFMON" \
	"$(prop CapabilityBoundingSet)" "CAP_NET_ADMIN CAP_BPF CAP_PERFMON"
# bpf() is in @privileged, which the filter takes away: the eBPF zone
# counters need it back, after that line.
check "SystemCallFilter allows bpf() after denying @privileged" \
	bash -c "grep '^SystemCallFilter=' '$UNIT' | tail -1 | grep -qx 'SystemCallFilter=bpf'"
for af in AF_UNIX AF_INET AF_INET6 AF_NETLINK; do
	check "RestrictAddressFamilies allows $af" \
		bash -c "sed -n 's/^RestrictAddressFamilies=//p' '$UNIT' | tr ' ' '\n' | grep -qx $af"
done
expect_eq "RuntimeDirectory=vpc-failover" "$(prop RuntimeDirectory)" vpc-failover
expect_eq "RuntimeDirectoryMode=0750" "$(prop RuntimeDirectoryMode)" 0750
expect_eq "StateDirectory=vpc-failover" "$(prop StateDirectory)" vpc-failover
# hidepid would hide /proc/<keepalived pid>/comm: the liveness check needs it.
check "ProtectProc does not hide other processes" \
	bash -c "! grep -Eq '^ProtectProc=(invisible|noaccess|ptraceable)' '$UNIT'"
# /proc/sys/kernel/random/boot_id (recorded events) and /proc/net/snmp.
check "ProcSubset is not pid" bash -c "! grep -q '^ProcSubset=pid' '$UNIT'"

# --- make install ---------------------------------------------------------
# Not under the parent make's jobserver (make test runs this script).
minstall() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TOP" install "$@"; }
D=$T/dest
check "make install DESTDIR=... PREFIX=/usr" minstall DESTDIR="$D" PREFIX=/usr
for f in usr/sbin/vpc-failoverd usr/sbin/vpc-failover \
	etc/vpc-failover/vpc-failover.conf.example \
	lib/systemd/system/vpc-failoverd.service \
	usr/lib/tmpfiles.d/vpc-failover.conf \
	usr/share/man/man8/vpc-failover.8 usr/share/man/man8/vpc-failoverd.8 \
	usr/share/man/man5/vpc-failover.conf.5 \
	usr/share/bash-completion/completions/vpc-failover \
	usr/share/bash-completion/completions/vpc-failoverd; do
	check "installed /$f" test -e "$D/$f"
done
check "the binaries are executable" test -x "$D/usr/sbin/vpc-failoverd" -a -x "$D/usr/sbin/vpc-failover"
expect_eq "the unit is mode 0644" "$(stat -c %a "$D/lib/systemd/system/vpc-failoverd.service")" 644
check "PREFIX=/usr: the unit runs /usr/sbin/vpc-failoverd" \
	grep -qx 'ExecStart=/usr/sbin/vpc-failoverd -f' "$D/lib/systemd/system/vpc-failoverd.service"

D2=$T/dest-local
check "make install DESTDIR=... (PREFIX=/usr/local)" minstall DESTDIR="$D2"
check "PREFIX=/usr/local: unit in /usr/local/lib/systemd/system" \
	test -f "$D2/usr/local/lib/systemd/system/vpc-failoverd.service"
check "PREFIX=/usr/local: the unit runs /usr/local/sbin/vpc-failoverd" \
	grep -qx 'ExecStart=/usr/local/sbin/vpc-failoverd -f' \
	"$D2/usr/local/lib/systemd/system/vpc-failoverd.service"
check "PREFIX=/usr/local: every Exec path is under /usr/local/sbin or /bin" \
	bash -c "! grep -E '^Exec[A-Za-z]*=' '$D2/usr/local/lib/systemd/system/vpc-failoverd.service' |
		grep -Ev '=(/usr/local/sbin/vpc-failoverd|/bin/kill) '"
for f in usr/local/sbin/vpc-failoverd usr/local/lib/tmpfiles.d/vpc-failover.conf \
	usr/local/share/man/man5/vpc-failover.conf.5 \
	usr/local/share/bash-completion/completions/vpc-failover; do
	check "PREFIX=/usr/local: installed /$f" test -e "$D2/$f"
done

# systemd-analyze verify checks that Exec paths are executables and that the
# Documentation= man pages open: point both at the DESTDIR.
mkdir -p "$T/verify"
sed "s|/usr/sbin/vpc-failoverd|$D/usr/sbin/vpc-failoverd|g" \
	"$D/lib/systemd/system/vpc-failoverd.service" >"$T/verify/vpc-failoverd.service"
MANPATH=$D/usr/share/man systemd-analyze verify "$T/verify/vpc-failoverd.service" \
	>"$T/verify.out" 2>&1
rc=$?
expect_eq "systemd-analyze verify of the installed unit exits 0" "$rc" 0
expect_eq "systemd-analyze verify says nothing" "$(cat "$T/verify.out")" ""
score=$(exposure "$D/lib/systemd/system/vpc-failoverd.service")
check "the installed unit's exposure $score <= $MAXEXPOSURE" \
	awk -v s="${score:-99}" -v m=$MAXEXPOSURE 'BEGIN { exit !(s + 0 <= m + 0) }'

# The tmpfiles.d entry, applied to an empty root.
systemd-tmpfiles --create --root="$T/root" "$D/usr/lib/tmpfiles.d/vpc-failover.conf" \
	>"$T/tmpfiles.out" 2>&1
expect_eq "systemd-tmpfiles --create applies the entry" "$?" 0
expect_eq "it makes /run/vpc-failover 0750 root:root" \
	"$(stat -c '%a %U %G %F' "$T/root/run/vpc-failover" 2>&1)" "750 root root directory"

# --- sd_notify --------------------------------------------------------------
# A NOTIFY_SOCKET listener: one line per datagram (newlines shown as '|').
# When a READY=1 arrives it looks at once at the control socket, the notify
# FIFO and the metrics endpoint, so the line says whether the daemon was
# serving them when it claimed to be ready.
cat >"$T/listen.py" <<'PY'
import os, socket, stat, sys, time
path, log, ctl, fifo, mport = sys.argv[1:6]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(1.0)

def up(family, addr):
    c = socket.socket(family, socket.SOCK_STREAM)
    try:
        c.connect(addr)
        return "up"
    except OSError as e:
        return "down(%s)" % e.strerror
    finally:
        c.close()

def fifo_state():
    try:
        return "up" if stat.S_ISFIFO(os.stat(fifo).st_mode) else "notfifo"
    except OSError as e:
        return "down(%s)" % e.strerror

deadline = time.monotonic() + 120  # bounded: the test takes seconds
with open(log, "a", buffering=1) as out:
    while time.monotonic() < deadline:
        try:
            msg = s.recv(4096).decode(errors="replace")
        except socket.timeout:
            continue
        line = msg.replace("\n", "|")
        if "READY=1" in msg.split("\n"):
            line += " ctl=%s fifo=%s metrics=%s" % (
                up(socket.AF_UNIX, ctl), fifo_state(),
                up(socket.AF_INET, ("127.0.0.1", int(mport))))
        out.write(line + "\n")
PY

# A free port for the metrics endpoint: the default 9641 may be taken by
# another test run on this machine (and "listen =" means the default).
MPORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
sim_vpc "$T/state.json" 1
sim_start "$T/state.json" || exit 1
cat >"$T/vpcf.conf" <<C
$(sim_aws)
[daemon]
control_socket = $T/ctl.sock
state_dir = $T/state
[keepalived]
notify_fifo = $T/notify.fifo
[metrics]
listen = 127.0.0.1:$MPORT
[group redis]
vrrp_instance = VI_1
destinations = $DEST
route_tables = $(rtb 1)
C

NS=$T/notify.sock
NLOG=$T/notify.log
: >"$NLOG"
spawn "$T/listen.err" /usr/bin/python3 "$T/listen.py" "$NS" "$NLOG" "$T/ctl.sock" \
	"$T/notify.fifo" "$MPORT"
LPID=$SPAWNED_PID
check "the notify listener is up" wait_for 10 test -S "$NS"

# daemon_start [ENV=VALUE...]: the daemon under NOTIFY_SOCKET, and ENV.
daemon_start() {
	rm -f "$T/ctl.sock"
	: >"$NLOG"
	spawn "$T/daemon.log" env NOTIFY_SOCKET="$NS" "$@" "$VPCFD" -f -c "$T/vpcf.conf"
	DPID=$SPAWNED_PID
}
count() { grep -c -- "$1" "$NLOG"; }
at_least() { [ "$(count "$2")" -ge "$1" ]; } # N PATTERN: for wait_for
nth_line() { grep -n -- "$1" "$NLOG" | sed -n "${2}p" | cut -d: -f1; }

daemon_start
check "READY=1 arrives" wait_for 10 grep -q '^READY=1' "$NLOG"
check "READY=1 carries a STATUS=" grep -q '^READY=1|STATUS=running: 1 groups' "$NLOG"
check "the control socket answered when READY=1 arrived" grep -q '^READY=1.* ctl=up' "$NLOG"
check "the notify FIFO existed when READY=1 arrived" grep -q '^READY=1.* fifo=up' "$NLOG"
check "the metrics endpoint answered when READY=1 arrived" grep -q '^READY=1.* metrics=up' "$NLOG"
check "vpc-failover status works" "$VPCF" -c "$T/vpcf.conf" status
expect_eq "no WATCHDOG=1 without WATCHDOG_USEC" "$(count WATCHDOG=1)" 0

kill -HUP "$DPID"
check "SIGHUP: READY=1 again" wait_for 10 at_least 2 '^READY=1'
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" grep -Eq '^RELOADING=1\|MONOTONIC_USEC=[0-9]+' "$NLOG"
r=$(nth_line '^RELOADING=1' 1)
y=$(nth_line '^READY=1' 2)
check "RELOADING=1 (line ${r:-none}) comes before the second READY=1 (line ${y:-none})" \
	test "${r:-99}" -lt "${y:-0}"
check "the reload was applied" grep -q 'reload: .* applied' "$T/daemon.log"

kill -TERM "$DPID"
wait "$DPID"
expect_eq "SIGTERM: exit 0" "$?" 0
check "SIGTERM: STOPPING=1" grep -q '^STOPPING=1' "$NLOG"
expect_eq "STOPPING=1 is the last message" "$(tail -1 "$NLOG" | cut -d'|' -f1)" STOPPING=1

# The watchdog: WATCHDOG_USEC set and WATCHDOG_PID the daemon's own pid (the
# bash below execs the daemon, so its $$ is the daemon's pid).
rm -f "$T/ctl.sock"
: >"$NLOG"
spawn "$T/daemon.log" env NOTIFY_SOCKET="$NS" WATCHDOG_USEC=400000 \
	bash -c 'export WATCHDOG_PID=$$; exec "$0" -f -c "$1"' "$VPCFD" "$T/vpcf.conf"
DPID=$SPAWNED_PID
check "WATCHDOG_PID=self: READY=1 arrives" wait_for 10 grep -q '^READY=1' "$NLOG"
check "WATCHDOG=1 arrives repeatedly (5 pings)" wait_for 10 at_least 5 '^WATCHDOG=1'
check "the daemon logs the watchdog period" grep -q 'systemd watchdog: 400 ms, pinging every 200 ms' "$T/daemon.log"
check "status still answers while pinging" "$VPCF" -c "$T/vpcf.conf" status
kill -TERM "$DPID"
wait "$DPID"
expect_eq "watchdog run: SIGTERM exits 0" "$?" 0

# WATCHDOG_PID unset: the watchdog is meant for this process too.
daemon_start WATCHDOG_USEC=400000
check "WATCHDOG_PID unset: WATCHDOG=1 arrives repeatedly" wait_for 10 at_least 3 '^WATCHDOG=1'
kill -TERM "$DPID"
wait "$DPID"

# WATCHDOG_PID naming another process: not ours, no pings. The first ping
# would follow READY=1 at once, before the SIGTERM is even read.
daemon_start WATCHDOG_USEC=400000 WATCHDOG_PID=1
check "WATCHDOG_PID=1: READY=1 arrives" wait_for 10 grep -q '^READY=1' "$NLOG"
kill -TERM "$DPID"
wait "$DPID"
check "WATCHDOG_PID=1: STOPPING=1 arrives" wait_for 10 grep -q '^STOPPING=1' "$NLOG"
expect_eq "WATCHDOG_PID=1: no WATCHDOG=1" "$(count WATCHDOG=1)" 0

# Without NOTIFY_SOCKET nothing of this happens (and nothing fails).
rm -f "$T/ctl.sock"
: >"$NLOG"
spawn "$T/daemon.log" env -u NOTIFY_SOCKET WATCHDOG_USEC=400000 "$VPCFD" -f -c "$T/vpcf.conf"
DPID=$SPAWNED_PID
check "no NOTIFY_SOCKET: the daemon starts" wait_for 10 test -S "$T/ctl.sock"
check "no NOTIFY_SOCKET: status answers" "$VPCF" -c "$T/vpcf.conf" status
kill -HUP "$DPID"
check "no NOTIFY_SOCKET: SIGHUP reloads" wait_for 10 grep -q 'reload: .* applied' "$T/daemon.log"
kill -TERM "$DPID"
wait "$DPID"
expect_eq "no NOTIFY_SOCKET: SIGTERM exits 0" "$?" 0
check "no NOTIFY_SOCKET: no watchdog" bash -c "! grep -q 'systemd watchdog' '$T/daemon.log'"
check "no NOTIFY_SOCKET: no notify warning" bash -c "! grep -q 'systemd notify' '$T/daemon.log'"
expect_eq "no NOTIFY_SOCKET: the listener got nothing" "$(wc -l <"$NLOG")" 0

kill "$LPID" 2>/dev/null
