#!/usr/bin/env python3
"""run.py — runs programs on CPython 3.11 and on refheap and compares the logs.

  run.py --seed 0 --count 500          the fixed seeds (ctest difftest_seeded)
  run.py --regressions                 every case under regressions/ (ctest)
  run.py --soak 20000 [--base B]       fresh seeds; each divergent program is
                                       minimised and saved under regressions/
  run.py --selfcheck [--count N]       CPython against itself: attribute layout
                                       reversed, programs in reverse order
  run.py --show SEED|FILE              both logs of one program, and a diff
  run.py --python SEED|FILE            the Python form of one program
  --ignore counts                      leave get_count() figures out of the comparison

Programs run in batches (many programs per python3 process and per driver
process).  A driver crash or a time-out is a divergence of the program it
happened in; the rest of the batch is run again after it.
Exit status: 0 when every program agreed, 1 otherwise.
"""
import argparse
import difflib
import glob
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402

BATCH = 400
TIMEOUT = 600          # seconds per batch process
PYTHON = [sys.executable, '-S']


def default_driver():
    root = os.path.dirname(HERE)
    for b in ('build-diff', 'build', 'build-diff-asan'):
        p = os.path.join(root, b, 'difftest', 'difftest_driver')
        if os.path.exists(p):
            return p
    return None


# ---- running ----
def parse_logs(text):
    """{label: [lines]} for every complete program in an output."""
    logs, cur, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith('=== end'):
            if cur is not None:
                if 'harness: leaked' in line:
                    lines.append('#harness-leak ' + line)
                logs[cur] = lines
            cur, lines = None, []
        elif line.startswith('=== '):
            cur, lines = line[4:].strip(), []
        elif cur is not None:
            lines.append(line)
    return logs


def _run_batch(cmd, data, progs):
    """Runs cmd on the batch; returns {label: lines or ('CRASH', text)}."""
    out = {}
    rest = list(progs)
    while rest:
        with tempfile.NamedTemporaryFile('w', suffix='.in', delete=False) as f:
            f.write(data(rest))
            path = f.name
        try:
            p = subprocess.run(cmd + [path], capture_output=True, text=True, errors='replace',
                               timeout=TIMEOUT)
            stdout, stderr, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
            stderr, rc = 'timeout', 'timeout'
        finally:
            os.unlink(path)
        logs = parse_logs(stdout)
        done = 0
        for p_ in rest:
            if p_['label'] in logs:
                out[p_['label']] = logs[p_['label']]
                done += 1
            else:
                break
        if done == len(rest):
            break
        bad = rest[done]
        partial = stdout.split('=== %s\n' % bad['label'], 1)
        partial = partial[1].splitlines() if len(partial) > 1 else []
        out[bad['label']] = ('CRASH', 'rc=%s; %s' % (rc, stderr.strip().splitlines()[-3:]
                                                     if stderr.strip() else ''), partial)
        rest = rest[done + 1:]
    return out


def run_python(progs, layout=None):
    def data(ps):
        return ''.join(gen.to_python(p, header=(k == 0)) for k, p in enumerate(ps))
    if layout:
        os.environ['PYRT_LAYOUT'] = layout
    try:
        return _run_batch(PYTHON, data, progs)
    finally:
        os.environ.pop('PYRT_LAYOUT', None)


INCR = None      # --incremental: 'steps' or 'auto' (DIFFTEST_INCR for the driver)


def run_c(driver, progs):
    def data(ps):
        return ''.join(gen.to_text(p) for p in ps)
    if INCR:
        os.environ['DIFFTEST_INCR'] = INCR
    try:
        return _run_batch([driver], data, progs)
    finally:
        os.environ.pop('DIFFTEST_INCR', None)


# ---- the incremental policy (--incremental) ----
# An incremental (or automatic) collection finds garbage earlier than the
# program's explicit collect(2) would on CPython with automatic collection off.
# Whatever a program does *after* a cycle became garbage cannot change what a
# full collection finds, except through operations whose effect depends on
# *when* the garbage is collected: a program dropping a weakref with a callback
# (CPython then never calls it), callbacks and finalizers that act on the
# program's variables, emptying the resurrection list or gc.garbage,
# DEBUG_SAVEALL, and freezing (frozen garbage is never collected). incr_filter
# removes or neutralises exactly those (any sub-list of a program is a valid
# program); the comparison is then made at every explicit collect(2): the
# multisets of finalizer and callback events so far and the set of objects
# freed so far must be equal.
TIMING_OPS = {'clearres', 'cleargarbage', 'debug', 'freeze', 'unfreeze'}


