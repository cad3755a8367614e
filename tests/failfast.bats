#!/usr/bin/env bats
# Fail-fast cancellation: who gets which signal, the grace period and
# SIGKILL, the cancelled state, several failures at once.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}


# trap_ready NAME: creates the fifo $T/NAME.ready for t_trap NAME.
trap_ready() {
	mkfifo "$T/$1.ready"
}
# t_trap NAME ARGS...: prints, to be split into words, a t-trap command that
# records its pid in $PIDS/NAME and says ready on $T/NAME.ready once its
# dispositions are in place (paths must not contain spaces).
t_trap() {
	local name=$1
	shift
	echo "$ATB_HELPERS/t-trap -p $PIDS/$name -r $T/$name.ready $*"
}

# now: seconds since the epoch, with a fraction.
now() { date +%s.%N; }
# at_least A B: A >= B (floating point).
at_least() {
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2" ||
		{ echo "# $1 < $2" >&2; return 1; }
}

@test "pool: the cancel signal goes to every other command (state cancelled, signal SIGTERM, 'cancelled (SIGTERM)')" {
	start_atb pool -g 5s --report "$T/r.json" -n victim,bad \
		-- sh -c "$(long victim)" -- sh -c "$(gated bad 'exit 3')"
	ready bad
	wait_file "$PIDS/victim"
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(states)" '[["victim", "cancelled"], ["bad", "failed"]]'
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGTERM
	stderr_has "cancelled (SIGTERM)"
	stderr_has "exit 3"
	assert_gone victim
}

@test "pool: a command atb signalled is cancelled however it then ends (exit 0 or exit 1 on SIGTERM)" {
	trap_ready zero
	trap_ready one
	start_atb pool -g 5s --report "$T/r.json" -n zero,one,bad \
		-- $(t_trap zero -e 0 TERM) -- $(t_trap one -e 1 TERM) \
		-- sh -c "$(gated bad 'exit 3')"
	ready zero
	ready one
	ready bad
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(states)" '[["zero", "cancelled"], ["one", "cancelled"], ["bad", "failed"]]'
	assert_equal "$(rj '[c["exit_code"] for c in r["commands"]]')" '[0, 1, 3]'
	assert_equal "$(rj 'r["exit_status"]')" 3
	if [[ $(rj '"killed" in r["commands"][0]') == true ]]; then
		assert_equal "$(rj '[c["killed"] for c in r["commands"]]')" '[false, false, false]'
	fi
	[[ $stderr != *"killed after"* ]]
}

@test "-s SIG: the cancel signal can be given as USR1, SIGUSR1, 10, HUP; TERM, SIGTERM and 15 all mean SIGTERM" {
	local spec opt sig want
	for spec in -s:USR1:SIGUSR1 -s:SIGUSR1:SIGUSR1 -s:10:SIGUSR1 --signal:HUP:SIGHUP \
		-s:TERM:SIGTERM -s:SIGTERM:SIGTERM --signal:15:SIGTERM; do
		IFS=: read -r opt sig want <<<"$spec"
		rm -f "$PIDS/s"
		ratb pool "$opt" "$sig" -g 5s --report "$T/r.json" -n s,bad \
			-- sh -c "$(long s)" -- sh -c 'exit 3'
		assert_equal "$status" 3
		assert_equal "$(rj 'r["commands"][0]["state"]')" cancelled
		assert_equal "$(rj 'r["commands"][0]["signal"]')" "$want"
		stderr_has "cancelled ($want)"
	done
}

@test "-s USR1: the command itself receives SIGUSR1 (and no SIGTERM)" {
	trap_ready c
	start_atb pool -s USR1 -g 5s --report "$T/r.json" -n c,bad \
		-- $(t_trap c -l "$T/log" -e 0 USR1 TERM) -- sh -c "$(gated bad 'exit 3')"
	ready c
	ready bad
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(cat "$T/log")" USR1
	assert_equal "$(rj 'r["commands"][0]["state"]')" cancelled
}

