#!/usr/bin/env bats
# The command line: options, separators, -c, --sep, names, durations,
# signals, help and version, and usage errors (125, one message, nothing
# started).

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}


# A command that leaves a mark when it runs: usage errors must start nothing.
MARK='touch "$T/started"'

# usage_error ARGS...: atb ARGS is a usage error: exit 125, nothing on
# stdout, exactly one line on stderr starting with "atb: ", nothing started.
usage_error() {
	ratb "$@"
	assert_equal "$status" 125
	assert_equal "$output" ""
	[[ $stderr == "atb: "* ]] || { echo "# stderr does not start with 'atb: '" >&2; return 1; }
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	[ ! -e "$T/started" ] || { echo "# a command was started" >&2; return 1; }
}

@test "usage error: no command (atb pool; atb pool --; atb race -c)" {
	usage_error pool
	usage_error pool --
	usage_error wait-all -t 1s
	usage_error race -c
}

@test "usage error: an empty group (between separators, at the end, after a leading --)" {
	usage_error pool -- sh -c "$MARK" -- -- sh -c "$MARK"
	usage_error pool sh -c "$MARK" --
	usage_error pool -- -- sh -c "$MARK"
	usage_error pool --sep :: sh -c "$MARK" :: :: sh -c "$MARK"
}

@test "usage error: an unknown option" {
	usage_error pool --bogus sh -c "$MARK"
	usage_error pool -Z sh -c "$MARK"
	[[ $stderr == *"-Z"* ]]
}

@test "usage error: an unknown mode" {
	usage_error frobnicate sh -c "$MARK"
	[[ $stderr == *frobnicate* ]]
}

@test "usage error: an unknown signal name or number" {
	usage_error pool -s NOPE sh -c "$MARK"
	[[ $stderr == *NOPE* ]]
	usage_error pool -s SIGNOPE sh -c "$MARK"
	usage_error pool --signal 999 sh -c "$MARK"
	usage_error pool -s 0 sh -c "$MARK"
}

@test "usage error: a bad duration, naming the bad value (-g, -t)" {
	local bad
	for bad in 5x abc -1 1.5.5 1e3 inf 10sec 1h30m ' 5' 5ms2; do
		usage_error pool -g "$bad" sh -c "$MARK"
		[[ $stderr == *"'$bad'"* || $stderr == *"\"$bad\""* || $stderr == *" $bad"* ]] ||
			{ echo "# the message does not name '$bad'" >&2; return 1; }
		usage_error pool --timeout "$bad" sh -c "$MARK"
		[[ $stderr == *"$bad"* ]]
	done
	usage_error pool -t '' sh -c "$MARK"
}

@test "durations: 10, 1.5s, 250ms, 2m, 1h are accepted by -t and -g" {
	local d
	for d in 10 1.5s 250ms 2m 1h 0.5; do
		ratb pool -t "$d" -g "$d" -- true
		assert_equal "$status" 0
	done
}

@test "usage error: a bad -j value" {
	usage_error pool -j abc sh -c "$MARK"
	usage_error pool -j -1 sh -c "$MARK"
	usage_error pool --jobs 2x sh -c "$MARK"
}

@test "usage error: an option without its value" {
	usage_error pool --report
	usage_error pool -n
	usage_error pool --sep
}

@test "usage error: -n with more names than commands" {
	usage_error pool -n a,b,c -- sh -c "$MARK" -- sh -c "$MARK"
}

@test "usage error: -n with duplicate names" {
	usage_error pool -n a,a -- sh -c "$MARK" -- sh -c "$MARK"
	usage_error pool --names x,y,x -- sh -c "$MARK" -- sh -c "$MARK" -- sh -c "$MARK"
}

@test "usage error: -n with an empty name" {
	usage_error pool -n a,,b -- sh -c "$MARK" -- sh -c "$MARK" -- sh -c "$MARK"
	usage_error pool -n ,b -- sh -c "$MARK" -- sh -c "$MARK"
	usage_error pool -n '' -- sh -c "$MARK"
}

@test "options come first: parsing stops at the first non-option, the rest is the command's" {
	ratb pool --report "$T/r.json" printf '%s\n' -v -n x --report y
	assert_equal "$status" 0
	assert_output $'-v\n-n\nx\n--report\ny'
	assert_equal "$(rj 'r["commands"][0]["argv"]')" '["printf", "%s\\n", "-v", "-n", "x", "--report", "y"]'
	[ ! -e y ]
}

@test "a leading -- only ends the options; later -- separate commands" {
	ratb pool --report "$T/r.json" -- printf '%s\n' -v -- printf '%s\n' -n
	assert_equal "$status" 0
	assert_equal "$(rj '[c["argv"] for c in r["commands"]]')" '[["printf", "%s\\n", "-v"], ["printf", "%s\\n", "-n"]]'
}

@test "commands are exec'd directly, without a shell" {
	ratb pool -- printf '%s\n' '$HOME' '*' '|' ';'
	assert_equal "$status" 0
	assert_output $'$HOME\n*\n|\n;'
}

