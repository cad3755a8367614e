#!/usr/bin/env python3
"""Interleaved pairs: this tree's atb against an older one, run by turns.

    python3 tests/bench/pairs.py ROUNDS OLD_ATB [NEW_ATB]

On a shared VM whose speed drifts by more than the difference being looked
for, runs taken minutes apart (as hyperfine's rounds are) do not compare;
runs taken by turns (new, old, new, old...) see the same moments of load.
Each round runs every workload once with each binary; a start-up round runs
it 50 times. Prints the medians as markdown table rows, with the ratio.
Timing only: never part of `make check`.
"""
import os
import statistics
import subprocess
import sys
import time


def workloads():
    trues = []
    for _ in range(1000):
        trues += ["--", "true"]
    return [
        ("start-up: one true", ["pool", "--", "true"], 50),
        ("1,000 × true, -j2", ["pool", "-j", "2"] + trues, 1),
        ("1,000 × true, -j64 -o inherit", ["pool", "-o", "inherit", "-j", "64"] + trues, 1),
    ]


def timed(argv):
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def fmt(s):
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds, old = int(sys.argv[1]), sys.argv[2]
    new = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "atb")
    for label, args, per_round in workloads():
        res = {"new": [], "old": []}
        for _ in range(rounds):
            for _ in range(per_round):
                res["new"].append(timed([new] + args))
                res["old"].append(timed([old] + args))
        n, o = statistics.median(res["new"]), statistics.median(res["old"])
        runs = rounds * per_round
        print(f"| {label} ({runs} pairs) | {fmt(n)} | {fmt(o)} | {n / o:.2f}× |")


if __name__ == "__main__":
    main()
