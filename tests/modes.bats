#!/usr/bin/env bats
# The four modes (pool, try-all, wait-all, race) and the exit status table:
# first failure, 128+N, 127, 126, 124, the race winner.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}


@test "pool: all commands succeed -> exit 0, every command ran to the end" {
	ratb pool --report "$T/r.json" -n a,b \
		-- sh -c 'echo a > "$T/a"' -- sh -c 'echo b > "$T/b"'
	assert_equal "$status" 0
	[ -f "$T/a" ]
	[ -f "$T/b" ]
	assert_equal "$(states)" '[["a", "succeeded"], ["b", "succeeded"]]'
	assert_equal "$(rj '[c["exit_code"] for c in r["commands"]]')" '[0, 0]'
	assert_equal "$(rj 'r["mode"]')" pool
	assert_equal "$(rj 'r["outcome"]')" succeeded
}

@test "pool: first failure -> exit with its code; the others are cancelled (SIGTERM) and awaited" {
	start_atb pool -g 5s --report "$T/r.json" -n s1,bad,s2 \
		-- sh -c "$(long s1)" -- sh -c "$(gated bad 'exit 3')" -- sh -c "$(long s2)"
	ready bad
	wait_file "$PIDS/s1"
	wait_file "$PIDS/s2"
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(states)" '[["s1", "cancelled"], ["bad", "failed"], ["s2", "cancelled"]]'
	assert_equal "$(rj '[c["signal"] for c in r["commands"]]')" '["SIGTERM", null, "SIGTERM"]'
	assert_equal "$(rj 'r["commands"][1]["exit_code"]')" 3
	assert_equal "$(rj 'r["outcome"]')" failed
	assert_equal "$(rj 'r["exit_status"]')" 3
	assert_gone s1 s2
}

@test "try-all: same as pool: first failure cancels the others, exit with its code" {
	ratb try-all -g 5s --report "$T/r.json" -n s,bad \
		-- sh -c "$(long s)" -- sh -c 'exit 5'
	assert_equal "$status" 5
	assert_equal "$(states)" '[["s", "cancelled"], ["bad", "failed"]]'
	assert_equal "$(rj 'r["mode"]')" try-all
	assert_gone s
}

@test "pool: the exit status is that of the first command to fail, not of the first on the command line" {
	ratb pool -g 5s --report "$T/r.json" -n s,bad -- sh -c "$(long s)" -- sh -c 'exit 4'
	assert_equal "$status" 4
	assert_equal "$(states)" '[["s", "cancelled"], ["bad", "failed"]]'
}

@test "pool: a command that succeeded before the failure stays succeeded" {
	start_atb pool -g 5s --report "$T/r.json" -n ok,bad,s \
		-- sh -c "$(gated ok 'exit 0')" -- sh -c "$(gated bad 'exit 6')" -- sh -c "$(long s)"
	ready ok
	ready bad
	go ok
	wait_reaped "$(pid_of ok)"
	go bad
	finish_atb
	assert_equal "$status" 6
	assert_equal "$(states)" '[["ok", "succeeded"], ["bad", "failed"], ["s", "cancelled"]]'
}

@test "pool: death by a signal atb did not send (SIGTERM from outside) is a failure, 128+15" {
	start_atb pool -g 5s --report "$T/r.json" -n victim,s \
		-- sh -c "$(gated victim 'exit 0')" -- sh -c "$(long s)"
	ready victim
	kill -TERM "$(pid_of victim)"
	finish_atb
	assert_equal "$status" 143
	assert_equal "$(states)" '[["victim", "failed"], ["s", "cancelled"]]'
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGTERM
	assert_equal "$(rj 'r["commands"][0]["exit_code"]')" null
	stderr_has "killed by SIGTERM"
}

@test "exit status: a command killed by signal N gives 128+N (SIGSEGV -> 139)" {
	ratb pool --report "$T/r.json" -n segv -- sh -c 'kill -SEGV $$'
	assert_equal "$status" 139
	assert_equal "$(rj 'r["commands"][0]["state"]')" failed
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGSEGV
	assert_equal "$(rj 'r["exit_status"]')" 139
	stderr_has "killed by SIGSEGV"
}

