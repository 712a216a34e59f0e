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


def sessions():
    # what objgraph.growth counts: objects the collector tracks, by type
    return sum(1 for o in gc.get_objects() if type(o) is Session)


before = sessions()
for u in ("ann", "ben", "cy"):
    handle(u)
print("= growth_Session", sessions() - before)
leaked = _registry[1]
referrers = [r for r in gc.get_referrers(leaked) if r is not globals()]
print("= referrers_of_leaked", len(referrers))
print("= referrer_is_registry", int(referrers[0] is _registry))
print("= registry_len", len(_registry))
del leaked
_registry.clear()
print("= collected_after_fix", gc.collect())
