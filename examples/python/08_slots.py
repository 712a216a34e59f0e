# Scenario 8 — __slots__ versus per-instance dictionaries (article 001).
import gc
import sys
import tracemalloc

N = 1_000_000


class Plain:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


def measure(cls):
    gc.collect()
    tracemalloc.start()
    objs = [cls(None, None) for _ in range(N)]
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per = (size - sys.getsizeof(objs)) / N
    getsize = sys.getsizeof(objs[0])
    del objs
    return per, getsize


plain, plain_gs = measure(Plain)
slotted, slotted_gs = measure(Slotted)
print(f"plain instance:   getsizeof {plain_gs} bytes, {plain:.1f} bytes each allocated")
print(f"slotted instance: getsizeof {slotted_gs} bytes, {slotted:.1f} bytes each allocated")
print("= getsizeof_plain", plain_gs)
print("= getsizeof_slotted", slotted_gs)
print("= bytes_per_plain", round(plain))
print("= bytes_per_slotted", round(slotted))
print("= slotted_smaller", int(slotted < plain))
