#!/usr/bin/env python3
"""Soak test for atb: many small random runs, each checked against the contract.

    make soak [SOAK_RUNS=5000] [SOAK_TIME=240] [SOAK_SEED=N]
    python3 tests/bench/soak.py --build build [--runs N] [--time S] [--seed N]
                                [--iteration I] [-v]

Each iteration draws a scenario from its own generator (seeded with SEED and
the iteration number, so `--seed SEED --iteration I` replays one), runs atb
once and checks:
  - the exit status: 0; the status of the first command to fail (failures are
    chained so that their order is known: each waits until the one before
    has ended and been reaped); the race winner's; 124 for -t; killed by
    the signal sent to atb (at a random moment, sometimes followed by a
    second one: SIGINT, SIGTERM and SIGHUP most often, and every other
    signal atb catches: QUIT, USR1, USR2, ALRM, XCPU, XFSZ, VTALRM, PROF,
    PWR);
  - SIGKILL to atb at a random moment: atb's guardian cancels everything
    the run started (the check below waits up to 10 s for it);
  - the --report JSON parses and agrees (exit_status, outcome);
  - no process outlives atb: this driver is a child subreaper, so anything
    left over is reparented to it, and every process also carries a marker
    that pgrep looks for;
  - no run folder is left in $XDG_RUNTIME_DIR/atb (a private one here);
  - in one scenario in twenty, a long run with -j 2: atb holds as many fds
    late in the run as early on, with the same number of commands running;
  - with -o prefix and a clean run, every line a command printed is there,
    with its prefix.
Ends with `soak: N runs, M violations` and exits 1 on any violation; every
violation is printed with its seed, iteration, command line, expected and got.
"""
import argparse
import ctypes
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36
HANG_S = 20.0
SIGS = {"INT": signal.SIGINT, "TERM": signal.SIGTERM, "HUP": signal.SIGHUP}
# Every other signal atb catches (atb_run_signals(): the real-time ones too).
MORE_SIGS = [signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGXCPU,
             signal.SIGXFSZ, signal.SIGVTALRM, signal.SIGPROF, signal.SIGPWR,
             signal.SIGRTMIN + 1]
GUARD_S = 10.0


