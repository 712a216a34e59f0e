# assorted semantics
import gc
x = [1, 2, 3]
y = x
y += [4]
print(x is y, x)
t = (1, 2)
u = t
u += (3,)
print(t, u, t is u)
s = "ab"
print(s * 0, s * -1, [0] * 0)
print(10 // 3, -10 // 3, 10 % -3, -7 % 3, 7 // -2, 2 ** 10, 2 ** 0.5, 10 / 5)
print(1e16, 1e15, 123456789.123, 0.000001, 1e-7, -0.0, 3.0 * 2, 7 / 2, float(10))
print(round(0.5), round(1.5), round(2.5), round(-0.5), int(-3.7), int("  12  "), int("-0x1f", 16) if False else 0)
print(str(1.0), repr(1.10), str(100.0), 1.0 == 1, 0.1 * 3, 1 / 3)
print(bool(0.0), bool(""), bool(" "), bool(()), bool((0,)))
print(list("abc"), tuple("ab"), set("aab") == {"a", "b"}, dict.fromkeys if False else None)
d = {}
d[1] = "int"
d[1.0] = "float"
d[True] = "bool"
print(d)
print({1, 1.0, True})
print(sorted({3: 1, 1: 2, 2: 3}), sorted("bca"), sorted([3, 1, 2], key=lambda v: -v))
nested = [[1, [2, 3]], {"k": (4, 5)}]
print(nested, str(nested), repr("a\tb"), str(None), repr(None))
a = b = c = 5
print(a, b, c)
i = 10
while i:
    i -= 3
    if i < 0:
        break
print(i)
for i, (p, q) in enumerate([(1, 2), (3, 4)]):
    print(i, p, q)
print([x for x in range(20) if x % 3 == 0 if x % 2 == 0])
print({k: v for k, v in zip("abc", range(3))})
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
print(fib(15))
def outer():
    count = 0
    def bump():
        nonlocal count
        count += 1
    for _ in range(5):
        bump()
    return count
print(outer())
g = 1
def readg():
    return g
def setg():
    global g
    g = 2
setg()
print(readg())
print(gc.collect())
print(type(type(1)), type(len), type(lambda: 0).__name__, type(gc).__name__)
print(isinstance(type, type), callable(len), callable(1))
