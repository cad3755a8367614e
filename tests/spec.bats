#!/usr/bin/env bats
# atb run SPEC: the JSON spec (atb-spec(5)). Every invalid spec gets one
# clear message and exit 125 with nothing started; options override the
# spec's settings; the per-command keys reach the engine.

load helpers/common

setup() {
	common_setup
	cd "$T" || return 1
}

# --- local helpers ---

# ratb ARGS...: atb (time-bounded) with stdout and stderr in files, so a
# process left behind cannot hang the test on a pipe. Sets status, output
# (stdout) and stderr.
ratb() {
	status=0
	atb "$@" >"$T/out" 2>"$T/err" 3>&- || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	lines=()
	[ -z "$output" ] || mapfile -t lines <<<"$output"
	printf '# atb %s\n# status %s\n# stdout: %s\n# stderr: %s\n' "$*" "$status" "$output" "$stderr" >&2
}

# spec FILE: writes stdin to FILE (relative to $T).
spec() {
	mkdir -p "$(dirname "$T/$1")"
	cat >"$T/$1"
}

# rejected MESSAGE [ATB ARGS...]: atb run (default: s.json) must exit 125
# with exactly the one line "atb: MESSAGE" on stderr, nothing on stdout, and
# without starting anything (the specs' commands touch $T/started). The
# argument "none" stands for no arguments at all.
rejected() {
	local want=$1
	shift
	[ $# -gt 0 ] || set -- s.json
	[ "$*" != none ] || set --
	ratb run "$@"
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: $want"
	assert_equal "$output" ""
	[ ! -e "$T/started" ]
}

# gated NAME TAIL: a shell command (JSON-safe: no double quotes or
# backslashes) that records its pid, says ready on the fifo $T/NAME.ready,
# waits on $T/NAME.go, then runs TAIL. `ready NAME`, `go NAME` drive it.
gated() {
	mkfifo "$T/$1.ready" "$T/$1.go"
	printf 'echo $$ >> $PIDS/%s; echo r > $T/%s.ready; read x < $T/%s.go; %s' "$1" "$1" "$1" "$2"
}
ready() { wait_fifo "$T/$1.ready"; }
go() { timeout 10 sh -c 'echo go > "$1"' sh "$T/$1.go"; }

# long NAME: a shell command that records its pid and sleeps until killed.
long() {
	printf 'echo $$ >> $PIDS/%s; exec sleep 1000' "$1"
}

# state NAME: the state of command NAME in the report $T/r.json.
state() {
	report_get "$T/r.json" "[c for c in r['commands'] if c['name'] == '$1'][0]['state']"
}

# --- a valid spec runs ---

@test "run: argv and shell commands, names, report" {
	spec s.json <<-'EOF'
	{
	  "mode": "wait-all",
	  "commands": [
	    {"name": "words", "argv": ["sh", "-c", "echo one two"]},
	    {"shell": "echo from-shell; exit 3"},
	    {"argv": ["true"]}
	  ]
	}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 3
	assert_equal "$(report_get r.json 'r["mode"]')" wait-all
	assert_equal "$(report_get r.json '[c["name"] for c in r["commands"]]')" '["words", "echo from-shell", "true"]'
	assert_equal "$(report_get r.json '[c["state"] for c in r["commands"]]')" '["succeeded", "failed", "succeeded"]'
	assert_output --partial "one two"
	assert_output --partial "from-shell"
}

@test "run: a spec from standard input" {
	ratb run --report r.json - <<-'EOF'
	{"commands": [{"name": "hi", "shell": "echo hi-from-stdin"}]}
	EOF
	assert_equal "$status" 0
	assert_output "hi-from-stdin"
	assert_equal "$(state hi)" succeeded
}

@test "run: options after the spec file are options too" {
	spec s.json <<<'{"commands": [{"shell": "exit 0"}]}'
	ratb run s.json --report r.json -v
	assert_equal "$status" 0
	assert_equal "$(report_get r.json 'r["outcome"]')" succeeded
	[[ $stderr == *"pool succeeded"* ]]
}

# --- JSON syntax errors: line, column, what was expected ---

@test "spec error: invalid JSON names line, column and what was expected" {
	spec s.json <<-'EOF'
	{
	  "commands": [
	    {"shell": "touch started"}
	    {"shell": "true"}
	  ]
	}
	EOF
	rejected "s.json:4:5: expected ',' or ']', got '{'"
}

@test "spec error: a missing comma between keys" {
	spec s.json <<-'EOF'
	{
	  "commands": [
	    {"name": "unit",
	     "shell": "touch started"
	     "cwd": "backend"}
	  ]
	}
	EOF
	rejected "s.json:5:6: expected ',' or '}', got '\"'"
}

@test "spec error: trailing garbage after the JSON" {
	spec s.json <<-'EOF'
	{"commands": [{"shell": "touch started"}]}
	}
	EOF
	rejected "s.json:2:1: unexpected '}' after the end of the JSON value"
}

