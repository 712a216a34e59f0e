#!/usr/bin/env python3
"""Checks bench/run.py's charts on a fixed, tiny input (no benchmark runs, no
timing): the pause timeline reader and its reduction, the panel figures, and
the SVG files gnuplot draws from a chart-data.json document (their series,
their points, their labels, and that the same data gives the same bytes).

    python3 bench/test_charts.py      # exit 0: passed, 1: failed, 77: gnuplot missing (skipped)

ctest runs it as bench_charts (tests/CMakeLists.txt).
"""
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"

spec = importlib.util.spec_from_file_location("bench_run", os.path.join(HERE, "run.py"))
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def plots(svg_path):
    """[(key entry or None, element)] of every plot group of a gnuplot SVG, in
    order. gnuplot 5.4 names the groups gnuplot_plot_N and writes a plot's key
    entry as the group's first text, upright; a plot without a key entry
    (notitle) starts with its first data label, which our charts rotate."""
    root = ET.parse(svg_path).getroot()
    out = []
    for g in root.iter(SVG + "g"):
        if re.fullmatch(r"gnuplot_plot_\d+[a-z]?", g.get("id", "")):
            title = None
            for sub in g.iter(SVG + "g"):
                t = sub.find(SVG + "text")
                if t is not None:
                    if "rotate" not in (sub.get("transform") or ""):
                        title = "".join(t.itertext())
                    break
            out.append((title, g))
    return root, out


def texts(root):
    return ["".join(t.itertext()) for t in root.iter(SVG + "text")]


def points(g, symbol="#gpPt6"):
    """Number of point symbols drawn in a plot group (#gpPt6: pt 7, a filled circle; #gpPt5: pt 6)."""
    return sum(1 for u in g.iter(SVG + "use") if u.get(XLINK + "href", u.get("href")) == symbol)


def test_logic(tmp):
    # The CSV of bench_common.h's timeline, and CPython's (no CPU or finalizer columns).
    p = os.path.join(tmp, "t.csv")
    with open(p, "w") as f:
        f.write("start_ns,ns,cpu_ns,user_ns,kind\n1000,500,480,0,0\n3000000,2000000,1900000,0,2\n5000,7000,,,1\n")
    check(run.read_timeline(p) == [(1000, 500, 0, 480), (3000000, 2000000, 2, 1900000), (5000, 7000, 1, None)],
          "read_timeline reads start, length, kind and CPU time in file order: %r" % run.read_timeline(p))
    with open(p, "w") as f:
        f.write("seconds,pauses\n1,2\n")
    try:
        run.read_timeline(p)
        check(False, "read_timeline rejects a file that is not a pause timeline")
    except ValueError:
        pass
    # Reduction: at most `limit` points, the longest pause of each slice kept.
    pauses = [(i * 1000, 10 + (i % 7), 0, 5) for i in range(1000)]
    pauses[617] = (617000, 999999, 2, 12345)
    few, buckets = run.downsample(pauses, limit=100)
    check(buckets == 100 and len(few) <= 100, "downsample keeps at most 100 points (%d)" % len(few))
    check((617000, 999999, 2, 12345) in few, "downsample keeps the longest pause")
    check(all(few[i][0] < few[i + 1][0] for i in range(len(few) - 1)), "downsample keeps time order")
    same, b0 = run.downsample(pauses[:50], limit=100)
    check(b0 == 0 and same == pauses[:50], "downsample leaves a short timeline alone")
    # Panel figures: 100 pauses of 1..100 ms (CPU time half of it): max 100, p99 (nearest rank) 99,
    # total 5050; CPU max 50, p99 49.5.
    panel = run.timeline_panel("x", [(i * 10**7, (i + 1) * 10**6, 0, (i + 1) * 5 * 10**5) for i in range(100)], 1.0)
    figs = {k: panel[k] for k in ("pauses", "max_ms", "p99_ms", "total_ms", "cpu_max_ms", "cpu_p99_ms")}
    check(figs == {"pauses": 100, "max_ms": 100.0, "p99_ms": 99.0, "total_ms": 5050.0, "cpu_max_ms": 50.0,
                   "cpu_p99_ms": 49.5}, "timeline_panel figures: %r" % figs)
    check(panel["points"][3] == [0.03, 4.0, 0, 2.0], "timeline_panel points in seconds and ms: %r" % panel["points"][3])
    nocpu = run.timeline_panel("y", [(0, 10**6, 1, None)], 1.0)
    check(nocpu["cpu_max_ms"] is None and nocpu["points"] == [[0.0, 1.0, 1, None]], "a timeline without CPU time")
    # A ratio bar whose reference run is missing (a configuration that timed out,
    # as the CPython policy at binary-trees depth 21 does) is left out, not drawn
    # from the other figure; a complete pair gives its ratio.
    import types
    suite = types.SimpleNamespace(bars={})
    run.Suite.bar(suite, "peers", "g", "mimalloc", (2.0, 1.0, 3.0), None, 1.0)
    run.Suite.bar(suite, "peers", "g", "glibc", None, (2.0, 1.0, 3.0))
    run.Suite.bar(suite, "peers", "g", "jemalloc", (3.0, 1.0, 3.0), (2.0, 1.0, 3.0))
    check(suite.bars["peers"]["g"]["bars"] == [{"series": "jemalloc", "value": 1.5}],
          "bars with a missing side are left out: %r" % suite.bars["peers"]["g"]["bars"])
    # No gnuplot: a message and no chart, not a crash.
    check(run.draw_charts({"bars": {}, "timelines": {}}, tmp, gnuplot="no-such-gnuplot-here") == [],
          "draw_charts without gnuplot draws nothing")


