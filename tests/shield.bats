#!/usr/bin/env bats
# atb shield: work that cancellation cannot cut short.

load helpers/common
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	mkfifo "$T/ready" "$T/go"
}

# start_shield ARGS...: atb shield in the background, with SIGINT at its
# default action (a non-interactive shell starts background jobs with it
# ignored, and atb leaves an ignored SIGINT alone); sets apid.
start_shield() {
	env --default-signal=INT "$ATB" shield "$@" >"$T/out" 2>"$T/err" &
	apid=$!
	rec atb "$apid"
}

# finish: waits for atb; sets status and stderr.
finish() {
	wait_gone "$apid" "$T_LIMIT" || return 1
	status=0
	wait "$apid" || status=$?
	stderr=$(cat "$T/err")
	output=$(cat "$T/out")
}

# wait_text TEXT: waits (bounded) until atb's stderr holds TEXT: atb says
# so as soon as it has handled a signal.
wait_text() {
	local i
	for ((i = 0; i < 400; i++)); do
		grep -q -- "$1" "$T/err" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# The protected command: says it runs, waits to be released, then writes a
# file and exits with the status given.
protected() {
	echo "echo \$\$ >>$PIDS/cmd; echo r >$T/ready; read x <$T/go; echo done >$T/result; exit $1"
}

@test "shield: the command's exit status passes through" {
	run atb shield -- sh -c 'exit 7'
	assert_failure 7
	run atb shield -- true
	assert_success
	assert_output ''
}

@test "shield: not found and usage errors" {
	run -127 atb shield -- atb-no-such-program
	assert_output --partial 'command not found'
	run atb shield
	assert_failure 125
	run atb shield -g soon -- true
	assert_failure 125
	assert_output --partial "invalid duration 'soon'"
}

@test "shield: SIGTERM is deferred until the command ends, then re-raised" {
	start_shield -- sh -c "$(protected 0)"
	wait_fifo "$T/ready"
	kill -TERM "$apid"
	wait_text 'SIGTERM received; sh finishes first'
	# atb must still be waiting, and the command still running.
	run pid_alive "$(cat "$PIDS/cmd")"
	assert_success
	echo go >"$T/go"
	finish
	[ "$status" -eq 143 ]
	[ "$(cat "$T/result")" = done ]
	[[ "$stderr" == *"SIGTERM was deferred until sh ended"* ]]
}

@test "shield: SIGINT is deferred too, and the caller sees the signal" {
	start_shield -- sh -c "$(protected 3)"
	wait_fifo "$T/ready"
	kill -INT "$apid"
	echo go >"$T/go"
	finish
	[ "$status" -eq 130 ]
	[ "$(cat "$T/result")" = done ]
}

@test "shield: the command runs in its own process group" {
	run atb shield -- sh -c 'ps -o pgid= -p $$; ps -o pgid= -p $PPID'
	assert_success
	[ "${lines[0]// /}" != "${lines[1]// /}" ]
}

@test "shield: a second signal cancels the command after all" {
	start_shield -- sh -c "$(protected 0)"
	wait_fifo "$T/ready"
	kill -TERM "$apid"
	wait_text 'received;'
	# A person pressing twice: atb takes a signal as a second one only
	# 0.1 s after the first (one cancel may arrive twice at once).
	sleep 0.2
	kill -TERM "$apid"
	finish
	[ "$status" -eq 143 ]
	[ ! -e "$T/result" ]
	run pid_alive "$(cat "$PIDS/cmd")"
	assert_failure
	[[ "$stderr" == *"cancelled after all"* ]]
}

@test "shield: a second signal escalates to SIGKILL after 5s for a command that ignores it" {
	start_shield -- sh -c "trap '' TERM; $(protected 0)"
	wait_fifo "$T/ready"
	kill -TERM "$apid"
	wait_text 'received;'
	# A person pressing twice: atb takes a signal as a second one only
	# 0.1 s after the first (one cancel may arrive twice at once).
	sleep 0.2
	kill -TERM "$apid"
	finish
	[ "$status" -eq 143 ]
	run pid_alive "$(cat "$PIDS/cmd")"
	assert_failure
}

@test "shield: --grace bounds how long a deferred signal waits" {
	start_shield -g 0.3s -- sh -c "$(protected 0)"
	wait_fifo "$T/ready"
	kill -TERM "$apid"
	finish
	[ "$status" -eq 143 ]
	[ ! -e "$T/result" ]
	run pid_alive "$(cat "$PIDS/cmd")"
	assert_failure
}

@test "shield: a signal that comes before the command starts: it is not run, and atb says so" {
	# Pending when atb starts (the shell sends TERM to itself with TERM
	# blocked, then execs atb), so it is read before anything starts.
	cat >"$T/early.sh" <<-'SH'
	kill -TERM $$
	exec "$1" shield -- sh -c 'echo started >"$T/started"'
	SH
	run --separate-stderr "$ATB_HELPERS/t-exec" -b TERM -w "$T/atb.pid" -- sh "$T/early.sh" "$ATB"
	rec atb "$(cat "$T/atb.pid")"
	assert_output "signaled 15"
	assert_equal "$stderr" "atb: shield: SIGTERM came before sh started; it was not run"
	[ ! -e "$T/started" ]
}
