# Article 000, "Phase 1: Collection": containers are tracked, an int is not.
# Made runnable: gc.is_tracked shows the article's point.
import gc


class Node:
    def __init__(self):
        self.next = None

# These objects are tracked by the collector
node1 = Node()
node2 = Node()
node1.next = node2
node2.next = node1
# This integer isn't tracked since it can't form cycles
x = 42
print(gc.is_tracked(node1), gc.is_tracked(node2), gc.is_tracked(x))
