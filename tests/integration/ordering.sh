#!/bin/bash
# keepalived forks notify hooks without waiting for them, and the daemon
# orders their events by the time each hook was forked: to the kernel's
# clock tick (10 ms) from /proc/self/stat, and by process id between hooks
# forked closer together than that. Two processes send notify requests
# through the control socket with chosen times; the later fork (the higher
# pid) wins when the times are within 20 ms, the later time otherwise.
. "$(dirname "$0")/../lib.sh"

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
sim_vpc "$T/state.json" 1
sim_start "$T/state.json" || exit 1
sim_conf 1 0
spawn "$T/daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
check "daemon starts" wait_for 5 test -S "$T/ctl.sock"
state() { "$VPCF" -c "$T/vpcf.conf" status --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['groups'][0]['state'])"; }

# send FIRST_STATE FIRST_AGE SECOND_STATE SECOND_AGE: two forked processes,
# the first with the lower pid, each sends one notify stamped AGE ms ago; the
# second process sends first (it arrives first).
send() {
	/usr/bin/python3 - "$T/ctl.sock" "$@" <<-'P'
	import json, os, socket, sys, time
	sock, s1, a1, s2, a2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
	now = int(time.monotonic() * 1000)
	r1, w1 = os.pipe()
	def child(state, age, wait_fd, done_fd):
	    if wait_fd is not None:
	        os.read(wait_fd, 1)
	    c = socket.socket(socket.AF_UNIX)
	    c.connect(sock)
	    c.sendall((json.dumps({"cmd": "notify", "type": "INSTANCE", "name": "VI_1",
	        "state": state, "priority": 100, "mono": now - age, "wall": int(time.time())}) + "\n").encode())
	    c.recv(4096)
	    if done_fd is not None:
	        os.write(done_fd, b"x")
	    os._exit(0)
	p1 = os.fork()
	if p1 == 0:
	    child(s1, a1, r1, None)
	p2 = os.fork()
	if p2 == 0:
	    child(s2, a2, None, w1)
	os.waitpid(p2, 0)
	os.waitpid(p1, 0)
	assert p1 < p2, "pids did not increase"
	P
}
"$VPCF" -c "$T/vpcf.conf" notify INSTANCE VI_1 BACKUP 100
# Past this notify's time: on a quiet machine python starts within 50 ms of
# it, so the BACKUP below, stamped 50 ms back, was older than it and ignored,
# and the MASTER 5 ms later then beat this notify by time.
sleep 0.3
# Within a tick: the lower pid's MASTER stamped 5 ms later than the higher
# pid's BACKUP is still the older event.
send MASTER 45 BACKUP 50
expect_eq "hooks 5 ms apart: the later fork (higher pid) wins" "$(state)" BACKUP
send BACKUP 45 MASTER 50
expect_eq "and the other way round" "$(state)" MASTER
# Beyond the tick, the times decide.
sleep 0.3 # past the last event's time
send BACKUP 100 MASTER 200
expect_eq "hooks 100 ms apart: the later time wins, whatever the pids" "$(state)" BACKUP
check "the daemon logged the older event as ignored" grep -q "is older than the state already applied" "$T/daemon.log"
