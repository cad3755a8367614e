# atb: structured concurrency for processes.
#
#   make                 build build/atb
#   make demo            install build dependencies (apt), build, run the demo
#   make check           install test dependencies, build, run every suite
#   make check SANITIZE=1   the same, built with ASan and UBSan (in build/san)
#   make bench           benchmarks against peers (tests/bench, not part of check)
#   make install PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
CC      ?= cc
CFLAGS  ?= -O2 -g

ifeq ($(SANITIZE),1)
BUILD   ?= build/san
SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD   ?= build
SAN      =
endif

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Ilib $(WARN) $(SAN) $(CFLAGS)
LDLIBS   = -lev -lcjson -lm

LIB_SRC  = $(sort $(wildcard lib/*.c))
CMD_SRC  = $(sort $(wildcard cmd/*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/test-*.c))
HELP_SRC = $(sort $(wildcard tests/helpers/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  = $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
HELP_BIN = $(HELP_SRC:tests/helpers/%.c=$(BUILD)/helpers/%)
HDRS     = $(wildcard lib/*.h lib/atb/*.h cmd/*.h tests/unit/*.h)

# Debian packages: what building needs, and what the test suites need on top.
DEPS_BUILD = gcc make libev-dev libcjson-dev
DEPS_CHECK = bats bats-support bats-assert mandoc libxml2-utils bsdutils procps

.PHONY: all demo check bench soak install clean deps-build deps-check tests fuzz
all: $(BUILD)/atb

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libatb.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/atb: $(CMD_OBJ) $(BUILD)/libatb.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libatb.a $(LDLIBS)

$(BUILD)/unit/%: tests/unit/%.c tests/unit/unit.c $(BUILD)/libatb.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< tests/unit/unit.c $(BUILD)/libatb.a $(LDLIBS)

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
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz-spec.c $(LIB_SRC) $(LDLIBS)

install: $(BUILD)/atb
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(BUILD)/atb $(DESTDIR)$(BINDIR)/atb
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/

clean:
	rm -rf build
