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
