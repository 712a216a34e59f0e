# A byte that is not UTF-8 (found by the fuzzer): a SyntaxError, as CPython.
x = 1
’ = 2
