#!/usr/bin/env bash
# tests/embed/embed.sh [BUILD]: libatb as a third party gets it.
#
# Installs the tree with DESTDIR into a scratch folder, checks what landed
# there (files, symlinks, soname, exported symbols, headers, atb.pc), builds
# tests/embed/host.c against it through pkg-config, once with libatb.so and
# once with libatb.a, runs both, then uninstalls and checks that nothing is
# left. Prints TAP, which tests/check.sh counts. BUILD is the build folder
# (default build), as for make's BUILD; SANITIZE=1 in the environment or in
# an outer make's flags builds both libatb and the host with sanitizers.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${1:-build}")
cd "$root" || exit 1
CC=${CC:-cc}

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $*"
}
# Indents a command's output as TAP comments.
comment() { sed 's/^/# /'; }
# check DESC CMD...: one TAP line for CMD; its output is shown only when it
# fails.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		# A compiler's complaints about one mistake can run to pages.
		printf '%s\n' "$out" | head -n 40 | comment
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/atb-embed.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
work=$tmp/work
mkdir -p "$dest" "$work"

# Every folder named, so that none comes from the environment or from an
# outer make's command line (MAKEFLAGS) and lands somewhere else.
dirs=(PREFIX=/usr BINDIR=/usr/bin LIBDIR=/usr/lib INCLUDEDIR=/usr/include
	MANDIR=/usr/share/man)
mk() { make --no-print-directory -s BUILD="$build" DESTDIR="$dest" "${dirs[@]}" "$@"; }

version=$(sed -n 's/^#define ATB_VERSION "\(.*\)"$/\1/p' lib/atb.h)
major=${version%%.*}
lib=$dest/usr/lib

# The sanitizer flags the library is built with, asked of the Makefile
# itself; the host must be built with the same runtime.
# shellcheck disable=SC2016 # $(SAN) is make's, expanded by make
san=$(make --no-print-directory -s --eval 'embed-print-san: ; @echo $(SAN)' embed-print-san)

check "make install DESTDIR=... PREFIX=/usr" mk install
# Later steps are pointless without the tree, and would only repeat this.
if [ ! -f "$lib/pkgconfig/atb.pc" ]; then
	echo "1..$n"
	exit 1
fi

installed() {
	local f missing=0
	for f in usr/bin/atb "usr/lib/libatb.so.$version" usr/lib/libatb.a usr/include/atb.h \
		usr/lib/pkgconfig/atb.pc usr/share/bash-completion/completions/atb \
		usr/share/zsh/site-functions/_atb usr/share/fish/vendor_completions.d/atb.fish; do
		[ -f "$dest/$f" ] || { echo "missing $f"; missing=1; }
	done
	for f in lib/atb/*.h; do
		[ -f "$dest/usr/include/atb/${f##*/}" ] || { echo "missing include/atb/${f##*/}"; missing=1; }
	done
	for f in man/*.1 man/*.3 man/*.5; do
		[ -f "$f" ] || continue
		[ -f "$dest/usr/share/man/man${f##*.}/${f##*/}" ] || { echo "missing man page $f"; missing=1; }
	done
	[ "$(readlink "$lib/libatb.so.$major")" = "libatb.so.$version" ] ||
		{ echo "libatb.so.$major -> $(readlink "$lib/libatb.so.$major")"; missing=1; }
	[ "$(readlink "$lib/libatb.so")" = "libatb.so.$major" ] ||
		{ echo "libatb.so -> $(readlink "$lib/libatb.so")"; missing=1; }
	return $missing
}
check "installed: program, man pages, libatb.so.$version and its two links, libatb.a, headers, atb.pc, completions" installed

check "installed headers compile alone as strict C99 (make check-headers)" mk check-headers

# pkg-config sees only this tree: PKG_CONFIG_LIBDIR replaces the default
# search path, and --define-prefix moves prefix to where atb.pc really is.
export PKG_CONFIG_LIBDIR=$lib/pkgconfig
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
pc() { pkg-config --define-prefix "$@" atb; }

pc_flags() {
	local v cflags libs slibs
	v=$(pc --modversion) && cflags=$(pc --cflags) && libs=$(pc --libs) &&
		slibs=$(pc --static --libs) || return 1
	echo "modversion: $v; cflags: $cflags; libs: $libs; static libs: $slibs"
	[ "$v" = "$version" ] || return 1
	# Headers from this tree, and nothing of cJSON (atb.h includes none).
	[[ " $cflags " == *" -I$dest/usr/include "* && "$cflags" != *cjson* ]] || return 1
	# Dynamic linking needs only -latb: the .so names its own dependencies.
	[[ " $libs " == *" -L$lib "* && " $libs " == *" -latb "* && " $libs " != *" -lev "* ]] ||
		return 1
	[[ " $slibs " == *" -latb "* && " $slibs " == *" -lev "* && " $slibs " == *" -lcjson "* &&
		" $slibs " == *" -lm "* ]]
}
check "pkg-config: version $version, cflags, libs; --static adds -lev -lcjson -lm" pc_flags

