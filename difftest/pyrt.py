"""pyrt — the Python side of refheap's differential tests, on CPython or on refpy.

A generated Python program (see gen.py) is a flat script of calls into this
module, one call per operation:

    from pyrt import *
    begin('s17', 12)        # program label, number of object ids
    new(0, 'plain')
    new(1, 'list')
    link(1, 0, 0)
    drop(0)
    collect(2)
    ...
    end()

Each call is one operation of the vocabulary described in README.md; it
prints the operation's canonical log lines (the C driver, driver.c, prints the
very same lines for the same program run on refheap).  Many programs can follow
each other in one script: end() tears the world down so that the next begin()
starts from a clean collector state.

Observation without interference
--------------------------------
Every numbered object (except weak references) holds a *witness*: a code
object (code objects are not GC containers, so they are never tracked, never
counted by gc.collect(), never make a dict or tuple tracked) stored in the
object's `_w` attribute or slot, as the first list item, under the dict key
'_w', or as the first tuple item.  The witness is referenced by nothing else,
so it dies exactly when its owner really dies (the owner's clear or
deallocation drops it) -- never when the owner is merely found unreachable and
then resurrected.  The harness keeps a callback weak reference to each witness
(reachable, never garbage, never freed before end()); its callback records the
event "free <id>".  The C driver gives its objects a non-container witness
object whose destroy hook records the same event.

The program's variables (V) and the resurrection list hold their objects
through Py_INCREF'd addresses, not through a Python list: to the collector
they are references from outside, exactly like the C driver's C arrays (see
_V).  The interpreter's own objects are frozen at each begin(), and the
instance classes' attribute layout is fixed at import (see _fix_layout), so a
program's log does not depend on what ran before it in the same process.

Which generation a live object is in is read from gc.get_objects(g); objects
absent from every generation are untracked or frozen -- see check().

Nothing the harness does inside a collection (callbacks, finalizers, witness
deaths) allocates a tracked object, so get_count() right after a collection
is comparable.

Two back ends
-------------
The same module runs on CPython 3.11 (run.py: the reference the C driver is
compared with) and on refpy, the Python interpreter built on refheap
(refpy/tests/run_compare.py --difftest prepends this file to the programs:
refpy imports built-in modules only).  The back end is chosen at import by
whether the `_refpy` module exists (`_refpy` is None on CPython); what
differs is selected in three places, the section "the back ends" below, the
call of _fix_layout() and the choice of _prime:

  * the outside references (V) and the resurrection list: on CPython,
    addresses owning a reference taken with ctypes' Py_INCREF; on refpy, C
    arrays of refpy's `_refpy` module (hold/get/held/drop, res_push/res_take);
  * witnesses: code objects on CPython, `_refpy.witness()` objects on refpy
    (weakrefable, not containers);
  * the attribute layout fixing and the tuple free-list priming are CPython's
    only (refheap keeps attributes per instance and has no free lists);
  * the WeakValueDictionary is read through its `data` on CPython (no
    iteration guard, no generator), through items() on refpy.
"""
import gc
import sys
import weakref

try:
    import _refpy   # running on refpy: its built-in harness module
except ImportError:
    _refpy = None
if _refpy is None:
    from _ctypes import Py_DECREF, Py_INCREF, PyObj_FromPtr

try:
    import _testcapi
    _with_tp_del = _testcapi.with_tp_del
except (ImportError, AttributeError):  # pragma: no cover - checked by run.py
    _with_tp_del = None

INSTANCE_KINDS = ('plain', 'slots', 'fin', 'res', 'legacy')

# ---- per-program state (reset by begin) ----
NIDS = 0          # number of object ids of the current program
VA = []           # outside references (CPython): VA[id] is the address of the
                  # object the program's own variable holds, or 0 (see _V, _Vset)
KIND = {}         # id -> kind
ADDR = {}         # id(obj) -> id of the newest numbered object at that address
FREED = set()     # ids whose witness died
WKEEP = {}        # id -> weakref to its witness (callback _witness_died)
WREV = {}         # id(weakref to witness) -> object id
WRID = {}         # id(program weakref with callback) -> weakref id
WACT = {}         # weakref id -> callback action tuple
WTARGET = {}      # weakref id -> referent id
FACT = {}         # id of a 'fin' object -> its finalizer's action tuple
RESA = []         # addresses of resurrected objects ('res' finalizers), each owning
                  # one reference taken with Py_INCREF (CPython)