class Scenario:
    """One random run: the command line and what atb must do with it."""

    def __init__(self, rng, tag, tmp, atb):
        self.rng = rng
        self.tag = tag          # digits, unique to this iteration
        self.tmp = tmp          # a private folder for fifos and flags
        self.atb = atb
        self.cmds = []          # (name, argv, info)
        self.opts = []
        self.mode = "pool"
        self.expect = 0         # an exit status, or -signo
        self.signals = []       # [(delay_s, signo)]
        self.fd_check = False
        self.clean = False      # nothing failed or was cancelled
        self.kind = ""

    # --- command kinds --------------------------------------------------
    def mark(self, k):
        return f"soak-{self.tag}-{k}"

    def sleeper(self):
        return f"30.{self.tag}"

    def sh(self, k, script):
        return ["sh", "-c", script, self.mark(k)]

    def ok_cmd(self, k):
        r = self.rng
        delay = r.choice([0, 0, 0.01, 0.03, 0.08])
        kind = r.choice(["true", "seq", "seq-err", "partial", "big", "both", "seq"])
        lines = 0
        if kind == "true":
            return ["true"], {"lines": 0}
        if kind == "seq":
            lines = r.randint(1, 3000)
            body = f"seq {lines}"
        elif kind == "seq-err":
            body = f"seq {r.randint(1, 500)} >&2"
        elif kind == "partial":
            body = "printf 'no newline at the end'"
            lines = 1
        elif kind == "big":
            body = f"yes soak-output-line | head -c {r.choice([70000, 300000, 1500000])}"
            lines = None  # the last line is cut: not counted
        else:
            n = r.randint(1, 200)
            body = f"seq {n}; seq {n} >&2"
            lines = n
        return self.sh(k, f"sleep {delay}; {body}"), {"lines": lines}

    def long_cmd(self, k):
        r = self.rng
        s = self.sleeper()
        kind = r.choice(["sleep", "grandchild", "ignore-term", "trap-exit", "setsid", "sleep"])
        if kind == "sleep":
            return ["sleep", s]
        if kind == "grandchild":
            return self.sh(k, f"sleep {s} & wait")
        if kind == "ignore-term":
            return self.sh(k, f"trap '' TERM INT HUP; sleep {s} & wait")
        if kind == "trap-exit":
            return self.sh(k, f"trap 'exit 0' TERM INT HUP; sleep {s} & wait")
        return self.sh(k, f"setsid sleep {s} & wait")

    def fail_script(self, idx, code, delay):
        """The idx-th failure (0-based) in time order: it waits until the one
        before it has been reaped by atb (kill -0 sees zombies), then a bit."""
        pidf = os.path.join(self.tmp, f"f{idx}.pid")
        prev = os.path.join(self.tmp, f"f{idx - 1}.pid")
        wait = ""
        if idx > 0:
            wait = (f"while [ ! -s {prev} ]; do sleep 0.01; done; p=$(cat {prev}); "
                    "while kill -0 $p 2>/dev/null; do sleep 0.01; done; sleep 0.1; ")
        end = f"kill -USR1 $$" if code == 128 + signal.SIGUSR1 else f"exit {code}"
        return f"echo $$ > {pidf}.tmp && mv {pidf}.tmp {pidf}; {wait}sleep {delay}; " \
               f"echo failing {code}; {end}"

    # --- scenarios --------------------------------------------------------
    def common_opts(self):
        r = self.rng
        self.opts += ["-o", r.choice(["prefix", "prefix", "group", "inherit"])]
        self.opts += ["-g", r.choice(["0.05s", "0.1s", "0.3s"])]
        if r.random() < 0.3:
            self.opts += ["-s", r.choice(["TERM", "INT", "HUP", "USR1"])]

    def build(self):
        r = self.rng.random()
        if r < 0.45:
            self.failures()
        elif r < 0.62:
            self.race()
        elif r < 0.74:
            self.timeout()
        elif r < 0.90:
            self.signalled()
        elif r < 0.95:
            self.killed()
        else:
            self.fds()

    def failures(self):
        r = self.rng
        self.kind = "failures"
        self.mode = r.choice(["pool", "try-all", "wait-all"])
        self.common_opts()
        n = r.randint(1, 8)
        nfail = min(n, r.choice([0, 0, 1, 1, 2, 3]))
        jobs = r.choice([0, 0, 0, 1, 2, 3])
        if jobs:
            self.opts += ["-j", str(jobs)]
        # Long commands only where a failure ends the run, and never behind
        # a -j queue (they would hold their slot for 30 s).
        longs = 0
        if self.mode != "wait-all" and nfail and not jobs:
            longs = r.randint(0, n - nfail)
        kinds = ["fail"] * nfail + ["long"] * longs + ["ok"] * (n - nfail - longs)
        r.shuffle(kinds)
        codes = []
        fi = 0
        notfound = nfail == 1 and r.random() < 0.15
        for k, kind in enumerate(kinds):
            if kind == "ok":
                argv, info = self.ok_cmd(k)
            elif kind == "long":
                argv, info = self.long_cmd(k), {"lines": None}
            elif notfound:
                argv, info = [f"soak-no-such-command-{self.tag}"], {"lines": None}
                codes.append(127)
            else:
                code = r.choice([1, 2, 3, 42, 99, 124, 126, 200, 128 + signal.SIGUSR1])
                codes.append(code)
                argv = self.sh(k, self.fail_script(fi, code, r.choice([0, 0.02, 0.05])))
                info = {"lines": None}
                fi += 1
            self.cmds.append((f"c{k}", argv, info))
        self.expect = codes[0] if codes else 0
        self.clean = not codes

    def race(self):
        r = self.rng
        self.kind = "race"
        self.mode = "race"
        self.common_opts()
        n = r.randint(1, 8)
        win = r.randrange(n)
        code = r.choice([0, 0, 0, 1, 7, 128 + signal.SIGUSR1])
        for k in range(n):
            if k == win:
                end = "kill -USR1 $$" if code == 128 + signal.SIGUSR1 else f"exit {code}"
                argv = self.sh(k, f"sleep {r.choice([0.02, 0.05, 0.1])}; seq 20; {end}")
            else:
                argv = self.long_cmd(k)
            self.cmds.append((f"c{k}", argv, {"lines": None}))
        self.expect = code

    def timeout(self):
        r = self.rng
        self.kind = "timeout"
        self.mode = r.choice(["pool", "try-all", "wait-all", "race"])
        self.common_opts()
        self.opts += ["-t", r.choice(["0.1s", "0.2s", "300ms"])]
        n = r.randint(1, 6)
        for k in range(n):
            if self.mode != "race" and r.random() < 0.3:
                argv, info = self.ok_cmd(k)
            else:
                argv, info = self.long_cmd(k), {"lines": None}
            self.cmds.append((f"c{k}", argv, info))
        if all(a[0] != "sleep" and "30." not in " ".join(a) for _, a, _ in self.cmds):
            self.cmds.append((f"c{n}", self.long_cmd(n), {"lines": None}))
        self.expect = 124

    def signalled(self):
        r = self.rng
        self.kind = "signal"
        self.mode = r.choice(["pool", "try-all", "wait-all", "race"])
        self.common_opts()
        n = r.randint(1, 6)
        for k in range(n):
            if self.mode != "race" and r.random() < 0.3:
                argv, info = self.ok_cmd(k)
            else:
                argv, info = self.long_cmd(k), {"lines": None}
            self.cmds.append((f"c{k}", argv, info))
        self.cmds.append((f"c{n}", self.long_cmd(n), {"lines": None}))
        pick = list(SIGS.values()) * 4 + MORE_SIGS
        first = r.choice(pick)
        t = r.choice([0, 0.001, 0.005, 0.02, 0.05, 0.1, 0.2])
        self.signals = [(t, first)]
        if r.random() < 0.3:
            self.signals.append((t + r.choice([0, 0.01, 0.05]), r.choice(pick)))
        self.expect = -first

    def killed(self):
        """SIGKILL to atb: nothing handles it in atb; its guardian must."""
        r = self.rng
        self.kind = "killed"
        self.mode = r.choice(["pool", "try-all", "wait-all", "race"])
        self.common_opts()
        for k in range(r.randint(1, 6)):
            self.cmds.append((f"c{k}", self.long_cmd(k), {"lines": None}))
        self.signals = [(r.choice([0, 0.001, 0.005, 0.02, 0.05, 0.1, 0.2]), signal.SIGKILL)]
        self.expect = -signal.SIGKILL

    def fds(self):
        """A long run with -j 2: heads hold the two slots until gate1, the
        middle commands pass through them, tails hold them until gate2."""
        r = self.rng
        self.kind = "fds"
        self.mode = "wait-all"
        self.fd_check = True
        self.opts += ["-o", r.choice(["prefix", "group", "inherit"]), "-j", "2"]
        k = 0
        for h in range(2):
            flag = os.path.join(self.tmp, f"head{h}")
            gate = os.path.join(self.tmp, "gate1")
            self.cmds.append((f"c{k}", self.sh(k, f"touch {flag}; while [ ! -e {gate} ]; do "
                                                  "sleep 0.01; done; echo head"),
                              {"lines": 1}))
            k += 1
        for _ in range(r.randint(10, 40)):
            argv, info = self.ok_cmd(k)
            self.cmds.append((f"c{k}", argv, info))
            k += 1
        for t in range(2):
            flag = os.path.join(self.tmp, f"tail{t}")
            gate = os.path.join(self.tmp, "gate2")
            self.cmds.append((f"c{k}", self.sh(k, f"touch {flag}; while [ ! -e {gate} ]; do "
                                                  "sleep 0.01; done; echo tail"),
                              {"lines": 1}))
            k += 1
        self.expect = 0
        self.clean = True

    def argv(self, report):
        names = ",".join(n for n, _, _ in self.cmds)
        out = [self.atb, self.mode] + self.opts + ["-n", names, "--report", report, "--"]
        for i, (_, a, _) in enumerate(self.cmds):
            if i:
                out.append("--")
            out += a
        return out


