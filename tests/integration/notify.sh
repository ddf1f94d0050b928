#!/bin/bash
# Failover notifications: vpc-failoverd on loopback against the simulated
# VPC, a Mackerel graph annotation and a JSON webhook sent to a local
# receiver (tests/tools/receiver.py), driven through the real CLI. Checks the
# exact messages, one annotation per converged failover and none for a MASTER
# that never converged, retries after 500s, a hanging receiver that does not
# hold up convergence, a refusing (403) and a dead receiver, the API key
# never in a log line or the status, and the key file's mode rule.
. "$(dirname "$0")/../lib.sh"

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
PY=/usr/bin/python3
RECEIVER=$TOP/tests/tools/receiver.py
KEY="mkr-test-key-$TESTID-SECRET-0123456789abcdefABCDEF"
HOST=$(hostname)
sim_vpc "$T/state.json" 3
sim_start "$T/state.json" || exit 1

# receiver_start NAME [ARGS]: sets RX_LOG, RX_PORT, RX_PID
receiver_start() {
	local name=$1
	shift
	RX_LOG=$T/$name.jsonl
	: >"$RX_LOG"
	spawn "$T/$name.log" "$PY" "$RECEIVER" --port-file "$T/$name.port" --log "$RX_LOG" \
		--lifetime 600 "$@"
	RX_PID=$SPAWNED_PID
	if ! wait_for 10 test -s "$T/$name.port"; then
		echo "# receiver $name did not start:"
		sed 's/^/# /' "$T/$name.log"
		return 1
	fi
	RX_PORT=$(head -1 "$T/$name.port")
}

# write_conf PORT: both sinks at the receiver on PORT
write_conf() {
	cat >"$T/vpcf.conf" <<-C
	$(sim_aws "api_deadline = 10" "request_timeout = 2")
	[daemon]
	control_socket = $T/ctl.sock
	state_dir = $T/state
	[metrics]
	listen =
	[mackerel]
	api_key_file = $T/mackerel.key
	service = db-service
	roles = redis, cache
	api_url = http://127.0.0.1:$1/mkr
	[webhook]
	url = http://127.0.0.1:$1/hook
	[netmon]
	# The network messages come [netmon] failover_window after a
	# failover (netmon_failover.sh tests them): none here, so that a slow
	# run (valgrind) counts the same messages.
	failover_window = 0
	[group redis]
	vrrp_instance = VI_1
	destinations = $DEST
	route_tables = $(rtb 1) $(rtb 2) $(rtb 3)
	recheck_interval = 0
	C
}

vf() { "$VPCF" -c "$T/vpcf.conf" "$@"; }
ntf() { # python expression on the status's "notifications", n
	vf status --json | $PY -c "import json,sys; n=json.load(sys.stdin)['notifications']; print($1)"
}
ntf_is() { [ "$(ntf "$1")" = "$2" ]; }
converged() {
	vf status --json | $PY -c "import json,sys; g=json.load(sys.stdin)['groups'][0]; sys.exit(0 if g['converged'] else 1)"
}
not_converged() { ! converged; }
# rx EXPR [LOG]: a python expression over the receiver's records: reqs (the
# requests), ans (numbers answered), hooks/annos (requests per sink)
rx() {
	$PY - "${2:-$RX_LOG}" "$1" <<-'P'
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	reqs = [r for r in recs if r["event"] == "request"]
	ans = {r["n"] for r in recs if r["event"] == "answered"}
	hooks = [dict(r, j=json.loads(r["body"])) for r in reqs if r["path"] == "/hook"]
	annos = [dict(r, j=json.loads(r["body"])) for r in reqs
	         if r["path"] == "/mkr/api/v0/graph-annotations"]
	ok = lambda rs: [r for r in rs if r["status"] == 200 and r["n"] in ans]
	print(eval(sys.argv[2]))
	P
}
rx_true() { [ "$(rx "$1" "${2:-$RX_LOG}")" = True ]; }
reload() { # wait for the reload to be applied
	local n
	n=$(grep -c "reload: .* applied" "$T/daemon.log")
	kill -HUP "$DPID"
	wait_for 5 bash -c "[ \$(grep -c 'reload: .* applied' '$T/daemon.log') -gt $n ]"
}
failover() { # BACKUP, routes back at node a, MASTER
	vf notify INSTANCE VI_1 BACKUP 100
	set_all $ENI_A 3
	vf notify INSTANCE VI_1 MASTER 150
}