WVD = None        # the program's shared weakref.WeakValueDictionary
EV = []           # events of the current operation
CBSEQ = []        # target, wid, target, wid... of callbacks in call order (current op)
OPI = -1          # index of the current operation
LOGGING = False
FROZEN_ACTIVE = False
FREEZE_USED = False   # did the program freeze or unfreeze? (end() must unfreeze)
BASE_STATS = None
SERIAL = 0
_out = []


# ---- the back ends ----
# The program's own references (V) and the resurrection list are held the way
# the C driver holds them: as references counted in the objects' refcounts
# but owned by no container the collector can see (a Python list would be a
# container; while the program has unfrozen the interpreter, it would take
# part in collections, and move_unreachable's reordering -- which decides
# tuple untracking -- would differ from the C side, whose roots are a C array).
#   _V(i)            the object V[i] holds, or None
#   _Vset(i, obj)    V[i] = obj;  _drop(i): V[i] = nothing;  _held(i): is V[i] set?
#   _res_push(obj)   one more reference to obj in the resurrection list
#   _res_len()       its length;  _clear_res(): drops it (see below)
#   _witness_object(name)   a new witness (see _witness)
#   _wvd_entries(), _wvd_value(e)   the WeakValueDictionary's entries (key, e)
#                    and the live value of e, or None
#   _prime()         before each operation (see below)
if _refpy is None:
    # CPython: addresses owning a reference taken with Py_INCREF.
    _TEMPLATE = compile('0', 'witness', 'eval')

    def _V(i):
        a = VA[i]
        return PyObj_FromPtr(a) if a else None

    def _Vset(i, obj):
        Py_INCREF(obj)
        old = VA[i]
        VA[i] = id(obj)
        if old:
            Py_DECREF(PyObj_FromPtr(old))

    def _drop(i):
        a = VA[i]
        if a:
            VA[i] = 0
            Py_DECREF(PyObj_FromPtr(a))

    def _held(i):
        return VA[i]

    def _res_push(obj):
        Py_INCREF(obj)
        RESA.append(id(obj))

    def _res_len():
        return len(RESA)

    def _clear_res():
        """Drops the resurrection list's references one at a time, first to
        last (driver.c's clear_res does the same): each object dies, or not,
        before the next reference is dropped, so a callback that collects
        sees the same world on both sides."""
        addrs = RESA[:]
        del RESA[:]
        for a in addrs:
            _release(a)

    def _release(a):
        Py_DECREF(PyObj_FromPtr(a))   # the temporary reference goes at return

    def _witness_object(name):
        return _TEMPLATE.replace(co_name=name)

    def _wvd_entries():
        return list(WVD.data.items())

    def _wvd_value(r):
        return r()
else:
    # refpy: C arrays of the _refpy module, which the collector does not see.
    _V = _refpy.get
    _Vset = _refpy.hold
    _drop = _refpy.drop
    _held = _refpy.held
    _res_push = _refpy.res_push
    _res_len = _refpy.res_len
    _witness_object = _refpy.witness

    def _clear_res():
        """As on CPython: one reference at a time, first to last."""
        objs = _refpy.res_take()
        while objs:
            objs.pop(0)   # the reference goes with the popped value

    def _wvd_entries():
        return WVD.items()

    def _wvd_value(o):
        return o


def _emit(line):
    _out.append('%d %s' % (OPI, line))


def _ev(text):
    if LOGGING:
        EV.append(text)


def _num(obj):
    """Id of a live numbered object, or None."""
    n = ADDR.get(id(obj))
    if n is None:
        return None
    if KIND.get(n) != 'wref' and n in FREED:
        return None
    return n


def _witness_died(wr):
    n = WREV.get(id(wr))
    if n is not None and LOGGING:
        FREED.add(n)
        EV.append('free %d' % n)


def _witness(n):
    c = _witness_object('w%d_%d' % (SERIAL, n))
    r = weakref.ref(c, _witness_died)
    WREV[id(r)] = n
    WKEEP[n] = r
    return c


# ---- the instance classes ----
class Plain:
    pass


class Slotted:
    __slots__ = ('_w', 's0', 's1', 's2', 's3', '__weakref__')


