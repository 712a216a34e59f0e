#!/usr/bin/env python3
"""The cost of refheap's leak tools, in bench style: our figure and the ratio.

    python3 bench/tools_bench.py [--quick] [--reps N] [--build-dir DIR]

Makes its own Release build (build-bench-tools/ next to the sources), then
runs, interleaved round-robin, each `--reps` times in its own process:
  - bench_alloc_refheap workloads 1(a) and 1(c) and bench_trees_refheap
    (binary-trees, collector off, and GCBench), with tracing off, on with the
    site only (--trace 0), and on with 16-frame native tracebacks (--trace 16);
  - bench_tools: a snapshot of 1M live traced blocks, and a second snapshot plus
    compare_to after 10% churn, with the tracing tables' bytes per block.
The 16-frame runs are smaller (native backtraces cost microseconds each);
the figures are per operation or per node, so they still compare.
Prints medians (min-max) and ratios "traced / untraced" (target: site only
<= 1.5 on the allocation and tree workloads; snapshot + diff of 1M blocks
under 1 s).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def build(bd):
    cfg = ["cmake", "-S", ROOT, "-B", bd, "-DCMAKE_BUILD_TYPE=Release", "-DREFHEAP_SANITIZE=OFF",
           "-DREFHEAP_TESTS=OFF", "-DREFHEAP_EXAMPLES=OFF", "-DREFHEAP_BENCH=ON"]
    subprocess.run(cfg, check=True, capture_output=True)
    subprocess.run(["cmake", "--build", bd, "-j2", "--target", "bench_alloc_refheap", "bench_trees_refheap",
                    "bench_tools"], check=True, capture_output=True)


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")][-1]


def med(v):
    return "%.3g (%.3g-%.3g)" % (statistics.median(v), min(v), max(v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench-tools"))
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    bd = a.build_dir
    if not a.no_build:
        build(bd)
    ba, bt, btools = (os.path.join(bd, "bench", n) for n in ("bench_alloc_refheap", "bench_trees_refheap",
                                                            "bench_tools"))
    q = a.quick
    # (program, arguments, arguments with 16-frame tracebacks (smaller: backtrace() costs
    #  microseconds), figure, unit): figures per operation, so the smaller runs compare
    d_bt, d_gcb = (16, 14) if q else (18, 16)
    work = {
        "1(a) alloc+free 32 B": ([ba], ["a", "2000000" if q else "10000000"], ["a", "200000"], "ns_per_op", "ns/op"),
        "1(c) churn, 1M live": ([ba], ["c", "1000000", "1000000" if q else "5000000"], ["c", "1000000", "200000"],
                                "ns_per_op", "ns/op"),
        "binary-trees %d, collector off" % d_bt: (
            [bt], ["binarytrees", str(d_bt), "off"], ["binarytrees", str(d_bt - 4), "off"], "ns_per_node", "ns/node"),
        "GCBench %d" % d_gcb: ([bt], ["gcbench", str(d_gcb), "on"], ["gcbench", str(d_gcb - 2), "on"], "ns_per_node",
                               "ns/node"),
    }
    modes = [("off", []), ("site only", ["--trace", "0"]), ("16 frames", ["--trace", "16"])]
    res = {(w, m): [] for w in work for m, _ in modes}
    for rep in range(a.reps):
        for w, (exe, args, small, key, unit) in work.items():
            for m, flag in modes:
                res[(w, m)].append(run(exe + flag + (small if m == "16 frames" else args))[key])
    tools = {f: [] for f in (0, 16)}
    for rep in range(a.reps):
        for f in tools:
            tools[f].append(run([btools, "--frames", str(f), "1000000"]))

    print("## Tracing overhead (medians of %d interleaved runs; ratio = traced / untraced)\n" % a.reps)
    print("| workload | tracing off | site only | ratio | 16 frames | ratio |")
    print("|---|---|---|---|---|---|")
    for w, (exe, args, small, key, unit) in work.items():
        off = statistics.median(res[(w, "off")])
        site = statistics.median(res[(w, "site only")])
        fr = statistics.median(res[(w, "16 frames")])
        print("| %s | %s %s | %s %s | %.2f | %s %s | %.2f |" % (
            w, med(res[(w, "off")]), unit, med(res[(w, "site only")]), unit, site / off,
            med(res[(w, "16 frames")]), unit, fr / off))
    print("\n## Snapshots of 1M live traced blocks (500 sites; medians of %d runs)\n" % a.reps)
    print("| tracebacks | take (ms) | second take + compare_to (ms) | total (ms) | target | tables, bytes per block |")
    print("|---|---|---|---|---|---|")
    for f, rs in tools.items():
        print("| %s | %s | %s | %s | < 1000 | %.2f |" % (
            "site only" if f == 0 else "%d frames" % f, med([r["take_ms"] for r in rs]),
            med([r["snapshot_diff_ms"] for r in rs]), med([r["total_ms"] for r in rs]),
            statistics.median(r["bytes_per_block"] for r in rs)))
    r0 = tools[0][0]
    print("\n(top site of the diff: %s, %+d bytes; %d traces in the snapshot)" % (
        r0["top_site"], r0["top_size_diff"], r0["rows"]))


if __name__ == "__main__":
    sys.exit(main())
