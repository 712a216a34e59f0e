# Found by the fuzzer: a decorator before a statement that is not a definition
# leaked its list.
@dec
x = 1
