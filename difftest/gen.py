#!/usr/bin/env python3
"""gen.py — random programs in the differential-testing vocabulary.

A program is a label, a number of object ids, and a list of operations; each
operation is a list of tokens (see README.md for the vocabulary).  The same
program is written in two forms:

  * the text form, read by the C driver (driver.c): one operation per line,
        program <label> <nids>
        new 0 plain
        link 0 1 0
        ...
        end
  * the Python form, a script of calls into pyrt.py:
        begin('<label>', <nids>)
        new(0, 'plain')
        link(0, 1, 0)
        ...
        end()

Every operation is guarded at run time (an operation on an object the program
no longer holds does nothing), so any sub-list of a program's operations is
again a valid program: run.py's minimiser relies on that.

Usage: gen.py SEED [COUNT] [--python | --text]  prints COUNT programs starting
at seed SEED.
"""
import random
import sys

INSTANCE_KINDS = ('plain', 'slots', 'fin', 'res', 'legacy')
CONTAINER_KINDS = INSTANCE_KINDS + ('list', 'dict')
KIND_WEIGHTS = [('plain', 30), ('slots', 15), ('fin', 15), ('res', 10), ('legacy', 7),
                ('list', 20), ('dict', 20), ('tuple', 15)]
SIZES = [(8, 25, 40), (25, 70, 40), (70, 180, 20)]  # (min ops, max ops, weight)
TAIL = [['collect', '2'], ['check'], ['garbage'], ['stats'], ['wvdcheck']]


def _pick(rng, weighted):
    total = sum(w for _, w in weighted)
    x = rng.uniform(0, total)
    for item, w in weighted:
        x -= w
        if x <= 0:
            return item
    return weighted[-1][0]


