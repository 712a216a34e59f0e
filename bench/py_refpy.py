#!/usr/bin/env python3
"""refpy against CPython 3.11 on the Python benchmarks (bench/py_trees.py and
bench/py_gc.py): the same script, run by both interpreters; each prints one
JSON line per result with its own timing. Prints a table of the times and the
ratio refpy / CPython (below 1: refpy is faster).

    python3 bench/py_refpy.py --refpy build-rel/refpy/refpy [--reps 3] [--quick]

Use a release build of refpy (the default CMake build type, RelWithDebInfo).
Each configuration runs --reps times per interpreter and keeps the fastest
run. The node counts and checksums of both sides must agree (the scripts
compute them the same way); a disagreement is reported and fails the run.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def configs(quick):
    d = 12 if quick else 16
    n = 20000 if quick else 200000
    c = [
        ('binarytrees class gc on', ['py_trees.py', 'binarytrees', str(d), 'class', 'on']),
        ('binarytrees class gc off', ['py_trees.py', 'binarytrees', str(d), 'class', 'off']),
        ('binarytrees slots gc on', ['py_trees.py', 'binarytrees', str(d), 'slots', 'on']),
        ('binarytrees slots gc off', ['py_trees.py', 'binarytrees', str(d), 'slots', 'off']),
        ('binarytrees tuple gc on', ['py_trees.py', 'binarytrees', str(d), 'tuple', 'on']),
        ('gcbench class gc on', ['py_trees.py', 'gcbench', str(d - 2), 'class', 'on']),
        ('gcbench slots gc off', ['py_trees.py', 'gcbench', str(d - 2), 'slots', 'off']),
        ('gc collect garbage (plain)', ['py_gc.py', 'collect', 'plain', str(n), 'garbage', '3']),
        ('gc collect alive (plain)', ['py_gc.py', 'collect', 'plain', str(n), 'alive', '3']),
        ('gc collect garbage (slots)', ['py_gc.py', 'collect', 'slots', str(n), 'garbage', '3']),
        ('gc build plain gc on', ['py_gc.py', 'build', 'plain', str(n), 'on']),
        ('gc build plain gc off', ['py_gc.py', 'build', 'plain', str(n), 'off']),
        ('gc churn plain', ['py_gc.py', 'churn', 'plain', str(n), '20']),
    ]
    return c


def run(interp, args):
    p = subprocess.run([interp] + [os.path.join(HERE, args[0])] + args[1:], capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise RuntimeError('%s %s failed: %s' % (interp, ' '.join(args), p.stderr[-500:]))
    rows = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
    if not rows:
        raise RuntimeError('%s %s printed no result' % (interp, ' '.join(args)))
    if any('skipped' in r for r in rows):
        return None, rows[-1]
    secs = min(r['seconds'] for r in rows)
    return secs, rows[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--refpy', required=True)
    ap.add_argument('--python', default='python3')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--quick', action='store_true')
    a = ap.parse_args()
    refpy = os.path.abspath(a.refpy)
    print('| workload | CPython 3.11 (s) | refpy (s) | refpy / CPython |')
    print('|---|---:|---:|---:|')
    bad = 0
    for name, args in configs(a.quick):
        best = {}
        last = {}
        for label, interp in (('cpython', a.python), ('refpy', refpy)):
            times = []
            for _ in range(a.reps):
                t, row = run(interp, args)
                last[label] = row
                if t is not None:
                    times.append(t)
            best[label] = min(times) if times else None
        if best['cpython'] is None or best['refpy'] is None:
            print('| %s | skipped | skipped | |' % name)
            continue
        for key in ('nodes', 'checksum', 'collected'):
            if key in last['cpython'] and last['cpython'][key] != last['refpy'].get(key):
                print('MISMATCH %s: %s cpython %s refpy %s' % (name, key, last['cpython'][key], last['refpy'].get(key)))
                bad += 1
        print('| %s | %.4f | %.4f | %.2f |' % (name, best['cpython'], best['refpy'], best['refpy'] / best['cpython']))
        sys.stdout.flush()
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
