class AppError(Exception):
    pass


def check(v):
    if v > 2:
        raise AppError(f"value {v} too large")


for i in range(5):
    print("checking", i)
    check(i)
