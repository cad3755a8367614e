#!/usr/bin/env bats
# --events: the live event stream (atb-events(5)). Every stream is checked
# as NDJSON (a JSON object a line, t never decreasing, run_started with its
# version first), on success, failure, retries, standard output, an
# inherited fd, a reader that does not read, a reader that goes away, and
# a signal to atb; bad values are usage errors.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}

# ev_list FILE: checks that FILE is the stream described above, then
# prints one line per event: its name and its main fields as key=value
# (None for null), e.g. "ended name=bad state=failed exit_code=3 ...".
ev_list() {
	python3 - "$1" <<'PY'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
assert text.endswith("\n"), "the stream does not end with a whole line"
fields = {
    "run_started": ["version", "mode", "commands"],
    "started": ["name", "pid", "attempt"],
    "ready": ["name"],
    "retry": ["name", "attempt", "next_attempt", "delay_s", "state", "exit_code", "signal"],
    "cancelling": ["name", "signal"],
    "killed": ["name"],
    "ended": ["name", "state", "exit_code", "signal", "attempt", "error"],
    "run_ended": ["outcome", "exit_status", "signal"],
    "events_dropped": ["count"],
}
prev = 0
for i, line in enumerate(text.split("\n")[:-1]):
    e = json.loads(line)
    assert isinstance(e, dict), line
    # Seconds with millisecond precision, never going back.
    assert re.match(r'\{"t": \d+\.\d{3}, "event": "', line), line
    assert e["t"] >= prev, (prev, line)
    prev = e["t"]
    if i == 0:
        assert e["event"] == "run_started" and e["version"] == 1, line
    for k in fields[e["event"]]:
        assert k in e, (k, line)
    if e["event"] == "ended":
        assert e["duration_s"] is None or e["duration_s"] >= 0, line
    print(" ".join([e["event"]] + ["%s=%s" % (k, e[k]) for k in fields[e["event"]]]))
PY
}

# at PATTERN: the line number in $output of the first line matching the
# extended regex PATTERN (fails when none does).
at() {
	local n
	n=$(grep -nE -m 1 -- "$1" <<<"$output" | cut -d: -f1)
	[ -n "$n" ] || { echo "# no event matches: $1" >&2; return 1; }
	echo "$n"
}

# before A B: the first event matching A comes before the first matching B.
before() {
	local a b
	a=$(at "$1") && b=$(at "$2") || return 1
	((a < b)) || { echo "# '$1' (line $a) is not before '$2' (line $b)" >&2; return 1; }
}

@test "--events FILE: a JSON object a line, t never decreasing, run_started (version 1) first and run_ended last" {
	ratb pool --events "$T/ev" -n one,two -- true -- sh -c 'exit 0'
	assert_equal "$status" 0
	assert_equal "$output" ""
	run ev_list "$T/ev"
	assert_success
	assert_equal "${lines[0]}" "run_started version=1 mode=pool commands=2"
	assert_equal "${lines[-1]}" "run_ended outcome=succeeded exit_status=0 signal=None"
	assert_equal "$(grep -c '^started ' <<<"$output")" 2
	assert_equal "$(grep -c '^ended .*state=succeeded exit_code=0 signal=None attempt=1 error=None' <<<"$output")" 2
	before '^started name=one' '^ended name=one'
	before '^started name=two' '^ended name=two'
}

