#!/bin/bash
# The Debian package (issue 15): `make deb` builds it from the tree's files
# with dpkg-buildpackage and it is lintian-clean (pedantic, overrides with
# reasons); its Depends come from the binaries' shared libraries, keepalived
# is a Recommends, the configuration a conffile. Then it is installed with
# `dpkg --root` into a throw-away root (an overlay of this machine's root on
# a tmpfs, in a private mount namespace: the machine itself is not touched),
# vpc-failoverd --check and vpc-failover --version run from it, the service
# is not enabled, remove keeps the edited conffile, and purge leaves nothing
# but dpkg's own records, its log and regenerated caches.
. "$(dirname "$0")/../lib.sh"

# Mounts live in a private mount namespace: gone when this script exits.
if [ -z "${VPCF_DEB_NS:-}" ]; then
	exec unshare -m --propagation private env VPCF_DEB_NS=1 bash "$0" "$@"
fi
for t in dpkg-buildpackage dh lintian; do
	command -v $t >/dev/null || { echo "Bail out! $t missing (scripts/deps.sh installs it)"; exit 1; }
done
V=$(cat "$TOP/VERSION")

# --- build ------------------------------------------------------------------------
start=$(date +%s)
make -C "$TOP" --no-print-directory B="$T/b" deb >"$T/build.log" 2>&1
rc=$?
expect_eq "make deb: exit 0" "$rc" 0
[ "$rc" = 0 ] || tail -40 "$T/build.log" | sed 's/^/# /'
echo "# make deb took $(($(date +%s) - start)) s"
DEB=$(ls "$T"/b/deb/vpc-failover_"$V"_*.deb 2>/dev/null | head -1)
check "vpc-failover_${V}_ARCH.deb was built" test -f "$DEB"
[ -f "$DEB" ] || exit 1
sed 's/^/# lintian: /' "$T/b/deb/lintian.txt"
expect_eq "lintian --pedantic --display-info: no tag" "$(grep -c . "$T/b/deb/lintian.txt")" 0
check "every lintian override says why" awk '
	/^#/ { why = 1; next } /^$/ { why = 0; next } { if (!why) exit 1 }' \
	"$TOP/debian/vpc-failover.lintian-overrides"

# --- what is in it ---------------------------------------------------------------
field() { dpkg-deb -f "$DEB" "$1"; }
expect_eq "the package's version is VERSION" "$(field Version)" "$V"
expect_eq "keepalived is recommended" "$(field Recommends)" "keepalived"
expect_eq "the configuration is a conffile" \
	"$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)" "/etc/vpc-failover/vpc-failover.conf"
