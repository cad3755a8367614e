#!/usr/bin/env bats
# Reports: silence on success, -v, the text report on failure, and the
# JSON report (--report FILE and --report -) on every exit path.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}


@test "silent on success: nothing of atb's own on stdout or stderr" {
	ratb pool -- true -- sh -c 'exit 0'
	assert_equal "$status" 0
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	ratb race -- true
	assert_equal "$output$stderr" ""
	ratb wait-all -j 1 -t 1h -g 1s -- true -- true
	assert_equal "$output$stderr" ""
}

@test "-v/--verbose: on success the summary names every command" {
	ratb pool -v -n alpha-cmd,beta-cmd -- true -- true
	assert_equal "$status" 0
	[[ "$output$stderr" == *alpha-cmd* ]]
	[[ "$output$stderr" == *beta-cmd* ]]
	ratb wait-all --verbose -n gamma-cmd -- true
	[[ "$output$stderr" == *gamma-cmd* ]]
}

@test "failure report: on stderr, a headline with the mode, a line for each command that did not succeed" {
	ratb wait-all -n fine-cmd,bad-cmd,worse-cmd -- true -- sh -c 'exit 3' -- sh -c 'kill -SEGV $$'
	# Whichever failed first in time.
	[[ $status == 3 || $status == 139 ]]
	assert_equal "$output" ""
	[[ $(head -n 1 <<<"$stderr") == *wait-all* ]]
	assert_equal "$(grep -c 'bad-cmd.*exit 3' <<<"$stderr")" 1
	assert_equal "$(grep -c 'worse-cmd.*killed by SIGSEGV' <<<"$stderr")" 1
	[[ $stderr != *fine-cmd* ]] || { echo "# a command that succeeded is listed" >&2; return 1; }
}

@test "failure report: cancelled and not-started commands are listed as such" {
	ratb pool -j 2 -g 5s -n victim,bad,queued -- sh -c "$(long victim)" -- sh -c 'exit 3' -- true
	assert_equal "$status" 3
	assert_equal "$(grep -c 'victim.*cancelled (SIGTERM)' <<<"$stderr")" 1
	assert_equal "$(grep -c 'queued.*not started' <<<"$stderr")" 1
	assert_equal "$(grep -c 'bad.*exit 3' <<<"$stderr")" 1
}

@test "--report FILE: the JSON report has every documented field, with the documented types" {
	# -j 1: ok ends before bad starts, so bad cannot cancel it first.
	ratb pool -j 1 -g 5s --report "$T/r.json" -n ok,bad -- true -- sh -c 'exit 3'
	assert_equal "$status" 3
	run python3 - "$T/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
num = (int, float)
assert r["atb"] == 1, r["atb"]
assert r["mode"] == "pool"
assert r["exit_status"] == 3
assert r["outcome"] == "failed"
assert isinstance(r["duration_s"], num) and not isinstance(r["duration_s"], bool) and r["duration_s"] >= 0
assert r["winner"] is None
assert len(r["commands"]) == 2
ok, bad = r["commands"]
for c in r["commands"]:
    for k in ("name", "argv", "pid", "state", "exit_code", "signal", "started_s", "duration_s", "error"):
        assert k in c, k
    assert isinstance(c["pid"], int) and c["pid"] > 1
    assert isinstance(c["started_s"], num) and c["started_s"] >= 0
    assert isinstance(c["duration_s"], num) and c["duration_s"] >= 0
    assert c["started_s"] + c["duration_s"] <= r["duration_s"] + 0.002, (c, r["duration_s"])
    assert c["error"] is None and c["signal"] is None
    if "killed" in c:
        assert c["killed"] is False
assert ok["name"] == "ok" and ok["argv"] == ["true"] and ok["state"] == "succeeded" and ok["exit_code"] == 0
assert bad["name"] == "bad" and bad["argv"] == ["sh", "-c", "exit 3"]
assert bad["state"] == "failed" and bad["exit_code"] == 3
PY
	echo "$output"
	assert_equal "$status" 0
}

@test "--report: a command's pid is its real pid" {
	ratb pool --report "$T/r.json" -- sh -c 'echo $$ > "$T/pid"'
	assert_equal "$status" 0
	assert_equal "$(rj 'r["commands"][0]["pid"]')" "$(cat "$T/pid")"
}

