"""Workload 2 on CPython: binary-trees and GCBench, the same algorithms as
bench_trees.c, with tree nodes as class instances, __slots__ instances or
tuples, the collector on (default thresholds) or off.

    python3 py_trees.py binarytrees DEPTH KIND on|off
    python3 py_trees.py gcbench STRETCH_DEPTH KIND on|off

KIND is class, slots or tuple. GCBench builds trees top-down by assigning
children to existing nodes, which tuples cannot do: for KIND tuple it exits
with a "skipped" line. Every collection is timed through gc.callbacks with
time.perf_counter_ns (workload 6). Prints one JSON line, the same keys as
bench_trees.c; the node count and checksum are computed the same way so
run.py can check that both sides did the same work.
"""
import gc
import json
import resource
import sys
import time

MIN_DEPTH = 4          # the Benchmarks Game's smallest depth; GCBench's kMinTreeDepth
GCB_ARRAY = 500000     # GCBench's kArraySize


class Node:
    def __init__(self, left, right):
        self.left = left
        self.right = right


class SlotNode:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


def make_obj_program(cls):
    def bottom_up(depth):
        if depth <= 0:
            return cls(None, None)
        return cls(bottom_up(depth - 1), bottom_up(depth - 1))

    def check(n):
        left = n.left
        if left is None:
            return 1
        return 1 + check(left) + check(n.right)

    def populate(depth, n):
        if depth <= 0:
            return
        depth -= 1
        n.left = cls(None, None)
        n.right = cls(None, None)
        populate(depth, n.left)
        populate(depth, n.right)

    def leaf():
        return cls(None, None)

    return bottom_up, check, populate, leaf


def make_tuple_program():
    def bottom_up(depth):
        if depth <= 0:
            return (None, None)
        return (bottom_up(depth - 1), bottom_up(depth - 1))

    def check(n):
        left, right = n
        if left is None:
            return 1
        return 1 + check(left) + check(right)

    return bottom_up, check, None, None


def tree_size(depth):
    return (1 << (depth + 1)) - 1


def binarytrees(max_depth, bottom_up, check):
    max_depth = max(max_depth, MIN_DEPTH + 2)
    total = 0
    nodes = 0
    stretch = bottom_up(max_depth + 1)
    total += check(stretch)
    nodes += tree_size(max_depth + 1)
    del stretch
    long_lived = bottom_up(max_depth)
    nodes += tree_size(max_depth)
    for d in range(MIN_DEPTH, max_depth + 1, 2):
        iters = 1 << (max_depth - d + MIN_DEPTH)
        c = 0
        for _ in range(iters):
            c += check(bottom_up(d))
        total += c
        nodes += iters * tree_size(d)
    total += check(long_lived)
    return total, nodes


def gcbench(stretch_depth, bottom_up, check, populate, leaf):
    long_lived_depth = max_depth = stretch_depth - 2
    total = 0
    nodes = tree_size(stretch_depth)
    total += check(bottom_up(stretch_depth))
    long_lived = leaf()
    populate(long_lived_depth, long_lived)
    nodes += tree_size(long_lived_depth)
    array = [0.0] * GCB_ARRAY
    for i in range(GCB_ARRAY // 2):
        array[i] = 1.0 / (i + 1)
    for d in range(MIN_DEPTH, max_depth + 1, 2):
        iters = 2 * tree_size(stretch_depth) // tree_size(d)
        for _ in range(iters):
            t = leaf()
            populate(d, t)
            total += check(t)
        del t
        for _ in range(iters):
            total += check(bottom_up(d))
        nodes += 2 * iters * tree_size(d)
    if array[1000] != 1.0 / 1001:
        raise SystemExit("gcbench: long-lived data lost")
    total += check(long_lived)
    return total, nodes


def status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def pause_summary(pauses):
    p = sorted(pauses)
    if not p:
        return 0, 0.0, 0.0, 0.0
    rank = (99 * len(p) + 99) // 100
    return len(p), float(p[-1]), float(p[rank - 1]), float(sum(p))


def main(argv):
    if len(argv) < 5:
        raise SystemExit(__doc__)
    prog, depth, kind, gcmode = argv[1], int(argv[2]), argv[3], argv[4]
    if kind == "tuple":
        bottom_up, check, populate, leaf = make_tuple_program()
    elif kind in ("class", "slots"):
        bottom_up, check, populate, leaf = make_obj_program(Node if kind == "class" else SlotNode)
    else:
        raise SystemExit("unknown kind " + kind)
    impl = "cpython-" + kind
    if prog == "gcbench" and populate is None:
        print(json.dumps({"bench": "trees", "impl": impl, "program": prog, "depth": depth,
                          "gc": gcmode, "skipped": "tuples are immutable: GCBench's top-down Populate cannot build them"}))
        return
    sys.setrecursionlimit(10000)
    pauses = []
    start = [0]

    def on_gc(phase, info):
        if phase == "start":
            start[0] = time.perf_counter_ns()
        else:
            pauses.append(time.perf_counter_ns() - start[0])

    gc.collect()
    if gcmode == "off":
        gc.disable()
    else:
        gc.enable()
    gc.callbacks.append(on_gc)
    rss0 = status_bytes("VmRSS")
    stats0 = gc.get_stats()
    t0 = time.perf_counter_ns()
    if prog == "binarytrees":
        total, nodes = binarytrees(depth, bottom_up, check)
    elif prog == "gcbench":
        total, nodes = gcbench(depth, bottom_up, check, populate, leaf)
    else:
        raise SystemExit("unknown program " + prog)
    t = time.perf_counter_ns() - t0
    gc.callbacks.remove(on_gc)
    gens = [st["collections"] - st0["collections"] for st, st0 in zip(gc.get_stats(), stats0)]
    count, pmax, p99, ptotal = pause_summary(pauses)
    print(json.dumps({"bench": "trees", "impl": impl, "program": prog, "depth": depth, "gc": gcmode,
                      "seconds": t / 1e9, "nodes": nodes, "ns_per_node": t / nodes, "checksum": total,
                      "rss_before": rss0, "peak_rss": status_bytes("VmHWM"), "pauses": count,
                      "pause_max_ns": pmax, "pause_p99_ns": p99, "pause_total_ns": ptotal,
                      "gen_collections": gens}))
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
