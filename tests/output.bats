#!/usr/bin/env bats
# Output multiplexing: prefix, group and inherit modes.
load helpers/common
bats_require_minimum_version 1.5.0

# check_lines FILE: every line is "[name] TAG SEQ LEN PAYLOAD" with a payload
# of LEN bytes, and each TAG's sequence numbers come in order, none lost.
check_lines() {
	python3 - "$1" "$2" <<'PY'
import re, sys
path, expect = sys.argv[1], int(sys.argv[2])
seen = {}
pat = re.compile(rb'^\[([^\]]+)\] +(\S+) (\d+) (\d+) ([a-z]*)$')
with open(path, 'rb') as f:
    for n, line in enumerate(f.read().split(b'\n')[:-1], 1):
        m = pat.match(line)
        if not m:
            sys.exit('line %d malformed: %r' % (n, line[:120]))
        name, tag, seq, ln, payload = m.groups()
        if len(payload) != int(ln):
            sys.exit('line %d: payload %d bytes, expected %s' % (n, len(payload), ln))
        if seen.get(tag, -1) + 1 != int(seq):
            sys.exit('line %d: %s seq %s after %s' % (n, tag, seq, seen.get(tag)))
        seen[tag] = int(seq)
if len(seen) != 8 or any(v + 1 != expect for v in seen.values()):
    sys.exit('missing lines: %r' % seen)
PY
}

@test "prefix: the default for two commands, stdout and stderr each to their own" {
	run --separate-stderr atb pool -n a,bb -- sh -c 'echo out-a; echo err-a >&2' -- sh -c 'echo out-b'
	assert_success
	assert_line '[a]  out-a'
	assert_line '[bb] out-b'
	refute_output --partial 'err-a'
	[ "$stderr" = '[a]  err-a' ]
}

@test "inherit: the default for one command: no prefix" {
	run atb pool -- sh -c 'echo plain'
	assert_success
	assert_output 'plain'
}

@test "prefix: no line is split or interleaved with 8 concurrent writers" {
	local cmds=() i
	for i in 1 2 3 4 5 6 7 8; do
		cmds+=(-- "$ATB_HELPERS/o-lines" "w$i" 3000 "$i")
	done
	atb pool "${cmds[@]:1}" >"$T/out"
	check_lines "$T/out" 3000
}

@test "prefix: a last line without newline is written, with one" {
	run atb pool -- printf 'one\ntwo' -- printf 'x'
	assert_success
	assert_line '[printf]   one'
	assert_line '[printf]   two'
	assert_line '[printf#2] x'
}

@test "prefix: a 1 MiB line comes out in 64 KiB pieces, each prefixed" {
	atb pool --no-pad -n big,small -- sh -c 'head -c 1048576 /dev/zero | tr "\0" x; echo' -- true >"$T/out"
	run awk '{ n++; if ($1 != "[big]" || length($2) != 65536) bad++ } END { print n, bad+0 }' "$T/out"
	assert_output '16 0'
}

@test "prefix: --prefix placeholders and --no-pad" {
	run atb pool --no-pad --prefix '{index}/{name}/{pid}: ' -n a,long -- echo x -- echo y
	assert_success
	assert_line --regexp '^1/a/[0-9]+: x$'
	assert_line --regexp '^2/long/[0-9]+: y$'
	run atb pool --prefix '{time} ' -- echo x -- echo y
	assert_line --regexp '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} x$'
	run atb pool --prefix '{nope}' -- true -- true
	assert_failure 125
	assert_output --partial "unknown placeholder"
}

@test "names: a -c command's label is the first two words of its line; -n and --finally keep theirs" {
	run atb pool --finally 'echo bye' -c 'sleep 0; echo hi' 'X=1 /bin/echo a | cat' "printf '%s\\n' \"two words\""
	assert_success
	assert_line '[sleep 0]     hi'
	assert_line '[echo a]      a'
	assert_line '[printf %s\n] two words'
	assert_line '[finally]     bye'
	run atb pool -n mine -c 'echo x; echo y' 'echo z'
	assert_success
	assert_line '[mine]   x'
	assert_line '[echo z] z'
}

@test "names: two identical lines are made unique; a long line is cut to 24 characters" {
	run atb pool --no-pad -c 'echo hi' 'echo hi' 'echo the-quick-brown-fox-jumps-over' \
		'echo ééééééééééééééééééééé'
	assert_success
	assert_line '[echo hi] hi'
	assert_line '[echo hi#2] hi'
	assert_line '[echo the-quick-brown-fox] the-quick-brown-fox-jumps-over'
	# 24 characters, not bytes, and no character cut in half.
	assert_line '[echo ééééééééééééééééééé] ééééééééééééééééééééé'
}

