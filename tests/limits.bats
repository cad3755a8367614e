#!/usr/bin/env bats
# Running out of file descriptors: commands wait for fds instead of failing.
load helpers/common

@test "out of fds: commands wait for others to finish, and all of them run" {
	# 3 fds a command (two pipes and a pidfd) under a limit of 64: at most
	# about 19 at once, so 60 run in waves.
	local args=() i
	for i in $(seq 60); do
		args+=(sh -c "echo \$\$ >>$PIDS/w; sleep 0.1" --)
	done
	args+=(true)
	run bash -c 'ulimit -n 64 && exec "$0" "$@"' "$ATB" pool --report "$T/r.json" -- "${args[@]}"
	assert_success
	run report_get "$T/r.json" 'sorted(set(c["state"] for c in r["commands"]))'
	assert_output '["succeeded"]'
	run wc -l <"$PIDS/w"
	assert_output '60'
}

@test "out of fds in group mode: commands wait for others to finish, all run" {
	# Two files and a pidfd a command.
	local args=() i
	for i in $(seq 60); do
		args+=(sh -c "echo \$\$ >>$PIDS/w; echo out-$i; sleep 0.1" --)
	done
	args+=(true)
	run bash -c 'ulimit -n 64 && exec "$0" "$@" >"$T/out"' "$ATB" pool -o group --report "$T/r.json" -- "${args[@]}"
	assert_success
	run report_get "$T/r.json" 'sorted(set(c["state"] for c in r["commands"]))'
	assert_output '["succeeded"]'
	run wc -l <"$PIDS/w"
	assert_output '60'
	run grep -c '^out-' "$T/out"
	assert_output '60'
	run grep -c '^==> sh' "$T/out"
	assert_output '60'
}

@test "out of fds with nothing running: a clear error, exit 125, nothing left" {
	run bash -c 'ulimit -n 7 && exec "$0" "$@"' "$ATB" pool -- sleep 1000 -- sleep 1000
	assert_failure 125
	assert_output --partial 'Too many open files'
}

@test "out of fds at any point of start-up: 125 or a run, never an abort" {
	# An inherited fd shifts where the limit bites: before the event loop,
	# inside it (libev aborts when its signal pipe fails), or at a spawn.
	local n st
	for n in 6 7 8 9 10 11 12; do
		st=0
		bash -c 'exec 3</dev/null; ulimit -n "$1" && shift && exec "$@"' _ "$n" \
			"$ATB" pool -- true -- true >"$T/out" 2>&1 || st=$?
		if [ "$st" -ne 0 ] && [ "$st" -ne 125 ]; then
			echo "ulimit -n $n: status $st: $(cat "$T/out")"
			return 1
		fi
	done
}
