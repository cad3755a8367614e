#!/usr/bin/env bats
# The Slurm launcher (--launcher slurm, "launcher": "slurm") against a real
# one-node cluster brought up by tests/slurm/cluster.sh (make check does;
# SLURM_CONF points at it): exit statuses, fail-fast through scancel with
# the sibling's TERM trap running, timeouts, SIGINT and SIGKILL to atb,
# steps inside an allocation, resources, srun's own lines kept out of the
# output, failed execs, and nothing left in squeue or on the node.
load ../helpers/common
bats_require_minimum_version 1.5.0

setup() {
	[ -n "${SLURM_CONF:-}" ] && [ -r "$SLURM_CONF" ] ||
		skip "no Slurm cluster (make check brings one up with tests/slurm/cluster.sh)"
	common_setup
	unset ATB_LATCH_DIR
	T_LIMIT=60
}

teardown() {
	common_teardown
	# A test that failed may leave jobs: none may reach the next test.
	scancel -u "$(id -u)" 2>/dev/null || true
	no_jobs || true
}

# no_jobs: waits (bounded) until squeue lists no atb job, finished or not.
no_jobs() {
	local i left
	for ((i = 0; i < 300; i++)); do
		left=$(squeue -h -o '%i %j %T' 2>/dev/null | grep ' atb-') || true
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	echo "# left in squeue: $left" >&2
	return 1
}

# sl ARGS...: ratb with the Slurm launcher.
sl() {
	local mode=$1
	shift
	ratb "$mode" --launcher slurm "$@"
}

spec() {
	cat >"$T/$1"
}

@test "slurm: exit statuses pass through: 0, 7, and 128+N for a task killed by signal N" {
	sl pool -- true
	assert_equal "$status" 0
	sl pool -- sh -c 'exit 7'
	assert_equal "$status" 7
	sl pool -- sh -c 'kill -USR1 $$'
	assert_equal "$status" 138
	no_jobs
}

@test "slurm: fail-fast cancels the sibling through scancel: its TERM trap runs, nothing is left" {
	spec s.json <<EOF
{"launcher": "slurm", "commands": [
  {"name": "victim", "shell": "trap 'echo trapped >$T/trap; exit 3' TERM; echo \$\$ >$T/victim.pid; sleep 1000 & wait"},
  {"name": "bad", "shell": "while [ ! -s $T/victim.pid ]; do sleep 0.05; done; exit 5"}
]}
EOF
	ratb run --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 5
	assert_equal "$(cat "$T/trap")" trapped
	run states
	assert_output '[["victim", "cancelled"], ["bad", "failed"]]'
	# The victim ended of its trap, with its own status, and was signalled
	# with SIGTERM, not killed.
	assert_equal "$(rj '[c["exit_code"] for c in r["commands"] if c["name"] == "victim"][0]')" 3
	assert_equal "$(rj '[c["killed"] for c in r["commands"] if c["name"] == "victim"][0]')" false
	no_jobs
	! pid_alive "$(cat "$T/victim.pid")"
	[ -z "$(marked)" ]
}

@test "slurm: race -t 2s -- sleep 1000 times out with 124 and the job is gone" {
	sl race -t 2s -- sleep 1000
	assert_equal "$status" 124
	[[ $stderr == *"timed out after 2s"* ]]
	no_jobs
	[ -z "$(marked)" ]
}

@test "slurm: a command's own timeout and a grace that runs out: scancel --signal=KILL" {
	# The task ignores TERM: the grace (0.5s) runs out and it is killed.
	spec s.json <<EOF
{"launcher": "slurm", "grace": "500ms", "commands": [
  {"name": "stubborn", "timeout": "1s", "shell": "trap '' TERM; echo up >$T/up; sleep 1000 & wait; sleep 1000"}
]}
EOF
	ratb run --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 124
	assert_equal "$(rj 'r["commands"][0]["state"]')" timed_out
	assert_equal "$(rj 'r["commands"][0]["killed"]')" true
	no_jobs
	[ -z "$(marked)" ]
}

