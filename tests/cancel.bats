#!/usr/bin/env bats
# atb cancel: cancelling processes atb did not start, and waiting until they
# are gone. Runs with pidfds and (tests/check.sh) with ATB_NO_PIDFD=1.
load helpers/common

# Background jobs this shell started and teardown killed are reaped here,
# so that bash does not report them as "Killed" on stderr. Only the recorded
# ones: a bare `wait` would also wait for bats' own BATS_TEST_TIMEOUT timer.
teardown() {
	local pid
	common_teardown
	for pid in $(cat "$PIDS"/* 2>/dev/null); do
		wait "$pid" 2>/dev/null
	done
	return 0
}

# sleeper NAME [SETUP]: starts a shell that runs SETUP (say, trap "" TERM,
# which survives the exec), says it is ready, then becomes `sleep`. Records
# its pid for teardown and stores it in $T/NAME.pid.
sleeper() {
	local name=$1 setup=${2:-:}
	mkfifo "$T/$name.ready"
	bash -c "$setup; echo ready >'$T/$name.ready'; exec sleep 1000" 3>&- &
	echo $! >"$T/$name.pid"
	rec "$name" $!
	wait_fifo "$T/$name.ready"
}

# group NAME SCRIPT: starts SCRIPT under bash in a new session (so a new
# process group), with $ready, $leader and $member file names to use: the
# script writes its pids there and says it is ready on $ready.
group() {
	local name=$1 script=$2
	mkfifo "$T/$name.ready"
	ready=$T/$name.ready leader=$T/$name.leader member=$T/$name.member \
		setsid bash -c "$script" 3>&- &
	rec "$name" $!
	wait_fifo "$T/$name.ready"
	rec "$name" "$(cat "$T/$name.leader")"
	rec "$name" "$(cat "$T/$name.member")"
}

# A pid that was running a moment ago and is not now.
dead_pid() {
	sh -c 'exit 0' &
	local pid=$!
	wait "$pid"
	echo "$pid"
}

# wait_status PID: sets ws to the wait status of one of this shell's
# background jobs (not in a subshell: only this shell can wait for it).
wait_status() {
	ws=0
	wait "$1" || ws=$?
}

now() { date +%s.%N; }
# elapsed_under START SECONDS: true when less than SECONDS passed since START.
elapsed_under() {
	awk -v s="$1" -v e="$(now)" -v lim="$2" 'BEGIN { exit !(e - s < lim) }'
}
elapsed_over() {
	awk -v s="$1" -v e="$(now)" -v lim="$2" 'BEGIN { exit !(e - s >= lim) }'
}

@test "cancel: a process that exits on TERM returns promptly, quietly" {
	sleeper s
	local pid start
	pid=$(cat "$T/s.pid")
	start=$(now)
	run atb cancel -g 25 "$pid"
	assert_success
	assert_output ''
	elapsed_under "$start" 10
	! pid_alive "$pid"
	wait_status "$pid"
	assert_equal "$ws" 143 # 128 + SIGTERM
}

@test "cancel: a process that ignores TERM gets SIGKILL after the grace period" {
	sleeper s 'trap "" TERM'
	local pid start
	pid=$(cat "$T/s.pid")
	start=$(now)
	run atb cancel -v --grace 500ms "$pid"
	assert_success
	assert_line "atb: cancel: $pid: sent SIGTERM"
	assert_line "atb: cancel: $pid: still there after 0.5s grace: sent SIGKILL"
	assert_line --regexp "^atb: cancel: $pid: gone after SIGKILL \([0-9.]+s\)$"
	elapsed_over "$start" 0.5
	! pid_alive "$pid"
	wait_status "$pid"
	assert_equal "$ws" 137 # 128 + SIGKILL
}

@test "cancel: --signal sends that signal first" {
	sleeper s 'trap "" TERM'
	local pid
	pid=$(cat "$T/s.pid")
	run atb cancel -v -s HUP -g 25 "$pid"
	assert_success
	assert_line "atb: cancel: $pid: sent SIGHUP"
	refute_line --partial SIGKILL
	wait_status "$pid"
	assert_equal "$ws" 129 # 128 + SIGHUP
}

@test "cancel: a process that is not our child" {
	mkfifo "$T/ready"
	# The subshell exits at once: the sleeper is reparented away from us.
	(bash -c "echo ready >'$T/ready'; exec sleep 1000" 3>&- &
		echo $! >"$T/pid")
	local pid ppid
	pid=$(cat "$T/pid")
	rec orphan "$pid"
	wait_fifo "$T/ready"
	ppid=$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$pid/stat")
	[ "$ppid" != "$$" ]
	[ "$ppid" != "$BASHPID" ]
	run atb cancel -v -g 25 "$pid"
	assert_success
	assert_line "atb: cancel: $pid: sent SIGTERM"
	assert_line --regexp "^atb: cancel: $pid: gone after [0-9.]+s$"
	! pid_alive "$pid"
}

@test "cancel: a pid that is not running is noted and counts as gone" {
	local dead
	dead=$(dead_pid)
	run atb cancel "$dead"
	assert_success
	assert_output "atb: cancel: $dead: not running"

	sleeper s
	local pid
	pid=$(cat "$T/s.pid")
	run atb cancel -g 25 "$dead" "$pid"
	assert_success
	assert_output "atb: cancel: $dead: not running"
	! pid_alive "$pid"
}

@test "cancel: several targets, each waited for" {
	sleeper a
	sleeper b 'trap "" TERM'
	local a b start
	a=$(cat "$T/a.pid")
	b=$(cat "$T/b.pid")
	start=$(now)
	run atb cancel -g 1 "$a" "$b" "$a"
	assert_success
	assert_output ''
	elapsed_over "$start" 1
	! pid_alive "$a"
	! pid_alive "$b"
	wait_status "$a"
	assert_equal "$ws" 143
	wait_status "$b"
	assert_equal "$ws" 137
}

@test "cancel: --group signals the target's whole process group" {
	# The member dies on TERM; the leader ignores it, so it ends only
	# because its member did: the group is gone without SIGKILL.
	group g 'sleep 1000 & echo $! >"$member"; trap "" TERM
		echo $$ >"$leader"; echo ready >"$ready"; wait'
	local leader member
	leader=$(cat "$T/g.leader")
	member=$(cat "$T/g.member")
	[ "$(ps -o pgid= -p "$member" | tr -d ' ')" = "$leader" ]
	run atb cancel -v --group -g 25 "$leader"
	assert_success
	assert_line "atb: cancel: $leader (process group $leader): sent SIGTERM"
	refute_line --partial SIGKILL
	! pid_alive "$leader"
	! pid_alive "$member"
}

@test "cancel: --group of a member escalates for a group that ignores TERM" {
	# Both ignore TERM. Named by its member, the group is looked up; the
	# member, orphaned by SIGKILL, may stay a zombie until init reaps it.
	group g 'trap "" TERM; sleep 1000 & echo $! >"$member"
		echo $$ >"$leader"; echo ready >"$ready"; wait'
	local leader member
	leader=$(cat "$T/g.leader")
	member=$(cat "$T/g.member")
	run atb cancel -v --group -g 500ms "$member"
	assert_success
	assert_line "atb: cancel: $member (process group $leader): sent SIGTERM"
	assert_line --partial "process group $leader): still there after 0.5s grace: sent SIGKILL"
	! pid_alive "$leader"
	! pid_alive "$member"
}

@test "cancel: --group refuses atb's own process group" {
	# Without job control a background job shares our group, and so does
	# atb under timeout --foreground (plain timeout makes a group of its own).
	sleep 1000 3>&- &
	local pid=$!
	rec s "$pid"
	run timeout --foreground -k 5 "$T_LIMIT" "$ATB" cancel --group "$pid"
	assert_failure 125
	assert_output "atb: cancel: $pid: refusing to signal process group $(ps -o pgid= -p "$pid" | tr -d ' '): atb is in it"
	pid_alive "$pid"
}

@test "cancel: --pidfile reads one pid and a newline, and is repeatable" {
	sleeper a
	sleeper b
	local a b
	a=$(cat "$T/a.pid")
	b=$(cat "$T/b.pid")
	printf '%s\n' "$a" >"$T/a.pidfile"
	printf '%s' "$b" >"$T/b.pidfile"
	run atb cancel -g 25 --pidfile "$T/a.pidfile" --pidfile "$T/b.pidfile"
	assert_success
	assert_output ''
	! pid_alive "$a"
	! pid_alive "$b"
}

@test "cancel: a malformed or missing pidfile is a usage error naming it, and nothing is signalled" {
	sleeper s
	local pid
	pid=$(cat "$T/s.pid")
	# bad_pidfile WHY PRINTF-ARGS...: the file printf writes is refused,
	# PID and all, with WHY.
	bad_pidfile() {
		local why=$1
		shift
		# shellcheck disable=SC2059
		printf "$@" >"$T/bad"
		run atb cancel "$pid" --pidfile "$T/bad"
		assert_failure 125
		assert_output "atb: cancel: --pidfile $T/bad: $why"
	}
	local after='text after the process id (only a newline may follow it)'
	bad_pidfile 'empty' ''
	bad_pidfile 'starts with a blank' ' %s\n' "$pid"
	bad_pidfile 'starts with a blank' '\t%s\n' "$pid"
	bad_pidfile 'starts with a blank' '\n%s\n' "$pid"
	bad_pidfile 'does not start with a process id' 'pid=%s\n' "$pid"
	bad_pidfile 'does not start with a process id' -- '-%s\n' "$pid"
	bad_pidfile "$after" '%sabc\n' "$pid"
	bad_pidfile "$after" '%s 456\n' "$pid"
	bad_pidfile "$after" '%s \n' "$pid"
	bad_pidfile "$after" '%s\r\n' "$pid"
	bad_pidfile "$after" '%s\n\n' "$pid"
	bad_pidfile "$after" '%s\nsomething else\n' "$pid"
	bad_pidfile '0 is not a process id' '0\n'
	bad_pidfile 'number too large for a process id' '99999999999\n'
	bad_pidfile 'too long for a pid file' '%0100d\n' "$pid"
	run atb cancel "$pid" --pidfile "$T/missing"
	assert_failure 125
	assert_output "atb: cancel: --pidfile $T/missing: No such file or directory"
	pid_alive "$pid"
}

@test "cancel: a pidfile that is not a regular file is refused at once" {
	# A FIFO with no writer would block a plain open() for ever: the
	# timeout turns such a regression into a failure, not a hung suite.
	mkfifo "$T/fifo"
	mkdir "$T/dir"
	local f start
	for f in "$T/fifo" "$T/dir" /dev/null; do
		start=$(now)
		run timeout -k 1 5 "$ATB" cancel --pidfile "$f"
		assert_failure 125
		assert_output "atb: cancel: --pidfile $f: not a regular file"
		elapsed_under "$start" 4
	done
}

@test "cancel: a pidfile its process wrote itself is accepted" {
	sleeper s 'echo $$ >"$T/s.pidfile"'
	local pid
	pid=$(cat "$T/s.pid")
	assert_equal "$(cat "$T/s.pidfile")" "$pid"
	run atb cancel -g 25 --pidfile "$T/s.pidfile"
	assert_success
	assert_output ''
	! pid_alive "$pid"
}

@test "cancel: --pidfile refuses a process that started after the file was written" {
	# No pid reuse needed: a pid file an hour older than the process it
	# names is what a reused pid looks like.
	sleeper s
	sleeper other
	local pid other
	pid=$(cat "$T/s.pid")
	other=$(cat "$T/other.pid")
	echo "$pid" >"$T/old.pid"
	touch -d '1 hour ago' "$T/old.pid"
	run atb cancel -g 25 "$other" --pidfile "$T/old.pid"
	assert_failure 125
	assert_output "atb: cancel: $pid: refusing to signal it: it started after --pidfile $T/old.pid was written, so it is not the process the file names"
	pid_alive "$pid"
	pid_alive "$other"
	# Named by PID as well, the process still answers to its pid file.
	run atb cancel -g 25 "$pid" --pidfile "$T/old.pid"
	assert_failure 125
	pid_alive "$pid"
	# Named by a current pid file too, the earliest file still binds.
	echo "$pid" >"$T/new.pid"
	run atb cancel -g 25 --pidfile "$T/new.pid" --pidfile "$T/old.pid"
	assert_failure 125
	assert_output --partial "--pidfile $T/old.pid was written"
	pid_alive "$pid"
	run atb cancel -g 25 --pidfile "$T/new.pid"
	assert_success
	! pid_alive "$pid"
}

@test "cancel: --pidfile refuses a new process on the dead pid it names (ns_last_pid)" {
	# The issue's case: the process that wrote the pid file has ended, and
	# a new `sleep` got its pid. ns_last_pid makes the kernel hand out that
	# pid next (it takes CAP_SYS_ADMIN over the pid namespace).
	local old new i
	bash -c 'echo $$ >"$1"' bash "$T/server.pid"
	old=$(cat "$T/server.pid")
	# However fast this test runs, the file is older than the new process.
	touch -d '2 seconds ago' "$T/server.pid"
	for ((i = 0; i < 50; i++)); do
		echo $((old - 1)) 2>/dev/null >/proc/sys/kernel/ns_last_pid ||
			skip "cannot write /proc/sys/kernel/ns_last_pid to reuse a pid"
		sleep 1000 3>&- &
		new=$!
		if [ "$new" = "$old" ]; then
			rec new "$new"
			break
		fi
		# Another process took the pid first: try again. (Not recorded:
		# teardown must not kill whatever gets that pid next.)
		kill -KILL "$new"
		wait "$new" 2>/dev/null || true
	done
	assert_equal "$new" "$old"
	run atb cancel -g 25 --pidfile "$T/server.pid"
	assert_failure 125
	assert_output "atb: cancel: $old: refusing to signal it: it started after --pidfile $T/server.pid was written, so it is not the process the file names"
	pid_alive "$new"
}

@test "cancel: usage errors exit 125 and name the bad value" {
	run atb cancel
	assert_failure 125
	assert_output "atb: cancel: no process given (PID or --pidfile FILE)"
	run atb cancel 0
	assert_failure 125
	assert_output "atb: cancel: '0' is not a process id"
	run atb cancel -- -5
	assert_failure 125
	assert_output "atb: cancel: '-5' is not a process id"
	run atb cancel 12x
	assert_failure 125
	assert_output "atb: cancel: '12x' is not a process id"
	run atb cancel 99999999999
	assert_failure 125
	assert_output "atb: cancel: '99999999999' is not a process id (too large)"
	run atb cancel 1
	assert_failure 125
	assert_output "atb: cancel: 1: refusing to signal init"
	run atb cancel -s NOPE 1234
	assert_failure 125
	assert_output "atb: cancel: --signal: unknown signal 'NOPE'"
	run atb cancel -g 5x 1234
	assert_failure 125
	assert_output --partial "atb: cancel: --grace: invalid duration '5x'"
	run atb cancel --frobnicate 1234
	assert_failure 125
	assert_output --partial "atb: cancel: unknown option '--frobnicate'"
	run atb cancel 1234 -s
	assert_failure 125
	assert_output "atb: cancel: option '-s' needs a value"
}

@test "cancel: refuses to signal atb itself" {
	# exec keeps the pid: $$ of this shell is the atb that runs.
	run timeout -k 5 "$T_LIMIT" bash -c 'exec "$0" cancel $$' "$ATB"
	assert_failure 125
	assert_output --regexp '^atb: cancel: [0-9]+: refusing to signal atb itself$'
}

@test "cancel: -v says when it uses the /proc fallback" {
	local dead
	dead=$(dead_pid)
	ATB_NO_PIDFD=1 run atb cancel -v "$dead"
	assert_success
	assert_line "atb: cancel: ATB_NO_PIDFD is set: using kill() after a /proc/PID/stat start-time check"
	assert_line "atb: cancel: $dead: not running"
	run env -u ATB_NO_PIDFD timeout -k 5 "$T_LIMIT" "$ATB" cancel -v "$dead"
	assert_success
	refute_line --partial "ATB_NO_PIDFD"
}

@test "cancel: kernel threads are refused" {
	# Only where pid 2 is really kthreadd (not inside a pid namespace).
	# Were they not refused, no harm: kernel threads ignore signals.
	[ "$(cat /proc/2/comm 2>/dev/null)" = kthreadd ] ||
		skip "no kthreadd at pid 2 (in a pid namespace?)"
	local f line kthread=
	# A lasting child of kthreadd (ksoftirqd runs as long as its CPU).
	for f in /proc/[0-9]*/stat; do
		read -r line <"$f" 2>/dev/null || continue
		[[ $line == *"(ksoftirqd/"*") S 2 "* ]] || continue
		kthread=${f//[^0-9]/}
		break
	done
	run atb cancel -g 0 2
	assert_failure 125
	assert_output "atb: cancel: 2: refusing to signal a kernel thread"
	[ -n "$kthread" ] || skip "no ksoftirqd thread found"
	run atb cancel -g 0 --group "$kthread"
	assert_failure 125
	assert_output "atb: cancel: $kthread: refusing to signal a kernel thread"
}

@test "cancel: atb's ancestors are refused: its parent, the shell that runs it" {
	# Were they not, SIGCONT harms no one, and the hour of grace outlasts
	# the time limit, which then fails the test before any SIGKILL.
	run timeout -k 5 "$T_LIMIT" bash -c '"$0" cancel -s CONT -g 1h $$; exit $?' "$ATB"
	assert_failure 125
	assert_output --regexp '^atb: cancel: [0-9]+: refusing to signal an ancestor of atb$'
	run atb cancel -s CONT -g 1h "$BASHPID"
	assert_failure 125
	assert_output "atb: cancel: $BASHPID: refusing to signal an ancestor of atb"
	run atb cancel -s CONT -g 1h "$$"
	assert_failure 125
	assert_output "atb: cancel: $$: refusing to signal an ancestor of atb"
}

@test "cancel: another user's process cannot be signalled: exit 1, left alone" {
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
	[ "$(id -u)" = 0 ] || skip "needs root to run atb as nobody"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	local grp
	grp=$(id -gn nobody)
	as_nobody() {
		timeout -k 5 "$T_LIMIT" setpriv --reuid=nobody --regid="$grp" \
			--clear-groups "$@"
	}
	as_nobody "$ATB" --version >/dev/null 2>&1 ||
		skip "user nobody cannot run $ATB (path permissions)"
	sleeper s
	local pid
	pid=$(cat "$T/s.pid")
	run as_nobody "$ATB" cancel -g 25 "$pid"
	assert_failure 1
	assert_output "atb: cancel: $pid: cannot signal: Operation not permitted"
	pid_alive "$pid"
}