@test "spec error: a trailing comma" {
	spec s.json <<<'{"commands": [{"shell": "touch started"},]}'
	rejected "s.json:1:42: expected a value after ',', got ']' (JSON allows no trailing comma)"
}

@test "spec error: the usual slips get a hint" {
	spec s.json <<<"{'commands': []}"
	rejected "s.json:1:2: expected a key in double quotes or '}', got \"'\" (JSON strings take double quotes)"
	spec s.json <<<'{"mode": pool, "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:10: expected a value, got 'p' (strings take double quotes)"
	spec s.json <<<'{"commands": [{"shell": "touch started", "service": True}]}'
	rejected "s.json:1:53: expected a value, got 'True' (JSON spells it true)"
	spec s.json <<-'EOF'
	// the CI spec
	{"commands": [{"shell": "touch started"}]}
	EOF
	rejected "s.json:1:1: comments are not allowed in JSON"
}

@test "spec error: an unterminated string" {
	printf '{"commands": [\n  {"shell": "touch started}]}\n' >"$T/s.json"
	rejected "s.json:2:30: newline inside a string (a missing '\"'? write a newline as \\n)"
	printf '{"commands": [{"shell": "touch started' >"$T/s.json"
	rejected "s.json:1:25: unterminated string (no closing '\"')"
}

@test "spec error: invalid UTF-8, control characters and NUL in strings" {
	printf '{"commands": [{"shell": "touch started \xff"}]}' >"$T/s.json"
	rejected "s.json:1:40: invalid UTF-8 inside a string"
	printf '{"commands": [{"shell": "touch\tstarted"}]}' >"$T/s.json"
	rejected 's.json:1:31: control character 0x09 inside a string (write it as \u0009)'
	printf '{"commands": [{"shell": "touch started\\u0000x"}]}' >"$T/s.json"
	rejected 's.json:1:39: \u0000 is not allowed: a string cannot hold a NUL'
}

@test "spec error: an empty file, a missing file, a folder" {
	: >"$T/s.json"
	rejected "s.json: the spec is empty (expected a JSON object)"
	rejected "nope.json: No such file or directory" nope.json
	mkdir "$T/dir.json"
	rejected "dir.json: Is a directory" dir.json
	rejected "<stdin>: the spec is empty (expected a JSON object)" - </dev/null
}

# --- schema errors: JSON path and what is wrong ---

@test "spec error: the top level must be an object" {
	spec s.json <<<'[{"shell": "touch started"}]'
	rejected "s.json:1:1: expected an object at the top level, got an array"
}

@test "spec error: commands missing, empty or not commands" {
	spec s.json <<<'{"mode": "pool"}'
	rejected "s.json:1:1: missing key 'commands' (a non-empty array of commands)"
	spec s.json <<<'{"commands": []}'
	rejected "s.json:1:14: commands: expected a non-empty array of commands, got an empty array"
	spec s.json <<<'{"commands": [{"shell": "touch started"}, "make test"]}'
	rejected "s.json:1:43: commands[1]: expected a command (an object with argv or shell), got a string"
}

@test "spec error: unknown keys are listed with the allowed ones" {
	spec s.json <<<'{"commands": [{"shell": "touch started", "nmae": "x"}]}'
	rejected "s.json:1:42: commands[0].nmae: unknown key; did you mean 'name'? allowed keys: name, argv, shell, env, clear_env, cwd, timeout, service, shield, ready_when, ready_timeout, sets, wait_for, retries, retry_delay, retry_backoff, ready_probe, health_probe, slurm"
	spec s.json <<<'{"job": 2, "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:2: job: unknown key; did you mean 'jobs'? allowed keys: mode, jobs, grace, signal, timeout, output, prefix, color, no_pad, first_success, input, commands, cleanup, retries, retry_delay, retry_backoff, launcher"
}

