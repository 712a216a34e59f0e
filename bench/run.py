#!/usr/bin/env python3
"""refheap's benchmark suite: one command builds and runs everything.

    python3 bench/run.py            # the full suite (about 15 minutes on 2 cores)
    python3 bench/run.py --quick    # the same workloads, smaller, 3 repetitions (under 3 minutes)

It configures its own Release build directory (build-bench/ next to the
sources, or --build-dir), refuses a build directory that is a debug or
sanitizer build, builds the benchmark programs (bench/CMakeLists.txt), runs
every configuration five times (--reps; three with --quick), each run in its own
process, interleaving the configurations round-robin so that slow drifts of a
shared machine hit every one alike, and prints Markdown tables: refheap's
median (min-max), each peer's figure from the same run, and the ratios.

Ratios are written "peer / refheap" for times and sizes, so a ratio above 1
means refheap is faster (or smaller); the collector-overhead ratio is
"time with the collector on / time with it off" for each runtime.

Peers: glibc malloc; mimalloc, jemalloc, tcmalloc_minimal and Boehm GC from
Debian's libmimalloc-dev, libjemalloc-dev, libgoogle-perftools-dev and
libgc-dev; CPython 3.11's pymalloc through libpython3.11 (PyMem_Malloc); and
CPython 3.11 itself running bench/py_trees.py and bench/py_gc.py. A peer whose
library is missing is reported as skipped. If refheap itself does not build
or link, the peers still run and refheap's cells say so.

Options: --quick, --reps N, --only 1,2,... (workload numbers), --build-dir DIR,
--no-build, --markdown FILE (also write the tables there), --json FILE (all
raw result lines), --python EXE (the CPython to compare with; default python3),
--results DIR, --charts DIR, --no-charts, --charts-from FILE.

Every run also leaves in the results folder (--results, default
BUILD_DIR/results) the report, the raw result lines, the pause timelines of
the churn and of refheap's binary-trees (pauses/LABEL.csv, from the first
repetition, written by the programs when BENCH_PAUSE_LOG names a file) and
chart-data.json, from which gnuplot draws the SVG charts into --charts
(default RESULTS/charts): the pause timeline of each collection policy, peer
÷ refheap per workload and collector on ÷ off, with the targets marked.
Without gnuplot (Debian: gnuplot-nox) the charts are skipped with a message.
--charts-from redraws the charts of a saved chart-data.json and runs nothing.
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

from benchlib import HERE, ROOT, cache_value, configure, log, table

# Sizes of every workload: (full, quick).
SIZES = {
    "full": {
        "alloc_a": 10_000_000,                  # 1(a) iterations
        "alloc_b": (1_000_000, 10),             # 1(b) blocks, rounds
        "alloc_c": (1_000_000, 5_000_000),      # 1(c) live blocks, steps
        "bt_depth": 21,                         # 2 binary-trees, C programs
        "bt_py_depth": 15,                      # 2 binary-trees, CPython (depth 21 takes minutes per run there)
        "gcb_depth": 18,                        # 2 GCBench stretch depth (18 = the original)
        "gcb_py_depth": 16,
        "collect_n": [100_000, 1_000_000, 3_000_000],   # 3
        "build_n": [1_000_000, 3_000_000],              # 4
        "mem_n": 500_000,                                # 5
        "churn": (3_000_000, 1_000_000),                 # 6 live objects, steps
    },
    # Quick: every workload, sized so that the whole run (3 repetitions) takes
    # about 40 s of CPU: under 3 minutes of wall time even when the 2 cores
    # are shared with several other jobs (measured: see docs/benchmarks.md).
    "quick": {
        "alloc_a": 2_000_000,
        "alloc_b": (100_000, 2),
        "alloc_c": (100_000, 500_000),
        "bt_depth": 15,
        "bt_py_depth": 12,
        "gcb_depth": 14,
        "gcb_py_depth": 12,
        "collect_n": [50_000, 200_000],
        "build_n": [100_000],
        "mem_n": 50_000,
        "churn": (100_000, 50_000),
    },
}

# Repetitions of each configuration: (default, minimum), full and quick.
REPS = {"full": (5, 5), "quick": (3, 3)}

ALLOCATORS = ["refheap", "glibc", "mimalloc", "jemalloc", "tcmalloc", "boehm", "pymalloc"]
TREE_C_IMPLS = [("refheap", "on"), ("refheap", "off"), ("glibc", None), ("mimalloc", None),
                ("mirc", None), ("boehm", None)]
TREE_LABEL = {"refheap": "refheap", "glibc": "glibc malloc/free", "mimalloc": "mimalloc malloc/free",
              "mirc": "hand-written refcount on mimalloc", "boehm": "Boehm GC"}
PY_TREE_KINDS = ["class", "slots", "tuple"]
GC_KINDS_RH = ["node", "slots", "plain"]
GC_KINDS_PY = ["slots", "plain"]
MEM_KINDS = ["plain", "slots", "list2", "tuple2", "node"]
CHURN_KINDS_RH = ["node", "plain"]
CHURN_KINDS_PY = ["plain"]
PEER_PACKAGES = {"mimalloc": "libmimalloc-dev", "jemalloc": "libjemalloc-dev",
                 "tcmalloc": "libgoogle-perftools-dev", "boehm": "libgc-dev",
                 "mirc": "libmimalloc-dev", "pymalloc": "libpython3.11 (python3.11-dev)"}

# Seconds one process may take (full, quick). A run over it is reported as
# timed out and not repeated, so that one pathological configuration cannot
# blow the suite's time budget (20 minutes full, 3 minutes quick): without the
# limit, refheap's binary-trees at depth 21 with the collector on (~119 s a
# run) alone takes 10 of the 20 minutes and the suite 20.4 (measured). The
# longest quick run (the same at depth 15) needs about 1 s of CPU: 20 s leaves
# room for a machine shared ten ways.
PROC_TIMEOUT = {"full": 100, "quick": 20}


# ------------------------------------------------------------------ build

def build(args):
    bd = args.build_dir
    bt = cache_value(bd, "CMAKE_BUILD_TYPE")
    san = cache_value(bd, "REFHEAP_SANITIZE")
    if bt is not None and (bt != "Release" or (san or "OFF").upper() in ("ON", "1", "TRUE", "YES")):
        sys.exit("run.py: refusing to run: %s is a %s build%s; the benchmarks need a Release build "
                 "without sanitizers (use another --build-dir)" % (
                     bd, bt or "default", " with sanitizers" if san and san.upper() in ("ON", "1", "TRUE", "YES") else ""))
    status = {"refheap": None}
    if args.no_build:
        return status
    cfg = ["cmake", "-S", ROOT, "-B", bd, "-DCMAKE_BUILD_TYPE=Release", "-DREFHEAP_SANITIZE=OFF",
           "-DREFHEAP_BENCH=ON", "-DREFHEAP_TESTS=OFF", "-DREFHEAP_EXAMPLES=OFF",
           "-DRH_BENCH_PYTHON=" + args.python]
    for line in configure(cfg, "run.py").splitlines():
        if line.startswith("-- bench:"):
            log(line)
    r = subprocess.run(["cmake", "--build", bd, "-j2", "--target", "bench_peers"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit("run.py: building the peers' programs failed:\n" + r.stdout[-4000:])
    r = subprocess.run(["cmake", "--build", bd, "-j2", "--target", "bench_refheap"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        undef = sorted(set(re.findall(r"undefined reference to `([^']+)'", r.stdout)))
        why = ("the library does not link yet (%d undefined symbols, e.g. %s)" % (len(undef), ", ".join(undef[:5]))
               if undef else "the refheap programs do not build: " + r.stdout.strip().splitlines()[-1][:200])
        status["refheap"] = why
        log("build: refheap side not available: " + why)
    return status


def exe(args, name):
    return os.path.join(args.build_dir, "bench", name)


# ------------------------------------------------------------------ running

class Runner:
    def __init__(self, args, status):
        self.args = args
        self.status = status
        self.results = []     # every parsed JSON line
        self.failures = []    # (label, message)
        self.env = dict(os.environ)
        for k in ("REFHEAP_MALLOC", "PYTHONMALLOC", "PYTHONDEVMODE", "PYTHONTRACEMALLOC",
                  "MIMALLOC_VERBOSE", "MALLOC_CONF", "LD_PRELOAD", "BENCH_ALLOW_ANY_BUILD"):
            self.env.pop(k, None)
        self.env["PYTHONHASHSEED"] = "0"
        self.timeout = PROC_TIMEOUT["quick" if args.quick else "full"]

    def pause_timeline_path(self, label):
        """Where a run's pause timeline goes: RESULTS/pauses/LABEL.csv, one
        line per pause (start_ns,ns,cpu_ns,user_ns,kind and, refheap's,
        preempted,blocked,work; bench_common.h)."""
        d = os.path.join(self.args.results, "pauses")
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, label + ".csv")

    def available(self, cmd):
        prog = cmd[0]
        if prog.endswith(".py") or prog == self.args.python:
            return None
        if not os.path.exists(prog):
            base = os.path.basename(prog)
            if base.endswith("refheap") or base == "bench_gc":
                return "refheap: " + (self.status["refheap"] or "not built")
            peer = base.split("_")[-1]
            return "%s skipped: its library was not found (apt-get install %s)" % (
                peer, PEER_PACKAGES.get(peer, "its -dev package"))
        return None

    def run_once(self, label, cmd, timeline=None):
        """timeline: a file for the run's pause timeline (BENCH_PAUSE_LOG)."""
        why = self.available(cmd)
        if why:
            return None, why
        env = self.env
        if timeline:
            env = dict(self.env, BENCH_PAUSE_LOG=timeline)
        t0 = time.time()
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return None, "timed out (one run took more than %d s; not repeated)" % self.timeout
        if r.returncode != 0:
            tail = (r.stderr.strip().splitlines() or ["exit status %d" % r.returncode])[-1]
            return None, "exit status %d: %s" % (r.returncode, tail[:300])
        out = []
        for line in r.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                d = json.loads(line)
                d["label"] = label
                d["wall"] = time.time() - t0
                out.append(d)
        self.results.extend(out)
        return out, None

    def run_matrix(self, configs, reps, timelines=()):
        """configs: list of (label, cmd). Runs reps rounds, configurations
        interleaved. Returns {label: [result lists]} and {label: error}.
        The first run of each label in timelines also writes its pause
        timeline (see pause_timeline_path)."""
        got = {label: [] for label, _ in configs}
        errors = {}
        for rep in range(reps):
            for label, cmd in configs:
                if label in errors:
                    continue
                tl = self.pause_timeline_path(label) if rep == 0 and label in timelines else None
                out, err = self.run_once(label, cmd, tl)
                if err:
                    errors[label] = err
                    if not err.startswith("refheap:") and "skipped" not in err:
                        self.failures.append((label, err))
                    continue
                got[label].append(out)
            log("  round %d/%d done" % (rep + 1, reps))
        return got, errors


