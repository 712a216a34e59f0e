# sys.getrefcount inside calls: arguments moved into frames, __init__ through type.__call__, *args, **kw.
import sys
class A:
    def __init__(self, x, y=None):
        print(sys.getrefcount(x))
    def m(self, x):
        print(sys.getrefcount(x))
def f(x):
    print(sys.getrefcount(x))
x = []
A(x)
A(x, y=1)
a = A(x)
a.m(x)
f(x)
m = a.m
m(x)
print(sys.getrefcount(x))
for i in [x]:
    print(sys.getrefcount(x))
y = [x, x]
print(sys.getrefcount(x))
lam = lambda v: sys.getrefcount(v)
print(lam(x))
print(sys.getrefcount(a))
def g(*args):
    print(sys.getrefcount(args[0]))
g(x)
def h(**kw):
    print(sys.getrefcount(kw["k"]))
h(k=x)
