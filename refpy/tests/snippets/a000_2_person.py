# Article 000, "Things ain't that simple": the Person circular reference.
# Made runnable: the function is called, and a collection shows the cycle.
import gc


class Person:
    def __init__(self, name):
        self.name = name
        self.friend = None # Will store reference to another Person

def show_circular_reference():
    # Create two people who are friends with each other
    alice = Person("Alice")
    bob = Person("Bob")
    # Create circular reference
    alice.friend = bob
    bob.friend = alice
    print(f"Alice's friend is: {alice.friend.name}")
    print(f"Bob's friend is: {bob.friend.name}")
    # Remove our references to the objects
    del alice
    del bob
    # These objects still exist in memory due to circular reference

gc.collect()
gc.disable()
show_circular_reference()
print("collected:", gc.collect())
gc.enable()
