# Scenario 2 — the circular-reference problem (article 000: Person objects that are friends).
import gc
import weakref

gc.collect()
gc.disable()


class Person:
    def __init__(self, name):
        self.name = name
        self.friend = None  # will store a reference to another Person


alice = Person("Alice")
bob = Person("Bob")
alice.friend = bob  # circular reference
bob.friend = alice
print(f"Alice's friend is: {alice.friend.name}")
print(f"Bob's friend is: {bob.friend.name}")
watch = [weakref.ref(alice), weakref.ref(bob)]
del alice
del bob
alive = sum(1 for w in watch if w() is not None)
print("after del alice, bob: objects still alive =", alive)
print("= alive_after_del", alive)
collected = gc.collect()
print("gc.collect() ->", collected)
print("= collected", collected)
alive = sum(1 for w in watch if w() is not None)
print("= alive_after_collect", alive)
gc.enable()
