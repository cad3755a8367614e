#!/usr/bin/env bash
# Fuzzes the spec parser with libFuzzer (clang -fsanitize=fuzzer,address,
# undefined): any input must end in a spec or a clean error, with no crash,
# leak or hang.
#
#   fuzz.sh smoke           build, replay the seeds, fuzz ~30 s; TAP output
#   fuzz.sh long [SECONDS]  the same for SECONDS (default 600)
#
# The target is built into build/fuzz/ (FUZZ_BUILD) with clang (FUZZ_CC) from
# tests/fuzz/fuzz-spec.c and lib/*.c; the seed corpus is tests/fixtures/*.json
# plus what earlier runs found in build/fuzz/corpus. Crashes are written to
# build/fuzz/artifacts/.
set -u
cd "$(dirname "$0")/../.." || exit 1

mode=${1:-smoke}
case $mode in
smoke) secs=30 ;;
long) secs=${2:-600} ;;
*)
	echo "usage: fuzz.sh smoke | long [SECONDS]" >&2
	exit 2
	;;
esac
case $secs in
'' | *[!0-9]*)
	echo "fuzz.sh: SECONDS must be a whole number, got '$secs'" >&2
	exit 2
	;;
esac

out=${FUZZ_BUILD:-build/fuzz}
cc=${FUZZ_CC:-clang}
bin=$out/fuzz-spec
log=$out/fuzz.log
# shellcheck disable=SC2054 # the commas are clang's, not array separators
flags=(-g -O1 -std=c11 -D_GNU_SOURCE -Ilib -Wall -Wextra -Werror
	-Wno-missing-field-initializers
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)

mkdir -p "$out/corpus" "$out/artifacts" || exit 1

# No clang, or a clang without the libFuzzer runtime: skip, and say so.
probe=$out/probe.c
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe"
if ! command -v "$cc" >/dev/null 2>&1 ||
	! "$cc" -fsanitize=fuzzer -o "$out/probe" "$probe" >/dev/null 2>&1; then
	echo "1..1"
	echo "ok 1 - fuzz $mode # SKIP no clang/libFuzzer"
	exit 0
fi

echo "1..3"
rc=0
if "$cc" "${flags[@]}" -o "$bin" tests/fuzz/fuzz-spec.c lib/*.c -lev -lcjson -lm \
	>"$log" 2>&1; then
	echo "ok 1 - fuzz target builds"
else
	echo "not ok 1 - fuzz target builds"
	sed 's/^/# /' "$log" | head -40
	echo "not ok 2 - seed corpus replays clean # SKIP no target"
	echo "not ok 3 - fuzz $mode # SKIP no target"
	exit 1
fi

cp tests/fixtures/*.json "$out/corpus/" 2>/dev/null
common=(-dict=tests/fuzz/spec.dict -timeout=10 -rss_limit_mb=2048 -max_len=65536
	-artifact_prefix="$out/artifacts/" -print_final_stats=1)

# Replays every seed once (-runs=0 only loads and runs the corpus).
if "$bin" "${common[@]}" -runs=0 "$out/corpus" >"$log" 2>&1; then
	echo "ok 2 - seed corpus replays clean ($(find "$out/corpus" -type f | wc -l) inputs)"
else
	echo "not ok 2 - seed corpus replays clean"
	grep -E 'ERROR|SUMMARY|==[0-9]+==|artifact' "$log" | head -20 | sed 's/^/# /'
	rc=1
fi

if "$bin" "${common[@]}" -max_total_time="$secs" "$out/corpus" >"$log" 2>&1; then
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	echo "ok 3 - fuzz $mode ${secs}s: no crash, leak or hang (${runs:-?} inputs)"
else
	echo "not ok 3 - fuzz $mode ${secs}s: no crash, leak or hang"
	grep -E 'ERROR|SUMMARY|==[0-9]+==|artifact|Test unit written' "$log" | head -20 |
		sed 's/^/# /'
	rc=1
fi
exit $rc
