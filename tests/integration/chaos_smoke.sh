#!/bin/bash
# A short fixed sample of `make chaos` (tests/chaos/chaos.py): twelve schedules
# that between them have failover and partition-heal ends, daemons SIGKILLed
# and restarted, throttling storms, a slow node, lost answers, stale
# describes, long-tailed delays, and every way keepalived may tell a daemon
# (hook, FIFO, both). Seeds that once found a bug stay here:
#   10: a later notify hook reached main() first on a loaded machine and
#       the final MASTER was dropped as stale (hooks now stamp their fork).
#   28: a repeated BACKUP did not count as the newest event, so a MASTER
#       hook that arrived late looked newer (every event now does).
#  388: node c damped (split brain) just after the heal, holding the routes,
#       and with re-checks off never looked again: "damped" for good (a
#       damped group now looks, and ends damping when nobody takes them).
. "$(dirname "$0")/../lib.sh"

if ((TMULT > 1)); then
	# Under valgrind the daemons answer too slowly for the settle bound.
	ok "chaos sample # SKIP slow run (VPCF_TIMEOUT_MULT)"
	exit 0
fi
SEEDS=(3 4 5 6 10 12 17 24 27 28 40 388)
args=()
for s in "${SEEDS[@]}"; do args+=(--seed "$s"); done
/usr/bin/python3 "$TOP/tests/chaos/chaos.py" --build "$B" "${args[@]}"
