# Scenario 12 — gc.freeze() before fork: the child's collections skip the frozen objects.
import gc
import os

gc.collect()
gc.disable()


class Obj:
    def __init__(self):
        self.ref = None


keep = [Obj() for _ in range(10000)]
gc.freeze()
count0 = gc.get_count()[0]  # read at once: printing allocates
print("= freeze_count_at_least_objs", int(gc.get_freeze_count() >= 10000))
print("= count0_after_freeze", count0)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    a, b = Obj(), Obj()
    a.ref, b.ref = b, a
    del a, b
    n = gc.collect()
    os.write(w, f"{n} {int(gc.get_freeze_count() >= 10000)}".encode())
    os._exit(0)
os.close(w)
msg = os.read(r, 100).decode().split()
os.waitpid(pid, 0)
print("= child_collected", msg[0])
print("= child_still_frozen", msg[1])
gc.unfreeze()
print("= freeze_count_after_unfreeze", gc.get_freeze_count())
gc.enable()
