#!/usr/bin/env bats
# atb latch: set, unset, wait-set, wait-unset, status; names, paths and safe
# latch folders; timeouts, --any, --poll, signals; the seed loop example.
#
# A waiter started in the background may or may not be watching yet when
# the test changes a latch: every test is written so that the outcome is the
# same either way (latches are levels, not events). Where a test wants to
# see a waiter still blocked, or to signal it, it first waits until the
# waiter has its signal handlers in place (wait_ready), which it does just
# before it starts watching, and then checks with pid_alive.

load helpers/common

setup() {
	common_setup
	export ATB_LATCH_DIR=$T/latch
	unset XDG_RUNTIME_DIR
	L=$ATB_LATCH_DIR
}

# --- local helpers ---

# ratb ARGS...: atb (time-bounded), stdout and stderr in files; sets status,
# output (stdout) and stderr.
ratb() {
	status=0
	atb "$@" >"$T/out" 2>"$T/err" 3>&- || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	printf '# atb %s\n# status %s\n# stdout: %s\n# stderr: %s\n' "$*" "$status" "$output" "$stderr" >&2
}

# start_bg NAME ARGS...: atb ARGS in the background (atb itself, so $pid is
# its pid; teardown kills it), output in $T/NAME.out and $T/NAME.err.
start_bg() {
	local name=$1
	shift
	"$ATB" "$@" >"$T/$name.out" 2>"$T/$name.err" 3>&- &
	pid=$!
	rec "$name" "$pid"
}

# finish_bg NAME PID: waits (bounded) for a background atb to end; sets
# status, output and stderr.
finish_bg() {
	wait_gone "$2" "$T_LIMIT" || { echo "# $1 ($2) did not exit" >&2; return 1; }
	status=0
	wait "$2" || status=$?
	output=$(cat "$T/$1.out")
	stderr=$(cat "$T/$1.err")
	printf '# %s: status %s\n# stdout: %s\n# stderr: %s\n' "$1" "$status" "$output" "$stderr" >&2
}

# wait_ready PID: waits (20 ms steps, bounded) until PID takes SIGTERM in
# hand, as the SigBlk line of /proc/PID/status shows: a wait blocks the
# signals it reads from its signalfd just before it places its watches and
# first looks at the latches.
wait_ready() {
	local i blocked
	for ((i = 0; i < 500; i++)); do
		blocked=$(awk '/^SigBlk:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
		# TERM blocked, but not USR1: atb blocks every signal it catches
		# before main() and unblocks them for the latch commands, whose
		# wait then blocks only INT and TERM. Only atb's mask counts: a
		# launcher that execs it (a pyenv shim is a bash script) may
		# block TERM for a moment too.
		[ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$ATB")" ] &&
			[ -n "$blocked" ] && [ $((0x$blocked & 0x4000)) -ne 0 ] &&
			[ $((0x$blocked & 0x200)) -eq 0 ] && return 0
		pid_alive "$1" || return 1
		sleep 0.02
	done
	return 1
}

# now_ms: monotonic enough for durations measured in tenths of seconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# --- set, unset, status ---

@test "set makes a file holding one JSON line with pid and time" {
	ratb latch set build
	assert_equal "$status" 0
	assert_equal "$output" ""
	[ -f "$L/build" ]
	[ "$(wc -l <"$L/build")" -eq 1 ]
	python3 - "$L/build" <<'EOF'
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
d = json.loads(lines[0])
assert isinstance(d["pid"], int) and d["pid"] > 1, d
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["time"]), d
EOF
	# Nothing else is left in the folder: the temporary file was renamed.
	run ls -A "$L"
	assert_output build
}

@test "set and unset are idempotent" {
	ratb latch set a
	assert_equal "$status" 0
	ratb latch set a
	assert_equal "$status" 0
	[ -f "$L/a" ]
	ratb latch unset a
	assert_equal "$status" 0
	[ ! -e "$L/a" ]
	ratb latch unset a
	assert_equal "$status" 0
	ratb latch unset never-set
	assert_equal "$status" 0
}

@test "set and unset take several names" {
	ratb latch set a b c
	assert_equal "$status" 0
	[ -f "$L/a" ]
	[ -f "$L/b" ]
	[ -f "$L/c" ]
	ratb latch unset a c
	assert_equal "$status" 0
	[ ! -e "$L/a" ]
	[ -f "$L/b" ]
	[ ! -e "$L/c" ]
}