# --- the key file's mode ----------------------------------------------------
printf '%s\n' "$KEY" >"$T/mackerel.key"
chmod 644 "$T/mackerel.key"
receiver_start rx1 || exit 1
write_conf "$RX_PORT"
"$VPCFD" --check -c "$T/vpcf.conf" >"$T/check.out" 2>&1
expect_eq "--check refuses a key file of mode 0644" "$?" 1
check "--check says why, naming the file and the key" \
	grep -q "vpcf.conf:[0-9]*: api_key_file: '$T/mackerel.key': mode 0644 is readable by group or others; chmod 600 it" "$T/check.out"
check "--check does not print the key" bash -c "! grep -qF '$KEY' '$T/check.out'"
chmod 600 "$T/mackerel.key"
check "--check accepts it at mode 0600" bash -c "'$VPCFD' --check -c '$T/vpcf.conf' | grep -q 'configuration OK'"

# --- one failover: the messages -------------------------------------------
rm -f "$T/ctl.sock"
spawn "$T/daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
DPID=$SPAWNED_PID
check "daemon starts" wait_for 5 test -S "$T/ctl.sock"
check "the instance identity is known" wait_for 10 grep -q "instance $I_C" "$T/daemon.log"
failover
check "the failover converged" wait_for 10 converged
check "one annotation and three webhook messages arrived" \
	wait_for 10 rx_true "len(ok(annos)) == 1 and len(ok(hooks)) == 3"

a=$(rx "json.dumps(annos[0]['j'])")
expect_eq "annotation title" "$(echo "$a" | $PY -c 'import json,sys; print(json.load(sys.stdin)["title"])')" \
	"vpc-failover: redis → $HOST (us-east-1c)"
expect_eq "annotation service and roles" \
	"$(echo "$a" | $PY -c 'import json,sys; j=json.load(sys.stdin); print(j["service"], j["roles"])')" \
	"db-service ['redis', 'cache']"
check "annotation from <= to, integer seconds, around now" \
	$PY -c "import json,sys,time; j=json.loads(sys.argv[1]); f,t=j['from'],j['to']; sys.exit(0 if type(f) is int and type(t) is int and f <= t and abs(t-time.time()) < 120 else 1)" "$a"
check "annotation description names every table and the transition" \
	$PY -c "import json,sys; d=json.loads(sys.argv[1])['description']; sys.exit(0 if all(t in d for t in sys.argv[2:]) and 'BACKUP → MASTER (via notify)' in d and '$ENI_C' in d else 1)" \
	"$a" "$(rtb 1)" "$(rtb 2)" "$(rtb 3)"
expect_eq "annotation has exactly the API's fields" \
	"$(echo "$a" | $PY -c 'import json,sys; print(sorted(json.load(sys.stdin)))')" \
	"['description', 'from', 'roles', 'service', 'title', 'to']"
expect_eq "the X-Api-Key header is the key" "$(rx "annos[0]['headers'].get('x-api-key')")" "$KEY"
expect_eq "annotation is JSON by Content-Type" "$(rx "annos[0]['headers'].get('content-type')")" "application/json"
expect_eq "annotation is a POST" "$(rx "annos[0]['method']")" POST
expect_eq "the webhook gets no API key" "$(rx "[h['headers'].get('x-api-key') for h in hooks]")" "[None, None, None]"

expect_eq "webhook events in order" "$(rx "[(h['j']['event'], h['j']['state']) for h in hooks]")" \
	"[('transition', 'BACKUP'), ('transition', 'MASTER'), ('converged', 'MASTER')]"
