#!/bin/bash
# The man pages (groff and mandoc report no warning; every key of
# the modules' key tables is in vpc-failover.conf(5); every command of the CLI
# in vpc-failover(8)) and the bash completion (sourced, driven through
# COMP_WORDS / COMP_CWORD, COMPREPLY checked).
. "$(dirname "$0")/../lib.sh"

MAN=$TOP/docs/man
PAGES="vpc-failover.8 vpc-failoverd.8 vpc-failover.conf.5"

# --- man pages ----------------------------------------------------------------
for tool in groff mandoc; do
	if ! command -v $tool >/dev/null; then
		not_ok "$tool is installed" "run scripts/deps.sh"
		exit 1
	fi
done
for p in $PAGES; do
	check "$p exists" test -s "$MAN/$p"
	out=$(groff -man -t -z -ww "$MAN/$p" 2>&1)
	expect_eq "groff -man -ww: no warning in $p" "$out" ""
	out=$(mandoc -T lint -W warning "$MAN/$p" 2>&1)
	expect_eq "mandoc -T lint: no warning in $p" "$out" ""
	# man(1) formats it as a reader would see it, with warnings on.
	out=$(MANWIDTH=80 man --warnings -l "$MAN/$p" 2>&1 >/dev/null)
	expect_eq "man --warnings -l: no warning in $p" "$out" ""
	check "$p has NAME, SYNOPSIS, DESCRIPTION, SEE ALSO" bash -c \
		"grep -q '^\.SH NAME' '$MAN/$p' && grep -q '^\.SH SYNOPSIS' '$MAN/$p' &&
		 grep -q '^\.SH DESCRIPTION' '$MAN/$p' && grep -q '^\.SH \"\?SEE ALSO' '$MAN/$p'"
done

# Every key of the configuration, under its own section. Each module owns its
# sections (lib/ini.h): a table "static const struct ini_key NAME[] = {" of
# {"key", ...} lines, and "const struct ini_section X = {.word = "sect",
# .keys = NAME" naming it. Keys others add later must be documented too: the
# message names the key and where it is.
/usr/bin/python3 - "$TOP" "$MAN/vpc-failover.conf.5" >"$T/keys.tap" <<'PY'
import glob, os, re, sys
top, page = sys.argv[1], sys.argv[2]
sections = {}  # ("vpc/aws_cfg.c", "keys") -> "aws"
tables = {}    # ("vpc/aws_cfg.c", "keys") -> [("region", line)]
for path in sorted(glob.glob(os.path.join(top, "*", "*.c"))):
    rel = os.path.relpath(path, top)
    if rel.split("/")[0] not in ("lib", "vpc", "netmon", "daemon"):
        continue
    src = open(path).read()
    for m in re.finditer(r'struct ini_section\s+\w+\s*=\s*\{\s*\.word\s*=\s*"([a-z_]+)",\s*\.keys\s*=\s*(\w+)', src):
        sections[(rel, m.group(2))] = m.group(1)
    table = None
    for n, l in enumerate(src.split("\n"), 1):
        m = re.match(r'\s*(?:static\s+)?const struct ini_key (\w+)\[\]\s*=', l)
        if m:
            table = (rel, m.group(1))
            tables[table] = []
            continue
        if table and re.match(r'\s*\};', l):
            table = None
        m = re.match(r'\s*\{"([^"]+)",', l)
        if table and m:
            tables[table].append((m.group(1), n))
keys = []  # ("aws", "region", "vpc/aws_cfg.c:37")
for t, ks in tables.items():
    for k, n in ks:
        keys.append((sections.get(t, "?" + t[1]), k, "%s:%d" % (t[0], n)))
man = open(page).read().split("\n")

def block(name):
    """The lines of the page's ".SS [name..." subsection, or None."""
    for i, l in enumerate(man):
        if re.match(r'\.SS\s+"?\[%s[] ]' % re.escape(name), l):
            j = i + 1
            while j < len(man) and not re.match(r'\.S[HS]\b', man[j]):
                j += 1
            return man[i + 1:j]
    return None

n = 0
def tap(good, what, why=""):
    global n
    n += 1
    print("%s %d - %s%s" % ("ok" if good else "not ok", n, what, ": " + why if why and not good else ""))

tap(len(keys) >= 20 and len(set(sections.values())) >= 6,
    "read the key tables of the modules (struct ini_key)",
    "found %d keys in %d sections: has the tables' format changed?" % (len(keys), len(sections)))
for t, name in sorted(sections.items(), key=lambda x: x[1]):
    tap(block(name) is not None, "vpc-failover.conf.5 has a section [%s]" % name,
        "add '.SS [%s]' (%s)" % (name, t[0]))
for name, k, where in keys:
    b = block(name) or []
    found = any(re.match(r'\.BI?\s+"?%s"?(\s|$)' % re.escape(k), l) and
                i > 0 and b[i - 1].startswith(".TP") for i, l in enumerate(b))
    tap(found, "vpc-failover.conf.5 documents [%s] %s" % (name, k),
        "no '.TP' / '.B %s' entry under '.SS [%s]' for the key at %s"
        % (k, name, where))
