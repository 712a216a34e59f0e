# refpy-expect: OverflowError: integer overflow: refpy's int is 64-bit
x = 2 ** 62
print(x)
print(x * 4)
