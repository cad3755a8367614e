#!/usr/bin/env bash
# A real one-node Slurm cluster for the Slurm launcher's tests, its state,
# configuration, logs and munge socket all under one folder.
#
#   cluster.sh up DIR      installs Slurm and munge when missing (root and
#                          apt-get), starts munged, slurmctld and slurmd, waits
#                          until the node is idle, and prints as its last line
#                          `export SLURM_CONF=DIR/slurm.conf` (also in DIR/env).
#                          A cluster already up in DIR is reused.
#   cluster.sh down DIR    cancels every job, stops the daemons `up` started
#                          and waits until they are gone.
#   cluster.sh status DIR  exits 0 when the cluster in DIR is up.
#
# When the cluster cannot be had (not root, no apt-get, a daemon that does not
# come up), `up` prints one line `skip: REASON` on stdout and exits 3; the
# daemons' log tails then go to stderr.
set -eu

# How long, in tenths of a second, a daemon may take to come up or to go away.
BOUND=${ATB_SLURM_BOUND:-300}

usage() {
	echo "usage: $0 up|down|status DIR" >&2
	exit 2
}

skip() {
	echo "skip: $*"
	exit 3
}

# A daemon's pid recorded in DIR, empty when none.
pid_of() {
	local f=$DIR/$1.pid
	[ -s "$f" ] || return 0
	local p
	p=$(tr -dc 0-9 <"$f")
	echo "$p"
}

alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

node_state() {
	SLURM_CONF=$DIR/slurm.conf sinfo -h -o %t 2>/dev/null | head -n1
}

is_up() {
	[ -f "$DIR/slurm.conf" ] || return 1
	local d
	for d in munged slurmctld slurmd; do
		alive "$(pid_of "$d")" || return 1
	done
	[ "$(node_state)" = idle ]
}

env_line() {
	echo "export SLURM_CONF=$DIR/slurm.conf"
}

# Ends daemons by their recorded pids, all at once as each takes a second or
# two: TERM, then KILL after the bound.
stop_daemons() {
	local d p pids='' i=0 left
	for d in "$@"; do
		p=$(pid_of "$d")
		if alive "$p"; then
			kill -TERM "$p" 2>/dev/null || true
			pids="$pids $p"
		fi
	done
	while :; do
		left=
		for p in $pids; do
			alive "$p" && left="$left $p"
		done
		if [ -z "$left" ] || [ "$i" -ge "$BOUND" ]; then
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	if [ -n "$left" ]; then
		# shellcheck disable=SC2086 # one argument per pid
		kill -KILL $left 2>/dev/null || true
		sleep 0.1
	fi
	for d in "$@"; do
		rm -f "$DIR/$d.pid"
	done
}

# The slurmstepd processes of this cluster: they carry its SLURM_CONF.
stepds() {
	local p
	for p in $(pgrep -x slurmstepd || true); do
		if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
			grep -qxF "SLURM_CONF=$DIR/slurm.conf"; then
			echo "$p"
		fi
	done
}

do_down() {
	if [ -f "$DIR/slurm.conf" ] && alive "$(pid_of slurmctld)"; then
		local jobs i=0
		jobs=$(SLURM_CONF=$DIR/slurm.conf timeout 10 squeue -h -o %i 2>/dev/null || true)
		if [ -n "$jobs" ]; then
			# shellcheck disable=SC2086 # one argument per job id
			SLURM_CONF=$DIR/slurm.conf timeout 10 scancel $jobs 2>/dev/null || true
			# The steps end while slurmd is there to end them: KillWait and
			# a little more.
			while [ -n "$jobs" ] && [ "$i" -lt 80 ]; do
				sleep 0.1
				i=$((i + 1))
				jobs=$(SLURM_CONF=$DIR/slurm.conf timeout 10 squeue -h -o %i 2>/dev/null || true)
			done
		fi
	fi
	stop_daemons slurmd slurmctld munged
	# A step slurmd left behind goes too.
	local left
	left=$(stepds)
	if [ -n "$left" ]; then
		# shellcheck disable=SC2086 # one argument per pid
		kill -KILL $left 2>/dev/null || true
	fi
}

# The daemons' log tails, on stderr, for a failed start.
logs_tail() {
	local f
	for f in "$DIR/munge/munged.log" "$DIR/slurmctld.log" "$DIR/slurmd.log" \
		"$DIR/slurmctld.out" "$DIR/slurmd.out" "$DIR/munged.out"; do
		if [ -s "$f" ]; then
			echo "== $f" >&2
			tail -n 20 "$f" >&2
		fi
	done
}

fail() {
	logs_tail
	do_down >/dev/null 2>&1 || true
	skip "$@"
}