h=$(rx "json.dumps(hooks[2]['j'])")
check "converged webhook text" $PY -c "import json,re,sys; t=json.loads(sys.argv[1])['text']; sys.exit(0 if re.fullmatch(r'vpc-failover: group redis on $HOST \(us-east-1c\): BACKUP → MASTER \(notify\), all 3 route tables → $ENI_C in [0-9]+ ms, settled in [0-9]+ ms', t) else 1)" "$h"
expect_eq "converged webhook fields" \
	"$(echo "$h" | $PY -c 'import json,sys; j=json.load(sys.stdin); print(j["group"], j["host"], j["instance_id"], j["az"], j["state"], j["previous_state"], j["source"], j["eni"], type(j["convergence_ms"]).__name__, type(j["time"]).__name__)')" \
	"redis $HOST $I_C us-east-1c MASTER BACKUP notify $ENI_C int int"
expect_eq "converged webhook tables" \
	"$(echo "$h" | $PY -c 'import json,sys; print(sorted((t["table"], t["destination"], t["outcome"], type(t["ms"]).__name__) for t in json.load(sys.stdin)["tables"]))')" \
	"[('$(rtb 1)', '$DEST', 'replaced', 'int'), ('$(rtb 2)', '$DEST', 'replaced', 'int'), ('$(rtb 3)', '$DEST', 'replaced', 'int')]"
check "transition webhook text" rx_true "hooks[1]['j']['text'] == 'vpc-failover: group redis on $HOST (us-east-1c): BACKUP → MASTER (notify), moving 3 route tables to $ENI_C'"
check "status counts the sent messages" \
	wait_for 5 ntf_is "n['sent'], n['failed'], n['queued'], n['mackerel'], n['webhook']" "4 0 0 True True"
check "status text shows the notifications" bash -c \
	"'$VPCF' -c '$T/vpcf.conf' status | grep -q '^notifications (mackerel, webhook): 4 sent, 0 queued, 0 failed, 0 dropped$'"

# A second converged failover: a second annotation.
failover
check "second failover converged" wait_for 10 converged
check "one annotation per converged failover (2 now)" wait_for 10 rx_true "len(ok(annos)) == 2 and len(ok(hooks)) == 6"

# A MASTER that never converges (EC2 answers 5xx), then BACKUP: a webhook
# message for each transition, no annotation, no convergence message.
vf notify INSTANCE VI_1 BACKUP 100
set_all $ENI_A 3
sim_post /_sim/faults '{"error5xx": 1}' >/dev/null
vf notify INSTANCE VI_1 MASTER 150
check "the unconverged MASTER was announced" wait_for 10 rx_true "len(ok(hooks)) == 8"
check "and it has not converged" not_converged
vf notify INSTANCE VI_1 BACKUP 100
sim_post /_sim/faults '{"error5xx": 0}' >/dev/null
check "the BACKUP after it was announced" wait_for 10 rx_true "len(ok(hooks)) == 9"
expect_eq "the last three webhook events" "$(rx "[(h['j']['event'], h['j']['state']) for h in hooks[-3:]]")" \
	"[('transition', 'BACKUP'), ('transition', 'MASTER'), ('transition', 'BACKUP')]"
sleep 1 # the only thing that could still come is a wrong message
expect_eq "no annotation for a MASTER that never converged" "$(rx "len(annos)")" 2
expect_eq "no convergence message for it" "$(rx "sum(h['j']['event'] == 'converged' for h in hooks)")" 2

# --- 500s are retried; a hanging receiver does not hold up failover --------
receiver_start rx2 --fail-first 2 --hold-file "$T/hold" || exit 1
write_conf "$RX_PORT"
check "reload to a receiver that fails twice" reload
failover # BACKUP again: no transition, so MASTER and convergence only
check "failover converged while the receiver answered 500" wait_for 10 converged
check "retries delivered every message (1 annotation, 2 webhook messages)" \
	wait_for 20 rx_true "len(ok(annos)) == 1 and len(ok(hooks)) == 2"
expect_eq "the receiver did answer 500 twice" "$(rx "sum(r['status'] == 500 for r in reqs)")" 2
check "status counts the failed attempts" wait_for 5 ntf_is "n['errors'] >= 2" True
expect_eq "nothing was given up" "$(ntf "n['failed']")" 0
check "the first failure was logged" grep -q "notifications: .*: HTTP 500.*retrying" "$T/daemon.log"

