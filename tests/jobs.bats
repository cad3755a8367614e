#!/usr/bin/env bats
# -j/--jobs: the running limit, and commands never started when a run is
# cancelled while they wait for a slot.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}


# limited N COUNT ATB-OPTIONS...: runs COUNT commands in a pool with the
# given options, where at most N are expected to run at once. Command i
# records its pid in $PIDS/c<i>, marks itself running in $T/run/, reports
# "i seen" (seen: how many were marked running, itself included) on the
# shared fifo $T/ready, and waits for $T/c<i>.go. The test keeps N commands
# waiting before it releases the oldest, so too low a limit hangs (and
# fails) and too high a limit shows as seen > N or extra pids.
limited() {
	local n=$1 count=$2 i id seen rfd started=0 maxseen=0
	shift 2
	local args=() queue=()
	mkfifo "$T/ready"
	mkdir "$T/run"
	for ((i = 1; i <= count; i++)); do
		mkfifo "$T/c$i.go"
		args+=(-- sh -c "echo \$\$ >> \"\$PIDS/c$i\"; touch \"\$T/run/$i\"; n=\$(ls \"\$T/run\" | wc -l); echo \"$i \$n\" > \"\$T/ready\"; read x < \"\$T/c$i.go\"; rm \"\$T/run/$i\"")
	done
	exec {rfd}<>"$T/ready"
	start_atb pool "$@" --report "$T/r.json" "${args[@]}"
	while ((started < count)); do
		while ((${#queue[@]} < n && started < count)); do
			read -r -t "$T_LIMIT" -u "$rfd" id seen || { echo "# no command started after $started" >&2; return 1; }
			queue+=("$id")
			started=$((started + 1))
			((seen > maxseen)) && maxseen=$seen
		done
		# Exactly the commands seen so far have started: none beyond the limit.
		assert_equal "$(ls "$PIDS" | grep -c '^c')" "$started"
		go "c${queue[0]}"
		queue=("${queue[@]:1}")
	done
	for id in "${queue[@]}"; do
		go "c$id"
	done
	exec {rfd}<&-
	finish_atb
	assert_equal "$status" 0
	((maxseen <= n)) || { echo "# $maxseen commands ran at once (limit $n)" >&2; return 1; }
	# The report agrees: no instant had more than N commands running.
	local most
	most=$(rj 'max(sum(1 for d in r["commands"] if d["started_s"] <= c["started_s"] < d["started_s"] + d["duration_s"] - 0.003) for c in r["commands"])')
	((most <= n)) || { echo "# report shows $most running at once" >&2; return 1; }
	assert_equal "$(rj '[c["state"] for c in r["commands"]]')" "$(python3 -c "import json; print(json.dumps(['succeeded'] * $count))")"
}

@test "-j 2: at most 2 commands run at once; the rest start as slots free up" {
	limited 2 5 -j 2
}

@test "--jobs 1: one command at a time" {
	limited 1 3 --jobs 1
}

@test "no -j: no limit, every command starts at once" {
	limited 4 4
}

@test "-j: commands not yet started when the run is cancelled (failure) are never started (not_started)" {
	ratb pool -j 1 --report "$T/r.json" -n bad,queued -- sh -c 'exit 3' -- sh -c 'touch "$T/m"'
	assert_equal "$status" 3
	assert_equal "$(states)" '[["bad", "failed"], ["queued", "not_started"]]'
	assert_equal "$(rj 'r["commands"][1]["pid"]')" null
	[ ! -e "$T/m" ]
	stderr_has "not started"
}

@test "-j: commands still queued at the -t deadline are never started (not_started, exit 124)" {
	ratb pool -j 1 -t 0.3s -g 5s --report "$T/r.json" -n s,queued \
		-- sh -c "$(long s)" -- sh -c 'touch "$T/m"'
	assert_equal "$status" 124
	assert_equal "$(states)" '[["s", "cancelled"], ["queued", "not_started"]]'
	[ ! -e "$T/m" ]
	assert_gone s
}

@test "-j: commands still queued when atb gets SIGINT are never started" {
	local first
	first=$(gated first 'exit 0')
	# SIGINT at its default, as for a foreground job (see signals.bats).
	"$ATB_HELPERS/t-exec" -d INT -- "$ATB" pool -j 1 -g 5s --report "$T/r.json" -n first,queued \
		-- sh -c "$first" -- sh -c 'touch "$T/m"' >"$T/out" 2>"$T/err" 3>&- &
	apid=$!
	rec atb "$apid"
	ready first
	kill -INT "$apid"
	finish_atb
	assert_equal "$status" 130
	assert_equal "$(states)" '[["first", "cancelled"], ["queued", "not_started"]]'
	[ ! -e "$T/m" ]
	assert_gone first
}

@test "wait-all -j 1: a failure does not stop the queued commands" {
	ratb wait-all -j 1 --report "$T/r.json" -n bad,queued -- sh -c 'exit 3' -- sh -c 'touch "$T/m"'
	assert_equal "$status" 3
	assert_equal "$(states)" '[["bad", "failed"], ["queued", "succeeded"]]'
	[ -e "$T/m" ]
}

@test "race -j 1: once the race is decided, queued commands are never started" {
	ratb race -j 1 --report "$T/r.json" -n quick,queued -- true -- sh -c 'touch "$T/m"'
	assert_equal "$status" 0
	assert_equal "$(rj 'r["winner"]')" quick
	assert_equal "$(states)" '[["quick", "succeeded"], ["queued", "not_started"]]'
	[ ! -e "$T/m" ]
}
