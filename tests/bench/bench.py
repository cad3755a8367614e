#!/usr/bin/env python3
"""atb benchmarks against its peers and the physical floor.

Run through `make bench` (see tests/bench/bench.mk), which installs the
peers and builds the helper programs first:

    make bench                     every workload, scale included
    make bench SCALE=0             without the scale workload
    make bench ONLY=overhead,output
    make bench BASELINE=/path/to/older/atb

With a baseline, every hyperfine invocation that times atb also times the
older binary given, with the same arguments and in the same rounds, and
the report ends with a table of atb's medians against the baseline's (a
change that makes no workload slower shows ratios near 1.00x).

Every timed figure comes from one hyperfine invocation that runs atb, the
floor (tests/bench/floor.c: posix_spawn and wait, nothing else) and the
peers together, so each ratio compares runs taken under the same load: the
machine may be noisy, the ratios should hold. Times are medians. Peak
memory (hyperfine cannot see it) comes from /usr/bin/time -f %M.

Results: a table on stdout, build/bench/results.md (Markdown, for the
README) and build/bench/results.json; hyperfine's own JSON and logs are in
build/bench/hf-*.
"""
import argparse
import ctypes
import datetime
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import time

from workloads import Workloads, fmt_ratio, fmt_time

WORKLOADS = ["overhead", "startup", "failfast", "output", "race", "latch", "scale", "stdin",
             "slurm"]
PR_SET_CHILD_SUBREAPER = 36


