# refpy-expect: SyntaxError: f-string: invalid syntax
# Found by the fuzzer: a bad character in an f-string field leaked its tokens.
x = 1
y = f"{x $ 1}"