@test "names: a default name with blanks works in group headers, -i, the summary and the reports" {
	run bash -c "echo hello | '$ATB' wait-all -o group -i 'cat -' --report '$T/r.json' --junit '$T/j.xml' -c 'cat -' 'echo two; exit 3'"
	assert_failure 3
	assert_line '==> cat - <=='
	assert_line 'hello'
	assert_line '==> echo two <=='
	assert_line --regexp '^  echo two +exit 3 '
	assert_equal "$(report_get "$T/r.json" '[c["name"] for c in r["commands"]]')" '["cat -", "echo two"]'
	python3 - "$T/j.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
names = [c.get("name") for c in ET.parse(sys.argv[1]).getroot().iter("testcase")]
if names != ["cat -", "echo two"]:
    sys.exit("testcase names: %r" % names)
PY
}

@test "group: each command's output in one block, stdout and stderr whole" {
	run --separate-stderr atb pool -o group -n first,second -- \
		sh -c 'echo a1; echo e1 >&2; echo a2' -- sh -c 'echo b1; echo b2'
	assert_success
	[[ "$output" == *$'==> first <==\na1\na2'* ]]
	[[ "$output" == *$'==> second <==\nb1\nb2'* ]]
	assert_equal "$stderr" "e1"
}

@test "group: blocks come in the order the commands end" {
	# The test reads atb's output as it comes: second's block must be out
	# while first still runs; only then is first let go.
	mkfifo "$T/out" "$T/go"
	"$ATB" pool -o group -n first,second -- \
		sh -c "echo a1; cat $T/go >/dev/null; echo a2" -- sh -c 'echo b1; echo b2' \
		>"$T/out" 2>/dev/null &
	rec atb $!
	exec 6<"$T/out"
	local l1 l2 l3 rest
	read -r -t 20 l1 <&6
	read -r -t 20 l2 <&6
	read -r -t 20 l3 <&6
	assert_equal "$l1 $l2 $l3" "==> second <== b1 b2"
	echo go >"$T/go"
	rest=$(timeout 20 cat <&6)
	exec 6<&-
	assert_equal "$rest" "$(printf '==> first <==\na1\na2')"
}

@test "group: a failure without output still gets a block; a success without does not" {
	run atb pool -o group -n quiet,fine -- sh -c 'exit 3' -- true
	assert_failure 3
	assert_line --index 0 '==> quiet <=='
	assert_line --index 1 '(no output)'
	refute_output --partial '==> fine <=='
	GITHUB_ACTIONS=true run atb pool -o group -n quiet -- sh -c 'exit 3'
	assert_line --index 0 '::group::quiet'
	assert_line --index 1 '(no output)'
	assert_line --index 2 '::endgroup::'
}

@test "GitHub Actions: an ::error annotation for each failure, escaped; none elsewhere" {
	GITHUB_ACTIONS=true run --separate-stderr atb wait-all -n 'bad,x:y' -- sh -c 'exit 3' -- sh -c 'exit 4' -- true
	# The first failure in time decides: either.
	[ "$status" -eq 3 ] || [ "$status" -eq 4 ]
	assert_line '::error title=atb%3A bad failed::bad: exit 3 (command: sh -c exit 3)'
	assert_line '::error title=atb%3A x%3Ay failed::x:y: exit 4 (command: sh -c exit 4)'
	assert_equal "${#lines[@]}" 2
	# A report on stdout keeps it: the annotations go to stderr.
	GITHUB_ACTIONS=true run --separate-stderr atb pool --report - -- sh -c 'exit 3'
	assert_failure 3
	python3 -c 'import json, sys; json.loads(sys.argv[1])' "$output"
	[[ "$stderr" == *'::error title=atb%3A sh failed::'* ]]
	# Outside GitHub Actions, nothing.
	GITHUB_ACTIONS= run --separate-stderr atb pool -- sh -c 'exit 3'
	refute_output --partial '::error'
}

@test "group: GitHub Actions gets ::group:: blocks" {
	GITHUB_ACTIONS=true run atb pool -o group -n x,y -- echo 1 -- true
	assert_success
	assert_equal "$output" "$(printf '::group::x\n1\n::endgroup::')"
}

