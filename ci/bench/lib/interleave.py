#!/usr/bin/python3
"""interleave.py - start-to-exit times of several commands, run in turn.

hyperfine runs all of one command's runs, then all of the next one's; on a
machine with other work, a change of load between two commands shows up as
a difference between them.  Here every round runs each command once, in a
rotated order, so slow drifts of load fall on all of them alike.

usage: interleave.py --runs N --warmup W --export-json OUT NAME=ARGV_JSON...
Writes hyperfine's JSON shape (results[].command/median/mean/min/max/times,
in seconds).  Any non-zero exit stops the run with an error.
"""
import json
import os
import statistics
import sys
import time


def run_once(argv):
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        t0 = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                           (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status = os.waitpid(pid, 0)
        t1 = time.perf_counter_ns()
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"interleave.py: {' '.join(argv)} exited with {os.waitstatus_to_exitcode(status)}")
    return (t1 - t0) / 1e9


def main():
    args = sys.argv[1:]
    runs, warmup, out, cases = 30, 5, None, []
    while args:
        a = args.pop(0)
        if a == "--runs":
            runs = int(args.pop(0))
        elif a == "--warmup":
            warmup = int(args.pop(0))
        elif a == "--export-json":
            out = args.pop(0)
        else:
            name, _, argv = a.partition("=")
            cases.append((name, json.loads(argv)))
    if out is None or not cases:
        sys.exit(__doc__)
    times = {name: [] for name, _ in cases}
    for r in range(warmup + runs):
        k = r % len(cases)
        for name, argv in cases[k:] + cases[:k]:
            t = run_once(argv)
            if r >= warmup:
                times[name].append(t)
    results = [{"command": name, "median": statistics.median(ts), "mean": statistics.fmean(ts),
                "min": min(ts), "max": max(ts), "times": ts} for name, ts in times.items()]
    with open(out, "w") as f:
        json.dump({"results": results}, f)


if __name__ == "__main__":
    main()
