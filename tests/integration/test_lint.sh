#!/bin/bash
# The tests' own traps. `wait_for N test "$(cmd)" = x` runs cmd once, before
# the wait, and then waits on a fixed answer: it cannot see the state change
# it waits for (notify.sh's "the queue is empty" failed CI that way). A wait
# must re-run its probe: a function, or bash -c with the probe inside.
. "$(dirname "$0")/../lib.sh"

cd "$TOP" || exit 1
# wait_for SECS test|[ "$(...": the substitution is the shell's, done once.
once='wait_for [0-9.$A-Z_{}]+ +(test|\[) +[^|;&]*"?\$\('
found=$(grep -rnE --include="*.sh" "$once" tests bench scripts 2>/dev/null | grep -v "^tests/integration/test_lint.sh:")
expect_eq "no wait_for waits on a value computed once before it" "$found" ""

# The pattern finds what it is meant to.
printf '%s\n' 'check "x" wait_for 10 test "$(ntf "n")" = 0' \
	'wait_for 3 [ "$(g x)" -ge 1 ]' >"$T/bad.sh"
printf '%s\n' 'wait_for 10 ntf_is "n" 0' \
	"wait_for 5 bash -c \"[ \\\$(grep -c x f) -gt 1 ]\"" \
	'wait_for 10 ip netns exec "$(ns)" redis-cli ping' >"$T/good.sh"
expect_eq "the lint finds both kinds" "$(grep -cE "$once" "$T/bad.sh")" 2
expect_eq "and passes probes re-run each time" "$(grep -cE "$once" "$T/good.sh")" 0
