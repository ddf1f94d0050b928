#!/bin/bash
# /metrics for a remote Prometheus (issue 15): TLS (certificate and key
# files) and basic authentication (bcrypt hashes, as in the Prometheus
# exporter toolkit's web.config), checked with curl and scraped by a real
# Prometheus over https with basic_auth; a listener beyond loopback without
# them is refused unless allow_insecure_remote says so; a readable key is
# refused. Everything on loopback.
. "$(dirname "$0")/../lib.sh"

PROMTOOL=/usr/bin/promtool
PROMETHEUS=/usr/bin/prometheus
PY=/usr/bin/python3
for t in "$PROMETHEUS" openssl curl; do
	command -v "$t" >/dev/null || { echo "Bail out! $t missing (scripts/deps.sh installs it)"; exit 1; }
done
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A self-signed certificate for 127.0.0.1, and one user, "prom", whose
# password is a bcrypt hash (cost 4: a test need not be slow).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/key.pem" -out "$T/cert.pem" -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
chmod 600 "$T/key.pem"
PASS=scrape-secret-$RANDOM
HASH=$($PY -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' "$PASS")
# The exporter toolkit's web.config: the certificate and key relative to
# the file, as the toolkit reads them; a plain and a quoted hash.
mkdir "$T/web"
cp "$T/cert.pem" "$T/key.pem" "$T/web/"
cat >"$T/web/web.yml" <<Y
# the Prometheus exporter toolkit's format
tls_server_config:
  cert_file: cert.pem
  key_file: key.pem
basic_auth_users:
  # the Prometheus server
  prom: $HASH
  "ops": '$HASH'
Y
check "a bcrypt hash for the user" grep -q '^  prom: \$2[aby]\$04\$' "$T/web/web.yml"
# basic_auth_users_file: a web.config with the users alone.
printf 'basic_auth_users:\n  prom: %s\n' "$HASH" >"$T/users.yml"

sim_vpc "$T/state.json" 1
sim_start "$T/state.json" || exit 1
MPORT=$(free_port)
METRICS="listen = 127.0.0.1:$MPORT
tls_cert_file = $T/cert.pem
tls_key_file = $T/key.pem
basic_auth_users_file = $T/users.yml"
sim_conf 1 0 "[metrics]
listen = 127.0.0.1:$MPORT
web_config_file = $T/web/web.yml"
# sim_conf writes an empty [metrics] listen first: keep only ours.
$PY - "$T/vpcf.conf" <<'P'
import sys
p = sys.argv[1]; lines = open(p).read().split("\n")
out, seen = [], False
for l in lines:
    if l.strip() == "[metrics]":
        if seen: continue
        seen = True
    if l.strip() == "listen =":
        continue
    out.append(l)
open(p, "w").write("\n".join(out))
P
out=$("$VPCFD" --check -c "$T/vpcf.conf" 2>&1)
expect_eq "--check with a web.config (TLS and basic authentication)" "$out" "configuration OK"
spawn "$T/daemon.log" "$VPCFD" -f -c "$T/vpcf.conf"
check "daemon up" wait_for 5 test -S "$T/ctl.sock"
check "the daemon serves https with basic authentication" wait_for 5 grep -q \
	"metrics: Prometheus endpoint on https://127.0.0.1:$MPORT/metrics (port $MPORT), basic authentication" "$T/daemon.log"

URL=https://127.0.0.1:$MPORT/metrics
code() { curl -s -o "$T/body" -w '%{http_code}' --max-time 5 --cacert "$T/cert.pem" "$@"; }
expect_eq "no credentials: 401" "$(code "$URL")" 401
check "401 asks for basic authentication" bash -c \
	"curl -s -D - -o /dev/null --max-time 5 --cacert '$T/cert.pem' '$URL' | tr -d '\r' | grep -qi '^WWW-Authenticate: Basic realm=\"vpc-failover\"'"
expect_eq "a wrong password: 401" "$(code -u "prom:wrong" "$URL")" 401
expect_eq "an unknown user: 401" "$(code -u "nobody:$PASS" "$URL")" 401
expect_eq "the right credentials: 200" "$(code -u "prom:$PASS" "$URL")" 200
check "and the metrics" grep -q '^vpc_failover_up [01]$' "$T/body"
expect_eq "again (the cached verification): 200" "$(code -u "prom:$PASS" "$URL")" 200
expect_eq "a user with a quoted name and hash: 200" "$(code -u "ops:$PASS" "$URL")" 200
expect_eq "a wrong password after a right one: 401" "$(code -u "prom:${PASS}x" "$URL")" 401
# Guessing passwords costs a bcrypt each: beyond a budget (a burst of 4,
# 2 a second) the daemon answers 429 without hashing, while credentials
# that verified are served from the cache.
check "the right credentials again" wait_for 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert '$T/cert.pem' -u 'prom:$PASS' '$URL')\" = 200 ]"
storm_pids=()
for i in $(seq 1 30); do
	code -u "prom:guess$i" "$URL" >"$T/storm.$i" &
	storm_pids+=($!)