class Fin:
    def __del__(self):
        n = _num(self)
        if n is not None and LOGGING:
            EV.append('del %d' % n)
            act = FACT.get(n)
            if act is not None:
                if act[0] == 'drop':
                    _drop(act[1])
                elif act[0] == 'keep' and _held(act[1]):
                    # resurrection through a reachable object: V[a] -> self
                    _set_ref(_V(act[1]), KIND[act[1]], act[2], self)


class Res:
    def __del__(self):
        n = _num(self)
        if n is not None:
            _ev('del %d' % n)
        _res_push(self)


if _with_tp_del is not None:
    @_with_tp_del
    class Leg:
        def __tp_del__(self):
            n = _num(self)
            if n is not None:
                _ev('tpdel %d' % n)
else:  # pragma: no cover
    Leg = None

_CLASSES = {'plain': Plain, 'slots': Slotted, 'fin': Fin, 'res': Res, 'legacy': Leg}


def _fix_layout():
    """CPython 3.11 keeps instance attributes in the class's shared keys, in
    the order the names were first added to any instance, and releases them in
    that order when an instance dies. Fix that order once, at import, so that
    a program's outcome never depends on the programs run before it in the
    same process. PYRT_LAYOUT=reverse picks the reverse order: run.py
    --selfcheck runs CPython both ways to prove the generated programs do not
    depend on it (REFERENCE.md section 7: release order is layout-dependent)."""
    import os
    names = ['_w', 'a0', 'a1', 'a2', 'a3']
    if os.environ.get('PYRT_LAYOUT') == 'reverse':
        names.reverse()
    for cls in (Plain, Fin, Res, Leg):
        if cls is None:
            continue
        o = cls.__new__(cls)
        for n in names:
            setattr(o, n, None)
        if cls in (Plain, Leg):
            del o
        else:
            # Keep the dummy from running __del__ into a program's log.
            _LAYOUT_KEEP.append(o)


_LAYOUT_KEEP = []
if _refpy is None:
    _fix_layout()


def _attr(kind, slot):
    return ('s%d' if kind == 'slots' else 'a%d') % slot


# ---- operation framing ----
def _flush():
    global EV, CBSEQ
    if EV:
        _emit('ev ' + ', '.join(sorted(EV)))
        # Finalizer before or after the first callback of the same object:
        # CPython fixes it (refcount death: finalizer first; a collection:
        # every callback before any finalizer).
        first_cb, fin_pos = {}, {}
        for pos, e in enumerate(EV):
            kind, n = e.split()[:2]
            n = int(n)
            if kind == 'cb':
                first_cb.setdefault(WTARGET[n], pos)
            elif kind in ('del', 'tpdel'):
                fin_pos.setdefault(n, pos)
        for t in sorted(set(first_cb) & set(fin_pos)):
            _emit('order %d: %s' % (t, 'fin-first' if fin_pos[t] < first_cb[t] else 'cb-first'))
    if CBSEQ:
        per = {}
        for k in range(0, len(CBSEQ), 2):
            per.setdefault(CBSEQ[k], []).append(str(CBSEQ[k + 1]))
        for t in sorted(per):
            if len(per[t]) > 1:
                _emit('cborder %d: %s' % (t, ' '.join(per[t])))
    EV = []
    CBSEQ = []


_PRIME = [None] * 8


def _prime_tuples():
    """Leaves a few 1-tuples on CPython's tuple free list. _ctypes's
    PyObj_FromPtr (METH_VARARGS) builds a 1-tuple for its argument on every
    call, callbacks and finalizers call it during collections, and a tuple
    taken from an empty free list counts as an allocation for get_count()
    while one taken from the list does not. With the list never empty, nothing
    the harness does inside a collection moves the count."""
    for k in range(len(_PRIME)):
        _PRIME[k] = (k,)
    for k in range(len(_PRIME)):
        _PRIME[k] = None


def _prime_nothing():
    pass


_prime = _prime_tuples if _refpy is None else _prime_nothing


def _op():
    global OPI
    _flush()
    _prime()
    OPI += 1


