# Scenario 1 — reference counting (articles 000 and 002).
# Lines starting with "= " are figures the tour compares with refheap's.
import sys

a = [1, 2, 3]
print("a = [1, 2, 3];  sys.getrefcount(a) ->", sys.getrefcount(a))
print("= getrefcount_one_name", sys.getrefcount(a))
b = a  # another reference to the same object
print("b = a;          sys.getrefcount(a) ->", sys.getrefcount(a))
print("= getrefcount_two_names", sys.getrefcount(a))
del b  # remove one reference
print("del b;          sys.getrefcount(a) ->", sys.getrefcount(a))
print("= getrefcount_after_del", sys.getrefcount(a))
