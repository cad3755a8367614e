#!/usr/bin/env bash
# Runs every suite (unit tests, bats in both child-watch modes, man page lint,
# libatb installed and embedded, fuzz smoke when available) and ends with one
# line: check: N passed, M failed.
set -u
BUILD=${1:-build}
ATB=$(realpath "$BUILD/atb")
ATB_HELPERS=$(realpath "$BUILD/helpers" 2>/dev/null || echo "$BUILD/helpers")
export ATB ATB_HELPERS
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-90}
unset ATB_LATCH_DIR
passed=0
failed=0
# In the build folder, not /tmp: a cleaner of /tmp cannot take it mid-run.
out=$(mktemp "$BUILD/check-out.XXXXXX")
trap 'rm -f "$out"' EXIT

# Runs one suite under a time bound, echoes its TAP and counts its results. A
# suite that fails without reporting a failing test counts as one failure.
suite() {
	local label=$1 limit=$2
	shift 2
	echo "== $label"
	if [ "$(type -t "$1")" = function ]; then
		"$@" >"$out" 2>&1
	else
		timeout -k 10 "$limit" "$@" >"$out" 2>&1
	fi
	local rc=$?
	local ok bad
	if ! cat "$out"; then
		echo "not ok - $label: its output was lost, so its results are unknown"
		failed=$((failed + 1))
		return
	fi
	ok=$(grep -c '^ok ' "$out")
	bad=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "not ok - $label exited with status $rc"
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

for t in "$BUILD"/unit/test-*; do
	[ -x "$t" ] && suite "unit $(basename "$t")" 300 "$t"
done

bats_files=$(ls tests/*.bats 2>/dev/null)
if [ -n "$bats_files" ]; then
	# shellcheck disable=SC2086
	suite "bats (pidfd)" 1200 env -u ATB_NO_PIDFD bats --tap $bats_files
	# shellcheck disable=SC2086
	suite "bats (ATB_NO_PIDFD=1)" 1200 env ATB_NO_PIDFD=1 bats --tap $bats_files
fi

# The Slurm launcher's suite, against a one-node cluster of its own
# (tests/slurm/cluster.sh), in both watch modes; where the machine cannot
# run one (not root, no apt-get), skipped with the reason, said here.
slurm_dir=
slurm_down() {
	[ -n "$slurm_dir" ] || return 0
	bash tests/slurm/cluster.sh down "$slurm_dir" >/dev/null 2>&1
	rm -rf "$slurm_dir"
	slurm_dir=
}
trap 'slurm_down; rm -f "$out"' EXIT
# A short path: the munge socket lives there (108 bytes at most).
slurm_dir=$(mktemp -d "${TMPDIR:-/tmp}/atb-slurm.XXXXXX")
echo "== slurm cluster"
slurm_up=$(timeout -k 10 300 bash tests/slurm/cluster.sh up "$slurm_dir" 2>"$slurm_dir/up.err")
if [[ $slurm_up == *"export SLURM_CONF="* ]]; then
	echo "up: $slurm_dir"
	suite "bats slurm (pidfd)" 900 env -u ATB_NO_PIDFD SLURM_CONF="$slurm_dir/slurm.conf" \
		bats --tap tests/slurm/slurm.bats
	suite "bats slurm (ATB_NO_PIDFD=1)" 900 env ATB_NO_PIDFD=1 \
		SLURM_CONF="$slurm_dir/slurm.conf" bats --tap tests/slurm/slurm.bats
else
	cat "$slurm_dir/up.err"
	slurm_skip=${slurm_up##*skip: }
	slurm_skip=${slurm_skip:-the cluster script said nothing}
	echo "ok - slurm suite # skip $slurm_skip"
	passed=$((passed + 1))
	skipped="slurm suite ($slurm_skip)"
fi
slurm_down

man_lint() {
	local rc=0 n=0 f
	for f in man/*.1 man/*.3 man/*.5; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		if mandoc -T lint -W warning "$f" && groff -ww -man -z "$f" 2>&1 | (! grep .); then
			echo "ok $n - man lint $f"
		else
			echo "not ok $n - man lint $f"
			rc=1
		fi
	done
	return $rc
}
suite "man pages" 60 man_lint

# libatb installed with DESTDIR and embedded by a program built through
# pkg-config, shared and static.
suite "embed" 300 bash tests/embed/embed.sh "$BUILD"

if [ -f tests/fuzz/fuzz.sh ]; then
	suite "fuzz smoke" 300 bash tests/fuzz/fuzz.sh smoke
fi

if [ -n "${skipped:-}" ]; then
	echo "skipped: $skipped"
fi
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
