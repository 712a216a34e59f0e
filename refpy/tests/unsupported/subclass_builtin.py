# refpy-expect: NotImplementedError: refpy does not support subclassing the built-in type 'list'
class MyList(list):
    pass