def incr_filter(prog):
    weak = {op[1] for op in prog['ops'] if op[0] == 'wref'}
    ops = []
    for op in prog['ops']:
        if op[0] in TIMING_OPS:
            continue
        if op[0] == 'drop' and op[1] in weak:
            continue
        if op[0] == 'wref' and op[3] != 'nocb':
            op = op[:3] + ['none']
        if op[0] == 'new' and op[2] == 'fin':
            op = op[:3]
        ops.append(op)
    q = dict(prog)
    q['ops'] = ops
    return q


def _incr_state(lines):
    """{op index of a collect(2): (calls multiset, freed set)} including the
    collect's own events."""
    coll, state = [], {}
    calls, freed = [], set()
    cur = None
    for line in lines + ['999999 end x']:
        t = line.split(' ', 2)
        if len(t) < 3 or not t[0].isdigit():
            continue
        if cur is not None and t[0] != cur:
            state[cur] = (sorted(calls), sorted(freed))
            cur = None
        if t[1] == 'ev':
            for e in t[2].split(', '):
                k = e.split()
                if k[0] == 'free':
                    freed.add(k[1])
                elif k[0] in ('del', 'tpdel', 'cb'):
                    calls.append(e)
        elif t[1] == 'collect' and t[2].startswith('2 '):
            cur = t[0]
            coll.append(cur)
    return coll, state


def compare_incr(py, c):
    if isinstance(c, tuple):
        return 'crash'
    cp, sp = _incr_state(_lines(py))
    cc, sc = _incr_state(_lines(c))
    if cp != cc:
        return 'collect-points'
    for k in cp:
        if sp[k][0] != sc[k][0]:
            return 'calls@collect'
        if sp[k][1] != sc[k][1]:
            return 'freed@collect'
    return None


IGNORE = set()   # --ignore: log features left out of the comparison


def _normal(line):
    if 'counts' in IGNORE and (' collect ' in line or ' freeze ' in line):
        return line.split(' count ')[0]
    return line


def _lines(r):
    if isinstance(r, tuple):
        return [_normal(l) for l in r[2]] + ['CRASH ' + r[1]]
    return [_normal(l) for l in r if not l.startswith('#harness')]


def compare(py, c):
    """None when the logs agree, else a short signature of the first difference."""
    a, b = _lines(py), _lines(c)
    if a == b:
        return None
    for k in range(max(len(a), len(b))):
        x = a[k] if k < len(a) else '<none>'
        y = b[k] if k < len(b) else '<none>'
        if x != y:
            def word(s):
                t = s.split()
                return t[1] if len(t) > 1 and t[0].isdigit() else t[0]
            return '%s/%s' % (word(x), word(y))
    return 'length'


def run_programs(driver, progs, batch=BATCH, quiet=False):
    """Returns a list of (prog, py_log, c_log, signature) for every program."""
    results = []
    for k in range(0, len(progs), batch):
        chunk = progs[k:k + batch]
        t0 = time.time()
        py = run_python(chunk)
        c = run_c(driver, chunk)
        for p in chunk:
            pl = py.get(p['label'], ('CRASH', 'python: missing', []))
            cl = c.get(p['label'], ('CRASH', 'driver: missing', []))
            sig2 = None
            if isinstance(pl, tuple):
                sig = 'python-failed'
            elif INCR:
                sig = compare_incr(pl, cl)
            else:
                sig = compare(pl, cl)
                if sig and 'counts' not in IGNORE:
                    IGNORE.add('counts')
                    sig2 = compare(pl, cl)
                    IGNORE.discard('counts')
            results.append((p, pl, cl, sig, sig2))
        if not quiet:
            bad = sum(1 for r in results[-len(chunk):] if r[3])
            print('  %d..%d: %d programs, %d divergent (%.1fs)' % (
                k, k + len(chunk) - 1, len(chunk), bad, time.time() - t0), flush=True)
    return results


