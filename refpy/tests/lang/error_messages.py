# Error messages of common mistakes, each caught and printed.
try:
    None.foo()
    print("no error: 0")
except BaseException as e:
    print(0, type(e).__name__ + ":", e)

try:
    [].bar
    print("no error: 1")
except BaseException as e:
    print(1, type(e).__name__ + ":", e)

try:
    (1).x = 2
    print("no error: 2")
except BaseException as e:
    print(2, type(e).__name__ + ":", e)

try:
    'a' + 1
    print("no error: 3")
except BaseException as e:
    print(3, type(e).__name__ + ":", e)

try:
    1 + 'a'
    print("no error: 4")
except BaseException as e:
    print(4, type(e).__name__ + ":", e)

try:
    [1] + (2,)
    print("no error: 5")
except BaseException as e:
    print(5, type(e).__name__ + ":", e)

try:
    {}['k']
    print("no error: 6")
except BaseException as e:
    print(6, type(e).__name__ + ":", e)

try:
    [][0]
    print("no error: 7")
except BaseException as e:
    print(7, type(e).__name__ + ":", e)

try:
    'abc'[10]
    print("no error: 8")
except BaseException as e:
    print(8, type(e).__name__ + ":", e)

try:
    int('z')
    print("no error: 9")
except BaseException as e:
    print(9, type(e).__name__ + ":", e)

try:
    float('q')
    print("no error: 10")
except BaseException as e:
    print(10, type(e).__name__ + ":", e)

try:
    len(1)
    print("no error: 11")
except BaseException as e:
    print(11, type(e).__name__ + ":", e)

try:
    abs('a')
    print("no error: 12")
except BaseException as e:
    print(12, type(e).__name__ + ":", e)

try:
    min([])
    print("no error: 13")
except BaseException as e:
    print(13, type(e).__name__ + ":", e)

try:
    max()
    print("no error: 14")
except BaseException as e:
    print(14, type(e).__name__ + ":", e)

try:
    sorted([1, 'a'])
    print("no error: 15")
except BaseException as e:
    print(15, type(e).__name__ + ":", e)

try:
    1 < 'a'
    print("no error: 16")
except BaseException as e:
    print(16, type(e).__name__ + ":", e)

try:
    [].pop()
    print("no error: 17")
except BaseException as e:
    print(17, type(e).__name__ + ":", e)

try:
    {}.pop('x')
    print("no error: 18")
except BaseException as e:
    print(18, type(e).__name__ + ":", e)

try:
    set().remove(1)
    print("no error: 19")
except BaseException as e:
    print(19, type(e).__name__ + ":", e)

try:
    (1, 2).index(3)
    print("no error: 20")
except BaseException as e:
    print(20, type(e).__name__ + ":", e)

try:
    [1].index(2)
    print("no error: 21")
except BaseException as e:
    print(21, type(e).__name__ + ":", e)

try:
    'a'.index('b')
    print("no error: 22")
except BaseException as e:
    print(22, type(e).__name__ + ":", e)

try:
    hash([])
    print("no error: 23")
except BaseException as e:
    print(23, type(e).__name__ + ":", e)

try:
    {[]: 1}
    print("no error: 24")
except BaseException as e:
    print(24, type(e).__name__ + ":", e)

try:
    {[1]}
    print("no error: 25")
except BaseException as e:
    print(25, type(e).__name__ + ":", e)

try:
    1 / 0
    print("no error: 26")
except BaseException as e:
    print(26, type(e).__name__ + ":", e)

try:
    1 % 0
    print("no error: 27")
except BaseException as e:
    print(27, type(e).__name__ + ":", e)

try:
    1.0 / 0
    print("no error: 28")
except BaseException as e:
    print(28, type(e).__name__ + ":", e)

try:
    2 ** -1
    print("no error: 29")
except BaseException as e:
    print(29, type(e).__name__ + ":", e)

try:
    divmod(1, 0)
    print("no error: 30")
except BaseException as e:
    print(30, type(e).__name__ + ":", e)

try:
    x = undefined_thing
    print("no error: 31")
except BaseException as e:
    print(31, type(e).__name__ + ":", e)

try:
    del undefined_thing
    print("no error: 32")
except BaseException as e:
    print(32, type(e).__name__ + ":", e)

try:
    f = lambda: 1
    f(2)
    print("no error: 33")
except BaseException as e:
    print(33, type(e).__name__ + ":", e)

try:
    def g(a): pass
    g()
    print("no error: 34")
except BaseException as e:
    print(34, type(e).__name__ + ":", e)

try:
    def g(a): pass
    g(1, 2, 3)
    print("no error: 35")
except BaseException as e:
    print(35, type(e).__name__ + ":", e)

try:
    def g(a): pass
    g(b=1)
    print("no error: 36")
except BaseException as e:
    print(36, type(e).__name__ + ":", e)

try:
    def g(*, k): pass
    g()
    print("no error: 37")
except BaseException as e:
    print(37, type(e).__name__ + ":", e)

