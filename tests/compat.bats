#!/usr/bin/env bats
# For people coming from timeout, xargs -P and GNU parallel: no silent
# splits at '--', "did you mean", replacement strings, ::: and :::: lists,
# -0, long lines, -k and --halt soon. The expectations are GNU parallel's
# and coreutils' documented behaviour, written here from their manuals.
load helpers/common
bats_require_minimum_version 1.5.0

# --- no silent splits -------------------------------------------------------

@test "split: a command's own '--' before an option is refused, naming --sep" {
	run atb pool -- cargo test -- --nocapture
	assert_failure 125
	assert_output "atb: pool: '--nocapture' after '--' is not a command; if it belongs to the command before it (cargo test), separate the commands with --sep, e.g. --sep ++"
	run atb pool -- npm run x -- --flag
	assert_failure 125
	assert_output --partial '--sep'
}

@test "split: a word after '--' that is no program is refused with 127 and the hint" {
	run -127 atb race -t 5 -- sh -c 'touch "$0"; echo "$@"' "$T/started" a -- b
	assert_failure 127
	assert_output --partial "'b' is not a command (not found); if '--' belongs to the command before it"
	assert_output --partial '--sep'
	# Nothing started: the first command would have made the file.
	[ ! -e "$T/started" ]
	# The issue's own example.
	run -127 atb race -t 5 -- sh -c 'echo "$@"' sh a -- b
	assert_output --partial "'b' is not a command"
	run -127 atb pool -- git log -- atb-no-such-path
	assert_failure 127
	assert_output --partial "'atb-no-such-path' is not a command"
}

@test "split: a nested atb that '--' would split is refused; --sep makes it work" {
	run atb race -t 2 -- "$ATB" race -t 25 -- true
	assert_failure 125
	assert_output --partial 'would be split at the'
	run atb race -t 20 --sep ++ -- "$ATB" race -t 25 -- true
	assert_success
	# A nested atb that takes no commands is split as usual.
	run atb pool -o inherit -- "$ATB" latch status atb-compat-none -- true
	assert_failure 1
}

@test "split: with -c, an option after the commands is refused" {
	run atb pool -c true --report "$T/x.json"
	assert_failure 125
	assert_output "atb: pool: '--report' comes after the commands: options go before them"
	[ ! -e "$T/x.json" ]
}

@test "split: the first command not found is 127 without the hint" {
	run -127 atb pool -- atb-no-such-command-xyz
	assert_output 'atb: pool: atb-no-such-command-xyz: command not found'
}

@test "split: --sep keeps every '--' of the commands" {
	run atb pool --sep ++ -o inherit -- sh -c 'echo "$@"' sh a -- b ++ printf '%s\n' --
	assert_success
	assert_line 'a -- b'
	assert_line -- '--'
}

# --- suggestions and help ----------------------------------------------------

@test "typos: a subcommand or long option close to one gets 'did you mean'" {
	run atb pol -- true
	assert_failure 125
	assert_output "atb: unknown mode 'pol'; did you mean 'pool'? (try 'atb --help')"
	run atb pool --jbos 3 -- true
	assert_failure 125
	assert_output "atb: pool: unknown option '--jbos'; did you mean '--jobs'?"
	run atb run --mdoe pool x.json
	assert_output --partial "did you mean '--mode'?"
	run atb latch wait-set --tiemout 1 x
	assert_output --partial "did you mean '--timeout'?"
	run atb latch stauts x
	assert_output --partial "did you mean 'status'?"
	run atb cancel --grcae 1 1
	assert_output --partial "did you mean '--grace'?"
	# Nothing close: no guess.
	run atb xyzzy
	assert_output "atb: unknown mode 'xyzzy' (try 'atb --help')"
}

@test "help spec: the spec's format, and where to read more" {
	run atb help spec
	assert_success
	assert_output --partial 'man atb-spec'
	assert_output --partial 'wait_for'
	# Its example is a spec atb accepts.
	sed -n '/^  {/,/^   "cleanup"/p' <<<"$output" | sed 's/^  //' >"$T/s.json"
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/s.json"
	run atb help
	assert_output --partial "atb help spec"
}

