#!/usr/bin/env python3
"""Instructions per object on refheap's object path, counted by callgrind.

    python3 bench/callgrind.py                  # builds build-callgrind/, runs, prints Markdown
    python3 bench/callgrind.py --markdown FILE  # also writes the report there

Time on a shared machine drifts; an instruction count does not. This script
configures its own build directory (build-callgrind/ next to the sources, or
--build-dir): CMAKE_BUILD_TYPE=Release (-O3 -DNDEBUG) plus -g, with
REFHEAP_VALGRIND_ANNOTATIONS=OFF, which builds the Valgrind client requests
out of the library: with them refheap's pools would see that they run under
Valgrind (callgrind is a Valgrind tool too) and send every block through
their annotated out-of-line slow paths, which is not the code that runs
outside Valgrind.

It builds bench/bench_objpath.c for refheap, for a hand-written reference
count on mimalloc and for plain mimalloc malloc/free, runs every
configuration under `valgrind --tool=callgrind` at two sizes N1 < N2, and
reports (I(N2) - I(N1)) / (objects(N2) - objects(N1)): the instructions of
one object, everything done once (start-up, heap creation, teardown)
cancelling out. The counts are deterministic: a second run gives the same
figures to the instruction.

Then, for refheap, the same difference taken per function and per source
line of the callgrind profiles gives where the instructions of one object go
(self cost, including the code inlined into each function, attributed to
the file the inlined lines come from), and callgrind_annotate's inclusive
listing of the larger run is printed for the create/track/last-decref path.

The rows run refheap's heaps under the CPython policy (REFHEAP_GC and
REFHEAP_LINKLESS are removed from their environment), then the rows
node, nodetrack, node1 and tree again under the incremental policy, in its
linked layout ("-inc": REFHEAP_GC=incremental REFHEAP_LINKLESS=0) and in its
layout without list links ("-ll": the policy's own, docs/linkless.md), and the rows
float, raw32 and raw32once in that last layout (which must not change
them), refheap's columns only, their ratio taken against the base row's
hand-written count.

Options: --n1, --n2 (objects; default 100000 and 1000000), --build-dir DIR,
--no-build, --markdown FILE, --keep DIR (keep the callgrind.out files there),
--top K (rows of the breakdowns), --rows A,B (only these rows, e.g.
node,node-ll).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from benchlib import ROOT, cache_value, configure, log, table

TARGETS = ["bench_objpath_refheap", "bench_objpath_mirc", "bench_objpath_mimalloc"]

# (key, description, [(column, program, extra args)])
ROWS = [
    ("node", "tracked two-reference node: create tracked (rh_new_tracked) + last decref (1024 alive)",
     [("rh_off", "refheap", ["off"]), ("rh_on", "refheap", ["on"]),
      ("rc", "mirc", []), ("mi", "mimalloc", [])]),
    ("nodetrack", "the same node made by rh_new + rh_gc_track (two calls) instead of rh_new_tracked",
     [("rh_off", "refheap", ["off"]), ("rh_on", "refheap", ["on"]),
      ("rc", "mirc", []), ("mi", "mimalloc", [])]),
    ("node1", "the same with one node alive between steps (no pool or page fills or empties)",
     [("rh_off", "refheap", ["off"]), ("rh_on", "refheap", ["on"]),
      ("rc", "mirc", []), ("mi", "mimalloc", [])]),
    ("tree", "the same nodes as binary trees of 1023, built bottom-up, dropped by the root",
     [("rh_off", "refheap", ["off"]), ("rh_on", "refheap", ["on"]),
      ("rc", "mirc", []), ("mi", "mimalloc", [])]),
    ("float", "untracked object (a float): create + last decref (1024 alive)",
     [("rh_off", "refheap", ["off"]), ("rh_on", "refheap", ["on"]),
      ("rc", "mirc", []), ("mi", "mimalloc", [])]),
    ("raw32", "raw 32-byte block: alloc + free (1024 alive)",
     [("rh_on", "refheap", ["on"]), ("mi", "mimalloc", [])]),
    ("raw32once", "raw 32-byte block: alloc + free at once (workload 1(a)'s pattern)",
     [("rh_on", "refheap", ["on"]), ("mi", "mimalloc", [])]),
]
# The rows above run refheap's heaps under the CPython policy (the variables
# below are removed from their environment). The same programs on heaps of
# the incremental policy, in its two layouts: linked (the collector's
# 16-byte record, asked for by REFHEAP_LINKLESS=0, "-inc") and without list
# links (docs/linkless.md, the policy's own layout, "-ll"). Only refheap's columns are
# run; the ratio is taken against the base row's hand-written count.
POLICY_ENV = ("REFHEAP_GC", "REFHEAP_LINKLESS")
VARIANTS = [("-inc", "incremental policy, linked layout", {"REFHEAP_GC": "incremental", "REFHEAP_LINKLESS": "0"}),
            ("-ll", "incremental policy, layout without list links",
             {"REFHEAP_GC": "incremental", "REFHEAP_LINKLESS": "1"})]
for _suffix, _what, _env in VARIANTS:
    for _base in ("node", "nodetrack", "node1", "tree"):
        _desc = [d for r, d, _ in ROWS if r == _base][0]
        ROWS.append((_base + _suffix, "%s (%s)" % (_base, _what),
                     [("rh_off", "refheap", ["off"], _env), ("rh_on", "refheap", ["on"], _env)]))
# The untracked object and the raw blocks in a heap of the layout without
# list links: that layout is the collector's business, so these rows must
# equal their base rows (the allocator's fast paths, the free of a
# non-container, are the same code in every heap).
for _base in ("float", "raw32", "raw32once"):
    _desc, _cols = [(d, c) for r, d, c in ROWS if r == _base][0]
    ROWS.append((_base + "-ll", "%s (%s)" % (_base, VARIANTS[1][1]),
                 [(col, impl, extra, VARIANTS[1][2]) for col, impl, extra in _cols if impl == "refheap"]))
# refheap configurations whose profile is broken down by function and file
BREAKDOWN = [("node", "rh_off"), ("node", "rh_on"), ("node1", "rh_off"), ("tree", "rh_off"), ("tree", "rh_on"),
             ("float", "rh_on"), ("raw32", "rh_on"), ("node-ll", "rh_off"), ("node-ll", "rh_on"),
             ("tree-ll", "rh_on")]
TARGET_RATIO = 1.2
# The allocator's out-of-line paths taken when its "slow word" is set (debug
# mode, the fault injector, Valgrind announcements): the normal path of a
# pools-mode heap never reaches them, so any cost there means the build is wrong.
TOOL_SLOW_PATHS = {"rh__malloc_slow", "rh__free_slow", "rh__obj_free_slow"}


def build(args):
    bd = args.build_dir
    bt = cache_value(bd, "CMAKE_BUILD_TYPE")
    ann = cache_value(bd, "REFHEAP_VALGRIND_ANNOTATIONS")
    if bt is not None and (bt != "Release" or ann not in (None, "OFF")):
        sys.exit("callgrind.py: refusing %s: it is not this script's build (Release, -g, "
                 "REFHEAP_VALGRIND_ANNOTATIONS=OFF); use another --build-dir" % bd)
    if args.no_build:
        return
    cfg = ["cmake", "-S", ROOT, "-B", bd, "-DCMAKE_BUILD_TYPE=Release",
           "-DCMAKE_C_FLAGS=-g", "-DREFHEAP_VALGRIND_ANNOTATIONS=OFF", "-DREFHEAP_SANITIZE=OFF",
           "-DREFHEAP_VALGRIND=OFF",
           "-DREFHEAP_BENCH=ON", "-DREFHEAP_TESTS=OFF", "-DREFHEAP_EXAMPLES=OFF"]
    configure(cfg, "callgrind.py")
    r = subprocess.run(["cmake", "--build", bd, "-j2", "--target"] + TARGETS,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit("callgrind.py: build failed:\n" + r.stdout[-4000:])


# ------------------------------------------------------------------ callgrind output

class Profile:
    """Self cost (Ir) per (function, source file) and per (file, line), and
    the inclusive cost of calls per caller, from one callgrind.out file
    (format version 1, positions: line, events: Ir)."""

    def __init__(self, path):
        self.total = 0
        self.self_fn_file = defaultdict(int)   # (fn, file) -> Ir
        self.self_line = defaultdict(int)      # (file, line) -> Ir
        self.calls_out = defaultdict(int)      # fn -> Ir of the calls it makes (inclusive)
        self.fn_object = {}
        names = {}

        def name(kind, text):
            m = re.match(r"^\((\d+)\)(?: (.*))?$", text)
            if not m:
                return text
            key = (kind, m.group(1))
            if m.group(2) is not None:
                names[key] = m.group(2)
            return names.get(key, text)

        ob = fl = fi = fn = None
        last = 0
        in_call = False
        with open(path) as f:
            for raw in f:
                line = raw.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                c = line[0]
                if c.isdigit() or c in "+-*":
                    parts = line.split()
                    pos = parts[0]
                    if pos == "*":
                        ln = last
                    elif pos[0] in "+-":
                        ln = last + int(pos)
                    else:
                        ln = int(pos)
                    last = ln
                    ir = int(parts[1]) if len(parts) > 1 else 0
                    if in_call:
                        self.calls_out[fn] += ir
                        in_call = False
                    else:
                        self.self_fn_file[(fn, fi)] += ir
                        self.self_line[(fi, ln)] += ir
                    continue
                key, _, val = line.partition("=")
                if key == "ob":
                    ob = name("ob", val)
                elif key == "fl":
                    fl = fi = name("fl", val)
                elif key in ("fi", "fe"):
                    fi = name("fl", val)
                elif key == "fn":
                    # callgrind names the recursive activations f'2, f'3...
                    fn = re.sub(r"'\d+$", "", name("fn", val))
                    fi = fl
                    self.fn_object[fn] = ob
                elif key in ("cob",):
                    name("ob", val)
                elif key in ("cfl", "cfi"):
                    name("fl", val)
                elif key == "cfn":
                    name("fn", val)
                elif key == "calls":
                    in_call = True
                elif line.startswith("summary:") or line.startswith("totals:"):
                    self.total = max(self.total, int(line.split()[1]))

    def inclusive(self):
        out = defaultdict(int)
        for (fn, _), ir in self.self_fn_file.items():
            out[fn] += ir
        for fn, ir in self.calls_out.items():
            out[fn] += ir
        return out


def short_file(path):
    if path is None or path == "???":
        return "(no line info)"
    if path.startswith(ROOT + "/"):
        return path[len(ROOT) + 1:]
    return os.path.basename(path)


def source_line(path, ln):
    try:
        with open(path) as f:
            for i, text in enumerate(f, 1):
                if i == ln:
                    return text.strip().replace("|", "\\|").replace("`", "'")[:90]
    except (OSError, TypeError):
        pass
    return "?"


def workload(row):
    """The program's workload of a row ("node-ll" runs "node")."""
    return row.split("-")[0]