@test "status prints set or unset and exits 0 or 1, like test -e" {
	ratb latch status a
	assert_equal "$status" 1
	assert_equal "$output" unset
	ratb latch set a
	ratb latch status a
	assert_equal "$status" 0
	assert_equal "$output" set
	# Several names: one line each, in order; 0 only when all are set.
	ratb latch status a b
	assert_equal "$status" 1
	assert_equal "$output" $'set\nunset'
	ratb latch set b
	ratb latch status b a
	assert_equal "$status" 0
	assert_equal "$output" $'set\nset'
}

# --- waiting ---

@test "wait-set and wait-unset return at once when the state holds" {
	# -t 0 allows a single look: only a state that already holds passes.
	ratb latch wait-unset -t 0 a
	assert_equal "$status" 0
	ratb latch wait-set -t 0 a
	assert_equal "$status" 124
	ratb latch set a
	ratb latch wait-set -t 0 a
	assert_equal "$status" 0
	assert_equal "$output" ""
	ratb latch wait-unset -t 0 a
	assert_equal "$status" 124
}

@test "wait-set blocks until another process sets the latch" {
	start_bg w latch wait-set a
	wait_ready "$pid"
	# Another latch changing does not wake it for good.
	atb latch set other
	pid_alive "$pid"
	atb latch set a
	finish_bg w "$pid"
	assert_equal "$status" 0
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "wait-unset blocks until another process unsets the latch" {
	atb latch set a
	start_bg w latch wait-unset a
	wait_ready "$pid"
	# Setting it again (a rename over it) keeps it set: still waiting.
	atb latch set a
	pid_alive "$pid"
	atb latch unset a
	finish_bg w "$pid"
	assert_equal "$status" 0
}

@test "with several names, waits until all hold" {
	start_bg w latch wait-set a b c
	wait_ready "$pid"
	atb latch set b
	atb latch set a
	pid_alive "$pid"
	atb latch set c
	finish_bg w "$pid"
	assert_equal "$status" 0
	assert_equal "$output" ""
}

@test "--any waits for one and prints its name" {
	start_bg w latch wait-set --any a b c
	wait_ready "$pid"
	atb latch set b
	finish_bg w "$pid"
	assert_equal "$status" 0
	assert_equal "$output" b
	# wait-unset --any: a holds already.
	ratb latch wait-unset --any b a
	assert_equal "$status" 0
	assert_equal "$output" a
}

@test "-t and --timeout end a wait with 124" {
	local t0 t1
	t0=$(now_ms)
	ratb latch wait-set -t 300ms a
	t1=$(now_ms)
	assert_equal "$status" 124
	assert_output ""
	[[ "$stderr" == *"latch wait-set: timed out"* ]]
	[ $((t1 - t0)) -ge 300 ]
	ratb latch wait-set --timeout=0.1s a
	assert_equal "$status" 124
	ratb latch wait-set --timeout 100ms a b
	assert_equal "$status" 124
	ratb latch wait-set -t100ms a
	assert_equal "$status" 124
	# A set before the limit wins.
	start_bg w latch wait-set -t 20s a
	atb latch set a
	finish_bg w "$pid"
	assert_equal "$status" 0
}

@test "--poll waits by polling" {
	start_bg w latch wait-set --poll 20ms a
	atb latch set a
	finish_bg w "$pid"
	assert_equal "$status" 0
	ratb latch wait-unset --poll=10ms -t 5s b c
	assert_equal "$status" 0
	start_bg w2 latch wait-unset --poll 10ms a
	atb latch unset a
	finish_bg w2 "$pid"
	assert_equal "$status" 0
	# A poll that sees nothing still times out.
	ratb latch wait-set --poll 10ms -t 100ms a
	assert_equal "$status" 124
}

@test "a latch whose folder appears later is still seen" {
	start_bg w latch wait-set "$T/later/x"
	mkdir "$T/later"
	atb latch set "$T/later/x"
	finish_bg w "$pid"
	assert_equal "$status" 0
}

@test "SIGTERM ends a wait as killed by SIGTERM (143), quietly" {
	start_bg w latch wait-set a
	wait_ready "$pid"
	kill -TERM "$pid"
	finish_bg w "$pid"
	assert_equal "$status" 143
	assert_equal "$stderr" ""
	[ ! -e "$L/a" ]
}

@test "SIGINT ends a wait as killed by SIGINT (130)" {
	# A background job of a non-interactive shell starts with SIGINT
	# ignored; give atb the default action, as a terminal would.
	atb latch set a x
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$ATB" latch wait-unset --any x a >"$T/w.out" 2>"$T/w.err" 3>&- &
	pid=$!
	rec w "$pid"
	wait_ready "$pid"
	kill -INT "$pid"
	finish_bg w "$pid"
	assert_equal "$status" 130
	assert_equal "$stderr" ""
}

@test "a SIGINT ignored on entry stays ignored" {
	start_bg w latch wait-set a
	wait_ready "$pid"
	# The shell started it with SIGINT ignored (SigIgn has bit 2).
	local ign
	ign=$(awk '/^SigIgn:/ { print $2 }' "/proc/$pid/status")
	[ $((0x$ign & 2)) -ne 0 ]
	kill -INT "$pid"
	atb latch set a
	finish_bg w "$pid"
	assert_equal "$status" 0
}

@test "seed: a loop sees set, then unset, then set again, in order" {
	mkfifo "$T/ack"
	# The loop waits for each state in turn and acknowledges what it saw.
	(
		for want in set unset set; do
			"$ATB" latch "wait-$want" go 3>&- &
			rec loop $!
			wait $! || exit 1
			echo "$want" >>"$T/seen"
			echo "$want" >"$T/ack"
		done
	) 3>&- &
	rec loop $!
	local loop=$! line
	# The driver changes the latch only after the loop has seen the last
	# change, so every transition must be seen, and in order.
	atb latch set go
	line=$(timeout "$T_LIMIT" head -n 1 "$T/ack")
	assert_equal "$line" set
	atb latch unset go
	line=$(timeout "$T_LIMIT" head -n 1 "$T/ack")
	assert_equal "$line" unset
	atb latch set go
	line=$(timeout "$T_LIMIT" head -n 1 "$T/ack")
	assert_equal "$line" set
	wait_gone "$loop" "$T_LIMIT"
	run cat "$T/seen"
	assert_output $'set\nunset\nset'
}

# --- names and paths ---

@test "bad names are refused with 125 and nothing is done" {
	local long129 name
	long129=$(printf 'x%.0s' {1..129})
	for name in "" .hidden . .. "a b" 'a*' $'caf\xc3\xa9' "$long129" $'a\nb'; do
		ratb latch set "$name"
		assert_equal "$status" 125
		[[ "$stderr" == *"invalid latch name"* ]]
	done
	# One bad name among good ones: none is set.
	ratb latch set good "bad name"
	assert_equal "$status" 125
	[ ! -e "$L/good" ]
	ratb latch wait-set "a b"
	assert_equal "$status" 125
	ratb latch status .x
	assert_equal "$status" 125
	# The longest name, and every allowed character.
	ratb latch set "$(printf 'y%.0s' {1..128})" A-z_0.9 -- -dash
	assert_equal "$status" 0
}

@test "a NAME with a slash is a path, used as given" {
	mkdir -m 0777 "$T/open"
	ratb latch set "$T/open/.job.done"
	assert_equal "$status" 0
	[ -f "$T/open/.job.done" ]
	[ ! -e "$L" ]
	ratb latch status "$T/open/.job.done"
	assert_equal "$status" 0
	cd "$T"
	ratb latch set ./rel
	assert_equal "$status" 0
	[ -f "$T/rel" ]
	ratb latch unset ./rel "$T/open/.job.done"
	assert_equal "$status" 0
	[ ! -e "$T/rel" ]
	[ ! -e "$T/open/.job.done" ]
	ratb latch set "$T/open/"
	assert_equal "$status" 125
	[[ "$stderr" == *"invalid latch path"* ]]
	ratb latch set "$T/missing/x"
	assert_equal "$status" 125
	[[ "$stderr" == *"No such file or directory"* ]]
	# A path latch is watched through its own folder.
	start_bg w latch wait-set "$T/open/p"
	atb latch set "$T/open/p"
	finish_bg w "$pid"
	assert_equal "$status" 0
}

@test "a symlink planted at a latch's name is never followed" {
	mkdir -p -m 0700 "$L"
	echo precious >"$T/target"
	ln -s "$T/target" "$L/a"
	ratb latch status a
	assert_equal "$status" 125
	[[ "$stderr" == *"symlink"* ]]
	ratb latch wait-set -t 5s a
	assert_equal "$status" 125
	[[ "$stderr" == *"symlink"* ]]
	# set replaces the link itself; unset removes a link, not its target.
	ratb latch set a
	assert_equal "$status" 0
	[ -f "$L/a" ]
	[ ! -L "$L/a" ]
	assert_equal "$(cat "$T/target")" precious
	ln -sf "$T/target" "$L/a"
	ratb latch unset a
	assert_equal "$status" 0
	[ ! -e "$L/a" ]
	[ ! -L "$L/a" ]
	assert_equal "$(cat "$T/target")" precious
}

# --- where latches live, safely ---

@test "the latch folder is made with mode 0700, parents too" {
	export ATB_LATCH_DIR=$T/x/y/z
	ratb latch set a
	assert_equal "$status" 0
	assert_equal "$(stat -c %a "$T/x") $(stat -c %a "$T/x/y") $(stat -c %a "$T/x/y/z")" "700 700 700"
	[ -f "$T/x/y/z/a" ]
}

@test "bare names live in \$XDG_RUNTIME_DIR/atb/latch without ATB_LATCH_DIR" {
	mkdir -m 0700 "$T/xdg"
	unset ATB_LATCH_DIR
	export XDG_RUNTIME_DIR=$T/xdg
	ratb latch set a
	assert_equal "$status" 0
	[ -f "$T/xdg/atb/latch/a" ]
	assert_equal "$(stat -c %a "$T/xdg/atb") $(stat -c %a "$T/xdg/atb/latch")" "700 700"
	# An empty ATB_LATCH_DIR counts as unset.
	ATB_LATCH_DIR= ratb latch status a
	assert_equal "$status" 0
}

@test "a run that used its scope removes the scope folders of killed runs, never a live run's" {
	mkdir -m 0700 "$T/xdg"
	unset ATB_LATCH_DIR
	export XDG_RUNTIME_DIR=$T/xdg
	mkfifo "$T/f1" "$T/f2"
	# Two runs, each setting a latch in its private folder (which makes it)
	# and reporting the folder; the first is SIGKILLed, which leaves its
	# folder behind, the second stays alive.
	"$ATB" pool -o inherit -- sh -c "echo \$\$ >>$PIDS/c1; '$ATB' latch set up; echo \$ATB_LATCH_DIR >$T/f1; exec sleep 1000" &
	local killed=$!
	rec atb1 "$killed"
	"$ATB" pool -o inherit -- sh -c "echo \$\$ >>$PIDS/c2; '$ATB' latch set up; echo \$ATB_LATCH_DIR >$T/f2; exec sleep 1000" &
	rec atb2 $!
	local dead live
	read -r -t 20 dead <"$T/f1"
	read -r -t 20 live <"$T/f2"
	[ -f "$dead/up" ]
	[ -f "$live/up" ]
	[ "$dead" != "$live" ]
	kill -KILL "$killed"
	wait "$killed" || true
	[ -d "$dead" ]
	touch -d '2 hours ago' "$dead" "$live"
	# A run that never made its own folder leaves them: it has nothing
	# to sweep after. One that used its folder sweeps.
	run atb pool -- true -- true
	assert_success
	[ -d "$dead" ]
	run atb pool -- "$ATB" latch set x
	assert_success
	[ ! -e "$dead" ]
	[ -d "$live" ]
}

@test "bare names live in /tmp/atb-UID/latch without either variable" {
	local name="bats-latch-$$-$RANDOM" dir="/tmp/atb-$(id -u)/latch"
	unset ATB_LATCH_DIR
	ratb latch set "$name"
	assert_equal "$status" 0
	[ -f "$dir/$name" ]
	assert_equal "$(stat -c %a "$dir")" 700
	ratb latch unset "$name"
	assert_equal "$status" 0
	[ ! -e "$dir/$name" ]
}

@test "a latch folder that is a symlink is refused" {
	mkdir -m 0700 "$T/real"
	ln -s "$T/real" "$T/link"
	for dir in "$T/link" "$T/link/"; do
		export ATB_LATCH_DIR=$dir
		ratb latch set a
		assert_equal "$status" 125
		assert_equal "$stderr" "atb: latch folder $T/link is a symlink; refusing to use it"
	done
	ratb latch wait-set a
	assert_equal "$status" 125
	ratb latch status a
	assert_equal "$status" 125
	[ ! -e "$T/real/a" ]
}

@test "a latch folder writable by group or others is refused" {
	local mode
	for mode in 0770 0702 0777; do
		mkdir -p "$L"
		chmod "$mode" "$L"
		ratb latch set a
		assert_equal "$status" 125
		assert_equal "$stderr" "atb: latch folder $L is writable by group or others; refusing to use it"
		[ ! -e "$L/a" ]
	done
	chmod 0755 "$L"
	ratb latch set a
	assert_equal "$status" 0
}

@test "a latch folder owned by someone else is refused" {
	if [ "$(id -u)" -eq 0 ]; then
		mkdir -m 0700 "$L"
		chown 65534 "$L"
		dir=$L
	else
		# Not root: a folder root owns will do.
		dir=/
		export ATB_LATCH_DIR=/
	fi
	ratb latch set a
	assert_equal "$status" 125
	# It says whose the folder is, and whose it should be.
	assert_equal "$stderr" "atb: latch folder $dir is owned by uid $(stat -c %u "$dir"), not by you (uid $(id -u)); refusing to use it"
}

@test "an unsafe atb folder under XDG_RUNTIME_DIR is refused too" {
	mkdir -p -m 0700 "$T/xdg/atb"
	chmod 0777 "$T/xdg/atb"
	unset ATB_LATCH_DIR
	export XDG_RUNTIME_DIR=$T/xdg
	ratb latch set a
	assert_equal "$status" 125
	# The default folder: the way out is to choose another one.
	assert_equal "$stderr" "atb: latch folder $T/xdg/atb is writable by group or others; refusing to use it (set ATB_LATCH_DIR to use another folder)"
	[ ! -e "$T/xdg/atb/latch" ]
	# A run refuses it too (it is the user's own, under XDG_RUNTIME_DIR:
	# nothing to fall back from), naming it.
	ratb pool -- true
	assert_equal "$status" 125
	[[ "$stderr" == *"latch folder $T/xdg/atb is writable by group or others"* ]]
}

# --- another user's /tmp/atb-UID ---
#
# On a shared /tmp, anyone can make /tmp/atb-UID for someone else's UID
# before they do. These tests play that: as root they make /tmp/atb-65534,
# then run atb as nobody (65534), the way a user's own shell without
# XDG_RUNTIME_DIR would. /tmp/atb-65534 is a fixed name another process on
# the machine might use: a test makes it only when it is absent, and
# teardown removes only what a test made.

NB=/tmp/atb-65534

teardown() {
	common_teardown
	[ -z "${NB_MADE:-}" ] || rm -rf -- "$NB"
	# A fallback a failed run left (a run removes its own).
	if [[ "${NB_SCOPE:-}" == /tmp/atb-65534-run-?????? ]]; then
		rm -rf -- "$NB_SCOPE"
	fi
}

# nobody_setup: skips unless root with setpriv and nobody/nogroup, and
# unless nobody can run atb and /tmp/atb-65534 is free.
nobody_setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root, to act as a second user (nobody)"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	[ "$(id -u nobody 2>/dev/null)" = 65534 ] || skip "needs user nobody with uid 65534"
	getent group nogroup >/dev/null || skip "needs group nogroup"
	as_nobody "$ATB" --version >/dev/null 2>&1 || skip "user nobody cannot run $ATB"
	if [ -e "$NB" ] || [ -L "$NB" ]; then
		skip "$NB exists already (another process may be using it)"
	fi
}