class Soak:
    def __init__(self, args):
        self.atb = os.path.abspath(os.path.join(args.build, "atb"))
        self.base = os.path.abspath(os.path.join(args.build, "soak"))
        self.seed = args.seed
        self.verbose = args.verbose
        self.violations = []
        self.stats = {}
        shutil.rmtree(self.base, ignore_errors=True)
        os.makedirs(self.base, exist_ok=True)
        self.xdg = os.path.join(self.base, "xdg")
        os.makedirs(self.xdg, mode=0o700)
        self.env = dict(os.environ, XDG_RUNTIME_DIR=self.xdg)
        self.env.pop("ATB_LATCH_DIR", None)
        self.me = os.getpid()

    # --- leftovers ----------------------------------------------------------
    def children(self):
        pids = []
        for tid in os.listdir(f"/proc/{self.me}/task"):
            try:
                with open(f"/proc/{self.me}/task/{tid}/children") as f:
                    pids += [int(p) for p in f.read().split()]
            except OSError:
                pass
        return pids

    @staticmethod
    def describe(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return f"{pid} [{state}] {cmd or '(zombie)'}"
        except OSError:
            return f"{pid} (gone)"

    def leftovers(self, tag):
        """Processes that outlived atb: children of ours (we are a subreaper)
        and anything carrying this iteration's marker. Kills and reaps them."""
        found = {}
        for pid in self.children():
            found[pid] = self.describe(pid)
        out = ""
        if shutil.which("pgrep"):
            out = subprocess.run(["pgrep", "-f", f"soak-{tag}-|30\\.{tag}"],
                                 capture_output=True, text=True).stdout
        for line in out.split():
            pid = int(line)
            if pid not in found:
                found[pid] = self.describe(pid)
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.reap()
        return sorted(found.values())

    def survivors(self, tag):
        """Live children of ours (zombies reaped) and marked processes."""
        self.reap()
        found = [p for p in self.children() if "[Z]" not in self.describe(p)]
        if shutil.which("pgrep"):
            out = subprocess.run(["pgrep", "-f", f"soak-{tag}-|30\\.{tag}"],
                                 capture_output=True, text=True).stdout
            found += [int(x) for x in out.split()]
        return found

    def wait_guarded(self, tag):
        """After SIGKILL to atb: its guardian (now our child: we are the
        subreaper) cancels what the run left, waits the grace, kills, and
        exits. Everything must be gone within GUARD_S."""
        end = time.monotonic() + GUARD_S
        while time.monotonic() < end:
            if not self.survivors(tag):
                self.stats["killed, all gone"] = self.stats.get("killed, all gone", 0) + 1
                return []
            time.sleep(0.01)
        return [f"SIGKILL to atb: still there after {GUARD_S:.0f} s: "
                + "; ".join(self.describe(p) for p in self.survivors(tag)[:6])]

    @staticmethod
    def reap():
        while True:
            try:
                r = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG)
            except ChildProcessError:
                return
            if r is None:
                return

    # --- one iteration ------------------------------------------------------
    def iteration(self, i):
        rng = random.Random(f"{self.seed}:{i}")
        tag = f"{self.seed % 100000}{i:06d}"
        tmp = tempfile.mkdtemp(prefix=f"it{i}-", dir=self.base)
        sc = Scenario(rng, tag, tmp, self.atb)
        sc.build()
        report = os.path.join(tmp, "report.json")
        argv = sc.argv(report)
        capture = sc.clean and "prefix" in sc.opts and rng.random() < 0.7
        out_path = os.path.join(tmp, "stdout")
        err_path = os.path.join(tmp, "stderr")
        problems = []
        got = None
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            t0 = time.monotonic()
            # atb leaves SIGINT and SIGHUP alone when they were ignored on
            # entry (nohup, a script's background job); make soak may run as
            # one, so atb starts with the default actions.
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                 stdout=out if capture else subprocess.DEVNULL, stderr=err,
                                 env=self.env, preexec_fn=default_signals)
            if sc.signals:
                for delay, sig in sc.signals:
                    now = time.monotonic() - t0
                    if delay > now:
                        time.sleep(delay - now)
                    if p.poll() is None:
                        p.send_signal(sig)
            if sc.fd_check:
                problems += self.fd_check(p, tmp)
            try:
                got = p.wait(timeout=HANG_S)
            except subprocess.TimeoutExpired:
                problems.append(f"hang: atb still running after {HANG_S:.0f} s; killed")
                p.kill()
                got = p.wait()
            elapsed = time.monotonic() - t0
        if (got != sc.expect and len(sc.signals) == 2 and got == -sc.signals[1][1]
                and sc.signals[1][0] - sc.signals[0][0] < 0.02):
            # Two signals sent together may both be pending when atb's loop
            # looks, and then it cannot tell which came first.
            self.stats["two signals at once, second taken as first"] = \
                self.stats.get("two signals at once, second taken as first", 0) + 1
            sc.expect = got
        if got != sc.expect:
            problems.append(f"exit status: expected {self.status_text(sc.expect)}, got "
                            f"{self.status_text(got)}")
        if sc.kind == "killed":
            # No report from a SIGKILLed atb; its guardian cleans up.
            problems += self.wait_guarded(tag)
        else:
            problems += self.check_report(sc, report, got)
        left = self.leftovers(tag)
        if left:
            problems.append(f"{len(left)} processes outlived atb: " + "; ".join(left[:6]))
        run_dirs = [d for d in os.listdir(os.path.join(self.xdg, "atb"))
                    if d.startswith("run-")] if os.path.isdir(os.path.join(self.xdg, "atb")) \
            else []
        if run_dirs and sc.kind == "killed":
            # A killed run cannot remove its folder; a later run sweeps it
            # once it is a minute old. Removed here so the next run's check
            # sees only its own.
            for d in run_dirs:
                shutil.rmtree(os.path.join(self.xdg, "atb", d), ignore_errors=True)
            run_dirs = []
        if run_dirs:
            problems.append(f"run folders left in $XDG_RUNTIME_DIR/atb: {run_dirs}")
            for d in run_dirs:
                shutil.rmtree(os.path.join(self.xdg, "atb", d), ignore_errors=True)
        if capture and got == 0:
            problems += self.check_prefix(sc, out_path)
        key = f"{sc.kind}/{sc.mode}"
        self.stats[key] = self.stats.get(key, 0) + 1
        if problems:
            with open(err_path, errors="replace") as f:
                stderr = f.read()[-1500:]
            self.violations.append({"seed": self.seed, "iteration": i, "kind": sc.kind,
                                    "argv": shlex.join(argv), "expected": sc.expect,
                                    "got": got, "signals": sc.signals,
                                    "problems": problems, "stderr": stderr,
                                    "elapsed_s": round(elapsed, 3)})
            self.print_violation(self.violations[-1])
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        if self.verbose:
            print(f"soak: {i}: {sc.kind} {sc.mode} {len(sc.cmds)} cmds -> {got} "
                  f"({elapsed:.2f} s){' VIOLATION' if problems else ''}", flush=True)

    @staticmethod
    def status_text(st):
        if st is None:
            return "none"
        if st < 0:
            return f"killed by {signal.Signals(-st).name}"
        return f"exit {st}"

    def check_report(self, sc, path, got):
        sig_early = sc.signals and sc.signals[0][0] < 0.05
        if not os.path.exists(path):
            if sig_early and got == sc.expect:
                self.stats["early signal, no report"] = \
                    self.stats.get("early signal, no report", 0) + 1
                return []
            return ["--report: no report written"]
        try:
            with open(path) as f:
                rep = json.load(f)
        except (ValueError, OSError) as e:
            return [f"--report: does not parse: {e}"]
        problems = []
        want = 128 - sc.expect if sc.expect < 0 else sc.expect
        if got == sc.expect and rep.get("exit_status") != want:
            problems.append(f"--report: exit_status {rep.get('exit_status')}, expected {want}")
        outcome = ("interrupted" if sc.expect < 0 else "timed_out" if sc.kind == "timeout"
                   else "succeeded" if sc.expect == 0 else "failed")
        if got == sc.expect and rep.get("outcome") != outcome:
            problems.append(f"--report: outcome {rep.get('outcome')!r}, expected {outcome!r}")
        if len(rep.get("commands", [])) != len(sc.cmds):
            problems.append(f"--report: {len(rep.get('commands', []))} commands, expected "
                            f"{len(sc.cmds)}")
        return problems

    @staticmethod
    def check_prefix(sc, out_path):
        with open(out_path, "rb") as f:
            data = f.read().decode(errors="replace")
        counts = {}
        for line in data.split("\n"):
            m = re.match(r"\[(c\d+)\] ", line)
            if m:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        problems = []
        for name, _, info in sc.cmds:
            want = info.get("lines")
            if want is None:
                continue
            if counts.get(name, 0) != want:
                problems.append(f"prefix output: {name} has {counts.get(name, 0)} lines on "
                                f"stdout, expected {want}")
        return problems

    def fd_check(self, p, tmp):
        def wait_for(names, limit=10.0):
            end = time.monotonic() + limit
            while time.monotonic() < end:
                if all(os.path.exists(os.path.join(tmp, n)) for n in names):
                    return True
                if p.poll() is not None:
                    return False
                time.sleep(0.005)
            return False

        def nfds():
            try:
                return len(os.listdir(f"/proc/{p.pid}/fd"))
            except OSError:
                return None

        problems = []
        if not wait_for(["head0", "head1"]):
            open(os.path.join(tmp, "gate1"), "w").close()
            open(os.path.join(tmp, "gate2"), "w").close()
            return ["fd check: the first two commands never started"]
        time.sleep(0.05)
        first = nfds()
        open(os.path.join(tmp, "gate1"), "w").close()
        if not wait_for(["tail0", "tail1"], limit=15.0):
            open(os.path.join(tmp, "gate2"), "w").close()
            return ["fd check: the last two commands never started"]
        time.sleep(0.05)
        last = nfds()
        open(os.path.join(tmp, "gate2"), "w").close()
        self.stats["fd checks"] = self.stats.get("fd checks", 0) + 1
        if first is None or last is None or last > first:
            problems.append(f"fd leak: atb had {first} fds with the first two commands "
                            f"running and {last} with the last two")
        return problems

    @staticmethod
    def print_violation(v):
        print(f"soak: VIOLATION seed={v['seed']} iteration={v['iteration']} ({v['kind']}, "
              f"{v['elapsed_s']} s)", flush=True)
        print(f"  command: {v['argv']}")
        if v["signals"]:
            print("  signals to atb: " + ", ".join(f"{signal.Signals(s).name} at {t:.3f} s"
                                                   for t, s in v["signals"]))
        for pr in v["problems"]:
            print(f"  - {pr}")
        if v["stderr"].strip():
            print("  atb stderr (end): " + v["stderr"].strip().replace("\n", "\n    "))
        print(f"  replay: python3 tests/bench/soak.py --seed {v['seed']} --iteration "
              f"{v['iteration']} -v", flush=True)



