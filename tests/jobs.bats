#!/usr/bin/env bats
# -j/--jobs: the running limit, and commands never started when a run is
# cancelled while they wait for a slot.

load helpers/common

setup() {
	common_setup
	export ATB_HELPERS
}

# --- local helpers (candidates for common.bash) ---

# ratb ARGS...: atb (time-bounded) with stdout and stderr in files, so a
# process left behind cannot hang the test on a pipe. Sets status, output
# (stdout) and stderr.
ratb() {
	status=0
	atb "$@" >"$T/out" 2>"$T/err" 3>&- || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	printf '# atb %s\n# status %s\n# stdout: %s\n# stderr: %s\n' "$*" "$status" "$output" "$stderr" >&2
}

# start_atb ARGS...: atb in the background (not through `timeout`, so that
# apid is atb itself), output in files; sets apid.
start_atb() {
	"$ATB" "$@" >"$T/out" 2>"$T/err" 3>&- &
	apid=$!
	rec atb "$apid"
}

# finish_atb: waits (bounded) for the background atb; sets status, output,
# stderr.
finish_atb() {
	wait_gone "$apid" "$T_LIMIT" || { echo "# atb $apid did not exit" >&2; return 1; }
	status=0
	wait "$apid" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	printf '# status %s\n# stdout: %s\n# stderr: %s\n' "$status" "$output" "$stderr" >&2
}

# gated NAME TAIL: prints a shell command that records its pid in
# $PIDS/NAME, says ready on the fifo $T/NAME.ready, waits to be released
# through the fifo $T/NAME.go, then runs the shell text TAIL (e.g. 'exit 3').
# Creates both fifos. `ready NAME` waits for it, `go NAME` releases it.
gated() {
	mkfifo "$T/$1.ready" "$T/$1.go"
	printf 'echo $$ >> "$PIDS/%s"; echo r > "$T/%s.ready"; read x < "$T/%s.go"; %s' "$1" "$1" "$1" "$2"
}
ready() { wait_fifo "$T/$1.ready"; }
go() { timeout 10 sh -c 'echo go > "$1"' sh "$T/$1.go"; }
pid_of() { head -n 1 "$PIDS/$1"; }

# long NAME: prints a shell command that records its pid in $PIDS/NAME and
# sleeps until cancelled.
long() {
	printf 'echo $$ >> "$PIDS/%s"; exec sleep 1000' "$1"
}

# wait_file FILE: waits until FILE exists and is not empty.
wait_file() {
	local i
	for ((i = 0; i < T_LIMIT * 50; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.02
	done
	echo "# $1 never written" >&2
	return 1
}

# wait_reaped PID: waits until PID is gone from /proc (not even a zombie):
# its parent has collected its status.
wait_reaped() {
	local i
	for ((i = 0; i < T_LIMIT * 50; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.02
	done
	echo "# $1 never reaped" >&2
	return 1
}

# assert_gone NAME...: no pid recorded in $PIDS/NAME is alive.
assert_gone() {
	local name pid
	for name in "$@"; do
		[ -f "$PIDS/$name" ] || continue
		while read -r pid; do
			if pid_alive "$pid"; then
				echo "# $name ($pid) is still alive: $(tr '\0' ' ' <"/proc/$pid/cmdline")" >&2
				return 1
			fi
		done <"$PIDS/$name"
	done
}

rj() { report_get "$T/r.json" "$1"; }
states() { rj '[[c["name"], c["state"]] for c in r["commands"]]'; }

stderr_has() {
	[[ $stderr == *"$1"* ]] || { echo "# stderr lacks '$1'" >&2; return 1; }
}

# --- end of local helpers ---

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
