# Article 001, "2. Reference Counting" (verbatim; CPython prints 3 and 2,
# not the article's 2 and 1: getrefcount's argument is a reference too).
import sys
a = [1, 2, 3]
b = a # reference count for the list object is now 2
print(sys.getrefcount(a)) # Output is usually 2
del b # reference count goes back to 1
print(sys.getrefcount(a)) # Output is 1 now
