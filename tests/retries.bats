#!/usr/bin/env bats
# Retries (--retries, --retry-delay, --retry-backoff, and the spec keys):
# a failed attempt starts again; only the last attempt's end counts for the
# run; every attempt shows in the output, the text, JSON and JUnit reports.
# Also what each command used (CPU, memory) and GitLab's sections.

load helpers/common

setup() {
	common_setup
	cd "$T" || return 1
	# flaky N NAME: attempt K (counted in NAME.count) prints "try K" and
	# fails until K reaches N.
	cat >"$T/flaky" <<-'EOF'
	#!/bin/sh
	f=$T/$2.count
	k=$(( $(cat "$f" 2>/dev/null || echo 0) + 1 ))
	echo "$k" >"$f"
	echo "try $k"
	[ "$k" -ge "$1" ]
	EOF
	chmod +x "$T/flaky"
	export PATH=$T:$PATH
}

teardown() { common_teardown; }

ratb() {
	status=0
	atb "$@" >"$T/out" 2>"$T/err" 3>&- || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	mapfile -t lines <<<"$output"
	printf '# atb %s\n# status %s\n# stdout: %s\n# stderr: %s\n' "$*" "$status" "$output" "$stderr" >&2
}

# json FILE EXPR: a Python expression over the JSON report `r`; `c(NAME)`
# is a command by name.
json() {
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
def c(name):
    return [x for x in r["commands"] if x["name"] == name][0]
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# junit_get FILE EXPR: as in junit.bats; `case(NAME)` a <testcase>.
junit_get() {
	python3 -c '
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot().find("testsuite")
def case(name):
    return [c for c in s.findall("testcase") if c.get("name") == name][0]
v = eval(sys.argv[2])
print(v if isinstance(v, str) else repr(v))' "$1" "$2"
}

# Surefire's rerun elements are not in junit-10.xsd: a report with retries
# is checked against Surefire's documented shape, and read by junitparser.
valid_reruns() {
	xmllint --noout --schema "$BATS_TEST_DIRNAME/fixtures/surefire-reruns.xsd" "$1"
	local py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	"$py" -c '
import sys
from junitparser import JUnitXml
x = JUnitXml.fromfile(sys.argv[1])
suites = list(x) if hasattr(x, "__iter__") else [x]
assert sum(1 for s in suites for c in s) == sum(int(s.tests) for s in suites)' "$1"
}

no_pidfd() {
	[ -n "${ATB_NO_PIDFD:-}" ] && [ "$ATB_NO_PIDFD" != 0 ]
}

@test "--retries 2: fails twice, then passes; 3 attempts in the output, the notices and every report" {
	ratb pool --retries 2 -n unit,other --report r.json --junit j.xml -v -- flaky 3 u -- true
	assert_equal "$status" 0
	assert_equal "$(cat u.count)" 3
	# Prefixes: the attempt after the first.
	assert_line --regexp '^\[unit\] +try 1$'
	assert_line --regexp '^\[unit 2/3\] +try 2$'
	assert_line --regexp '^\[unit 3/3\] +try 3$'
	[[ $stderr == *"unit: attempt 1 of 3 failed (exit 1); attempt 2 now"* ]]
	[[ $stderr == *"unit: attempt 2 of 3 failed (exit 1); attempt 3 now"* ]]
	# -v: the summary says which attempt passed.
	[[ $stderr == *"unit"*"exit 0 (attempt 3 of 3)"* ]]
	assert_equal "$(json r.json '[a["state"] for a in c("unit")["attempts"]]')" '["failed", "failed", "succeeded"]'
	assert_equal "$(json r.json '[a["attempt"] for a in c("unit")["attempts"]]')" '[1, 2, 3]'
	assert_equal "$(json r.json '[a["exit_code"] for a in c("unit")["attempts"]]')" '[1, 1, 0]'
	assert_equal "$(json r.json 'c("unit")["attempts"][-1]["pid"] == c("unit")["pid"]')" true
	assert_equal "$(json r.json 'len(set(a["pid"] for a in c("unit")["attempts"]))')" 3
	assert_equal "$(json r.json 'len(c("other")["attempts"])')" 1
	# JUnit: a pass marked flaky, with each failed attempt's output.
	valid_reruns j.xml
	assert_equal "$(junit_get j.xml 's.get("failures")')" 0
	assert_equal "$(junit_get j.xml 'len(case("unit").findall("flakyFailure"))')" 2
	assert_equal "$(junit_get j.xml '[f.find("system-out").text for f in case("unit").findall("flakyFailure")]')" "['try 1\\n', 'try 2\\n']"
	assert_equal "$(junit_get j.xml 'case("unit").find("system-out").text')" "try 3"
}

@test "--retries 1: the last attempt fails the pool, and only then are the others cancelled" {
	# other records, when cancelled, how many attempts unit had made.
	ratb pool --retries 1 -g 5s -n unit,other --junit j.xml --report r.json -- flaky 9 u -- \
		sh -c 'echo $$ >>$PIDS/other; trap "cat $T/u.count >$T/seen; exit 143" TERM; while :; do sleep 0.05; done'
	assert_equal "$status" 1
	assert_equal "$(cat u.count)" 2
	assert_equal "$(cat seen)" 2
	assert_equal "$(json r.json 'c("unit")["state"]')" failed
	assert_equal "$(json r.json '[a["state"] for a in c("unit")["attempts"]]')" '["failed", "failed"]'
	assert_equal "$(json r.json 'c("other")["state"]')" cancelled
	[[ $stderr == *"unit"*"exit 1 (attempt 2 of 2)"* ]]
	valid_reruns j.xml
	assert_equal "$(junit_get j.xml 'case("unit").find("failure").get("message")')" "exit 1"
	assert_equal "$(junit_get j.xml 'len(case("unit").findall("rerunFailure"))')" 1
	assert_equal "$(junit_get j.xml 'repr(case("unit").find("rerunFailure").find("system-out").text)')" "'try 1\\n'"
}

@test "a cancelled attempt is not retried, nor one cut short by the run's deadline" {
	mkfifo up
	cat >s.json <<-EOF
	{"commands": [
	  {"name": "victim", "retries": 3,
	   "shell": "echo x >>$T/victim.starts; echo \$\$ >>$T/pids/victim; echo r >$T/up; exec sleep 1000"},
	  {"name": "bad", "shell": "read x <$T/up; exit 4"}
	]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 4
	assert_equal "$(wc -l <victim.starts)" 1
	assert_equal "$(json r.json 'c("victim")["state"]')" cancelled
	assert_equal "$(json r.json 'len(c("victim")["attempts"])')" 1
	# The run's deadline: cancelled, never tried again.
	ratb race -t 300ms --retries 3 --report r2.json -- sh -c 'echo x >>'"$T"'/late.starts; echo $$ >>$PIDS/late; exec sleep 1000'
	assert_equal "$status" 124
	assert_equal "$(wc -l <late.starts)" 1
	assert_equal "$(json r2.json 'len(r["commands"][0]["attempts"])')" 1
}

@test "a command's own time limit is retried: timed out, then passed" {
	cat >s.json <<-EOF
	{"commands": [
	  {"name": "slowfirst", "timeout": "300ms", "retries": 1,
	   "shell": "if [ -e $T/once ]; then echo fast; else : >$T/once; echo \$\$ >>$T/pids/slow; exec sleep 1000; fi"}
	]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 0
	assert_equal "$(json r.json '[a["state"] for a in c("slowfirst")["attempts"]]')" '["timed_out", "succeeded"]'
}

@test "--retry-delay and --retry-backoff space the attempts out" {
	ratb pool --retries 2 --retry-delay 200ms --retry-backoff 2 -n d --report r.json -- flaky 3 d
	assert_equal "$status" 0
	[[ $stderr == *"attempt 2 in 200ms"* ]]
	[[ $stderr == *"attempt 3 in 400ms"* ]]
	# Lower bounds only: a loaded machine may be late, never early.
	assert_equal "$(json r.json '(lambda a: a[1]["started_s"] - a[0]["started_s"] >= 0.2)(c("d")["attempts"])')" true
	assert_equal "$(json r.json '(lambda a: a[2]["started_s"] - a[1]["started_s"] >= 0.4)(c("d")["attempts"])')" true
}

@test "group mode: a block for each attempt, named with it" {
	ratb pool -o group --retries 2 -n g -- flaky 2 g
	assert_equal "$status" 0
	assert_equal "$output" "==> g 1/3 <==
try 1
==> g 2/3 <==
try 2"
}

@test "spec: top-level retries for every command, a command's own beats them; a service cannot have any" {
	cat >s.json <<-'EOF'
	{"mode": "wait-all", "retries": 2, "retry_delay": "10ms", "commands": [
	  {"name": "a", "shell": "flaky 3 a"},
	  {"name": "b", "shell": "flaky 2 b", "retries": 0}
	]}
	EOF
	ratb run --report r.json s.json
	assert_equal "$status" 1
	assert_equal "$(cat a.count)" 3
	assert_equal "$(cat b.count)" 1
	assert_equal "$(json r.json 'c("a")["state"]')" succeeded
	# --retries beats the spec's top level, not a command's own.
	rm -f a.count b.count
	ratb run --retries 0 --report r.json s.json
	assert_equal "$(cat a.count)" 1
	cat >bad.json <<-'EOF'
	{"commands": [
	  {"name": "db", "shell": "sleep 1", "service": true, "retries": 2},
	  {"name": "t", "shell": "true"}
	]}
	EOF
	ratb run bad.json
	assert_equal "$status" 125
	[[ $stderr == *"bad.json:2:"*"commands[0].retries"*"a service is never retried"* ]]
	cat >bad2.json <<-'EOF'
	{"commands": [{"shell": "true", "retries": 1.5}]}
	EOF
	ratb run bad2.json
	assert_equal "$status" 125
	[[ $stderr == *"commands[0].retries: expected a whole number from 0 to 1000, got 1.5"* ]]
}

@test "bad retry options: one message naming the option and the value, 125, nothing run" {
	ratb pool --retries -1 -- sh -c ': >ran'
	assert_equal "$status" 125
	[[ $stderr == *"--retries: expected a whole number from 0 to 1000, got '-1'"* ]]
	ratb pool --retries 2x -- true
	assert_equal "$status" 125
	ratb pool --retry-backoff 0.5 -- sh -c ': >ran'
	assert_equal "$status" 125
	[[ $stderr == *"--retry-backoff: expected a number from 1 to 1000, got '0.5'"* ]]
	ratb pool --retry-delay soon -- true
	assert_equal "$status" 125
	[[ $stderr == *"--retry-delay: invalid duration 'soon'"* ]]
	[ ! -e ran ]
}

@test "usage: CPU time and peak memory of a command and the children it waited for" {
	# The CPU is burnt and the memory taken in a child of the shell.
	ratb pool -v --report r.json --junit j.xml -n burn,idle -- \
		sh -c 'python3 -c "b = bytearray(40 << 20); sum(range(4000000))"; true' -- true
	assert_equal "$status" 0
	if no_pidfd; then
		# libev's default loop reaps without asking for the figures.
		assert_equal "$(json r.json 'c("burn")["usage"]')" null
		return 0
	fi
	assert_equal "$(json r.json 'c("burn")["usage"]["user_s"] + c("burn")["usage"]["system_s"] > 0.05')" true
	assert_equal "$(json r.json 'c("burn")["usage"]["max_rss_kib"] > 40000')" true
	assert_equal "$(json r.json 'c("idle")["usage"]["max_rss_kib"] < 40000')" true
	assert_equal "$(json r.json 'c("burn")["attempts"][0]["usage"] == c("burn")["usage"]')" true
	[[ $stderr =~ burn.*cpu\ [0-9.]+s\ \([0-9.]+s\ user,\ [0-9.]+s\ sys\),\ max\ rss\ [4-9][0-9]\.[0-9]\ MiB ]]
	[[ $(junit_get j.xml '[p.get("value") for p in s.iter("property") if p.get("name") == "usage:burn"][0]') =~ ^user_s=[0-9.]+\ system_s=[0-9.]+\ max_rss_kib=[0-9]+$ ]]
}

@test "GitLab CI: group blocks are collapsible sections, timed from the command's start" {
	local t0 t1
	t0=$(date +%s)
	# wait-all: two's failure must not cancel one before it has printed.
	GITLAB_CI=true ratb wait-all -o group -n one,two -- sh -c 'echo hello' -- sh -c 'exit 3'
	t1=$(date +%s)
	assert_equal "$status" 3
	run python3 - "$T/out" "$t0" "$t1" <<-'PY'
	import re, sys
	text = open(sys.argv[1], newline="").read()
	t0, t1 = int(sys.argv[2]), int(sys.argv[3])
	starts = re.findall(r"\x1b\[0Ksection_start:(\d+):(atb_\d+)\r\x1b\[0K==> (\S+) <==\n", text)
	ends = re.findall(r"\x1b\[0Ksection_end:(\d+):(atb_\d+)\r\x1b\[0K\n", text)
	assert sorted(s[2] for s in starts) == ["one", "two"], starts
	assert sorted(e[1] for e in ends) == sorted(s[1] for s in starts), (starts, ends)
	times = [int(s[0]) for s in starts] + [int(e[0]) for e in ends]
	assert all(t0 <= t <= t1 for t in times), (t0, t1, starts, ends)
	assert "hello\n" in text and "(no output)\n" in text, text
	PY
	assert_success
}
