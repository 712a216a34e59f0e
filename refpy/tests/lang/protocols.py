# Iterators, properties, operator dunders, class attributes, decorators.
class Countdown:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n <= 0:
            raise StopIteration
        self.n -= 1
        return self.n + 1


print(list(Countdown(3)), [x * 2 for x in Countdown(2)], sum(Countdown(4)))


class Vec:
    count = 0

    def __init__(self, x, y):
        self.x, self.y = x, y
        Vec.count += 1

    def __add__(self, o):
        return Vec(self.x + o.x, self.y + o.y)

    def __mul__(self, k):
        return Vec(self.x * k, self.y * k)

    def __eq__(self, o):
        return (self.x, self.y) == (o.x, o.y)

    def __hash__(self):
        return hash((self.x, self.y))

    def __lt__(self, o):
        return (self.x, self.y) < (o.x, o.y)

    def __repr__(self):
        return "Vec(%d, %d)" % (self.x, self.y)

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return (self.x, self.y)[i]

    def __contains__(self, v):
        return v in (self.x, self.y)

    def __bool__(self):
        return bool(self.x or self.y)

    @property
    def norm1(self):
        return abs(self.x) + abs(self.y)


a, b = Vec(1, 2), Vec(3, -4)
print(a + b, a * 3, a == Vec(1, 2), a != b, sorted([b, a]), a[1], 2 in a, len(a), bool(Vec(0, 0)), b.norm1)
print({a: "a"}[a], hash(a) == hash(Vec(1, 2)), Vec.count, max([a, b]), min(b, a))


def trace(fn):
    def wrapper(*args, **kw):
        print("call", fn.__name__, args, kw)
        return fn(*args, **kw)
    return wrapper


@trace
def add(x, y=10):
    return x + y


print(add(1), add(2, y=3))


class Temp:
    def __init__(self):
        self._c = 0

    @property
    def c(self):
        return self._c

    @c.setter
    def c(self, v):
        self._c = v * 2


t = Temp()
t.c = 21
print(t.c)


class Base:
    def hello(self):
        return "base " + self.name()

    def name(self):
        return "B"


class Child(Base):
    def name(self):
        return "C"


print(Child().hello(), Base().hello(), issubclass(Child, Base), isinstance(Child(), Base))
words = "the quick brown fox jumps over the lazy dog".split()
freq = {}
for w in words:
    freq[w] = freq.get(w, 0) + 1
print(sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
print(sorted(words, key=len), sorted(words, key=lambda s: s[-1], reverse=True)[:4])
matrix = [[i * 3 + j for j in range(3)] for i in range(3)]
print(matrix, [row[1] for row in matrix], list(zip(*matrix)))
print("%s has %d items: %r" % ("list", 3, [1, 2, 3]), "%5s|%-5s|%05d|%.3f" % ("a", "b", 42, 2 / 3))
print(f"{'x':*^9}|{-3:+d}|{7:b}|{1e-9:g}|{12345.678:,.1f}|{'abc'!r:>8}")
s = "Hello, World"
print(s.lower(), s.count("l"), s[::-1], s.split(", "), "," in s, s.index("W") if hasattr(s, "index") else -1)