DATA = {
    "conditions": "fixed test input",
    "bars": {"peers": {"title": "Peer ÷ refheap", "ylabel": "peer ÷ refheap",
                       "groups": [{"name": "1(a) alloc", "bars": [{"series": "glibc", "value": 1.5},
                                                                  {"series": "mimalloc", "value": 0.8}],
                                   "targets": [{"series": None, "value": 1.25}]},
                                  {"name": "binary-trees\ndepth 9", "bars": [{"series": "mimalloc", "value": 0.25},
                                                                             {"series": "boehm", "value": 3.0}],
                                   "targets": [{"series": "boehm", "value": 4.0}]}]}},
    "timelines": {"pauses-test": {"title": "Pauses of the test", "panels": [
        run.timeline_panel("policy A", [(0, 1000000, 0, 900000), (2 * 10**8, 3000000, 0, 100000),
                                        (5 * 10**8, 40000000, 2, 30000000)], 0.6),
        run.timeline_panel("policy B", [(10**8, 200000, 3, None), (3 * 10**8, 250000, 3, None)], 0.5)]}},
}


def test_svg(tmp):
    out = os.path.join(tmp, "a")
    written = run.draw_charts(DATA, out)
    names = sorted(os.path.basename(w) for w in written)
    check(names == ["pauses-test.svg", "peers.svg"], "the two charts are written: %r" % names)
    if len(written) != 2:
        return
    # Ratio bars: one plot per series in order of first appearance, the 1.0 line, the targets.
    root, ps = plots(os.path.join(out, "peers.svg"))
    titled = [t for t, _ in ps if t]
    check(titled == ["glibc", "mimalloc", "boehm", "1.0: equal", "target"], "ratio chart series: %r" % titled)
    tx = texts(root)
    for label in ("1.50", "0.80", "0.25", "3.00"):
        check(label in tx, "ratio chart shows the value %s" % label)
    check("binary-trees depth 9" in tx and "1(a) alloc" in tx, "ratio chart names its groups")
    check("Peer ÷ refheap" in tx and "fixed test input" in tx and "peer ÷ refheap" in tx,
          "ratio chart has its title, conditions and axis label")
    # Targets: one group-wide segment and one over the boehm bar: two vectors in the target plot.
    tgt = [g for t, g in ps if t == "target"][0]
    segs = [e for e in tgt.iter(SVG + "path") if "M" in (e.get("d") or "")]
    check(len(segs) >= 2, "two target marks drawn (%d paths)" % len(segs))
    # Timeline: panel titles with their figures; points per kind.
    root, ps = plots(os.path.join(out, "pauses-test.svg"))
    tx = texts(root)
    check(any(t.startswith("policy A: 3 pauses, longest 40 ms, p99 40 ms, total 44 ms")
              for t in tx),
          "timeline panel A title with its figures: %r" % [t for t in tx if t.startswith("policy")])
    check("in the thread's CPU time: longest 30 ms, p99 30 ms" in tx, "timeline panel A gives the CPU time")
    check(any(t.startswith("policy B: 2 pauses, longest 0.25 ms") for t in tx), "timeline panel B title")
    check(not any(t.startswith("in the thread's CPU time") and t != "in the thread's CPU time: longest 30 ms, p99 30 ms"
                  for t in tx), "no CPU time figures for panel B")
    # (each points plot also draws one symbol in its key entry: pauses + 1)
    got = [(t, points(g)) for t, g in ps if t]
    cpu = [(t, points(g, "#gpPt5")) for t, g in ps if t and "CPU" in t]
    check(cpu == [("thread CPU time (colours: wall clock)", 3 + 1)],
          "CPU time drawn for panel A only, one point a pause: %r" % cpu)
    got = [(t, n) for t, n in got if "CPU" not in t]
    want = [(run.PAUSE_KINDS[0], 2 + 1), (run.PAUSE_KINDS[2], 1 + 1), (run.PAUSE_TARGETS_MS[0][1], 0),
            (run.PAUSE_TARGETS_MS[1][1], 0), (run.PAUSE_KINDS[3], 2 + 1), (run.PAUSE_TARGETS_MS[0][1], 0),
            (run.PAUSE_TARGETS_MS[1][1], 0)]
    check(got == want, "timeline series and their points: %r" % got)
    check("pause length (ms, log scale)" in tx and "time since the start of the run (s)" in tx,
          "timeline axis labels with units")
    # Deterministic: the same data gives the same files.
    again = run.draw_charts(DATA, os.path.join(tmp, "b"))
    for w in again:
        with open(w, "rb") as f1, open(os.path.join(out, os.path.basename(w)), "rb") as f2:
            check(f1.read() == f2.read(), "%s is the same bytes when drawn again" % os.path.basename(w))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_logic(tmp)
        if not shutil.which("gnuplot"):
            print("bench_charts: gnuplot not found (apt-get install gnuplot-nox): SVG checks skipped")
            sys.exit(1 if failures else 77)
        test_svg(tmp)
    if failures:
        print("bench_charts: %d check(s) failed" % len(failures))
        sys.exit(1)
    print("bench_charts: all checks passed")


if __name__ == "__main__":
    main()