@test "slurm: SIGINT to atb gives 130 and cancels every job" {
	"$ATB_HELPERS/t-exec" -d INT,QUIT,HUP -- "$ATB" pool --launcher slurm \
		-- sh -c "echo \$\$ >$T/a.pid; exec sleep 1000" \
		-- sh -c "echo \$\$ >$T/b.pid; exec sleep 1000" >"$T/out" 2>"$T/err" 3>&- &
	apid=$!
	rec atb "$apid"
	wait_file "$T/a.pid"
	wait_file "$T/b.pid"
	kill -INT "$apid"
	finish_atb
	assert_equal "$status" 130
	no_jobs
	! pid_alive "$(cat "$T/a.pid")"
	! pid_alive "$(cat "$T/b.pid")"
}

@test "slurm: atb SIGKILLed: its guardian cancels the jobs (scancel), nothing is left" {
	start_atb pool --launcher slurm \
		-- sh -c "echo \$\$ >$T/a.pid; exec sleep 1000" \
		-- sh -c "echo \$\$ >$T/b.pid; exec sleep 1000"
	wait_file "$T/a.pid"
	wait_file "$T/b.pid"
	kill -KILL "$apid"
	no_jobs
	wait_gone "$(cat "$T/a.pid")" 15
	wait_gone "$(cat "$T/b.pid")" 15
	[ -z "$(marked)" ]
}

@test "slurm: inside an allocation, the commands are steps of that one job" {
	status=0
	timeout -k 5 60 salloc -Q -N1 -n2 "$ATB" pool --launcher slurm --report "$T/r.json" \
		-- sh -c "echo \$SLURM_JOB_ID >$T/a.job" \
		-- sh -c "echo \$SLURM_JOB_ID >$T/b.job" >"$T/out" 2>"$T/err" || status=$?
	cat "$T/err" >&2
	assert_equal "$status" 0
	assert_equal "$(cat "$T/a.job")" "$(cat "$T/b.job")"
	assert_equal "$(rj '[c["slurm"]["job_id"] for c in r["commands"]]')" \
		"[$(cat "$T/a.job"), $(cat "$T/a.job")]"
	assert_equal "$(rj 'sorted(c["slurm"]["step_id"] for c in r["commands"])')" "[0, 1]"
	no_jobs
}

@test "slurm: a spec's \"slurm\": {\"cpus\": 2} gives the task SLURM_CPUS_PER_TASK=2" {
	spec s.json <<EOF
{"launcher": "slurm", "commands": [
  {"name": "two", "slurm": {"cpus": 2, "time": "5", "mem": "64M"}, "argv": ["printenv", "SLURM_CPUS_PER_TASK"]},
  {"name": "one", "argv": ["sh", "-c", "echo \${SLURM_CPUS_PER_TASK:-unset}"]}
]}
EOF
	ratb run -o group "$T/s.json"
	assert_equal "$status" 0
	[[ $output == *$'==> two <==\n2'* ]]
	[[ $output == *$'==> one <==\nunset'* ]]
}

@test "slurm: srun's own lines stay out of the output; the task's stderr does not" {
	sl pool -- sh -c 'echo to-out; echo to-err >&2'
	assert_equal "$status" 0
	assert_equal "$output" to-out
	assert_equal "$stderr" to-err
	# The same in prefix mode, where atb reads both streams.
	sl pool -- sh -c 'echo to-out; echo to-err >&2' -- true
	assert_equal "$status" 0
	[[ $output == *"to-out"* ]]
	[[ $stderr == *"to-err"* ]]
	[[ $stderr != *"srun:"* ]]
	[[ $stderr != *"slurmstepd"* ]]
}

