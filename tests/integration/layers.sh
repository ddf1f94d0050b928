#!/bin/bash
# The layering rule (docs/layers.md, scripts/layers.sh): lib/ includes nothing
# else of the project; vpc/ and netmon/ only lib/ and themselves; daemon/
# those; hooks/ everything. The tree must pass, and a copy of it with a
# deliberately wrong include must fail, naming that file and line.
. "$(dirname "$0")/../lib.sh"

LAYERS="lib vpc netmon daemon hooks"

out=$("$TOP/scripts/layers.sh" "$TOP" 2>&1)
rc=$?
expect_eq "scripts/layers.sh: no include points the wrong way" "$out" ""
expect_eq "scripts/layers.sh: exit 0 on the tree" "$rc" 0

# A copy of the five source folders, then two wrong includes: a daemon
# header in the base layer, and one in a vpc/ header.
mkdir -p "$T/tree"
for d in $LAYERS; do
	cp -r "$TOP/$d" "$T/tree/$d"
done
out=$("$TOP/scripts/layers.sh" "$T/tree" 2>&1)
expect_eq "the copy passes as it is" "$out" ""

# inject FILE LINE TEXT: insert TEXT as line LINE of the copy's FILE.
inject() {
	sed -i "$2i $3" "$T/tree/$1"
}
inject lib/log.c 3 '#include "daemon/cfg.h"'
inject vpc/aws_cfg.h 5 '#include "netmon/nm_cfg.h"'
out=$("$TOP/scripts/layers.sh" "$T/tree" 2>&1)
rc=$?
expect_eq "a wrong include fails the check (exit 1)" "$rc" 1
check "lib/log.c:3 is named (lib/ may include only lib/)" \
	grep -qx 'lib/log.c:3: includes a daemon/ header, but lib/ may include only: lib' <<<"$out"
check "vpc/aws_cfg.h:5 is named (vpc/ may not include netmon/)" \
	grep -qx 'vpc/aws_cfg.h:5: includes a netmon/ header, but vpc/ may include only: lib, vpc' <<<"$out"
expect_eq "nothing else is reported" "$(wc -l <<<"$out")" 2

# A <system> header is not a project header;
# hooks/ may include anything of the project.
inject hooks/cli.c 2 '#include "daemon/cfg.h"'
inject netmon/zone.c 2 '#include <ini.h>'
out=$("$TOP/scripts/layers.sh" "$T/tree" 2>&1)
expect_eq "hooks/ and <system> includes are fine" "$(wc -l <<<"$out")" 2

# The configuration reader needs nothing beyond libc and libinih: each
# section's parser lives apart from the module's I/O (vpc/aws_cfg.c, not
# vpc/ec2.c), so that a small program that reads the file (the notify hook)
# links cfg_load() without libcurl, libxml2, libnl or libmicrohttpd.
cat >"$T/lean.c" <<'C'
#include <stdio.h>
#include "daemon/cfg.h"
int main(int argc, char **argv)
{
	struct cfg *c = cfg_load(argv[1]);

	if (c == NULL)
		return 1;
	printf("%s %zu\n", c->daemon.control_socket, c->ngroups);
	cfg_free(c);
	return 0;
}
C
# A sanitizer build (make check-asan) links with its runtime.
san=
nm "$B/libvpcf-lib.a" 2>/dev/null | grep -q __asan && san=-fsanitize=address,undefined
out=$(cc $san -std=gnu11 -D_GNU_SOURCE -I"$TOP" -o "$T/lean" "$T/lean.c" "$B/libvpcf-daemon.a" \
	"$B/libvpcf-netmon.a" "$B/libvpcf-vpc.a" "$B/libvpcf-lib.a" -linih 2>&1)
expect_eq "cfg_load links with libc and libinih alone" "$out" ""
printf '[group g]\nvrrp_instance = V\ndestinations = 10.0.0.1/32\nroute_tables = rtb-01234567\n' >"$T/lean.conf"
expect_eq "and reads a configuration" "$("$T/lean" "$T/lean.conf" 2>&1)" "/run/vpc-failover/control.sock 1"