done
wait "${storm_pids[@]}" # not a bare wait: the daemon is our child too
echo "# 30 wrong passwords at once: $(grep -l 429 "$T"/storm.* | wc -l) answered 429, $(grep -l 401 "$T"/storm.* | wc -l) 401"
check "30 wrong passwords at once: some answered 429 (over the bcrypt budget)" grep -q 429 "$T"/storm.*
check "and none let in" bash -c "! grep -q 200 '$T'/storm.*"
expect_eq "the cached credentials are served during it: 200" "$(code -u "prom:$PASS" "$URL")" 200
check "a second later a wrong password is checked again: 401" wait_for 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert '$T/cert.pem' -u 'prom:nope' '$URL')\" = 401 ]"
check "plain http gets no metrics" bash -c \
	"! curl -s --max-time 3 -u 'prom:$PASS' 'http://127.0.0.1:$MPORT/metrics' | grep -q vpc_failover_up"
check "an untrusted certificate is refused by the client" bash -c \
	"! curl -s --max-time 3 -u 'prom:$PASS' '$URL' >/dev/null"
check "the password never reaches the log" bash -c "! grep -q -- '$PASS' '$T/daemon.log'"

# A real Prometheus scrapes it over TLS with basic authentication.
PPORT=$(free_port)
cat >"$T/prometheus.yml" <<Y
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: vpc-failover
    scheme: https
    scrape_interval: 1s
    scrape_timeout: 1s
    tls_config:
      ca_file: $T/cert.pem
    basic_auth:
      username: prom
      password: $PASS
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
Y
check "promtool check config" bash -c "'$PROMTOOL' check config '$T/prometheus.yml' >/dev/null"
spawn "$T/prometheus.log" "$PROMETHEUS" --config.file="$T/prometheus.yml" \
	--storage.tsdb.path="$T/prometheus-data" --web.listen-address="127.0.0.1:$PPORT"
pquery() {
	curl -sS --max-time 3 --get --data-urlencode "query=$1" \
		"http://127.0.0.1:$PPORT/api/v1/query" 2>/dev/null |
		$PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null
}
pquery_is() { [ "$(pquery "$1")" = "$2" ]; }
V=$(cat "$TOP/VERSION")
if wait_for 60 pquery_is "vpc_failover_build_info{version=\"$V\"}" 1; then
	ok "Prometheus scraped over https with basic_auth"
else
	not_ok "Prometheus scraped over https with basic_auth" "$(tail -5 "$T/prometheus.log")"
fi
check "the scrape target is healthy" bash -c "curl -sS 'http://127.0.0.1:$PPORT/api/v1/targets' | $PY -c '
import json,sys; t=json.load(sys.stdin)[\"data\"][\"activeTargets\"][0]
assert t[\"health\"] == \"up\" and t[\"lastError\"] == \"\" and t[\"scrapeUrl\"].startswith(\"https://\"), t'"

# --- what --check refuses ---------------------------------------------------------
cfgcheck() { # METRICS-LINES: --check's output for a config with these [metrics] keys
	printf '[aws]\nregion = us-east-1\n[metrics]\n%s\n[group g]\nvrrp_instance = VI_1\ndestinations = 198.19.255.10/32\nroute_tables = rtb-00000000000000001\nnetwork_interface = eni-0aaaaaaaaaaaaaaa1\n' "$1" >"$T/c.conf"
	"$VPCFD" --check -c "$T/c.conf" 2>&1
}
out=$(cfgcheck "listen = 198.18.0.1:9641")
case $out in
*"listen = 198.18.0.1:9641 is not a loopback address: set web_config_file (or tls_cert_file, tls_key_file and basic_auth_users_file), or allow_insecure_remote = yes"*)
	ok "a listener beyond loopback without TLS and auth is refused, saying what to set" ;;
*) not_ok "a listener beyond loopback without TLS and auth is refused, saying what to set" "$out" ;;
esac
expect_eq "... unless allow_insecure_remote = yes" \
	"$(cfgcheck "$(printf 'listen = 198.18.0.1:9641\nallow_insecure_remote = yes')")" "configuration OK"
