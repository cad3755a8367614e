#!/usr/bin/env bats
# --launcher and the spec's "launcher" and "slurm" keys, checked before
# anything starts (exit 125, one message naming the option or the JSON
# path), with or without a cluster: tests/slurm.bats runs the launcher.
load helpers/common
bats_require_minimum_version 1.5.0

@test "launcher: --launcher takes local or slurm" {
	ratb pool --launcher pbs -- touch "$T/started"
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: pool: --launcher: expected local or slurm, got 'pbs'"
	[ ! -e "$T/started" ]
	ratb pool --launcher local -- touch "$T/started"
	assert_equal "$status" 0
	[ -e "$T/started" ]
}

@test "launcher: without srun in PATH, --launcher slurm is refused (125) and nothing starts" {
	mkdir "$T/bin"
	ln -s "$(command -v touch)" "$T/bin/touch"
	status=0
	timeout 10 env PATH="$T/bin" "$ATB" pool --launcher slurm -- touch "$T/started" 2>"$T/err" || status=$?
	assert_equal "$status" 125
	assert_equal "$(cat "$T/err")" "atb: pool: srun and scancel are needed to run on Slurm, and are not in PATH"
	[ ! -e "$T/started" ]
}

# check JSON WHERE: atb run refuses the spec JSON with "FILE:WHERE".
check() {
	printf '%s\n' "$1" >"$T/s.json"
	ratb run "$T/s.json"
	assert_equal "$status" 125
	assert_equal "$stderr" "atb: $T/s.json:$2"
}

@test "launcher: a spec's launcher and slurm keys are checked where they stand" {
	check '{"launcher": "pbs", "commands": [{"argv": ["true"]}]}' \
		"1:14: launcher: unknown launcher 'pbs' (use local or slurm)"
	check '{"commands": [{"argv": ["true"], "slurm": {"cpus": 0}}]}' \
		"1:52: commands[0].slurm.cpus: expected a whole number from 1 to 100000, got 0"
	check '{"commands": [{"argv": ["true"], "slurm": {"time": "1h"}}]}' \
		"1:52: commands[0].slurm.time: '1h' is not a time limit: MIN, MIN:SEC, H:MIN:SEC, D-H, D-H:MIN or D-H:MIN:SEC"
	check '{"commands": [{"argv": ["true"], "slurm": {"mem": "4GB"}}]}' \
		"1:51: commands[0].slurm.mem: '4GB' is not a size: a number with an optional K, M, G or T (\"4G\")"
	check '{"commands": [{"argv": ["true"], "slurm": {"args": ["hostname"]}}]}' \
		"1:53: commands[0].slurm.args[0]: 'hostname' is not an option of srun (options start with '-'; the command goes in argv or shell)"
	check '{"commands": [{"argv": ["true"], "slurm": {"cpu": 2}}]}' \
		"1:44: commands[0].slurm.cpu: unknown key; did you mean 'cpus'? allowed keys: partition, cpus, mem, time, nodes, args"
	check '{"commands": [{"argv": ["true"], "slurm": []}]}' \
		"1:43: commands[0].slurm: expected an object of srun resources (partition, cpus, mem, time, nodes, args), got an array"
}

@test "launcher: a local run takes a command's slurm keys and runs it here" {
	cat >"$T/s.json" <<EOF
{"commands": [{"argv": ["sh", "-c", "echo here"], "slurm": {"cpus": 2, "partition": "debug"}}],
 "cleanup": [{"shell": "echo tidy", "slurm": {"time": "1"}}]}
EOF
	ratb run "$T/s.json"
	assert_equal "$status" 0
	[[ $output == *here* ]]
	[[ $output == *tidy* ]]
}

# --- the launcher against stand-ins for srun and scancel (tests/helpers/
# fake-slurm): what atb says to them and does with what they say, on any
# machine; tests/slurm/slurm.bats runs the real ones. ---

fake() {
	export FAKE_SLURM=$T/slurm
	mkdir -p "$FAKE_SLURM"
	PATH=$BATS_TEST_DIRNAME/helpers/fake-slurm:$PATH
	unset SLURM_JOB_ID
}

