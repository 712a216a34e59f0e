# Article 000, "Phase 2: Finding Root Objects". Made runnable: the function
# is called and a collection counts the orphaned cycle.
import gc


class Node:
    def __init__(self):
        self.next = None

def demonstrate_roots():
    # This node is a root object - we can reach it directly
    root_node = Node()
    # These nodes form a cycle but aren't connected to any root
    orphan1 = Node()
    orphan2 = Node()
    orphan1.next = orphan2
    orphan2.next = orphan1
    # Remove our reference to the orphan nodes
    íöìﬂêçèóan1
    del orphan2
    # Now these nodes form a cycle but can't be reached from any root
    print("collected while root_node is alive:", gc.collect())

gc.collect()
demonstrate_roots()