# --- replacement strings ----------------------------------------------------

@test "replacement strings: {} {.} {/} {//} {/.} {#} as in GNU parallel" {
	printf 'a/b.c.gz\nsub.dir/bar\nfoo\n/x\n' >"$T/in"
	run atb pool --stdin -j1 -o inherit -- echo '{}|{.}|{/}|{//}|{/.}|{#}' <"$T/in"
	assert_success
	assert_output "$(printf '%s\n' 'a/b.c.gz|a/b.c|b.c.gz|a|b.c|1' 'sub.dir/bar|sub.dir/bar|bar|sub.dir|bar|2' \
		'foo|foo|foo|.|foo|3' '/x|/x|x|/|x|4')"
}

@test "replacement strings: {%} is a slot no other running job holds, 1 to -j" {
	mkdir "$T/d"
	# Two jobs holding one slot at once would collide on its folder.
	run atb pool -j2 -o inherit -- sh -c 'mkdir "$0/s{%}" || exit 9; echo "{%}"; sleep 0.1; rmdir "$0/s{%}"' "$T/d" ::: 1 2 3 4 5 6
	assert_success
	assert_equal "$(sort -u <<<"$output" | tr '\n' ' ')" '1 2 '
	# Quotes in inputs survive the shell that reads the slot.
	run atb pool --stdin -o inherit -- printf '%s|%s\n' "{}" '{%}' <<<"it's"
	assert_success
	assert_output "it's|1"
}

@test "replacement strings: an unknown form is refused; other braces pass" {
	run atb pool --stdin -- echo '{%%}' </dev/null
	assert_failure 125
	assert_output "atb: pool: unknown replacement string '{%%}' (use {} {.} {/} {//} {/.} {#} {%} or {N})"
	run atb pool --stdin -- echo '{..}' </dev/null
	assert_failure 125
	assert_output --partial "unknown replacement string '{..}'"
	run atb pool --stdin -- echo '{2}' </dev/null
	assert_failure 125
	assert_output "atb: pool: '{2}': there is only 1 input"
	run atb pool --stdin -o inherit -- awk -v x='{}' 'BEGIN { print x "{print}" }' <<<in
	assert_success
	assert_output 'in{print}'
}

@test "replacement strings: without one, the input goes at the end (as xargs)" {
	run atb pool --stdin -j1 -o inherit -- echo in: <<<$'a\nb'
	assert_success
	assert_output $'in: a\nin: b'
}

@test "names: a command made from an input is named after it" {
	run atb pool --stdin -j1 --no-pad -- echo '{/}' <<<$'x/one\ny/two\nx/one'
	assert_success
	assert_output $'[x/one] one\n[y/two] two\n[x/one#2] one'
}

# --- argument lists ---------------------------------------------------------

@test "::: runs the template for each argument, one per CPU by default" {
	run atb pool -k -- echo {} ::: a b c
	assert_success
	assert_output $'==> a <==\na\n==> b <==\nb\n==> c <==\nc'
	# Several lists: every combination, the first varying slowest.
	run atb pool -k -- echo {1}-{2} ::: a b ::: 1 2
	assert_success
	assert_output --partial $'a-1\n==> a 2 <==\na-2\n==> b 1 <==\nb-1'
	# Without a replacement string the arguments go at the end.
	run atb pool -j1 -o inherit -- echo x ::: 1 2
	assert_output $'x 1\nx 2'
}