# as_nobody ARGS...: ARGS as nobody, with no latch variables and no TMPDIR.
as_nobody() {
	timeout -k 5 "$T_LIMIT" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -u ATB_LATCH_DIR -u XDG_RUNTIME_DIR -u TMPDIR "$@"
}

# nbatb ARGS...: atb as nobody; sets status, output and stderr like ratb.
nbatb() {
	status=0
	as_nobody "$ATB" "$@" >"$T/out" 2>"$T/err" 3>&- || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	printf '# nobody: atb %s\n# status %s\n# stdout: %s\n# stderr: %s\n' "$*" "$status" "$output" "$stderr" >&2
}

# The command a run as nobody gives: it sets and reads a latch in its scope
# (`atb latch` makes the folder when the run only named it), and prints the
# folder, its mode and its owner.
SCOPE_CHECK='d=$ATB_LATCH_DIR
test -n "$d" && "$1" latch set x && "$1" latch status x >/dev/null && test -d "$d" &&
test -f "$d/x" && stat -c "%n %a %u" "$d"'

# assert_fallback: a run as nobody succeeds in a fresh folder of its own in
# /tmp, which is gone when the run ends; so does `atb run`.
assert_fallback() {
	nbatb pool -o inherit -- sh -c "$SCOPE_CHECK" sh "$ATB"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	[[ "$output" =~ ^(/tmp/atb-65534-run-[A-Za-z0-9]{6})\ 700\ 65534$ ]]
	NB_SCOPE=${BASH_REMATCH[1]}
	[ ! -e "$NB_SCOPE" ]
	status=0
	echo '{"commands": [{"name": "a", "argv": ["sh", "-c", "test -d \"$ATB_LATCH_DIR\" && echo \"$ATB_LATCH_DIR\""]}]}' |
		as_nobody "$ATB" run -o inherit - >"$T/out" 2>"$T/err" 3>&- || status=$?
	assert_equal "$status" 0
	[[ "$(cat "$T/out")" =~ ^/tmp/atb-65534-run-[A-Za-z0-9]{6}$ ]]
	[ ! -e "$(cat "$T/out")" ]
}

