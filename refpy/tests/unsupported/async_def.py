# refpy-expect: NotImplementedError: refpy does not support async functions (line 2)
async def f():
    pass