@test "group: 50 MiB of output spills to disk and comes back whole" {
	atb pool -o group -n big,small -- sh -c 'head -c 52428800 /dev/zero | tr "\0" y; echo end' -- echo small >"$T/out"
	run wc -c <"$T/out"
	# 50 MiB + "end\n" + two headers + "small\n"
	assert_output "$((52428800 + 4 + 12 + 14 + 6))"
	run tail -c 4 "$T/out"
	assert_output 'end'
}

@test "group: commands write straight into unlinked files in TMPDIR, none left" {
	mkdir "$T/tmp"
	TMPDIR=$T/tmp run --separate-stderr atb pool -o group -n a,b -- \
		sh -c 'readlink /proc/$$/fd/1; readlink /proc/$$/fd/2 >&2' -- true
	assert_success
	assert_line --index 1 --regexp "^$T/tmp/.* \(deleted\)\$"
	[[ "$stderr" =~ ^"$T"/tmp/.*\ \(deleted\)$ ]]
	run ls -A "$T/tmp"
	assert_output ''
}

@test "group: without a usable TMPDIR, output still comes in blocks" {
	TMPDIR=$T/missing run --separate-stderr atb pool -o group -n a,b -- \
		sh -c 'echo a1; echo e1 >&2; echo a2' -- sh -c 'echo b1'
	assert_success
	[[ "$output" == *$'==> a <==\na1\na2'* ]]
	[[ "$output" == *$'==> b <==\nb1'* ]]
	assert_equal "$stderr" "atb: pool: no temporary file in $T/missing for grouped output (No such file or directory): holding it in memory, up to 16 MiB a command
e1"
}

@test "group: on a full TMPDIR, output is held in memory, in blocks, and atb says so" {
	full_fs "$T/full"
	TMPDIR=$T/full run --separate-stderr atb wait-all -o group -n a,b -- \
		sh -c 'echo a1; echo e1 >&2; echo a2; exit 3' -- sh -c 'echo b1'
	assert_failure 3
	[[ "$output" == *$'==> a <==\na1\na2'* ]]
	[[ "$output" == *$'==> b <==\nb1'* ]]
	# The failing command's own error output is all there.
	[[ "$stderr" == *e1* ]]
	[[ "$stderr" == *"atb: wait-all: no temporary file in $T/full for grouped output (No space left on device): holding it in memory, up to 16 MiB a command"* ]]
}

@test "group: on a full TMPDIR, a command that outgrows memory is written as it comes, all of it" {
	full_fs "$T/full"
	TMPDIR=$T/full run --separate-stderr bash -c "'$ATB' pool -o group -n big,quiet -- sh -c 'seq 4000000; echo last' -- true | md5sum"
	assert_success
	assert_equal "$output" "$( (echo '==> big <=='; seq 4000000; echo last) | md5sum)"
	[[ "$stderr" == *"atb: pool: no temporary file in $T/full"* ]]
	[[ "$stderr" == *"atb: pool: big: no room left to hold its output: the rest is written as it comes, outside its block"* ]]
}

@test "group: a command with ready_when is read through a pipe, its block whole" {
	# 2 MiB after the ready line: held in memory, then spilled to a file.
	cat >"$T/s.json" <<-EOF
	{"output": "group", "commands": [
	  {"name": "gen", "ready_when": "^up\$",
	   "shell": "echo booting; echo up; head -c 2097152 /dev/zero | tr '\\\\0' z; echo; echo end"},
	  {"name": "client", "wait_for": ["gen"], "shell": "echo done"}
	]}
	EOF
	atb run "$T/s.json" >"$T/out"
	run python3 -c '
import sys
blocks = open(sys.argv[1]).read().split("==> ")
print(sorted(b[:40] + "|" + b[-10:] + "|" + str(len(b)) for b in blocks if b))' "$T/out"
	assert_output "['client <==\ndone\n| <==\ndone\n|16', 'gen <==\nbooting\nup\nzzzzzzzzzzzzzzzzzzzzz|zzzzz\nend\n|2097176']"
}

@test "group: a process that leaves the group with stdout does not hang atb" {
	mkfifo "$T/f"
	run atb pool -o group -g 0.5s -n daemon,other -- \
		sh -c 'setsid sh -c "echo \$\$ >>$PIDS/d; echo >$T/f; exec sleep 1000" & cat "$T/f" >/dev/null; echo started' -- true
	assert_success
	assert_output "$(printf '==> daemon <==\nstarted')"
	run pid_alive "$(cat "$PIDS/d")"
	assert_failure
}

