# Article 000, "Phase 3: Mark and Sweep" (verbatim).
import gc
class Node:
    def __init__(self, name):
        self.name = name
        self.next = None
def show_collection_process():
    # Create a root node we can reach
    root = Node("root")
    # Create a cycle that will become garbage
    temp1 = Node("temp1")
    temp2 = Node("temp2")
    temp1.next = temp2
    temp2.next = temp1
    # Remove our references to the cycle
    del temp1
    del temp2
    # At this point:
    # - root is marked alive (reachable)
    # - temp1 and temp2 form a cycle but aren't marked alive
    collected = gc.collect()
    print(f"Collected {collected} objects")
show_collection_process()
