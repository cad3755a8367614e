#!/usr/bin/env bats
# --junit FILE: the JUnit XML report. Checked with xmllint (well-formed, and
# valid against tests/fixtures/junit.xsd) and read back with Python's XML
# parser for the counts.

load helpers/common

setup() {
	common_setup
	cd "$T" || return 1
	XSD=$BATS_TEST_DIRNAME/fixtures/junit.xsd
}

ratb() {
	status=0
	atb "$@" >"$T/out" 2>"$T/err" 3>&- || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	printf '# atb %s\n# status %s\n# stdout: %s\n# stderr: %s\n' "$*" "$status" "$output" "$stderr" >&2
}

spec() {
	cat >"$T/$1"
}

# junit_get FILE EXPR: a Python expression over the parsed XML: `s` is the
# <testsuite>, `case(NAME)` a <testcase> by name.
junit_get() {
	python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
s = root.find("testsuite")
def case(name):
    return [c for c in s.findall("testcase") if c.get("name") == name][0]
v = eval(sys.argv[2])
print(v if isinstance(v, str) else repr(v))' "$1" "$2"
}

# valid FILE: well-formed, valid against the JUnit schema and against
# Jenkins' stricter junit-10.xsd, and read by a real consumer
# (python3-junitparser), whose counts must agree with the file's.
valid() {
	xmllint --noout "$1"
	xmllint --noout --schema "$XSD" "$1"
	xmllint --noout --schema "$BATS_TEST_DIRNAME/fixtures/junit-10.xsd" "$1"
	# Debian's package is for Debian's python3, whatever else is in PATH.
	local py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	"$py" -c '
import sys
from junitparser import JUnitXml
x = JUnitXml.fromfile(sys.argv[1])
suites = list(x) if hasattr(x, "__iter__") else [x]
n = sum(1 for s in suites for c in s)
assert n == sum(int(s.tests) for s in suites), (n, [s.tests for s in suites])' "$1"
}

@test "junit: failed, cancelled and not started commands, counted" {
	mkfifo "$T/slow.ready"
	spec s.json <<-EOF
	{"jobs": 2, "commands": [
	  {"name": "slow", "shell": "echo \$\$ >> \$PIDS/slow; echo r > $T/slow.ready; exec sleep 1000"},
	  {"name": "bad", "shell": "read x < $T/slow.ready; exit 3"},
	  {"name": "late", "argv": ["true"]}
	]}
	EOF
	ratb run --junit j.xml s.json
	assert_equal "$status" 3
	valid j.xml
	assert_equal "$(junit_get j.xml 's.get("tests"), s.get("failures"), s.get("skipped"), s.get("errors")')" "('3', '1', '2', '0')"
	assert_equal "$(junit_get j.xml 'case("bad").find("failure").get("message")')" "exit 3"
	assert_equal "$(junit_get j.xml 'case("bad").find("failure").get("type")')" "exit"
	assert_equal "$(junit_get j.xml 'case("bad").get("classname")')" "atb.pool"
	assert_equal "$(junit_get j.xml 'case("slow").find("skipped").get("message")')" "cancelled (SIGTERM)"
	assert_equal "$(junit_get j.xml 'case("late").find("skipped").get("message")')" "not started"
	assert_equal "$(junit_get j.xml 's.get("name")')" "s.json"
	assert_equal "$(junit_get j.xml '[p.get("value") for p in s.iter("property") if not p.get("name").startswith("usage:")]')" "['pool', 'failed', '3']"
}

@test "junit: successes, a service, cleanup commands" {
	spec s.json <<-'EOF'
	{"mode": "wait-all", "commands": [
	  {"name": "api", "shell": "exec sleep 1000", "service": true},
	  {"name": "unit", "shell": "true"},
	  {"name": "lint", "argv": ["sh", "-c", "kill -TERM $$"]}
	], "cleanup": [{"name": "down", "shell": "true"}]}
	EOF
	ratb run --junit j.xml s.json
	assert_equal "$status" 143
	valid j.xml
	assert_equal "$(junit_get j.xml 's.get("tests"), s.get("failures"), s.get("skipped")')" "('4', '1', '1')"
	# A service ended in a run that failed is skipped, as the text report
	# lists it cancelled.
	assert_equal "$(junit_get j.xml 'case("api").find("skipped").get("message")')" "cancelled (SIGTERM)"
	assert_equal "$(junit_get j.xml 'len(list(case("unit")))')" "0"
	assert_equal "$(junit_get j.xml 'case("lint").find("failure").get("message")')" "killed by SIGTERM"
	assert_equal "$(junit_get j.xml 'case("down").get("classname")')" "atb.wait-all.cleanup"
	assert_equal "$(junit_get j.xml 'case("unit").get("classname")')" "atb.wait-all"
	# In a run that succeeded, a service cancelled at the end did its job.
	spec s2.json <<-'EOF'
	{"commands": [
	  {"name": "api", "shell": "exec sleep 1000", "service": true},
	  {"name": "unit", "shell": "true"}
	]}
	EOF
	ratb run --junit j2.xml s2.json
	assert_equal "$status" 0
	valid j2.xml
	assert_equal "$(junit_get j2.xml 'len(list(case("api")))')" "0"
	assert_equal "$(junit_get j2.xml 's.get("skipped")')" "0"
}

