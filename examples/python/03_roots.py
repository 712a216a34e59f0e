# Scenario 3 — roots: a reachable root beside an orphaned cycle (article 000).
import gc
import weakref

gc.collect()
gc.disable()


class Node:
    def __init__(self, name):
        self.name = name
        self.next = None


root = Node("root")  # reachable from a variable: a root
temp1 = Node("temp1")
temp2 = Node("temp2")
temp1.next = temp2
temp2.next = temp1
watch = {n.name: weakref.ref(n) for n in (root, temp1, temp2)}
del temp1
del temp2
collected = gc.collect()
print(f"Collected {collected} objects")
print("= collected", collected)
print("= root_alive", int(watch["root"]() is not None))
print("= orphans_alive", sum(1 for k in ("temp1", "temp2") if watch[k]() is not None))
gc.enable()
