# Functions, closures, classes, exceptions, with.
def f(a, b=2, *args, c=3, **kw):
    return a, b, args, c, kw


print(f(1), f(1, 5, 6, 7, c=8, d=9), f(*[1, 2], **{"c": 0}))


def counter():
    n = 0

    def inc(step=1):
        nonlocal n
        n += step
        return n
    return inc


c = counter()
c()
c(5)
print(c(), c.__name__, (lambda x, y=1: x + y)(2))
total = 0


def add(v):
    global total
    total += v


add(3)
add(4)
print(total)


def outer():
    xs = [lambda i=i: i for i in range(3)]
    return [g() for g in xs]


print(outer())


class Animal:
    kind = "animal"

    def __init__(self, name):
        self.name = name

    def speak(self):
        return f"{self.name} makes a sound"

    def __repr__(self):
        return f"Animal({self.name!r})"


class Dog(Animal):
    def __init__(self, name, breed):
        super().__init__(name)
        self.breed = breed

    def speak(self):
        return super().speak() + " (woof)"

    def __eq__(self, other):
        return isinstance(other, Dog) and self.name == other.name

    def __len__(self):
        return len(self.name)


d = Dog("Rex", "lab")
print(d.speak(), d, Dog.kind, d.kind, isinstance(d, Animal), len(d), d == Dog("Rex", "x"), d != d)
print(hasattr(d, "breed"), getattr(d, "nope", "default"), type(d).__name__, Dog.__name__)
setattr(d, "age", 3)
print(d.age, [d, Animal("cat")], str(d), vars(Animal("v")))
m = d.speak
print(m())


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self):
        self.x = 1


s = Slotted()
try:
    s.z = 3
except AttributeError as e:
    print("AttributeError:", e)
try:
    print(s.y)
except AttributeError as e:
    print("AttributeError:", e)


class MyError(ValueError):
    pass


def risky(k):
    if k == 0:
        raise MyError("bad k")
    if k == 1:
        return 1 / 0
    if k == 2:
        return {}["missing"]
    if k == 3:
        return [][1]
    if k == 4:
        return undefined_name
    if k == 5:
        return int("x")
    return "fine"


for k in range(7):
    try:
        print(risky(k))
    except MyError as e:
        print("MyError", e, e.args, isinstance(e, ValueError))
    except (ZeroDivisionError, KeyError) as e:
        print(type(e).__name__, repr(e), str(e))
    except Exception as e:
        print("other", type(e).__name__, e)
    else:
        print("else ran")
    finally:
        print("finally", k)


def fin():
    try:
        return "try"
    finally:
        print("cleanup")


print(fin())
try:
    try:
        raise KeyError("inner")
    except KeyError:
        raise
except KeyError as e:
    print("re-raised", repr(e))


class Ctx:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        print("enter", self.name)
        return self

    def __exit__(self, et, ev, tb):
        print("exit", self.name, et.__name__ if et else None)
        return et is ZeroDivisionError


with Ctx("a") as ca, Ctx("b"):
    print("body", ca.name)
with Ctx("c"):
    1 / 0
print("suppressed")


class Temp:
    def __init__(self, n):
        self.n = n

    def __del__(self):
        print("del", self.n)


t = Temp(1)
t = Temp(2)
del t
print([Temp(3)] and "list gone")
assert True
try:
    assert 1 == 2, "msg"
except AssertionError as e:
    print("assert", e)
import sys
import gc
print(sys.getrefcount(Temp(4)))
x = []
print(sys.getrefcount(x))
y = [x, x]
print(sys.getrefcount(x), len(gc.get_referrers(x)))
