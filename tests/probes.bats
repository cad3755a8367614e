#!/usr/bin/env bats
# Readiness probes (ready_probe, health_probe; --ready-probe,
# --health-probe): TCP and HTTP probes against t-listen, a listener that
# listens only when the test lets it, exec probes, ready_timeout, health
# probes that fail a run, no probe process left behind, and the errors.
load helpers/common
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	unset ATB_LATCH_DIR
}

teardown() {
	local pid
	# A listener ends of SIGTERM with status 0, collected here, so that
	# bash has no job to report as killed.
	for pid in $(cat "$PIDS/listen" 2>/dev/null); do
		kill -TERM "$pid" 2>/dev/null && wait_gone "$pid" 5 && wait "$pid" 2>/dev/null
	done
	common_teardown
}

spec() {
	cat >"$T/$1"
}

# listener ARGS...: t-listen bound on 127.0.0.1 in the background, recorded
# for teardown, with ARGS (see tests/helpers/t-listen.c); sets port once
# the port is written (before it listens).
listener() {
	"$ATB_HELPERS/t-listen" -p "$T/port" "$@" >"$T/listen.out" 2>&1 3>&- &
	rec listen $!
	wait_file "$T/port"
	port=$(cat "$T/port")
}

@test "probes: tcp: the dependent starts only once the port listens" {
	# t-listen listens 100ms after srv made $T/go, and writes $T/listening
	# just before: a client started before the probe's success finds no
	# file (one started after it always does).
	listener -w "$T/go" -d 100 -F "$T/listening" -l "$T/log"
	spec s.json <<EOF2
{"commands": [
  {"name": "srv", "service": true,
   "ready_probe": {"tcp": "127.0.0.1:$port", "interval": "20ms"},
   "shell": "touch $T/go; exec sleep 1000"},
  {"name": "client", "wait_for": ["srv"],
   "shell": "if [ -e $T/listening ]; then echo after; else echo before; fi >$T/client"}
]}
EOF2
	run atb run --report "$T/r.json" "$T/s.json"
	assert_success
	assert_equal "$(cat "$T/client")" after
	run states
	assert_output '[["srv", "cancelled"], ["client", "succeeded"]]'
	# The probe connected, and stopped at its first success.
	assert_equal "$(cat "$T/log")" accept
}

@test "probes: http: ready at the first 2xx (503, 503, then 200)" {
	listener -H 503,503,200 -l "$T/log"
	spec s.json <<EOF2
{"commands": [
  {"name": "web", "service": true,
   "ready_probe": {"http": "http://127.0.0.1:$port/health", "interval": "20ms"},
   "shell": "exec sleep 1000"},
  {"name": "client", "wait_for": ["web"], "shell": "cp $T/log $T/seen"}
]}
EOF2
	run atb run --report "$T/r.json" "$T/s.json"
	assert_success
	# The listener logs a request before it answers it: the client saw
	# all three, and there was no fourth.
	assert_equal "$(cat "$T/seen")" "$(printf '503 /health\n503 /health\n200 /health')"
	assert_equal "$(cat "$T/log")" "$(cat "$T/seen")"
	run states
	assert_output '[["web", "cancelled"], ["client", "succeeded"]]'
}

@test "probes: exec: fails twice, then succeeds; with the command's environment" {
	# The count is in a file the command's env names.
	printf '%s\n' 'n=$(cat "$COUNTER" 2>/dev/null || echo 0)' 'n=$((n + 1))' \
		'echo "$n" >"$COUNTER"' '[ "$n" -ge 3 ]' >"$T/probe.sh"
	spec s.json <<EOF2
{"commands": [
  {"name": "srv", "service": true, "env": {"COUNTER": "$T/n"},
   "ready_probe": {"exec": ["sh", "$T/probe.sh"], "interval": "20ms"},
   "shell": "exec sleep 1000"},
  {"name": "client", "wait_for": ["srv"], "shell": "cp $T/n $T/seen"}
]}
EOF2
	run atb run --report "$T/r.json" "$T/s.json"
	assert_success
	assert_equal "$(cat "$T/seen")" 3
	assert_equal "$(cat "$T/n")" 3
}

@test "probes: a probe that never succeeds: ready_timeout, timed_out, 124" {
	# Bound, never listening: every attempt is refused at once.
	listener -w "$T/never"
	spec s.json <<EOF2
{"commands": [
  {"name": "slow", "ready_probe": {"tcp": "127.0.0.1:$port", "interval": "20ms"},
   "ready_timeout": "300ms", "shell": "exec sleep 1000"},
  {"name": "after", "wait_for": ["slow"], "shell": "touch $T/after"}
]}
EOF2
	run atb run --report "$T/r.json" "$T/s.json"
	assert_failure 124
	run states
	assert_output '[["slow", "timed_out"], ["after", "not_started"]]'
	assert_equal "$(rj 'r["exit_status"]')" 124
	[ ! -e "$T/after" ]
}

