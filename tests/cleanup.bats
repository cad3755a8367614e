#!/usr/bin/env bats
# --finally: cleanup that always runs, and whose failures join the report.
load helpers/common
bats_require_minimum_version 1.5.0

@test "--finally runs after success, listed as cleanup in the report" {
	run atb pool --report "$T/r.json" --finally "echo cleaned >$T/c" -- true -- true
	assert_success
	[ "$(cat "$T/c")" = cleaned ]
	run report_get "$T/r.json" '[(c["name"], c["cleanup"], c["state"]) for c in r["commands"]]'
	assert_output '[["true", false, "succeeded"], ["true#2", false, "succeeded"], ["finally", true, "succeeded"]]'
	# Each is named for what it is, made unique as default names are.
	run atb pool --no-pad --finally 'echo one' --finally 'echo two' -- true -- true
	assert_success
	assert_line '[finally] one'
	assert_line '[finally#2] two'
}

@test "--finally runs after a failure; the main failure decides the status" {
	run atb pool --finally "echo cleaned >$T/c; exit 9" -- sh -c 'exit 3' -- sleep 1000
	assert_failure 3
	[ "$(cat "$T/c")" = cleaned ]
	assert_output --partial 'exit 9'
}

@test "--finally: when only cleanup fails, its status is atb's" {
	run atb wait-all --finally 'exit 6' --finally 'exit 7' -- true
	assert_failure 6
	assert_output --partial 'atb: wait-all failed'
}

@test "--finally runs after the timeout, which does not cut it short" {
	run atb pool -t 0.2s --finally "sleep 0.5; echo cleaned >$T/c" -- sleep 1000
	assert_failure 124
	[ "$(cat "$T/c")" = cleaned ]
}

@test "--finally runs after SIGINT, and the caller still sees SIGINT" {
	mkfifo "$T/ready"
	env --default-signal=INT "$ATB" pool --finally "echo cleaned >$T/c" \
		-- sh -c "echo r >$T/ready; exec sleep 1000" -- sleep 1000 >/dev/null 2>&1 &
	local apid=$! status=0
	rec atb "$apid"
	wait_fifo "$T/ready"
	kill -INT "$apid"
	wait_gone "$apid"
	wait "$apid" || status=$?
	[ "$status" -eq 130 ]
	[ "$(cat "$T/c")" = cleaned ]
}

@test "--finally is not cancelled by the run's cancel, only by a second signal" {
	mkfifo "$T/ready" "$T/cready"
	env --default-signal=INT "$ATB" pool -g 0.2s \
		--finally "echo \$\$ >>$PIDS/c; echo r >$T/cready; exec sleep 1000" \
		-- sh -c "echo r >$T/ready; exec sleep 1000" >/dev/null 2>&1 &
	local apid=$! status=0
	rec atb "$apid"
	wait_fifo "$T/ready"
	kill -TERM "$apid"
	wait_fifo "$T/cready"
	# The cleanup runs on; a second signal ends it.
	pid_alive "$(cat "$PIDS/c")"
	sleep 0.2 # a second signal counts 0.1 s after the first
	kill -TERM "$apid"
	wait_gone "$apid"
	wait "$apid" || status=$?
	[ "$status" -eq 143 ]
	! pid_alive "$(cat "$PIDS/c")"
}

@test "--finally: an empty command is a usage error" {
	run atb pool --finally ' ' -- true
	assert_failure 125
	assert_output --partial '--finally'
}
