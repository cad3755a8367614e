"""The workloads of tests/bench/bench.py, one method each: the rows of
its table. A mixin of bench.Bench, whose helpers (hyperfine, peak_kib,
row, note, log) they call."""
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

MIB = 1024 * 1024


def groups(cmds):
    """[['a', 'x'], ['b']] -> ['a', 'x', '--', 'b']: atb's argv groups."""
    out = []
    for c in cmds:
        if out:
            out.append("--")
        out.extend(c)
    return out


def fmt_time(s):
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 0.01:
        return f"{s * 1e3:.0f} ms"
    return f"{s * 1e3:.2f} ms"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


class Workloads:
    def overhead(self):
        n = 1000
        listf = os.path.join(self.dir, "list1000")
        with open(listf, "w") as f:
            f.write("\n".join(str(i) for i in range(n)) + "\n")
        trues = groups([["true"]] * n)
        for j in (2, 64):
            cmds = [("floor", [self.floor, "run", "-j", str(j), "-n", str(n), "--", "true"]),
                    ("atb", [self.atb, "pool", "-j", str(j)] + trues),
                    ("atb-inherit", [self.atb, "pool", "-o", "inherit", "-j", str(j)] + trues),
                    ("xargs", ["xargs", "-P", str(j), "-n", "1", "-a", listf, "true"]),
                    ("bash", ["bash", os.path.join(self.here, "waitn.sh"), str(j), str(n),
                              "/bin/true"])]
            if self.parallel:
                cmds.append(("parallel", [self.parallel, "--will-cite", "-j", str(j), "-N0",
                                          "-a", listf, "true"]))
            if self.conc:
                cmds.append(("concurrently", [self.conc, "-m", str(j)] + ["true"] * n))
            r = self.hyperfine(f"overhead-j{j}", cmds, runs=5, warmup=1)
            if "atb" not in r or "floor" not in r:
                continue
            fl = r["floor"]["median"]
            peers = ", ".join(f"{k} {r[k]['median'] / fl:.2f}x" for k in
                              ("xargs", "bash", "parallel", "concurrently") if k in r)
            mem = self.peak_kib([self.atb, "pool", "-j", str(j)] + trues)
            mem_i = self.peak_kib([self.atb, "pool", "-o", "inherit", "-j", str(j)] + trues)
            base = self.base_mem()
            for key, label, m in (("atb", "", mem), ("atb-inherit", " -o inherit", mem_i)):
                ratio = r[key]["median"] / fl
                self.row(f"overhead: 1,000 x true, -j{j}{label}", fmt_time(r[key]["median"]),
                         fmt_time(fl), ratio, peers if key == "atb" else "",
                         "<= 1.10x floor", ratio <= 1.10,
                         f"{m} KiB ({(m - base) * 1024 / n:.0f} B/cmd)" if m and base else "-",
                         ratio_best=r[key]["min"] / r["floor"]["min"])
            self.extra[f"overhead-j{j}"] = {k: v["median"] for k, v in r.items()}

    def startup(self):
        fast = [("bare", ["true"]),
                ("floor", [self.floor, "run", "--", "true"]),
                ("atb", [self.atb, "pool", "--", "true"])]
        r = self.hyperfine("startup", fast, runs=300, warmup=20)
        slow = list(fast)
        if self.parallel:
            slow.append(("parallel", [self.parallel, "--will-cite", "-N0", "true", ":::", "1"]))
        if self.conc:
            slow.append(("concurrently", [self.conc, "true"]))
        rp = self.hyperfine("startup-peers", slow, runs=20, warmup=2) if len(slow) > 3 else {}
        if "atb" not in r:
            return
        fl = r["floor"]["median"]
        ratio = r["atb"]["median"] / fl
        peers = ""
        if rp:
            peers = ", ".join(f"{k} {rp[k]['median'] / rp['floor']['median']:.0f}x"
                              for k in ("parallel", "concurrently") if k in rp)
        self.row("start-up: one true", fmt_time(r["atb"]["median"]), fmt_time(fl), ratio,
                 f"bare true {fmt_time(r['bare']['median'])}; " + peers, "<= 1.15x floor",
                 ratio <= 1.15, f"{self.base_mem()} KiB",
                 ratio_best=r["atb"]["min"] / r["floor"]["min"])
        self.extra["startup"] = {k: v["median"] for k, v in r.items()}
        self.extra["startup-peers"] = {k: v["median"] for k, v in rp.items()}

    def failfast(self):
        for n in (100, 1000):
            for variant in ("sleep", "sh -c 'sleep & wait'"):
                self._failfast(n, variant)

    def _failfast(self, n, variant):
        grand = variant != "sleep"
        tag = f"failfast-{n}-{'grandchild' if grand else 'sleep'}"
        log = os.path.join(self.dir, f"{tag}.survivors")
        if os.path.exists(log):
            os.unlink(log)
        markers = {}

        def sleeper(key):
            m = self.marker()
            markers[key] = m
            return ["sh", "-c", f"sleep {m} & wait"] if grand else ["sleep", m]

        def sleeper_sh(key):
            m = self.marker()
            markers[key] = m
            return f"sh -c 'sleep {m} & wait'" if grand else f"sleep {m}"

        cmds = [("floor", [self.floor, "failfast", "-n", str(n), "--"] + sleeper("floor") +
                 ["--", "false"])]
        s = sleeper("atb")
        cmds.append(("atb", [self.atb, "pool"] + groups([s] * n + [["false"]])))
        s = sleeper("atb-inherit")
        cmds.append(("atb-inherit", [self.atb, "pool", "-o", "inherit"] +
                     groups([s] * n + [["false"]])))
        s = sleeper("bash")
        cmds.append(("bash", ["bash", os.path.join(self.here, "waitn-failfast.sh"), str(n)] + s))
        par = []
        if self.parallel:
            s = sleeper_sh("parallel")
            par = [("parallel", [self.parallel, "--will-cite", "-j0", "--halt", "now,fail=1",
                                 ":::"] + [s] * n + ["false"])]
        left = {}

        def count(lines, keys):
            for key in keys:
                m = markers[key]
                procs = [l for l in lines if m in l]
                sleeps = [l for l in procs if re.match(r"^(/bin/)?sleep ", l)]
                left[key] = (len(procs) / self.last_runs, len(sleeps) / self.last_runs)

        if n <= 100:
            r = self.hyperfine(tag, cmds + par, runs=10, warmup=1, ignore_failure=True,
                               reap_log=log)
            count(self.survivors(log), [k for k, _ in cmds + par])
        else:
            # GNU parallel needs 10-25 s a run here: it gets an invocation of its
            # own with the floor and fewer runs, so the others can have more.
            r = self.hyperfine(tag, cmds, runs=4, warmup=1, ignore_failure=True, reap_log=log)
            count(self.survivors(log), [k for k, _ in cmds])
            if par:
                if os.path.exists(log):
                    os.unlink(log)
                rp = self.hyperfine(tag + "-parallel", cmds[:1] + par, runs=1, warmup=0,
                                    ignore_failure=True, reap_log=log)
                count(self.survivors(log), ["parallel"])
                if "parallel" in rp and "floor" in r:
                    # Expressed against this invocation's floor.
                    r["parallel"] = {"median": rp["parallel"]["median"] / rp["floor"]["median"]
                                     * r["floor"]["median"]}
        if "atb" in r:
            self._failfast_row(tag, n, variant, r, left, log)

    def _failfast_row(self, tag, n, variant, r, left, log):
        """The row of one fail-fast workload: r is hyperfine's medians, left
        the processes each program left per run."""
        grand = variant != "sleep"
        fl = r["floor"]["median"]
        ratio = r["atb"]["median"] / fl

        def left_s(key):
            procs, sleeps = left.get(key, (0, 0))
            return f"{procs:.0f} left" + (f" ({sleeps:.0f} orphaned sleeps)" if sleeps and grand
                                           else "") + (" per run" if procs else "")

        peers = "; ".join(f"{k} {r[k]['median'] / fl:.2f}x, {left_s(k)}"
                          for k in ("atb-inherit", "bash", "parallel") if k in r)
        mem = self.peak_kib([self.atb, "pool"] + groups([["sleep", self.marker()]] * n +
                                                        [["false"]]))
        self.survivors(log + ".mem")
        base = self.base_mem()
        atb_left = left["atb"][0]
        self.row(f"fail-fast: {n:,} x {variant} + false", fmt_time(r["atb"]["median"]),
                 fmt_time(fl), ratio, f"atb {left_s('atb')}; floor {left_s('floor')}; " + peers,
                 "<= 1.10x floor, 0 left", ratio <= 1.10 and atb_left == 0,
                 (f"{mem} KiB ({(mem - base) * 1024 / (n + 1):.0f} B/cmd)" if n >= 1000
                  else f"{mem} KiB") if mem and base else "-",
                 ratio_best=r["atb"]["min"] / r["floor"]["min"])
        self.extra[tag] = {"median": {k: v["median"] for k, v in r.items()},
                           "left_per_run": left}

    def output(self):
        size = 256 * MIB
        total_mib = 4 * size / MIB
        g = [self.gen, str(size)]
        cmds = [("bare", [self.floor, "run", "-n", "4", "--"] + g),
                ("floor-cat", [self.floor, "run", "-n", "4", "-p", "--"] + g),
                ("floor-hold", [self.floor, "run", "-n", "4", "-g", "--"] + g),
                ("atb-prefix", [self.atb, "pool", "-o", "prefix"] + groups([g] * 4)),
                ("atb-group", [self.atb, "pool", "-o", "group"] + groups([g] * 4)),
                ("atb-inherit", [self.atb, "pool", "-o", "inherit"] + groups([g] * 4))]
        if self.parallel:
            cmds.append(("parallel", [self.parallel, "--will-cite", "-j4", "--line-buffer",
                                      "--tag", self.gen, ":::"] + [str(size)] * 4))
        if self.conc:
            cmds.append(("concurrently", [self.conc] + [shlex.join(g)] * 4))
        r = self.hyperfine("output", cmds, runs=8, warmup=1)
        if "atb-prefix" not in r:
            return
        fc = r["floor-cat"]["median"]
        bare = r["bare"]["median"]
        mem = {k: self.peak_kib([self.atb, "pool", "-o", k] + groups([g] * 4))
               for k in ("prefix", "group", "inherit")}
        t = r["atb-prefix"]["median"]
        mibs = total_mib / t
        vs = {k: r[k]["median"] / t for k in ("parallel", "concurrently") if k in r}
        met = mibs >= 1000 and vs.get("parallel", 99) >= 4 and vs.get("concurrently", 99) >= 2
        self.row("output: 4 x 256 MiB, -o prefix", f"{fmt_time(t)} ({mibs:,.0f} MiB/s)",
                 f"{fmt_time(fc)} ({total_mib / fc:,.0f} MiB/s, cat)", t / fc,
                 ", ".join(f"atb {v:.1f}x faster than {k} ({total_mib / r[k]['median']:,.0f} MiB/s)"
                           for k, v in vs.items()),
                 ">= 1,000 MiB/s, >= 4x parallel, >= 2x concurrently", met,
                 f"{mem['prefix']} KiB",
                 ratio_best=r["atb-prefix"]["min"] / r["floor-cat"]["min"])
        t = r["atb-group"]["median"]
        fh = r["floor-hold"]["median"]
        self.row("output: 4 x 256 MiB, -o group", f"{fmt_time(t)} ({total_mib / t:,.0f} MiB/s)",
                 f"{fmt_time(fc)} (cat)", t / fc,
                 f"floor holding the output in a file: {fmt_time(fh)}, atb {t / fh:.2f}x that",
                 "<= 1.2x floor (cat)", t / fc <= 1.2, f"{mem['group']} KiB",
                 ratio_best=r["atb-group"]["min"] / r["floor-cat"]["min"])
        t = r["atb-inherit"]["median"]
        self.row("output: 4 x 256 MiB, -o inherit", fmt_time(t), f"{fmt_time(bare)} (bare)",
                 t / bare, "", "= bare (within 5% or 2 ms)",
                 t <= bare * 1.05 or t - bare <= 0.002, f"{mem['inherit']} KiB",
                 ratio_best=r["atb-inherit"]["min"] / r["bare"]["min"])
        self.extra["output"] = {k: v["median"] for k, v in r.items()}

    def race(self):
        m = self.marker()
        log = os.path.join(self.dir, "race.survivors")
        cmds = [("atb", [self.atb, "race", "-t", "0.2s", "--", "sleep", m]),
                ("timeout", ["timeout", "0.2", "sleep", m])]
        r = self.hyperfine("race", cmds, runs=15, warmup=2, ignore_failure=True, reap_log=log)
        left = len(self.survivors(log))
        if "atb" not in r:
            return
        t, tt = r["atb"]["median"], r["timeout"]["median"]
        over = (t - 0.2) * 1e3
        self.row("race -t 0.2s -- sleep", f"{fmt_time(t)} (+{over:.1f} ms)",
                 f"{fmt_time(tt)} (timeout(1), +{(tt - 0.2) * 1e3:.1f} ms)", t / tt,
                 f"{left} left", "ends <= 5 ms after 0.2 s", over <= 5,
                 f"{self.peak_kib([self.atb, 'race', '-t', '0.2s', '--', 'sleep', '10'])} KiB")
        self.extra["race"] = {k: v["median"] for k, v in r.items()}

    def latch(self):
        ok = subprocess.run([self.atb, "latch", "--help"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode == 0
        if not ok:
            self.note("latch: `atb latch` is not available yet: skipped")
            self.row("latch wake-up", "skipped", "-", None, "", "-", None, "-",
                     "atb latch not available")
            return
        ldir = os.path.join(self.dir, "latch")
        os.makedirs(ldir, mode=0o700, exist_ok=True)
        os.chmod(ldir, 0o700)
        env = dict(os.environ, ATB_LATCH_DIR=ldir)
        try:
            with open("/proc/sys/fs/inotify/max_user_instances") as f:
                inst = int(f.read())
        except OSError:
            inst = None
        # 3,000 shows how the cost grows past the 1,000 (it grew as
        # the square of the waiters while they shared one wake FIFO).
        for waiters, trials in ((1, 21), (1000, 3), (3000, 2)):
            if self.quick:
                trials = max(1, trials // 3)
            self.log(f"latch: {waiters} waiter(s) x {trials} trials")
            p = subprocess.run([self.latchbench, self.atb, f"bench{self.marker_base}",
                                str(waiters), str(trials)], env=env, capture_output=True,
                               text=True)
            self.reap_orphans()
            summary = [l for l in p.stdout.splitlines() if l.startswith("summary")]
            if p.returncode != 0 or not summary:
                self.note(f"latch: latchbench failed: {p.stderr.strip()[:300]}")
                continue
            kv = dict(x.split("=") for x in summary[0].split()[1:])
            polling = max(int(l.split("polling=")[1]) for l in p.stdout.splitlines()
                          if "polling=" in l)
            note = ""
            if polling:
                note = (f"{polling} of {waiters} waiters had no inotify instance "
                        f"(fs.inotify.max_user_instances={inst}) and read wake FIFOs")
                self.note(f"latch: {note}")
            mem = self.peak_kib([self.atb, "latch", "wait-set", "-t", "0.1s",
                                 f"never{self.marker_base}"], env=env)
            fl = self._latch_floor(waiters, trials)
            ratio = float(kv["median_ms"]) / fl["median_ms"] if fl else None
            self.row(f"latch wake-up: {waiters:,} waiter(s)",
                     f"median {kv['median_ms']} ms, last {kv['max_ms']} ms",
                     (f"median {fl['median_ms']:.2f} ms, last {fl['max_ms']:.2f} ms "
                      "(FIFO waiters)") if fl else "-",
                     ratio, f"atb's setter alone {kv['setter_ms']} ms",
                     "median <= 10 ms" if waiters <= 1000 else "-",
                     float(kv["median_ms"]) <= 10 if waiters <= 1000 else None,
                     f"{mem} KiB per waiter", note)
            self.extra[f"latch-{waiters}"] = {"median_ms": float(kv["median_ms"]),
                                              "max_ms": float(kv["max_ms"]),
                                              "setter_ms": float(kv["setter_ms"]),
                                              "polling": polling,
                                              "trials": p.stdout}

    def _latch_floor(self, waiters, trials):
        """The same trial with the floor's waiters: processes that only block
        on a FIFO until a setter process opens and closes it."""
        fifo = os.path.join(self.dir, "latch-floor.fifo")
        p = subprocess.run([self.latchbench, "floor", fifo, str(waiters), str(trials)],
                           capture_output=True, text=True)
        self.reap_orphans()
        summary = [l for l in p.stdout.splitlines() if l.startswith("summary")]
        if p.returncode != 0 or not summary:
            self.note(f"latch: the floor's latchbench failed: {p.stderr.strip()[:300]}")
            return None
        kv = dict(x.split("=") for x in summary[0].split()[1:])
        out = {k: float(kv[k]) for k in ("median_ms", "max_ms", "setter_ms")}
        self.extra[f"latch-floor-{waiters}"] = out
        return out

    def _timed(self, argv, **kw):
        """Wall time, peak KiB, status and stderr of one run."""
        path = os.path.join(self.dir, "time.out")
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", path] + argv,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw)
        wall = time.monotonic() - t0
        with open(path) as f:
            lines = [l for l in f.read().split("\n") if l.strip()]
        try:
            peak = int(lines[-1])
        except (IndexError, ValueError):
            peak = None
        return wall, peak, p.returncode, p.stderr

    def _left(self):
        log = os.path.join(self.dir, "scale.survivors")
        if os.path.exists(log):
            os.unlink(log)
        return len(self.survivors(log))

    def _scale_figures(self, n, base):
        """n sleepers and a false, atb against the floor (and the floor
        holding a pidfd a child): medians of the rounds."""
        m = self.marker()
        atb_argv = [self.atb, "pool", "-o", "inherit"] + groups([["sleep", m]] * n +
                                                                [["false"]])
        floor_argv = [self.floor, "failfast", "-n", str(n), "--", "sleep", m, "--", "false"]
        floorf_argv = floor_argv[:4] + ["-f"] + floor_argv[4:]
        walls, fwalls, ffwalls, peaks, left, statuses = [], [], [], [], 0, set()
        # Three rounds, the three programs in turn, medians: one run of
        # 10,000 sleepers swings by 20 % on a loaded VM.
        for _ in range(1 if self.quick else 3):
            w, pk, st, err = self._timed(atb_argv)
            walls.append(w)
            peaks.append(pk)
            statuses.add(st)
            left += self._left()
            w, _, _, _ = self._timed(floor_argv)
            fwalls.append(w)
            left += self._left()
            w, _, _, _ = self._timed(floorf_argv)
            ffwalls.append(w)
            left += self._left()
        # The median peak too: one run's swings by 100 KiB here.
        peaks = [p for p in peaks if p is not None] or [0]
        w, pk = statistics.median(walls), int(statistics.median(peaks))
        fw, ffw = statistics.median(fwalls), statistics.median(ffwalls)
        per_cmd_b = (pk - base) * 1024 / (n + 1)
        self.log(f"scale: {n}: atb {fmt_time(w)} ({w / n * 1e6:.0f} us/cmd), floor "
                 f"{fmt_time(fw)} ({fw / n * 1e6:.0f} us/cmd), floor holding pidfds "
                 f"{fmt_time(ffw)}, peak {pk} KiB ({per_cmd_b:.0f} B/cmd), left {left}, "
                 f"status {sorted(statuses)}")
        return {"wall": w, "floor": fw, "floor_pidfds": ffw, "peak_kib": pk,
                "per_cmd_us": w / n * 1e6, "floor_per_cmd_us": fw / n * 1e6,
                "per_cmd_bytes": per_cmd_b, "left": left, "status": sorted(statuses)}

    def scale(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.log(f"scale: RLIMIT_NOFILE soft {soft}, hard {hard}")
        base = self.peak_kib_median([self.atb, "pool", "-o", "inherit", "--", "false"])
        figures = {n: self._scale_figures(n, base) for n in (1000, 5000, 10000)}
        first = figures[1000]["per_cmd_us"]
        last = figures[10000]["per_cmd_us"]
        # The target: a command costs as much at 10k as at 1k (within
        # 10 %), within 10 % of the floor, and at most 1.5 KiB of memory.
        linear = last <= first * 1.10
        for n, f in figures.items():
            growth = f"; {f['per_cmd_us'] / first:.2f}x the cost at 1k" if n > 1000 else ""
            self.row(f"scale: {n:,} x sleep + false, -o inherit",
                     f"{fmt_time(f['wall'])} ({f['per_cmd_us']:.0f} us/cmd)",
                     f"{fmt_time(f['floor'])} ({f['floor_per_cmd_us']:.0f} us/cmd)",
                     f["wall"] / f["floor"],
                     f"{f['left']} left; floor holding a pidfd per child "
                     f"{f['floor_pidfds'] / f['floor']:.2f}x" + growth,
                     "<= 1.10x floor, <= 1.5 KiB/cmd; 10k <= 1.10x 1k",
                     f["per_cmd_bytes"] <= 1536 and f["wall"] / f["floor"] <= 1.10 and
                     f["left"] == 0 and (linear if n == 10000 else True),
                     f"{f['peak_kib']} KiB ({f['per_cmd_bytes']:.0f} B/cmd, base {base} KiB)")
        # The default output mode needs two pipes per command on top of the
        # pidfd: 30,000 fds for 10,000 commands. Under a lower limit the
        # commands that find no fds wait for running ones to end, and these
        # sleep: the run's own deadline ends it (status 124) rather than the
        # sleepers' 1000 s. 30 s: the limit's worth of sleepers start in
        # well under that even on a loaded VM (the 1k-10k rows above), and a
        # longer wait only shows the same thing.
        n = 10000
        m = self.marker()
        argv = [self.atb, "pool", "-t", "30s"] + groups([["sleep", m]] * n + [["false"]])
        w, pk, st, err = self._timed(argv)
        left = self._left()
        first_err = err.strip().splitlines()[:2]
        msg = (f"default output (pipes), hard limit {hard}: status {st} in {fmt_time(w)}, "
               f"peak {pk} KiB, {left} left; stderr: {' | '.join(first_err)[:200]}")
        self.note(f"scale: {msg}")
        figures["default-output"] = {"wall": w, "peak_kib": pk, "status": st, "left": left,
                                     "stderr": err[:2000]}
        if os.geteuid() == 0 and hard < 65536:
            def raise_limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
            try:
                w2, pk2, st2, err2 = self._timed(argv, preexec_fn=raise_limit)
            except subprocess.SubprocessError:
                self.note("scale: could not raise the hard RLIMIT_NOFILE to 65536 (no "
                          "CAP_SYS_RESOURCE here), so the default output mode was not "
                          "measured at 10,000")
                self.extra["scale"] = figures
                return
            left2 = self._left()
            self.note(f"scale: default output with the hard limit raised to 65536: status "
                      f"{st2} in {fmt_time(w2)}, peak {pk2} KiB ({(pk2 - base) * 1024 / (n + 1):.0f}"
                      f" B/cmd), {left2} left")
            figures["default-output-65536"] = {"wall": w2, "peak_kib": pk2, "status": st2,
                                               "left": left2}
            self.row(f"scale: {n:,} x sleep + false, default output (nofile 65536)",
                     fmt_time(w2), "-", None, f"{left2} left", "< 2 KiB/cmd beyond base",
                     (pk2 - base) * 1024 / (n + 1) < 2048 and left2 == 0 and st2 == 1,
                     f"{pk2} KiB ({(pk2 - base) * 1024 / (n + 1):.0f} B/cmd)")
        self.extra["scale"] = figures

    def stdin(self):
        h = subprocess.run([self.atb, "pool", "--help"], capture_output=True, text=True)
        if "--stdin" not in h.stdout + h.stderr:
            self.note("stdin: `atb pool --stdin` is not available yet: skipped")
            self.row("--stdin feed, -j8", "skipped", "-", None, "", "-", None, "-",
                     "atb pool --stdin not available")
            return
        # A million commands take 500+ s here even for the floor (each `true`
        # costs ~0.5 ms of CPU to start), so the default is a slice of it;
        # `make bench STDIN_N=1000000` runs the whole feed.
        n = self.stdin_n if not self.quick else min(self.stdin_n, 5000)
        feed = os.path.join(self.dir, "stdin-feed")
        with open(feed, "w") as f:
            f.write("".join(f"{i}\n" for i in range(n)))
        sh = lambda cmd: ["sh", "-c", cmd + " < " + shlex.quote(feed)]
        cmds = [("floor", [self.floor, "run", "-j", "8", "-n", str(n), "--", "true"]),
                ("atb", sh(shlex.join([self.atb, "pool", "--stdin", "-j", "8", "--", "true"]))),
                ("xargs", sh("xargs -P 8 -n 1 true"))]
        r = self.hyperfine("stdin", cmds, runs=2, warmup=0, rounds=2)
        if "atb" not in r:
            return
        path = os.path.join(self.dir, "time.out")
        with open(feed) as fin:
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", path, self.atb, "pool", "--stdin",
                            "-j", "8", "--", "true"], stdin=fin, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        with open(path) as f:
            peak = int(f.read().split()[-1])
        t, fl = r["atb"]["median"], r["floor"]["median"]
        self.row(f"--stdin feed: {n:,} x true, -j8", f"{fmt_time(t)} ({t / n * 1e6:.0f} us/cmd)",
                 fmt_time(fl), t / fl, f"xargs -P8 {r['xargs']['median'] / fl:.2f}x",
                 "memory bounded (not growing with N)", None,
                 f"{peak} KiB", ratio_best=r["atb"]["min"] / r["floor"]["min"])
        self.extra["stdin"] = {"n": n, "peak_kib": peak,
                               **{k: v["median"] for k, v in r.items()}}

    # --- report -------------------------------------------------------------

    def _cluster(self):
        """SLURM_CONF's cluster, or a one-node one of our own (tests/slurm/
        cluster.sh; root and apt-get). Returns (conf, dir to bring down)."""
        if os.environ.get("SLURM_CONF"):
            return os.environ["SLURM_CONF"], None
        cdir = tempfile.mkdtemp(prefix="atb-slurm.", dir="/tmp")
        script = os.path.join(self.here, "..", "slurm", "cluster.sh")
        self.log("slurm: bringing up a one-node cluster (tests/slurm/cluster.sh)")
        p = subprocess.run(["bash", script, "up", cdir], capture_output=True, text=True)
        if "export SLURM_CONF=" not in p.stdout:
            reason = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else p.stderr[-200:]
            subprocess.run(["bash", script, "down", cdir], capture_output=True)
            shutil.rmtree(cdir, ignore_errors=True)
            return None, reason
        return os.path.join(cdir, "slurm.conf"), cdir

    def slurm(self):
        """The Slurm launcher's cost per command beside srun alone: n x true
        one after another (atb -j1 against a shell loop of srun) and side by
        side (atb -j0 against srun & ... wait, and GNU parallel driving
        srun). The floor here is srun itself."""
        conf, cdir = self._cluster()
        if conf is None:
            self.note(f"slurm: no cluster ({cdir}): skipped")
            self.row("slurm launcher", "skipped", "-", None, "", "-", None, "-", cdir)
            return
        old = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = conf
        try:
            self._slurm(10)
        finally:
            if old is None:
                del os.environ["SLURM_CONF"]
            if cdir is not None:
                subprocess.run(["bash", os.path.join(self.here, "..", "slurm", "cluster.sh"),
                                "down", cdir], capture_output=True)
                shutil.rmtree(cdir, ignore_errors=True)

    def _slurm(self, n):
        trues = groups([["true"]] * n)
        cmds = [("atb -j1", [self.atb, "pool", "-j1", "--launcher", "slurm"] + trues),
                ("srun loop", ["sh", "-c", f"for i in $(seq {n}); do srun true || exit 1; done"]),
                ("atb -j0", [self.atb, "pool", "--launcher", "slurm"] + trues),
                ("srun &", ["sh", "-c", f"for i in $(seq {n}); do srun true & done; wait"])]
        if self.parallel:
            cmds.append(("parallel", [self.parallel, "-j0", "srun", "true", ":::"] +
                         [str(i) for i in range(n)]))
        r = self.hyperfine("slurm", cmds, runs=6, warmup=1)
        if "atb -j1" not in r or "srun loop" not in r:
            return
        t1, f1 = r["atb -j1"]["median"], r["srun loop"]["median"]
        self.row(f"slurm: {n} x true, one at a time (per command)", fmt_time(t1 / n),
                 f"{fmt_time(f1 / n)} (srun loop)", t1 / f1, "", "-", None,
                 f"{self.peak_kib([self.atb, 'pool', '--launcher', 'slurm', '--', 'true'])} KiB")
        if "atb -j0" in r and "srun &" in r:
            t0, f0 = r["atb -j0"]["median"], r["srun &"]["median"]
            peers = (f"parallel {fmt_ratio(r['parallel']['median'] / f0)}"
                     if "parallel" in r else "")
            self.row(f"slurm: {n} x true side by side", fmt_time(t0),
                     f"{fmt_time(f0)} (srun & ... wait)", t0 / f0, peers, "-", None, "-")
        self.extra["slurm"] = {k: v["median"] for k, v in r.items()}