class _Builder:
    def __init__(self, rng):
        self.rng = rng
        self.ops = []
        self.kind = {}       # id -> kind ('wref' for weak references)
        self.next_id = 0
        self.held = []       # ids the generator believes are still held
        self.cbw = {}        # weakref with a callback -> its referent
        self.action_slots = set()  # (container, slot) written by some action

    def fresh(self, kind):
        i = self.next_id
        self.next_id += 1
        self.kind[i] = kind
        self.held.append(i)
        return i

    def some(self, pred=lambda k: True, recent=True, exclude=()):
        ids = [i for i in self.held if pred(self.kind[i]) and i not in exclude]
        if not ids:
            ids = [i for i in self.kind if pred(self.kind[i]) and i not in exclude]
        if not ids:
            return None
        if recent and self.rng.random() < 0.6:
            ids = ids[-6:]
        return self.rng.choice(ids)

    def any_id(self, pred=lambda k: True, exclude=()):
        ids = [i for i in self.kind if pred(self.kind[i]) and i not in exclude]
        return self.rng.choice(ids) if ids else None

    def action_target(self):
        """(container, slot) for a callback's or finalizer's link: never a
        list (append order would follow the implementation's call order) and
        never a pair another action writes (the last writer would win)."""
        for _ in range(8):
            a = self.any_id(lambda k: k in INSTANCE_KINDS + ('dict',))
            if a is None:
                return None
            s = self.rng.randint(0, 3)
            if (a, s) not in self.action_slots:
                self.action_slots.add((a, s))
                return a, s
        return None

    # ---- single operations ----
    def op_new(self, kind=None):
        rng = self.rng
        kind = kind or _pick(rng, KIND_WEIGHTS)
        if kind == 'tuple':
            items = [self.some(lambda k: True, exclude=self.cbw) for _ in range(rng.randint(0, 3))]
            items = [str(x) for x in items if x is not None]
            i = self.fresh(kind)
            self.ops.append(['new', str(i), kind] + items)
        elif kind == 'fin' and rng.random() < 0.35:
            i = self.fresh(kind)
            if rng.random() < 0.5:
                k = self.any_id()
                act = ['drop', str(k if k is not None else i)]
            else:
                t = self.action_target()
                act = ['keep', str(t[0]), str(t[1])] if t is not None else []
            self.ops.append(['new', str(i), kind] + act)
        else:
            i = self.fresh(kind)
            self.ops.append(['new', str(i), kind])
        return i

    def op_link(self, a=None, b=None):
        """A weakref with a callback is only ever stored in its own referent:
        stored elsewhere, it could die in the same cascade of deallocations as
        its referent, and whether its callback runs would follow the order in
        which a dying object releases its children -- layout-dependent in
        CPython (REFERENCE.md section 7), so not part of the contract."""
        a = self.some(lambda k: k in CONTAINER_KINDS) if a is None else a
        b = self.some(exclude=self.cbw) if b is None else b
        if a is None or b is None:
            return
        if b in self.cbw and self.cbw[b] != a:
            return
        self.ops.append(['link', str(a), str(self.rng.randint(0, 3)), str(b)])

    def op_unlink(self):
        a = self.some(lambda k: k in CONTAINER_KINDS)
        if a is not None:
            self.ops.append(['unlink', str(a), str(self.rng.randint(0, 3))])

    def op_drop(self, a=None):
        if a is None:
            if not self.held:
                return
            a = self.rng.choice(self.held)
        if a in self.held:
            self.held.remove(a)
        self.ops.append(['drop', str(a)])

    def callback_action(self, wid):
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return ['none']
        if r < 0.55:
            return ['drop', str(wid)]
        if r < 0.8:
            k = self.any_id()
            return ['drop', str(k if k is not None else wid)]
        t = self.action_target()
        b = self.any_id(lambda k: k != 'wref')
        if t is None or b is None:
            return ['none']
        return ['link', str(t[0]), str(t[1]), str(b)]

    def op_wref(self, target=None):
        t = self.some(lambda k: k in INSTANCE_KINDS) if target is None else target
        if t is None:
            return None
        i = self.fresh('wref')
        if self.rng.random() < 0.3:
            self.ops.append(['wref', str(i), str(t), 'nocb'])
        else:
            self.cbw[i] = t
            self.ops.append(['wref', str(i), str(t)] + self.callback_action(i))
        return i

    def op_wvd(self):
        a = self.some(lambda k: k in INSTANCE_KINDS)
        if a is not None:
            self.ops.append(['wvd', str(self.rng.randint(0, 3)), str(a)])

    def op_collect(self):
        g = _pick(self.rng, [('0', 45), ('1', 20), ('2', 35)])
        self.ops.append(['collect', g])

    # ---- macros: shapes that make the collector work ----
    def cycle(self):
        rng = self.rng
        n = rng.randint(1, 4)
        ids = [self.op_new(_pick(rng, [(k, w) for k, w in KIND_WEIGHTS if k != 'tuple']))
               for _ in range(n)]
        for j, a in enumerate(ids):
            self.op_link(a, ids[(j + 1) % n])
        if rng.random() < 0.3:  # a tuple hanging off the cycle
            t = self.fresh('tuple')
            self.ops.append(['new', str(t), 'tuple', str(ids[0])])
            self.op_link(ids[-1], t)
            self.op_drop(t)
        for _ in range(rng.randint(0, 2)):
            inst = [i for i in ids if self.kind[i] in INSTANCE_KINDS]
            if inst:
                target = rng.choice(inst)
                w = self.op_wref(target)
                if w is not None and rng.random() < 0.5:  # the weakref inside the cycle
                    self.op_link(target if w in self.cbw else ids[0], w)
                    self.op_drop(w)
        if rng.random() < 0.3:
            self.op_wvd()
        for a in ids:
            if rng.random() < 0.8:
                self.op_drop(a)

    def chain(self):
        """A long chain: its head's death cascades, or it closes into a cycle."""
        rng = self.rng
        n = rng.randint(20, 300)
        kind = rng.choice(['list', 'plain', 'slots', 'dict'])
        head = prev = self.op_new(kind)
        for _ in range(n - 1):
            cur = self.op_new(kind)
            self.op_link(prev, cur)
            self.op_drop(cur)
            prev = cur
        if rng.random() < 0.5:
            self.op_link(prev, head)
        self.op_drop(prev)
        if rng.random() < 0.5:
            self.op_drop(head)

    def drill(self):
        """Short scenarios around REFERENCE.md section 7's subtleties."""
        rng = self.rng
        what = rng.choice(['saveall', 'resurrect', 'freeze', 'dict', 'tuples', 'selfweak',
                           'cbcollect'])
        if what == 'saveall':
            self.ops.append(['debug', 'saveall'])
            self.cycle()
            self.ops.append(['collect', rng.choice('012')])
            self.ops.append(['debug', 'none'])
            self.ops.append(['garbage'])
            if rng.random() < 0.5:
                self.ops.append(['cleargarbage'])
        elif what == 'resurrect':
            a = self.op_new('res')
            b = self.op_new(rng.choice(['plain', 'fin', 'res', 'list']))
            self.op_link(a, b)
            self.op_link(b, a)
            self.op_wref(a)
            self.op_wref(b) if self.kind[b] in INSTANCE_KINDS else None
            self.op_drop(a)
            self.op_drop(b)
            self.ops += [['collect', rng.choice('012')], ['check']]
            if rng.random() < 0.6:
                self.ops += [['clearres'], ['collect', '2'], ['check']]
        elif what == 'freeze':
            self.cycle()
            self.ops.append(['freeze'])
            self.cycle()
            self.ops += [['collect', '2'], ['check'], ['unfreeze'], ['collect', rng.choice('012')],
                         ['check']]
        elif what == 'dict':
            d = self.op_new('dict')
            x = self.op_new(rng.choice(['list', 'plain', 'dict', 'tuple']))
            self.op_link(d, x)
            self.ops += [['check'], ['unlink', str(d), self.ops[-1][2]], ['collect', '0'],
                         ['check'], ['collect', '2'], ['check']]
        elif what == 'tuples':
            t = self.op_new('tuple')
            for _ in range(rng.randint(1, 3)):
                u = self.fresh('tuple')
                self.ops.append(['new', str(u), 'tuple', str(t)])
                t = u
            for _ in range(rng.randint(1, 3)):
                self.ops += [['collect', rng.choice('012')], ['check']]
        elif what == 'cbcollect':
            # A callback that collects, run by a lone object's death by
            # refcount (a full collection inside it) or inside a collection
            # (where collect() returns 0).
            self.cycle()
            r = self.op_new(rng.choice(INSTANCE_KINDS))
            w = self.fresh('wref')
            self.cbw[w] = r
            self.ops.append(['wref', str(w), str(r), 'collect', rng.choice('012')])
            if rng.random() < 0.5:
                self.op_link(r, r)
                self.op_drop(r)
                self.ops.append(['collect', rng.choice('012')])
            else:
                self.op_drop(r)
        elif what == 'selfweak':
            a = self.op_new(rng.choice(INSTANCE_KINDS))
            w = self.op_wref(a)
            if w is not None:
                self.op_link(a, w)
                self.op_drop(w)
            self.op_link(a, a)
            self.op_drop(a)
            self.ops += [['collect', rng.choice('012')], ['check']]

    def step(self):
        rng = self.rng
        op = _pick(rng, [('new', 18), ('cycle', 8), ('chain', 0.4), ('drill', 3),
                         ('link', 22), ('unlink', 5),
                         ('drop', 12), ('wref', 6), ('wvd', 3), ('collect', 9),
                         ('check', 5), ('garbage', 2), ('cleargarbage', 1),
                         ('stats', 2), ('freeze', 1.5), ('unfreeze', 1.5),
                         ('debug', 1), ('clearres', 1), ('wvdcheck', 2)])
        if op == 'new':
            self.op_new()
        elif op == 'cycle':
            self.cycle()
        elif op == 'chain':
            self.chain()
        elif op == 'drill':
            self.drill()
        elif op == 'link':
            self.op_link()
        elif op == 'unlink':
            self.op_unlink()
        elif op == 'drop':
            self.op_drop()
        elif op == 'wref':
            self.op_wref()
        elif op == 'wvd':
            self.op_wvd()
        elif op == 'collect':
            self.op_collect()
        elif op == 'debug':
            self.ops.append(['debug', rng.choice(['saveall', 'none'])])
        else:
            self.ops.append([op])


