#!/bin/bash
# The build (issue 15): plain `make` builds the product only and `make tests`
# the test programs; a missing library is named by its Debian package before
# anything is compiled; the daemon and the CLI (its front and the full
# CLI) are hardened (PIE, full RELRO, _FORTIFY_SOURCE, stack protector), as
# readelf and Debian's hardening-check see them.
. "$(dirname "$0")/../lib.sh"

cd "$TOP" || exit 1
# --- what make builds (dry runs into a scratch build directory) ---------------
outs() { make -n --no-print-directory B="$T/b" "$@" 2>&1 | grep -o -- " -o $T/b/[^ ]*" | sed "s| -o $T/b/||" | sort -u; }
plain=$(outs)
expect_eq "plain make links the daemon, the CLI's front and the full CLI, nothing else" \
	"$(grep -v '\.o$\|\.a$\|\.probe$' <<<"$plain" | tr '\n' ' ')" "install/vpc-failover vpc-failover vpc-failover-cli vpc-failoverd "
check "plain make compiles no test or simulator source" \
	bash -c "! grep -q '^sim/\|^test_\|^tools/' <<<'$plain'"
tests_out=$(outs tests)
for want in vpcsim test_cfg tools/prom_render; do
	check "make tests builds $want" grep -qx "$want" <<<"$tests_out"
done
check "make check runs the suite" bash -c \
	"make -n --no-print-directory B='$T/b' check | grep -q '^./tests/run.sh'"

# --- a missing library, named by its Debian package ---------------------------
cat >"$T/pkg-config" <<'S'
#!/bin/sh
# pkg-config without libmnl and cmocka; the real one for everything else.
for a in "$@"; do case $a in libmnl | cmocka) exit 1 ;; esac; done
exec pkg-config "$@"
S
chmod +x "$T/pkg-config"
out=$(make --no-print-directory B="$T/m" PKG_CONFIG="$T/pkg-config" 2>&1)
rc=$?
check "a missing library stops make" test "$rc" -ne 0
case $out in
*"missing libraries: libmnl (Debian package libmnl-dev)"*"apt-get install libmnl-dev"*)
	ok "the missing library is named with its Debian package" ;;
*) not_ok "the missing library is named with its Debian package" "$out" ;;
esac
check "nothing was compiled before saying so" bash -c "! ls '$T/m'/*/*.o 2>/dev/null | grep -q ."
out=$(make --no-print-directory B="$T/m" PKG_CONFIG="$T/pkg-config" "$T/m/test_cfg" 2>&1)
case $out in
*"libmnl (Debian package libmnl-dev)"*) ok "make tests names it too" ;;
*) not_ok "make tests names it too" "$out" ;;
esac
# An inih without Debian's run-time option globals (upstream fixes them at
# build time): named as such, before lib/ini.c is compiled.
mkdir -p "$T/inih"
printf '#ifndef INI_H\n#define INI_H\nint ini_parse_string(const char *s, void *h, void *u);\n#endif\n' >"$T/inih/ini.h"
cat >"$T/pkg-config-inih" <<S
#!/bin/sh
case " \$* " in *" --cflags "*) printf '%s ' "-I$T/inih" ;; esac
exec pkg-config "\$@"
S
chmod +x "$T/pkg-config-inih"
out=$(make --no-print-directory B="$T/u" PKG_CONFIG="$T/pkg-config-inih" "$T/u/lib/ini.o" 2>&1)
rc=$?
check "an inih without the run-time options stops make" test "$rc" -ne 0
case $out in
*"libinih lacks the run-time options of Debian's build"*) ok "and says so" ;;
*) not_ok "and says so" "$out" ;;
esac
check "before compiling lib/ini.c" test ! -e "$T/u/lib/ini.o"
check "Debian's libinih passes the check" make --no-print-directory B="$T/d" "$T/d/.inih-runtime-options"
out=$(make --no-print-directory B="$T/m" PKG_CONFIG="$T/pkg-config" clean 2>&1)
expect_eq "make clean needs no library" "$?" 0

# --- hardening ------------------------------------------------------------------
# vpc-failover is the lean front (docs/hook.md); install/vpc-failover the
# one make install ships, which runs the installed full CLI.
for bin in vpc-failoverd vpc-failover vpc-failover-cli install/vpc-failover; do
	f=$B/$bin
	check "$bin: position-independent executable (ELF type DYN, PIE flag)" bash -c \
		"readelf -h '$f' | grep -q 'Type:.*DYN' && readelf -d '$f' | grep -q 'FLAGS_1.*PIE'"
	check "$bin: full RELRO (GNU_RELRO segment, BIND_NOW)" bash -c \
		"readelf -lW '$f' | grep -q GNU_RELRO && readelf -d '$f' | grep -Eq 'BIND_NOW|FLAGS_1.* NOW'"
	check "$bin: _FORTIFY_SOURCE (fortified libc calls, __*_chk)" bash -c \
		"readelf --dyn-syms -W '$f' | grep -Eq ' __[a-z]+_chk(@|$)'"
	check "$bin: stack protector (__stack_chk_fail)" bash -c \
		"readelf --dyn-syms -W '$f' | grep -q ' __stack_chk_fail'"
	if command -v hardening-check >/dev/null; then
		hardening-check "$f" | sed 's/^/# /'
		check "$bin: hardening-check (devscripts) passes PIE, stack protector, fortify, RELRO, BIND_NOW" \
			hardening-check --nocfprotection "$f"
	else
		not_ok "hardening-check is installed" "scripts/deps.sh installs devscripts"
	fi
done
