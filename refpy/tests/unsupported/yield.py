# refpy-expect: NotImplementedError: refpy does not support generators ('yield') (line 3)
def gen():
    yield 1
