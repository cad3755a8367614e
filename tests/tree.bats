#!/usr/bin/env bats
# Process trees: grandchildren, leftovers after the leader exits, processes
# that left the group, the child subreaper: nothing is left behind.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}


# ppid_of PID: the parent pid of PID.
ppid_of() {
	awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$1/stat"
}

# tree_cmd NAME: prints a shell command of two processes in one group, like
# `sh -c 'sleep 1000 & sleep 1000'`; both pids go to $PIDS/NAME, then it
# says ready on $T/NAME.ready (created here).
tree_cmd() {
	mkfifo "$T/$1.ready"
	printf 'sleep 1000 & echo $! >> "$PIDS/%s"; echo $$ >> "$PIDS/%s"; echo r > "$T/%s.ready"; exec sleep 1000' "$1" "$1" "$1"
}

@test "cancel reaches grandchildren: the whole group of a cancelled command gets the signal" {
	mkfifo "$T/gc.ready"
	start_atb pool -g 5s --report "$T/r.json" -n parent,bad \
		-- sh -c '"$ATB_HELPERS/t-trap" -p "$PIDS/gc" -r "$T/gc.ready" -l "$T/gc.log" -e 0 TERM & echo $$ >> "$PIDS/parent"; exec sleep 1000' \
		-- sh -c "$(gated bad 'exit 3')"
	ready gc
	ready bad
	wait_file "$PIDS/parent"
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(cat "$T/gc.log")" TERM
	assert_equal "$(states)" '[["parent", "cancelled"], ["bad", "failed"]]'
	assert_gone gc parent
}

@test "nothing left behind (failure path): a cancelled \`sh -c 'sleep 1000 & sleep 1000'\` leaves no process" {
	start_atb pool -g 5s -n t1,t2,bad \
		-- sh -c "$(tree_cmd t1)" -- sh -c "$(tree_cmd t2)" -- sh -c "$(gated bad 'exit 3')"
	ready t1
	ready t2
	ready bad
	go bad
	finish_atb
	assert_equal "$status" 3
	assert_equal "$(wc -l <"$PIDS/t1")" 2
	assert_gone t1 t2
}

@test "nothing left behind (failure path): the failed command's own background child is gone" {
	ratb pool -g 5s --report "$T/r.json" -- sh -c 'sleep 1000 & echo $! >> "$PIDS/bg"; exit 3'
	assert_equal "$status" 3
	assert_equal "$(rj 'r["commands"][0]["state"]')" failed
	assert_gone bg
}

@test "nothing left behind (success path): leader exits 0 with a member still running -> succeeded, member gone" {
	ratb pool -g 5s --report "$T/r.json" -n lead,other \
		-- sh -c 'sleep 1000 & echo $! >> "$PIDS/bg"; exit 0' -- true
	assert_equal "$status" 0
	assert_equal "$(states)" '[["lead", "succeeded"], ["other", "succeeded"]]'
	assert_equal "$(rj 'r["outcome"]')" succeeded
	assert_gone bg
}

@test "nothing left behind (success path): a double-forked orphan in the group is gone too" {
	ratb wait-all -g 5s -- sh -c '(sleep 1000 & echo $! >> "$PIDS/orphan"); exit 0'
	assert_equal "$status" 0
	[ -s "$PIDS/orphan" ]
	assert_gone orphan
}

@test "leftover members of a group whose leader exited get the cancel signal (-s USR1), and are awaited" {
	mkfifo "$T/bg.ready" "$T/lead.go"
	start_atb pool -s USR1 -g 5s --report "$T/r.json" -n lead \
		-- sh -c '"$ATB_HELPERS/t-trap" -p "$PIDS/bg" -r "$T/bg.ready" -l "$T/bg.log" -e 0 USR1 TERM & echo $$ >> "$PIDS/lead"; read x < "$T/lead.go"; exit 0'
	ready bg
	go lead
	finish_atb
	assert_equal "$status" 0
	assert_equal "$(rj 'r["commands"][0]["state"]')" succeeded
	assert_equal "$(cat "$T/bg.log")" USR1
	assert_gone bg lead
}

@test "leftover members that ignore the cancel signal are SIGKILLed after the grace period; the leader's status decides" {
	mkfifo "$T/bg.ready" "$T/lead.go"
	start_atb pool -g 0.5s --report "$T/r.json" -n lead \
		-- sh -c '"$ATB_HELPERS/t-trap" -p "$PIDS/bg" -r "$T/bg.ready" -i TERM & echo $$ >> "$PIDS/lead"; read x < "$T/lead.go"; exit 0'
	ready bg
	go lead
	finish_atb
	assert_equal "$status" 0
	assert_equal "$(rj 'r["commands"][0]["state"]')" succeeded
	if [[ $(rj '"killed" in r["commands"][0]') == true ]]; then
		assert_equal "$(rj 'r["commands"][0]["killed"]')" true
	fi
	assert_gone bg
}

@test "nothing left behind (timeout path): -t kills trees and processes that left the group" {
	# No readiness handshake: the deadline may come at any point of their
	# start; whatever has started must be gone when atb exits.
	ratb pool -t 2s -g 0.5s --report "$T/r.json" -n t,escaper \
		-- sh -c 'sleep 1000 & echo $! >> "$PIDS/t"; echo $$ >> "$PIDS/t"; exec sleep 1000' \
		-- sh -c 'setsid "$ATB_HELPERS/t-trap" -p "$PIDS/esc" -i TERM -i HUP -i INT & exec sleep 1000'
	assert_equal "$status" 124
	[ -s "$PIDS/t" ]
	[ -s "$PIDS/esc" ]
	assert_gone t esc
}

@test "subreaper: an orphan that left its group (setsid) is reparented to atb, and SIGKILLed when the run ends" {
	mkfifo "$T/esc.ready"
	# escaper exits only once esc has left the group: before that, esc would
	# be a leftover member of escaper's group and get the cancel signal.
	start_atb pool -g 5s --report "$T/r.json" -n escaper,keep \
		-- sh -c 'setsid "$ATB_HELPERS/t-trap" -p "$PIDS/esc" -r "$T/esc.ready" -i TERM -i HUP -i INT & '"$(gated escaper 'exit 0')" \
		-- sh -c "$(gated keep 'exit 0')"
	ready esc
	ready escaper
	ready keep
	go escaper
	wait_reaped "$(pid_of escaper)"
	# Its parent has exited: the child subreaper, atb, is its parent now.
	assert_equal "$(ppid_of "$(pid_of esc)")" "$apid"
	[ "$(ps -o sid= -p "$(pid_of esc)" | tr -d ' ')" = "$(pid_of esc)" ]
	go keep
	finish_atb
	assert_equal "$status" 0
	assert_equal "$(states)" '[["escaper", "succeeded"], ["keep", "succeeded"]]'
	assert_gone esc
}

@test "nothing left behind (failure path): a process that left the group is SIGKILLed when the run ends" {
	mkfifo "$T/esc.ready" "$T/esc.go"
	start_atb pool -g 0.5s -- sh -c 'setsid "$ATB_HELPERS/t-trap" -p "$PIDS/esc" -r "$T/esc.ready" -i TERM -i HUP -i INT & read x < "$T/esc.go"; exit 3'
	ready esc
	go esc
	finish_atb
	assert_equal "$status" 3
	assert_gone esc
}