# ------------------------------------------------------------------ statistics and formatting

def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt(st, digits=1, scale=1.0):
    if st is None:
        return "—"
    med, lo, hi = (x * scale for x in st)
    f = "%%.%df" % digits
    return (f + " (" + f + "–" + f + ")") % (med, lo, hi)


def missing(err):
    """Text of a table cell whose configuration did not run."""
    if not err:
        return "—"
    if err.startswith("refheap:"):
        return "not run (library not ready)"
    if "skipped" in err:
        return "skipped (library not installed)"
    if err.startswith("timed out"):
        return "timed out (see notes)"
    return "failed (see notes)"


def fmt_ratio(r):
    return "—" if r is None else "%.2f×" % r


def ratio(a, b):
    if a is None or b is None or b[0] == 0:
        return None
    return a[0] / b[0]


def first_field(runs, key):
    """Per-process runs (each a list of JSON lines) -> list of the first line's key."""
    return [r[0].get(key) for r in runs if r and key in r[0]]


# ------------------------------------------------------------------ workloads

class Suite:
    def __init__(self, args, runner, sizes):
        self.a = args
        self.r = runner
        self.s = sizes
        self.md = []
        self.notes = []
        self.targets = []   # (target text, measured text, verdict)
        self.bars = {}      # chart name -> {group name -> {"bars": [...], "targets": [...]}} (charts)
        self.timelines = [] # (chart name, chart title, panel title, label, run seconds) (charts)

    def timeline(self, chart, title, panel, label, runs):
        """One panel of a pause timeline chart: the pauses of the first run
        of label, read back from its CSV file."""
        path = self.r.pause_timeline_path(label)
        if not runs or not os.path.exists(path):
            return
        self.timelines.append({"chart": chart, "title": title, "panel": panel, "label": label,
                               "seconds": runs[0][0].get("seconds"), "csv": path})

    def bar(self, chart, group, series, st, ref=None, target=None, target_series=False):
        """One bar of a ratio chart: st ÷ ref (medians; no bar when either is
        missing, e.g. a configuration that timed out). target: the target's
        value in the chart's terms, marked across the group, or over this
        bar alone if target_series."""
        value = ratio(st, ref)
        g = self.bars.setdefault(chart, {}).setdefault(group, {"bars": [], "targets": []})
        if value is not None:
            g["bars"].append({"series": series, "value": round(value, 4)})
        if target is not None:
            t = {"value": round(target, 4), "series": series if target_series else None}
            if t not in g["targets"]:
                g["targets"].append(t)

    def note_errors(self, errors):
        for label, err in sorted(errors.items()):
            if err.startswith("refheap:"):
                continue  # said once at the top of the report
            self.notes.append("`%s`: %s" % (label, err))

    # ---- 1. allocator
    def w1(self):
        s = self.s
        n_b, rounds = s["alloc_b"]
        n_c, steps = s["alloc_c"]
        wl = {"a": ["a", str(s["alloc_a"])], "b": ["b", str(n_b), str(rounds)], "c": ["c", str(n_c), str(steps)]}
        configs = [("alloc-%s-%s" % (al, w), [exe(self.a, "bench_alloc_" + al)] + wl[w])
                   for w in "abc" for al in ALLOCATORS]
        log("workload 1: allocator (%d configurations x %d)" % (len(configs), self.a.reps))
        got, errors = self.r.run_matrix(configs, self.a.reps)
        self.note_errors(errors)
        titles = {"a": "1(a) alloc+free one 32-byte block, %d times" % s["alloc_a"],
                  "b": "1(b) %d blocks of random sizes 8..512, freed in random order, %d rounds" % (n_b, rounds),
                  "c": "1(c) churn, %d live blocks of Python-like sizes, %d steps (free + malloc)" % (n_c, steps)}
        self.md.append("## 1. Allocator, single thread\n\nns per operation (1(a): one malloc+free pair; "
                       "1(b): one malloc or one free; 1(c): one free+malloc step); peak RSS growth = "
                       "VmHWM − RSS before the workload. Ratio = peer ÷ refheap (above 1: refheap faster).\n")
        res = {}
        for w in "abc":
            rh = stats(first_field(got["alloc-refheap-" + w], "ns_per_op"))
            rows = []
            for al in ALLOCATORS:
                runs = got["alloc-%s-%s" % (al, w)]
                st = stats(first_field(runs, "ns_per_op"))
                growth = [(r[0]["peak_rss"] - r[0]["rss_before"]) for r in runs if r]
                res[(al, w)] = st
                if al != "refheap":
                    self.bar("peers", {"a": "1(a) alloc+free\n32 B", "b": "1(b) random\nsizes", "c": "1(c) churn"}[w],
                             al, st, rh, 1.0)
                err = errors.get("alloc-%s-%s" % (al, w))
                src = first_field(runs, "malloc_from")
                rows.append([al + ("" if al in ("refheap", "mimalloc", "pymalloc", "boehm") or not src else
                                   " (`malloc` from %s)" % src[0]),
                             fmt(st, 2) if st else missing(err),
                             fmt(stats(growth), 1, 1 / 2**20),
                             "1.00×" if al == "refheap" and st else fmt_ratio(ratio(st, rh))])
            self.md.append("### " + titles[w] + "\n\n" +
                           table(["allocator", "ns/op median (min–max)", "peak RSS growth MiB", "peer ÷ refheap"], rows) + "\n")
        # the allocator issue's targets: each row at least level with its fastest peer (1.0), 1.25 the
        # long-term goal
        for w in "abc":
            peers = [al for al in ALLOCATORS if al != "refheap" and res.get((al, w))]
            if not peers:
                continue
            fastest = min(peers, key=lambda al: res[(al, w)][0])
            r = ratio(res[(fastest, w)], res.get(("refheap", w)))
            name = {"a": "1(a) alloc+free 32 B", "b": "1(b) random sizes", "c": "1(c) churn"}[w]
            measured = "fastest peer %s %.1f ns; refheap %s; fastest peer ÷ refheap = %s" % (
                fastest, res[(fastest, w)][0], fmt(res.get(("refheap", w)), 1), fmt_ratio(r))
            self.targets.append(("%s ≥ 1.0× the fastest peer" % name, measured, verdict(r, 1.0, higher=True)))
            self.targets.append(("%s ≥ 1.25× the fastest peer (long-term)" % name, measured,
                                 verdict(r, 1.25, higher=True)))

    # ---- 2. trees (also 4's trees ratio and 6's trees pauses)
    def w2(self):
        s = self.s
        py = self.a.python
        configs = []
        for prog, d, pd in (("binarytrees", s["bt_depth"], s["bt_py_depth"]),
                            ("gcbench", s["gcb_depth"], s["gcb_py_depth"])):
            for impl, g in TREE_C_IMPLS:
                configs.append(("%s-%s%s-%d" % (prog, impl, "-gc" + g if g else "", d),
                                [exe(self.a, "bench_trees_" + impl), prog, str(d)] + ([g, "cpython"] if g else [])))
            for g in ("on", "off"):  # the incremental policy (REFHEAP_GC=incremental)
                configs.append(("%s-refheap-incr-gc%s-%d" % (prog, g, d),
                                [exe(self.a, "bench_trees_refheap"), prog, str(d), g, "incremental"]))
            if pd != d:
                for g in ("on", "off"):
                    configs.append(("%s-refheap-gc%s-%d" % (prog, g, pd),
                                    [exe(self.a, "bench_trees_refheap"), prog, str(pd), g, "cpython"]))
            for kind in PY_TREE_KINDS:
                if prog == "gcbench" and kind == "tuple":
                    continue
                for g in ("on", "off"):
                    configs.append(("%s-cpython-%s-gc%s-%d" % (prog, kind, g, pd),
                                    [py, os.path.join(HERE, "py_trees.py"), prog, str(pd), kind, g]))
        log("workload 2: trees (%d configurations x %d)" % (len(configs), self.a.reps))
        d = s["bt_depth"]
        tl = [("binarytrees-refheap-gcon-%d" % d, "refheap, CPython policy"),
              ("binarytrees-refheap-incr-gcon-%d" % d, "refheap, incremental policy")]
        got, errors = self.r.run_matrix(configs, self.a.reps, [label for label, _ in tl])
        for label, panel in tl:
            self.timeline("pauses-binarytrees", "Collector pauses during binary-trees, depth %d (first repetition)" % d,
                          panel, label, got.get(label))
        self.note_errors(errors)
        self.trees = (got, errors)
        self.md.append("## 2. Trees\n\nSeconds for the whole program, ns per node allocated, peak RSS. "
                       "refheap: nodes are objects of a user-defined container type with two child "
                       "references, tracked, collector on at default thresholds (and off, for workload 4). "
                       "CPython runs a smaller depth in the full suite (a depth-21 run takes minutes per "
                       "repetition there); its rows compare with refheap at that same depth. "
                       "Ratio = peer time ÷ refheap (collector on) time at the same depth.\n")
        for prog, d, pd in (("binarytrees", s["bt_depth"], s["bt_py_depth"]),
                            ("gcbench", s["gcb_depth"], s["gcb_py_depth"])):
            rows = []
            sums = {}
            peaks = {}
            def add(label, name, gcmode, depth, ref):
                runs = got.get(label, [])
                st = stats(first_field(runs, "seconds"))
                ns = stats(first_field(runs, "ns_per_node"))
                peak = stats(first_field(runs, "peak_rss"))
                peaks[label] = peak
                cs = first_field(runs, "checksum")
                if cs:
                    sums.setdefault(depth, set()).add(cs[0])
                err = errors.get(label)
                rows.append([name, gcmode or "—", depth, fmt(st, 3) if st else missing(err),
                             fmt(ns, 1), fmt(peak, 0, 1 / 2**20),
                             "1.00×" if label == ref and st else fmt_ratio(ratio(st, stats(first_field(got.get(ref, []), "seconds"))))])
                return st
            ref = "%s-refheap-gcon-%d" % (prog, d)
            res = {}
            for impl, g in TREE_C_IMPLS:
                label = "%s-%s%s-%d" % (prog, impl, "-gc" + g if g else "", d)
                res[(impl, g)] = add(label, TREE_LABEL[impl] + (" (CPython policy)" if impl == "refheap" else ""),
                                     g, d, ref)
            for g in ("on", "off"):
                res[("refheap-incr", g)] = add("%s-refheap-incr-gc%s-%d" % (prog, g, d),
                                               "refheap (incremental policy)", g, d, ref)
            pref = "%s-refheap-gcon-%d" % (prog, pd)
            if pd != d:
                for g in ("on", "off"):
                    res[("refheap-py", g)] = add("%s-refheap-gc%s-%d" % (prog, g, pd), "refheap", g, pd, pref)
            else:
                res[("refheap-py", "on")] = res[("refheap", "on")]
                res[("refheap-py", "off")] = res[("refheap", "off")]
            for kind in PY_TREE_KINDS:
                if prog == "gcbench" and kind == "tuple":
                    continue
                for g in ("on", "off"):
                    res[("cpython-" + kind, g)] = add("%s-cpython-%s-gc%s-%d" % (prog, kind, g, pd),
                                                     "CPython 3.11, nodes as %s" % {"class": "class instances", "slots": "`__slots__` instances", "tuple": "tuples"}[kind],
                                                     g, pd, pref)
            title = {"binarytrees": "binary-trees", "gcbench": "Boehm's GCBench (stretch depth)"}[prog]
            self.md.append("### %s, depth %d%s\n\n" % (title, d, "" if pd == d else " (CPython: %d)" % pd) +
                           table(["implementation", "collector", "depth", "seconds median (min–max)",
                                  "ns/node", "peak RSS MiB", "peer ÷ refheap"], rows) + "\n")
            bad = {dep: v for dep, v in sums.items() if len(v) > 1}
            if bad:
                self.notes.append("%s: checksums differ between implementations: %s" % (prog, bad))
            if prog == "binarytrees":
                rm = ratio(res.get(("refheap", "on")), res.get(("mimalloc", None)))
                self.targets.append(("binary-trees depth %d, collector on, within 1.1× of malloc/free on mimalloc" % d,
                                     "refheap %s s, mimalloc %s s: refheap ÷ mimalloc = %s" % (
                                         fmt(res.get(("refheap", "on")), 2), fmt(res.get(("mimalloc", None)), 2), fmt_ratio(rm)),
                                     verdict(rm, 1.1, higher=False)))
                rb = ratio(res.get(("boehm", None)), res.get(("refheap", "on")))
                self.targets.append(("binary-trees depth %d: 4× faster than Boehm GC" % d,
                                     "Boehm ÷ refheap = %s" % fmt_ratio(rb), verdict(rb, 4.0, higher=True)))
                self.tree_res = res
            # the allocator issue's figure: collector off against the hand-written count on mimalloc
            off, mirc = res.get(("refheap", "off")), res.get(("mirc", None))
            roff = ratio(mirc, off)
            self.targets.append(("%s depth %d, collector off: ≥ 0.9× the speed of hand-written reference counting on mimalloc"
                                 % (title, d), "refheap %s s, hand-written %s s: hand-written ÷ refheap = %s" % (
                                     fmt(off, 2), fmt(mirc, 2), fmt_ratio(roff)), verdict(roff, 0.9, higher=True)))
            poff = peaks.get("%s-refheap-gcoff-%d" % (prog, d))
            pmirc = peaks.get("%s-mirc-%d" % (prog, d))
            rpeak = ratio(pmirc, poff)
            self.targets.append(("%s depth %d, collector off: peak RSS no worse than hand-written reference counting on mimalloc"
                                 % (title, d), "refheap %s MiB, hand-written %s MiB: hand-written ÷ refheap = %s" % (
                                     fmt(poff, 0, 1 / 2**20), fmt(pmirc, 0, 1 / 2**20), fmt_ratio(rpeak)),
                                 verdict(rpeak, 1.0, higher=True)))
            grp = "%s\ndepth %d" % ({"binarytrees": "binary-trees", "gcbench": "GCBench"}[prog], d)
            for impl, _ in TREE_C_IMPLS:
                if impl == "refheap":
                    continue
                tgt = None
                if prog == "binarytrees":
                    tgt = {"mimalloc": 1 / 1.1, "boehm": 4.0}.get(impl)
                self.bar("peers", grp, {"mirc": "refcount on mimalloc"}.get(impl, impl),
                         res.get((impl, None)), res.get(("refheap", "on")), tgt, target_series=True)
            grp = "%s\ndepth %d" % ({"binarytrees": "binary-trees", "gcbench": "GCBench"}[prog], pd)
            for kind in PY_TREE_KINDS:
                if ("cpython-" + kind, "on") in res:
                    self.bar("peers", grp, "CPython 3.11 " + {"class": "class instances", "slots": "__slots__",
                                                              "tuple": "tuples"}[kind],
                             res[("cpython-" + kind, "on")], res.get(("refheap-py", "on")))

    # ---- 3. collector throughput
    def w3(self):
        s = self.s
        reps = self.a.reps
        configs = []
        for n in s["collect_n"]:
            for shape in ("alive", "garbage"):
                for kind in GC_KINDS_RH:
                    configs.append(("collect-refheap-%s-%s-%d" % (kind, shape, n),
                                    [exe(self.a, "bench_gc"), "collect", kind, str(n), shape, str(reps), "cpython"]))
                    configs.append(("collect-refheap-incr-%s-%s-%d" % (kind, shape, n),
                                    [exe(self.a, "bench_gc"), "collect", kind, str(n), shape, str(reps),
                                     "incremental"]))
                for kind in GC_KINDS_PY:
                    configs.append(("collect-cpython-%s-%s-%d" % (kind, shape, n),
                                    [self.a.python, os.path.join(HERE, "py_gc.py"), "collect", kind, str(n), shape, str(reps)]))
        # several processes per configuration, interleaved like every other
        # workload: one process alone moves with the machine's load
        procs = min(3, reps)
        log("workload 3: collector throughput (%d configurations x %d processes, %d collections each in-process)"
            % (len(configs), procs, reps))
        got, errors = self.r.run_matrix(configs, procs)
        self.note_errors(errors)
        rows = []
        for n in s["collect_n"]:
            for shape in ("alive", "garbage"):
                for rk, pk in (("plain", "plain"), ("slots", "slots"), ("node", "slots")):
                    def col(impl, kind):
                        runs = got.get("collect-%s-%s-%s-%d" % (impl, kind, shape, n), [])
                        lines = [ln for run in runs for ln in run]
                        for ln in lines:
                            if shape == "garbage" and ln.get("collected") != ln.get("n"):
                                self.notes.append("collect %s %s %s N=%d returned %s, expected %s" % (
                                    impl, kind, shape, n, ln.get("collected"), ln.get("n")))
                        return stats([ln["ns_per_obj"] for ln in lines])
                    rh, ri, cp = col("refheap", rk), col("refheap-incr", rk), col("cpython", pk)
                    r, r_i = ratio(rh, cp), ratio(ri, cp)
                    rows.append([n, shape, "%s vs %s" % (rk, pk),
                                 fmt(rh, 1) if rh else missing(errors.get("collect-refheap-%s-%s-%d" % (rk, shape, n))),
                                 fmt(ri, 1) if ri else missing(errors.get("collect-refheap-incr-%s-%s-%d" % (rk, shape, n))),
                                 fmt(cp, 1), fmt_ratio(r), fmt_ratio(r_i)])
                    if rk == pk and n == s["collect_n"][-1]:
                        self.bar("peers", "full collection\n%s %s, %dk" % (rk, shape, n // 1000),
                                 "CPython 3.11", cp, rh, 4.0)
                    if rk == pk and n >= 1_000_000:
                        for pol, v, rr in (("CPython policy", rh, r), ("incremental policy", ri, r_i)):
                            self.targets.append(("full collection, %s %s, N=%d (%s): ≤ ¼ of CPython's ns/object" % (
                                                     rk, shape, n, pol),
                                                 "refheap %s ns, CPython %s ns: %s" % (fmt(v, 1), fmt(cp, 1),
                                                                                      fmt_ratio(rr)),
                                                 verdict(rr, 0.25, higher=False)))
        self.md.append("## 3. Collector throughput\n\nOne full collection (refheap `rh_gc_collect(h, 2)`, "
                       "CPython `gc.collect()`) of N tracked objects built as two-object cycles "
                       "(x.a = y, y.a = x, b = None), all alive (held from outside) or all garbage. "
                       "ns per tracked object: median (min–max) of %d processes per configuration, interleaved, "
                       "each doing %d collections "
                       "(alive: the same heap collected %d times after a warm-up; garbage: rebuilt before "
                       "each). Kinds: `plain` class instances, `slots` instances; refheap's `node` (a C "
                       "container type) is compared with CPython's slots. refheap in both collection "
                       "policies: the CPython policy (its containers keep the collector's record, the "
                       "generations are lists) and the incremental one (no record, the set filled by a "
                       "walk of the marked blocks; docs/linkless.md). Ratio = refheap ÷ CPython "
                       "(below 1: refheap faster; target ≤ 0.25).\n\n" % (procs, reps, reps) +
                       table(["N", "shape", "kinds (refheap vs CPython)", "refheap ns/obj (CPython policy)",
                              "refheap ns/obj (incremental policy)", "CPython ns/obj",
                              "ratio (CPython policy)", "ratio (incremental policy)"], rows) + "\n")

    # ---- 4. collector on/off
    def w4(self):
        s = self.s
        configs = []
        for n in s["build_n"]:
            for g in ("on", "off"):
                for kind in GC_KINDS_RH:
                    configs.append(("build-refheap-%s-%s-%d" % (kind, g, n),
                                    [exe(self.a, "bench_gc"), "build", kind, str(n), g, "cpython"]))
                    configs.append(("build-refheap-incr-%s-%s-%d" % (kind, g, n),
                                    [exe(self.a, "bench_gc"), "build", kind, str(n), g, "incremental"]))
                for kind in GC_KINDS_PY:
                    configs.append(("build-cpython-%s-%s-%d" % (kind, g, n),
                                    [self.a.python, os.path.join(HERE, "py_gc.py"), "build", kind, str(n), g]))
        log("workload 4: collector on/off (%d configurations x %d)" % (len(configs), self.a.reps))
        got, errors = self.r.run_matrix(configs, self.a.reps)
        self.note_errors(errors)
        rows = []
        for n in s["build_n"]:
            for impl, kinds in (("refheap", GC_KINDS_RH), ("refheap-incr", GC_KINDS_RH), ("cpython", GC_KINDS_PY)):
                for kind in kinds:
                    on = stats(first_field(got.get("build-%s-%s-on-%d" % (impl, kind, n), []), "seconds"))
                    off = stats(first_field(got.get("build-%s-%s-off-%d" % (impl, kind, n), []), "seconds"))
                    colls = stats(first_field(got.get("build-%s-%s-on-%d" % (impl, kind, n), []), "collections"))
                    r = ratio(on, off)
                    self.bar("overhead", "build %dk live\n%s" % (n // 1000, kind),
                             {"refheap": "refheap, CPython policy", "refheap-incr": "refheap, incremental policy",
                              "cpython": "CPython 3.11"}[impl], on, off, 1.15 if impl.startswith("refheap") else None)
                    rows.append(["build %d live objects" % n, {"refheap": "refheap (CPython policy)",
                                                               "refheap-incr": "refheap (incremental policy)"}.get(impl, impl),
                                 kind, fmt(on, 3), fmt(off, 3), "%d" % colls[0] if colls else "—", fmt_ratio(r)])
                    if impl.startswith("refheap") and kind == "plain":
                        cpr = ratio(stats(first_field(got.get("build-cpython-plain-on-%d" % n, []), "seconds")),
                                    stats(first_field(got.get("build-cpython-plain-off-%d" % n, []), "seconds")))
                        self.targets.append(("collector on/off ≤ 1.15 building %d live objects (plain, %s)" % (
                                                 n, "incremental policy" if impl == "refheap-incr" else "CPython policy"),
                                             "refheap %s, CPython %s" % (fmt_ratio(r), fmt_ratio(cpr)),
                                             verdict(r, 1.15, higher=False)))
        tr = getattr(self, "tree_res", None)
        if tr:
            d, pd = s["bt_depth"], s["bt_py_depth"]
            for name, key, depth in (("refheap (CPython policy)", "refheap", d),
                                     ("refheap (incremental policy)", "refheap-incr", d), ("refheap", "refheap-py", pd),
                                     ("CPython class instances", "cpython-class", pd),
                                     ("CPython `__slots__`", "cpython-slots", pd), ("CPython tuples", "cpython-tuple", pd)):
                if key == "refheap-py" and pd == d:
                    continue
                on, off = tr.get((key, "on")), tr.get((key, "off"))
                r = ratio(on, off)
                rows.append(["binary-trees depth %d" % depth, name, "—", fmt(on, 3), fmt(off, 3), "—", fmt_ratio(r)])
                self.bar("overhead", "binary-trees\ndepth %d" % depth,
                         {"refheap": "refheap, CPython policy", "refheap-incr": "refheap, incremental policy",
                          "refheap-py": "refheap, CPython policy"}.get(key, name.replace("`", "").replace("CPython", "CPython 3.11")),
                         on, off, 1.15 if key in ("refheap", "refheap-incr") else None)
                if key in ("refheap", "refheap-incr"):
                    self.targets.append(("collector on/off ≤ 1.15 in binary-trees depth %d (%s)" % (d, name),
                                         "refheap %s" % fmt_ratio(r), verdict(r, 1.15, higher=False)))
        self.md.append("## 4. Collector overhead\n\nSeconds to build N live objects (two-object cycles held "
                       "from outside) with the collector at its default thresholds (on) and disabled (off), "
                       "and the same for binary-trees (from workload 2). Ratio = on ÷ off (target ≤ 1.15 "
                       "for refheap).\n\n" +
                       table(["workload", "runtime", "kind", "on: s", "off: s", "collections (on)", "on ÷ off"], rows) + "\n")

    # ---- 5. bytes per object
    def w5(self):
        n = self.s["mem_n"]
        configs = []
        for kind in MEM_KINDS:
            configs.append(("mem-refheap-%s" % kind, [exe(self.a, "bench_gc"), "mem", kind, str(n)]))
            configs.append(("mem-refheap-incr-%s" % kind, [exe(self.a, "bench_gc"), "mem", kind, str(n), "incremental"]))
            if kind != "node":
                configs.append(("mem-cpython-%s" % kind,
                                [self.a.python, os.path.join(HERE, "py_gc.py"), "mem", kind, str(n)]))
        log("workload 5: bytes per object (%d configurations x %d)" % (len(configs), self.a.reps))
        got, errors = self.r.run_matrix(configs, self.a.reps)
        self.note_errors(errors)
        rows = []
        desc = {"plain": "plain instance (attribute dict), a and b set", "slots": "`__slots__` instance (a, b)",
                "list2": "list of two", "tuple2": "tuple of two", "node": "refheap C container type, two references"}
        for kind in MEM_KINDS:
            cp = got.get("mem-cpython-" + kind, []) if kind != "node" else got.get("mem-cpython-slots", [])
            cs, cr = stats(first_field(cp, "stats_bytes_per_obj")), stats(first_field(cp, "rss_bytes_per_obj"))
            cm = stats(first_field(cp, "marginal_bytes_per_obj"))
            csz = first_field(cp, "sizeof")
            # the CPython policy (containers keep the collector's 16-byte record) and the incremental
            # policy (containers without it: docs/linkless.md)
            for key, pol in (("mem-refheap-", "CPython policy"), ("mem-refheap-incr-", "incremental policy")):
                rh = got.get(key + kind, [])
                rs, rr = stats(first_field(rh, "stats_bytes_per_obj")), stats(first_field(rh, "rss_bytes_per_obj"))
                rm = stats(first_field(rh, "marginal_bytes_per_obj"))
                rsz = first_field(rh, "sizeof")
                rows.append([desc[kind] + (" (CPython: slots)" if kind == "node" else "") + ", refheap's " + pol,
                             fmt(rs, 1) if rs else missing(errors.get(key + kind)), fmt(rm, 1), fmt(rr, 1),
                             rsz[0] if rsz else "—", fmt(cs, 1), fmt(cm, 1), fmt(cr, 1), csz[0] if csz else "—",
                             fmt_ratio(ratio(cr, rr))])
                if pol == "incremental policy":
                    self.bar("peers", "memory (RSS)\n%s" % (kind + (" vs __slots__" if kind == "node" else "")),
                             "CPython 3.11", cr, rr)
                    if kind in ("node", "slots", "plain"):
                        # per object: the marginal figure (the second half's bytes per object);
                        # the whole delta, which adds the heap's fixed structures, beside it
                        self.targets.append(("%s: a tracked two-reference object in ≤ 32 bytes (incremental policy)" % kind,
                                             "refheap %s B marginal, %s B over the whole delta (stats), %s B (RSS); "
                                             "CPython %s B (RSS)" % (fmt(rm, 1), fmt(rs, 1), fmt(rr, 1), fmt(cr, 1)),
                                             verdict(rm[0] if rm else None, 32, higher=False, absolute=True)))
        self.md.append("## 5. Memory per object\n\nWhat a program pays per object: the collector on at its default "
                       "thresholds on both sides, the baseline taken after a warm-up (5000 objects of the kind made "
                       "and dropped, then a full collection, so that per-heap fixed structures exist before it); "
                       "%d objects held from a preallocated array/list. "
                       "refheap: `rh_heap_stats_get` bytes_in_use delta (size-class rounded) and process RSS "
                       "delta; CPython: tracemalloc delta (requested bytes) and RSS delta (a separate pass "
                       "without tracemalloc); marginal: the second half's bytes per object (the delta between N/2 "
                       "and N objects, which leaves out what a heap holds once, such as the incremental policy's "
                       "young array, sized by its young collections' spacing); sizeof = `rh_sizeof` / "
                       "`sys.getsizeof`. Ratio = CPython RSS ÷ refheap RSS (above 1: refheap smaller).\n\n" % n +
                       table(["object", "refheap stats B/obj", "refheap stats, marginal B/obj", "refheap RSS B/obj", "rh_sizeof",
                              "CPython tracemalloc B/obj", "CPython tracemalloc, marginal B/obj", "CPython RSS B/obj",
                              "sys.getsizeof", "CPython ÷ refheap (RSS)"], rows) + "\n")

    # ---- 6. pauses
    def w6(self):
        n, steps = self.s["churn"]
        configs = [("churn-refheap-%s" % k, [exe(self.a, "bench_gc"), "churn", k, str(n), str(steps), "cpython"])
                   for k in CHURN_KINDS_RH]
        configs += [("churn-refheap-incr-%s" % k, [exe(self.a, "bench_gc"), "churn", k, str(n), str(steps), "incremental"])
                    for k in CHURN_KINDS_RH]
        configs += [("churn-cpython-%s" % k, [self.a.python, os.path.join(HERE, "py_gc.py"), "churn", k, str(n), str(steps)])
                    for k in CHURN_KINDS_PY]
        log("workload 6: pauses (%d configurations x %d)" % (len(configs), self.a.reps))
        tl = []
        for k in CHURN_KINDS_RH:
            tl += [("churn-refheap-%s" % k, k, "refheap, CPython policy"),
                   ("churn-refheap-incr-%s" % k, k, "refheap, incremental policy")]
            if k in CHURN_KINDS_PY:
                tl.append(("churn-cpython-%s" % k, k, "CPython 3.11"))
        got, errors = self.r.run_matrix(configs, self.a.reps, [t[0] for t in tl])
        for label, k, panel in tl:
            self.timeline("pauses-churn-" + k, "Collector pauses during the churn: %d live tracked objects (%s), "
                          "%d steps (first repetition)" % (n, {"node": "C container type", "plain": "plain instances"}[k], steps),
                          panel, label, got.get(label))
        self.note_errors(errors)
        rows = []

        def add(workload, name, runs, err):
            c = stats(first_field(runs, "pauses"))
            mx = stats(first_field(runs, "pause_max_ns"))
            p99 = stats(first_field(runs, "pause_p99_ns"))
            tot = stats(first_field(runs, "pause_total_ns"))
            full = stats(first_field(runs, "full_collections"))
            cmx = stats(first_field(runs, "pause_cpu_max_ns"))
            cp99 = stats(first_field(runs, "pause_cpu_p99_ns"))
            user = stats(first_field(runs, "user_ns"))
            gmax = stats(first_field(runs, "garbage_max"))
            rss = stats(first_field(runs, "peak_rss"))
            calm = stats(first_field(runs, "pause_calm_max_ns"))
            calm99 = stats(first_field(runs, "pause_calm_p99_ns"))
            npre = stats(first_field(runs, "pauses_preempted"))
            rows.append([workload, name, "%d" % c[0] if c else missing(err),
                         "%d" % full[0] if full else "—",
                         fmt(mx, 2, 1e-6), fmt(p99, 3, 1e-6), fmt(cmx, 2, 1e-6), fmt(cp99, 3, 1e-6),
                         fmt(calm, 2, 1e-6), fmt(calm99, 3, 1e-6), fmt(npre, 0),
                         fmt(tot, 1, 1e-6), fmt(user, 1, 1e-6), fmt(gmax, 0), fmt(rss, 0, 1.0 / (1 << 20))])
            return mx, calm

        for k in CHURN_KINDS_RH:
            mx, calm = add("churn, %d live tracked objects, %d steps" % (n, steps), "refheap (incremental) " + k,
                           got.get("churn-refheap-incr-" + k, []), errors.get("churn-refheap-incr-" + k))
            if k == "plain":
                self.targets.append(("incremental policy: longest pause with %d live tracked objects ≤ 5 ms" % n,
                                     "refheap %s ms (plain, wall clock); %s ms among the pauses the OS did not "
                                     "preempt" % (fmt(mx, 2, 1e-6), fmt(calm, 2, 1e-6)),
                                     verdict(mx[0] / 1e6 if mx else None, 5.0, higher=False, absolute=True)))
            mx, _ = add("churn, %d live tracked objects, %d steps" % (n, steps), "refheap (CPython policy) " + k,
                     got.get("churn-refheap-" + k, []), errors.get("churn-refheap-" + k))
            if k == "plain":
                self.targets.append(("longest pause with %d live tracked objects < 5 ms" % n,
                                     "refheap %s ms (plain), CPython %s ms" % (
                                         fmt(mx, 2, 1e-6), fmt(stats(first_field(got.get("churn-cpython-plain", []), "pause_max_ns")), 1, 1e-6)),
                                     verdict(mx[0] / 1e6 if mx else None, 5.0, higher=False, absolute=True)))
        for k in CHURN_KINDS_PY:
            add("churn, %d live tracked objects, %d steps" % (n, steps), "CPython " + k,
                got.get("churn-cpython-" + k, []), errors.get("churn-cpython-" + k))
        if hasattr(self, "trees"):
            tg, te = self.trees
            d, pd = self.s["bt_depth"], self.s["bt_py_depth"]
            seen = set()
            for label, name in (("binarytrees-refheap-gcon-%d" % d, "refheap (CPython policy)"),
                                ("binarytrees-refheap-incr-gcon-%d" % d, "refheap (incremental policy)"),
                                ("binarytrees-refheap-gcon-%d" % pd, "refheap"),
                                ("binarytrees-cpython-class-gcon-%d" % pd, "CPython class instances"),
                                ("binarytrees-cpython-slots-gcon-%d" % pd, "CPython `__slots__`"),
                                ("binarytrees-cpython-tuple-gcon-%d" % pd, "CPython tuples")):
                if label in tg and label not in seen:
                    seen.add(label)
                    add("binary-trees depth %s" % label.rsplit("-", 1)[1], name, tg[label], te.get(label))
        self.md.append("## 6. Pauses\n\nEvery pause (refheap: `rh_gc_set_pause_hook`: every collection "
                       "and, in the incremental policy, every slice with the young collection before it; wall "
                       "clock and the thread's CPU time, which leaves out time the machine gave to other "
                       "processes; CPython: `gc.callbacks` with `time.perf_counter_ns`). Churn: N live "
                       "objects in two-object cycles, each step replaces a random pair (same LCG index "
                       "sequence on both sides), the old pair becoming cyclic garbage. Median over runs of "
                       "each run's count, max, p99 and total; milliseconds. Most garbage not freed: refheap's churn "
                       "samples, every 1024 steps, the objects the heap holds beyond the live pairs (cyclic "
                       "garbage not collected yet, or found and waiting to be cleared), and reports the most; "
                       "binary-trees makes no cyclic garbage. Peak RSS: the process's, in MiB. Not "
                       "preempted: refheap's pauses during which the thread had no context switch "
                       "(`rh_gc_pause.preempted` and `.blocked` both 0), so that their wall time is the "
                       "collector's own; preempted: how many pauses had one.\n\n" +
                       table(["workload", "runtime", "pauses", "full collections", "max ms", "p99 ms",
                              "max ms (CPU)", "p99 ms (CPU)", "max ms, not preempted", "p99 ms, not preempted",
                              "pauses preempted", "total ms", "in finalizers/callbacks ms",
                              "most garbage not freed (objects)", "peak RSS MiB"], rows) + "\n")


# ------------------------------------------------------------------ charts
#
# The charts are SVG files drawn by gnuplot (Debian: gnuplot-nox) from one
# JSON document, chart-data.json, that run.py writes beside the results:
#
#   {"conditions": "how the figures were made (one line)",
#    "bars": {chart: {"title", "ylabel", "groups": [{"name", "bars": [{"series", "value"}],
#                                                    "targets": [{"value", "series" (null: the whole group)}]}]}},
#    "timelines": {chart: {"title", "panels": [{"title", "seconds", "pauses", "max_ms", "p99_ms",
#                                               "total_ms", "buckets", "points": [[start_s, ms, kind], ...]}]}}}
#
# draw_charts(data, outdir) turns that document into one SVG per chart; the
# layout depends on nothing but the document (fixed sizes, fixed colours in
# order of first appearance), so the same data gives the same file.

TIMELINE_POINTS = 4000   # more pauses than this: the longest in each of 4000 equal slices of the run
PAUSE_KINDS = {0: "young collection (generation 0)", 1: "generation 1 collection",
               2: "full collection (generation 2)", 3: "incremental slice"}
PAUSE_TARGETS_MS = ((5.0, "5 ms: longest-pause target"), (1.0, "1 ms: p99 target"))
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#d62728", "#aec7e8", "#ffbb78"]
KIND_COLOURS = {0: "#1f77b4", 1: "#2ca02c", 2: "#d62728", 3: "#9467bd"}


def read_timeline(path):
    """A pause timeline CSV (start_ns,ns,cpu_ns,user_ns,kind[,preempted,blocked,work]) -> [(start_ns, ns, kind, cpu_ns or None)]
    in file order (CPython's timelines have no CPU time)."""
    out = []
    with open(path) as f:
        header = f.readline().strip().split(",")
        if header[:2] != ["start_ns", "ns"]:
            raise ValueError("%s: not a pause timeline (header %r)" % (path, header))
        for line in f:
            cells = line.strip().split(",")
            if len(cells) >= 5:
                out.append((int(cells[0]), int(cells[1]), int(cells[4]), int(cells[2]) if cells[2] else None))
    return out


def downsample(pauses, limit=TIMELINE_POINTS):
    """At most limit points: past that, the run is cut into limit equal
    slices of time and each slice keeps its longest pause (the first of
    equals), so the peaks of the timeline are all kept."""
    if len(pauses) <= limit:
        return list(pauses), 0
    end = max(p[0] for p in pauses) + 1
    best = {}
    for p in pauses:
        b = p[0] * limit // end
        if b not in best or p[1] > best[b][1]:
            best[b] = p
    return [best[b] for b in sorted(best)], limit


def timeline_panel(title, pauses, seconds):
    """A timeline panel of chart-data.json from [(start_ns, ns, kind, cpu_ns or None)]:
    points [start s, wall-clock ms, kind, CPU ms or None]; figures over every pause."""
    def p99(v):
        return v[(99 * len(v) + 99) // 100 - 1] / 1e6 if v else 0.0
    durs = sorted(p[1] for p in pauses)
    cpus = sorted(p[3] for p in pauses if p[3] is not None)
    pts, buckets = downsample(pauses)
    panel = {"title": title, "seconds": seconds, "pauses": len(durs), "buckets": buckets,
             "max_ms": durs[-1] / 1e6 if durs else 0.0, "p99_ms": p99(durs), "total_ms": sum(durs) / 1e6,
             "cpu_max_ms": cpus[-1] / 1e6 if cpus else None, "cpu_p99_ms": p99(cpus) if cpus else None,
             "points": [[round(p[0] / 1e9, 6), round(p[1] / 1e6, 6), p[2],
                         None if p[3] is None else round(p[3] / 1e6, 6)] for p in pts]}
    return panel


def gp_str(text):
    """A gnuplot double-quoted string (\\n stays a line break)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def log_range(values):
    """[10^a, 10^b] around the positive values, with room above."""
    vals = [v for v in values if v and v > 0]
    if not vals:
        return 0.1, 10.0
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** math.ceil(math.log10(max(vals) * 1.5))
    return lo, hi


def steps_125(lo_exp=-4, hi_exp=6):
    return [m * 10.0 ** e for e in range(lo_exp, hi_exp) for m in (1, 2, 5)]


def ratio_range(values):
    """A log axis for ratios: from the 1-2-5 step below the smallest value
    to the one above 1.6× the largest (room for the value labels), with a
    labelled tic at every 1-2-5 step between."""
    vals = [v for v in values if v and v > 0]
    steps = steps_125()
    lo = max([x for x in steps if x < min(vals)] or [steps[0]])
    hi = min([x for x in steps if x >= max(vals) * 1.6] or [steps[-1]])
    return lo, hi, [x for x in steps if lo <= x <= hi]


def gp_timeline(chart, out):
    # points of [start s, ms, kind] (no CPU time) are read as [start s, ms, kind, None]
    panels = [dict(p, points=[list(pt) + [None] * (4 - len(pt)) for pt in p["points"]]) for p in chart["panels"]]
    ms = [pt[1] for p in panels for pt in p["points"]] + [t for t, _ in PAUSE_TARGETS_MS] + \
         [pt[3] for p in panels for pt in p["points"] if pt[3]]
    lo, hi = log_range(ms)
    lo = max(lo, 1e-4)
    height = 130 + 260 * len(panels)
    g = ['set terminal svg size 1000,%d font "sans,11" background "#ffffff" noenhanced' % height,
         "set output %s" % gp_str(out), "set encoding utf8",
         "set multiplot layout %d,1 title %s" % (len(panels), gp_str(chart["title"] + "\n" + chart["conditions"])),
         "set logscale y", "set yrange [%g:%g]" % (lo, hi), 'set format y "%g"',
         'set ylabel "pause length (ms, log scale)"', 'set xlabel "time since the start of the run (s)" offset 0,0.3',
         "set grid ytics mytics lc rgb '#dddddd'", "set key below horizontal maxcols 3 font \",10\"", "set tmargin 4",
         "set lmargin 12", "set rmargin 4", 'set datafile missing "?"']
    xmax = max([p["seconds"] or 0 for p in panels] + [pt[0] for p in panels for pt in p["points"]] + [1e-3])
    for i, p in enumerate(panels):
        g.append("$P%d << EOD" % i)
        g.extend("%s %s %d %s" % (x, y, k, "?" if c is None else c) for x, y, k, c in p["points"])
        g.append("EOD")
    for i, p in enumerate(panels):
        sub = "%s: %d pauses, longest %.3g ms, p99 %.3g ms, total %.4g ms" % (
            p["title"], p["pauses"], p["max_ms"], p["p99_ms"], p["total_ms"])
        if p.get("cpu_max_ms") is not None:
            sub += "\nin the thread's CPU time: longest %.3g ms, p99 %.3g ms" % (p["cpu_max_ms"], p["cpu_p99_ms"])
        if p["buckets"]:
            sub += "%sshown: the longest pause in each of %d equal slices of the run" % (
                "; " if p.get("cpu_max_ms") is not None else "\n", p["buckets"])
        g.append("set title %s" % gp_str(sub))
        g.append("set xrange [0:%g]" % xmax)
        kinds = sorted({pt[2] for pt in p["points"]})
        plots = []
        if any(pt[3] is not None for pt in p["points"]):
            plots.append("$P%d using 1:4 with points pt 6 ps 0.5 lc rgb '#888888' title %s" % (
                i, gp_str("thread CPU time (colours: wall clock)")))
        plots += ["$P%d using 1:($3 == %d ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb %s title %s" % (
                     i, k, gp_str(KIND_COLOURS.get(k, "#000000")), gp_str(PAUSE_KINDS.get(k, "kind %d" % k)))
                 for k in kinds]
        plots += ["%g with lines dt %d lw 1.5 lc rgb %s title %s" % (t, 2 if n == 0 else 3,
                                                                    gp_str("#d62728" if n == 0 else "#ff7f0e"), gp_str(name))
                  for n, (t, name) in enumerate(PAUSE_TARGETS_MS)]
        g.append("plot " + ", \\\n     ".join(plots))
    g.append("unset multiplot")
    return "\n".join(g) + "\n"


def gp_bars(chart, out):
    series = []
    for grp in chart["groups"]:
        for b in grp["bars"]:
            if b["series"] not in series:
                series.append(b["series"])
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    x, tics, rows, targets, up, down = 0, [], {name: [] for name in series}, [], [], []
    for grp in chart["groups"]:
        if not grp["bars"]:
            continue
        first = x
        pos = {}
        for b in grp["bars"]:
            v = b["value"]
            rows[b["series"]].append("%d %g %g %g %g %g" % (x, v, x - 0.4, x + 0.4, min(v, 1.0), max(v, 1.0)))
            (up if v >= 1 else down).append("%d %g \"%.2f\"" % (x, v, v))
            pos[b["series"]] = x
            x += 1
        tics.append("%s %g" % (gp_str(grp["name"].replace("\n", " ")), (first + x - 1) / 2))
        for t in grp["targets"]:
            if t["series"] is None:
                targets.append("%g %g %g" % (first - 0.5, t["value"], x - first))
            elif t["series"] in pos:
                targets.append("%g %g %g" % (pos[t["series"]] - 0.5, t["value"], 1.0))
        x += 1
    values = [1.0] + [b["value"] for grp in chart["groups"] for b in grp["bars"]] + \
             [t["value"] for grp in chart["groups"] for t in grp["targets"]]
    lo, hi, ytics = ratio_range(values)
    g = ['set terminal svg size 1000,760 font "sans,11" background "#ffffff" noenhanced',
         "set output %s" % gp_str(out), "set encoding utf8",
         "set title %s" % gp_str(chart["title"] + "\n" + chart["conditions"]),
         "set logscale y", "set yrange [%g:%g]" % (lo, hi), "set ytics (%s)" % ", ".join('"%g" %g' % (t, t) for t in ytics),
         "set mytics 1", "set ylabel %s" % gp_str(chart["ylabel"]), "set xrange [-1:%d]" % x,
         "set xtics (%s) rotate by 35 right nomirror scale 0" % ", ".join(tics),
         "set grid ytics lc rgb '#dddddd'",
         "set key below center horizontal maxcols 5 samplen 2 font \",10\"", "set rmargin 3",
         "set style fill solid 0.85 border lc rgb '#333333'"]
    for i, name in enumerate(series):
        g.append("$S%d << EOD" % i)
        g.extend(rows[name])
        g.append("EOD")
    for block, lines in (("$T", targets), ("$UP", up), ("$DOWN", down)):
        g.append("%s << EOD" % block)
        g.extend(lines)
        g.append("EOD")
    plots = ["$S%d using 1:2:3:4:5:6 with boxxyerror lc rgb %s title %s" % (i, gp_str(colour[name]), gp_str(name))
             for i, name in enumerate(series)]
    plots.append("1 with lines lw 1.5 lc rgb '#000000' title \"1.0: equal\"")
    if targets:
        plots.append("$T using 1:2:3:(0) with vectors nohead lw 3 lc rgb '#d62728' title \"target\"")
    if up:
        plots.append("$UP using 1:2:3 with labels rotate by 90 left offset 0,0.4 font \",8\" notitle")
    if down:
        plots.append("$DOWN using 1:2:3 with labels rotate by 90 right offset 0,-0.4 font \",8\" notitle")
    g.append("plot " + ", \\\n     ".join(plots))
    return "\n".join(g) + "\n"


def draw_charts(data, outdir, gnuplot="gnuplot"):
    """Draws every chart of a chart-data.json document as OUTDIR/<chart>.svg.
    Returns the files written; without gnuplot, says so and returns []."""
    exe_path = shutil.which(gnuplot)
    if not exe_path:
        log("run.py: %s not found: charts skipped (Debian: apt-get install gnuplot-nox)" % gnuplot)
        return []
    os.makedirs(outdir, exist_ok=True)
    written = []
    jobs = [(name, gp_bars, dict(chart, conditions=data.get("conditions", "")))
            for name, chart in sorted(data.get("bars", {}).items()) if any(g["bars"] for g in chart["groups"])]
    jobs += [(name, gp_timeline, dict(chart, conditions=data.get("conditions", "")))
             for name, chart in sorted(data.get("timelines", {}).items()) if chart["panels"]]
    for name, fn, chart in jobs:
        out = os.path.join(outdir, name + ".svg")
        script = fn(chart, out)
        r = subprocess.run([exe_path], input=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0 or not os.path.exists(out):
            log("run.py: gnuplot failed on %s: %s" % (name, r.stderr.strip()[-500:]))
            continue
        written.append(out)
    return written


def chart_data(suite, conditions):
    """The chart-data.json document of a run."""
    bars = {}
    titles = {"peers": ("Peer ÷ refheap, per workload (above 1: refheap faster or smaller)",
                        "peer ÷ refheap (median ÷ median, log scale)"),
              "overhead": ("Collector overhead: time with the collector on ÷ off (below 1.15: the target met)",
                           "collector on ÷ off (median ÷ median, log scale)")}
    for name, groups in suite.bars.items():
        bars[name] = {"title": titles[name][0], "ylabel": titles[name][1],
                      "groups": [dict(g, name=gname) for gname, g in groups.items()]}
    timelines = {}
    for t in suite.timelines:
        try:
            pauses = read_timeline(t["csv"])
        except (OSError, ValueError) as e:
            log("run.py: pause timeline of %s unreadable: %s" % (t["label"], e))
            continue
        c = timelines.setdefault(t["chart"], {"title": t["title"], "panels": []})
        c["panels"].append(timeline_panel(t["panel"], pauses, t["seconds"]))
    return {"conditions": conditions, "bars": bars, "timelines": timelines}


def run_conditions(args, load):
    """One line saying how the figures were made, for the charts' titles."""
    cpu, cores = "?", 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu, cores = line.split(":", 1)[1].strip(), cores + 1
    except OSError:
        pass
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout.strip() or "?"
    if rev != "?" and subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD", "--", "src", "include", "bench",
                                      "CMakeLists.txt", "cmake"],
                                     stderr=subprocess.DEVNULL).returncode != 0:
        rev += " with local changes"
    return ("%s run, %d repetitions, %s, commit %s, %s, %d cores, load average %.1f at the start" % (
        "quick (--quick sizes)" if args.quick else "full", args.reps, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        rev, cpu, cores, load))


def verdict(value, target, higher, absolute=False):
    if value is None:
        return "not measured"
    ok = value >= target if higher else value <= target
    return "met" if ok else "not met"


# ------------------------------------------------------------------ machine

def machine(python):
    cpu, cores, mhz, cache = "?", 0, "?", "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k, v = k.strip(), v.strip()
                if k == "model name":
                    cpu = v
                    cores += 1
                elif k == "cpu MHz":
                    mhz = v
                elif k == "cache size":
                    cache = v
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 2**20)
    except OSError:
        pass
    u = platform.uname()
    pyv = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    cc = subprocess.run(["cc", "--version"], stdout=subprocess.PIPE, text=True).stdout.splitlines()[0]
    return ("- CPU: %s, %d logical cores, %s MHz, cache %s (/proc/cpuinfo)\n- Memory: %s\n"
            "- Kernel: %s %s %s (uname)\n- Compiler: %s, CMake Release (-O3 -DNDEBUG)\n- CPython: %s\n" % (
                cpu, cores, mhz, cache, mem, u.system, u.release, u.machine, cc, pyv))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: under 3 minutes")
    ap.add_argument("--reps", type=int, help="repetitions per configuration (default and minimum: 5; 3 with --quick)")
    ap.add_argument("--only", default="1,2,3,4,5,6", help="comma-separated workload numbers")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--no-build", action="store_true", help="use the build directory as it is")
    ap.add_argument("--markdown", help="also write the report to this file")
    ap.add_argument("--json", help="write every raw result line to this file")
    ap.add_argument("--python", default="python3", help="CPython 3.11 interpreter to compare with")
    ap.add_argument("--results", help="folder for the report, the raw results, the pause timelines and the "
                    "chart data (default: BUILD_DIR/results)")
    ap.add_argument("--charts", help="folder for the SVG charts (default: RESULTS/charts)")
    ap.add_argument("--no-charts", action="store_true", help="do not draw the charts")
    ap.add_argument("--charts-from", metavar="JSON", help="only draw the charts of a saved chart-data.json "
                    "(into --charts, default: its folder's charts/), run nothing")
    args = ap.parse_args()
    if args.charts_from:
        with open(args.charts_from) as f:
            data = json.load(f)
        out = args.charts or os.path.join(os.path.dirname(os.path.abspath(args.charts_from)), "charts")
        written = draw_charts(data, out)
        for w in written:
            print(w)
        return
    default_reps, min_reps = REPS["quick" if args.quick else "full"]
    if args.reps is None:
        args.reps = default_reps
    if args.reps < min_reps:
        sys.exit("run.py: at least %d repetitions (--reps %d): these machines are noisy" % (min_reps, min_reps))
    args.build_dir = os.path.abspath(args.build_dir)
    args.results = os.path.abspath(args.results or os.path.join(args.build_dir, "results"))
    args.charts = os.path.abspath(args.charts or os.path.join(args.results, "charts"))
    os.makedirs(args.results, exist_ok=True)
    load0 = os.getloadavg()[0]
    if not shutil.which(args.python):
        sys.exit("run.py: %s not found" % args.python)
    pyinfo = subprocess.run([args.python, "-c", "import sys, sysconfig; print(sys.version_info[0], "
                             "sys.version_info[1], int(bool(sysconfig.get_config_var('Py_DEBUG'))))"],
                            stdout=subprocess.PIPE, text=True).stdout.split()
    if len(pyinfo) == 3 and pyinfo[2] == "1":
        sys.exit("run.py: refusing to run: %s is a debug build of CPython" % args.python)
    if pyinfo[:2] != ["3", "11"]:
        log("run.py: WARNING: %s is Python %s, not 3.11" % (args.python, ".".join(pyinfo[:2])))
    t0 = time.time()
    status = build(args)
    runner = Runner(args, status)
    sizes = SIZES["quick" if args.quick else "full"]
    suite = Suite(args, runner, sizes)
    only = set(args.only.split(","))
    for num, fn in (("1", suite.w1), ("2", suite.w2), ("3", suite.w3), ("4", suite.w4),
                    ("5", suite.w5), ("6", suite.w6)):
        if num in only:
            t1 = time.time()
            fn()
            log("  workload %s took %.0f s" % (num, time.time() - t1))
    elapsed = time.time() - t0
    out = ["# refheap benchmark results (%s, %d repetitions)\n" % ("quick" if args.quick else "full", args.reps),
           "Generated by `python3 bench/run.py%s` on %s in %.0f s.\n" % (
               " --quick" if args.quick else "", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), elapsed),
           "## Machine\n\n" + machine(args.python)]
    if status["refheap"]:
        out.append("**refheap's side did not run: %s.** Its cells show —.\n" % status["refheap"])
    out.extend(suite.md)
    if suite.targets:
        out.append("## Against the targets\n\n" +
                   table(["target", "measured (median (min–max))", "verdict"], suite.targets) + "\n")
    if suite.notes:
        out.append("## Notes\n\n" + "\n".join("- " + n for n in dict.fromkeys(suite.notes)) + "\n")
    text = "\n".join(out)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            for d in runner.results:
                f.write(json.dumps(d) + "\n")
    with open(os.path.join(args.results, "report.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.results, "results.jsonl"), "w") as f:
        for d in runner.results:
            f.write(json.dumps(d) + "\n")
    data = chart_data(suite, run_conditions(args, load0))
    with open(os.path.join(args.results, "chart-data.json"), "w") as f:
        json.dump(data, f, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    log("run.py: report, raw results, pause timelines and chart data in %s" % args.results)
    if not args.no_charts:
        written = draw_charts(data, args.charts)
        if written:
            log("run.py: %d charts in %s" % (len(written), args.charts))
    if runner.failures:
        log("run.py: %d configuration(s) failed; see the Notes section" % len(runner.failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
