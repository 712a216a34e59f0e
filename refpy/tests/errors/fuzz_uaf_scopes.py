# Found by the fuzzer: the comprehension that made the 17th scope grew the
# parser's scope table while holding a pointer into it.
def f1(): pass
def f2(): pass
def f3(): pass
def f4(): pass
def f5(): pass
def f6(): pass
def f7(): pass
def f8(): pass
def f9(): pass
def f10(): pass
def f11(): pass
def f12(): pass
def f13(): pass
def f14(): pass
def f15(): pass
print([i * 2 for i in range(3)], [j for j in [k for k in range(2)]])
