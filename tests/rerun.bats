#!/usr/bin/env bats
# --rerun-failed REPORT: only what did not succeed in an earlier JSON
# report runs again, with what it waits for and the cleanup commands; a
# report of other commands, or no report at all, is refused with nothing
# started. Every command appends its name to $T/log, so what ran is read
# there.

load helpers/common

setup() {
	common_setup
	cd "$T"
	touch marker
	# Four commands; b and d fail while the marker is there.
	CMDS=('echo a >>log' 'echo b >>log; test ! -f marker' 'echo c >>log'
		'echo d >>log; test ! -f marker')
}

# ran: the names in the log, sorted, on one line; the log is emptied.
ran() {
	if [ -f "$T/log" ]; then sort "$T/log" | tr '\n' ' '; fi
	: >"$T/log"
}

# first_report: the run that writes r.json, with b and d failing.
first_report() {
	ratb wait-all -c -n a,b,c,d --report "$T/r.json" "${CMDS[@]}"
	assert_equal "$status" 1
	assert_equal "$(ran)" "a b c d "
	assert_equal "$(states)" '[["a", "succeeded"], ["b", "failed"], ["c", "succeeded"], ["d", "failed"]]'
}

# A spec: a service the failing test waits for, a build it waits for too,
# a lint that succeeds on its own, and a cleanup command.
write_spec() {
	cat >"$T/s.json" <<'EOF'
{"mode": "wait-all", "commands": [
  {"name": "db", "shell": "echo db >>log; echo accepting; exec sleep 1000",
   "service": true, "ready_when": "accepting"},
  {"name": "build", "shell": "echo build >>log"},
  {"name": "lint", "shell": "echo lint >>log"},
  {"name": "test", "shell": "echo test >>log; test ! -f marker", "wait_for": ["db", "build"]}],
 "cleanup": [{"name": "clean", "shell": "echo clean >>log"}]}
EOF
}

@test "of 4 commands 2 failed: the rerun runs exactly those 2, and in a pool they pass once fixed" {
	first_report
	ratb wait-all -c -n a,b,c,d --rerun-failed "$T/r.json" --report "$T/r2.json" "${CMDS[@]}"
	assert_equal "$status" 1
	assert_equal "$(ran)" "b d "
	# The rerun's report lists what ran; the rest is under not_rerun.
	assert_equal "$(report_get "$T/r2.json" '[[c["name"], c["state"]] for c in r["commands"]]')" \
		'[["b", "failed"], ["d", "failed"]]'
	assert_equal "$(report_get "$T/r2.json" '[[c["name"], c["state"]] for c in r["not_rerun"]]')" \
		'[["a", "succeeded"], ["c", "succeeded"]]'
	rm marker
	ratb pool -c -n a,b,c,d --rerun-failed "$T/r.json" --report "$T/r3.json" "${CMDS[@]}"
	assert_equal "$status" 0
	assert_equal "$(ran)" "b d "
	assert_equal "$(report_get "$T/r3.json" '[[c["name"], c["state"]] for c in r["commands"]]')" \
		'[["b", "succeeded"], ["d", "succeeded"]]'
}

@test "a report written with --rerun-failed can itself be rerun, and so on" {
	first_report
	ratb wait-all -c -n a,b,c,d --rerun-failed "$T/r.json" --report "$T/r2.json" "${CMDS[@]}"
	assert_equal "$status" 1
	assert_equal "$(ran)" "b d "
	# Still failing: the same two again, from the rerun's report.
	ratb wait-all -c -n a,b,c,d --rerun-failed "$T/r2.json" --report "$T/r3.json" "${CMDS[@]}"
	assert_equal "$status" 1
	assert_equal "$(ran)" "b d "
	rm marker
	ratb wait-all -c -n a,b,c,d --rerun-failed "$T/r3.json" --report "$T/r4.json" "${CMDS[@]}"
	assert_equal "$status" 0
	assert_equal "$(ran)" "b d "
	assert_equal "$(report_get "$T/r4.json" 'sorted(c["name"] for c in r["not_rerun"])')" '["a", "c"]'
	ratb wait-all -c -n a,b,c,d --rerun-failed "$T/r4.json" "${CMDS[@]}"
	assert_equal "$status" 0
	assert_equal "$(ran)" ""
	stderr_has "nothing failed there; nothing to run"
}

@test "atb run: a failed command comes back with what it waits for (a service, a build), and the cleanup" {
	write_spec
	ratb run --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 1
	assert_equal "$(ran)" "build clean db lint test "
	ratb run --rerun-failed "$T/r.json" --report "$T/r2.json" "$T/s.json"
	assert_equal "$status" 1
	# lint succeeded and nothing that runs waits for it.
	assert_equal "$(ran)" "build clean db test "
	assert_equal "$(report_get "$T/r2.json" '[[c["name"], c["state"]] for c in r["commands"]]')" \
		'[["db", "cancelled"], ["build", "succeeded"], ["test", "failed"], ["clean", "succeeded"]]'
	assert_equal "$(report_get "$T/r2.json" '[c["name"] for c in r["not_rerun"]]')" '["lint"]'
	rm marker
	ratb run --rerun-failed "$T/r2.json" "$T/s.json"
	assert_equal "$status" 0
	assert_equal "$(ran)" "build clean db test "
	wait_unmarked
}