@test "spec error: a key given twice in one object" {
	spec s.json <<<'{"commands": [{"shell": "touch started", "shell": "true"}]}'
	rejected "s.json:1:42: commands[0].shell: duplicate key (given twice in one object)"
	spec s.json <<<'{"mode": "pool", "mode": "race", "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:18: mode: duplicate key (given twice in one object)"
	spec s.json <<<'{"commands": [{"shell": "touch started", "env": {"A": "1", "A": "2"}}]}'
	rejected "s.json:1:60: commands[0].env.A: duplicate key (given twice in one object)"
}

@test "spec error: duplicate names name both places" {
	spec s.json <<-'EOF'
	{"commands": [
	  {"name": "unit", "shell": "touch started"},
	  {"name": "lint", "shell": "true"},
	  {"name": "unit", "argv": ["true"]}
	]}
	EOF
	rejected "s.json:4:12: commands[2].name: duplicate name 'unit' (also at commands[0].name)"
	spec s.json <<-'EOF'
	{"commands": [{"name": "down", "shell": "touch started"}],
	 "cleanup": [{"name": "down", "shell": "true"}]}
	EOF
	rejected "s.json:2:23: cleanup[0].name: duplicate name 'down' (also at commands[0].name)"
}

@test "spec error: both or neither of argv and shell" {
	spec s.json <<<'{"commands": [{"argv": ["touch", "started"], "shell": "touch started"}]}'
	rejected "s.json:1:15: commands[0]: has both argv and shell; give exactly one"
	spec s.json <<<'{"commands": [{"shell": "touch started"}, {"name": "x"}]}'
	rejected "s.json:1:43: commands[1]: needs argv (an array of strings) or shell (a command line)"
}

@test "spec error: wrong types name their JSON path" {
	spec s.json <<-'EOF'
	{"commands": [
	  {"shell": "touch started"},
	  {"argv": ["true"]},
	  {"argv": "make test"}
	]}
	EOF
	rejected "s.json:4:12: commands[2].argv: expected a non-empty array of strings, got a string"
	spec s.json <<<'{"commands": [{"argv": ["touch", 1]}]}'
	rejected "s.json:1:34: commands[0].argv[1]: expected a string, got a number"
	spec s.json <<<'{"commands": [{"argv": []}]}'
	rejected "s.json:1:24: commands[0].argv: expected a non-empty array of strings, got an empty array"
	spec s.json <<<'{"commands": [{"shell": "touch started", "env": {"CI": 1}}]}'
	rejected "s.json:1:56: commands[0].env.CI: expected a string, or null to unset, got a number"
	spec s.json <<<'{"commands": [{"shell": "touch started", "service": "yes"}]}'
	rejected "s.json:1:53: commands[0].service: expected true or false, got a string"
	spec s.json <<<'{"commands": [{"shell": "touch started", "cwd": ""}]}'
	rejected "s.json:1:49: commands[0].cwd: expected a folder path (a non-empty string), got an empty string"
	spec s.json <<<'{"commands": [{"shell": "touch started", "name": 7}]}'
	rejected "s.json:1:50: commands[0].name: expected a name (a non-empty string), got a number"
}

@test "spec error: bad durations" {
	spec s.json <<<'{"timeout": "5 parsecs", "commands": [{"shell": "touch started"}]}'
	rejected 's.json:1:13: timeout: invalid duration '\''5 parsecs'\'' (use e.g. "10", "1.5s", "250ms", "2m", "1h")'
	spec s.json <<<'{"grace": -1, "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:11: grace: expected a duration of 0 seconds or more, got -1"
	spec s.json <<<'{"commands": [{"shell": "touch started", "timeout": [5]}]}'
	rejected 's.json:1:53: commands[0].timeout: expected a duration such as "5s", got an array'
}

@test "spec error: bad signal names" {
	spec s.json <<<'{"signal": "SIGNOPE", "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:12: signal: unknown signal 'SIGNOPE'"
	spec s.json <<<'{"signal": 99, "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:12: signal: unknown signal 99"
}