class Bench(Workloads):
    def __init__(self, args):
        self.build = os.path.abspath(args.build)
        self.dir = os.path.join(self.build, "bench")
        self.here = os.path.dirname(os.path.abspath(__file__))
        self.atb = os.path.join(self.build, "atb")
        self.floor = os.path.join(self.dir, "floor")
        self.gen = os.path.join(self.dir, "gen")
        self.latchbench = os.path.join(self.dir, "latchbench")
        self.quick = args.quick
        self.stdin_n = args.stdin_n
        self.rows = []
        self.base_rows = []  # (invocation, key, atb median, baseline median)
        self.baseline = os.path.abspath(args.baseline) if args.baseline else None
        self.notes = []
        self.extra = {}  # workload -> free-form figures for results.json
        self.mem = {}
        conc = os.path.join(self.dir, "npm", "node_modules", ".bin", "concurrently")
        self.conc = conc if os.access(conc, os.X_OK) else None
        self.parallel = shutil.which("parallel")
        self.hf_bin = shutil.which("hyperfine")
        self.marker_base = random.randint(10000, 99999)
        self.marker_next = 0
        os.makedirs(self.dir, exist_ok=True)
        if self.conc is None:
            self.note("concurrently is not installed (npm missing or failed): skipped")
        if self.parallel is None:
            self.note("GNU parallel is not installed: skipped")

    # --- plumbing -----------------------------------------------------------

    def note(self, text):
        self.notes.append(text)
        print(f"bench: note: {text}", flush=True)

    def log(self, text):
        print(f"bench: {text}", flush=True)

    def marker(self):
        """A sleep duration no other process on the machine uses."""
        self.marker_next += 1
        return f"1000.{self.marker_base}{self.marker_next:03d}"

    def marker_pattern(self):
        return rf"^(/bin/)?(sleep|sh -c sleep) 1000\.{self.marker_base}[0-9]{{3}}"

    @staticmethod
    def reap_orphans():
        """We are a child subreaper: reap whatever was reparented to us."""
        while True:
            try:
                r = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG)
            except ChildProcessError:
                return
            if r is None:
                return

    def survivors(self, log):
        """Runs reap.sh once (after the last run) and returns the log lines."""
        subprocess.run(["sh", os.path.join(self.here, "reap.sh"), log, self.marker_pattern()])
        time.sleep(0.05)
        self.reap_orphans()
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return [line.strip() for line in f if line.strip()]

    def hyperfine(self, name, cmds, runs, warmup, ignore_failure=False, reap_log=None,
                  rounds=None):
        """Times cmds [(key, argv)] with hyperfine. Returns {key: {'median': s,
        'min': s, 'times': [...]}} for the commands that ran.

        The runs are split into rounds, one hyperfine invocation each, with
        the order of the commands rotated from round to round: on a shared
        machine the load comes and goes over seconds, and a command whose
        runs all fell in one bad stretch would look slower than it is. The
        warm-up runs are in the first round only."""
        if self.quick:
            runs = max(2, runs // 3)
            warmup = min(warmup, 1)
        if self.baseline:
            cmds = cmds + [("baseline:" + k, [self.baseline] + c[1:])
                           for k, c in cmds if c and c[0] == self.atb]
        rounds = max(1, min(runs, rounds or 6))
        per_round = -(-runs // rounds)
        self.last_runs = per_round * rounds + warmup
        self.log(f"{name}: hyperfine, {len(cmds)} commands x ({warmup} + {per_round * rounds})"
                 f" runs in {rounds} rounds")
        t0 = time.monotonic()
        times = {key: [] for key, _ in cmds}
        logf = os.path.join(self.dir, f"hf-{name}.log")
        if os.path.exists(logf):
            os.unlink(logf)
        for i in range(rounds):
            order = cmds[i % len(cmds):] + cmds[:i % len(cmds)]
            out = os.path.join(self.dir, f"hf-{name}.{i}.json")
            argv = [self.hf_bin, "-N", "--style", "basic", "--runs", str(per_round),
                    "--warmup", str(warmup if i == 0 else 0), "--export-json", out]
            if ignore_failure:
                argv.append("-i")
            if reap_log is not None:
                argv += ["--prepare", shlex.join(["sh", os.path.join(self.here, "reap.sh"),
                                                   reap_log, self.marker_pattern()])]
            for key, cmd in order:
                argv += ["-n", key, shlex.join(cmd)]
            with open(logf, "a") as lf:
                rc = subprocess.run(argv, stdout=lf, stderr=subprocess.STDOUT).returncode
            self.reap_orphans()
            if rc != 0:
                self.note(f"{name}: hyperfine failed (status {rc}); see {logf}")
                return {}
            with open(out) as f:
                for r in json.load(f)["results"]:
                    times[r["command"]].extend(r["times"])
        res = {k: {"median": statistics.median(v), "min": min(v), "times": v}
               for k, v in times.items() if v}
        for k in res:
            if k.startswith("baseline:") and k[9:] in res:
                self.base_rows.append((name, k[9:], res[k[9:]]["median"], res[k]["median"]))
        self.log(f"{name}: done in {time.monotonic() - t0:.0f} s: " +
                 ", ".join(f"{k} {fmt_time(v['median'])}" for k, v in res.items()))
        return res

    def peak_kib(self, argv, **kw):
        """Peak RSS in KiB of argv (run once, output to /dev/null)."""
        path = os.path.join(self.dir, "time.out")
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", path] + argv,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        self.reap_orphans()
        with open(path) as f:
            lines = [l for l in f.read().split("\n") if l.strip()]
        try:
            return int(lines[-1])
        except (IndexError, ValueError):
            return None

    def row(self, workload, atb, floor, ratio, peers, target, met, mem, note="",
            ratio_best=None):
        """One line of the table. ratio compares medians; ratio_best, when
        given, compares the fastest runs (less sensitive to load spikes)."""
        self.rows.append({"workload": workload, "atb": atb, "floor": floor,
                          "ratio": ratio, "ratio_best": ratio_best, "peers": peers,
                          "target": target, "met": met, "mem": mem, "note": note})

    def peak_kib_median(self, argv, runs=5):
        """The median of runs peak_kib()s: one run's peak swings by 100 KiB
        here (the C library's pages it happens to touch), which at 1,000
        commands is 100 bytes a command."""
        peaks = [p for p in (self.peak_kib(argv) for _ in range(runs)) if p is not None]
        return int(statistics.median(peaks)) if peaks else None

    def base_mem(self):
        if "base" not in self.mem:
            self.mem["base"] = self.peak_kib_median([self.atb, "pool", "--", "true"])
        return self.mem["base"]

    # --- workloads ----------------------------------------------------------

    def machine(self):
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, cwd=self.here).stdout.strip() or "?"
        return {"date": datetime.date.today().isoformat(), "nproc": os.cpu_count(),
                "cpu": cpu, "kernel": platform.release(), "load": load, "atb": rev}

    def report(self, mach, elapsed):
        head = ["workload", "atb", "floor", "ratio", "peers (ratio to floor)", "target", "met",
                "atb peak memory"]
        table = []
        for r in self.rows:
            met = "-" if r["met"] is None else ("met" if r["met"] else "NOT MET")
            ratio = fmt_ratio(r["ratio"])
            if r.get("ratio_best") is not None:
                ratio += f" (best runs {fmt_ratio(r['ratio_best'])})"
            table.append([r["workload"], r["atb"], r["floor"], ratio,
                          r["peers"] or "-", r["target"], met, r["mem"]])
        print()
        print(f"atb bench, {mach['date']}: {mach['nproc']} x {mach['cpu']}, Linux "
              f"{mach['kernel']}, load {mach['load']}, atb {mach['atb']}, {elapsed:.0f} s")
        for t in table:
            print()
            print(f"  {t[0]}")
            for h, v in zip(head[1:], t[1:]):
                print(f"    {h:24} {v}")
        print()
        for n in self.notes:
            print(f"note: {n}")
        md = [f"Measured {mach['date']} on {mach['nproc']} x {mach['cpu']}, Linux "
              f"{mach['kernel']} (load average {mach['load']} at the end), atb {mach['atb']}, "
              "with `make bench`. "
              "Times are hyperfine medians; ratios compare runs of one hyperfine invocation.",
              "",
              "| " + " | ".join(head) + " |",
              "|" + "---|" * len(head)]
        for t in table:
            md.append("| " + " | ".join(str(c).replace("|", "\\|") for c in t) + " |")
        if self.notes:
            md.append("")
            md += [f"- {n}" for n in self.notes]
        if self.base_rows:
            print(f"atb against the baseline {self.baseline} (medians, same rounds):")
            md += ["", f"atb against the baseline `{self.baseline}` (medians of the same rounds):",
                   "", "| invocation | atb | baseline | ratio |", "|---|---|---|---|"]
            for name, key, new, old in self.base_rows:
                label = name if key == "atb" else f"{name} ({key})"
                print(f"  {label:40} {fmt_time(new):>10} {fmt_time(old):>10} "
                      f"{fmt_ratio(new / old):>7}")
                md.append(f"| {label} | {fmt_time(new)} | {fmt_time(old)} | "
                          f"{fmt_ratio(new / old)} |")
            print()
        with open(os.path.join(self.dir, "results.md"), "w") as f:
            f.write("\n".join(md) + "\n")
        with open(os.path.join(self.dir, "results.json"), "w") as f:
            json.dump({"machine": mach, "rows": self.rows, "notes": self.notes,
                       "figures": self.extra, "baseline": self.base_rows}, f, indent=1, default=str)
        print(f"bench: wrote {os.path.join(self.dir, 'results.md')} and results.json")
        missed = [r["workload"] for r in self.rows if r["met"] is False]
        print(f"bench: {len(self.rows)} rows, {len(missed)} targets not met" +
              (": " + "; ".join(missed) if missed else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--scale", type=int, default=1, help="0: skip the scale workload")
    ap.add_argument("--only", default="", help="comma-separated workloads: " + ",".join(WORKLOADS))
    ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    ap.add_argument("--baseline", default="",
                    help="an older atb binary timed beside atb in the same rounds")
    ap.add_argument("--stdin-n", type=int, default=20000,
                    help="commands fed to atb pool --stdin (the issue asks 1,000,000)")
    args = ap.parse_args()
    only = [w for w in args.only.split(",") if w] or list(WORKLOADS)
    for w in only:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w}")
    if not args.scale and not args.only:
        only.remove("scale")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    b = Bench(args)
    if b.hf_bin is None:
        sys.exit("bench: hyperfine is not installed (make bench installs it)")
    for exe in (b.atb, b.floor, b.gen, b.latchbench) + ((b.baseline,) if b.baseline else ()):
        if not os.access(exe, os.X_OK):
            sys.exit(f"bench: {exe} is missing (run through make bench)")
    t0 = time.monotonic()
    for w in only:
        getattr(b, w)()
    b.report(b.machine(), time.monotonic() - t0)


if __name__ == "__main__":
    main()