# ---- minimisation (ddmin over the operation list) ----
def _diverges(driver, prog, sig):
    py = run_python([prog])
    c = run_c(driver, [prog])
    pl = py.get(prog['label'])
    cl = c.get(prog['label'], ('CRASH', 'missing', []))
    if pl is None or isinstance(pl, tuple):
        return False
    s = compare(pl, cl)
    return s is not None and s == sig


def minimise(driver, prog, sig, budget=400):
    ops = list(prog['ops'])
    tries = [0]

    def test(sub):
        tries[0] += 1
        if tries[0] > budget:
            return False
        return _diverges(driver, dict(prog, ops=sub), sig)

    n = 2
    while len(ops) >= 2 and tries[0] < budget:
        chunk = max(1, len(ops) // n)
        subsets = [ops[i:i + chunk] for i in range(0, len(ops), chunk)]
        reduced = False
        for i in range(len(subsets)):
            complement = [op for j, s in enumerate(subsets) if j != i for op in s]
            if complement and test(complement):
                ops = complement
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if n >= len(ops):
                break
            n = min(len(ops), 2 * n)
    return dict(prog, ops=ops)


# ---- reporting ----
def show_pair(prog, pl, cl, out=sys.stdout):
    a, b = _lines(pl), _lines(cl)
    out.write('--- program %s (text form)\n%s' % (prog['label'], gen.to_text(prog)))
    out.write('--- CPython log\n%s\n--- refheap log\n%s\n' % ('\n'.join(a), '\n'.join(b)))
    d = list(difflib.unified_diff(a, b, 'cpython', 'refheap', lineterm='', n=1))
    if d:
        out.write('--- diff\n%s\n' % '\n'.join(d))


def save_regression(prog, pl, cl, sig):
    os.makedirs(os.path.join(HERE, 'regressions'), exist_ok=True)
    name = '%s.txt' % prog['label']
    path = os.path.join(HERE, 'regressions', name)
    head = ['# minimised divergent program (signature %s)' % sig, '# CPython log:']
    head += ['#   ' + l for l in _lines(pl)]
    head += ['# refheap log:'] + ['#   ' + l for l in _lines(cl)]
    with open(path, 'w') as f:
        f.write('\n'.join(head) + '\n' + gen.to_text(prog))
    return path


def load_program(arg):
    if os.path.exists(arg):
        with open(arg) as f:
            return gen.parse_text(f.read())[0]
    return gen.generate(int(arg))


def summarise(results, title):
    total = len(results)
    bad = [r for r in results if r[3]]
    sigs = {}
    for r in bad:
        sigs.setdefault(r[3], []).append(r)
    print('%s: %d programs, %d agreed, %d divergent' % (title, total, total - len(bad), len(bad)))
    for s, rs in sorted(sigs.items(), key=lambda kv: -len(kv[1])):
        print('  %-28s %5d  e.g. %s' % (s, len(rs), ', '.join(r[0]['label'] for r in rs[:5])))
    beyond = [r for r in bad if len(r) > 4 and r[4]]
    if bad and 'counts' not in IGNORE:
        print('  divergent even with get_count() figures ignored: %d%s' % (
            len(beyond), ' (e.g. %s)' % ', '.join(r[0]['label'] for r in beyond[:5]) if beyond else ''))
    leaks = [r[0]['label'] for r in results
             if not isinstance(r[1], tuple) and any(l.startswith('#harness') for l in r[1])]
    if leaks:
        print('  note: python harness could not free everything in %d programs (e.g. %s)'
              % (len(leaks), leaks[:3]))
    return sigs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--driver', default=default_driver())
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--count', type=int, default=500)
    ap.add_argument('--regressions', action='store_true')
    ap.add_argument('--soak', type=int)
    ap.add_argument('--base', type=int, help='first seed of a soak (default: from the clock)')
    ap.add_argument('--save', type=int, default=2,
                    help='soak: minimised cases saved per distinct signature')
    ap.add_argument('--selfcheck', action='store_true',
                    help='run CPython twice (attribute layouts in opposite orders) on the '
                         'seeded programs: the generated programs must not depend on it')
    ap.add_argument('--show')
    ap.add_argument('--python')
    ap.add_argument('--verbose', '-v', action='store_true')
    ap.add_argument('--ignore', action='append', default=[], choices=['counts'],
                    help='leave get_count() figures out of the comparison (to look past '
                         'a known count divergence)')
    ap.add_argument('--incremental', choices=['steps', 'auto'],
                    help='run the driver under the incremental policy (a slice before every '
                         'operation; auto: automatic collection at tiny thresholds too) on the '
                         'programs without their timing-dependent operations, and compare the '
                         'finalizer/callback events and the objects freed at every collect(2)')
    a = ap.parse_args()
    IGNORE.update(a.ignore)
    global INCR
    INCR = a.incremental

    if a.python:
        sys.stdout.write(gen.to_python(load_program(a.python)))
        return 0
    if a.selfcheck:
        progs = [gen.generate(s) for s in range(a.seed, a.seed + a.count)]
        bad = 0
        for k in range(0, len(progs), BATCH):
            chunk = progs[k:k + BATCH]
            x, y = run_python(chunk), run_python(chunk[::-1], layout='reverse')
            for p in chunk:
                if compare(x[p['label']], y[p['label']]):
                    bad += 1
                    if bad <= 3:
                        show_pair(p, x[p['label']], y[p['label']])
        print('selfcheck %d..%d: %d programs, %d depend on the layout or on the programs '
              'run before them' % (a.seed, a.seed + a.count - 1, len(progs), bad))
        return 1 if bad else 0
    if not a.driver or not os.path.exists(a.driver):
        print('run.py: driver not found (build the difftest_driver target; --driver PATH)')
        return 2
    a.driver = os.path.abspath(a.driver)

    if a.show:
        p = load_program(a.show)
        py, c = run_python([p]), run_c(a.driver, [p])
        show_pair(p, py.get(p['label'], ('CRASH', 'missing', [])),
                  c.get(p['label'], ('CRASH', 'missing', [])))
        return 0

    if a.regressions:
        files = sorted(glob.glob(os.path.join(HERE, 'regressions', '*.txt')))
        progs = []
        for f in files:
            with open(f) as fh:
                progs += gen.parse_text(fh.read())
        if not progs:
            print('regressions: none')
            return 0
        results = run_programs(a.driver, progs, quiet=True)
        sigs = summarise(results, 'regressions')
        for r in results:
            if r[3] and a.verbose:
                show_pair(r[0], r[1], r[2])
        return 1 if sigs else 0

    if a.soak:
        base = a.base if a.base is not None else int(time.time()) % 1000000 * 1000 + 10 ** 9
        print('soak: %d programs from seed %d' % (a.soak, base), flush=True)
        progs = [gen.generate(s) for s in range(base, base + a.soak)]
        results = run_programs(a.driver, progs, batch=500)
        sigs = summarise(results, 'soak')
        for s, rs in sigs.items():
            rs = sorted(rs, key=lambda r: len(r[0]['ops']))[:a.save]
            for r in rs:
                m = minimise(a.driver, r[0], s)
                py, c = run_python([m]), run_c(a.driver, [m])
                pl, cl = py[m['label']], c.get(m['label'], ('CRASH', 'missing', []))
                path = save_regression(m, pl, cl, s)
                print('saved %s (%d ops, from %d)' % (os.path.relpath(path, HERE), len(m['ops']),
                                                      len(r[0]['ops'])))
                show_pair(m, pl, cl)
        return 1 if sigs else 0

    progs = [gen.generate(s) for s in range(a.seed, a.seed + a.count)]
    if INCR:
        progs = [incr_filter(p) for p in progs]
    results = run_programs(a.driver, progs, quiet=not a.verbose)
    sigs = summarise(results, 'seeded %d..%d' % (a.seed, a.seed + a.count - 1))
    for s, rs in sigs.items():
        r = min(rs, key=lambda r: len(r[0]['ops']))
        print('\nfirst example of %s:' % s)
        show_pair(r[0], r[1], r[2])
    return 1 if sigs else 0


if __name__ == '__main__':
    sys.exit(main())
