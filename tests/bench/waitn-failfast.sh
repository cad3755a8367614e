#!/usr/bin/env bash
# The bash peer for the fail-fast benchmark: starts CMD N times and then
# `false`, waits with `wait -n` for the first to end and, if it failed,
# kills every job (the usual hand-written fail-fast). It kills the jobs, not
# their process groups, so whatever a job started itself is orphaned.
#   waitn-failfast.sh N CMD [ARG...]
n=$1
shift
for ((i = 0; i < n; i++)); do
	"$@" &
done
false &
while :; do
	wait -n
	st=$?
	if ((st != 0)); then
		# shellcheck disable=SC2046
		kill $(jobs -p) 2>/dev/null
		wait
		exit "$st"
	fi
done
