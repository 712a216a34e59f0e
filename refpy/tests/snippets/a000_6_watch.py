# Article 000, "They die at young age!": watch_collection_process (verbatim,
# with the import gc of the previous snippet).
import gc
class CircularRef:
    def __init__(self, name):
        self.name = name
        self.ref = None
    def __repr__(self):
        return f"CircularRef({self.name})"
def watch_collection_process():
    # Disable automatic collection to see the process clearly
    gc.disable()
    # Create some circular references
    objects = []
    for i in range(3):
        obj1 = CircularRef(f"obj{i}a")
        obj2 = CircularRef(f"obj{i}b")
        obj1.ref = obj2
        obj2.ref = obj1
        objects.append((obj1, obj2))
    print("Before collection:", gc.get_count())
    # Now remove our references
    for obj1, obj2 in objects:
        print(f"Breaking reference to {obj1} and {obj2}")
    objects.clear()
    # Run collection and see what happens
    collected = gc.collect()
    print(f"Collection found {collected} objects")
    gc.enable() # Re-enable automatic collection
watch_collection_process()
