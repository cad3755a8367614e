# Shared set-up for atb's bats suites: load bats-support and bats-assert, find
# the atb binary, and clean up by pid every process a test started.
#
# Conventions:
# - A command that a test starts records its pid in "$PIDS/NAME" (use `rec`).
#   teardown SIGKILLs every pid recorded there, and the process group of each.
# - Wait on events, never on sleeps: `mkfifo`, then `wait_fifo FIFO` blocks
#   until a process writes a line to it (with a generous time bound).
: "${BATS_LIB_PATH:=/usr/lib/bats}"
export BATS_LIB_PATH
bats_load_library bats-support
bats_load_library bats-assert

ATB=${ATB:-$BATS_TEST_DIRNAME/../build/atb}
ATB_HELPERS=${ATB_HELPERS:-$BATS_TEST_DIRNAME/../build/helpers}
# Generous bound for any single atb run in a test.
T_LIMIT=${T_LIMIT:-30}

common_setup() {
	T=$BATS_TEST_TMPDIR
	PIDS=$T/pids
	mkdir -p "$PIDS"
	# Every process a test starts inherits T_MARK: survivors are found by
	# it, wherever they went (another group, another session).
	T_MARK=atb-test-$$-$BATS_TEST_NUMBER-$RANDOM
	export T PIDS T_MARK
}