# assert_refused WHY: `atb latch` as nobody, on the default folder, refuses
# /tmp/atb-65534 and says why, rather than use another folder.
assert_refused() {
	nbatb latch set x
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: latch folder $NB $1; refusing to use it (set ATB_LATCH_DIR to use another folder)"
	nbatb latch wait-set -t 0 x
	assert_equal "$status" 125
	[[ "$stderr" == "atb: latch folder $NB $1; "* ]]
}

@test "another user's /tmp/atb-UID: runs fall back, latch commands refuse it by name" {
	nobody_setup
	mkdir -m 0700 "$NB" || skip "$NB appeared meanwhile"
	NB_MADE=1
	assert_fallback
	assert_refused "is owned by uid 0, not by you (uid 65534)"
	# Nothing was made in it.
	[ -z "$(ls -A "$NB")" ]
	assert_equal "$(stat -c '%u %a' "$NB")" "0 700"
	# With another folder chosen, as the message says, latch commands work.
	status=0
	as_nobody sh -c 'd=$(mktemp -d) || exit 1
		ATB_LATCH_DIR=$d/l "$1" latch set x && test -f "$d/l/x"
		rc=$?; rm -r "$d"; exit $rc' sh "$ATB" || status=$?
	assert_equal "$status" 0
}

@test "a symlink at /tmp/atb-UID: runs fall back, latch commands refuse it by name" {
	nobody_setup
	mkdir -m 0755 "$T/elsewhere"
	ln -s "$T/elsewhere" "$NB" || skip "$NB appeared meanwhile"
	NB_MADE=1
	assert_fallback
	assert_refused "is a symlink"
	[ -z "$(ls -A "$T/elsewhere")" ]
}