out=$(cfgcheck "$(printf 'listen = 198.18.0.1:9641\ntls_cert_file = %s\ntls_key_file = %s' "$T/cert.pem" "$T/key.pem")")
check "TLS without basic authentication is refused beyond loopback" grep -q "not a loopback address" <<<"$out"
expect_eq "TLS and basic authentication beyond loopback: OK" \
	"$(cfgcheck "$(printf 'listen = 198.18.0.1:9641\n%s' "$(sed 1d <<<"$METRICS")")")" "configuration OK"
out=$(cfgcheck "$(printf 'tls_cert_file = %s' "$T/cert.pem")")
check "a certificate without its key is refused" grep -q "tls_cert_file and tls_key_file go together" <<<"$out"
chmod 644 "$T/key.pem"
out=$(cfgcheck "$(printf 'tls_cert_file = %s\ntls_key_file = %s' "$T/cert.pem" "$T/key.pem")")
check "a key readable by others is refused" grep -q "key.pem: mode 0644 is readable by group or others; chmod 600 it" <<<"$out"
chmod 600 "$T/key.pem"
printf 'basic_auth_users:\n  prom: notahash\n' >"$T/bad-users"
out=$(cfgcheck "$(printf 'basic_auth_users_file = %s' "$T/bad-users")")
check "a users file without bcrypt hashes is refused, with its line" grep -q "bad-users:2: basic_auth_users: prom: not a bcrypt hash" <<<"$out"
printf 'prom:%s\n' "$HASH" >"$T/htpasswd"
out=$(cfgcheck "$(printf 'basic_auth_users_file = %s' "$T/htpasswd")")
check "htpasswd's user:hash lines are refused, saying what the file is" grep -q "htpasswd:1: want a Prometheus web.config: 'basic_auth_users:'" <<<"$out"
printf 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_ca_file: ca.pem\n' >"$T/web/mtls.yml"
out=$(cfgcheck "$(printf 'web_config_file = %s' "$T/web/mtls.yml")")
check "a web.config key not supported here is refused, naming its line" grep -q "mtls.yml:4: tls_server_config: client_ca_file is not supported here" <<<"$out"
# A remote listener with a web.config that lacks users (checked when it is read).
printf 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n' >"$T/web/tls-only.yml"
out=$(cfgcheck "$(printf 'listen = 198.18.0.1:9641\nweb_config_file = %s' "$T/web/tls-only.yml")")
check "beyond loopback, a web.config without basic_auth_users is refused" grep -q "listen = 198.18.0.1:9641 is not a loopback address: $T/web/tls-only.yml has no basic_auth_users" <<<"$out"
expect_eq "a web.config with only TLS on loopback: OK" \
	"$(cfgcheck "$(printf 'web_config_file = %s' "$T/web/tls-only.yml")")" "configuration OK"
expect_eq "web.config beyond loopback: OK" \
	"$(cfgcheck "$(printf 'listen = 198.18.0.1:9641\nweb_config_file = %s' "$T/web/web.yml")")" "configuration OK"
out=$(cfgcheck "$(printf 'web_config_file = %s\nbasic_auth_users_file = %s' "$T/web/web.yml" "$T/users.yml")")
check "web_config_file beside the other keys is refused" grep -q "web_config_file names the certificate, key and users itself" <<<"$out"
out=$(cfgcheck "$(printf 'basic_auth_users_file = %s' "$T/web/web.yml")")
check "tls_server_config in basic_auth_users_file is refused" grep -q "web.yml:2: tls_server_config: this file only names users" <<<"$out"