# marked: the pids of live processes (not zombies) whose environment holds
# this test's T_MARK. The test's own shells never do: a shell's environment
# in /proc is the one it was started with, before setup exported T_MARK.
marked() {
	local f pid
	[ -n "${T_MARK:-}" ] || return 0
	for f in $(env -u T_MARK grep -lsxzF "T_MARK=$T_MARK" /proc/[0-9]*/environ); do
		pid=${f#/proc/}
		pid=${pid%/environ}
		if pid_alive "$pid"; then echo "$pid"; fi
	done
	return 0
}

# wait_unmarked [SECONDS]: waits until no process carries T_MARK (polls in
# 50 ms steps, after the event that should end them all); lists what is
# left when it fails.
wait_unmarked() {
	local i left
	for ((i = 0; i < ${1:-15} * 20; i++)); do
		left=$(marked)
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	for i in $left; do
		echo "# left behind: $i: $(tr '\0' ' ' <"/proc/$i/cmdline" 2>/dev/null)" >&2
	done
	return 1
}

# full_fs DIR: a 1 MiB tmpfs at DIR, filled up; skips the test (with the
# reason) where a tmpfs cannot be mounted. Teardown unmounts it.
full_fs() {
	mkdir -p "$1"
	mount -t tmpfs -o size=1m,mode=1777 tmpfs "$1" 2>/dev/null ||
		skip "cannot mount a tmpfs at $1 (needs root, or a container that allows mount)"
	echo "$1" >>"$T/mounts"
	head -c 2M /dev/zero >"$1/.fill" 2>/dev/null || true
	[ "$(df --output=avail -k "$1" | tail -1)" -eq 0 ]
}

common_teardown() {
	local f pid
	# Whatever carries this test's mark (see marked), by pid.
	for pid in $(marked); do
		kill -KILL "$pid" 2>/dev/null
	done
	if [ -f "$T/mounts" ]; then
		while read -r f; do umount -l "$f" 2>/dev/null; done <"$T/mounts"
	fi
	for f in "$PIDS"/*; do
		[ -f "$f" ] || continue
		while read -r pid; do
			[ -n "$pid" ] || continue
			kill -KILL "-$pid" 2>/dev/null
			kill -KILL "$pid" 2>/dev/null
		done <"$f"
	done
	return 0
}

setup() { common_setup; }
teardown() { common_teardown; }

# atb with a time bound, so a hung run fails the test instead of the suite.
atb() {
	timeout -k 5 "$T_LIMIT" "$ATB" "$@"
}

# rec NAME PID: record a pid for teardown.
rec() {
	echo "$2" >>"$PIDS/$1"
}

# True when PID exists and is not a zombie.
pid_alive() {
	local state
	state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# wait_fifo FIFO [SECONDS]: block until one line is written to FIFO.
wait_fifo() {
	timeout "${2:-$T_LIMIT}" head -n 1 "$1" >/dev/null
}

# wait_gone PID [SECONDS]: wait until PID is gone (polls /proc, 20 ms steps;
# used only after the event that should end it has happened).
wait_gone() {
	local i limit=$(( ${2:-10} * 50 ))
	for ((i = 0; i < limit; i++)); do
		pid_alive "$1" || return 0
		sleep 0.02
	done
	return 1
}

# report_get FILE JQ-LIKE-PYTHON-EXPR: evaluate a Python expression over the
# JSON report loaded as `r`, e.g. report_get "$T/r.json" 'r["exit_status"]'.
report_get() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(json.dumps(v) if not isinstance(v,str) else v)' "$1" "$2"
}

# --- helpers of the mode, signal and tree suites ---

# ratb ARGS...: atb (time-bounded) with stdout and stderr in files, so a
# process left behind cannot hang the test on a pipe. Sets status, output
# (stdout) and stderr.
ratb() {
	status=0
	atb "$@" >"$T/out" 2>"$T/err" 3>&- || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	printf '# atb %s\n# status %s\n# stdout: %s\n# stderr: %s\n' "$*" "$status" "$output" "$stderr" >&2
}

# start_atb ARGS...: atb in the background (not through `timeout`, so that
# apid is atb itself), output in files; sets apid.
start_atb() {
	"$ATB" "$@" >"$T/out" 2>"$T/err" 3>&- &
	apid=$!
	rec atb "$apid"
}

# finish_atb: waits (bounded) for the background atb; sets status, output,
# stderr.
finish_atb() {
	wait_gone "$apid" "$T_LIMIT" || { echo "# atb $apid did not exit" >&2; return 1; }
	status=0
	wait "$apid" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	printf '# status %s\n# stdout: %s\n# stderr: %s\n' "$status" "$output" "$stderr" >&2
}

# gated NAME TAIL: prints a shell command that records its pid in
# $PIDS/NAME, says ready on the fifo $T/NAME.ready, waits to be released
# through the fifo $T/NAME.go, then runs the shell text TAIL (e.g. 'exit 3').
# Creates both fifos. `ready NAME` waits for it, `go NAME` releases it.
gated() {
	mkfifo "$T/$1.ready" "$T/$1.go"
	printf 'echo $$ >> "$PIDS/%s"; echo r > "$T/%s.ready"; read x < "$T/%s.go"; %s' "$1" "$1" "$1" "$2"
}
ready() { wait_fifo "$T/$1.ready"; }
go() { timeout 10 sh -c 'echo go > "$1"' sh "$T/$1.go"; }
pid_of() { head -n 1 "$PIDS/$1"; }

# long NAME: prints a shell command that records its pid in $PIDS/NAME and
# sleeps until cancelled.
long() {
	printf 'echo $$ >> "$PIDS/%s"; exec sleep 1000' "$1"
}

# wait_file FILE: waits until FILE exists and is not empty.
wait_file() {
	local i
	for ((i = 0; i < T_LIMIT * 50; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.02
	done
	echo "# $1 never written" >&2
	return 1
}

# wait_reaped PID: waits until PID is gone from /proc (not even a zombie):
# its parent has collected its status.
wait_reaped() {
	local i
	for ((i = 0; i < T_LIMIT * 50; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.02
	done
	echo "# $1 never reaped" >&2
	return 1
}

# assert_gone NAME...: no pid recorded in $PIDS/NAME is alive.
assert_gone() {
	local name pid
	for name in "$@"; do
		[ -f "$PIDS/$name" ] || continue
		while read -r pid; do
			if pid_alive "$pid"; then
				echo "# $name ($pid) is still alive: $(tr '\0' ' ' <"/proc/$pid/cmdline")" >&2
				return 1
			fi
		done <"$PIDS/$name"
	done
}

rj() { report_get "$T/r.json" "$1"; }
states() { rj '[[c["name"], c["state"]] for c in r["commands"]]'; }

stderr_has() {
	[[ $stderr == *"$1"* ]] || { echo "# stderr lacks '$1'" >&2; return 1; }
}

# --- end ---