@test "commands are found through PATH" {
	mkdir "$T/bin"
	printf '#!/bin/sh\necho "mine:$1"\n' >"$T/bin/atb-test-cmd"
	chmod +x "$T/bin/atb-test-cmd"
	PATH="$T/bin:$PATH" ratb pool --report "$T/r.json" -- atb-test-cmd arg
	assert_equal "$status" 0
	assert_output "mine:arg"
	assert_equal "$(rj 'r["commands"][0]["name"]')" atb-test-cmd
}

@test "-c/--shell: every remaining argument is one whole command run with /bin/sh -c" {
	ratb pool --report "$T/r.json" -c 'echo "$((1 + 2))" > "$T/a"' 'x=4; echo "$x" > "$T/b"'
	assert_equal "$status" 0
	assert_equal "$(cat "$T/a")" 3
	assert_equal "$(cat "$T/b")" 4
	assert_equal "$(rj 'r["commands"][0]["argv"]')" '["/bin/sh", "-c", "echo \"$((1 + 2))\" > \"$T/a\""]'
	ratb wait-all --shell -- 'exit 0' 'exit 4'
	assert_equal "$status" 4
}

@test "-c: the default name is the line's first two words, the first a basename, made unique" {
	ratb pool --report "$T/r.json" -c 'echo one' 'echo one; echo two' '/bin/true x' 'true' 'true;'
	assert_equal "$status" 0
	assert_equal "$(rj '[c["name"] for c in r["commands"]]')" '["echo one", "echo one#2", "true x", "true", "true#2"]'
	# -n still wins; the rest get their defaults.
	ratb pool --report "$T/r.json" -n first -c 'echo one' 'echo one'
	assert_equal "$(rj '[c["name"] for c in r["commands"]]')" '["first", "echo one"]'
}

@test "--sep TOKEN replaces -- as the separator, so commands can contain --" {
	ratb pool --report "$T/r.json" --sep ::: printf '%s\n' -- ::: printf '%s\n' x
	assert_equal "$status" 0
	assert_equal "$(rj '[c["argv"] for c in r["commands"]]')" '[["printf", "%s\\n", "--"], ["printf", "%s\\n", "x"]]'
}

@test "-n/--names names the commands in order" {
	ratb pool --report "$T/r.json" -n lint,test -- true -- true
	assert_equal "$(rj '[c["name"] for c in r["commands"]]')" '["lint", "test"]'
	ratb pool --report "$T/r.json" --names only -- true
	assert_equal "$(rj '[c["name"] for c in r["commands"]]')" '["only"]'
}

@test "-n with fewer names than commands: the rest get default names" {
	ratb pool --report "$T/r.json" -n first -- true -- sleep 0 -- sleep 0
	assert_equal "$status" 0
	assert_equal "$(rj '[c["name"] for c in r["commands"]]')" '["first", "sleep", "sleep#2"]'
}

@test "default names: basename of argv[0], made unique with #2, #3" {
	ratb pool --report "$T/r.json" -- sleep 0 -- /bin/sleep 0 -- sleep 0 -- true
	assert_equal "$status" 0
	assert_equal "$(rj '[c["name"] for c in r["commands"]]')" '["sleep", "sleep#2", "sleep#3", "true"]'
}

@test "long options are accepted: --jobs --signal --grace --timeout --names --verbose --report" {
	ratb pool --jobs 1 --signal TERM --grace 1s --timeout 10s --names x --verbose --report "$T/r.json" -- true
	assert_equal "$status" 0
	assert_equal "$(rj 'r["commands"][0]["name"]')" x
}

@test "atb --help: exit 0, usage on stdout naming every mode" {
	ratb --help
	assert_equal "$status" 0
	local mode
	for mode in pool try-all wait-all race; do
		[[ $output == *"$mode"* ]] || { echo "# --help lacks $mode" >&2; return 1; }
	done
}

@test "atb --version: exit 0, prints the version" {
	ratb --version
	assert_equal "$status" 0
	[[ $output =~ ^atb\ [0-9]+\.[0-9]+ ]]
}

@test "atb help MODE and atb MODE --help: exit 0 with usage text mentioning the mode" {
	local mode
	for mode in pool try-all wait-all race; do
		ratb help "$mode"
		assert_equal "$status" 0
		[[ $output == *"$mode"* ]]
		ratb "$mode" --help
		assert_equal "$status" 0
		[[ $output == *"$mode"* ]]
	done
	ratb help race
	[[ $output == *--first-success* ]]
}

@test "atb MODE --help starts nothing" {
	ratb pool --help -- sh -c "$MARK"
	assert_equal "$status" 0
	[ ! -e "$T/started" ]
}

@test "atb help with an unknown topic is a usage error" {
	ratb help frobnicate
	assert_equal "$status" 125
	[[ $stderr == "atb: "* ]]
}

@test "atb with no arguments is a usage error (125)" {
	ratb
	assert_equal "$status" 125
}
