#!/bin/sh
# make demo: a pool where one command fails and the others are cancelled,
# then a race used as a timeout. Exits 0 when atb behaved as documented.
ATB=${1:-build/atb}
set -u

show() {
	printf '\n$ atb'
	for w in "$@"; do
		case $w in
		*[\ \'\"\&\;\>]*) printf " '%s'" "$w" ;;
		*) printf ' %s' "$w" ;;
		esac
	done
	printf '\n'
}

run() {
	show "$@"
	"$ATB" "$@"
	status=$?
	echo "(exit status $status)"
}

echo "atb demo: three jobs as one unit. 'lint' fails after half a second; 'unit'"
echo "and 'e2e' (which has a background process of its own) are cancelled at once."
run pool -n lint,unit,e2e -g 2s -c \
	'sleep 0.5; echo "lint: 2 problems found" >&2; exit 2' \
	'echo "unit: running 400 tests"; sleep 30' \
	'sleep 30 & echo "e2e: browser started"; wait'
[ "$status" -eq 2 ] || { echo "demo: expected exit status 2" >&2; exit 1; }

echo
echo "A race is a timeout: the deadline wins with 124."
run race -t 1s -- sleep 30
[ "$status" -eq 124 ] || { echo "demo: expected exit status 124" >&2; exit 1; }

echo
echo "Nothing is left behind:"
if pgrep -f 'sleep 30' >/dev/null 2>&1; then
	echo "demo: a 'sleep 30' survived" >&2
	exit 1
fi
echo "no 'sleep 30' process is running."