@test "cleanup commands (--finally) always run again" {
	ratb wait-all -c -n a,b,c,d --finally 'echo fin >>log' --report "$T/r.json" "${CMDS[@]}"
	assert_equal "$status" 1
	assert_equal "$(ran)" "a b c d fin "
	ratb wait-all -c -n a,b,c,d --finally 'echo fin >>log' --rerun-failed "$T/r.json" "${CMDS[@]}"
	assert_equal "$status" 1
	assert_equal "$(ran)" "b d fin "
}

@test "a report of other commands is refused (125), naming the file and what differs, and nothing runs" {
	first_report
	# A command the report does not have.
	ratb wait-all -c -n a,b,c,d,e --rerun-failed "$T/r.json" --report "$T/r2.json" "${CMDS[@]}" 'echo e >>log'
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: wait-all: --rerun-failed $T/r.json: the report has no command named 'e'"
	assert_equal "$(ran)" ""
	[ ! -e "$T/r2.json" ]
	# A command this run does not have.
	ratb wait-all -c -n a,b,c --rerun-failed "$T/r.json" "${CMDS[@]:0:3}"
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: wait-all: --rerun-failed $T/r.json: the report lists 'd', which this run does not have"
	assert_equal "$(ran)" ""
	# The same name for another command line.
	ratb wait-all -c -n a,b,c,d --rerun-failed "$T/r.json" "${CMDS[@]:0:3}" 'make check'
	assert_equal "$status" 125
	assert_equal "$stderr" \
		"atb: wait-all: --rerun-failed $T/r.json: command 'd' ran 'echo d >>log; test ! -f marker' there, 'make check' here"
	assert_equal "$(ran)" ""
	# Other words under the same names.
	ratb pool -n a,b,c,d --rerun-failed "$T/r.json" -- true -- true -- true -- true
	assert_equal "$status" 125
	stderr_has "command 'a' ran 'echo a >>log' there, 'true' here"
	assert_equal "$(ran)" ""
}

@test "a spec's report checked against atb run's commands" {
	write_spec
	ratb run --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 1
	: >"$T/log"
	sed -i 's/"name": "lint"/"name": "style"/' "$T/s.json"
	ratb run --rerun-failed "$T/r.json" "$T/s.json"
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: run: --rerun-failed $T/r.json: the report has no command named 'style'"
	assert_equal "$(ran)" ""
}

@test "a file that is not a report: missing, bad JSON (with line:col), no commands array -> 125" {
	ratb pool --rerun-failed "$T/none.json" -- sh -c 'echo x >>log'
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: pool: --rerun-failed $T/none.json: No such file or directory"
	printf '{"commands": [\n  {"name": "x",}\n]}\n' >"$T/bad.json"
	ratb race --rerun-failed "$T/bad.json" -- sh -c 'echo x >>log'
	assert_equal "$status" 125
	[[ $stderr == "atb: race: --rerun-failed $T/bad.json:2:16: "* ]] ||
		{ echo "# no file:line:col" >&2; return 1; }
	echo '{"atb": 1}' >"$T/other.json"
	ratb try-all --rerun-failed "$T/other.json" -- sh -c 'echo x >>log'
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: try-all: --rerun-failed $T/other.json: not an atb report (no \"commands\" array)"
	echo '{"commands": [{"name": "x"}]}' >"$T/short.json"
	ratb pool --rerun-failed "$T/short.json" -- sh -c 'echo x >>log'
	assert_equal "$status" 125
	stderr_has "not an atb report"
	assert_equal "$(ran)" ""
}

@test "nothing failed there: exit 0, nothing runs (not even cleanup), no report written" {
	rm marker
	ratb wait-all -c -n a,b,c,d --finally 'echo fin >>log' --report "$T/r.json" "${CMDS[@]}"
	assert_equal "$status" 0
	assert_equal "$(ran)" "a b c d fin "
	ratb wait-all -c -n a,b,c,d --finally 'echo fin >>log' --rerun-failed "$T/r.json" \
		--report "$T/r2.json" "${CMDS[@]}"
	assert_equal "$status" 0
	assert_equal "$stderr" "atb: --rerun-failed $T/r.json: nothing failed there; nothing to run"
	assert_equal "$(ran)" ""
	[ ! -e "$T/r2.json" ]
}

@test "--rerun-failed does not go with --stdin" {
	first_report
	ratb pool --stdin --rerun-failed "$T/r.json" </dev/null
	assert_equal "$status" 125
	stderr_has "does not go with --stdin"
}

@test "cancelled and not-started commands of a pool are rerun too" {
	# -j 1: a succeeds, b fails and cancels the rest, which never start.
	ratb pool -j 1 -c -n a,b,c,d --report "$T/r.json" "${CMDS[@]}"
	assert_equal "$status" 1
	assert_equal "$(ran)" "a b "
	assert_equal "$(states)" '[["a", "succeeded"], ["b", "failed"], ["c", "not_started"], ["d", "not_started"]]'
	rm marker
	ratb pool -j 1 -c -n a,b,c,d --rerun-failed "$T/r.json" "${CMDS[@]}"
	assert_equal "$status" 0
	assert_equal "$(ran)" "b c d "
}
