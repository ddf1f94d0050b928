#!/bin/bash
# make bench: every benchmark, each printing a markdown table for the README.
# Not tests: nothing here asserts a time. Medians, on this machine, now.
set -u
cd "$(dirname "$0")/.." || exit 1
echo "## takeover --force (CLI, EC2 directly)"
bash bench/takeover.sh "${REPS:-5}"
echo
echo "## keepalived notify hook (lean, before, minimal) and notify -> routes converged (daemon)"
bash bench/notify.sh "${REPS:-7}"
echo
echo "## network monitor: collection, notify latency, counter reads, RSS, per packet"
bash bench/netmon.sh "${REPS:-9}"
echo
echo "## active probe (probe = tcp:PORT): daemon CPU and packets per probe"
bash bench/probe.sh "${REPS:-5}"
if [ -f bench/outage.sh ]; then
	echo
	echo "## client-visible outage with real keepalived"
	bash bench/outage.sh "${REPS:-5}"
fi