# Waits, bounded, until the file $1 holds a live pid.
wait_pid_file() {
	local i=0
	while [ "$i" -lt "$BOUND" ]; do
		if [ -s "$1" ] && alive "$(tr -dc 0-9 <"$1")"; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

install_slurm() {
	local missing=
	local c
	for c in srun sinfo squeue scancel salloc slurmctld slurmd munged; do
		PATH=$PATH:/usr/sbin:/sbin command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	[ -n "$missing" ] || return 0
	[ "$(id -u)" -eq 0 ] || skip "not root and missing:$missing"
	command -v apt-get >/dev/null 2>&1 || skip "no apt-get and missing:$missing"
	local pkgs="slurmctld slurmd slurm-client munge"
	# shellcheck disable=SC2086 # one argument per package
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >>"$DIR/apt.log" 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$DIR/apt.log" 2>&1 ||
			skip "apt-get update failed, see $DIR/apt.log"
		# shellcheck disable=SC2086 # one argument per package
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >>"$DIR/apt.log" 2>&1 ||
			skip "apt-get install $pkgs failed, see $DIR/apt.log"
	fi
}

# The short hostname must resolve to 127.0.0.1 for slurmd to find itself.
ensure_hosts() {
	if ! grep -Eq "^127\.[0-9.]+[[:space:]]+(.*[[:space:]])?$HOST([[:space:]]|\$)" /etc/hosts; then
		echo "127.0.0.1 $HOST" >>/etc/hosts 2>/dev/null ||
			skip "cannot add $HOST to /etc/hosts"
	fi
}

start_munged() {
	local key=/etc/munge/munge.key
	if [ ! -s "$key" ]; then
		mkdir -p /etc/munge
		if command -v mungekey >/dev/null 2>&1; then
			mungekey --create --keyfile="$key" >/dev/null 2>&1 || true
		fi
		[ -s "$key" ] || dd if=/dev/urandom of="$key" bs=1 count=1024 2>/dev/null
	fi
	chown munge:munge /etc/munge "$key"
	chmod 0700 /etc/munge
	chmod 0400 "$key"
	mkdir -p /run/munge
	chown munge:munge /run/munge
	# A socket of its own: a munged of the system, or of another cluster, is
	# neither used nor stopped.
	mkdir -p "$DIR/munge"
	chown munge:munge "$DIR/munge"
	chmod 0755 "$DIR/munge"
	rm -f "$DIR/munge/munged.pid" "$DIR/munge/munge.socket" "$DIR/munge/munge.socket.lock"
	local args=(--socket="$DIR/munge/munge.socket" --pid-file="$DIR/munge/munged.pid"
		--log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed"
		--key-file="$key")
	if command -v runuser >/dev/null 2>&1 && id munge >/dev/null 2>&1; then
		runuser -u munge -- munged "${args[@]}" </dev/null >"$DIR/munged.out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- ||
			munged --force "${args[@]}" </dev/null >>"$DIR/munged.out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- ||
			fail "munged did not start"
	else
		munged --force "${args[@]}" </dev/null >"$DIR/munged.out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- ||
			fail "munged did not start"
	fi
	wait_pid_file "$DIR/munge/munged.pid" || fail "munged did not come up"
	cp "$DIR/munge/munged.pid" "$DIR/munged.pid"
}

# proctrack/cgroup (cgroup v1) when the freezer hierarchy takes a new group,
# else proctrack/linuxproc.
proctrack() {
	local f=/sys/fs/cgroup/freezer
	if [ -d "$f" ] && [ -w "$f" ] && mkdir "$f/atb-probe-$$" 2>/dev/null; then
		rmdir "$f/atb-probe-$$"
		echo cgroup
	else
		echo linuxproc
	fi
}

write_conf() {
	local track mem
	track=$(proctrack)
	# RealMemory above what slurmd finds drains the node: take its own figure.
	mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -n1)
	mkdir -p "$DIR/state" "$DIR/spool"
	cat >"$DIR/slurm.conf" <<EOF
# Written by tests/slurm/cluster.sh: a one-node test cluster.
ClusterName=atbtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
MpiDefault=none
MailProg=/bin/true
TaskPlugin=task/none
ProctrackType=proctrack/$track
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
InactiveLimit=10
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=8${mem:+ RealMemory=$mem} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
	if [ "$track" = cgroup ]; then
		cat >"$DIR/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupAutomount=no
EOF
	else
		rm -f "$DIR/cgroup.conf"
	fi
}

do_up() {
	if is_up; then
		env_line
		return 0
	fi
	install_slurm
	PATH=$PATH:/usr/sbin:/sbin
	[ "$(id -u)" -eq 0 ] || skip "not root"
	HOST=$(hostname -s)
	ensure_hosts
	# Leftovers of an earlier cluster in DIR go first.
	do_down >/dev/null 2>&1 || true
	rm -f "$DIR"/slurmctld.log "$DIR"/slurmd.log "$DIR"/*.out
	start_munged
	write_conf
	export SLURM_CONF=$DIR/slurm.conf
	slurmctld -c -i </dev/null >"$DIR/slurmctld.out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- ||
		fail "slurmctld did not start"
	wait_pid_file "$DIR/slurmctld.pid" || fail "slurmctld did not come up"
	slurmd -N "$HOST" </dev/null >"$DIR/slurmd.out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- ||
		fail "slurmd did not start"
	wait_pid_file "$DIR/slurmd.pid" || fail "slurmd did not come up"
	local i=0 st=
	while [ "$i" -lt "$BOUND" ]; do
		st=$(node_state)
		[ "$st" = idle ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ "$st" = idle ] || fail "node $HOST is '${st:-unknown}', not idle"
	env_line >"$DIR/env"
	env_line
}

[ $# -eq 2 ] || usage
if [ "$1" = up ]; then
	mkdir -p "$2"
elif [ ! -d "$2" ]; then
	[ "$1" = down ] && exit 0
	exit 1
fi
DIR=$(cd "$2" && pwd -P)
case $1 in
up) do_up ;;
down) do_down ;;
status) is_up ;;
*) usage ;;
esac