@test "--events: a pool where one fails: its end, then cancelling and killed for the one that ignores TERM, run_ended with the exit status" {
	mkfifo "$T/stub.ready"
	ratb pool -g 200ms --events "$T/ev" --report "$T/r.json" -n bad,stub \
		-- sh -c 'read x < "$T/stub.ready"; exit 3' \
		-- sh -c 'trap "" TERM; echo $$ >> "$PIDS/stub"; echo r > "$T/stub.ready"; exec sleep 1000'
	assert_equal "$status" 3
	run ev_list "$T/ev"
	assert_success
	assert_equal "$(grep -c '^started ' <<<"$output")" 2
	assert_equal "$(grep -c '^ended ' <<<"$output")" 2
	# Each pid is the command's, as the report has it.
	at "^started name=stub pid=$(rj 'r["commands"][1]["pid"]') attempt=1"
	at "^started name=bad pid=$(rj 'r["commands"][0]["pid"]') attempt=1"
	before '^ended name=bad state=failed exit_code=3 signal=None attempt=1' '^cancelling name=stub signal=SIGTERM$'
	before '^cancelling name=stub' '^killed name=stub$'
	before '^killed name=stub' '^ended name=stub state=cancelled exit_code=None signal=SIGKILL attempt=1'
	assert_equal "${lines[-1]}" "run_ended outcome=failed exit_status=3 signal=None"
	assert_gone stub
}

@test "--events: --retries 1 gives a retry event with the failed attempt, the next one and its exit code" {
	ratb pool --retries 1 --events "$T/ev" -n flaky -- sh -c '[ -e "$T/once" ] && exit 0; touch "$T/once"; exit 2'
	assert_equal "$status" 0
	run ev_list "$T/ev"
	assert_success
	before '^started name=flaky pid=[0-9]+ attempt=1$' \
		'^retry name=flaky attempt=1 next_attempt=2 delay_s=0.0 state=failed exit_code=2 signal=None$'
	before '^retry name=flaky' '^started name=flaky pid=[0-9]+ attempt=2$'
	before '^started name=flaky pid=[0-9]+ attempt=2$' '^ended name=flaky state=succeeded exit_code=0 signal=None attempt=2'
	assert_equal "${lines[-1]}" "run_ended outcome=succeeded exit_status=0 signal=None"
}

@test "--events -: standard output holds the stream alone, the commands' output goes to standard error" {
	ratb pool --events - -n hi,there -- echo hello -- echo world
	assert_equal "$status" 0
	printf '%s\n' "$output" >"$T/ev"
	run ev_list "$T/ev"
	assert_success
	assert_equal "$(grep -c '^ended ' <<<"$output")" 2
	stderr_has hello
	stderr_has world
	# A lone command, whose output is inherited, writes there too.
	ratb race --events - -- echo alone
	assert_equal "$stderr" alone
	printf '%s\n' "$output" >"$T/ev"
	run ev_list "$T/ev"
	assert_success
	assert_equal "${lines[-1]}" "run_ended outcome=succeeded exit_status=0 signal=None"
}

@test "--events fd:3: the stream goes to the inherited fd, and no command inherits it" {
	timeout -k 5 "$T_LIMIT" "$ATB" pool --events fd:3 -- "$ATB_HELPERS/t-fds" "$T/fds" \
		3>"$T/ev" >"$T/out" 2>"$T/err"
	cat "$T/fds" "$T/err" >&2
	run grep -c '^3 -> ' "$T/fds"
	assert_output 0
	run ev_list "$T/ev"
	assert_success
	at '^ended name=t-fds state=succeeded'
	assert_equal "${lines[-1]}" "run_ended outcome=succeeded exit_status=0 signal=None"
}

@test "--events: a reader that does not read holds nothing up; the lines that do not fit are dropped and counted, and the stream ends with run_ended" {
	local n=500 reader
	mkfifo "$T/f" "$T/done"
	# The reader opens the FIFO but reads only once atb has exited.
	(exec 3<"$T/f"; read -r _ <"$T/done"; cat <&3 >"$T/got") &
	reader=$!
	rec reader "$reader"
	ratb pool -j 8 --events "$T/f" true ::: $(seq "$n")
	assert_equal "$status" 0
	timeout 10 sh -c 'echo done > "$1"' sh "$T/done"
	wait_gone "$reader" 10
	run ev_list "$T/got"
	assert_success
	assert_equal "${lines[-1]}" "run_ended outcome=succeeded exit_status=0 signal=None"
	at '^events_dropped count=[1-9]'
	# Nothing is lost unsaid: every event of the run (run_started, each
	# command's started, ended and ready, run_ended) is a line or counted.
	assert_equal "$(awk '/^events_dropped/ { sub("count=", "", $2); n += $2; next } { n++ } END { print n }' <<<"$output")" \
		$((2 + 3 * n))
}

