#!/usr/bin/env bats
# Readiness and dependencies in specs (ready_when, ready_timeout, sets,
# wait_for), and the private latch scope of every run.
load helpers/common
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	unset ATB_LATCH_DIR
}

spec() {
	cat >"$T/$1"
}

@test "deps: the CI shape: db ready, then migrate, then tests" {
	spec ci.json <<EOF2
{"mode": "pool", "commands": [
  {"name": "db", "service": true, "ready_when": "ready to accept connections",
   "shell": "echo starting >>$T/log; sleep 0.2; echo 'database system is ready to accept connections'; exec sleep 1000"},
  {"name": "migrate", "wait_for": ["db"], "shell": "echo migrate >>$T/log"},
  {"name": "test", "wait_for": ["migrate"], "shell": "echo test >>$T/log"}
]}
EOF2
	run atb run --report "$T/r.json" "$T/ci.json"
	assert_success
	run cat "$T/log"
	assert_output "$(printf 'starting\nmigrate\ntest')"
	run report_get "$T/r.json" '[c["state"] for c in r["commands"]]'
	assert_output '["cancelled", "succeeded", "succeeded"]'
}

@test "deps: ready_when matches a line split across reads, on stderr too" {
	spec s.json <<EOF2
{"commands": [
  {"name": "srv", "service": true, "ready_when": "^listening on [0-9]+$",
   "shell": "printf 'liste' >&2; sleep 0.2; printf 'ning on 8080\\\\n' >&2; exec sleep 1000"},
  {"name": "client", "wait_for": ["srv"], "shell": "echo connected"}
]}
EOF2
	run atb run -o prefix "$T/s.json"
	assert_success
	assert_line --partial 'connected'
}

@test "deps: ready_timeout fails a command that is not ready in time" {
	spec s.json <<'EOF2'
{"commands": [
  {"name": "slow", "ready_when": "never", "ready_timeout": "300ms", "shell": "exec sleep 1000"},
  {"name": "after", "wait_for": ["slow"], "shell": "true"}
]}
EOF2
	run atb run --report "$T/r.json" "$T/s.json"
	assert_failure 124
	run report_get "$T/r.json" '[c["state"] for c in r["commands"]]'
	assert_output '["timed_out", "not_started"]'
}

@test "deps: in wait-all a failed dependency leaves its dependents not started" {
	spec s.json <<'EOF2'
{"mode": "wait-all", "commands": [
  {"name": "build", "shell": "exit 2"},
  {"name": "test", "wait_for": ["build"], "shell": "true"},
  {"name": "deploy", "wait_for": ["test"], "shell": "true"},
  {"name": "docs", "shell": "true"}
]}
EOF2
	run atb run --report "$T/r.json" "$T/s.json"
	assert_failure 2
	run report_get "$T/r.json" '[(c["state"], c["error"]) for c in r["commands"]]'
	assert_output '[["failed", null], ["not_started", "dependency build failed"], ["not_started", "dependency test failed"], ["succeeded", null]]'
}

@test "deps: a cycle is refused before anything starts" {
	spec s.json <<EOF2
{"commands": [
  {"name": "a", "wait_for": ["c"], "shell": "touch $T/started"},
  {"name": "b", "wait_for": ["a"], "shell": "touch $T/started"},
  {"name": "c", "wait_for": ["b"], "shell": "touch $T/started"}
]}
EOF2
	run atb run "$T/s.json"
	assert_failure 125
	assert_output --partial 'dependency cycle: a -> c -> b -> a'
	[ ! -e "$T/started" ]
}

@test "deps: a run refused at start leaves no new report file, an old one as it was" {
	spec s.json <<EOF2
{"commands": [
  {"name": "a", "wait_for": ["b"], "shell": "touch $T/started"},
  {"name": "b", "wait_for": ["a"], "shell": "touch $T/started"}
]}
EOF2
	# Longer than the report that will replace it, so a leftover tail shows.
	{ head -c 100000 /dev/zero | tr '\0' x; echo "old report"; } >"$T/old.json"
	cp "$T/old.json" "$T/old.copy"
	run atb run --report "$T/new.json" --junit "$T/old.json" "$T/s.json"
	assert_failure 125
	assert_output --partial 'dependency cycle'
	[ ! -e "$T/new.json" ]
	[ ! -e "$T/started" ]
	cmp "$T/old.json" "$T/old.copy"
	# A run that starts replaces the old file whole.
	run atb run --junit "$T/old.json" - <<<'{"commands": [{"name": "x", "argv": ["true"]}]}'
	assert_success
	run grep -c 'old report' "$T/old.json"
	assert_output 0
	xmllint --noout "$T/old.json"
}

@test "deps: sets makes a latch other processes see in the run's scope" {
	spec s.json <<EOF2
{"commands": [
  {"name": "web", "service": true, "ready_when": "up", "sets": "web-up",
   "shell": "echo up; exec sleep 1000"},
  {"name": "probe", "wait_for": ["web-up"],
   "shell": "'$ATB' latch status web-up && echo \$ATB_LATCH_DIR >$T/dir"}
]}
EOF2
	run atb run "$T/s.json"
	assert_success
	assert_line --partial 'set'
	# The private scope is gone once the run is over.
	[ ! -e "$(cat "$T/dir")" ]
}

