# Expressions, strings, containers, control flow.
x = 7
y = 2
print(x + y, x - y, x * y, x / y, x // y, x % y, x ** y, -x // y, -x % y)
print(x << 3, x >> 1, x & 3, x | 8, x ^ 5, ~x)
print(1 < 2 < 3, 1 < 3 < 2, 1 == 1.0, "a" < "b", [1, 2] < [1, 3], (1, 2) == (1, 2))
print(3.5 + 1, 2 ** -1, 10 / 4, 7.0 // 2, 0.1 + 0.2, 1e100, 1.5e-7, float("inf"))
print(True + True, not None, None is None, 5 if x > 3 else 6)
print(x and y, 0 or "z", [] or {}, "" and 1)
s = "hello world"
print(s[0], s[-1], s[1:4], s[::-1], s[::2], len(s), s.upper(), s.split(), s.split("o"))
print("-".join(["a", "b", "c"]), " pad ".strip(), s.replace("o", "0"), s.startswith("he"), s.find("w"))
print(f"{x} {x!r} {s!r} {x:>5}|{x:<5}|{x:^5}|{x:05}|{3.14159:.2f}|{255:x}|{255:#x}|{1234567:,}")
print(f"{'nested'} {x + y} {[1, 2][0]} {{braces}} {3.0} {1/3} {2.5e-5:.3e} {0.5:.0%}")
print("%d %s %r %5.2f %x %-4s|" % (42, "str", "repr", 3.14159, 255, "ab"))
print("{} {}".format(1, 2), "{0} {name} {0}".format(1, name="n"), "{:>6}".format("r"), "{:.3}".format(1.23456))
print(repr("quote's"), repr('dq"'), repr("both'\""), repr("\n\t\\"), str(b"bytes"), repr(b"\x00\xff"))
l = [3, 1, 2]
l.append(5)
l.extend([9, 0])
l.insert(1, 7)
print(l, l.pop(), l.pop(0), sorted(l), sorted(l, reverse=True), l.index(2), l.count(1))
l.sort()
l.reverse()
print(l, l[1:3], l[-2:], l[:-2], l * 2, [0] * 3, l + [1])
del l[0]
l[0] = 100
l[1:3] = ["a", "b", "c"]
print(l, 100 in l, 4 not in l)
t = (1, "two", 3.0, None, True)
print(t, t[1:], len(t), (1,), ())
d = {"a": 1, "b": 2}
d["c"] = 3
del d["a"]
print(d, d.get("b"), d.get("z", 0), list(d.keys()), list(d.values()), list(d.items()), "b" in d)
print(d.pop("b"), d.setdefault("e", 5), d, len(d), dict(a=1), dict([(1, 2)]), {**d, "f": 6})
st = {3, 1, 2}
st.add(4)
st.discard(1)
print(sorted(st), len(st), 2 in st, {1, 2} | {3}, {1, 2} & {2}, {1, 2} - {2}, set(), set([1, 1]))
print([i * i for i in range(5)], {i: i * 2 for i in range(3)}, {i % 3 for i in range(9)}, list(range(10, 0, -3)))
print([(a, b) for a in range(3) for b in range(a) if b % 2 == 0], sum(i for i in range(10)))
print(list(enumerate("ab")), list(zip([1, 2], "xy")), min(3, 1, 2), max([4, 8, 2]), max([], default=-1))
print(abs(-3), abs(-2.5), hex(255), int("42"), int(3.9), float("1.5"), str(12), bool([]), round(2.675, 2), round(3.5))
print(isinstance(1, int), isinstance(True, int), isinstance("s", (int, str)), type(1), type("s"), type([]), type(None))
print(any([0, 1]), all([1, 0]), list(reversed([1, 2, 3])), divmod(17, 5), pow(2, 10), chr(65), ord("A"))
a, b = 1, 2
a, b = b, a
first, *rest = [1, 2, 3, 4]
(p, q), r = (5, 6), 7
print(a, b, first, rest, p, q, r)
i = 0
while True:
    i += 1
    if i == 2:
        continue
    if i > 4:
        break
    print("loop", i)
else:
    print("not reached")
for k in range(3):
    pass
else:
    print("for-else", k)
n = 0
n += 5
n -= 1
n *= 3
n //= 5
print(n)
b = bytearray(b"abc")
b[0] = 65
b.extend(b"de")
m = memoryview(b)
print(b, len(b), b[1], bytes(b), m[1:3].tobytes(), list(m[0:2]), bytes([104, 105]), b"x" + b"y")
m.release()