@test "--report: a signal death has exit_code null and the signal's name" {
	ratb pool --report "$T/r.json" -- sh -c 'kill -SEGV $$'
	assert_equal "$(rj '[r["commands"][0][k] for k in ("state", "exit_code", "signal")]')" '["failed", null, "SIGSEGV"]'
	assert_equal "$(rj 'r["exit_status"]')" 139
}

@test "--report: a command not found has pid null and an error saying 'not found'" {
	echo '{"commands": [{"argv": ["atb-no-such-command-xyz"]}]}' >"$T/s.json"
	ratb run --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 127
	assert_equal "$(rj 'r["commands"][0]["pid"]')" null
	assert_equal "$(rj 'r["commands"][0]["state"]')" failed
	[[ $(rj 'r["commands"][0]["error"]') == *"not found"* ]]
	assert_equal "$(rj 'r["exit_status"]')" 127
}

@test "--report: a command never started has state not_started and pid null" {
	ratb pool -j 1 --report "$T/r.json" -- sh -c 'exit 3' -- true
	assert_equal "$(rj '[r["commands"][1][k] for k in ("state", "pid", "exit_code", "signal")]')" '["not_started", null, null, null]'
}

@test "--report: cancelled commands: state cancelled, signal SIGTERM, killed false when the signal was enough" {
	ratb pool -g 5s --report "$T/r.json" -- sh -c "$(long s)" -- sh -c 'exit 3'
	assert_equal "$(rj '[r["commands"][0][k] for k in ("state", "exit_code", "signal")]')" '["cancelled", null, "SIGTERM"]'
	if [[ $(rj '"killed" in r["commands"][0]') == true ]]; then
		assert_equal "$(rj 'r["commands"][0]["killed"]')" false
	fi
}

@test "--report - writes the JSON report to stdout" {
	ratb wait-all --report - -n quiet -- true
	assert_equal "$status" 0
	assert_equal "$(python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r["mode"], r["commands"][0]["name"], r["outcome"])' <<<"$output")" "wait-all quiet succeeded"
	assert_equal "$stderr" ""
}

@test "--report - on failure: stdout is still only the JSON report (the text report goes to stderr)" {
	ratb pool --report - -- sh -c 'exit 3'
	assert_equal "$status" 3
	assert_equal "$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["exit_status"])' <<<"$output")" 3
	[[ $stderr == *"exit 3"* ]]
}

@test "--report: written on success (outcome succeeded, exit_status 0)" {
	ratb pool --report "$T/r.json" -- true
	assert_equal "$(rj '[r["outcome"], r["exit_status"], r["winner"]]')" '["succeeded", 0, null]'
}

@test "--report: written on timeout (outcome timed_out, exit_status 124)" {
	ratb pool -t 0.3s -g 5s --report "$T/r.json" -- sh -c "$(long s)"
	assert_equal "$status" 124
	assert_equal "$(rj '[r["outcome"], r["exit_status"]]')" '["timed_out", 124]'
	assert_equal "$(rj 'r["commands"][0]["state"]')" cancelled
	assert_gone s
}

@test "--report: race names the winner" {
	ratb race -g 5s --report "$T/r.json" -n slow,fast -- sh -c "$(long slow)" -- true
	assert_equal "$(rj '[r["mode"], r["winner"], r["exit_status"]]')" '["race", "fast", 0]'
}

@test "--report: killed is true when SIGKILL followed the grace period" {
	mkfifo "$T/stub.ready"
	start_atb pool -g 0.3s --report "$T/r.json" -n stub,bad \
		-- "$ATB_HELPERS/t-trap" -p "$PIDS/stub" -r "$T/stub.ready" -i TERM -- sh -c "$(gated bad 'exit 3')"
	ready stub
	ready bad
	go bad
	finish_atb
	assert_equal "$(rj '[r["commands"][0][k] for k in ("state", "signal")]')" '["cancelled", "SIGKILL"]'
	if [[ $(rj '"killed" in r["commands"][0]') == true ]]; then
		assert_equal "$(rj 'r["commands"][0]["killed"]')" true
	fi
	[[ $stderr == *"killed after"* ]]
}

