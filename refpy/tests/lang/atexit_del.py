# Objects still alive at exit: the pending weakref.finalize callbacks run
# (newest first), and a cycle with __del__ is finalized by the shutdown
# collection (found by the fuzzer: refpy ran __del__ after releasing the
# classes).
import gc
import weakref
gc.disable()


class A:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        print("del", self.name)


class Keep:
    pass


a, b = A("a"), A("b")
a.other, b.other = b, a
del a, b
k1, k2 = Keep(), Keep()
weakref.finalize(k1, print, "finalize k1")
weakref.finalize(k2, print, "finalize k2")
print("end")