@test "probes: a health probe that starts failing fails the run: service unhealthy" {
	touch "$T/healthy"
	spec s.json <<EOF2
{"commands": [
  {"name": "srv", "service": true,
   "ready_probe": {"exec": ["test", "-e", "$T/healthy"], "interval": "20ms"},
   "health_probe": {"exec": ["test", "-e", "$T/healthy"], "interval": "20ms",
                    "failures": 3},
   "shell": "exec sleep 1000"},
  {"name": "main", "wait_for": ["srv"], "shell": "echo \$\$ >$T/main.pid; exec sleep 1000"}
]}
EOF2
	start_atb run --report "$T/r.json" "$T/s.json"
	wait_file "$T/main.pid"
	rm "$T/healthy"
	finish_atb
	assert_equal "$status" 1
	assert_equal "$(rj '[(c["name"], c["state"], c["error"]) for c in r["commands"]]')" \
		'[["srv", "failed", "service unhealthy"], ["main", "cancelled", null]]'
	assert_equal "$(rj 'r["outcome"]')" failed
	stderr_has 'service unhealthy'
	wait_unmarked
}

@test "probes: a health probe watches a service made ready by ready_when" {
	spec s.json <<EOF2
{"timeout": "5s", "commands": [
  {"name": "srv", "service": true, "ready_when": "^up$",
   "health_probe": {"exec": ["false"], "interval": "20ms", "failures": 2},
   "shell": "echo up; exec sleep 1000"},
  {"name": "main", "wait_for": ["srv"], "shell": "exec sleep 1000"}
]}
EOF2
	run atb run --report "$T/r.json" "$T/s.json"
	assert_failure 1
	assert_equal "$(rj '[(c["name"], c["state"], c["error"]) for c in r["commands"]]')" \
		'[["srv", "failed", "service unhealthy"], ["main", "cancelled", null]]'
}

@test "probes: no probe process is left behind when the run is cancelled" {
	spec s.json <<EOF2
{"commands": [
  {"name": "srv", "service": true,
   "ready_probe": {"shell": "echo \$\$ >$T/probe.pid; exec sleep 1000", "timeout": "100s"},
   "shell": "exec sleep 1000"},
  {"name": "main", "wait_for": ["srv"], "shell": "touch $T/main"}
]}
EOF2
	start_atb run --report "$T/r.json" "$T/s.json"
	wait_file "$T/probe.pid"
	kill -TERM "$apid"
	finish_atb
	assert_equal "$status" 143
	run states
	assert_output '[["srv", "cancelled"], ["main", "not_started"]]'
	# The probe's process (with the test's mark), and everything else.
	! pid_alive "$(cat "$T/probe.pid")"
	wait_unmarked
	[ ! -e "$T/main" ]
}

@test "probes: a probe and ready_when together are refused (125, at the JSON path)" {
	spec s.json <<EOF2
{"commands": [
  {"name": "srv", "service": true, "ready_when": "up",
   "ready_probe": {"tcp": "127.0.0.1:9"},
   "shell": "touch $T/started; exec sleep 1000"}
]}
EOF2
	run atb run "$T/s.json"
	assert_failure 125
	assert_output --partial 'commands[0].ready_probe:'
	assert_output --partial 'ready_when'
	[ ! -e "$T/started" ]
}

@test "probes: a health probe on a command that is not a service is refused" {
	spec s.json <<EOF2
{"commands": [
  {"name": "job", "health_probe": {"tcp": "127.0.0.1:9"}, "shell": "touch $T/started"}
]}
EOF2
	run atb run "$T/s.json"
	assert_failure 125
	assert_output --partial 'commands[0].health_probe: only a service has a health probe'
	[ ! -e "$T/started" ]
}

@test "probes: a cleanup command cannot have a probe" {
	spec s.json <<EOF2
{"commands": [{"shell": "touch $T/started"}],
 "cleanup": [{"shell": "true", "ready_probe": {"tcp": "127.0.0.1:9"}}]}
EOF2
	run atb run "$T/s.json"
	assert_failure 125
	assert_output --partial 'cleanup[0].ready_probe'
	[ ! -e "$T/started" ]
}

@test "--ready-probe NAME=tcp:HOST:PORT in the argument form" {
	# The listener logs to a fifo, which the command reads: the command
	# ends once the probe has connected.
	mkfifo "$T/log"
	listener -l "$T/log"
	ratb pool -t 20s --report "$T/r.json" --ready-probe "srv=tcp:127.0.0.1:$port" -n srv \
		-- head -n 1 "$T/log"
	assert_equal "$status" 0
	assert_equal "$output" accept
}

@test "--ready-probe exec: its output shows only with -v, on stderr" {
	mkfifo "$T/probed"
	ratb pool --ready-probe "w=exec:echo probe-said-hi; echo x >$T/probed" -n w \
		-- head -n 1 "$T/probed"
	assert_equal "$status" 0
	[[ $output != *probe-said-hi* && $stderr != *probe-said-hi* ]]
	ratb pool -v --ready-probe "w=exec:echo probe-said-hi; echo x >$T/probed" -n w \
		-- head -n 1 "$T/probed"
	assert_equal "$status" 0
	[[ $output != *probe-said-hi* ]]
	stderr_has probe-said-hi
}