@test ":::: reads each argument list from a file; bad lists are usage errors" {
	printf 'l1\nl2\n' >"$T/list"
	run atb pool -j1 -o inherit -- echo {#}:{} :::: "$T/list"
	assert_success
	assert_output $'1:l1\n2:l2'
	run atb pool -- echo {} ::: 
	assert_failure 125
	assert_output "atb: pool: ':::' is followed by no input"
	run atb pool -- echo {} :::: "$T/missing"
	assert_failure 125
	assert_output --partial "cannot read '$T/missing'"
	run atb pool -- echo -- true ::: a
	assert_failure 125
	run atb pool -n a -- echo {} ::: x
	assert_failure 125
}

@test "-j: commands made from inputs run one per CPU unless -j says otherwise" {
	local cpus
	cpus=$(getconf _NPROCESSORS_ONLN)
	# Each records how many run at once; none may see more than cpus.
	mkdir "$T/run"
	seq $((cpus * 3)) | atb pool --stdin -- sh -c 'touch "$1/$2"; ls "$1" | wc -l >>"$1.n"; sleep 0.1; rm "$1/$2"' sh "$T/run" '{}'
	run sort -n "$T/run.n"
	[ "$(tail -1 <<<"$output")" -le "$cpus" ]
}

# --- input ------------------------------------------------------------------

@test "-0: NUL-separated input, as from find -print0" {
	mkdir -p "$T/d"
	touch "$T/d/with space" "$T/d/new
line"
	run atb pool --stdin -0 -j1 -o inherit -- sh -c 'printf "<%s>\n" "$(basename "$1")"' sh '{}' \
		< <(find "$T/d" -type f -print0 | sort -z)
	assert_success
	assert_output $'<new\nline>\n<with space>'
	run atb pool -0 -- true
	assert_failure 125
	assert_output 'atb: pool: -0 (--null) is for --stdin'
}

@test "input: long lines are taken, one over ARG_MAX is skipped with its line number" {
	local max
	max=$(getconf ARG_MAX)
	# 100 KiB: over the old 64 KiB limit, under any ARG_MAX.
	run bash -c "{ echo short; head -c 102400 /dev/zero | tr '\\0' x; echo; } | timeout 30 '$ATB' pool --stdin -j1 -o inherit -- sh -c 'echo \${#1}' sh '{}'"
	assert_success
	assert_output $'5\n102400'
	run bash -c "{ echo a; head -c $((max + 10)) /dev/zero | tr '\\0' x; echo; echo b; } | timeout 30 '$ATB' pool --stdin -j1 -o inherit -- echo"
	assert_failure 125
	assert_line a
	assert_line b
	assert_line "atb: stdin:2: line longer than $((max - 1)) bytes (the most a command's arguments can hold); skipped"
	assert_line 'atb: pool: 1 line of stdin skipped (too long)'
}

# --- order and halting --------------------------------------------------------

@test "-k: group blocks in input order, whatever order the commands end in" {
	run atb pool -k -- sh -c 'sleep 0.3; echo first' -- echo second -- sh -c 'sleep 0.1; echo third'
	assert_success
	assert_output $'==> sh <==\nfirst\n==> echo <==\nsecond\n==> sh#2 <==\nthird'
	run atb pool -k -o prefix -- true
	assert_failure 125
	assert_output --partial '--keep-order orders the blocks of group output'
}

@test "--halt soon: the first failure starts nothing more and cancels nothing" {
	mkfifo "$T/go" "$T/bad"
	# "slow" goes on only once "bad" is gone, reaped by atb, which has then
	# taken its failure in: "never" could start only after that.
	(
		read -r pid <"$T/bad"
		for _ in $(seq 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		echo >"$T/go"
	) &
	rec waiter $!
	run atb pool -j2 --halt soon --report "$T/r.json" -- \
		sh -c "read x <'$T/go'; echo slow-done" -- sh -c "echo \$\$ >'$T/bad'; exit 3" -- echo never
	assert_failure 3
	assert_output --partial 'slow-done'
	refute_output --partial 'never'
	assert_equal "$(states)" '[["sh", "succeeded"], ["sh#2", "failed"], ["echo", "not_started"]]'
	# --halt now (the default) cancels the rest.
	run atb pool -j2 --halt now,fail=1 --report "$T/r.json" -- sleep 30 -- false
	assert_failure 1
	assert_equal "$(states)" '[["sleep", "cancelled"], ["false", "failed"]]'
	run atb pool --halt later -- true
	assert_failure 125
}