def generate(seed):
    """The program of a seed: {'label', 'nids', 'ops'}."""
    rng = random.Random(seed)
    lo, hi, _ = _pick(rng, [(s, s[2]) for s in SIZES])
    nops = rng.randint(lo, hi)
    b = _Builder(rng)
    while len(b.ops) < nops:
        b.step()
    ops = b.ops + [list(t) for t in TAIL]
    return {'label': 's%d' % seed, 'nids': max(b.next_id, 1), 'ops': ops}


def to_text(prog):
    lines = ['program %s %d' % (prog['label'], prog['nids'])]
    lines += [' '.join(op) for op in prog['ops']]
    lines.append('end')
    return '\n'.join(lines) + '\n'


def _py_arg(tok):
    return tok if tok.lstrip('-').isdigit() else repr(tok)


def to_python(prog, header=True):
    lines = []
    if header:
        lines += ['import sys', 'sys.path.insert(0, %r)' % _here(), 'from pyrt import *']
    lines.append('begin(%r, %d)' % (prog['label'], prog['nids']))
    for op in prog['ops']:
        lines.append('%s(%s)' % (op[0], ', '.join(_py_arg(t) for t in op[1:])))
    lines.append('end()')
    return '\n'.join(lines) + '\n'


def parse_text(text):
    """Programs of a text-form file."""
    progs, cur = [], None
    for line in text.splitlines():
        toks = line.split()
        if not toks or toks[0].startswith('#'):
            continue
        if toks[0] == 'program':
            cur = {'label': toks[1], 'nids': int(toks[2]), 'ops': []}
        elif toks[0] == 'end':
            progs.append(cur)
            cur = None
        else:
            cur['ops'].append(toks)
    return progs


def _here():
    import os
    return os.path.dirname(os.path.abspath(__file__))


def main(argv):
    seed = int(argv[1]) if len(argv) > 1 else 0
    count = int(argv[2]) if len(argv) > 2 and argv[2].isdigit() else 1
    py = '--python' in argv
    out = []
    for s in range(seed, seed + count):
        p = generate(s)
        out.append(to_python(p, header=(s == seed)) if py else to_text(p))
    sys.stdout.write(''.join(out))


if __name__ == '__main__':
    main(sys.argv)
