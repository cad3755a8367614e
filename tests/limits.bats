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

@test "out of fds in prefix mode: every command's lines arrive whole, the last one without its newline too" {
	# The run keeps its copies of the pipes' write ends until each leader
	# ends, but only up to an eighth of the limit: here 9 ends, so most
	# commands run as before, and some wait for fds.
	local args=() i
	for i in $(seq 60); do
		args+=(sh -c "echo \$\$ >>$PIDS/w; printf 'line-$i\\nlast-$i'" --)
	done
	args+=(true)
	run bash -c 'ulimit -n 64 && exec "$0" "$@" >"$T/out"' "$ATB" pool -o prefix --no-pad -- "${args[@]}"
	assert_success
	run wc -l <"$PIDS/w"
	assert_output '60'
	run grep -c '^\[sh[^]]*\] line-[0-9]*$' "$T/out"
	assert_output '60'
	run grep -c '^\[sh[^]]*\] last-[0-9]*$' "$T/out"
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
	local n st extra
	for extra in 0 1 2 3; do
		for n in $(seq $((6 + extra)) $((14 + extra))); do
			st=0
			bash -c 'for ((f = 3; f < 3 + $1; f++)); do eval "exec $f</dev/null"; done
				ulimit -n "$2" && shift 2 && exec "$@"' _ "$extra" "$n" \
				"$ATB" pool -- true -- true >"$T/out" 2>&1 || st=$?
			if [ "$st" -ne 0 ] && [ "$st" -ne 125 ]; then
				echo "$extra fds inherited, ulimit -n $n: status $st: $(cat "$T/out")"
				return 1
			fi
		done
	done
}

# A run as nobody makes /tmp/atb-65534, the base of its latch scopes; the
# latch suite skips its tests of that folder when it is there already, so
# it goes again when a test here made it.
teardown() {
	common_teardown
	[ -z "${NB_MADE:-}" ] || rm -rf -- /tmp/atb-65534
}

# nobody_nproc LIMIT ATB-ARGS...: atb as user nobody (root is not bound by
# RLIMIT_NPROC) under ulimit -u LIMIT, which counts every process of
# nobody's: atb, its guardian, the commands. Skips where that cannot be set
# up. Sets status, output, stderr.
nobody_nproc() {
	local limit=$1
	shift
	[ "$(id -u)" -eq 0 ] || skip "needs root, to run atb as nobody (RLIMIT_NPROC does not bind root)"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	[ "$(id -u nobody 2>/dev/null)" = 65534 ] || skip "needs user nobody with uid 65534"
	[ -z "$(pgrep -u nobody)" ] || skip "processes of nobody's run here: they count against the limit"
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$ATB" --version >/dev/null 2>&1 ||
		skip "user nobody cannot run $ATB"
	[ -e /tmp/atb-65534 ] || NB_MADE=1
	status=0
	# LeakSanitizer (make check SANITIZE=1) needs a thread of its own at
	# exit, which the limit refuses: it would turn 125 into its own error.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		timeout -k 5 "$T_LIMIT" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		bash -c 'ulimit -u "$1" && shift && exec "$@"' _ "$limit" "$ATB" "$@" \
		>"$T/out" 2>"$T/err" 3>&- || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	printf '# status %s\n# stdout: %s\n# stderr: %s\n' "$status" "$output" "$stderr" >&2
}

@test "out of processes (EAGAIN, ulimit -u): commands wait for others to finish, all of them run" {
	# atb and its guardian count: 4 commands at once under a limit of 6.
	local args=() i
	for i in $(seq 12); do
		args+=("echo $i; exec sleep 0.2")
	done
	nobody_nproc 6 pool -o group --report - -c "${args[@]}"
	assert_equal "$status" 0
	assert_equal "$(echo "$output" | grep -c '^==> ')" 12
	assert_equal "$(echo "$output" | sed -n '/^{/,$p' | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sorted(set(c["state"] for c in r["commands"])))')" "['succeeded']"
}

@test "out of processes with nothing running: a clear error, exit 125, nothing left" {
	# atb and its guardian take the whole limit of 2.
	nobody_nproc 2 pool -- sleep 1000 -- sleep 1000
	assert_equal "$status" 125
	[[ "$stderr" == "atb: sleep: Resource temporarily unavailable"$'\n'* ]]
	wait_unmarked 10
	# Not even the guardian can be forked: nothing is started without it.
	nobody_nproc 1 pool -- sleep 1000 -- sleep 1000
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: pool: cannot start the guardian process, so nothing was started: Resource temporarily unavailable"
	wait_unmarked 10
}
