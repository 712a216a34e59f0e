# Scenario 4 — watching a collection (article 000's watch_collection_process, run as written).
import gc


class CircularRef:
    def __init__(self, name):
        self.name = name
        self.ref = None

    def __repr__(self):
        return f"CircularRef({self.name})"


gc.collect()
gc.disable()  # disable automatic collection to see the process clearly
objects = []
for i in range(3):
    obj1 = CircularRef(f"obj{i}a")
    obj2 = CircularRef(f"obj{i}b")
    obj1.ref = obj2
    obj2.ref = obj1
    objects.append((obj1, obj2))
count = gc.get_count()
print("Before collection:", count)
print("= count_before", count[0])
for obj1, obj2 in objects:
    print(f"Breaking reference to {obj1} and {obj2}")
objects.clear()
collected = gc.collect()
print(f"Collection found {collected} objects")
print("= collected", collected)
# The loop variables obj1 and obj2 still hold the last pair: it survived.
del obj1, obj2
collected = gc.collect()
count = gc.get_count()  # read at once: printing allocates
print(f"After del obj1, obj2: collection found {collected} objects")
print("= collected_last_pair", collected)
print("= count_after", count[0])
gc.enable()