@test "output of a cancelled command is all there, before the report" {
	mkfifo "$T/f"
	run atb pool -n victim,bad -- \
		sh -c 'for i in 1 2 3; do echo "last words $i"; done; echo >"$T/f"; exec sleep 1000' \
		-- sh -c 'cat "$T/f" >/dev/null; exit 4'
	assert_failure 4
	assert_line --index 0 '[victim] last words 1'
	assert_line --index 2 '[victim] last words 3'
	assert_line --partial 'atb: pool failed'
}

@test "group: a cancelled command's output is all there, before the report" {
	mkfifo "$T/f"
	run atb pool -o group -n victim,bad -- \
		sh -c 'for i in 1 2 3; do echo "last words $i"; done; echo >"$T/f"; exec sleep 1000' \
		-- sh -c 'cat "$T/f" >/dev/null; exit 4'
	assert_failure 4
	# bad wrote nothing, but its failure still gets its block.
	assert_line --index 0 '==> bad <=='
	assert_line --index 1 '(no output)'
	assert_line --index 2 '==> victim <=='
	assert_line --index 3 'last words 1'
	assert_line --index 5 'last words 3'
	assert_line --partial 'atb: pool failed'
}

@test "a grandchild that keeps the pipe open does not hang atb" {
	# The background process leaves the group with setsid and keeps stdout;
	# the leader exits only once it has.
	mkfifo "$T/f"
	run atb pool -g 0.5s -n daemon,other -- \
		sh -c 'setsid sh -c "echo \$\$ >>$PIDS/d; echo >$T/f; exec sleep 1000" & cat "$T/f" >/dev/null; echo started' -- true
	assert_success
	assert_line '[daemon] started'
	run pid_alive "$(cat "$PIDS/d")"
	assert_failure
}

@test "EPIPE: atb | head: the writers get SIGPIPE as in a shell pipeline, the report is written, 141" {
	# Once atb's stdout is gone, the commands' pipes are closed: a writer
	# dies of SIGPIPE, which counts as its failure, as with pipefail.
	run bash -c "'$ATB' pool --report '$T/r.json' -- seq 2000000 -- seq 3000000 | head -1; echo \"status \${PIPESTATUS[0]}\""
	# head may print its line after atb's report on stderr: any position.
	assert_line --regexp '^\[seq(#2)?\] +1$'
	assert_line 'status 141'
	# The first to die of it fails the pool; the other has died of it too,
	# or is cancelled by that failure (and dies of SIGTERM, or of SIGPIPE first).
	run report_get "$T/r.json" 'sorted(set((c["state"], c["signal"]) for c in r["commands"]))'
	assert_output --regexp '^\[(\["cancelled", "SIG(TERM|PIPE)"\], )?\["failed", "SIGPIPE"\]\]$'
	run report_get "$T/r.json" 'r["exit_status"]'
	assert_output 141
}

@test "broken output: atb pool -c yes 'sleep .3' | head -1 ends, nothing is left" {
	# Before, atb stopped writing and waited for a yes that never ends.
	run timeout 20 bash -c "'$ATB' pool -c yes 'sleep .3' | head -1; echo \"status \${PIPESTATUS[0]}\""
	# head may print its line after atb's report on stderr: any position.
	assert_line --regexp '^\[yes\] +y$'
	assert_line 'status 141'
	wait_unmarked 10
}

@test "broken output in group mode: the writer's file is not a pipe, it runs to its end" {
	# A command writing into its own file is not part of the pipeline:
	# only what goes through atb's pipes stops.
	run timeout 20 bash -c "'$ATB' pool -o group -c 'seq 100000' 'sleep .3; echo done' | head -1; echo \"status \${PIPESTATUS[0]}\""
	assert_line --index 0 '==> seq 100000 <=='
	assert_line 'status 0'
	wait_unmarked 10
}

@test "broken stderr: commands writing to stderr get SIGPIPE too, stdout goes on" {
	run timeout 20 bash -c "{ '$ATB' wait-all -c 'yes >&2' 'echo out; sleep .3; echo out2' 2>&1 >&3 | head -1 >/dev/null; echo \"status \${PIPESTATUS[0]}\" >&3; } 3>&1"
	assert_line --regexp '^\[echo out\] +out$'
	assert_line --regexp '^\[echo out\] +out2$'
	assert_line 'status 141'
	wait_unmarked 10
}