@test "--report: -c commands have argv [\"/bin/sh\", \"-c\", CMD]" {
	ratb pool --report "$T/r.json" -c 'exit 0' 'echo  "a  b" >/dev/null'
	assert_equal "$status" 0
	assert_equal "$(rj '[c["argv"] for c in r["commands"]]')" '[["/bin/sh", "-c", "exit 0"], ["/bin/sh", "-c", "echo  \"a  b\" >/dev/null"]]'
}

@test "--report on a full disk: the old report stays whole, the real error is named, 125 only because the run succeeded" {
	full_fs "$T/full"
	# An earlier report, written before the disk filled up.
	rm -f "$T/full/.fill"
	echo '{"old": true}' >"$T/full/r.json"
	head -c 2M /dev/zero >"$T/full/.fill" 2>/dev/null || true
	ratb pool --report "$T/full/r.json" -- seq 2000
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: $T/full/r.json: cannot write the report: No space left on device (the run itself succeeded)"
	assert_equal "$(cat "$T/full/r.json")" '{"old": true}'
	# No temporary file is left beside it.
	assert_equal "$(ls -A "$T/full" | sort | xargs)" ".fill r.json"
	# A run that failed keeps its own status; the message says no more.
	ratb pool --report "$T/full/r.json" -- seq 2000 -- false
	assert_equal "$status" 1
	[[ "$stderr" == "atb: $T/full/r.json: cannot write the report: No space left on device"$'\n'* ]]
	assert_equal "$(cat "$T/full/r.json")" '{"old": true}'
}

@test "--report: the report replaces the old one whole, by a rename in its folder" {
	echo '{"old": true}' >"$T/r.json"
	ino=$(stat -c %i "$T/r.json")
	ratb pool --report "$T/r.json" -- true
	assert_equal "$status" 0
	assert_equal "$(rj 'r["outcome"]')" succeeded
	[ "$(stat -c %i "$T/r.json")" != "$ino" ]
	assert_equal "$(ls -A "$T" | grep -c atb-)" 0
	# A target that is not a regular file is written in place.
	mkfifo "$T/fifo"
	cat "$T/fifo" >"$T/from-fifo" &
	rec cat $!
	ratb pool --report "$T/fifo" -- true
	assert_equal "$status" 0
	wait_file "$T/from-fifo"
	report_get "$T/from-fifo" 'r["outcome"]'
}

@test "--report - into a closed pipe: the real error, and the run's success said" {
	run bash -c "'$ATB' pool --report - -- true 2>'$T/err' | true; echo \"status \${PIPESTATUS[0]}\""
	assert_output 'status 125'
	assert_equal "$(cat "$T/err")" "atb: -: cannot write the report: Broken pipe (the run itself succeeded)"
}

@test "--junit on a full disk: the same, whole or not at all" {
	full_fs "$T/full"
	ratb pool --junit "$T/full/j.xml" -- seq 2000
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: $T/full/j.xml: cannot write the report: No space left on device (the run itself succeeded)"
	[ ! -e "$T/full/j.xml" ]
	assert_equal "$(ls -A "$T/full")" ".fill"
}

@test "summary colours: failures red, what was stopped yellow, where stderr has colours" {
	ratb pool --color always -n bad,other -- sh -c 'exit 3' -- sh -c 'echo $$ >>$PIDS/other; exec sleep 100'
	assert_equal "$status" 3
	[[ $stderr == *$'atb: pool \e[31mfailed\e[0m:'* ]]
	[[ $stderr == *$'bad    \e[31mexit 3'* ]]
	[[ $stderr == *$'other  \e[33mcancelled (SIGTERM)'* ]]
	ratb pool -v --color always -n good -- true
	[[ $stderr == *$'\e[32mexit 0'* ]]
	# --color never beats FORCE_COLOR.
	FORCE_COLOR=1 ratb pool --color never -n bad -- sh -c 'exit 3'
	[[ $stderr != *$'\e['* ]]
	FORCE_COLOR=0 ratb pool -n bad -- sh -c 'exit 3'
	[[ $stderr != *$'\e['* ]]
	FORCE_COLOR=1 ratb pool -n bad -- sh -c 'exit 3'
	[[ $stderr == *$'\e[31mexit 3'* ]]
}
