# Scenario 5 — generations (articles 000 and 001).
import gc

gc.collect()
gc.disable()


class Obj:
    pass


def generation_of(x):
    for g in range(3):
        if any(y is x for y in gc.get_objects(generation=g)):
            return g
    return -1


print("= thresholds", *gc.get_threshold())
o = Obj()
print("= gen_new", generation_of(o))
gc.collect(0)
c = gc.get_count()
print("= count_after_collect0", c[1], c[2])
print("= gen_after_collect0", generation_of(o))
gc.collect(1)
c = gc.get_count()
print("= count_after_collect1", c[1], c[2])
print("= gen_after_collect1", generation_of(o))
gc.collect(2)
c = gc.get_count()
print("= count_after_collect2", c[1], c[2])
print("= gen_after_collect2", generation_of(o))
gc.enable()
