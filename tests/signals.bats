#!/usr/bin/env bats
# Signals to atb itself: SIGINT, SIGTERM, SIGHUP are forwarded to every
# group, then atb re-raises them; a second SIGINT kills at once.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}


# start_atb_fg ARGS...: like start_atb, but with SIGINT, SIGQUIT and SIGHUP
# at their defaults, as for a foreground job in a terminal (bash starts
# background jobs with SIGINT ignored; that case has a test of its own).
# apid is atb: t-exec execs it in place.
start_atb_fg() {
	"$ATB_HELPERS/t-exec" -d INT,QUIT,HUP -- "$ATB" "$@" >"$T/out" 2>"$T/err" 3>&- &
	apid=$!
	rec atb "$apid"
}

# parent_signal SIG STATUS: atb runs a tree (with a logging grandchild) and
# a process that left the group; SIG is sent to atb once everything runs.
# Checks: forwarded to each group as SIG, atb dies of it (STATUS in the
# shell), the report is printed and written, nothing is left behind.
parent_signal() {
	local sig=$1 want=$2
	mkfifo "$T/gc.ready" "$T/esc.ready"
	start_atb_fg pool -g 5s --report "$T/r.json" -n tree,escaper,plain \
		-- sh -c '"$ATB_HELPERS/t-trap" -p "$PIDS/gc" -r "$T/gc.ready" -l "$T/gc.log" -e 0 INT TERM HUP QUIT & echo $$ >> "$PIDS/tree"; exec sleep 1000' \
		-- sh -c 'setsid "$ATB_HELPERS/t-trap" -p "$PIDS/esc" -r "$T/esc.ready" -i TERM -i HUP -i INT -i QUIT & echo $$ >> "$PIDS/escaper"; exec sleep 1000' \
		-- sh -c "$(gated plain 'exec sleep 1000')"
	ready gc
	ready esc
	ready plain
	wait_file "$PIDS/tree"
	wait_file "$PIDS/escaper"
	kill -"$sig" "$apid"
	finish_atb
	assert_equal "$status" "$want"
	assert_equal "$(cat "$T/gc.log")" "$sig"
	assert_equal "$(rj 'r["outcome"]')" interrupted
	assert_equal "$(rj 'r["exit_status"]')" "$want"
	assert_equal "$(states)" '[["tree", "cancelled"], ["escaper", "cancelled"], ["plain", "cancelled"]]'
	assert_equal "$(rj '[c["signal"] for c in r["commands"]]')" "[\"SIG$sig\", \"SIG$sig\", \"SIG$sig\"]"
	stderr_has "cancelled (SIG$sig)"
	assert_gone gc tree esc escaper plain
}

# t_exec_atb T-EXEC-OPTIONS... -- ATB-ARGS...: atb started through
# t-exec -w in the background; atb's pid goes to $T/atb.pid (and to teardown),
# t-exec's verdict ("signaled N" or "exited N") to $T/verdict.
t_exec_atb() {
	rm -f "$T/atb.pid"
	"$ATB_HELPERS/t-exec" -w "$T/atb.pid" "$@" >"$T/verdict" 2>"$T/err" 3>&- &
	tpid=$!
	rec texec "$tpid"
	wait_file "$T/atb.pid"
	rec atb "$(cat "$T/atb.pid")"
}
finish_t_exec() {
	wait_gone "$tpid" 15 || { echo "# atb did not exit" >&2; return 1; }
	wait "$tpid"
	cat "$T/err" >&2
	verdict=$(cat "$T/verdict")
}

@test "SIGINT to atb: forwarded to every group, report printed, nothing left, atb dies of SIGINT (130)" {
	parent_signal INT 130
}

@test "SIGTERM to atb: forwarded to every group, report printed, nothing left, atb dies of SIGTERM (143)" {
	parent_signal TERM 143
}

@test "SIGHUP to atb: forwarded to every group, report printed, nothing left, atb dies of SIGHUP (129)" {
	parent_signal HUP 129
}

@test "SIGQUIT to atb (Ctrl-\\ reaches atb alone): forwarded to every group, reported, nothing left, atb dies of it (131), no core" {
	parent_signal QUIT 131
	# Dying of a signal it was sent is not a crash: no core file.
	run ls "$T"
	refute_output --partial core
	wait_unmarked 10
}

