# Benchmarks and soak test for atb; never part of `make check`.
# Called by the top-level Makefile:
#   make bench [SCALE=0] [ONLY=overhead,startup,failfast,output,race,latch,scale,stdin,slurm]
#              [STDIN_N=20000] [QUICK=1] [BASELINE=/path/to/older/atb]
#   make soak  [SOAK_RUNS=5000] [SOAK_TIME=240] [SOAK_SEED=N]
# SCALE=0 leaves out the 10,000-command scale workload (about 2 minutes);
# STDIN_N=1000000 runs the whole --stdin feed of the issue (10+ minutes here);
# QUICK=1 is a smoke test with a third of the runs.
# Both expect $(BUILD)/atb to be built already.

BUILD     ?= build
BENCH_DIR  = $(BUILD)/bench
CC        ?= cc
PYTHON    ?= python3
SCALE     ?= 1
ONLY      ?=
STDIN_N   ?= 20000
QUICK     ?=
BASELINE  ?=
SOAK_RUNS ?= 5000
SOAK_TIME ?= 240
SOAK_SEED ?=

# Peers from Debian: GNU parallel and hyperfine; time (/usr/bin/time) and
# procps (pgrep) for the measurements.
BENCH_DEBS = parallel hyperfine time procps python3

BENCH_BIN = $(BENCH_DIR)/floor $(BENCH_DIR)/gen $(BENCH_DIR)/latchbench

.PHONY: bench soak bench-peers bench-tools

$(BENCH_DIR)/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -D_GNU_SOURCE -Wall -Wextra -o $@ $<

bench-tools: $(BENCH_BIN)

# Installs the Debian peers when root (else prints the command), and
# concurrently from npm into a scratch folder; a failed npm is a note, not
# an error (bench.py then skips that peer).
bench-peers:
	@missing=; for p in $(BENCH_DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "bench: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "bench: missing packages; run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi
	@if [ -x $(BENCH_DIR)/npm/node_modules/.bin/concurrently ]; then :; \
	elif ! command -v npm >/dev/null 2>&1; then \
	  echo "bench: note: npm not found; concurrently will be skipped"; \
	else \
	  mkdir -p $(BENCH_DIR)/npm; \
	  echo "bench: installing concurrently into $(BENCH_DIR)/npm"; \
	  npm install --prefix $(BENCH_DIR)/npm --no-audit --no-fund --loglevel=error concurrently >/dev/null 2>&1 \
	    || echo "bench: note: npm install concurrently failed; concurrently will be skipped"; \
	fi

bench: bench-peers bench-tools
	$(PYTHON) tests/bench/bench.py --build $(BUILD) --scale $(SCALE) --stdin-n $(STDIN_N) \
	  $(if $(ONLY),--only $(ONLY)) $(if $(QUICK),--quick) $(if $(BASELINE),--baseline $(BASELINE))

soak:
	$(PYTHON) tests/bench/soak.py --build $(BUILD) --runs $(SOAK_RUNS) --time $(SOAK_TIME) $(if $(SOAK_SEED),--seed $(SOAK_SEED))