@test "exit status: a command that cannot be found gets 127 before anything starts; stderr names it and says 'not found'" {
	ratb pool -g 5s --report "$T/r.json" -n s,missing \
		-- sh -c "$(long s)" -- atb-no-such-command-xyz
	assert_equal "$status" 127
	stderr_has "atb-no-such-command-xyz"
	stderr_has "not found"
	# Looked up first: the other command never started, no report was made.
	[ ! -e "$PIDS/s" ]
	[ ! -e "$T/r.json" ]
	# Found at run time (a spec: its PATH may be the command's own), it
	# fails and cancels the others.
	python3 -c 'import json, sys; print(json.dumps({"commands": [
		{"name": "s", "shell": sys.argv[1]},
		{"name": "missing", "argv": ["atb-no-such-command-xyz"]}]}))' "$(long s)" >"$T/s.json"
	ratb run -g 5s --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 127
	stderr_has "not found"
	assert_equal "$(states)" '[["s", "cancelled"], ["missing", "failed"]]'
	assert_equal "$(rj 'r["commands"][1]["pid"]')" null
	assert_gone s
}

@test "exit status: a command given by a path that does not exist gets 127" {
	ratb pool -- "$T/nonexistent/cmd"
	assert_equal "$status" 127
	stderr_has "not found"
}

@test "exit status: a file that cannot be executed gets 126 (no exec permission; a directory)" {
	printf '#!/bin/sh\nexit 0\n' >"$T/noexec"
	chmod 644 "$T/noexec"
	ratb pool --report "$T/r.json" -- "$T/noexec"
	assert_equal "$status" 126
	assert_equal "$(rj 'r["commands"][0]["state"]')" failed
	stderr_has "noexec"
	mkdir "$T/adir"
	ratb pool -- "$T/adir"
	assert_equal "$status" 126
}

@test "exit status: -t expiry cancels everything and exits 124 (pool)" {
	ratb pool -t 0.3s -g 5s --report "$T/r.json" -n s1,s2 \
		-- sh -c "$(long s1)" -- sh -c "$(long s2)"
	assert_equal "$status" 124
	assert_equal "$(rj 'r["outcome"]')" timed_out
	assert_equal "$(rj 'r["exit_status"]')" 124
	assert_equal "$(states)" '[["s1", "cancelled"], ["s2", "cancelled"]]'
	assert_gone s1 s2
}

@test "exit status: --timeout expiry exits 124 in wait-all too" {
	ratb wait-all --timeout 0.3s -g 5s -- sh -c "$(long s)" -- true
	assert_equal "$status" 124
	assert_gone s
}

@test "-t: a run that ends before its deadline exits at once with its own status" {
	# With a one-hour deadline, waiting for the timer would hit T_LIMIT.
	ratb pool -t 1h -- true -- true
	assert_equal "$status" 0
	ratb pool -t 1h -- sh -c 'exit 2'
	assert_equal "$status" 2
}

@test "wait-all: a failure cancels nothing; the others run to the end" {
	start_atb wait-all -g 5s --report "$T/r.json" -n bad,later \
		-- sh -c 'echo $$ >> "$PIDS/bad"; exit 3' \
		-- sh -c "$(gated later 'echo done > "$T/done"')"
	ready later
	wait_file "$PIDS/bad"
	# Once atb has collected bad's status, a pool would have cancelled later.
	wait_reaped "$(pid_of bad)"
	go later
	finish_atb
	assert_equal "$status" 3
	[ -f "$T/done" ]
	assert_equal "$(states)" '[["bad", "failed"], ["later", "succeeded"]]'
	assert_equal "$(rj 'r["mode"]')" wait-all
}

@test "wait-all: every failure is reported; the exit status is the first failure in time" {
	start_atb wait-all --report "$T/r.json" -n second,first,ok \
		-- sh -c "$(gated second 'exit 5')" -- sh -c "$(gated first 'exit 4')" \
		-- sh -c "$(gated ok 'exit 0')"
	ready second
	ready first
	ready ok
	go first
	wait_reaped "$(pid_of first)"
	go ok
	go second
	finish_atb
	assert_equal "$status" 4
	assert_equal "$(states)" '[["second", "failed"], ["first", "failed"], ["ok", "succeeded"]]'
	assert_equal "$(rj '[c["exit_code"] for c in r["commands"]]')" '[5, 4, 0]'
	stderr_has "exit 4"
	stderr_has "exit 5"
}