@test "slurm: a task that cannot be executed is 'not found' (127) or 'cannot execute' (126)" {
	printf 'echo hi\n' >"$T/noexec.sh"
	chmod 644 "$T/noexec.sh"
	spec nf.json <<EOF
{"launcher": "slurm", "commands": [{"name": "nx", "argv": ["$T/nonexistent"]}]}
EOF
	ratb run --report "$T/r.json" "$T/nf.json"
	assert_equal "$status" 127
	stderr_has "command not found"
	assert_equal "$(rj 'r["commands"][0]["exit_code"]')" 127
	spec ne.json <<EOF
{"launcher": "slurm", "commands": [{"name": "ne", "argv": ["$T/noexec.sh"]}]}
EOF
	ratb run "$T/ne.json"
	assert_equal "$status" 126
	[[ $stderr != *"slurmstepd"* ]]
}

@test "slurm: what kept a job from running (a partition that does not exist) is the command's error" {
	spec s.json <<EOF
{"launcher": "slurm", "commands": [{"name": "p", "slurm": {"partition": "nosuchpart"}, "argv": ["true"]}]}
EOF
	ratb run --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 1
	[[ $(rj 'r["commands"][0]["error"]') == *"nvalid partition"* ]]
	stderr_has "nvalid partition"
	assert_equal "$(rj 'r["commands"][0]["slurm"]')" null
}

@test "slurm: a service is ready on its output line, the work waits for it, then it is cancelled" {
	spec s.json <<EOF
{"launcher": "slurm", "commands": [
  {"name": "srv", "service": true, "ready_when": "^listening",
   "shell": "trap 'echo stopped >$T/srv.stop; exit 0' TERM; echo listening; sleep 1000 & wait"},
  {"name": "client", "wait_for": ["srv"], "shell": "echo client-ran"}
]}
EOF
	ratb run --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 0
	[[ $output == *"client-ran"* ]]
	assert_equal "$(cat "$T/srv.stop")" stopped
	run states
	assert_output '[["srv", "cancelled"], ["client", "succeeded"]]'
	no_jobs
}

@test "slurm: wait-all runs everything to its end, cleanup runs after, JUnit has the job ids" {
	spec s.json <<EOF
{"launcher": "slurm", "mode": "wait-all", "commands": [
  {"name": "a", "shell": "exit 2"},
  {"name": "b", "shell": "echo b-done"}],
 "cleanup": [{"name": "tidy", "shell": "echo tidied >$T/tidy"}]}
EOF
	ratb run --junit "$T/j.xml" --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 2
	assert_equal "$(cat "$T/tidy")" tidied
	run states
	assert_output '[["a", "failed"], ["b", "succeeded"], ["tidy", "succeeded"]]'
	for name in a b tidy; do
		id=$(rj "[c['slurm']['job_id'] for c in r['commands'] if c['name'] == '$name'][0]")
		grep -q "<property name=\"slurm:$name\" value=\"$id\"/>" "$T/j.xml"
	done
}

@test "slurm: a setsid descendant is killed with its job where proctrack/cgroup is in use" {
	grep -q '^ProctrackType=proctrack/cgroup' "$SLURM_CONF" ||
		skip "the cluster uses $(grep '^ProctrackType' "$SLURM_CONF") (no cgroup freezer here)"
	sl race -t 2s -- sh -c "setsid sh -c 'echo \$\$ >$T/esc.pid; exec sleep 1000' & exec sleep 1000"
	assert_equal "$status" 124
	no_jobs
	wait_file "$T/esc.pid"
	wait_gone "$(cat "$T/esc.pid")" 15
}

@test "slurm: a lone command reads atb's stdin, forwarded by srun" {
	status=0
	printf 'one\ntwo\n' | timeout -k 5 60 "$ATB" race -t 30s --launcher slurm -- cat \
		>"$T/out" 2>"$T/err" || status=$?
	cat "$T/err" >&2
	assert_equal "$status" 0
	assert_equal "$(cat "$T/out")" "$(printf 'one\ntwo')"
}