@test "atb run --ready-probe gives a command of the spec its probe" {
	listener -H 200 -l "$T/log"
	spec s.json <<EOF2
{"commands": [
  {"name": "web", "service": true, "shell": "exec sleep 1000"},
  {"name": "client", "wait_for": ["web"], "shell": "cp $T/log $T/seen"}
]}
EOF2
	run atb run --ready-probe "web=http:http://127.0.0.1:$port/up" "$T/s.json"
	assert_success
	assert_equal "$(cat "$T/seen")" '200 /up'
	# The spec's ready_when and the option's probe: the option is named.
	spec t.json <<EOF2
{"commands": [{"name": "web", "service": true, "ready_when": "up",
  "shell": "touch $T/started; exec sleep 1000"}]}
EOF2
	run atb run --ready-probe "web=tcp:127.0.0.1:$port" "$T/t.json"
	assert_failure 125
	assert_output --partial "run: --ready-probe: 'web':"
	[ ! -e "$T/started" ]
}

# usage_error ARGS...: atb ARGS is a usage error: exit 125, one line on
# stderr starting with "atb: ", nothing started.
usage_error() {
	ratb "$@"
	assert_equal "$status" 125
	assert_equal "$output" ""
	[[ $stderr == "atb: "* ]] || { echo "# stderr does not start with 'atb: '" >&2; return 1; }
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	[ ! -e "$T/started" ] || { echo "# a command was started" >&2; return 1; }
}

@test "--ready-probe: bad values are usage errors (125) naming the option and the value" {
	local mark="touch $T/started"
	usage_error pool --ready-probe srv -- sh -c "$mark"
	stderr_has "--ready-probe: expected NAME=KIND:VALUE"
	stderr_has "'srv'"
	usage_error pool --ready-probe =tcp:127.0.0.1:80 -- sh -c "$mark"
	usage_error pool --ready-probe sh=tcp -- sh -c "$mark"
	usage_error pool --ready-probe sh=udp:127.0.0.1:53 -- sh -c "$mark"
	stderr_has "unknown kind 'udp'"
	usage_error pool --ready-probe sh=tcp: -- sh -c "$mark"
	stderr_has "'sh=tcp:'"
	usage_error pool --ready-probe 'sh=exec: ' -- sh -c "$mark"
	usage_error pool --ready-probe sh=tcp:127.0.0.1:1 --ready-probe sh=exec:true -- sh -c "$mark"
	usage_error race --health-probe sh -- sh -c "$mark"
	stderr_has "--health-probe:"
	usage_error run --ready-probe web=http: "$T/none.json"
	# The target and the name are checked with the run, before the start.
	usage_error pool --ready-probe sh=tcp:127.0.0.1 -- sh -c "$mark"
	stderr_has "pool: --ready-probe: 'sh': tcp: expected HOST:PORT"
	usage_error pool --ready-probe sh=http:https://127.0.0.1/ -- sh -c "$mark"
	usage_error pool --ready-probe nosuch=tcp:127.0.0.1:1 -- sh -c "$mark"
	stderr_has "pool: --ready-probe: no command is named 'nosuch'"
	usage_error pool --stdin --ready-probe sh=tcp:127.0.0.1:1 <<<"$mark"
}

@test "--health-probe in the modes: no command there is a service (125)" {
	usage_error wait-all --health-probe sh=tcp:127.0.0.1:1 -- sh -c "touch $T/started"
	stderr_has "wait-all: --health-probe: 'sh': only a service has a health probe"
}

@test "probes: the event stream: probe_failed for each failed attempt, then ready, then the dependent starts" {
	spec s.json <<EOF2
{"commands": [
  {"name": "svc", "service": true, "shell": "exec sleep 1000",
   "ready_probe": {"shell": "n=\$(cat $T/n 2>/dev/null || echo 0); echo \$((n+1)) >$T/n; [ \$n -ge 2 ]",
                   "interval": "20ms"}},
  {"name": "dep", "wait_for": ["svc"], "shell": "true"}
]}
EOF2
	run atb run --events "$T/ev" "$T/s.json"
	assert_success
	run python3 - "$T/ev" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
seq = [(l["event"], l.get("name")) for l in lines if l["event"] != "run_started"]
fails = [l for l in lines if l["event"] == "probe_failed"]
assert [(f["probe"], f["failures"], f["what"]) for f in fails] == \
    [("ready", 1, "exit 1"), ("ready", 2, "exit 1")], fails
i = seq.index(("ready", "svc"))
assert seq.index(("probe_failed", "svc")) < i < seq.index(("started", "dep")), seq
assert all(a["t"] <= b["t"] for a, b in zip(lines, lines[1:]))
assert lines[-1]["event"] == "run_ended"
PY
	assert_success
}
