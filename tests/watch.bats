#!/usr/bin/env bats
# How children are watched (pidfds, or SIGCHLD with ATB_NO_PIDFD=1) and the
# state they start in: fds, signal mask and dispositions, process group,
# stdin, stdout and stderr, limits.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}


# fds_of PID: the targets of PID's open fds, one a line.
fds_of() {
	local f
	for f in /proc/"$1"/fd/*; do
		readlink "$f"
	done
}

# wait_idle PID: waits until atb (PID) sleeps in epoll_wait, i.e. it has
# finished handling whatever woke it last (a spawn, an exit).
wait_idle() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(cat "/proc/$1/wchan" 2>/dev/null)" = do_epoll_wait ] && return 0
		sleep 0.02
	done
	echo "# atb never idle: $(cat "/proc/$1/wchan")" >&2
	return 1
}

# zombies_of PID: how many zombie children PID has.
zombies_of() {
	ps -o stat= --ppid "$1" | grep -c '^Z' || true
}

@test "ATB_NO_PIDFD=1 forces the SIGCHLD fallback: atb holds pidfds only without it (both modes, explicitly)" {
	local mode n cmd
	for mode in pidfd fallback; do
		cmd=$(gated "c$mode" 'exit 0')
		if [ "$mode" = pidfd ]; then
			env -u ATB_NO_PIDFD "$ATB" pool -- sh -c "$cmd" >"$T/out" 2>"$T/err" 3>&- &
		else
			env ATB_NO_PIDFD=1 "$ATB" pool -- sh -c "$cmd" >"$T/out" 2>"$T/err" 3>&- &
		fi
		apid=$!
		rec atb "$apid"
		ready "c$mode"
		wait_idle "$apid"
		n=$(fds_of "$apid" | grep -c 'pidfd' || true)
		echo "# $mode: atb fds: $(fds_of "$apid" | tr '\n' ' ')" >&2
		go "c$mode"
		finish_atb
		assert_equal "$status" 0
		if [ "$mode" = pidfd ]; then
			((n >= 1)) || { echo "# no pidfd held in pidfd mode" >&2; return 1; }
		else
			assert_equal "$n" 0
		fi
	done
}

@test "no fd leaks: a command sees only fds 0, 1, 2 (atb started with none of its own above 2)" {
	# t-exec -c closes the fds bats keeps open before it execs atb.
	timeout -k 5 "$T_LIMIT" "$ATB_HELPERS/t-exec" -c -- "$ATB" race -t 60 -g 1s --report "$T/r.json" \
		-- sh -c "$(long s1)" -- sh -c "$(long s2)" -- "$ATB_HELPERS/t-fds" "$T/fds" >"$T/out" 2>"$T/err"
	cat "$T/fds" "$T/err" >&2
	assert_equal "$(cat "$T/fds")" "fds: 0 1 2"
	assert_equal "$(rj 'r["winner"]')" t-fds
	assert_gone s1 s2
	timeout -k 5 "$T_LIMIT" "$ATB_HELPERS/t-exec" -c -- "$ATB" wait-all -j 1 --report "$T/r.json" \
		-- true -- sh -c 'exit 3' -- atb-no-such-command-xyz -- "$ATB_HELPERS/t-fds" "$T/fds" >"$T/out" 2>"$T/err" || true
	cat "$T/fds" "$T/err" >&2
	assert_equal "$(cat "$T/fds")" "fds: 0 1 2"
}

@test "child signal state: empty mask, default dispositions, own process group (atb started plainly)" {
	ratb pool -- "$ATB_HELPERS/t-sigstate"
	assert_equal "$status" 0
	assert_output $'blocked=\nignored=\npgrp=leader'
}

@test "child signal state: empty mask and default dispositions even when atb was started with signals blocked and ignored" {
	timeout -k 5 "$T_LIMIT" "$ATB_HELPERS/t-exec" -b INT,TERM,HUP,QUIT,USR1,USR2,ALRM,PIPE,WINCH \
		-i INT,QUIT,TERM,HUP,USR1,USR2,PIPE,TTIN,TTOU,TSTP,WINCH \
		-- "$ATB" pool -- "$ATB_HELPERS/t-sigstate" >"$T/out" 2>"$T/err" 3>&-
	cat "$T/out" "$T/err" >&2
	assert_equal "$(cat "$T/out")" $'blocked=\nignored=\npgrp=leader'
}

@test "child signal state: the command is in its own process group, not atb's" {
	ratb pool -- sh -c 'ps -o pgid= -p $$ | tr -d " "; echo $$; ps -o pgid= -p $PPID | tr -d " "'
	assert_equal "$status" 0
	local pg self atbpg
	{ read -r pg; read -r self; read -r atbpg; } <<<"$output"
	assert_equal "$pg" "$self"
	[ "$pg" != "$atbpg" ]
}

@test "stdin of every command is /dev/null, even when atb's stdin has data (but a lone command's)" {
	ratb pool -o inherit -- sh -c 'read x; echo "got:$x"; readlink /proc/self/fd/0' -- true <<<"secret"
	assert_equal "$status" 0
	assert_output $'got:\n/dev/null'
	ratb pool --no-stdin -- sh -c 'read x; echo "got:$x"; readlink /proc/self/fd/0' <<<"secret"
	assert_equal "$status" 0
	assert_output $'got:\n/dev/null'
	# A lone command reads atb's, as under timeout.
	ratb pool -- sh -c 'read x; echo "got:$x"' <<<"secret"
	assert_equal "$status" 0
	assert_output 'got:secret'
}

@test "stdout and stderr of a single command are atb's own (inherited, not piped)" {
	ratb pool -- sh -c 'echo to-out; echo to-err >&2; readlink /proc/self/fd/1 /proc/self/fd/2'
	assert_equal "$status" 0
	assert_output $'to-out\n'"$T/out"$'\n'"$T/err"
	assert_equal "$stderr" to-err
}

@test "atb started with SIGCHLD ignored still collects every exit status" {
	timeout -k 5 "$T_LIMIT" "$ATB_HELPERS/t-exec" -i CHLD -- "$ATB" wait-all --report "$T/r.json" \
		-- sh -c 'exit 3' -- sh -c 'exit 4' -- true >"$T/out" 2>"$T/err" 3>&- || status=$?
	cat "$T/err" >&2
	[[ $status == 3 || $status == 4 ]]
	assert_equal "$(rj '[c["exit_code"] for c in r["commands"]]')" '[3, 4, 0]'
}

@test "atb started with SIGCHLD blocked still collects every exit status" {
	timeout -k 5 15 "$ATB_HELPERS/t-exec" -b CHLD -- "$ATB" wait-all --report "$T/r.json" \
		-- sh -c 'exit 3' -- sh -c 'exit 4' -- true >"$T/out" 2>"$T/err" 3>&- || status=$?
	cat "$T/err" >&2
	[[ $status == 3 || $status == 4 ]]
	assert_equal "$(rj '[c["exit_code"] for c in r["commands"]]')" '[3, 4, 0]'
}

@test "many commands ending at the same moment each get their own exit status" {
	local i n=12 rfd lk args=() want
	mkfifo "$T/ready"
	for ((i = 0; i < n; i++)); do
		args+=(-- sh -c "echo \$\$ >> \"\$PIDS/c\"; echo r > \"\$T/ready\"; flock -s \"\$T/lock\" true; exit $i")
	done
	# The commands wait on a shared lock the test holds, so they all end at once.
	exec {lk}>"$T/lock"
	flock -x "$lk"
	exec {rfd}<>"$T/ready"
	start_atb wait-all --report "$T/r.json" "${args[@]}" {lk}>&-
	for ((i = 0; i < n; i++)); do
		read -r -t "$T_LIMIT" -u "$rfd" _ || { echo "# only $i commands started" >&2; return 1; }
	done
	flock -u "$lk"
	exec {lk}>&- {rfd}<&-
	finish_atb
	want=$(python3 -c "print(list(range($n)))")
	assert_equal "$(rj '[c["exit_code"] for c in r["commands"]]')" "$want"
	assert_equal "$(rj '[c["state"] for c in r["commands"]].count("failed")')" $((n - 1))
	((status >= 1 && status < n))
}

@test "subreaper: orphans adopted by atb are reaped during the run and do not disturb the commands' statuses" {
	start_atb wait-all --report "$T/r.json" -n spawner,a,b,c \
		-- sh -c "for i in 1 2 3 4 5 6 7 8; do (true &); done; $(gated spawner 'exit 5')" \
		-- sh -c 'for i in 1 2 3 4 5 6 7 8; do (true &); done; exit 1' \
		-- sh -c 'for i in 1 2 3 4 5 6 7 8; do (sh -c "exit 9" &); done; exit 2' \
		-- sh -c 'for i in 1 2 3 4 5 6 7 8; do (true &); done; exit 0'
	ready spawner
	# Every orphan has ended by now or soon will; atb must collect them while
	# the run goes on (a waits on its fifo), not let zombies pile up.
	local i z
	for ((i = 0; i < 500; i++)); do
		z=$(zombies_of "$apid")
		((z == 0)) && break
		sleep 0.02
	done
	assert_equal "$z" 0
	go spawner
	finish_atb
	assert_equal "$(rj '[c["exit_code"] for c in r["commands"]]')" '[5, 1, 2, 0]'
	assert_equal "$(states)" '[["spawner", "failed"], ["a", "failed"], ["b", "failed"], ["c", "succeeded"]]'
}

@test "a command stopped (SIGSTOP) and continued is not mistaken for one that ended" {
	start_atb pool -g 5s --report "$T/r.json" -n stopper,s \
		-- sh -c 'echo $$ >> "$PIDS/stopper"; kill -STOP $$; exit 3' -- sh -c "$(long s)"
	wait_file "$PIDS/stopper"
	local p st i
	p=$(pid_of stopper)
	for ((i = 0; i < 500; i++)); do
		st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$p/stat")
		[ "$st" = T ] && break
		sleep 0.02
	done
	assert_equal "$st" T
	# s is still running: a stop is not a failure.
	pid_alive "$(pid_of s)"
	kill -CONT "$p"
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(rj '[r["commands"][0][k] for k in ("state", "exit_code", "signal")]')" '["failed", 3, null]'
	assert_equal "$(rj 'r["commands"][1]["state"]')" cancelled
}

@test "a stopped command is still cancelled: SIGKILL after the grace period ends it" {
	start_atb pool -g 0.5s --report "$T/r.json" -n stopper,bad \
		-- sh -c 'echo $$ >> "$PIDS/stopper"; kill -STOP $$; exit 0' -- sh -c "$(gated bad 'exit 3')"
	wait_file "$PIDS/stopper"
	local p st i
	p=$(pid_of stopper)
	for ((i = 0; i < 500; i++)); do
		st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$p/stat")
		[ "$st" = T ] && break
		sleep 0.02
	done
	ready bad
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(rj 'r["commands"][0]["state"]')" cancelled
	assert_gone stopper
}

@test "children get the open-files limit atb was given" {
	ratb pool -- sh -c 'ulimit -Sn; ulimit -Hn'
	assert_equal "$status" 0
	assert_output "$(ulimit -Sn; ulimit -Hn)"
}