try:
    class C: pass
    C(1)
    print("no error: 38")
except BaseException as e:
    print(38, type(e).__name__ + ":", e)

try:
    class C:
        __slots__ = ('a',)
    C().b = 1
    print("no error: 39")
except BaseException as e:
    print(39, type(e).__name__ + ":", e)

try:
    class C:
        __slots__ = ('a',)
    C().a
    print("no error: 40")
except BaseException as e:
    print(40, type(e).__name__ + ":", e)

try:
    a, b = 1
    print("no error: 41")
except BaseException as e:
    print(41, type(e).__name__ + ":", e)

try:
    a, b = [1, 2, 3]
    print("no error: 42")
except BaseException as e:
    print(42, type(e).__name__ + ":", e)

try:
    a, *b, c = [1]
    print("no error: 43")
except BaseException as e:
    print(43, type(e).__name__ + ":", e)

try:
    iter(5)
    print("no error: 44")
except BaseException as e:
    print(44, type(e).__name__ + ":", e)

try:
    next(iter([]))
    print("no error: 45")
except BaseException as e:
    print(45, type(e).__name__ + ":", e)

try:
    raise ValueError
    print("no error: 46")
except BaseException as e:
    print(46, type(e).__name__ + ":", e)

try:
    raise ValueError('x', 2)
    print("no error: 47")
except BaseException as e:
    print(47, type(e).__name__ + ":", e)

try:
    raise 5
    print("no error: 48")
except BaseException as e:
    print(48, type(e).__name__ + ":", e)

try:
    assert False
    print("no error: 49")
except BaseException as e:
    print(49, type(e).__name__ + ":", e)

try:
    assert 1 == 2, 'msg'
    print("no error: 50")
except BaseException as e:
    print(50, type(e).__name__ + ":", e)

try:
    import nosuchmodule
    print("no error: 51")
except BaseException as e:
    print(51, type(e).__name__ + ":", e)

try:
    from gc import nosuch
    print("no error: 52")
except BaseException as e:
    print(52, type(e).__name__ + ":", e)

try:
    '%d' % 'x'
    print("no error: 53")
except BaseException as e:
    print(53, type(e).__name__ + ":", e)

try:
    '%s %s' % (1,)
    print("no error: 54")
except BaseException as e:
    print(54, type(e).__name__ + ":", e)

try:
    '%s' % (1, 2)
    print("no error: 55")
except BaseException as e:
    print(55, type(e).__name__ + ":", e)

try:
    '{}'.format()
    print("no error: 56")
except BaseException as e:
    print(56, type(e).__name__ + ":", e)

try:
    bytes([300])
    print("no error: 57")
except BaseException as e:
    print(57, type(e).__name__ + ":", e)

try:
    bytearray(-1)
    print("no error: 58")
except BaseException as e:
    print(58, type(e).__name__ + ":", e)

try:
    memoryview(1)
    print("no error: 59")
except BaseException as e:
    print(59, type(e).__name__ + ":", e)

try:
    [1, 2, 3][1:2] = 5
    print("no error: 60")
except BaseException as e:
    print(60, type(e).__name__ + ":", e)

try:
    getattr(1, 'x')
    print("no error: 61")
except BaseException as e:
    print(61, type(e).__name__ + ":", e)

try:
    int(None)
    print("no error: 62")
except BaseException as e:
    print(62, type(e).__name__ + ":", e)

try:
    list(1)
    print("no error: 63")
except BaseException as e:
    print(63, type(e).__name__ + ":", e)

try:
    dict(1)
    print("no error: 64")
except BaseException as e:
    print(64, type(e).__name__ + ":", e)

try:
    {}.get()
    print("no error: 65")
except BaseException as e:
    print(65, type(e).__name__ + ":", e)

try:
    (1, 2)[5]
    print("no error: 66")
except BaseException as e:
    print(66, type(e).__name__ + ":", e)

try:
    range(0, 10, 0)
    print("no error: 67")
except BaseException as e:
    print(67, type(e).__name__ + ":", e)

try:
    chr(-1)
    print("no error: 68")
except BaseException as e:
    print(68, type(e).__name__ + ":", e)

try:
    ord('ab')
    print("no error: 69")
except BaseException as e:
    print(69, type(e).__name__ + ":", e)

try:
    'x' * 'y'
    print("no error: 70")
except BaseException as e:
    print(70, type(e).__name__ + ":", e)

try:
    [] * []
    print("no error: 71")
except BaseException as e:
    print(71, type(e).__name__ + ":", e)

try:
    -'a'
    print("no error: 72")
except BaseException as e:
    print(72, type(e).__name__ + ":", e)

try:
    ~1.5
    print("no error: 73")
except BaseException as e:
    print(73, type(e).__name__ + ":", e)

try:
    not_defined()
    print("no error: 74")
except BaseException as e:
    print(74, type(e).__name__ + ":", e)

try:
    type(1)(2, 3, 4)
    print("no error: 75")
except BaseException as e:
    print(75, type(e).__name__ + ":", e)
