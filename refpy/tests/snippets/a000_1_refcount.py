# Article 000, "Counting 1..2..3": reference counting in action (verbatim).
import sys
a = [1, 2, 3]
print(sys.getrefcount(a)) # Output 2
# Reference count of 'a'
b = a # Create another reference to the same object
print(sys.getrefcount(a)) # Reference count increases, Output 3
del b # Remove one reference
print(sys.getrefcount(a)) # Reference count decreases, Output 2
