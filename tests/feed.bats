#!/usr/bin/env bats
# atb pool --stdin: commands that arrive while the pool runs.
load helpers/common
bats_require_minimum_version 1.5.0

@test "--stdin: shell lines, JSON objects, blank lines skipped" {
	run atb pool --stdin --no-pad --report "$T/r.json" <<'EOF2'
echo from-shell

{"name": "j", "argv": ["echo", "from-json"], "env": {"X": "1"}}
   
EOF2
	assert_success
	assert_line '[echo from-shell] from-shell'
	assert_line '[j] from-json'
	run report_get "$T/r.json" 'r.get("succeeded_unlisted", 0) + len(r["commands"])'
	assert_output '2'
}

@test "--stdin: a template substitutes every {} and runs without a shell" {
	run atb pool --stdin --no-pad -- printf '<%s|%s>\n' 'a{}b' '{}{}' <<'EOF2'
x y
$HOME;
EOF2
	assert_success
	# Each is named after its input, as GNU parallel's --tag shows it.
	assert_line '[x y] <ax yb|x yx y>'
	assert_line '[$HOME;] <a$HOME;b|$HOME;$HOME;>'
}

@test "--stdin: the first command starts before stdin ends" {
	mkfifo "$T/in" "$T/started"
	"$ATB" pool --stdin <"$T/in" >"$T/out" 2>&1 &
	local apid=$!
	rec atb "$apid"
	exec 5>"$T/in"
	echo "echo started >$T/started" >&5
	wait_fifo "$T/started"
	exec 5>&-
	wait_gone "$apid"
	wait "$apid"
}

@test "--stdin: the first failure stops reading and cancels the rest" {
	mkfifo "$T/in" "$T/ready"
	"$ATB" pool --stdin --report "$T/r.json" <"$T/in" >"$T/out" 2>&1 &
	local apid=$! status=0
	rec atb "$apid"
	exec 5>"$T/in"
	echo "echo \$\$ >>$PIDS/long; echo r >$T/ready; exec sleep 1000" >&5
	wait_fifo "$T/ready"
	echo 'exit 4' >&5
	wait_gone "$apid" || true
	# Lines written after the failure are never run.
	(echo "touch $T/never" >&5) 2>/dev/null || true
	exec 5>&-
	wait "$apid" || status=$?
	[ "$status" -eq 4 ]
	[ ! -e "$T/never" ]
	run report_get "$T/r.json" '[c["state"] for c in r["commands"]]'
	assert_output '["cancelled", "failed"]'
}

@test "--stdin: -j bounds the commands running at once" {
	# Each command appends start and end marks; with -j 2 at most two are open.
	seq 12 | atb pool --stdin -j 2 -- sh -c 'echo "+$0" >>"$T/log"; sleep 0.05; echo "-$0" >>"$T/log"' '{}' >/dev/null
	run awk '/^\+/ { n++; if (n > max) max = n } /^-/ { n-- } END { print max, NR }' "$T/log"
	assert_output '2 24'
}

@test "--stdin: names stay unique though finished commands are freed" {
	# The same input 300 times: names same, same#2, ... same#300.
	yes same | head -n 300 | atb pool --stdin -j 4 --no-pad -- echo '{}' >"$T/out"
	run sh -c "cut -d' ' -f1 '$T/out' | sort | uniq -d | wc -l"
	assert_output '0'
	run wc -l <"$T/out"
	assert_output '300'
}

@test "--stdin: a bad JSON line is atb's own error (125), with its line number" {
	run atb pool --stdin <<'EOF2'
echo ok
{"argv": "not-a-list"}
EOF2
	assert_failure 125
	assert_output --partial 'stdin:2'
}

@test "--stdin: not with --names or --input; race takes it" {
	run atb race --stdin --no-pad <<<$'sleep 30\necho fast'
	assert_success
	assert_output '[echo fast] fast'
	run atb pool --stdin -n a
	assert_failure 125
	run atb pool --stdin -i a
	assert_failure 125
}

@test "--stdin with --finally: cleanup runs after the fed commands" {
	run atb pool --stdin --no-pad --finally 'echo cleanup' <<<'echo work'
	assert_success
	assert_line --index 0 '[echo work] work'
	assert_line --index 1 '[finally] cleanup'
}

@test "--stdin: a service from a JSON line is cancelled once the work is done" {
	run atb pool --stdin --report "$T/r.json" <<'EOF2'
{"name": "svc", "shell": "exec sleep 1000", "service": true}
echo work
EOF2
	assert_success
	run report_get "$T/r.json" '[(c["name"], c["state"]) for c in r["commands"] if c["service"]]'
	assert_output '[["svc", "cancelled"]]'
}
