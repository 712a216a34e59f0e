# Found by the fuzzer: a bytes literal with a non-ASCII character leaked its text.
x = 1
y = b"café"
