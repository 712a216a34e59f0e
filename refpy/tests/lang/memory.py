# Reference counts, the collector and weak references as the articles use them.
import gc
import sys
import weakref

gc.collect()
gc.disable()


class Node:
    def __init__(self, name):
        self.name = name
        self.next = None

    def __repr__(self):
        return f"Node({self.name})"


n = Node("a")
print(sys.getrefcount(n))
l = [n, n, n]
print(sys.getrefcount(n))
d = {"k": n}
print(sys.getrefcount(n))


def f(x):
    return sys.getrefcount(x)


print(f(n))
del l, d
print(sys.getrefcount(n))
t = (n,)
print(sys.getrefcount(n), sys.getrefcount(t))
del t

print(gc.is_tracked(n), gc.is_tracked([]), gc.is_tracked({}), gc.is_tracked({"a": 1}), gc.is_tracked({"a": []}))
print(gc.is_tracked(1), gc.is_tracked("s"), gc.is_tracked((1, 2)), gc.is_tracked(f))
print(sorted(map(id, gc.get_referents([1, n]))) == sorted(map(id, [1, n])))
print(len(gc.get_referrers(n)))

a, b = Node("a"), Node("b")
a.next, b.next = b, a
del a, b
print("cycle", gc.collect())


def make_closure_cycle():
    def inner():
        return inner
    return inner


g = make_closure_cycle()
del g
print("closure cycle", gc.collect())

events = []


class Fin:
    def __init__(self, name):
        self.name = name
        self.other = None

    def __del__(self):
        events.append(self.name)


x, y = Fin("x"), Fin("y")
x.other, y.other = y, x
del x, y
print("fin cycle", gc.collect(), sorted(events))
z = Fin("z")
del z
print(events[-1])

obj = Node("w")
wr = weakref.ref(obj, lambda r: events.append("cb"))
print(wr() is obj, weakref.getweakrefcount(obj))
del obj
print(wr(), events[-1])

wkd = weakref.WeakKeyDictionary()
k1, k2 = Node("k1"), Node("k2")
wkd[k1] = 1
wkd[k2] = 2
print(len(wkd))
del k1
print(len(wkd), wkd.get(k2))
ws = weakref.WeakSet()
s1 = Node("s1")
ws.add(s1)
print(len(ws), s1 in ws)
del s1
print(len(ws))
fz = Node("fz")
fin = weakref.finalize(fz, events.append, "finalized")
print(fin.alive)
del fz
print(events[-1], fin.alive)

before = gc.get_count()[0]
junk = [Node(i) for i in range(10)]
after = gc.get_count()[0]
print("count grew by", after - before)
del junk
print(gc.collect(0), gc.get_count())
gc.set_debug(gc.DEBUG_SAVEALL)
p, q = Node("p"), Node("q")
p.next, q.next = q, p
del p, q
print(gc.collect(), len(gc.garbage), sorted(repr(o) for o in gc.garbage))
gc.set_debug(0)
for o in gc.garbage:
    o.next = None
gc.garbage.clear()
print(gc.collect())
gc.enable()
print(gc.isenabled(), gc.get_threshold())
print(sys.getsizeof(1) > 0, sys.getsizeof([]) > 0)
