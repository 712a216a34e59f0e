# Deep recursion is a RecursionError, never a C stack overflow (it was one
# under ASan, whose frames are larger); recursive containers repr as [...].
def f(n):
    return f(n + 1)
try:
    f(0)
except RecursionError as e:
    print("caught", e)
class A:
    def __repr__(self):
        return repr(self)
try:
    repr(A())
except RecursionError as e:
    print("caught2")
x = []
x.append(x)
print(x)
d = {}
d[1] = d
print(d)
print(eval_depth_test := 1)