touch "$T/hold"
before=$(rx "len(reqs)")
failover
check "the receiver holds a request" wait_for 10 rx_true "len(reqs) > $before and len(ans) < len(reqs)"
check "converged while the receiver is stalled" wait_for 10 converged
check "the receiver is still stalled (request unanswered)" rx_true "len(ans) < len(reqs)"
expect_eq "routes moved meanwhile" "$(all_at $ENI_C 3 && echo yes)" yes
check "messages wait their turn in the queue" test "$(ntf "n['queued']")" -ge 1
rm -f "$T/hold"
# (>=: a request held past the daemon's timeout is sent again)
check "released: the annotation arrives" wait_for 30 rx_true "len(ok(annos)) >= 2 and len(ok(hooks)) >= 5"
check "and the queue is empty" wait_for 10 ntf_is "n['queued']" 0

# --- a receiver that refuses (403) and echoes the key back ---------------
receiver_start rx3 --status 403 --echo || exit 1
write_conf "$RX_PORT"
check "reload to a refusing receiver" reload
failed0=$(ntf "n['failed']")
failover
check "failover converged while notifications were refused" wait_for 10 converged
check "403 is final: one attempt per message" wait_for 10 rx_true "len(ans) == 4 and len(reqs) == 4"
check "status counts the refused messages" wait_for 5 ntf_is "n['failed']" $((failed0 + 4))
check "the refusal is logged with status and answer" \
	grep -q "notifications: Mackerel annotation .* refused with HTTP 403: {" "$T/daemon.log"
sleep 1
expect_eq "not retried" "$(rx "len(reqs)")" 4

# --- a dead receiver -----------------------------------------------------
kill "$RX_PID"
wait "$RX_PID" 2>/dev/null
errors0=$(ntf "n['errors']")
failover
check "failover converges with nothing listening" wait_for 10 converged
expect_eq "every table moved" "$(all_at $ENI_C 3 && echo yes)" yes
check "status counts the failed attempts" wait_for 10 ntf_is "n['errors'] > $errors0" True
check "status names the last error" ntf_is "'onnect' in n['last_error']" True

# --- the key never shows ---------------------------------------------------
vf status --json >"$T/status.json"
check "the status has the notification counters" \
	$PY -c "import json,sys; n=json.load(open('$T/status.json'))['notifications']; sys.exit(0 if {'sent','failed','dropped','queued','errors'} <= set(n) else 1)"
check "the key is not in the status" bash -c "! grep -qF '$KEY' '$T/status.json'"
check "the key is not in the daemon's log" bash -c "! grep -qF '$KEY' '$T/daemon.log'"
check "(the 403 answer that echoed it was redacted)" grep -q "x-api-key.*\*\*\*\*\*\|<redacted>" "$T/daemon.log"

# --- an unsafe key file at reload: the key in use stays, the rest applies ---
receiver_start rx4 || exit 1
write_conf "$RX_PORT"
chmod 644 "$T/mackerel.key"
check "the CLI still works with a 0644 key file (keepalived's hook must)" converged
check "reload with a 0644 key file" reload
check "says why, file:line" grep -q "vpcf.conf:[0-9]*: api_key_file: '$T/mackerel.key': mode 0644 is readable by group or others; chmod 600 it" "$T/daemon.log"
check "and keeps the running [mackerel] settings" grep -q "keeping the running \[mackerel\] settings (annotations on" "$T/daemon.log"
failover
check "failover converged" wait_for 10 converged
# The dead receiver's three messages first (retried at once after the
# reload), then this failover's.
check "the webhook moved to the new receiver, with what waited" wait_for 10 rx_true "len(ok(hooks)) == 6"
expect_eq "this failover's webhook messages" "$(rx "[(h['j']['event'], h['j']['state']) for h in hooks[-3:]]")" \
	"[('transition', 'BACKUP'), ('transition', 'MASTER'), ('converged', 'MASTER')]"
check "annotations stay where they were (not to the new URL with the old key)" \
	rx_true "len(annos) == 0"
check "the key is still not in the daemon's log" bash -c "! grep -qF '$KEY' '$T/daemon.log'"