@test "launcher (fake srun): a fail-fast cancels every sibling with one scancel --signal=TERM" {
	fake
	cmds=()
	for i in 1 2 3 4; do
		cmds+=(-- sh -c "echo \$\$ >$T/s$i.pid; exec sleep 1000")
	done
	ratb pool --launcher slurm --report "$T/r.json" "${cmds[@]:1}" \
		-- sh -c "for i in 1 2 3 4; do while [ ! -s $T/s\$i.pid ]; do sleep 0.02; done; done; exit 4"
	assert_equal "$status" 4
	# One call for the four, by job id.
	assert_equal "$(wc -l <"$FAKE_SLURM/scancel.log")" 1
	assert_equal "$(rj '[c["state"] for c in r["commands"]]')" \
		'["cancelled", "cancelled", "cancelled", "cancelled", "failed"]'
	assert_equal "$(rj 'sorted(c["slurm"]["job_id"] for c in r["commands"])')" "[1, 2, 3, 4, 5]"
	assert_equal "$(tr ' ' '\n' <"$FAKE_SLURM/scancel.log" | sort | tr '\n' ' ')" \
		"$(rj '" ".join(["--signal=TERM"] + sorted(str(c["slurm"]["job_id"]) for c in r["commands"][:4]))') "
	assert_equal "$(rj '[c["slurm"]["step_id"] for c in r["commands"]]')" \
		"[null, null, null, null, null]"
	# Each srun was named after the run and its command.
	grep -qx -- "--job-name=atb-[0-9a-f]*-sh" "$FAKE_SLURM/options.$(rj 'r["commands"][0]["slurm"]["job_id"]')"
	grep -qx -- "--job-name=atb-[0-9a-f]*-sh_5" "$FAKE_SLURM/options.$(rj 'r["commands"][4]["slurm"]["job_id"]')"
}

@test "launcher (fake srun): a task that ignores the cancel signal gets scancel --signal=KILL after the grace" {
	fake
	ratb race -t 1s -g 300ms --launcher slurm -- sh -c "trap '' TERM; while :; do sleep 0.1; done"
	assert_equal "$status" 124
	assert_equal "$(cat "$FAKE_SLURM/scancel.log")" "$(printf -- '--signal=TERM 1\n--signal=KILL 1')"
	stderr_has "timed out after 1s"
}

@test "launcher (fake srun): srun's lines stay out of stderr, the task's lines and last partial line do not" {
	fake
	ratb pool --launcher slurm -- sh -c 'echo one >&2; echo "srun: mine" >&2; printf tail >&2; echo out'
	assert_equal "$status" 0
	assert_equal "$output" out
	assert_equal "$stderr" "$(printf 'one\ntail')"
	# Prefix mode: the lines reach atb's pipes, framed.
	ratb pool --launcher slurm -- sh -c 'echo one >&2' -- true
	assert_equal "$status" 0
	[[ $stderr == *"one"* ]]
	[[ $stderr != *"srun:"* ]]
	[[ $stderr != *"launching"* ]]
}

@test "launcher (fake srun): much stderr in prefix mode arrives whole (the relay waits for atb)" {
	fake
	ratb pool --launcher slurm -o prefix --no-pad -- sh -c 'seq 1 200000 >&2' -- true
	assert_equal "$status" 0
	assert_equal "$(grep -c '^\[sh\] ' "$T/err")" 200000
	assert_equal "$(grep '^\[sh\] ' "$T/err" | tail -1)" "[sh] 200000"
}

@test "launcher (fake srun): a program srun cannot execute is 'not found' (127)" {
	fake
	printf '{"launcher": "slurm", "commands": [{"name": "nx", "argv": ["no-such-program-x"]}]}\n' >"$T/s.json"
	ratb run --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 127
	stderr_has "no-such-program-x: command not found"
	[[ $stderr != *"slurmstepd"* ]]
}

@test "launcher (fake srun): srun's error before the task ran is the command's error" {
	fake
	export FAKE_SLURM_PARTITION_ERROR=1
	printf '{"launcher": "slurm", "commands": [{"name": "p", "slurm": {"partition": "nope", "cpus": 2}, "argv": ["true"]}]}\n' >"$T/s.json"
	ratb run --report "$T/r.json" "$T/s.json"
	assert_equal "$status" 1
	assert_equal "$(rj 'r["commands"][0]["error"]')" \
		"Unable to allocate resources: Invalid partition name specified"
	stderr_has "Invalid partition name specified"
}

@test "launcher (fake srun): inside an allocation, steps: srun --exact --ntasks=1, and scancel J.S" {
	fake
	export SLURM_JOB_ID=77
	ratb race -t 500ms --launcher slurm --report "$T/r.json" -- sleep 1000
	assert_equal "$status" 124
	grep -qx -- "--exact" "$FAKE_SLURM/options.1"
	grep -qx -- "--ntasks=1" "$FAKE_SLURM/options.1"
	assert_equal "$(cat "$FAKE_SLURM/scancel.log")" "--signal=TERM 1.0"
	assert_equal "$(rj 'r["commands"][0]["slurm"]')" '{"job_id": 1, "step_id": 0}'
}

@test "launcher (fake srun): -v names each command's job in the summary" {
	fake
	ratb pool -v --launcher slurm -n one,two -- true -- true
	assert_equal "$status" 0
	[[ $stderr =~ one\ +exit\ 0.*\ slurm\ job\ [12]$'\n' ]]
	[[ $stderr =~ two\ +exit\ 0.*\ slurm\ job\ [12]$ ]]
	export SLURM_JOB_ID=9
	ratb pool -v --launcher slurm -- true
	[[ $stderr =~ true\ +exit\ 0.*\ slurm\ 3\.0$ ]]
}
