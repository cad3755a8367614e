#!/bin/sh
# Counts and ends the processes a benchmark left behind: every process whose
# command line matches PATTERN (an extended regex anchored by the caller on
# a marker no other process has) is logged to LOG, one command line a line,
# and killed by its pid. Run by hyperfine before each timed run.
#   reap.sh LOG PATTERN
log=$1 pattern=$2
pids=$(pgrep -f -- "$pattern")
[ -n "$pids" ] || exit 0
for p in $pids; do
	if [ -r "/proc/$p/cmdline" ]; then
		tr '\0' ' ' <"/proc/$p/cmdline" >>"$log"
		echo >>"$log"
	fi
done
# shellcheck disable=SC2086
kill -KILL $pids 2>/dev/null
exit 0
