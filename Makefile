# atb: structured concurrency for processes.
#
#   make                 build build/atb, build/libatb.a and build/libatb.so.*
#   make demo            install build dependencies (apt), build, run the demo
#   make check           install test dependencies, build, run every suite
#   make check SANITIZE=1   the same, built with ASan and UBSan (in build/san)
#   make bench           benchmarks against peers (tests/bench, not part of check)
#   make install PREFIX=/usr/local DESTDIR=   the program, man pages, libatb
#                        (shared and static), its headers and atb.pc, and
#                        the bash, zsh and fish completions
#   make uninstall       the same variables: removes what install put there

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PCDIR       = $(LIBDIR)/pkgconfig
# Where each shell looks for completions under PREFIX.
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d
CC         ?= cc
CFLAGS     ?= -O2 -g

ifeq ($(SANITIZE),1)
BUILD   ?= build/san
SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD   ?= build
SAN      =
endif

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
# CPPFLAGS and LDFLAGS come from the caller (a distribution's hardening
# flags); -Ilib stays first so the tree's own headers win.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Ilib $(WARN) $(SAN) $(CPPFLAGS) $(CFLAGS)
LDLIBS   = -lev -lcjson -lm
# The atb program links libev's static archive where there is one (Debian's
# libev-dev has it): loading one shared library fewer is 0.2 ms of a 8 ms
# start-up on a small VM. libatb.so keeps libev shared, so that an embedding
# program and the library use one libev.
LIBEV_A := $(shell $(CC) -print-file-name=libev.a)
# It loads libcjson only when a run reads or writes JSON (cmd/cjson-lazy.c),
# by the soname of the library found here; and libm only if something needs
# it (--as-needed): together another 0.1 ms of every start.
CJSON_SO     := $(shell $(CC) -print-file-name=libcjson.so)
CJSON_SONAME := $(shell objdump -p $(CJSON_SO) 2>/dev/null | awk '$$1 == "SONAME" { print $$2 }')
ATB_LIBS = $(if $(filter /%,$(LIBEV_A)),$(LIBEV_A),-lev) -Wl,--as-needed -lm

# The library's version is written down once, in lib/atb.h; the soname
# carries its major number. Stop when the three numbers cannot be read or
# disagree with ATB_VERSION, rather than build a misnamed library.
VERSION := $(shell awk '$$2 == "ATB_VERSION_MAJOR" { M = $$3 } \
                        $$2 == "ATB_VERSION_MINOR" { m = $$3 } \
                        $$2 == "ATB_VERSION_PATCH" { p = $$3 } \
                        $$2 == "ATB_VERSION" { s = $$3 } \
                        END { v = M "." m "." p; if (M != "" && m != "" && p != "" && s == "\"" v "\"") print v }' lib/atb.h)
ifeq ($(VERSION),)
$(error lib/atb.h: cannot read ATB_VERSION_MAJOR, _MINOR and _PATCH, or they disagree with ATB_VERSION)
endif
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME   = libatb.so.$(SOMAJOR)
SHLIB    = libatb.so.$(VERSION)

