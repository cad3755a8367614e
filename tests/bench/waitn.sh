#!/usr/bin/env bash
# The bash peer for the overhead benchmark: runs CMD N times with at most J
# at once, the usual `wait -n` loop.
#   waitn.sh J N CMD [ARG...]
j=$1 n=$2
shift 2
running=0
for ((i = 0; i < n; i++)); do
	if ((running >= j)); then
		wait -n
		((running--))
	fi
	"$@" &
	((running++))
done
wait
