"""Workloads 3 to 6 on CPython 3.11: the same programs as bench_gc.c.

    python3 py_gc.py collect KIND N alive|garbage REPS   full-collection cost
    python3 py_gc.py build KIND N on|off                 collector on/off while building
    python3 py_gc.py mem KIND N                          bytes per object
    python3 py_gc.py churn KIND N STEPS                  pauses with N live objects

KIND: plain (class instance, attribute dictionary), slots (__slots__ = a, b),
and for `mem` also list2 ([None, None]) and tuple2 ((None, None)).
The shape is the one of bench_gc.c: two-object cycles x.a = y, y.a = x,
x.b = y.b = None, held from a list that is allocated before the timed part.
Each result is one JSON line with the same keys as bench_gc.c.
"""
import gc
import json
import os
import sys
import time


class Plain:
    def __init__(self, a=None):
        self.a = a
        self.b = None


class Slots:
    __slots__ = ("a", "b")

    def __init__(self, a=None):
        self.a = a
        self.b = None


CLASSES = {"plain": Plain, "slots": Slots}

# bench_gc.c's 31-bit LCG (ANSI C's example rand()), for the same index sequence.
LCG_MUL, LCG_ADD, LCG_MASK = 1103515245, 12345, 0x7FFFFFFF


def emit(name, **kw):
    d = {"bench": name, "impl": "cpython"}
    d.update(kw)
    print(json.dumps(d))
    sys.stdout.flush()


def status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def build_pairs(cls, npairs, hold):
    for i in range(npairs):
        x = cls()
        x.a = cls(x)
        hold[i] = x


def cmd_collect(kind, n, shape, reps):
    cls = CLASSES[kind]
    npairs = n // 2
    gc.disable()
    gc.collect()
    if shape == "alive":
        hold = [None] * npairs
        build_pairs(cls, npairs, hold)
        gc.collect()
        for _ in range(reps):
            t0 = time.perf_counter_ns()
            got = gc.collect()
            t = time.perf_counter_ns() - t0
            emit("collect", kind=kind, n=2 * npairs, shape="alive", ns_per_obj=t / (2 * npairs),
                 collected=got, seconds=t / 1e9)
        del hold
    else:
        for _ in range(reps):
            hold = [None] * npairs
            build_pairs(cls, npairs, hold)
            del hold
            t0 = time.perf_counter_ns()
            got = gc.collect()
            t = time.perf_counter_ns() - t0
            emit("collect", kind=kind, n=2 * npairs, shape="garbage", ns_per_obj=t / (2 * npairs),
                 collected=got, seconds=t / 1e9)
    gc.enable()


class PauseLog:
    """Every collection's pause, from gc.callbacks. With BENCH_PAUSE_LOG=FILE
    in the environment it also keeps each pause's start (from start_timeline)
    and generation, and write_timeline writes them to FILE in the CSV format
    of bench_common.h's pause timeline (start_ns,ns,cpu_ns,user_ns,kind; no
    CPU time or finalizer time here: those columns are empty)."""
    def __init__(self):
        self.pauses = []
        self.recording = False
        self.t0 = 0
        env = getattr(os, "environ", {})  # refpy's os module has no environ
        self.timeline_path = env.get("BENCH_PAUSE_LOG") or None
        self.timeline = []
        self.origin = 0

    def start_timeline(self):
        self.origin = time.perf_counter_ns()

    def __call__(self, phase, info):
        if phase == "start":
            self.t0 = time.perf_counter_ns()
        elif self.recording:
            ns = time.perf_counter_ns() - self.t0
            self.pauses.append(ns)
            if self.timeline_path:
                self.timeline.append((self.t0 - self.origin, ns, info["generation"]))

    def write_timeline(self):
        if not self.timeline_path:
            return
        with open(self.timeline_path, "w") as f:
            f.write("start_ns,ns,cpu_ns,user_ns,kind\n")
            for start, ns, gen in self.timeline:
                f.write("%d,%d,,,%d\n" % (start, ns, gen))

    def summary(self):
        p = sorted(self.pauses)
        if not p:
            return dict(pauses=0, pause_max_ns=0.0, pause_p99_ns=0.0, pause_total_ns=0.0)
        rank = (99 * len(p) + 99) // 100
        return dict(pauses=len(p), pause_max_ns=float(p[-1]), pause_p99_ns=float(p[rank - 1]),
                    pause_total_ns=float(sum(p)))