@test "parent cancellation re-raises the signal: atb is killed by it, not exiting with 128+N" {
	local sig num
	for sig in INT:2 TERM:15 HUP:1; do
		num=${sig#*:}
		sig=${sig%:*}
		rm -f "$T/c.ready" "$T/c.go" "$PIDS/c"
		t_exec_atb -d INT,TERM,HUP -- "$ATB" pool -g 5s -- sh -c "$(gated c 'exit 0')"
		ready c
		kill -"$sig" "$(cat "$T/atb.pid")"
		finish_t_exec
		assert_equal "$verdict" "signaled $num"
		assert_gone c
	done
}

@test "SIGINT ignored on entry (a script's background job, nohup) stays ignored; SIGTERM still cancels" {
	start_atb pool -g 5s --report "$T/r.json" -- sh -c "$(gated c 'exec sleep 1000')"
	ready c
	kill -INT "$apid"
	# atb handles SIGTERM, so once it has, the SIGINT sent before it was
	# seen (and ignored): the run is cancelled by SIGTERM, not SIGINT.
	kill -TERM "$apid"
	finish_atb
	assert_equal "$status" 143
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGTERM
	assert_gone c
}

@test "SIGTERM works although atb was started with SIGINT, SIGTERM and SIGHUP ignored; the command gets SIGTERM" {
	t_exec_atb -i INT,TERM,HUP -- "$ATB" pool -g 5s --report "$T/r.json" \
		-- sh -c "$(gated c 'exec sleep 1000')"
	ready c
	kill -TERM "$(cat "$T/atb.pid")"
	finish_t_exec
	assert_equal "$verdict" "signaled 15"
	# The command died of SIGTERM: the SIG_IGN atb was given was not inherited.
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGTERM
	assert_gone c
}

@test "SIGTERM works although atb was started with SIGINT, SIGTERM and SIGHUP blocked" {
	t_exec_atb -b INT,TERM,HUP -- "$ATB" pool -g 5s --report "$T/r.json" \
		-- sh -c "$(gated c 'exec sleep 1000')"
	ready c
	kill -TERM "$(cat "$T/atb.pid")"
	finish_t_exec
	assert_equal "$verdict" "signaled 15"
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGTERM
	assert_gone c
}

@test "a second SIGINT during the grace period sends SIGKILL at once" {
	mkfifo "$T/stub.ready"
	# The grace period is far longer than the time limit on this test.
	start_atb_fg pool -g 60s --report "$T/r.json" -n stub \
		-- "$ATB_HELPERS/t-trap" -p "$PIDS/stub" -r "$T/stub.ready" -l "$T/stub.log" INT TERM
	ready stub
	kill -INT "$apid"
	wait_file "$T/stub.log"
	# A signal counts as a second one only 0.1 s or more after the first
	# (README: one cancel can arrive twice at once, from timeout(1) say).
	sleep 0.3
	kill -INT "$apid"
	finish_atb
	assert_equal "$status" 130
	assert_equal "$(cat "$T/stub.log")" INT
	assert_equal "$(rj 'r["commands"][0]["state"]')" cancelled
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGKILL
	assert_gone stub
}

@test "each group gets exactly one graceful signal: SIGTERM to atb during a fail-fast grace period sends no second one" {
	mkfifo "$T/stub.ready"
	start_atb_fg pool -g 1s --report "$T/r.json" -n stub,bad \
		-- "$ATB_HELPERS/t-trap" -p "$PIDS/stub" -r "$T/stub.ready" -l "$T/stub.log" INT TERM \
		-- sh -c "$(gated bad 'exit 3')"
	ready stub
	ready bad
	go bad
	wait_file "$T/stub.log"
	kill -TERM "$apid"
	finish_atb
	assert_equal "$(cat "$T/stub.log")" TERM
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGKILL
	assert_equal "$status" 143
	assert_gone stub
}

@test "each group gets exactly one graceful signal: SIGINT to atb after the -t deadline sends no second one" {
	mkfifo "$T/stub.ready"
	start_atb_fg pool -t 2s -g 1s --report "$T/r.json" -n stub \
		-- "$ATB_HELPERS/t-trap" -p "$PIDS/stub" -r "$T/stub.ready" -l "$T/stub.log" INT TERM
	ready stub
	wait_file "$T/stub.log"
	kill -INT "$apid"
	finish_atb
	# A single SIGINT is not a second one; only a repeated SIGINT kills at once.
	assert_equal "$(cat "$T/stub.log")" TERM
	assert_gone stub
}

# every_signal SIG SENT: a run of one gated command with a grandchild in
# its group and another in a session of its own; SIG to atb cancels it
# with SENT, the report is written (outcome interrupted), atb dies of SIG,
# and nothing that carries the test's mark is left.
every_signal() {
	local sig=$1 sent=$2 num
	num=$(kill -l "$sig")
	rm -f "$T/c.ready" "$T/c.go" "$PIDS/c" "$T/r.json"
	start_atb_fg pool -g 5s --report "$T/r.json" \
		-- sh -c "sleep 1000 & setsid sleep 1000 & $(gated c 'exec sleep 1000')"
	ready c
	kill -"$sig" "$apid"
	finish_atb
	assert_equal "$status" $((128 + num))
	assert_equal "$(rj 'r["outcome"]')" interrupted
	assert_equal "$(rj 'r["exit_status"]')" $((128 + num))
	assert_equal "$(rj 'r["commands"][0]["signal"]')" "SIG$sent"
	assert_gone c
	wait_unmarked 10
}

@test "every signal that would end atb is caught: the run is cancelled and reported, then atb dies of it" {
	# QUIT, USR1 and USR2 reach the commands as themselves (as timeout(1)
	# forwards them); timers, limits and the rest stop them as SIGTERM.
	local pair
	for pair in QUIT:QUIT USR1:USR1 USR2:USR2 ALRM:TERM XCPU:TERM XFSZ:TERM VTALRM:TERM \
		PROF:TERM PWR:TERM IO:TERM RTMIN+1:TERM; do
		every_signal "${pair%%:*}" "${pair#*:}"
	done
}

@test "a signal that comes before the run starts still gets a report and the right status" {
	# atb keeps the signals it catches blocked from before main(); one that
	# is already pending when atb starts (sent by the shell to itself, with
	# TERM blocked, just before it execs atb) is read by the run before it
	# starts anything.
	cat >"$T/early.sh" <<-'SH'
	kill -TERM $$
	exec "$1" pool --report "$T/r.json" -- sh -c 'echo started >"$T/started"'
	SH
	t_exec_atb -d INT,QUIT,HUP -b TERM -- sh "$T/early.sh" "$ATB"
	finish_t_exec
	assert_equal "$verdict" "signaled 15"
	assert_equal "$(rj 'r["outcome"]')" interrupted
	assert_equal "$(rj 'r["commands"][0]["state"]')" not_started
	[ ! -e "$T/started" ]
}

# many ARGS...: prints "-- ARGS" N times (without the first "--"), for
# thousands of commands on one command line.
many() {
	local n=$1 i out=()
	shift
	for ((i = 0; i < n; i++)); do out+=(-- "$@"); done
	printf '%s\n' "${out[@]:1}"
}

@test "thousands of commands without -j: race picks the real winner, the first to end" {
	# Starting yields to the loop in batches: an end that comes while the
	# rest are still being started is seen, and nothing starts after it.
	local args
	mapfile -t args < <(many 5000 true)
	ratb race -t 60s --report "$T/r.json" "${args[@]}"
	assert_equal "$status" 0
	assert_equal "$(rj 'r["outcome"]')" succeeded
	[ "$(rj 'r["winner"]')" != null ]
	[ "$(rj 'sum(c["state"] == "not_started" for c in r["commands"])')" -gt 0 ]
}

@test "thousands of commands without -j: a signal is acted on at once, nothing starts after it" {
	local args t0 t1
	mapfile -t args < <(many 5000 sleep 1000)
	mkfifo "$T/first.ready" "$T/first.go"
	start_atb_fg pool -g 5s --report "$T/r.json" -- sh -c "$(gated first 'exec sleep 1000')" -- "${args[@]}"
	ready first
	t0=$(date +%s%N)
	kill -TERM "$apid"
	finish_atb
	t1=$(date +%s%N)
	assert_equal "$status" 143
	# Acted on at once: before the yielding start it took half a minute.
	[ $(((t1 - t0) / 1000000)) -lt 10000 ]
	# Whatever had started was cancelled; the rest never started.
	assert_equal "$(rj 'sorted(set(c["state"] for c in r["commands"]))')" '["cancelled", "not_started"]'
}

@test "thousands of commands without -j: -t fires on time, nothing starts after it" {
	local args
	mapfile -t args < <(many 5000 sleep 1000)
	mkfifo "$T/first.ready" "$T/first.go"
	local t0 t1
	t0=$(date +%s%N)
	start_atb_fg pool -t 1s -g 5s --report "$T/r.json" -- sh -c "$(gated first 'exec sleep 1000')" -- "${args[@]}"
	ready first
	finish_atb
	t1=$(date +%s%N)
	assert_equal "$status" 124
	# On time: before the yielding start the deadline came only once every
	# command had started, 7 to 25 seconds in.
	[ $(((t1 - t0) / 1000000)) -lt 10000 ]
	assert_equal "$(rj 'r["outcome"]')" timed_out
	# The deadline was kept while commands were still being started: the
	# rest never started, and whatever had started was cancelled.
	assert_equal "$(rj 'sorted(set(c["state"] for c in r["commands"]) - {"not_started"})')" '["cancelled"]'
	wait_unmarked 10
}
