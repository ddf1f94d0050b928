#!/bin/bash
# etcd as a careful operator runs it: TLS with client certificates
# (--client-cert-auth, a CA, server and client certificates made here with
# openssl) and authentication (etcdctl user add, auth enable; simple tokens
# that expire after 2 s unused). One real etcd (Debian etcd-server) in the
# client's namespace; node-c's daemon follows the leader key, written with
# etcdctl as Patroni would (no Patroni here: tests/integration/patroni.sh
# runs it).
#   good credentials: the daemon reads and watches through auth: the key
#     names node-c, every table moves there; another name, BACKUP; the token
#     expires between reads and the daemon authenticates again;
#   a wrong password, a private key readable by others, a certificate of
#     another CA: a clear error in status, the log and doctor, the group
#     held and the routes as they were; the password never logged;
#   Patroni's callback (patroni-callback): the daemon reads the key now;
#     bad arguments, or a scope no group follows, exit 2.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../topo.sh"
. "$(dirname "$0")/../nodes.sh"
. "$(dirname "$0")/../patroni.sh"

for b in etcd etcdctl openssl; do
	command -v "$b" >/dev/null || { echo "1..0 # SKIP $b not installed (scripts/deps.sh)"; exit 0; }
done

# -- certificates: a CA, etcd's server certificate, two client certificates
# without a CommonName: with authentication enabled, etcd's gateway refuses a
# client certificate that has one; one of another CA, one with a CN) ---------------------------------------------
mkcert() { # NAME SUBJECT CA [SAN]: $T/NAME.pem and $T/NAME.key, signed by CA
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" -keyout "$T/$1.key" \
		-out "$T/$1.csr" 2>/dev/null || return 1
	[ -n "${4:-}" ] && printf 'subjectAltName = %s\n' "$4" >"$T/$1.ext" || : >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.pem" -CAkey "$T/$3.key" -CAcreateserial \
		-days 1 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
for ca in ca ca2; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=vpcf-test-$ca" \
		-keyout "$T/$ca.key" -out "$T/$ca.pem" 2>/dev/null
done
check "certificates made" bash -c "$(declare -f mkcert); T='$T'; mkcert etcd /CN=etcd ca IP:$PAT_CL_ADDR &&
	mkcert client /O=vpcf ca && mkcert other /O=vpcf ca2 && mkcert named /CN=vpcf ca"
chmod 600 "$T/client.key" "$T/other.key" "$T/named.key"

topo_up || { not_ok "topology up"; exit 1; }
EP=https://$PAT_CL_ADDR:2479
mkdir -p "$T/etcd-auth"
spawn "$T/etcd-auth.log" ip netns exec "$NS_CL" etcd --name auth --data-dir "$T/etcd-auth" \
	--listen-peer-urls http://127.0.0.1:2480 --initial-advertise-peer-urls http://127.0.0.1:2480 \
	--initial-cluster auth=http://127.0.0.1:2480 \
	--listen-client-urls "$EP" --advertise-client-urls "$EP" \
	--cert-file "$T/etcd.pem" --key-file "$T/etcd.key" \
	--client-cert-auth --trusted-ca-file "$T/ca.pem" --auth-token simple --auth-token-ttl 2
ETCD_PID=$SPAWNED_PID
ectl() { # etcdctl as root, with the test client's certificate
	ip netns exec "$NS_CL" etcdctl --endpoints "$EP" --cacert "$T/ca.pem" --cert "$T/client.pem" \
		--key "$T/client.key" "$@"
}
check "etcd (TLS, client certificates) up" within 20 ectl endpoint health
PW=pw-$TESTID-$RANDOM$RANDOM
setup_auth() {
	echo root-$PW | ectl user add root --interactive=false &&
		echo "$PW" | ectl user add vpcf --interactive=false &&
		ectl role add pat && ectl role grant-permission pat --prefix read /service/auth/ &&
		ectl user grant-role vpcf pat && ectl auth enable
}
check "etcd: user vpcf (read /service/auth/), auth enabled" setup_auth
aput() { ectl --user "root:root-$PW" put /service/auth/leader "$1" >/dev/null; }
check "the leader key names node-c" aput node-c

echo "$PW" >"$T/etcd.pw"
chmod 600 "$T/etcd.pw"
# node_conf N CERT KEY PWFILE: node N's configuration against the auth etcd
auth_conf() {
	pat_node_conf c
	sed -i -e "s|^etcd_endpoints = .*|etcd_endpoints = $EP|" \
		-e "s|^patroni_scope = .*|patroni_scope = auth|" "$T/c/vpcf.conf"
	printf '%s\n' "etcd_ca_file = $T/ca.pem" "etcd_cert_file = $T/$1.pem" \
		"etcd_key_file = $T/$2" "etcd_user = vpcf" "etcd_password_file = $T/$3" >>"$T/c/vpcf.conf"
}

# == good credentials ============================================================
auth_conf client client.key etcd.pw
check "the configuration checks" "$VPCFD" -n -c "$T/c/vpcf.conf"
set_all "$ENI_A"
check "daemon on node-c starts" d_start c
check "through TLS and auth: node-c MASTER, every table at node-c" within 10 all_at "$ENI_C"
check "status: MASTER, leader node-c, user vpcf, client certificate, watching" within 5 status_is c \
	"g['state'], g['patroni']['leader'], g['patroni']['etcd_user'], g['patroni']['client_cert'], g['patroni']['watching']" \
	"MASTER node-c vpcf True True"
t0=$EPOCHREALTIME
aput node-a
check "the watch (with the token) sees another leader: BACKUP" within 3 status_is c \
	"g['state'], g['patroni']['leader']" "BACKUP node-a"
echo "# etcdctl put (its start-up included) -> status BACKUP in $(ms_since "$EPOCHREALTIME" "$t0") ms (watch)"
n0=$(st_of c "g['patroni']['authentications']")
# the next backstop read (every 5 s) comes after the 2 s token TTL
check "an expired token: authenticated again" within 8 grep -q \
	"the auth token is no longer valid (range read: etcdserver: invalid auth token); authenticating again" \
	"$T/c/daemon.log"
check "... and reading goes on: no error, more authentications" within 3 status_is c \
	"g['patroni']['error'] == '' and g['patroni']['authentications'] > $n0" True
aput node-c
check "the leader key names node-c again: MASTER" within 5 status_is c "g['state']" MASTER
check "every table at node-c" within 10 all_at "$ENI_C"

# == Patroni's callback (on_role_change): a hint to read the key now ==========
r0=$(st_of c "g['patroni']['reads']")
check "patroni-callback, as Patroni calls on_role_change: exit 0" \
	vf c patroni-callback on_role_change primary auth
check "... the daemon reads the key now (through the token)" within 3 status_is c \
	"g['patroni']['callbacks'] == 1 and g['patroni']['reads'] > $r0 and g['state'] == 'MASTER'" True
check "... and logs who asked" grep -q \
	"Patroni's on_role_change (role primary) from .*: reading the leader key now" "$T/c/daemon.log"
vf c patroni-callback on_role_change primary >"$T/cb.out" 2>&1
expect_eq "patroni-callback with two arguments: exit 2" "$?" 2
check "... saying what it wants" grep -q "want 3 arguments (ACTION ROLE SCOPE" "$T/cb.out"
vf c patroni-callback on_promote primary auth >"$T/cb.out" 2>&1
expect_eq "patroni-callback with an unknown action: exit 2" "$?" 2
vf c patroni-callback on_role_change primary other-scope >"$T/cb.out" 2>&1
expect_eq "patroni-callback for a scope no group follows: exit 2" "$?" 2
check "... the daemon says so" grep -q "no group of .* follows Patroni scope 'other-scope'" "$T/cb.out"
expect_eq "... nothing else asked: one callback counted" "$(st_of c "g['patroni']['callbacks']")" 1
echo "# after the token expired: $(grep -a "Patroni leader 'node-c'" "$T/c/daemon.log" | tail -1 | sed 's/.*(etcd/(etcd/')"
vf c doctor >"$T/doctor.out" 2>&1
check "doctor: etcd answers as vpcf" grep -q "\[overlay\] etcd $EP answers as 'vpcf'" "$T/doctor.out"
check "doctor: the leader and this node's role" \
	grep -q "Patroni leader (/service/auth/leader) is 'node-c'; this node is 'node-c': MASTER" "$T/doctor.out"

# == wrong password ===============================================================
echo "wrong-$PW" >"$T/wrong.pw"
chmod 600 "$T/wrong.pw"
auth_conf client client.key wrong.pw
kill -HUP "${DPID[c]}"
want="authentication as 'vpcf' refused: HTTP 400: etcdserver: authentication failed, invalid user ID or password"
check "wrong password: status names what etcd said" within 10 status_is c \
	"g['patroni']['error']" "$want"
check "wrong password: the log too, with the endpoint" grep -q "etcd $EP: $want" "$T/c/daemon.log"
# Held at the first failure 7 s (PAT_HOLD_MS) after the last answer; the
# retries back off to 5 s apart, each bounded by 2 s: at most ~14 s.
check "wrong password: the group is held" within 20 status_is c "g['patroni']['held']" True
set_all "$ENI_A" # another writer; a held group takes nothing back
vf c doctor >"$T/doctor.out" 2>&1
check "doctor: the credentials are refused, by which endpoint, what etcd said" grep -q \
	"\[overlay\] etcd $EP refuses authentication as 'vpcf': HTTP 400: etcdserver: authentication failed, invalid user ID or password" \
	"$T/doctor.out"
check "doctor: no endpoint usable" grep -q "no etcd endpoint answers" "$T/doctor.out"

# == a private key readable by others ===========================================
cp "$T/client.key" "$T/open.key"
chmod 644 "$T/open.key"
auth_conf client open.key etcd.pw
kill -HUP "${DPID[c]}"
check "key readable by others: refused, in status" within 10 status_is c \
	"'chmod 600' in g['patroni']['error'] and 'etcd_key_file $T/open.key' in g['patroni']['error']" True
vf c doctor >"$T/doctor.out" 2>&1
check "doctor: the key file's mode" grep -q \
	"\[overlay\] etcd_key_file $T/open.key: mode 0644 is readable by others; chmod 600 it" "$T/doctor.out"

# == a certificate of another CA =================================================
auth_conf other other.key etcd.pw
kill -HUP "${DPID[c]}"
check "a certificate etcd does not trust: an error in status" within 10 status_is c \
	"g['patroni']['error'].startswith('authentication: ') and g['patroni']['held']" True
echo "# another CA's certificate: $(st_of c "g['patroni']['error']")"
vf c doctor >"$T/doctor.out" 2>&1
check "doctor: the endpoint does not answer, with the TLS error" grep -q \
	"\[overlay\] etcd $EP does not answer: " "$T/doctor.out"
sleep 2 # the re-checks (every 5 s) since the other writer had their turn
check "held all along: the routes are where the other writer put them" all_at "$ENI_A"

# == a certificate with a CommonName ==============================================
auth_conf named named.key etcd.pw
kill -HUP "${DPID[c]}"
check "a client certificate with a CN: etcd's refusal, and what to do, in status" within 10 status_is c \
	"'CommonName of client' in g['patroni']['error'] and 'without a CommonName' in g['patroni']['error']" True

# == good again, and no secret in the log ========================================
auth_conf client client.key etcd.pw
kill -HUP "${DPID[c]}"
check "good credentials again: MASTER, every table at node-c" within 15 all_at "$ENI_C"
check "the password is in no log line" bash -c "! grep -q -- '$PW' '$T/c/daemon.log' '$T/doctor.out'"

d_stop c
kill -9 "$ETCD_PID" && wait "$ETCD_PID" 2>/dev/null
true