# Depends comes from the libraries the binaries need (dh_shlibdeps): each
# NEEDED library's package is in it.
dpkg-deb -x "$DEB" "$T/x"
deps=$(field Depends)
for bin in usr/sbin/vpc-failoverd usr/sbin/vpc-failover usr/lib/vpc-failover/vpc-failover-cli; do
	for so in $(readelf -d "$T/x/$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
		path=$(ldconfig -p | awk -v s="$so" '$1 == s && /x86-64|64bit|AArch64/ { print $NF; exit }')
		[ -n "$path" ] || path=$(ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
		[ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
		case ", $deps" in
		*", $pkg "* | *", $pkg,"* | *", $pkg") ok "${bin##*/}: $so ($pkg) is in Depends" ;;
		*) not_ok "${bin##*/}: $so ($pkg) is in Depends" "Depends: $deps" ;;
		esac
	done
done
expect_eq "the hook (/usr/sbin/vpc-failover, the lean front) needs libc alone" \
	"$(readelf -d "$T/x/usr/sbin/vpc-failover" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')" "libc.so.6 "
check "the front runs the packaged full CLI" bash -c \
	"strings '$T/x/usr/sbin/vpc-failover' | grep -qx /usr/lib/vpc-failover/vpc-failover-cli"
for f in usr/sbin/vpc-failoverd usr/sbin/vpc-failover usr/lib/vpc-failover/vpc-failover-cli \
	lib/systemd/system/vpc-failoverd.service \
	usr/lib/tmpfiles.d/vpc-failover.conf usr/share/man/man8/vpc-failover.8.gz \
	usr/share/man/man8/vpc-failoverd.8.gz usr/share/man/man5/vpc-failover.conf.5.gz \
	usr/share/bash-completion/completions/vpc-failover \
	usr/share/bash-completion/completions/vpc-failoverd usr/share/doc/vpc-failover/copyright \
	usr/share/doc/vpc-failover/examples/db/keepalived.conf \
	usr/share/doc/vpc-failover/examples/iam-policy.json etc/vpc-failover/vpc-failover.conf \
	usr/share/vpc-failover/grafana/vpc-failover.json \
	usr/share/doc/vpc-failover/examples/grafana-provisioning.yml; do
	check "ships /$f" test -e "$T/x/$f" -o -L "$T/x/$f"
done
check "the examples' notify hook is /usr/sbin/vpc-failover" bash -c \
	"grep -rq 'notify \"/usr/sbin/vpc-failover notify' '$T/x/usr/share/doc/vpc-failover/examples' &&
	 ! grep -rq 'notify \"/usr/local' '$T/x/usr/share/doc/vpc-failover/examples'"
check "the mackerel-agent example runs /usr/sbin/vpc-failover" grep -q \
	'^command = \["/usr/sbin/vpc-failover", "metrics"' "$T/x/usr/share/doc/vpc-failover/examples/mackerel-agent.conf"
check "the unit runs /usr/sbin/vpc-failoverd" grep -q '^ExecStart=/usr/sbin/vpc-failoverd' \
	"$T/x/lib/systemd/system/vpc-failoverd.service"

# --- install, run, remove, purge in a throw-away root -----------------------------
OV=$T/ov
mkdir -p "$OV"
mount -t tmpfs -o size=512m vpcf-deb "$OV" || { echo "Bail out! cannot mount a tmpfs"; exit 1; }
mkdir -p "$OV/upper" "$OV/work" "$OV/root"
if ! mount -t overlay vpcf-deb -o "lowerdir=/,upperdir=$OV/upper,workdir=$OV/work" "$OV/root"; then
	echo "Bail out! cannot mount an overlay of /"
	exit 1
fi
R=$OV/root
# lib.sh removes $T on exit: unmount first, so nothing below the mounts is
# walked.
trap 'umount -l "$R/proc" 2>/dev/null; umount -l "$R" 2>/dev/null; umount -l "$OV" 2>/dev/null; _cleanup' EXIT
# Maintainer scripts write to /dev/null and systemd-tmpfiles reads /proc;
# the overlay has /'s empty /dev and /proc.
rm -f "$R/dev/null" && mknod -m 0666 "$R/dev/null" c 1 3
mount -t proc proc "$R/proc" || { echo "Bail out! cannot mount /proc in the root"; exit 1; }
check "no vpc-failover in the root before" bash -c "! dpkg --root='$R' -s vpc-failover >/dev/null 2>&1"
dpkg --root="$R" --force-not-root -i "$DEB" >"$T/install.log" 2>&1
rc=$?
sed 's/^/# dpkg -i: /' "$T/install.log"
expect_eq "dpkg --root -i: exit 0" "$rc" 0
expect_eq "installed" "$(dpkg-query --root="$R" -W -f='${Status} ${Version}' vpc-failover)" \
	"install ok installed $V"
out=$(chroot "$R" /usr/sbin/vpc-failoverd --check 2>&1)
expect_eq "vpc-failoverd --check on the shipped configuration" "$out" "configuration OK"
expect_eq "vpc-failover --version" "$(chroot "$R" /usr/sbin/vpc-failover --version 2>&1)" "vpc-failover $V"
expect_eq "vpc-failoverd --version" "$(chroot "$R" /usr/sbin/vpc-failoverd --version 2>&1)" "vpc-failoverd $V"
check "vpc-failover help needs no more than the package" \
	bash -c "chroot '$R' /usr/sbin/vpc-failover help status >/dev/null"
en=$(chroot "$R" systemctl is-enabled vpc-failoverd.service 2>&1)
expect_eq "the service is not enabled (so not started) before it is configured" "$en" "disabled"
check "no enablement symlink" bash -c "! ls '$R'/etc/systemd/system/*/vpc-failoverd.service 2>/dev/null | grep -q ."
check "tmpfiles.d made /run/vpc-failover" test -d "$R/run/vpc-failover"
# The hook with the daemon down records the event in state_dir, which the
# purge must remove.
chroot "$R" /usr/sbin/vpc-failover notify INSTANCE VI_1 MASTER 100 >/dev/null 2>&1
check "the hook recorded an event in /var/lib/vpc-failover" test -n "$(ls -A "$R/var/lib/vpc-failover" 2>/dev/null)"

echo "; edited by the administrator" >>"$R/etc/vpc-failover/vpc-failover.conf"
dpkg --root="$R" --force-not-root -r vpc-failover >"$T/remove.log" 2>&1
expect_eq "dpkg -r: exit 0" "$?" 0
check "remove: the binaries are gone" test ! -e "$R/usr/sbin/vpc-failoverd"
check "remove: the edited conffile stays" grep -q "edited by the administrator" "$R/etc/vpc-failover/vpc-failover.conf"
dpkg --root="$R" --force-not-root --purge vpc-failover >"$T/purge.log" 2>&1
expect_eq "dpkg --purge: exit 0" "$?" 0
expect_eq "purged: dpkg knows nothing of it" \
	"$(dpkg-query --root="$R" -W -f='${Status}' vpc-failover 2>/dev/null)" ""

# What the root has that / has not: files and links, and directories that
# are new (a directory merely copied up because something was created in it
# and removed again is not a leftover).
leftovers() {
	cd "$OV/upper" && find . -mindepth 1 -printf '%P\n' | sort |
		while IFS= read -r p; do
			[ -d "$OV/upper/$p" ] && [ ! -L "$OV/upper/$p" ] && [ -d "/$p" ] && continue
			# A whiteout is what / had and the purge removed (a
			# /var/lib/vpc-failover left on this machine by a hand-run
			# hook): nothing left behind.
			[ -c "$OV/upper/$p" ] && [ "$(stat -c %t:%T "$OV/upper/$p")" = 0:0 ] && continue
			case $p in
			dev/null | proc) ;;                     # made by this test
			var/lib/dpkg | var/lib/dpkg/*) ;;       # dpkg's database
			var/log/dpkg.log | var/log/apt/*) ;;    # logs, kept by policy
			var/cache/man | var/cache/man/*) ;;     # man-db's index, rebuilt by its trigger
			var/cache/debconf/*) ;;                 # debconf's database
			*) echo "$p" ;;
			esac
		done
}
left=$(leftovers)
echo "# changed in the root and allowed: $(cd "$OV/upper" && find . -mindepth 1 ! -type d | wc -l) files (dpkg, logs, caches)"
expect_eq "purge leaves nothing behind but dpkg's records, logs and caches" "$(echo $left)" ""
# The check itself sees a leftover.
mkdir -p "$R/etc/vpc-failover" && touch "$R/etc/vpc-failover/planted"
expect_eq "a file left in /etc would be found" "$(echo $(leftovers))" "etc/vpc-failover etc/vpc-failover/planted"