PY
rc=$?
while IFS= read -r l; do
	case $l in
	"ok "*) ok "${l#ok * - }" ;;
	"not ok "*) not_ok "${l#not ok * - }" ;;
	esac
done <"$T/keys.tap"
expect_eq "the key check ran" "$rc" 0

# Every command and option of the CLI surface in vpc-failover(8).
for w in notify status metrics routes takeover failover resume doctor \
	'\\-\\-json' '\\-\\-format' '\\-\\-state' '\\-\\-force' '\\-\\-dry\\-run' \
	'\\-\\-all' '\\-\\-yes' '\\-\\-timeout' '\\-\\-clear' '\\-\\-keepalived\\-conf' \
	'\\-\\-version' '\\-\\-help' '\\-\\-config' '^\.BR help '; do
	check "vpc-failover.8 mentions $w" grep -q -- "$w" "$MAN/vpc-failover.8"
done
for code in 0 1 2 3; do
	check "vpc-failover.8 explains exit status $code" \
		bash -c "sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' '$MAN/vpc-failover.8' | grep -qx '\.B $code'"
done
for w in '\\-c' '\\-f' '\\-v' '\\-n' '\\-h' '\\-\\-version' SIGHUP SIGTERM WATCHDOG=1 READY=1; do
	check "vpc-failoverd.8 mentions $w" grep -q -- "$w" "$MAN/vpc-failoverd.8"
done

# --- bash completion ------------------------------------------------------------
COMP=$TOP/hooks/vpc-failover.bash-completion
cat >"$T/c.conf" <<'C'
[aws]
region = us-east-1
[group db]
vrrp_instance = VI_1
 [group  cache.1 ]   ; a comment
vrrp_group = VG_2
#[group commented]
C
# comp WORDS...: COMPREPLY, space-separated, for completing the last word.
comp() {
	bash -c '. "$0" || exit 9
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		complete -p vpc-failover >/dev/null || exit 8
		case ${COMP_WORDS[0]} in
		vpc-failoverd) _vpc_failoverd ;;
		*) _vpc_failover ;;
		esac
		echo "${COMPREPLY[*]}"' "$COMP" "$@"
}
c() { # WANT WORDS...
	local want=$1
	shift
	expect_eq "complete '$*'" "$(comp "$@")" "$want"
}
c "notify sentinel-reconfig patroni-callback status metrics routes takeover failover resume doctor help" vpc-failover ""
c "status" vpc-failover st
c "-c --config -v --verbose -h --help -V --version" vpc-failover -
c "--version" vpc-failover --vers
c "routes resume" vpc-failover help r
c "" vpc-failover help routes ""
c "db cache.1" vpc-failover routes -c "$T/c.conf" ""
c "db cache.1" vpc-failover --config "$T/c.conf" routes ""
c "db cache.1" vpc-failover "--config=$T/c.conf" routes ""
c "$T/c.conf" vpc-failover status -c "$T/c.c"
c "db cache.1" vpc-failover -c "$T/c.conf" routes ""
c "db cache.1" vpc-failover "-c$T/c.conf" -v takeover ""
c "cache.1" vpc-failover -c "$T/c.conf" failover c
c "--force --dry-run --all --yes --json" vpc-failover -c "$T/c.conf" takeover --
c "--json" vpc-failover routes -
c "--dry-run" vpc-failover takeover --d
c "--all --timeout --clear" vpc-failover failover --
c "" vpc-failover failover --timeout ""
c "--all" vpc-failover resume --
c "--keepalived-conf --json" vpc-failover doctor -
c "$T/c.conf" vpc-failover doctor --keepalived-conf "$T/c.c"
c "$T/c.conf" vpc-failover -c "$T/c.c"
c "--json" vpc-failover status -
c "--format= --json --state" vpc-failover metrics -
c "--format=prometheus --format=mackerel" vpc-failover metrics --format=
c "--format=mackerel" vpc-failover metrics --format=m
c "prometheus mackerel" vpc-failover metrics --format = ""
c "prometheus" vpc-failover metrics --format = pr
c "prometheus mackerel" vpc-failover metrics --format ""
c "INSTANCE GROUP" vpc-failover -c "$T/c.conf" notify ""
c "VI_1" vpc-failover -c "$T/c.conf" notify INSTANCE ""
c "VG_2" vpc-failover -c "$T/c.conf" notify GROUP ""
c "MASTER BACKUP FAULT STOP DELETED" vpc-failover -c "$T/c.conf" notify INSTANCE VI_1 ""
c "" vpc-failover -c "$T/c.conf" notify INSTANCE VI_1 MASTER ""
# An unreadable or missing configuration completes nothing, silently.
c "" vpc-failover -c "$T/missing.conf" routes ""
mkdir "$T/dir.conf"
c "" vpc-failover -c "$T/dir.conf" routes ""
expect_eq "a missing configuration prints nothing on stderr" \
	"$(comp vpc-failover -c "$T/missing.conf" takeover "" 2>&1 >/dev/null)" ""
c "--config --check" vpc-failoverd --c
c "$T/c.conf" vpc-failoverd -c "$T/c.c"