LIB_SRC  = $(sort $(wildcard lib/*.c))
CMD_SRC  = $(sort $(wildcard cmd/*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/test-*.c))
HELP_SRC = $(sort $(wildcard tests/helpers/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
# The shared library's objects are a second, position-independent set, so
# the atb program keeps linking libatb.a's objects exactly as before.
PIC_OBJ  = $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
CMD_OBJ  = $(CMD_SRC:%.c=$(BUILD)/%.o)
# The program's pieces but its main(), for the unit tests of cmd/ (reports,
# the exit table).
CMD_LIB_OBJ = $(filter-out $(BUILD)/cmd/main.o,$(CMD_OBJ))
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
HELP_BIN = $(HELP_SRC:tests/helpers/%.c=$(BUILD)/helpers/%)
HDRS     = $(wildcard lib/*.h lib/atb/*.h cmd/*.h tests/unit/*.h)
# What install puts in INCLUDEDIR: atb.h and everything it may include.
PUB_HDRS = $(wildcard lib/atb/*.h)
# Every man page, by its section (1, 3, 5).
MAN_PAGES = $(wildcard man/*.1 man/*.3 man/*.5)

# Debian packages: what building needs, and what the test suites need on top.
DEPS_BUILD = gcc make libev-dev libcjson-dev
DEPS_CHECK = bats bats-support bats-assert mandoc libxml2-utils bsdutils procps python3-junitparser \
             zsh fish \
             pkgconf binutils

.PHONY: all lib demo check bench soak install uninstall check-headers clean \
        deps-build deps-check tests fuzz
all: $(BUILD)/atb lib

lib: $(BUILD)/libatb.a $(BUILD)/$(SHLIB)

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/cmd/cjson-lazy.o: ALL_CFLAGS += $(if $(CJSON_SONAME),-DATB_CJSON_SONAME='"$(CJSON_SONAME)"')

$(BUILD)/pic/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/libatb.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# lib/libatb.map exports the public atb_* names only, so the atb__* functions
# the lib files share stay private to the .so. The .so names libev, cJSON and libm as its
# own dependencies (--no-undefined checks that none is missing), so a
# program that links only -latb needs nothing more.
$(BUILD)/$(SHLIB): $(PIC_OBJ) lib/libatb.map
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libatb.map \
	  -Wl,--no-undefined $(LDFLAGS) -o $@ $(PIC_OBJ) $(LDLIBS)

$(BUILD)/atb: $(CMD_OBJ) $(BUILD)/libatb.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libatb.a $(ATB_LIBS)

$(BUILD)/libatbcmd.a: $(CMD_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.c tests/unit/unit.c $(BUILD)/libatbcmd.a $(BUILD)/libatb.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Icmd $(LDFLAGS) -o $@ $< tests/unit/unit.c \
	  $(BUILD)/libatbcmd.a $(BUILD)/libatb.a $(LDLIBS)

$(BUILD)/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

tests: $(BUILD)/atb $(UNIT_BIN) $(HELP_BIN)

# Installs what is missing through apt when run as root; otherwise prints
# the one command to run and stops.
define install_debs
	@missing=; for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "make: missing packages; run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi
endef

deps-build:
	$(call install_debs,$(DEPS_BUILD))

deps-check: deps-build
	$(call install_debs,$(DEPS_CHECK))

demo: deps-build
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh $(BUILD)/atb

check: deps-check
	@$(MAKE) --no-print-directory tests
	@bash tests/check.sh $(BUILD)

bench: deps-build
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -f tests/bench/bench.mk BUILD=$(BUILD) bench

soak: deps-build
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -f tests/bench/bench.mk BUILD=$(BUILD) soak

# The spec parser under libFuzzer (clang): `make fuzz`, then
# `bash tests/fuzz/fuzz.sh long [SECONDS]`; make check runs a short smoke.
FUZZ_CC    ?= clang
FUZZ_FLAGS  = -g -O1 -std=c11 -D_GNU_SOURCE -Ilib $(WARN) \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
fuzz: build/fuzz/fuzz-spec
build/fuzz/fuzz-spec: tests/fuzz/fuzz-spec.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ tests/fuzz/fuzz-spec.c $(LIB_SRC) $(LDLIBS)

# atb.pc names its folders relative to ${prefix} where they lie under it, so
# `pkg-config --define-prefix` finds a tree installed with DESTDIR. It is
# made afresh on every install because PREFIX and LIBDIR may differ each time.
PC_LIBDIR     = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

# The loader finds libatb.so.0 in /usr/local/lib only through its cache, so
# an install into the live system (no DESTDIR) refreshes it; a staged
# install leaves that to the package's own scripts. Not fatal: without root
# the cache stays as it was, and LD_LIBRARY_PATH still works.
LDCONFIG = if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig || :; fi

install: $(BUILD)/atb $(BUILD)/libatb.a $(BUILD)/$(SHLIB) lib/atb.pc.in
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) \
	  $(DESTDIR)$(INCLUDEDIR)/atb
	install -m 755 $(BUILD)/atb $(DESTDIR)$(BINDIR)/atb
	for f in $(MAN_PAGES); do \
	  d=$(DESTDIR)$(MANDIR)/man$${f##*.}; \
	  install -d "$$d" && install -m 644 "$$f" "$$d/" || exit 1; \
	done
	install -m 644 $(BUILD)/$(SHLIB) $(DESTDIR)$(LIBDIR)/$(SHLIB)
	ln -sf $(SHLIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libatb.so
	install -m 644 $(BUILD)/libatb.a $(DESTDIR)$(LIBDIR)/libatb.a
	install -m 644 lib/atb.h $(DESTDIR)$(INCLUDEDIR)/atb.h
	install -m 644 $(PUB_HDRS) $(DESTDIR)$(INCLUDEDIR)/atb/
	sed -e 's|@prefix@|$(PREFIX)|g' -e 's|@libdir@|$(PC_LIBDIR)|g' \
	  -e 's|@includedir@|$(PC_INCLUDEDIR)|g' -e 's|@version@|$(VERSION)|g' \
	  lib/atb.pc.in >$(BUILD)/atb.pc
	install -m 644 $(BUILD)/atb.pc $(DESTDIR)$(PCDIR)/atb.pc
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 644 completions/atb.bash $(DESTDIR)$(BASHCOMPDIR)/atb
	install -m 644 completions/_atb $(DESTDIR)$(ZSHCOMPDIR)/_atb
	install -m 644 completions/atb.fish $(DESTDIR)$(FISHCOMPDIR)/atb.fish
	$(LDCONFIG)

# Removes each file install puts there, by name, and the include/atb folder
# install made once it is empty; the shared folders (bin, lib, man/manN,
# the completion folders) stay.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/atb
	for f in $(notdir $(MAN_PAGES)); do \
	  rm -f "$(DESTDIR)$(MANDIR)/man$${f##*.}/$$f"; \
	done
	rm -f $(DESTDIR)$(LIBDIR)/$(SHLIB) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libatb.so $(DESTDIR)$(LIBDIR)/libatb.a
	rm -f $(DESTDIR)$(INCLUDEDIR)/atb.h $(addprefix $(DESTDIR)$(INCLUDEDIR)/atb/,$(notdir $(PUB_HDRS)))
	if [ -d $(DESTDIR)$(INCLUDEDIR)/atb ]; then rmdir $(DESTDIR)$(INCLUDEDIR)/atb 2>/dev/null || :; fi
	rm -f $(DESTDIR)$(PCDIR)/atb.pc
	rm -f $(DESTDIR)$(BASHCOMPDIR)/atb $(DESTDIR)$(ZSHCOMPDIR)/_atb $(DESTDIR)$(FISHCOMPDIR)/atb.fish
	$(LDCONFIG)

# The installed headers compile on their own as strict C99: first atb.h
# alone, then beside libev's ev.h with a command made from ATB_CMD_INIT. The
# caller's CPPFLAGS and CFLAGS stay out: -D_FORTIFY_SOURCE without -O is a
# warning, and this checks the headers, not the flags. Used by
# tests/embed/embed.sh after `make install DESTDIR=...`.
HDR_CHECK = $(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wundef -I$(DESTDIR)$(INCLUDEDIR) -x c -c -o /dev/null -
check-headers:
	printf '#include <atb.h>\n' | $(HDR_CHECK)
	printf '#include <atb.h>\n#include <ev.h>\nstruct atb_cmd check_cmd = ATB_CMD_INIT;\n' \
	  | $(HDR_CHECK)

clean:
	rm -rf build