@test "spec error: negative or fractional jobs" {
	spec s.json <<<'{"jobs": -1, "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:10: jobs: expected a whole number from 0 (no limit) to 2147483647, got -1"
	spec s.json <<<'{"jobs": 1.5, "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:10: jobs: expected a whole number from 0 (no limit) to 2147483647, got 1.5"
}

@test "spec error: unknown mode, output, color, prefix placeholder" {
	spec s.json <<<'{"mode": "all", "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:10: mode: unknown mode 'all' (use pool, try-all, wait-all or race)"
	spec s.json <<<'{"output": "tee", "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:12: output: unknown output 'tee' (use inherit, prefix or group)"
	spec s.json <<<'{"color": "yes", "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:11: color: unknown color 'yes' (use auto, always or never)"
	spec s.json <<<'{"prefix": "{host} ", "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:12: prefix: unknown placeholder in '{host} ' (use {name}, {index}, {pid}, {time})"
}

@test "spec error: first_success outside race" {
	spec s.json <<<'{"first_success": true, "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:19: first_success: only valid with mode race"
	spec s.json <<<'{"mode": "race", "first_success": true, "commands": [{"shell": "touch started"}]}'
	rejected "run: s.json: first_success needs mode race (--mode pool)" --mode pool s.json
}

@test "spec error: latch keys are checked" {
	spec s.json <<-'EOF'
	{"commands": [
	  {"shell": "touch started"},
	  {"shell": "true", "wait_for": ["db"]}
	]}
	EOF
	rejected "s.json:3:34: commands[1].wait_for[0]: 'db' is neither a command's name nor a latch that a command sets"
	spec s.json <<<'{"commands": [{"shell": "touch started", "wait_for": "db"}]}'
	rejected "s.json:1:54: commands[0].wait_for: expected a non-empty array of command or latch names, got a string"
	spec s.json <<<'{"commands": [{"shell": "touch started", "ready_timeout": "soon"}]}'
	rejected 's.json:1:59: commands[0].ready_timeout: invalid duration '\''soon'\'' (use e.g. "10", "1.5s", "250ms", "2m", "1h")'
	spec s.json <<<'{"commands": [{"shell": "touch started", "ready_when": "(open"}]}'
	rejected 's.json:1:56: commands[0].ready_when: not a usable extended regular expression: Unmatched ( or \('
	# Gigabytes or minutes once compiled (the fuzzer found such): refused first.
	spec s.json <<<'{"commands": [{"shell": "touch started", "ready_when": "x++++++++++++++++++++++++++++++++++++++++"}]}'
	rejected 's.json:1:56: commands[0].ready_when: not a usable extended regular expression: repetition operators in a row (such as a** or a+?) are undefined in POSIX; use one'
	spec s.json <<<'{"commands": [{"shell": "touch started", "ready_when": "((a*)*){1000}"}]}'
	rejected 's.json:1:56: commands[0].ready_when: not a usable extended regular expression: too large once compiled (repetitions multiply within each other); simplify it'
	spec s.json <<<'{"commands": [{"shell": "touch started", "sets": "x y"}]}'
	rejected "s.json:1:50: commands[0].sets: invalid latch name (letters, digits, '.', '_', '-'; at most 128; not starting with '.')"
}

