# refpy-expect: NotImplementedError: refpy does not support multiple inheritance (line 10)
class A:
    pass


class B:
    pass


class C(A, B):
    pass
