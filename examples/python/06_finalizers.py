# Scenario 6 — finalizers, resurrection, and an uncollectable cycle (article 003: DEBUG_LEAK, gc.garbage).
import gc

gc.collect()
gc.disable()
calls = []


class WithDel:
    def __init__(self, name):
        self.name = name
        self.other = None

    def __del__(self):
        calls.append(self.name)


a, b = WithDel("a"), WithDel("b")
a.other, b.other = b, a
del a, b
print("= del_cycle_collected", gc.collect())
print("= del_calls", len(calls))

survivors = []


class Lazarus:
    def __init__(self):
        self.other = None

    def __del__(self):
        survivors.append(self)  # resurrects itself


x, y = Lazarus(), Lazarus()
x.other, y.other = y, x
del x, y
print("= resurrect_first_collect", gc.collect())
print("= resurrected", len(survivors))
survivors.clear()
print("= resurrect_second_collect", gc.collect())

try:
    import _testcapi

    @_testcapi.with_tp_del
    class Legacy:
        def __init__(self):
            self.other = None

        def __tp_del__(self):
            pass

    p, q = Legacy(), Legacy()
    p.other, q.other = q, p
    del p, q
    gc.set_debug(gc.DEBUG_LEAK)
    n = gc.collect()
    gc.set_debug(0)
    print("= uncollectable_collected", n)
    print("= garbage_len", len(gc.garbage))
    for o in gc.garbage:
        o.other = None
    gc.garbage.clear()
except ImportError:
    print("(no _testcapi: legacy finalizers not shown)")
gc.enable()