@test "spec: wait_for may name a command by its assigned default name, #2 included" {
	# The run's validator knows the names it assigns; the spec no longer
	# guesses them (it used to refuse "sleep#2"). A shell command's default
	# name has a blank in it ("sleep 0"), which wait_for takes as it is.
	spec s.json <<-'EOF'
	{"mode": "wait-all", "output": "group", "commands": [
	  {"shell": "sleep 0; echo one >first"},
	  {"shell": "sleep 0; echo two >second"},
	  {"name": "after", "shell": "cat second", "wait_for": ["sleep 0#2"]}
	]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 0
	assert_output --partial two
	assert_equal "$(report_get r.json '[c["name"] for c in r["commands"]]')" '["sleep 0", "sleep 0#2", "after"]'
	spec s.json <<<'{"commands": [{"shell": "touch started"}, {"shell": "true", "wait_for": ["touch"]}]}'
	rejected "s.json:1:74: commands[1].wait_for[0]: 'touch' is neither a command's name nor a latch that a command sets"
}

@test "spec error: service and shield are not for cleanup commands" {
	spec s.json <<<'{"commands": [{"shell": "touch started"}], "cleanup": [{"shell": "true", "service": true}]}'
	rejected "s.json:1:85: cleanup[0].service: not allowed in a cleanup command"
}

@test "spec error: user text in messages is escaped" {
	spec s.json <<<'{"mode": "\u001b[31mred", "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:10: mode: unknown mode '\\x1b[31mred' (use pool, try-all, wait-all or race)"
}

# --- the command line ---

@test "run: usage errors" {
	rejected "run: no spec file given (try 'atb run --help')" none
	spec s.json <<<'{"commands": [{"shell": "touch started"}]}'
	rejected "run: one spec file expected, got 'b.json' after 's.json'" s.json b.json
	rejected "run: unknown option '--names'" --names a s.json
	rejected "run: unknown option '-c'" -c s.json
	rejected "run: --jobs: expected a whole number (0: no limit), got '-1'" -j -1 s.json
	rejected "run: --mode: expected pool, try-all, wait-all or race, got 'all'" --mode all s.json
	rejected "run: --output: expected prefix, group or inherit, got 'x'" -o x s.json
	rejected "run: option '--junit' needs a value" s.json --junit
	rejected "--report and --junit cannot both write to stdout" --report - --junit - s.json
	rejected "run: --first-success is an option of race only (the mode is pool)" --first-success s.json
	rejected "run: input: standard input holds the spec, it cannot go to 'x'" -i x - <"$T/s.json"
	rejected "--report: cannot open '$T/no/r.json': No such file or directory" --report "$T/no/r.json" s.json
}

@test "run: --help" {
	ratb run --help
	assert_equal "$status" 0
	assert_line --index 0 "usage: atb run [OPTIONS] SPEC"
	assert_output --partial "--junit FILE"
}

# --- options override the spec ---

@test "override: --mode beats the spec's mode" {
	spec s.json <<-EOF
	{"mode": "wait-all", "commands": [
	  {"name": "bad", "shell": "exit 3"},
	  {"name": "slow", "shell": "$(long slow)"}
	]}
	EOF
	ratb run --mode pool --report r.json s.json
	assert_equal "$status" 3
	assert_equal "$(report_get r.json 'r["mode"]')" pool
	assert_equal "$(state slow)" cancelled
}

@test "override: -t beats the spec's timeout" {
	spec s.json <<-EOF
	{"timeout": "100s", "commands": [{"name": "slow", "shell": "$(long slow)"}]}
	EOF
	ratb run -t 0.3s --report r.json s.json
	assert_equal "$status" 124
	assert_equal "$(report_get r.json 'r["outcome"]')" timed_out
}

@test "override: -j beats the spec's jobs" {
	# a cannot finish before b has started: with one slot, the run times
	# out; with two, both finish.
	mkfifo "$T/ab"
	spec s.json <<-EOF
	{"jobs": 1, "timeout": "3s", "commands": [
	  {"name": "a", "shell": "echo x > $T/ab"},
	  {"name": "b", "shell": "read x < $T/ab"}
	]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 124
	assert_equal "$(state b)" not_started
	ratb run -j 2 --report r.json s.json
	assert_equal "$status" 0
	assert_equal "$(state a)" succeeded
	assert_equal "$(state b)" succeeded
}

@test "override: -s beats the spec's signal, -g its grace" {
	spec s.json <<-EOF
	{"signal": "TERM", "grace": "100s", "commands": [
	  {"name": "slow", "shell": "$(gated slow 'exec sleep 1000')"},
	  {"name": "bad", "shell": "read x < $T/slow.ready; exit 3"}
	]}
	EOF
	ratb run -s INT --report r.json s.json
	assert_equal "$status" 3
	assert_equal "$(report_get r.json '[c for c in r["commands"] if c["name"] == "slow"][0]["signal"]')" SIGINT
	rm -f "$T/slow.ready" "$T/slow.go"
	spec s.json <<-EOF
	{"grace": "100s", "commands": [
	  {"name": "stubborn", "shell": "trap '' TERM; $(gated stubborn 'exec sleep 1000')"},
	  {"name": "bad", "shell": "read x < $T/stubborn.ready; exit 3"}
	]}
	EOF
	ratb run -g 0.2s --report r.json s.json
	assert_equal "$status" 3
	assert_equal "$(report_get r.json '[c for c in r["commands"] if c["name"] == "stubborn"][0]["killed"]')" true
}

@test "settings: input gives atb's stdin to the named command" {
	spec s.json <<<'{"input": "reader", "output": "inherit", "commands": [{"name": "reader", "argv": ["cat"]}]}'
	status=0
	echo piped-in | atb run s.json >"$T/out" 2>"$T/err" || status=$?
	assert_equal "$status" 0
	assert_equal "$(cat "$T/out")" piped-in
	spec s.json <<<'{"input": "nobody", "commands": [{"shell": "touch started"}]}'
	rejected "s.json:1:11: input: no command is named 'nobody'"
}

@test "settings: color from the spec beats NO_COLOR; an option beats the spec" {
	spec s.json <<<'{"color": "always", "output": "prefix", "commands": [{"name": "a", "shell": "echo hi"}]}'
	NO_COLOR=1 ratb run s.json
	[[ $output == *$'\e['* ]]
	ratb run --color never s.json
	assert_output "[a] hi"
	spec s.json <<<'{"output": "prefix", "commands": [{"name": "a", "shell": "echo hi"}]}'
	FORCE_COLOR=1 ratb run s.json
	[[ $output == *$'\e['* ]]
	NO_COLOR=1 FORCE_COLOR=1 ratb run s.json
	assert_output "[a] hi"
}

# --- the per-command keys reach the commands ---

@test "keys: env sets and unsets variables, clear_env starts empty" {
	spec s.json <<-'EOF'
	{"output": "inherit", "commands": [
	  {"name": "env", "shell": "test \"$CI\" = 1 && test -z \"${UNSET_ME+x}\" && test \"$KEEP\" = k",
	   "env": {"CI": "1", "UNSET_ME": null}},
	  {"name": "clear", "argv": ["/usr/bin/env"], "clear_env": true, "env": {"ONLY": "1"}}
	]}
	EOF
	UNSET_ME=x KEEP=k ratb run --report r.json s.json
	assert_equal "$status" 0
	assert_equal "$(state env)" succeeded
	assert_line "ONLY=1"
	refute_line --partial "PATH="
	refute_line --partial "KEEP="
}

@test "keys: a relative cwd is taken from the spec's folder" {
	mkdir -p "$T/ci/backend" "$T/elsewhere/backend"
	spec ci/s.json <<-'EOF'
	{"output": "inherit", "commands": [{"shell": "pwd", "cwd": "backend"}, {"shell": "pwd", "cwd": "/"}]}
	EOF
	cd "$T/elsewhere"
	ratb run ../ci/s.json
	assert_equal "$status" 0
	assert_line "$T/ci/backend"
	assert_line "/"
	# From standard input or a pipe, relative to atb's own working directory.
	ratb run - <"$T/ci/s.json"
	assert_equal "$status" 0
	assert_line "$T/elsewhere/backend"
	ratb run <(cat "$T/ci/s.json")
	assert_equal "$status" 0
	assert_line "$T/elsewhere/backend"
}

@test "keys: a command's own timeout: timed_out, exit 124" {
	spec s.json <<-EOF
	{"commands": [
	  {"name": "slow", "shell": "$(long slow)", "timeout": "0.3s"},
	  {"name": "fine", "shell": "true"}
	]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 124
	assert_equal "$(state slow)" timed_out
	assert_equal "$(state fine)" succeeded
}

@test "keys: a service is cancelled once the others end, and that is success" {
	spec s.json <<-EOF
	{"commands": [
	  {"name": "api", "shell": "$(long api)", "service": true},
	  {"name": "test", "shell": "true"}
	]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 0
	assert_equal "$(state api)" cancelled
	assert_equal "$(report_get r.json '[c["service"] for c in r["commands"]]')" '[true, false]'
	assert_equal "$(report_get r.json 'r["outcome"]')" succeeded
	! pid_alive "$(report_get r.json 'r["commands"][0]["pid"]')"
}

@test "keys: a service that exits early is a failure" {
	spec s.json <<-EOF
	{"commands": [
	  {"name": "api", "shell": "exit 0", "service": true},
	  {"name": "test", "shell": "$(long test)"}
	]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 1
	assert_equal "$(state api)" failed
	assert_equal "$(report_get r.json '[c for c in r["commands"] if c["name"] == "api"][0]["error"]')" "service exited early"
	assert_equal "$(state test)" cancelled
}

@test "keys: a shielded command is not cancelled by a failure" {
	spec s.json <<-EOF
	{"commands": [
	  {"name": "guard", "shell": "$(gated guard 'exit 0')", "shield": true},
	  {"name": "victim", "shell": "trap 'echo c > $T/victim.cancelled; exit 1' TERM; ($(long victim)) & echo r > $T/victim.armed; wait"},
	  {"name": "bad", "shell": "read x < $T/guard.ready; read y < $T/victim.armed; exit 3"}
	]}
	EOF
	# bad fails only once victim's trap is set: a TERM before it would
	# end the shell without writing (seen on a loaded CI machine).
	mkfifo "$T/victim.cancelled" "$T/victim.armed"
	atb run --report r.json s.json >"$T/out" 2>"$T/err" &
	local apid=$!
	rec atb "$apid"
	wait_fifo "$T/victim.cancelled"
	go guard
	status=0
	wait "$apid" || status=$?
	assert_equal "$status" 3
	assert_equal "$(state guard)" succeeded
	assert_equal "$(state victim)" cancelled
}

# --- cleanup commands ---

@test "cleanup: runs after success, and its failure is the status" {
	spec s.json <<-'EOF'
	{"commands": [{"name": "main", "shell": "true"}],
	 "cleanup": [{"name": "down", "shell": "touch cleaned; exit 4"}]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 4
	[ -e "$T/cleaned" ]
	assert_equal "$(state down)" failed
	assert_equal "$(report_get r.json '[c["cleanup"] for c in r["commands"]]')" '[false, true]'
}

@test "cleanup: runs after a failure; the main failure's status wins" {
	spec s.json <<-'EOF'
	{"commands": [{"name": "main", "shell": "exit 3"}],
	 "cleanup": [{"name": "down", "shell": "touch cleaned; exit 4"}, {"shell": "touch cleaned2"}]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 3
	[ -e "$T/cleaned" ]
	[ -e "$T/cleaned2" ]
	assert_equal "$(state down)" failed
}

@test "cleanup: runs after a timeout" {
	spec s.json <<-EOF
	{"timeout": "0.3s", "commands": [{"name": "slow", "shell": "$(long slow)"}],
	 "cleanup": [{"name": "down", "shell": "touch cleaned"}]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 124
	[ -e "$T/cleaned" ]
	assert_equal "$(state down)" succeeded
}

@test "cleanup: runs after SIGINT" {
	spec s.json <<-EOF
	{"commands": [{"name": "slow", "shell": "$(gated slow 'exec sleep 1000')"}],
	 "cleanup": [{"name": "down", "shell": "touch cleaned"}]}
	EOF
	# SIGINT at its default, as for a foreground job (see signals.bats).
	"$ATB_HELPERS/t-exec" -d INT -- "$ATB" run --report r.json s.json >"$T/out" 2>"$T/err" 3>&- &
	local apid=$!
	rec atb "$apid"
	ready slow
	kill -INT "$apid"
	wait_gone "$apid" "$T_LIMIT"
	status=0
	wait "$apid" || status=$?
	assert_equal "$status" 130
	[ -e "$T/cleaned" ]
	assert_equal "$(state down)" succeeded
	assert_equal "$(report_get r.json 'r["outcome"]')" interrupted
}

@test "fixtures: the example specs parse" {
	# bad-*.json fail as their names say; the others would start programs
	# this test does not have, so run them with a command line that exits
	# before anything starts: --report to a missing folder.
	local f
	for f in "$BATS_TEST_DIRNAME"/fixtures/*.json; do
		ratb run --report "$T/no/r.json" "$f"
		assert_equal "$status" 125
		case $f in
		*/bad-*) [[ $stderr != *"--report"* ]] ;;
		*) assert_equal "$stderr" "atb: --report: cannot open '$T/no/r.json': No such file or directory" ;;
		esac
	done
}