@test "a group-writable /tmp/atb-UID: runs fall back, latch commands refuse it by name" {
	nobody_setup
	mkdir -m 0700 "$NB" || skip "$NB appeared meanwhile"
	NB_MADE=1
	chown 65534:65534 "$NB"
	chmod 0770 "$NB"
	assert_fallback
	assert_refused "is writable by group or others"
	[ -z "$(ls -A "$NB")" ]
}

@test "someone else's /tmp/atb-UID/latch: runs are unaffected, latch commands name it" {
	nobody_setup
	mkdir -m 0700 "$NB" || skip "$NB appeared meanwhile"
	NB_MADE=1
	mkdir -m 0700 "$NB/latch"
	chown 65534:65534 "$NB"
	# A run's scope is beside the latch folder, not in it.
	nbatb pool -o inherit -- sh -c "$SCOPE_CHECK" sh "$ATB"
	assert_equal "$status" 0
	[[ "$output" =~ ^(/tmp/atb-65534/run-[0-9a-f]{16})\ 700\ 65534$ ]]
	[ ! -e "${BASH_REMATCH[1]}" ]
	nbatb latch set x
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: latch folder $NB/latch is owned by uid 0, not by you (uid 65534); refusing to use it (set ATB_LATCH_DIR to use another folder)"
}

