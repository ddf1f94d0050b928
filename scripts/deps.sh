#!/bin/sh
# The one list of Debian packages vpc-failover needs to build, test, demo,
# benchmark and package (etcd, Patroni and PostgreSQL: the Patroni
# integration test, tests/patroni.sh; redis-sentinel: tests/sentinel.sh; debhelper to lintian: make deb and its test;
# devscripts: hardening-check; debootstrap: make deb-root-test). Installs
# the missing ones (as root); prints nothing when all are present.
set -eu

PACKAGES="
build-essential pkg-config clang libbpf-dev bpftool
libcurl4-openssl-dev libxml2-dev libjansson-dev libnl-3-dev libnl-route-3-dev
libinih-dev libmicrohttpd-dev libsystemd-dev libssl-dev libcmocka-dev
libmnl-dev libnftnl-dev libcrypt-dev libyaml-dev
libhiredis-dev libpq-dev libmariadb-dev redis-server redis-sentinel postgresql-15 mariadb-server
keepalived awscli iproute2 nftables curl openssl python3 jq ethtool
etcd-server etcd-client patroni
iperf3 linux-perf
prometheus
systemd man-db groff-base mandoc
valgrind
debhelper dpkg-dev fakeroot lintian devscripts debootstrap
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root, or apt-get install them)" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts these services on install; the tests run their own
# instances in namespaces and on loopback, never the system ones.
if [ -d /run/systemd/system ]; then
	for svc in prometheus keepalived redis-server postgresql mariadb etcd; do
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	done
fi
