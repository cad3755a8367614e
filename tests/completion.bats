#!/usr/bin/env bats
# Shell completion: completions/atb.bash sourced into a plain bash (no
# bash-completion package) and asked as readline asks it, through
# COMP_WORDS and COMP_CWORD; the option lists it offers checked against
# atb's own help, so the two cannot drift; the zsh and fish files parsed.

load helpers/common

bats_require_minimum_version 1.5.0

COMPLETIONS=$BATS_TEST_DIRNAME/../completions

# comp WORD...: what _atb offers when the last WORD is the one completed (""
# for a new word), one a line, sorted, in $output. A fresh bash with nounset
# on: a completion that fails, prints anything on stderr or reads an unset
# variable fails the test.
comp() {
	run --separate-stderr timeout 10 bash --norc --noprofile -c '
		set -u
		source "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_atb || exit 1
		if ((${#COMPREPLY[@]})); then printf "%s\n" "${COMPREPLY[@]}"; fi' \
		comp "$COMPLETIONS/atb.bash" "$@"
	assert_success
	assert_equal "$stderr" ""
	output=$(printf '%s\n' "$output" | LC_ALL=C sort)
}

# offers WORD...: each WORD is a line of $output.
offers() {
	local w
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$output" || { echo "# not offered: $w; offered: $(tr "\n" " " <<<"$output")" >&2; return 1; }
	done
}

# offers_not WORD...: no WORD is a line of $output.
offers_not() {
	local w
	for w in "$@"; do
		! grep -qxF -- "$w" <<<"$output" || { echo "# offered: $w" >&2; return 1; }
	done
}

# lines WORD...: $output is exactly the WORDs, in any order.
lines() {
	assert_equal "$output" "$(printf '%s\n' "$@" | LC_ALL=C sort)"
}

@test "bash: the completion parses (bash -n) and registers _atb for atb" {
	run bash -n "$COMPLETIONS/atb.bash"
	assert_success
	run --separate-stderr timeout 10 bash --norc --noprofile -c \
		'source "$1" && complete -p atb' comp "$COMPLETIONS/atb.bash"
	assert_success
	assert_output "complete -F _atb atb"
}

@test "zsh: _atb parses (zsh -n) and is a #compdef atb file" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$COMPLETIONS/_atb"
	assert_success
	assert_equal "$(head -n 1 "$COMPLETIONS/_atb")" "#compdef atb"
}

@test "fish: atb.fish parses (fish -n)" {
	command -v fish >/dev/null || skip "fish is not installed"
	run fish -n "$COMPLETIONS/atb.fish"
	assert_success
	assert_output ""
}

# fish_comp LINE: what fish offers for the command line LINE, one a line
# (descriptions cut), sorted, in $output.
fish_comp() {
	run --separate-stderr timeout 10 fish --no-config -c \
		'source $argv[1]; and complete -C"$argv[2]"' "$COMPLETIONS/atb.fish" "$1"
	assert_success
	assert_equal "$stderr" ""
	output=$(printf '%s\n' "$output" | cut -f 1 | LC_ALL=C sort)
}

@test "fish: subcommands, option values, spec files, latch subcommands, commands" {
	command -v fish >/dev/null || skip "fish is not installed"
	mkdir -p "$T/specs/sub"
	touch "$T/specs/a.json" "$T/specs/b.txt"
	cd "$T/specs"
	fish_comp "atb po"
	lines pool
	fish_comp "atb pool --ou"
	lines --output
	fish_comp "atb pool -o "
	lines inherit prefix group
	fish_comp "atb run --mode "
	lines pool try-all wait-all race
	fish_comp "atb pool -s "
	offers TERM INT
	fish_comp "atb run "
	offers a.json sub/
	offers_not b.txt
	fish_comp "atb latch "
	lines set unset status wait-set wait-unset
	fish_comp "atb help "
	offers spec pool
	fish_comp "atb pool -s TERM -- sleep 1 -- ech"
	offers echo
	fish_comp "atb race --fi"
	lines --finally --first-success
}

@test "zsh and fish: each names every long option atb help lists" {
	local topic opt
	for topic in pool try-all wait-all race run cancel shield latch; do
		for opt in $(long_options "$topic"); do
			grep -qE -- "(^|[{,'(* ])${opt}([=+,}'[ )]|$)" "$COMPLETIONS/_atb" ||
				{ echo "# _atb lacks $opt (atb help $topic)" >&2; return 1; }
			grep -qE -- "-l ${opt#--}( |$)" "$COMPLETIONS/atb.fish" ||
				{ echo "# atb.fish lacks $opt (atb help $topic)" >&2; return 1; }
		done
	done
}

@test "bash: subcommands (atb po<TAB> is pool), and -h/--version first" {
	comp atb po
	lines pool
	comp atb ""
	lines pool try-all wait-all race run latch cancel shield help
	comp atb w
	lines wait-all
	comp atb --
	lines --help --version
}

@test "bash: atb help <TAB>: every topic, spec included" {
	comp atb help ""
	lines pool try-all wait-all race run latch cancel shield spec
	comp atb help sp
	lines spec
	# One topic only.
	comp atb help pool ""
	lines
}

@test "bash: options: atb pool --ou<TAB> is --output; race alone has --first-success" {
	comp atb pool --ou
	lines --output
	comp atb pool --no-
	lines --no-pad --no-stdin
	comp atb race --fi
	lines --finally --first-success
	comp atb pool --fi
	lines --finally
	comp atb run --first
	lines --first-success
	comp atb shield -
	lines -g --grace -v --verbose -h --help
	comp atb cancel --g
	lines --grace --group
}

@test "bash: -o/--output offers inherit prefix group, also as --output=" {
	comp atb pool -o ""
	lines inherit prefix group
	comp atb run --output ""
	lines inherit prefix group
	comp atb wait-all -j 2 -o g
	lines group
	# Bash splits --output=gr at '=': readline replaces only the part after it.
	comp atb pool --output = gr
	lines group
	comp atb pool --output=
	lines inherit prefix group
	# An abbreviation, as getopt_long takes it.
	comp atb pool --out = ""
	lines inherit prefix group
}

@test "bash: atb run --mode/-m offers the four modes" {
	comp atb run --mode ""
	lines pool try-all wait-all race
	comp atb run -m w
	lines wait-all
	comp atb run a.json --mode = r
	lines race
}

@test "bash: -s/--signal offers signal names (TERM, INT, ...), SIG-prefixed when begun so" {
	comp atb pool -s ""
	offers TERM INT HUP QUIT KILL USR1 USR2 ALRM
	offers_not SIGTERM 15
	comp atb race --signal TE
	lines TERM
	comp atb cancel -s SIGK
	lines SIGKILL
	comp atb run --signal = US
	lines USR1 USR2
	# -s's value is not the command: the next word is.
	comp atb pool -s TERM ech
	offers echo
}

@test "bash: --color/--colour, --progress=, --halt offer their values" {
	comp atb pool --color ""
	lines auto always never
	comp atb run --colour = n
	lines never
	comp atb pool --progress = ""
	lines auto always never
	comp atb pool --halt ""
	lines now soon now,fail=1 soon,fail=1
	# --progress takes its value only after '=': the next word is the command.
	comp atb pool --progress ech
	offers echo
	offers_not auto
	# now,fail= is split at '=' too.
	comp atb pool --halt now,fail = ""
	lines 1
}

@test "bash: atb run <TAB> offers .json files and folders, not other files" {
	mkdir -p "$T/specs/sub"
	touch "$T/specs/a.json" "$T/specs/b.txt" "$T/specs/sub/c.json"
	cd "$T/specs"
	comp atb run ""
	offers a.json sub
	offers_not b.txt
	comp atb run -m race ""
	offers a.json
	offers_not b.txt
	comp atb run sub/
	lines sub/c.json
	comp atb run -- ""
	offers a.json
	offers_not b.txt
}

@test "bash: --report/--junit/--pidfile complete files" {
	mkdir -p "$T/files"
	touch "$T/files/out.json" "$T/files/other.txt"
	cd "$T/files"
	comp atb pool --report ""
	lines out.json other.txt
	comp atb run --junit o
	lines out.json other.txt
	comp atb cancel --pidfile = ot
	lines other.txt
}

@test "bash: commands after the options, after '--' and in each later group" {
	mkdir -p "$T/cmd"
	touch "$T/cmd/input.txt"
	cd "$T/cmd"
	comp atb pool ech
	offers echo
	comp atb pool -- ech
	offers echo
	comp atb wait-all -- sleep 1 -- ech
	offers echo
	# A command's arguments: files, without bash-completion.
	comp atb pool -- cat in
	lines input.txt
	comp atb race -t 5s cat in
	lines input.txt
	# --sep's TOKEN separates; '--' is then an argument.
	comp atb pool --sep :: sleep 1 :: ech
	offers echo
	comp atb pool --sep :: cat -- in
	lines input.txt
	# -c: each word is a command line.
	comp atb pool -c ech
	offers echo
	comp atb shield ech
	offers echo
	comp atb shield -g 5s -- cat in
	lines input.txt
	# Once the commands began, a word with '-' is theirs, not atb's.
	comp atb pool -- ls --ou
	lines
}

@test "bash: atb latch <TAB>: the subcommands, their options and latch names" {
	comp atb latch ""
	lines set unset status wait-set wait-unset
	comp atb latch wait-
	lines wait-set wait-unset
	comp atb latch wait-set --
	lines --any --timeout --poll --help
	comp atb latch wait-unset -
	lines --any -t --timeout --poll -h --help
	comp atb latch set -
	lines -h --help
	# A duration: nothing to offer.
	comp atb latch wait-set -t ""
	lines
	mkdir -p "$T/latches"
	touch "$T/latches/ready" "$T/latches/built"
	ATB_LATCH_DIR=$T/latches comp atb latch wait-set --any r
	lines ready
	ATB_LATCH_DIR=$T/latches comp atb latch status ""
	lines ready built
}

# long_options TOPIC: the long options `atb help TOPIC` lists, one a line.
long_options() {
	"$ATB" help "$1" | grep -o -- '--[a-z][a-z-]*' | sort -u
}

# short_options TOPIC: the short options it lists ("  -c, --shell ...").
short_options() {
	"$ATB" help "$1" | grep -oE '^ +-[a-zA-Z0-9],' | tr -d ' ,' | sort -u
}

@test "bash: every option atb help lists is offered, and no other (but --colour)" {
	local topic sub want got missing extra
	for topic in pool try-all wait-all race run cancel shield latch; do
		want=$( (long_options "$topic"; short_options "$topic") | LC_ALL=C sort -u)
		[ -n "$want" ] || { echo "# atb help $topic lists no option" >&2; return 1; }
		sub=(atb "$topic" -)
		[ "$topic" = latch ] && sub=(atb latch wait-set -)
		comp "${sub[@]}"
		got=$output
		# Each listed option is offered.
		missing=$(LC_ALL=C comm -23 <(echo "$want") <(echo "$got"))
		[ -z "$missing" ] || { echo "# atb $topic: not offered: $missing" >&2; return 1; }
		# Each offered option is listed; --colour is --color's other spelling.
		extra=$(LC_ALL=C comm -13 <(echo "$want") <(echo "$got") | { grep -vx -- --colour || :; })
		[ -z "$extra" ] || { echo "# atb $topic: offered but not in its help: $extra" >&2; return 1; }
	done
}

@test "bash: the top-level options are atb's own" {
	"$ATB" --help >/dev/null
	"$ATB" --version >/dev/null
	"$ATB" -h >/dev/null
	"$ATB" -V >/dev/null
	comp atb -
	lines -h --help -V --version
}
