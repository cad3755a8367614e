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
	export T PIDS
}

common_teardown() {
	local f pid
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