# ---- operations ----
def begin(label, nids):
    global NIDS, VA, KIND, ADDR, FREED, WKEEP, WREV, WRID, WACT, WTARGET, FACT, RESA, WVD
    global EV, CBSEQ, OPI, LOGGING, FROZEN_ACTIVE, FREEZE_USED, BASE_STATS, SERIAL
    SERIAL += 1
    gc.disable()
    NIDS = nids
    VA = [0] * nids
    KIND, ADDR, FREED, WKEEP, WREV = {}, {}, set(), {}, {}
    WRID, WACT, WTARGET, FACT = {}, {}, {}, {}
    RESA = []
    WVD = weakref.WeakValueDictionary()
    EV, CBSEQ = [], []
    OPI = -1
    FROZEN_ACTIVE = False
    FREEZE_USED = False
    # Collect, then move the interpreter's and the harness's objects to the
    # permanent generation: the program's collections and get_objects()
    # scans then see the program's objects only (until it unfreezes).
    gc.collect()
    gc.freeze()
    BASE_STATS = [dict(s) for s in gc.get_stats()]
    LOGGING = True
    _out.append('=== %s' % label)


def new(i, kind, *items):
    """items: the tuple's items; for 'fin', an optional finalizer action:
    'drop', k (drop V[k]) or 'keep', a, s (store self into V[a]: resurrect)."""
    _op()
    if kind == 'fin' and items:
        FACT[i] = items
    if kind in INSTANCE_KINDS:
        o = _CLASSES[kind]()
        o._w = _witness(i)
    elif kind == 'list':
        o = [_witness(i)]
    elif kind == 'dict':
        o = {'_w': _witness(i)}
    elif kind == 'tuple':
        o = tuple([_witness(i)] + [_V(x) for x in items])
    else:
        raise ValueError(kind)
    KIND[i] = kind
    ADDR[id(o)] = i
    _Vset(i, o)


def _link(a, slot, b):
    A = _V(a)
    B = _V(b)
    if A is None or B is None:
        return
    _set_ref(A, KIND[a], slot, B)


def _set_ref(A, k, slot, B):
    if k in INSTANCE_KINDS:
        setattr(A, _attr(k, slot), B)
    elif k == 'list':
        A.append(B)
    elif k == 'dict':
        A['k%d' % slot] = B


def link(a, slot, b):
    _op()
    _link(a, slot, b)


def unlink(a, slot):
    _op()
    A = _V(a)
    if A is None:
        return
    k = KIND[a]
    if k in INSTANCE_KINDS:
        name = _attr(k, slot)
        if getattr(A, name, None) is not None:
            delattr(A, name)
    elif k == 'list':
        if len(A) > 1:
            del A[1 + slot % (len(A) - 1)]
    elif k == 'dict':
        key = 'k%d' % slot
        if key in A:
            del A[key]


def drop(a):
    _op()
    _drop(a)


def _wrcb(wr):
    w = WRID.get(id(wr))
    if w is None or not LOGGING:
        return
    EV.append('cb %d' % w)
    # Two appends, no tuple: a tuple built here would come from CPython's
    # tuple free list or not, moving get_count() by chance.
    CBSEQ.append(WTARGET[w])
    CBSEQ.append(w)
    act = WACT[w]
    if act[0] == 'drop':
        _drop(act[1])
    elif act[0] == 'link':
        _link(act[1], act[2], act[3])
    elif act[0] == 'collect':
        r = gc.collect(act[1])
        EV.append('gc %d' % w + ' = %d' % r)   # no tuple: see above


def wref(i, t, mode, *args):
    """mode 'nocb': weakref.ref(V[t]); 'none': a callback that only records;
    'drop k': the callback drops V[k]; 'link a s b': the callback links;
    'collect g': the callback calls gc.collect(g) and records 'gc <w> = <r>'."""
    _op()
    T = _V(t)
    if T is None or KIND[t] not in INSTANCE_KINDS:
        return
    if mode == 'nocb':
        r = weakref.ref(T)
    else:
        r = weakref.ref(T, _wrcb)
        WRID[id(r)] = i
        WACT[i] = (mode,) + args
    WTARGET[i] = t
    KIND[i] = 'wref'
    ADDR[id(r)] = i
    _Vset(i, r)


def wvd(key, a):
    _op()
    A = _V(a)
    if A is None or KIND[a] not in INSTANCE_KINDS:
        return
    WVD['w%d' % key] = A


def wvdcheck():
    _op()
    ents = []
    for k, r in _wvd_entries():
        o = _wvd_value(r)
        if o is not None:
            n = _num(o)
            ents.append('%s=%s' % (k, '?' if n is None else n))
    _emit('wvd ' + ' '.join(sorted(ents)))