@test "junit: a run that timed out fails what it cut short" {
	spec s.json <<-'EOF'
	{"timeout": "0.3s", "commands": [
	  {"name": "slow", "shell": "echo $$ >> $PIDS/slow; exec sleep 1000"}
	]}
	EOF
	ratb run --junit j.xml s.json
	assert_equal "$status" 124
	valid j.xml
	assert_equal "$(junit_get j.xml 'case("slow").find("failure").get("type")')" "timeout"
	assert_equal "$(junit_get j.xml 's.get("failures")')" "1"
}

@test "junit: a command's own timeout, a command not found" {
	spec s.json <<-'EOF'
	{"mode": "wait-all", "commands": [
	  {"name": "slow", "shell": "echo $$ >> $PIDS/slow; exec sleep 1000", "timeout": "0.2s"},
	  {"name": "ghost", "argv": ["/nonexistent/atb-test-program"]}
	]}
	EOF
	ratb run --junit j.xml s.json
	valid j.xml
	assert_equal "$(junit_get j.xml 'case("slow").find("failure").get("message")')" "timed out"
	assert_equal "$(junit_get j.xml 'case("ghost").find("failure").get("message")')" "command not found"
	assert_equal "$(junit_get j.xml 'case("ghost").find("failure").get("type")')" "start"
}

@test "junit: names and arguments are escaped; control characters replaced" {
	spec s.json <<-'EOF'
	{"commands": [
	  {"name": "a<b>&\"c'd", "argv": ["sh", "-c", "exit 2", "\u001b[31m", "\u0001]]>\u00e9"]}
	]}
	EOF
	ratb run --junit j.xml s.json
	assert_equal "$status" 2
	valid j.xml
	assert_equal "$(junit_get j.xml 's.find("testcase").get("name")')" "a<b>&\"c'd"
	assert_equal "$(junit_get j.xml 's.find("testcase").find("failure").text.split("command: ")[1]')" \
		"sh -c exit 2 �[31m �]]>é"
	! grep -q $'\x1b' j.xml
}

@test "junit: to stdout with '-'" {
	spec s.json <<<'{"commands": [{"argv": ["true"]}]}'
	ratb run --junit - s.json
	assert_equal "$status" 0
	printf '%s\n' "$output" >"$T/j.xml"
	valid "$T/j.xml"
	assert_equal "$(junit_get "$T/j.xml" 's.get("tests")')" "1"
}

@test "junit: a path that cannot be written is an error before anything starts" {
	spec s.json <<<'{"commands": [{"shell": "touch started"}]}'
	ratb run --junit "$T/no/such/j.xml" s.json
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: --junit: cannot open '$T/no/such/j.xml': No such file or directory"
	[ ! -e "$T/started" ]
}

@test "junit: an invalid spec writes no report" {
	spec s.json <<<'{"commands": [{"shell": "touch started"}], "x": 1}'
	ratb run --junit j.xml s.json
	assert_equal "$status" 125
	[ ! -e "$T/j.xml" ]
	[ ! -e "$T/started" ]
}

@test "junit: system-out holds the last 64 KiB a command wrote, in group and prefix modes" {
	local mode status=0
	for mode in group prefix; do
		atb pool -o "$mode" --junit "j-$mode.xml" -n big,small -- \
			sh -c 'head -c 100000 /dev/zero | tr "\0" y; echo; echo tail-out; echo tail-err >&2' -- echo small \
			>/dev/null 2>&1 || status=$?
		assert_equal "$status" 0
		valid "j-$mode.xml"
		assert_equal "$(junit_get "j-$mode.xml" 'case("small").find("system-out").text')" "small"
		assert_equal "$(junit_get "j-$mode.xml" 'len(case("big").find("system-out").text.encode())')" 65536
		assert_equal "$(junit_get "j-$mode.xml" '"tail-out" in case("big").find("system-out").text.split("\n")[-3:]')" "True"
	done
	# Group mode holds stdout and stderr apart: stderr's tail comes last
	# (in prefix mode it may come anywhere the reads put it).
	assert_equal "$(junit_get j-group.xml 'case("big").find("system-out").text[-18:]')" $'tail-out\ntail-err'
}
