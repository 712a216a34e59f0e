# Scenario 10 — leaks in a garbage-collected world: who keeps this object alive? (articles 001, 002)
import gc

gc.collect()


class Session:
    def __init__(self, user):
        self.user = user


_registry = []  # a global list that is never cleaned: the leak


def handle(user):
    s = Session(user)
    _registry.append(s)  # forgotten here
    return s.user


for u in ("ann", "ben", "cy"):
    handle(u)
leaked = _registry[1]
referrers = [r for r in gc.get_referrers(leaked) if r is not globals()]
print("= referrers_of_leaked", len(referrers))
print("= referrer_is_registry", int(referrers[0] is _registry))
print("= registry_len", len(_registry))
del leaked
_registry.clear()
print("= collected_after_fix", gc.collect())