# --- usage ---

@test "--help and -h print the usage; no subcommand is a usage error" {
	ratb latch --help
	assert_equal "$status" 0
	[[ "$output" == "usage: atb latch set NAME..."* ]]
	[[ "$output" == *"wait-set [--any] [-t DUR] [--poll DUR] NAME..."* ]]
	ratb latch -h
	assert_equal "$status" 0
	ratb latch wait-set --help
	assert_equal "$status" 0
	[[ "$output" == "usage: atb latch"* ]]
	ratb latch
	assert_equal "$status" 125
	assert_equal "$output" ""
	[[ "$stderr" == "usage: atb latch"* ]]
}

@test "usage errors name the bad subcommand, option or value (125)" {
	ratb latch frob a
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: latch: unknown subcommand 'frob' (try 'atb latch --help')"
	ratb latch wait-set --frob a
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: latch wait-set: unknown option '--frob' (try 'atb latch --help')"
	ratb latch set --any a
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: latch set: option '--any' is only for wait-set and wait-unset"
	ratb latch status -t 1 a
	assert_equal "$status" 125
	[[ "$stderr" == *"option '-t' is only for wait-set and wait-unset"* ]]
	ratb latch wait-set a -t
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: latch wait-set: option '-t' needs a duration"
	ratb latch wait-unset -t 5x a
	assert_equal "$status" 125
	[[ "$stderr" == "atb: latch wait-unset: invalid duration '5x' for -t"* ]]
	ratb latch wait-set --poll 0 a
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: latch wait-set: --poll needs a duration above 0"
	ratb latch wait-set --poll=fast a
	assert_equal "$status" 125
	[[ "$stderr" == *"invalid duration 'fast' for --poll"* ]]
	ratb latch set
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: latch set: missing NAME (try 'atb latch --help')"
	ratb latch wait-set -- 
	assert_equal "$status" 125
	[ ! -e "$L" ] || [ -z "$(ls -A "$L")" ]
}