so=$lib/libatb.so.$version
soname() { readelf -d "$so" | grep -F "(SONAME)" | grep -qF "[libatb.so.$major]"; }
check "libatb.so has SONAME libatb.so.$major" soname

needed() {
	local d
	d=$(readelf -d "$so" | grep -F "(NEEDED)")
	echo "$d"
	grep -q '\[libev\.so' <<<"$d" && grep -q '\[libcjson\.so' <<<"$d"
}
check "libatb.so records NEEDED libev and libcjson" needed

exports() {
	local syms bad
	syms=$(nm -D --defined-only "$so" | awk '{ print $NF }')
	bad=$(grep -v '^atb_[^_]' <<<"$syms")
	if [ -n "$bad" ]; then
		echo "exported beyond atb_*:"
		echo "$bad"
		return 1
	fi
	if ! grep -qx atb_run_start <<<"$syms" || ! grep -qx atb_version <<<"$syms"; then
		echo "atb_run_start or atb_version not exported"
		return 1
	fi
}
check "libatb.so exports only atb_* (no atb__* internals, nothing else)" exports

# The host, linked against libatb.so as a third party would: the flags
# pkg-config gives, and -lev because the host calls libev itself.
cflags=$(pc --cflags)
libs=$(pc --libs)
# shellcheck disable=SC2086 # the flags are words
check "host.c builds against the installed libatb.so" \
	"$CC" -std=c11 -O2 -g -Wall -Wextra -Werror $san $cflags -o "$work/host" \
	tests/embed/host.c $libs -lev

uses_installed_so() {
	readelf -d "$work/host" | grep -F "(NEEDED)" | grep -qF "[libatb.so.$major]" ||
		{ echo "host does not need libatb.so.$major"; return 1; }
	LD_LIBRARY_PATH=$lib ldd "$work/host" | grep -F libatb.so |
		grep -qF "=> $lib/libatb.so.$major" ||
		{ LD_LIBRARY_PATH=$lib ldd "$work/host"; return 1; }
}
check "host loads libatb.so.$major from the installed tree" uses_installed_so

# Runs a host and turns its PASS/FAIL lines into TAP, with label before
# each; anything else it printed becomes comments. A host that ends badly
# without a FAIL line still fails once.
run_host() {
	local label=$1 rc line bad=0 good=0
	shift
	timeout -k 5 90 "$@" >"$work/out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS "*) ok "$label: ${line#PASS }"; good=$((good + 1)) ;;
		"FAIL "*) not_ok "$label: ${line#FAIL }"; bad=$((bad + 1)) ;;
		*) echo "# $line" ;;
		esac
	done <"$work/out"
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		not_ok "$label exited with status $rc"
	elif [ "$good" -eq 0 ] && [ "$bad" -eq 0 ]; then
		not_ok "$label printed no check"
	fi
}
if [ -x "$work/host" ]; then
	run_host host env LD_LIBRARY_PATH="$lib" "$work/host"
else
	not_ok "host: not built"
fi

# The same host linked with libatb.a: --static's flags, with -latb turned
# into -l:libatb.a since the linker would take the .so beside it.
slibs=$(pc --static --libs)
slibs=${slibs//-latb/-l:libatb.a}
# shellcheck disable=SC2086 # the flags are words
check "host.c builds against the installed libatb.a (pkg-config --static)" \
	"$CC" -std=c11 -O2 -g -Wall -Wextra -Werror $san $cflags -o "$work/host-static" \
	tests/embed/host.c $slibs -lev
no_so() {
	local d
	d=$(readelf -d "$work/host-static") || return 1
	! grep -F "(NEEDED)" <<<"$d" | grep -F libatb
}
check "static host does not need libatb.so" no_so

# One line for the static host: its checks are the shared host's.
static_host() {
	local rc
	timeout -k 5 90 "$work/host-static" >"$work/out-static" 2>&1
	rc=$?
	grep -v '^PASS ' "$work/out-static"
	[ "$rc" -eq 0 ] && ! grep -q '^FAIL ' "$work/out-static"
}
if [ -x "$work/host-static" ]; then
	check "static host: every check the shared host makes passed" static_host
else
	not_ok "static host: not built"
fi

left_over() {
	local left
	left=$(find "$dest" ! -type d)
	[ -z "$left" ] || { echo "left: $left"; return 1; }
}
check "make uninstall (same variables)" mk uninstall
check "uninstall left no file or link behind" left_over

echo "1..$n"
[ "$failed" -eq 0 ]
