# Scenario 7 — weak references: a cache of large objects (articles 001 and 003), a callback, finalize.
import gc
import weakref

gc.collect()


class BigData:
    def __init__(self, name, size):
        self.name = name
        self.payload = bytearray(size)


cache = weakref.WeakValueDictionary()
items = [BigData(f"big{i}", 1 << 20) for i in range(3)]
for it in items:
    cache[it.name] = it
print("= cache_len_full", len(cache))
events = []
r = weakref.ref(items[0], lambda wr: events.append("callback"))
weakref.finalize(items[1], events.append, "finalize")
del it
items.pop(0)  # the last strong reference to big0 goes: callback runs, cache entry vanishes
print("= cache_len_after_one", len(cache))
print("= callback_ran", events.count("callback"))
print("= ref_dead", int(r() is None))
items.clear()
print("= cache_len_empty", len(cache))
print("= finalize_ran", events.count("finalize"))
