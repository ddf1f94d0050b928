#!/bin/bash
# One version, from the VERSION file: --version of both binaries (with no
# configuration anywhere), the User-Agent of every HTTP request, `status`
# (text and JSON), the vpc_failover_build_info metric, and debian/changelog.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
V=$(cat "$TOP/VERSION")
check "VERSION holds one version ($V)" bash -c "[[ '$V' =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]"

for bin in vpc-failover vpc-failoverd; do
	out=$(cd "$T" && "$B/$bin" --version -c "$T/none.conf" 2>"$T/err")
	expect_eq "$bin --version" "$out" "$bin $V"
	expect_eq "$bin --version: nothing on stderr" "$(cat "$T/err")" ""
done
expect_eq "vpc-failover -V" "$("$B/vpc-failover" -V)" "vpc-failover $V"
expect_eq "vpc-failoverd -V" "$("$B/vpc-failoverd" -V)" "vpc-failoverd $V"
expect_eq "vpc-failover status --version (after a command)" \
	"$("$B/vpc-failover" status --version 2>&1)" "vpc-failover $V"
if [ -f "$TOP/debian/changelog" ]; then
	expect_eq "debian/changelog's version is VERSION" \
		"$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)" "$V"
fi

# The User-Agent: a one-shot HTTP listener on loopback stands in for EC2.
cat >"$T/ua.py" <<'P'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(10)
open(sys.argv[1] + ".port", "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
c.settimeout(5)
data = b""
while b"\r\n\r\n" not in data and len(data) < 65536:
    d = c.recv(4096)
    if not d:
        break
    data += d
open(sys.argv[1], "wb").write(data)
c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
c.close()
P
spawn "$T/ua.log" timeout 20 $PY "$T/ua.py" "$T/request"
wait_for 5 test -s "$T/request.port"
cat >"$T/ua.conf" <<C
[aws]
region = us-east-1
endpoint = http://127.0.0.1:$(cat "$T/request.port")
metadata_endpoint = http://127.0.0.1:9
api_deadline = 2
request_timeout = 2
[daemon]
control_socket = $T/ua.sock
state_dir = $T/ua.state
[group g]
vrrp_instance = VI_1
destinations = 198.19.255.10/32
route_tables = rtb-00000000000000001
network_interface = eni-0aaaaaaaaaaaaaaa1
C
AWS_ACCESS_KEY_ID=AKIAUATEST0000000001 AWS_SECRET_ACCESS_KEY=secret \
	timeout 20 "$B/vpc-failover" -c "$T/ua.conf" routes >/dev/null 2>&1
wait_for 5 test -s "$T/request"
expect_eq "User-Agent of an EC2 request" \
	"$(tr -d '\r' <"$T/request" | sed -n 's/^User-Agent: //Ip')" "vpc-failover/$V"

# status and the metrics of a running daemon.
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
sim_vpc "$T/state.json" 1
sim_start "$T/state.json" || exit 1
sim_conf 1 0
spawn "$T/daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
check "daemon up" wait_for 5 test -S "$T/ctl.sock"
st=$("$VPCF" -c "$T/vpcf.conf" status)
case $st in
"vpc-failoverd $V pid "*) ok "status names the daemon's version" ;;
*) not_ok "status names the daemon's version" "first line: $(head -1 <<<"$st")" ;;
esac
expect_eq "status --json: daemon.version" \
	"$("$VPCF" -c "$T/vpcf.conf" status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["version"])')" "$V"
"$VPCF" -c "$T/vpcf.conf" metrics >"$T/metrics.txt"
check "metric vpc_failover_build_info{version=\"$V\"} 1" \
	grep -qx "vpc_failover_build_info{version=\"$V\"} 1" "$T/metrics.txt"
check "build_info has HELP and TYPE gauge" grep -qx "# TYPE vpc_failover_build_info gauge" "$T/metrics.txt"
