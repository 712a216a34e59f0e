# refpy-expect: NotImplementedError: refpy does not support the match statement (line 2)
match 1:
    case 1:
        pass