def collect(g):
    _op()
    r = gc.collect(g)
    c = gc.get_count()
    _emit('collect %d = %d count %d %d %d' % (g, r, c[0], c[1], c[2]))


def freeze():
    global FROZEN_ACTIVE, FREEZE_USED
    _op()
    FREEZE_USED = True
    gc.freeze()
    c = gc.get_count()
    FROZEN_ACTIVE = True
    _emit('freeze count %d %d %d' % (c[0], c[1], c[2]))


def unfreeze():
    global FROZEN_ACTIVE, FREEZE_USED
    _op()
    FREEZE_USED = True
    gc.unfreeze()
    FROZEN_ACTIVE = False


def stats():
    _op()
    s = gc.get_stats()
    parts = []
    for g in range(3):
        b = BASE_STATS[g]
        parts.append('%d/%d/%d' % (s[g]['collections'] - b['collections'],
                                   s[g]['collected'] - b['collected'],
                                   s[g]['uncollectable'] - b['uncollectable']))
    _emit('stats ' + ' '.join(parts))


def garbage():
    _op()
    ids = []
    for o in gc.garbage:
        n = _num(o)
        ids.append('?' if n is None else str(n))
    _emit('garbage [%s]' % ' '.join(sorted(ids)))


def cleargarbage():
    _op()
    del gc.garbage[:]


def debug(flag):
    _op()
    gc.set_debug(gc.DEBUG_SAVEALL if flag == 'saveall' else 0)


def clearres():
    _op()
    _clear_res()


def check():
    """Logs every live numbered object: g0/g1/g2 (its generation), p (frozen),
    u (untracked), pu (not in any generation, not held, while a freeze is in
    force: frozen or untracked); F when gc.is_finalized (objects found in a
    generation or held).  Then every
    held weak reference: w<id>-><referent id> or w<id>->x when dead."""
    _op()
    addr_of = {}
    for a, n in ADDR.items():
        if KIND[n] != 'wref' and n not in FREED:
            addr_of[n] = a
    want = set(addr_of.values())
    where = {}   # address -> (generation, finalized)
    for g in range(3):
        for o in gc.get_objects(g):
            a = id(o)
            if a in want and a not in where:
                where[a] = (g, gc.is_finalized(o))
        o = None
    parts = []
    for n in sorted(addr_of):
        a = addr_of[n]
        held = _V(n)
        if a in where:
            g, fin = where[a]
            st = 'g%d' % g
        else:
            fin = held is not None and gc.is_finalized(held)
            if held is not None:
                st = 'p' if gc.is_tracked(held) else 'u'
            else:
                st = 'pu' if FROZEN_ACTIVE else 'u'
        if fin:
            st += 'F'
        parts.append('%d:%s' % (n, st))
    for n in sorted(KIND):
        if KIND[n] == 'wref' and _held(n):
            o = _V(n)()
            if o is None:
                parts.append('w%d->x' % n)
            else:
                m = _num(o)
                parts.append('w%d->%s' % (n, '?' if m is None else m))
            o = None
    _emit('check' + ''.join(' ' + p for p in parts))


def _break(o):
    if isinstance(o, list):
        del o[:]
    elif isinstance(o, dict):
        o.clear()
    elif isinstance(o, Slotted):
        for s in ('s0', 's1', 's2', 's3'):
            if getattr(o, s, None) is not None:
                delattr(o, s)
    elif hasattr(o, '__dict__'):
        for name in [k for k in vars(o) if k != '_w']:
            delattr(o, name)


def end():
    """Tears the program's world down (not logged: CPython's interpreter
    shutdown is not a reference) and prints the program's log."""
    global LOGGING, WVD
    _op()
    LOGGING = False
    gc.set_debug(0)
    if FREEZE_USED:
        gc.unfreeze()  # the program's frozen objects must die too
    for i in range(NIDS):
        _drop(i)
    WVD = None
    for _ in range(50):
        _clear_res()
        found = gc.collect()
        if not found and not gc.garbage and not _res_len():
            break
        for o in gc.garbage:
            _break(o)
        o = None
        del gc.garbage[:]
    gc.collect()
    leaked = [n for n in KIND if KIND[n] != 'wref' and WKEEP[n]() is not None]
    _out.append('=== end' + (' (harness: leaked %s)' % leaked if leaked else ''))
    sys.stdout.write('\n'.join(_out) + '\n')
    sys.stdout.flush()
    del _out[:]