def cmd_build(kind, n, on):
    cls = CLASSES[kind]
    npairs = n // 2
    gc.collect()
    log = PauseLog()
    gc.callbacks.append(log)
    if on:
        gc.enable()
    else:
        gc.disable()
    hold = [None] * npairs
    log.recording = True
    t0 = time.perf_counter_ns()
    build_pairs(cls, npairs, hold)
    t = time.perf_counter_ns() - t0
    log.recording = False
    gc.callbacks.remove(log)
    s = log.summary()
    emit("build", kind=kind, n=2 * npairs, gc="on" if on else "off", seconds=t / 1e9,
         ns_per_obj=t / (2 * npairs), collections=s["pauses"], pause_total_ns=s["pause_total_ns"],
         pause_max_ns=s["pause_max_ns"])
    gc.disable()  # the teardown is not measured


def make_one(kind):
    if kind == "plain":
        return Plain
    if kind == "slots":
        return Slots
    if kind == "list2":
        return lambda: [None, None]
    if kind == "tuple2":
        # A tuple display of constants would be one shared constant; build a new one each time.
        return lambda: tuple([None, None])
    raise SystemExit("unknown kind " + kind)


MEM_WARMUP = 5000  # bench_gc.c's MEM_WARMUP


def cmd_mem(kind, n):
    # What a program pays per object: the collector on at its default
    # thresholds, the baseline after a warm-up (objects of the kind made and
    # dropped, then a full collection).
    import tracemalloc
    make = make_one(kind)
    gc.enable()
    warm = [make() for _ in range(min(MEM_WARMUP, n))]
    warm = None
    gc.collect()
    # RSS pass first, without tracemalloc (whose own traces would count in RSS).
    hold = [None] * n
    rss0 = status_bytes("VmRSS")
    for i in range(n):
        hold[i] = make()
    rss1 = status_bytes("VmRSS")
    size = sys.getsizeof(hold[0])
    hold = None
    gc.collect()
    hold = [None] * n
    tracemalloc.start()
    b0 = tracemalloc.get_traced_memory()[0]
    half = n // 2
    for i in range(half):
        hold[i] = make()
    bh = tracemalloc.get_traced_memory()[0]
    for i in range(half, n):
        hold[i] = make()
    b1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # marginal: the second half's bytes per object (bench_gc.c's figure)
    emit("mem", kind=kind, n=n, stats_bytes_per_obj=(b1 - b0) / n, marginal_bytes_per_obj=(b1 - bh) / (n - half),
         rss_bytes_per_obj=(rss1 - rss0) / n, sizeof=size)


def cmd_churn(kind, n, steps):
    cls = CLASSES[kind]
    npairs = n // 2
    hold = [None] * npairs
    build_pairs(cls, npairs, hold)
    log = PauseLog()
    gc.callbacks.append(log)
    full0 = gc.get_stats()[2]["collections"]
    x = 12345
    log.recording = True
    log.start_timeline()
    t0 = time.perf_counter_ns()
    for _ in range(steps):
        x = (x * LCG_MUL + LCG_ADD) & LCG_MASK
        i = x % npairs
        y = cls()
        y.a = cls(y)
        hold[i] = y
    t = time.perf_counter_ns() - t0
    log.recording = False
    gc.callbacks.remove(log)
    log.write_timeline()
    full = gc.get_stats()[2]["collections"] - full0
    s = log.summary()
    emit("churn", kind=kind, n=2 * npairs, steps=steps, seconds=t / 1e9, full_collections=full,
         peak_rss=status_bytes("VmHWM"), **s)
    gc.disable()


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    cmd, kind, n = argv[1], argv[2], int(argv[3])
    if cmd == "collect":
        cmd_collect(kind, n, argv[4], int(argv[5]))
    elif cmd == "build":
        cmd_build(kind, n, argv[4] != "off")
    elif cmd == "mem":
        cmd_mem(kind, n)
    elif cmd == "churn":
        cmd_churn(kind, n, int(argv[4]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