@test "--events: a reader that goes away (EPIPE) changes nothing: the run goes on, its status stays, nothing is said" {
	local reader
	mkfifo "$T/f" "$T/gone"
	(head -n 1 "$T/f" >"$T/first"; echo gone >"$T/gone") &
	reader=$!
	rec reader "$reader"
	ratb pool --events "$T/f" -n waiter,other -- sh -c 'read x < "$T/gone"; exit 4' -- true
	assert_equal "$status" 4
	[[ $stderr != *events* ]] || { echo "# a message about the stream" >&2; return 1; }
	stderr_has 'exit 4'
	run cat "$T/first"
	assert_output --partial '"event": "run_started"'
}

@test "--events: SIGTERM to atb mid-run: the stream still ends with run_ended (interrupted, 143)" {
	mkfifo "$T/a.ready" "$T/b.ready"
	start_atb pool --events "$T/ev" -n a,b \
		-- sh -c 'echo $$ >> "$PIDS/a"; echo r > "$T/a.ready"; exec sleep 1000' \
		-- sh -c 'echo $$ >> "$PIDS/b"; echo r > "$T/b.ready"; exec sleep 1000'
	ready a
	ready b
	kill -TERM "$apid"
	finish_atb
	assert_equal "$status" 143
	run ev_list "$T/ev"
	assert_success
	at '^cancelling name=a signal=SIGTERM$'
	at '^cancelling name=b signal=SIGTERM$'
	at '^ended name=a state=cancelled exit_code=None signal=SIGTERM'
	at '^ended name=b state=cancelled exit_code=None signal=SIGTERM'
	assert_equal "${lines[-1]}" "run_ended outcome=interrupted exit_status=143 signal=SIGTERM"
	assert_gone a b
}

@test "atb run --events: a dependent starts only once its service is ready, as the stream shows" {
	cat >"$T/s.json" <<'EOF'
{"commands": [
  {"name": "db", "shell": "echo $$ >> \"$PIDS/db\"; echo up; exec sleep 1000", "service": true,
   "ready_when": "^up$"},
  {"name": "test", "argv": ["true"], "wait_for": ["db"]}]}
EOF
	ratb run --events "$T/ev" "$T/s.json"
	assert_equal "$status" 0
	run ev_list "$T/ev"
	assert_success
	assert_equal "${lines[0]}" "run_started version=1 mode=pool commands=2"
	before '^started name=db' '^ready name=db$'
	before '^ready name=db$' '^started name=test'
	before '^ended name=test state=succeeded' '^cancelling name=db signal=SIGTERM$'
	before '^cancelling name=db' '^ended name=db state=cancelled'
	assert_equal "${lines[-1]}" "run_ended outcome=succeeded exit_status=0 signal=None"
	assert_gone db
}

# events_refused ARGS...: atb pool ARGS is a usage error naming --events:
# 125, one line on stderr, nothing started.
events_refused() {
	ratb pool "$@" -- sh -c 'touch "$T/started"'
	assert_equal "$status" 125
	assert_equal "$output" ""
	[[ $stderr == "atb: "*--events* ]] || { echo "# the message does not name --events" >&2; return 1; }
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	[ ! -e "$T/started" ] || { echo "# a command was started" >&2; return 1; }
}

@test "--events: bad values are usage errors (125, one message naming --events), and start nothing" {
	events_refused --events fd:x
	events_refused --events fd:
	events_refused --events "$T"
	events_refused --events fd:2
	events_refused --events fd:57
	events_refused --events "$T/no/such/folder/ev"
	events_refused --events - --report -
	events_refused --events fd:1 --junit -
	# Another usage error: the stream file is not even made.
	ratb pool --events "$T/ev" -j x -- true
	assert_equal "$status" 125
	[ ! -e "$T/ev" ] || { echo "# the stream file was made" >&2; return 1; }
}
