#!/bin/bash
# The Debian package in a minimal Debian root (`make deb-root-test`; not in
# `make test`: it downloads a base system from the archive). debootstrap
# --variant=minbase makes a bookworm root holding nothing but the essential
# packages and apt; apt-get installs the built .deb there, fetching its
# Depends from the archive, which shows that ${shlibs:Depends} names every
# library the binaries need (deb.sh installs into an overlay of this
# machine, where they are all present anyway). Then vpc-failoverd --check,
# both --version and a help run from the root, nothing is left unresolved
# by the dynamic linker, and `apt-get purge --autoremove` leaves the root
# as it was before the install (files and directories), apt's and dpkg's
# records, logs and caches apart.
#   tests/deb_root.sh [DEB]      default: build/deb/vpc-failover_VERSION_*.deb
# Environment: DEB_MIRROR (default http://deb.debian.org/debian),
# DEB_SUITE (default bookworm).
. "$(dirname "$0")/lib.sh"

if [ -z "${VPCF_DEB_NS:-}" ]; then
	exec unshare -m --propagation private env VPCF_DEB_NS=1 bash "$0" "$@"
fi
command -v debootstrap >/dev/null || { echo "Bail out! debootstrap missing (apt-get install debootstrap)"; exit 1; }
V=$(cat "$TOP/VERSION")
DEB=${1:-$(ls "$B"/deb/vpc-failover_"$V"_*.deb 2>/dev/null | head -1)}
[ -f "$DEB" ] || { echo "Bail out! no package: make deb first (or pass the .deb)"; exit 1; }
MIRROR=${DEB_MIRROR:-http://deb.debian.org/debian}
SUITE=${DEB_SUITE:-bookworm}
R=$T/root
mkdir -p "$R"
# lib.sh removes $T on exit: unmount first.
trap 'umount -l "$R/proc" 2>/dev/null; _cleanup' EXIT

start=$(date +%s)
debootstrap --variant=minbase "$SUITE" "$R" "$MIRROR" >"$T/debootstrap.log" 2>&1
rc=$?
expect_eq "debootstrap --variant=minbase $SUITE: exit 0" "$rc" 0
[ "$rc" = 0 ] || { tail -20 "$T/debootstrap.log" | sed 's/^/# /'; exit 1; }
echo "# debootstrap took $(($(date +%s) - start)) s ($(du -sm "$R" | cut -f1) MB)"
mount -t proc proc "$R/proc" || { echo "Bail out! cannot mount /proc in the root"; exit 1; }
# No daemon may start in the root, whatever a package says.
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get update -qq >"$T/update.log" 2>&1
expect_eq "apt-get update in the root" "$?" 0
check "the root has no vpc-failover libraries yet (libcurl4 is not in minbase)" \
	bash -c "! chroot '$R' dpkg -s libcurl4 >/dev/null 2>&1"

# What the root holds before: every path, and each file's checksum.
snapshot() {
	local prune=(\( -path ./proc -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o
		-path ./var/cache -o -path ./var/log -o -path ./tmp -o -path ./run -o
		-path ./usr/sbin/policy-rc.d -o -path ./etc/ld.so.cache \) -prune -o)
	(cd "$R" && {
		find . -xdev -mindepth 1 "${prune[@]}" -printf '%p %y %m %s %l\n'
		find . -xdev -mindepth 1 "${prune[@]}" -type f -exec md5sum {} + |
			awk '{ print $2 " md5 " $1 }'
	} | sort)
}
snapshot >"$T/before.txt"
cp "$DEB" "$R/tmp/"
start=$(date +%s)
in_root apt-get install -y --no-install-recommends "/tmp/${DEB##*/}" >"$T/install.log" 2>&1
rc=$?
awk '/^The following NEW packages/ { on = 1; print "# apt: new packages:"; next }
	on && /^  / { print "# apt:" $0; next } { on = 0 }' "$T/install.log"
expect_eq "apt-get install ./vpc-failover.deb: its Depends come from the archive" "$rc" 0
[ "$rc" = 0 ] || tail -20 "$T/install.log" | sed 's/^/# /'
echo "# install took $(($(date +%s) - start)) s"
expect_eq "installed" "$(chroot "$R" dpkg-query -W -f='${Status} ${Version}' vpc-failover)" \
	"install ok installed $V"
for bin in usr/sbin/vpc-failoverd usr/sbin/vpc-failover usr/lib/vpc-failover/vpc-failover-cli; do
	out=$(in_root ldd "/$bin" 2>&1)
	check "/$bin: every library resolved in the minimal root" bash -c "! grep -q 'not found' <<<'$out'"
done
expect_eq "vpc-failoverd --check on the shipped configuration" \
	"$(in_root /usr/sbin/vpc-failoverd --check 2>&1)" "configuration OK"
expect_eq "vpc-failover --version" "$(in_root /usr/sbin/vpc-failover --version 2>&1)" "vpc-failover $V"
expect_eq "vpc-failoverd --version" "$(in_root /usr/sbin/vpc-failoverd --version 2>&1)" "vpc-failoverd $V"
check "vpc-failover help status (the full CLI)" bash -c "chroot '$R' /usr/sbin/vpc-failover help status >/dev/null"
check "keepalived was only recommended: not installed" bash -c "! chroot '$R' dpkg -s keepalived >/dev/null 2>&1"
# The hook with no daemon records the event in state_dir, which purge removes.
in_root /usr/sbin/vpc-failover notify INSTANCE VI_1 MASTER 100 >/dev/null 2>&1
check "the hook recorded an event in /var/lib/vpc-failover" test -n "$(ls -A "$R/var/lib/vpc-failover" 2>/dev/null)"

in_root apt-get purge -y --autoremove vpc-failover >"$T/purge.log" 2>&1
expect_eq "apt-get purge --autoremove: exit 0" "$?" 0
expect_eq "purged" "$(chroot "$R" dpkg-query -W -f='${Status}' vpc-failover 2>/dev/null)" ""
check "its dependencies went with it (libcurl4)" bash -c "! chroot '$R' dpkg -s libcurl4 >/dev/null 2>&1"
rm -f "$R/tmp/${DEB##*/}"
snapshot >"$T/after.txt"
left=$(diff "$T/before.txt" "$T/after.txt" | grep '^[<>]')
expect_eq "the root is as it was before the install (apt, dpkg, logs, caches apart)" "$left" ""
# The comparison sees a leftover.
touch "$R/etc/planted"
snapshot >"$T/planted.txt"
check "a file left behind would be found" grep -q '^> ./etc/planted f' <(diff "$T/before.txt" "$T/planted.txt")