@test "-g: a command that ignores the cancel signal gets SIGKILL after the grace period ('killed after')" {
	trap_ready stub
	start_atb pool -g 0.5s --report "$T/r.json" -n stub,bad \
		-- $(t_trap stub -i TERM) -- sh -c "$(gated bad 'exit 3')"
	ready stub
	ready bad
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(states)" '[["stub", "cancelled"], ["bad", "failed"]]'
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGKILL
	if [[ $(rj '"killed" in r["commands"][0]') == true ]]; then
		assert_equal "$(rj '[c["killed"] for c in r["commands"]]')" '[true, false]'
	fi
	stderr_has "killed after"
	assert_gone stub
}

@test "-g 6s: SIGKILL is not sent before the grace period has passed" {
	trap_ready stub
	start_atb pool -g 6s --report "$T/r.json" -n stub,bad \
		-- $(t_trap stub -i TERM) -- sh -c "$(gated bad 'exit 3')"
	ready stub
	ready bad
	local t0
	t0=$(now)
	go bad
	finish_atb
	at_least "$(python3 -c "print($(now) - $t0)")" 5.9
	at_least "$(rj 'r["duration_s"]')" 5.9
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGKILL
}

@test "default grace is 5s: a TERM-ignoring command is killed no sooner" {
	trap_ready stub
	start_atb pool --report "$T/r.json" -n stub,bad \
		-- $(t_trap stub -i TERM) -- sh -c "$(gated bad 'exit 3')"
	ready stub
	ready bad
	local t0
	t0=$(now)
	go bad
	finish_atb
	at_least "$(python3 -c "print($(now) - $t0)")" 4.9
	assert_equal "$status" 3
	assert_equal "$(rj 'r["commands"][0]["signal"]')" SIGKILL
	assert_gone stub
}

@test "cancel follows the group: a leader that exits on SIGTERM while its child ignores it -> the child is SIGKILLed after the grace" {
	mkfifo "$T/kid.ready"
	start_atb pool -g 0.5s --report "$T/r.json" -n tree,bad \
		-- sh -c '"$ATB_HELPERS/t-trap" -p "$PIDS/kid" -r "$T/kid.ready" -i TERM & echo $$ >> "$PIDS/leader"; wait' \
		-- sh -c "$(gated bad 'exit 3')"
	ready kid
	ready bad
	wait_file "$PIDS/leader"
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(states)" '[["tree", "cancelled"], ["bad", "failed"]]'
	if [[ $(rj '"killed" in r["commands"][0]') == true ]]; then
		assert_equal "$(rj 'r["commands"][0]["killed"]')" true
	fi
	assert_gone kid leader
}

@test "pool: commands that fail at nearly the same moment are all reported as failed, none as cancelled" {
	# atb is stopped while a and b both exit, so both have failed on their
	# own before atb can send anything; when it resumes, neither may be
	# reported as cancelled (whatever order it collects them in).
	start_atb pool -g 5s --report "$T/r.json" -n a,b,s \
		-- sh -c "$(gated a 'exit 3')" -- sh -c "$(gated b 'exit 4')" -- sh -c "$(long s)"
	ready a
	ready b
	wait_file "$PIDS/s"
	kill -STOP "$apid"
	go a
	go b
	local p st i
	for p in "$(pid_of a)" "$(pid_of b)"; do
		for ((i = 0; i < 500; i++)); do
			st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$p/stat")
			[ "$st" = Z ] && break
			sleep 0.02
		done
		assert_equal "$st" Z
	done
	kill -CONT "$apid"
	finish_atb
	[[ $status == 3 || $status == 4 ]]
	assert_equal "$(states)" '[["a", "failed"], ["b", "failed"], ["s", "cancelled"]]'
	assert_equal "$(rj '[c["exit_code"] for c in r["commands"]]')" '[3, 4, null]'
	stderr_has "exit 3"
	stderr_has "exit 4"
	assert_gone s
}

@test "pool: a failure while another command is queued behind -j, and one already cancelled, still waits for all" {
	trap_ready stub
	start_atb pool -j 2 -g 0.5s --report "$T/r.json" -n stub,bad,queued \
		-- $(t_trap stub -i TERM) -- sh -c "$(gated bad 'exit 3')" -- sh -c 'touch "$T/queued"'
	ready stub
	ready bad
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(states)" '[["stub", "cancelled"], ["bad", "failed"], ["queued", "not_started"]]'
	[ ! -e "$T/queued" ]
	assert_gone stub
}