def run_callgrind(prog, argv, out_file, env=None):
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file] + [prog] + argv
    full = {k: v for k, v in os.environ.items() if k not in POLICY_ENV}
    full.update(env or {})
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full)
    if r.returncode != 0:
        sys.exit("callgrind.py: %s failed (exit %d):\n%s" % (" ".join(cmd), r.returncode, r.stderr[-3000:]))
    res = None
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            res = json.loads(line)
    if res is None:
        sys.exit("callgrind.py: %s printed no result line" % " ".join(cmd))
    return res["objects"]


# ------------------------------------------------------------------ report

def git(*argv):
    r = subprocess.run(["git", "-C", ROOT] + list(argv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n1", type=int, default=100_000)
    ap.add_argument("--n2", type=int, default=1_000_000)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-callgrind"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--markdown")
    ap.add_argument("--keep", help="keep the callgrind.out files in this directory")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--rows", help="comma-separated rows to run (default: all)")
    args = ap.parse_args()
    if args.rows:
        keep = args.rows.split(",")
        unknown = [r for r in keep if r not in [row for row, _, _ in ROWS]]
        if unknown:
            sys.exit("callgrind.py: unknown rows %s" % ", ".join(unknown))
        ROWS[:] = [r for r in ROWS if r[0] in keep]
    if args.n2 <= args.n1 or args.n1 < 1:
        sys.exit("callgrind.py: need 0 < --n1 < --n2")
    if not shutil.which("valgrind"):
        sys.exit("callgrind.py: valgrind not found (apt-get install valgrind)")
    args.build_dir = os.path.abspath(args.build_dir)
    t0 = time.time()
    build(args)
    outdir = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="rh-callgrind-")
    os.makedirs(outdir, exist_ok=True)

    per_obj = {}      # (row, col) -> instructions per object
    profiles = {}     # (row, col) -> (Profile N1, Profile N2, objects N1, objects N2)
    for row, _, cols in ROWS:
        for col, impl, extra, *env in cols:
            prog = os.path.join(args.build_dir, "bench", "bench_objpath_" + impl)
            if not os.path.exists(prog):
                log("skip %s/%s: %s not built (mimalloc missing?)" % (row, col, prog))
                continue
            got = []
            for n in (args.n1, args.n2):
                out = os.path.join(outdir, "callgrind.out.%s.%s.%d" % (row, col, n))
                objs = run_callgrind(prog, [workload(row), str(n)] + extra, out, env[0] if env else None)
                got.append((Profile(out), objs))
            (p1, o1), (p2, o2) = got
            per_obj[(row, col)] = (p2.total - p1.total) / (o2 - o1)
            profiles[(row, col)] = (p1, p2, o1, o2)
            log("%-6s %-7s %8.1f instructions/object  (I = %d at %d objects, %d at %d)" % (
                row, col, per_obj[(row, col)], p1.total, o1, p2.total, o2))

    def cell(row, col):
        v = per_obj.get((row, col))
        return "—" if v is None else "%.1f" % v

    def ratio(row, col, ref):
        a, b = per_obj.get((row, col)), per_obj.get((workload(row), ref))
        return None if a is None or not b else a / b

    rows = []
    verdicts = []
    for row, desc, cols in ROWS:
        base_cols = [c for r, _, cs in ROWS if r == workload(row) for c, *_ in cs]
        ref = "rc" if "rc" in base_cols else "mi"
        r_off, r_on = ratio(row, "rh_off", ref), ratio(row, "rh_on", ref)
        rows.append([desc,
                     cell(row, "rh_off") if not row.startswith("raw32") else "—",
                     cell(row, "rh_on"),
                     cell(workload(row), "rc") if ref == "rc" else "(= mimalloc)",
                     cell(workload(row), "mi"),
                     ("%.2f× / %.2f×" % (r_off, r_on)) if r_off and r_on else
                     ("%.2f×" % r_on if r_on else "—")])
        if workload(row) in ("node", "nodetrack", "node1", "tree") and r_off and r_on:
            verdicts.append((row, r_off, r_on))

    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    vg = subprocess.run(["valgrind", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    cc = subprocess.run(["cc", "--version"], stdout=subprocess.PIPE, text=True).stdout.splitlines()[0]
    md = ["## Instructions per object (callgrind)\n",
          "Generated by `python3 bench/callgrind.py --n1 %d --n2 %d` on %s, commit `%s`%s, %s, %s; "
          "build: Release (`-O3 -DNDEBUG`) + `-g`, Valgrind annotations built out (`-DREFHEAP_VALGRIND_ANNOTATIONS=OFF`). "
          "Instructions per object = (I(N2) − I(N1)) ÷ (objects(N2) − objects(N1)), whole program counted, "
          "so start-up and teardown cancel; deterministic (a rerun gives the same counts).\n" % (
              args.n1, args.n2, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), commit,
              " (with uncommitted changes)" if dirty else "", vg, cc),
          table(["path (per object)", "refheap, collector off", "refheap, collector on",
                 "hand-written refcount on mimalloc", "mimalloc malloc/free",
                 "refheap ÷ hand-written (off / on)"], rows) + "\n"]
    md.append("\n".join(
        "- %s: refheap ÷ hand-written = %.2f× (collector off), %.2f× (on); target ≤ %.1f×: %s." % (
            row, r_off, r_on, TARGET_RATIO,
            "met" if max(r_off, r_on) <= TARGET_RATIO else
            ("met with the collector off only" if r_off <= TARGET_RATIO else "not met"))
        for row, r_off, r_on in verdicts) + "\n")

    # ---- where refheap's instructions go
    md.append("### Where refheap's instructions go\n\nSelf cost per object (N2 − N1 difference), by "
              "function and by the source file of the line (code inlined into a function is counted in "
              "the file it comes from, e.g. the pools' fast paths in `src/memory/alloc_priv.h`).\n")
    for row, col in BREAKDOWN:
        if (row, col) not in profiles:
            continue
        p1, p2, o1, o2 = profiles[(row, col)]
        d = o2 - o1
        tot = per_obj[(row, col)]
        byfn, byfile = defaultdict(float), defaultdict(float)
        for key in set(p1.self_fn_file) | set(p2.self_fn_file):
            v = (p2.self_fn_file.get(key, 0) - p1.self_fn_file.get(key, 0)) / d
            fn, fi = key
            byfn[(fn, short_file(fi))] += v
            byfile[short_file(fi)] += v
        top = sorted(byfn.items(), key=lambda kv: (-round(kv[1], 3), str(kv[0])))[:args.top]
        label = "%s, collector %s" % (dict((r, s) for r, s, _ in ROWS)[row], "off" if col == "rh_off" else "on")
        md.append("#### %s: %.1f instructions per object\n" % (label, tot))
        md.append(table(["function", "source file of the lines", "Ir/object", "share"],
                        [[fn, fi, "%.1f" % v, "%.0f%%" % (100 * v / tot)] for (fn, fi), v in top if v >= 0.05]) + "\n")
        files = sorted(byfile.items(), key=lambda kv: (-round(kv[1], 3), str(kv[0])))
        md.append("By file: " + ", ".join("`%s` %.1f (%.0f%%)" % (f, v, 100 * v / tot)
                                          for f, v in files if v >= 0.05) + ".\n")
        slow = sum(v for (fn, _), v in byfn.items() if fn in TOOL_SLOW_PATHS)
        if slow >= 0.5:
            md.append("**Warning:** %.1f instructions per object in %s: the allocator took the slow path "
                      "of debug mode / tools (are the Valgrind annotations built out?).\n" % (
                          slow, ", ".join(sorted(TOOL_SLOW_PATHS))))
        if row == "node" and col == "rh_off":
            incl = {}
            i1, i2 = p1.inclusive(), p2.inclusive()
            for fn in set(i1) | set(i2):
                incl[fn] = (i2.get(fn, 0) - i1.get(fn, 0)) / d
            prog = os.path.join(args.build_dir, "bench", "bench_objpath_refheap")
            topi = [(fn, v) for fn, v in sorted(incl.items(), key=lambda kv: (-round(kv[1], 3), str(kv[0])))
                    if v >= 0.5 and p2.fn_object.get(fn) == prog and fn not in ("main", "(below main)")][:args.top]
            md.append("Inclusive cost per object (self + callees), same path:\n\n" +
                      table(["function", "inclusive Ir/object"], [[fn, "%.1f" % v] for fn, v in topi]) + "\n")
            lines_d = defaultdict(float)
            for key in set(p1.self_line) | set(p2.self_line):
                lines_d[key] = (p2.self_line.get(key, 0) - p1.self_line.get(key, 0)) / d
            hot = sorted(lines_d.items(), key=lambda kv: (-round(kv[1], 3), str(kv[0])))[:args.top + 8]
            md.append("Hottest source lines per object, same path (the line's own instructions, "
                      "wherever it was inlined):\n\n" +
                      table(["file:line", "Ir/object", "source"],
                            [["%s:%d" % (short_file(fi), ln), "%.1f" % v, "`%s`" % source_line(fi, ln)]
                             for (fi, ln), v in hot if v >= 0.5]) + "\n")
            ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=99",
                                  os.path.join(outdir, "callgrind.out.node.rh_off.%d" % args.n2)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
            lines = [l for l in ann.splitlines() if re.match(r"^\s*[\d,]+ \(", l) and
                     ("PROGRAM TOTALS" in l or re.search(r"(src|include|bench)/[^:]*:", l))][:args.top + 1]
            if lines:
                md.append("`callgrind_annotate --inclusive=yes` of the N2 run (whole program, %d objects):\n\n"
                          "```\n%s\n```\n" % (o2, "\n".join(lines)))
    md.append("Counted in %.0f s. Profiles: %s.\n" % (time.time() - t0, outdir if args.keep else "deleted"))
    text = "\n".join(md)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if not args.keep:
        shutil.rmtree(outdir, ignore_errors=True)


if __name__ == "__main__":
    main()