@test "deps: cancellation runs in reverse dependency order" {
	spec s.json <<EOF2
{"commands": [
  {"name": "db", "service": true, "ready_when": "^ready$",
   "shell": "trap 'echo db-term >>$T/log; exit 0' TERM; echo ready; while :; do sleep 0.05; done"},
  {"name": "app", "service": true, "wait_for": ["db"], "ready_when": "^up$",
   "shell": "trap 'echo app-term >>$T/log; sleep 0.3; echo app-exit >>$T/log; exit 0' TERM; echo up; while :; do sleep 0.05; done"},
  {"name": "check", "wait_for": ["app"], "shell": "exit 5"}
]}
EOF2
	run atb run "$T/s.json"
	assert_failure 5
	run cat "$T/log"
	assert_output "$(printf 'app-term\napp-exit\ndb-term')"
}

@test "scope: two runs side by side do not see each other's latches" {
	mkfifo "$T/a-set" "$T/b-checked"
	"$ATB" pool -o inherit -- sh -c "'$ATB' latch set x; echo >$T/a-set; cat $T/b-checked >/dev/null" \
		>"$T/a.out" 2>&1 &
	local apid=$!
	rec atb "$apid"
	wait_fifo "$T/a-set"
	run atb pool -o inherit -- sh -c "'$ATB' latch status x; s=\$?; echo >$T/b-checked; exit \$s"
	assert_failure 1
	assert_line --index 0 'unset'
	wait "$apid"
}

@test "scope: an outer ATB_LATCH_DIR is shared on purpose, and left in place" {
	mkdir -m 700 "$T/shared"
	ATB_LATCH_DIR=$T/shared run atb pool -- sh -c "'$ATB' latch set outer; echo \$ATB_LATCH_DIR"
	assert_success
	assert_output "$T/shared"
	[ -f "$T/shared/outer" ]
}

@test "scope: the private folder is made only when used" {
	mkdir -m 0700 "$T/xdg"
	unset ATB_LATCH_DIR
	export XDG_RUNTIME_DIR=$T/xdg
	run atb pool -- sh -c 'test -e "$ATB_LATCH_DIR" && echo made || echo absent'
	assert_success
	assert_output absent
	run atb pool -- sh -c "'$ATB' latch set x && test -d \"\$ATB_LATCH_DIR\" && stat -c %a \"\$ATB_LATCH_DIR\""
	assert_success
	assert_output 700
	# A command that sets a latch has it made before anything starts.
	spec s.json <<EOF2
{"commands": [{"name": "web", "ready_when": "up", "sets": "web-up",
   "shell": "test -d \"\$ATB_LATCH_DIR\" && echo up"}]}
EOF2
	run atb run "$T/s.json"
	assert_success
	assert_output --partial up
	# Nothing of any of them is left.
	run find "$T/xdg/atb" -name 'run-*'
	assert_output ''
}

@test "scope: the private folder is removed on failure, timeout and SIGINT" {
	run atb pool -- sh -c "'$ATB' latch set x && echo \$ATB_LATCH_DIR >$T/d1; exit 3"
	assert_failure 3
	[ -s "$T/d1" ]
	[ ! -e "$(cat "$T/d1")" ]
	# The deadline leaves a sanitized atb latch on a loaded machine time to
	# make the folder first.
	run atb pool -t 3s -- sh -c "'$ATB' latch set x && echo \$ATB_LATCH_DIR >$T/d2; exec sleep 1000"
	assert_failure 124
	[ -s "$T/d2" ]
	[ ! -e "$(cat "$T/d2")" ]
	mkfifo "$T/ready"
	env --default-signal=INT "$ATB" pool -- sh -c "'$ATB' latch set x && echo \$ATB_LATCH_DIR >$T/d3; echo >$T/ready; exec sleep 1000" &
	local apid=$! status=0
	rec atb "$apid"
	wait_fifo "$T/ready"
	kill -INT "$apid"
	wait "$apid" || status=$?
	[ "$status" -eq 130 ]
	[ -s "$T/d3" ]
	[ ! -e "$(cat "$T/d3")" ]
}

@test "deps: a database outlives commands that use it through others" {
	spec s.json <<EOF2
{"commands": [
  {"name": "db", "service": true, "ready_when": "^ready$",
   "shell": "trap 'echo db-term >>$T/log; exit 0' TERM; echo ready; while :; do sleep 0.05; done"},
  {"name": "migrate", "wait_for": ["db"], "shell": "true"},
  {"name": "tests", "wait_for": ["migrate"], "ready_when": "^go$",
   "shell": "trap 'sleep 0.3; echo tests-exit >>$T/log; exit 0' TERM; echo go; while :; do sleep 0.05; done"},
  {"name": "bad", "wait_for": ["tests"], "shell": "exit 6"}
]}
EOF2
	run atb run "$T/s.json"
	assert_failure 6
	run cat "$T/log"
	assert_output "$(printf 'tests-exit\ndb-term')"
}

@test "deps: a command ready through its output that then succeeds stays ready" {
	spec s.json <<'EOF2'
{"mode": "wait-all", "jobs": 1, "commands": [
  {"name": "gen", "ready_when": "^done$", "shell": "echo done"},
  {"name": "slow", "shell": "sleep 0.3"},
  {"name": "use", "wait_for": ["gen", "slow"], "shell": "echo used"}
]}
EOF2
	run atb run --report "$T/r.json" "$T/s.json"
	assert_success
	run report_get "$T/r.json" '[c["state"] for c in r["commands"]]'
	assert_output '["succeeded", "succeeded", "succeeded"]'
}

@test "deps: readiness keys are refused on --stdin lines" {
	run atb pool --stdin <<<'{"shell": "true", "wait_for": ["x"]}'
	assert_failure 125
	assert_output --partial 'belong in a spec'
}