@test "options may follow names; -- ends them" {
	ratb latch wait-set a -t 0
	assert_equal "$status" 124
	ratb latch set -- -t
	assert_equal "$status" 0
	[ -f "$L/-t" ]
	ratb latch status -- -t
	assert_equal "$status" 0
}

@test "wait-set out of fds: 125 with the reason, never an abort" {
	# From too few fds for the loader (127, not atb's) up to enough.
	local n st reached=0
	for n in 4 5 6 7 8 9 10; do
		st=0
		bash -c 'exec 3</dev/null; ulimit -n "$1" && shift && exec "$@"' _ "$n" \
			"$ATB" latch wait-set -t 0.1s never >"$T/out" 2>&1 || st=$?
		[ "$st" -eq 127 ] && continue
		if [ "$st" -ne 124 ] && ! { [ "$st" -eq 125 ] && grep -q 'Too many open files' "$T/out"; }; then
			echo "ulimit -n $n: status $st: $(cat "$T/out")"
			return 1
		fi
		reached=$((reached + 1))
	done
	[ "$reached" -ge 3 ]
}

@test "without inotify, 20 waiters all wake through their wake FIFOs, and leave none behind; unset wakes them too" {
	local pids='' p i
	export ATB_LATCH_NO_INOTIFY=1
	for i in $(seq 20); do
		start_bg "w$i" latch wait-set go
		pids="$pids $pid"
	done
	for p in $pids; do wait_ready "$p"; done
	# A FIFO each, .go.wake.ID (made just after the mask that wait_ready
	# sees: a bounded poll), and each has its reader: a writer's
	# non-blocking open finds it (ENXIO without one).
	for ((i = 0; i < 500; i++)); do
		[ "$(find "$L" -name '.go.wake.*' -type p | wc -l)" -eq 20 ] && break
		sleep 0.02
	done
	assert_equal "$(find "$L" -name '.go.wake.*' -type p | wc -l)" 20
	python3 -c 'import os, sys
for f in sys.argv[1:]: os.close(os.open(f, os.O_WRONLY | os.O_NONBLOCK))' "$L"/.go.wake.*
	ratb latch set go
	assert_equal "$status" 0
	i=0
	for p in $pids; do
		i=$((i + 1))
		finish_bg "w$i" "$p"
		assert_equal "$status" 0
	done
	assert_equal "$(find "$L" -name '.go.wake.*' | wc -l)" 0
	start_bg un latch wait-unset go
	wait_ready "$pid"
	ratb latch unset go
	finish_bg un "$pid"
	assert_equal "$status" 0
	# Nothing of the waits is left: the folder can be removed.
	rmdir "$L"
}