@test "wait-all: all succeed -> exit 0" {
	ratb wait-all -- true -- sh -c 'exit 0'
	assert_equal "$status" 0
}

@test "race: the first command to end wins (success -> 0); the others are cancelled and awaited" {
	start_atb race -g 5s --report "$T/r.json" -n s1,quick,s2 \
		-- sh -c "$(long s1)" -- sh -c "$(gated quick 'exit 0')" -- sh -c "$(long s2)"
	ready quick
	wait_file "$PIDS/s1"
	wait_file "$PIDS/s2"
	go quick
	finish_atb
	assert_equal "$status" 0
	assert_equal "$(rj 'r["winner"]')" quick
	assert_equal "$(states)" '[["s1", "cancelled"], ["quick", "succeeded"], ["s2", "cancelled"]]'
	assert_equal "$(rj 'r["mode"]')" race
	assert_equal "$(rj 'r["outcome"]')" succeeded
	assert_gone s1 s2
}

@test "race: a failing winner gives its own status" {
	ratb race -g 5s --report "$T/r.json" -n s,loser \
		-- sh -c "$(long s)" -- sh -c 'exit 7'
	assert_equal "$status" 7
	assert_equal "$(rj 'r["winner"]')" loser
	assert_equal "$(states)" '[["s", "cancelled"], ["loser", "failed"]]'
}

@test "race: a winner killed by a signal gives 128+N" {
	ratb race -g 5s --report "$T/r.json" -n s,segv \
		-- sh -c "$(long s)" -- sh -c 'kill -SEGV $$'
	assert_equal "$status" 139
	assert_equal "$(rj 'r["winner"]')" segv
}

@test "race: the winner is the first to end in time, not the first on the command line" {
	start_atb race -g 5s --report "$T/r.json" -n a,b \
		-- sh -c "$(gated a 'exit 0')" -- sh -c "$(gated b 'exit 9')"
	ready a
	ready b
	go b
	finish_atb
	assert_equal "$status" 9
	assert_equal "$(rj 'r["winner"]')" b
	assert_equal "$(states)" '[["a", "cancelled"], ["b", "failed"]]'
}

@test "race -t: the deadline wins with 124, no winner, everything cancelled" {
	ratb race -t 0.3s -g 5s --report "$T/r.json" \
		-- sh -c "$(long s1)" -- sh -c "$(long s2)"
	assert_equal "$status" 124
	assert_equal "$(rj 'r["winner"]')" null
	assert_equal "$(rj 'r["outcome"]')" timed_out
	assert_equal "$(rj '[c["state"] for c in r["commands"]]')" '["cancelled", "cancelled"]'
	assert_gone s1 s2
}

@test "race --first-success: failures neither win nor cancel; the first success wins" {
	start_atb race --first-success -g 5s --report "$T/r.json" -n fails,wins,s \
		-- sh -c "$(gated fails 'exit 3')" -- sh -c "$(gated wins 'exit 0')" -- sh -c "$(long s)"
	ready fails
	ready wins
	go fails
	wait_reaped "$(pid_of fails)"
	go wins
	finish_atb
	assert_equal "$status" 0
	assert_equal "$(rj 'r["winner"]')" wins
	assert_equal "$(states)" '[["fails", "failed"], ["wins", "succeeded"], ["s", "cancelled"]]'
	assert_gone s
}

@test "race --first-success: when all fail, the run fails like wait-all (status of the first failure)" {
	start_atb race --first-success --report "$T/r.json" -n late,early \
		-- sh -c "$(gated late 'exit 5')" -- sh -c "$(gated early 'exit 4')"
	ready late
	ready early
	go early
	wait_reaped "$(pid_of early)"
	go late
	finish_atb
	assert_equal "$status" 4
	assert_equal "$(rj 'r["winner"]')" null
	assert_equal "$(states)" '[["late", "failed"], ["early", "failed"]]'
	assert_equal "$(rj 'r["outcome"]')" failed
}

@test "-c: a failing shell command gives its status and cancels the others in pool" {
	ratb pool -g 5s -c 'exit 3' "$(long s)"
	assert_equal "$status" 3
	assert_gone s
}
