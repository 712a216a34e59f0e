# Scenario 11 — pauses and monitoring: timing each collection with gc.callbacks; RSS up and down.
import gc
import time

N = 1_000_000
pauses = []
start = {}


def cb(phase, info):
    if phase == "start":
        start["t"] = time.perf_counter()
    else:
        pauses.append(time.perf_counter() - start["t"])


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


gc.collect()
gc.callbacks.append(cb)
base = rss_kib()


class Pair:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = None
        self.b = None


objs = [Pair() for _ in range(N)]
up = rss_kib()
del objs
gc.collect()
down = rss_kib()
gc.callbacks.remove(cb)
print(f"{len(pauses)} collections, longest pause {max(pauses) * 1e3:.2f} ms, total {sum(pauses) * 1e3:.2f} ms")
print(f"RSS: {base} KiB -> {up} KiB with {N} objects -> {down} KiB after freeing them")
print("= collections", len(pauses))
print("= max_pause_ms", round(max(pauses) * 1e3, 2))
print("= rss_growth_mib", round((up - base) / 1024))
print("= rss_returned_mib", round((up - down) / 1024))
