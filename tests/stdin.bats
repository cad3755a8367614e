#!/usr/bin/env bats
# Who reads atb's standard input: a lone command, as under timeout(1);
# --no-stdin; --foreground (the terminal, as timeout --foreground); and
# --preserve-status.
load helpers/common
bats_require_minimum_version 1.5.0

@test "stdin: a lone command reads atb's stdin, as under timeout" {
	run bash -c "echo hi | timeout -k 5 $T_LIMIT '$ATB' race -t 5 -- cat"
	assert_success
	assert_output hi
	printf 'a\nb\nc\n' >"$T/in"
	run atb pool -o inherit -- wc -l <"$T/in"
	assert_success
	assert_output 3
	# A spec of one command from a file, too.
	echo '{"commands": [{"argv": ["cat"]}]}' >"$T/s.json"
	run atb run -o inherit "$T/s.json" <"$T/in"
	assert_success
	assert_output "$(printf 'a\nb\nc')"
}

@test "stdin: a cleanup command does not count, and does not get it" {
	printf 'x\n' >"$T/in"
	run atb pool -o inherit --finally "cat; echo cleanup-done" -- cat <"$T/in"
	assert_success
	assert_output "$(printf 'x\ncleanup-done')"
}

@test "stdin: several commands get none of it, unless -i names one" {
	printf 'x\n' >"$T/in"
	run atb pool -o inherit -- cat -- cat <"$T/in"
	assert_success
	assert_output ''
	run atb pool -o inherit -n a,b -i b -- cat -- sh -c 'cat; echo b-done' <"$T/in"
	assert_success
	assert_output "$(printf 'x\nb-done')"
}

@test "stdin: --no-stdin gives a lone command /dev/null" {
	run bash -c "echo hi | timeout -k 5 $T_LIMIT '$ATB' race --no-stdin -t 5 -- cat"
	assert_success
	assert_output ''
	run atb pool --no-stdin -n x -i x -- cat </dev/null
	assert_failure 125
	assert_output "atb: pool: --no-stdin and --input 'x': choose one"
}

@test "stdin: a spec read from stdin leaves nothing for its lone command" {
	run atb run -o inherit - <<<'{"commands": [{"argv": ["cat"]}]}'
	assert_success
	assert_output ''
}

@test "stdin: --preserve-status exits with the command's own status on timeout" {
	run atb race -t 0.2s --preserve-status -- sleep 30
	assert_failure 143
	run atb race -t 0.2s --preserve-status -- sh -c 'trap "exit 7" TERM; sleep 30 & wait'
	assert_failure 7
	run atb run -t 0.2s --preserve-status - <<<'{"commands": [{"argv": ["sleep", "30"]}]}'
	assert_failure 143
	# Without it, a deadline is 124; and a command that ends in time is
	# unaffected.
	run atb race -t 0.2s -- sleep 30
	assert_failure 124
	run atb race -t 5s --preserve-status -- sh -c 'exit 3'
	assert_failure 3
}

@test "terminal: a lone command reading the terminal is stopped without --foreground" {
	# Its own process group is in the background: SIGTTIN stops it until
	# the deadline, as under timeout without --foreground.
	run "$ATB_HELPERS/t-pty" -s $'one\n' -- "$ATB" race -t 1 -- sh -c 'read x; echo got $x'
	assert_failure 124
	refute_output --partial 'got one'
}

@test "terminal: --foreground gives the command the terminal, and takes it back" {
	run "$ATB_HELPERS/t-pty" -s $'one\n' -- "$ATB" race --foreground -t 20 -- sh -c 'read x; echo got $x'
	assert_success
	assert_output --partial 'got one'
	# The shell that ran atb reads the terminal after it: atb gave it back.
	run "$ATB_HELPERS/t-pty" -s $'one\ntwo\n' -- sh -c \
		"'$ATB' race --foreground -t 20 -- sh -c 'read x; echo got \$x'; read y; echo after \$y"
	assert_success
	assert_output --partial 'got one'
	assert_output --partial 'after two'
}

@test "terminal: with --foreground, ^C goes to the command" {
	run "$ATB_HELPERS/t-pty" -w READY -s $'\x03' -- "$ATB" race --foreground -t 20 -- \
		sh -c 'echo READY; exec sleep 30'
	assert_failure 130
	assert_output --partial 'killed by SIGINT'
}

@test "terminal: a background atb leaves the terminal to the shell" {
	# set -m puts the job in a group of its own, in the background.
	run "$ATB_HELPERS/t-pty" -s $'one\n' -- sh -c \
		"set -m; '$ATB' race --foreground -t 1 -- sh -c 'read x; echo got \$x' & wait \$!; echo status \$?"
	assert_success
	assert_output --partial 'status 124'
	refute_output --partial 'got one'
}

@test "terminal: --foreground needs a command that reads stdin" {
	run atb pool --foreground -- true -- true
	assert_failure 125
	assert_output "atb: pool: --foreground: no command reads the terminal (give one command, or name one with --input)"
	# Without a terminal it changes nothing but the output.
	run atb race --foreground -t 5 -- echo plain </dev/null
	assert_success
	assert_output plain
}

@test "timeout(1)'s own assertions: statuses on time, on timeout and on error" {
	# After coreutils' tests/timeout: the command's status when it ends in
	# time, 124 at the deadline, 128+N with --preserve-status, 125 for bad
	# usage, 126 and 127 for a program that cannot run or is not there.
	run atb race -t 10 -- true
	assert_success
	run atb race -t 10 -- false
	assert_failure 1
	run atb race -t 0.1 -- sleep 10
	assert_failure 124
	run atb race -t 0.1 --preserve-status -- sleep 10
	assert_failure 143
	run atb race -t 0.1 --preserve-status -s KILL -- sleep 10
	assert_failure 137
	run atb race -t 1x -- true
	assert_failure 125
	run -127 atb race -t 10 -- atb-no-such-program
	run -126 atb race -t 10 -- /etc
}