@test "children get SIGPIPE back: a writer to a closed pipe dies of it" {
	run atb pool -o inherit --report "$T/r.json" -- sh -c 'yes | head -1 >/dev/null; kill -0 $$'
	run report_get "$T/r.json" 'r["commands"][0]["state"]'
	assert_output 'succeeded'
	run atb pool -- "$ATB_HELPERS/t-sigstate"
	refute_output --partial 'SIGPIPE'
}

@test "binary output passes through byte for byte" {
	head -c 300000 /dev/urandom >"$T/bin"
	atb pool -o inherit -- cat "$T/bin" >"$T/out1"
	cmp "$T/bin" "$T/out1"
	atb pool -o group -n a,b -- cat "$T/bin" -- true >"$T/out2"
	tail -c +11 "$T/out2" | head -c 300000 | cmp - "$T/bin"
}

@test "colors: auto is off for a pipe, always forces, NO_COLOR and FORCE_COLOR" {
	run atb pool -- echo a -- echo b
	refute_output --partial $'\033['
	run atb pool --color always -- echo a -- echo b
	assert_output --partial $'\033[36m[echo]'
	NO_COLOR=1 run atb pool -- echo a -- echo b
	refute_output --partial $'\033['
	FORCE_COLOR=1 run atb pool -- echo a -- echo b
	assert_output --partial $'\033['
	run atb pool --color sometimes -- true
	assert_failure 125
}

@test "colors: auto is on for a terminal, off for TERM=dumb and FORCE_COLOR=0 or false" {
	TERM=xterm run "$ATB_HELPERS/t-pty" -- "$ATB" pool -- echo a -- echo b
	assert_output --partial $'\033[36m[echo]'
	assert_output --partial $'\033[33m[echo#2]'
	TERM=dumb run "$ATB_HELPERS/t-pty" -- "$ATB" pool -- echo a -- echo b
	assert_success
	refute_output --partial $'\033['
	for v in 0 false; do
		TERM=xterm FORCE_COLOR=$v run "$ATB_HELPERS/t-pty" -- "$ATB" pool -- echo a -- echo b
		assert_success
		refute_output --partial $'\033['
	done
	# --color auto beats the variables, not a dumb terminal; always, all.
	TERM=xterm FORCE_COLOR=0 run "$ATB_HELPERS/t-pty" -- "$ATB" pool --color auto -- echo a -- echo b
	assert_output --partial $'\033[36m[echo]'
	TERM=dumb run "$ATB_HELPERS/t-pty" -- "$ATB" pool --color always -- echo a -- echo b
	assert_output --partial $'\033[36m[echo]'
}

@test "stdin is /dev/null, except for the command named by --input" {
	run bash -c "echo hello | '$ATB' pool -n a,b -i b -- cat -- cat"
	assert_success
	assert_output '[b] hello'
	run atb pool -i nobody -- true -- true
	assert_failure 125
	assert_output --partial "no command is named 'nobody'"
}

@test "--output rejects unknown modes" {
	run atb pool -o fancy -- true
	assert_failure 125
	assert_output --partial "--output: expected prefix, group or inherit, got 'fancy'"
}

@test "--progress: a status line on a terminal, cleared before each output line" {
	command -v script >/dev/null || skip "script(1) is not installed"
	mkfifo "$T/f"
	run timeout 20 script -qec "'$ATB' pool --progress --color never -n slow,fast -- sh -c 'cat $T/f; echo slow-done' -- sh -c 'sleep 0.5; echo fast-done; echo x >$T/f'" /dev/null
	assert_success
	assert_output --partial 'running, '
	assert_output --partial '[fast] fast-done'
	assert_output --partial '[slow] slow-done'
	# Status text is never followed by output without a clear in between.
	python3 - "$output" <<'PY'
import re, sys
out = sys.argv[1]
for m in re.finditer(r'\[(slow|fast)\] ', out):
    before = out[:m.start()]
    if not (before == '' or before.endswith('\n') or before.endswith('\r\x1b[K')):
        sys.exit('output mixed with the status line: %r' % before[-60:])
# The last thing on the screen is a cleared line, not status text.
tail = out.rstrip('\r\n')
if 'queued' in tail.split('\n')[-1].split('\r\x1b[K')[-1]:
    sys.exit('status line left behind')
PY
}

@test "--progress: off when stderr is not a terminal, and refused with inherit" {
	run --separate-stderr atb pool --progress -- echo a -- echo b
	assert_success
	[ -z "$stderr" ]
	run atb pool --progress=always -o inherit -- true
	assert_failure 125
	assert_output --partial '--progress needs'
	run atb pool --progress=sometimes -- true
	assert_failure 125
}
