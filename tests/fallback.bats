#!/usr/bin/env bats
# Where the kernel or a container lacks a system call atb uses: an older
# kernel says ENOSYS, an older container's seccomp filter says EPERM.
# t-deny makes this machine say so, for atb and all it starts. atb then
# takes its fallbacks: its fast spawn copies the fd table, as vfork does,
# and closes what atb was given one by one (so it needs neither
# close_range() nor glibc's posix_spawn(), which a filter that refuses
# clone3 with EPERM breaks), it watches children by SIGCHLD without
# pidfds, and the guardian closes its fds one by one. A command still
# starts with exactly fds 0, 1 and 2, an empty mask, default dispositions
# and a group of its own.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
	# A kernel without seccomp filters (or another architecture) cannot
	# play an older one: said, not failed.
	"$ATB_HELPERS/t-deny" close_range=ENOSYS -- true 2>"$T/deny.err" ||
		skip "t-deny cannot install its seccomp filter here: $(cat "$T/deny.err")"
}

# guard_fds PID: the guardian's open fds, counted by kind.
guard_fds() {
	sh -c "ls -l /proc/$1/fd | awk 'NR > 1 { print \$NF }' | sed 's/:.*//' | sort | uniq -c | awk '{ print \$1, \$2 }'"
}

# denied CALLS: runs three commands one at a time (so spawns after the
# first take the same path), each printing what it was started with.
denied() {
	timeout -k 5 "$T_LIMIT" "$ATB_HELPERS/t-exec" -c -- "$ATB_HELPERS/t-deny" "$1" -- \
		"$ATB" pool -j 1 -o inherit -- "$ATB_HELPERS/t-fds" -- "$ATB_HELPERS/t-sigstate" \
		-- "$ATB_HELPERS/t-fds" >"$T/out" 2>"$T/err"
}

@test "t-deny works: the denied call fails with the errno asked for" {
	run "$ATB_HELPERS/t-deny" close_range=EPERM -- "$ATB_HELPERS/t-exec" -c -- true
	assert_success
	run "$ATB_HELPERS/t-deny" close_range=EPERM -- python3 -c \
		'import os, ctypes; l = ctypes.CDLL(None, use_errno=True); print(l.syscall(436, 2**32 - 1, 2**32 - 1, 0), ctypes.get_errno())'
	assert_output "-1 1"
	run "$ATB_HELPERS/t-deny" close_range=ENOSYS -- python3 -c \
		'import os, ctypes; l = ctypes.CDLL(None, use_errno=True); print(l.syscall(436, 2**32 - 1, 2**32 - 1, 0), ctypes.get_errno())'
	assert_output "-1 38"
}

@test "without close_range() (Linux < 5.9: ENOSYS) every command starts with fds 0, 1, 2 and a clean signal state" {
	denied close_range=ENOSYS,clone3=ENOSYS || { cat "$T/err" >&2; return 1; }
	cat "$T/out" "$T/err" >&2
	assert_equal "$(cat "$T/out")" $'fds: 0 1 2\nblocked=\nignored=\npgrp=leader\nfds: 0 1 2'
}

@test "under a seccomp filter older than close_range() (EPERM) commands still start, with fds 0, 1, 2 only" {
	denied close_range=EPERM || { cat "$T/err" >&2; return 1; }
	cat "$T/out" "$T/err" >&2
	assert_equal "$(cat "$T/out")" $'fds: 0 1 2\nblocked=\nignored=\npgrp=leader\nfds: 0 1 2'
}

@test "refused clone3 too (EPERM, where glibc's posix_spawn gives up): commands start, and no fd atb was given reaches them" {
	echo held >"$T/held"
	timeout -k 5 "$T_LIMIT" "$ATB_HELPERS/t-deny" close_range=EPERM,clone3=EPERM -- \
		"$ATB" pool -j 1 -o inherit -- "$ATB_HELPERS/t-fds" -- "$ATB_HELPERS/t-sigstate" \
		>"$T/out" 2>"$T/err" 3>&- 7<"$T/held" || { cat "$T/err" >&2; return 1; }
	cat "$T/out" "$T/err" >&2
	assert_equal "$(cat "$T/out")" $'fds: 0 1 2\nblocked=\nignored=\npgrp=leader'
}

@test "without close_range() both guardians hold only /dev/null and their socket, not atb's other fds" {
	echo held >"$T/held"
	# atb gets fds 0-2 and 7 only: fds bats's caller left open above what
	# atb opens would hide a guardian's own fds left behind (the loop's
	# bound, taken before the guardian opens them, would cover them).
	"$ATB_HELPERS/t-exec" -c -- sh -c 'exec 7<"$0" && exec "$@"' "$T/held" \
		"$ATB_HELPERS/t-deny" close_range=EPERM -- "$ATB" pool -g 5s -- sh -c "$(long c)" \
		>"$T/out" 2>"$T/err" &
	apid=$!
	rec atb "$apid"
	wait_file "$PIDS/c"
	local guard first i
	first=$(pgrep -P "$apid" -x atb-guard)
	[ -n "$first" ]
	rec guard "$first"
	run guard_fds "$first"
	assert_output $'3 /dev/null\n1 socket'
	# The guardian forked at the handover (half a second in) held every fd
	# atb had then: the bounded poll waits for it.
	for ((i = 0; i < 200; i++)); do
		guard=$(pgrep -P "$apid" -x atb-guard) || guard=""
		[ -n "$guard" ] && [ "$guard" != "$first" ] && [ "$(echo "$guard" | wc -w)" -eq 1 ] && break
		sleep 0.05
	done
	rec guard "$guard"
	[ "$guard" != "$first" ]
	run guard_fds "$guard"
	assert_output $'3 /dev/null\n1 socket'
	# And it still does its job.
	kill -KILL "$apid"
	wait_unmarked 20
	assert_gone c guard
}

@test "where pidfd_open() is refused (EPERM), atb watches by SIGCHLD: fail-fast, statuses and the sweep still hold" {
	timeout -k 5 "$T_LIMIT" "$ATB_HELPERS/t-deny" pidfd_open=EPERM -- "$ATB" pool -g 5s --report "$T/r.json" \
		-n sleeper,failer -- sh -c "$(long s)" -- sh -c 'exit 3' >"$T/out" 2>"$T/err" || status=$?
	cat "$T/err" >&2
	assert_equal "${status:-0}" 3
	assert_equal "$(states)" '[["sleeper", "cancelled"], ["failer", "failed"]]'
	assert_gone s
}