def default_signals():
    """In the child, before exec: every signal atb catches back to its
    default (a background job starts with SIGINT and SIGQUIT ignored, nohup
    ignores SIGHUP), and none blocked."""
    for sig in list(SIGS.values()) + MORE_SIGS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--time", type=float, default=240, help="stop after this many seconds")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--iteration", type=int, default=None, help="run only this iteration")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2**31)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("soak: cannot become a child subreaper")
    s = Soak(args)
    if not os.access(s.atb, os.X_OK):
        sys.exit(f"soak: {s.atb} is missing (run through make soak)")
    print(f"soak: seed {args.seed} (replay with --seed {args.seed}); up to {args.runs} runs "
          f"in {args.time:.0f} s", flush=True)
    t0 = time.monotonic()
    done = 0
    its = [args.iteration] if args.iteration is not None else range(args.runs)
    for i in its:
        if time.monotonic() - t0 > args.time:
            break
        s.iteration(i)
        done += 1
        if done % 250 == 0:
            print(f"soak: {done} runs, {len(s.violations)} violations, "
                  f"{time.monotonic() - t0:.0f} s", flush=True)
    elapsed = time.monotonic() - t0
    print("soak: scenarios: " + ", ".join(f"{k} {v}" for k, v in sorted(s.stats.items())))
    with open(os.path.join(s.base, "violations.json"), "w") as f:
        json.dump(s.violations, f, indent=1)
    kinds = {}
    for v in s.violations:
        for pr in v["problems"]:
            k = re.sub(r"\d+", "N", pr.split(":")[0])
            kinds.setdefault(k, []).append(v["iteration"])
    for k, its in sorted(kinds.items()):
        print(f"soak: violation '{k}': {len(its)} (iterations {', '.join(map(str, its[:10]))}"
              f"{', ...' if len(its) > 10 else ''})")
    print(f"soak: {done} runs, {len(s.violations)} violations ({elapsed:.0f} s, seed "
          f"{args.seed})")
    if s.violations:
        print(f"soak: details in {os.path.join(s.base, 'violations.json')}")
    sys.exit(1 if s.violations else 0)


if __name__ == "__main__":
    main()
