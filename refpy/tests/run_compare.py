#!/usr/bin/env python3
"""Runs Python scripts on CPython 3.11 and on refpy and compares what they print.

    run_compare.py --refpy PATH --examples          examples/python/*.py and the
                                                    articles' snippets (tests/snippets)
    run_compare.py --refpy PATH FILE...             the given scripts
    run_compare.py --refpy PATH --difftest N [--base S] [--batch B]
                                                    N seeded differential programs
                                                    (difftest/gen.py) as refpy scripts,
                                                    B to a process (100; 1: each alone,
                                                    as run.py --python writes it)
    run_compare.py --refpy PATH --tour FILE         one script, its two outputs line
                                                    beside line, for the tour (tour.c)

Standard output, standard error and the exit status must be equal after
addresses are normalised (0x... -> 0xADDR). A few lines differ between refpy
and CPython for reasons docs/refpy.md lists under "Known differences" (memory
layout figures, timings, CPython's tuple free list): KNOWN masks exactly those
lines, by script and pattern, and nothing else. Exit status 1 on any
difference, with a unified diff.
"""
import argparse
import difflib
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

ADDR = re.compile(r'0x[0-9a-fA-F]+')
# CPython 3.11 underlines the failing expression of a traceback line with
# ^ and ~; refpy does not (docs/refpy.md): those lines are left out of stderr.
CARETS = re.compile(r'^\s*[\^~]+\s*$')

# script name -> list of (regex, reason). A line matching the regex is
# replaced by "<masked: reason>" on both sides before the comparison.
KNOWN = {
    '04_watch.py': [(r'^(Before collection:|= count_before)', 'free-list')],
    'a000_6_watch.py': [(r'^Before collection:', 'start-up objects, free-list')],
    '08_slots.py': [(r'^(plain|slotted) instance:', 'layout'), (r'^= (getsizeof_plain|bytes_per_plain|bytes_per_slotted|getsizeof_slotted) ', 'layout')],
    '09_memoryview.py': [(r'^slicing 5 MiB through a view allocated', 'layout')],
    '11_pauses.py': [(r'^\d+ collections, longest pause', 'timing'), (r'^RSS:', 'timing'),
                     (r'^= (max_pause_ms|rss_growth_mib|rss_returned_mib) ', 'timing')],
}


def normalise(text, name):
    masks = KNOWN.get(name, [])
    out = []
    for line in text.splitlines():
        line = ADDR.sub('0xADDR', line)
        for pat, why in masks:
            if re.search(pat, line):
                line = '<masked: %s>' % why
                break
        out.append(line)
    return out


def run(cmd, path, timeout, cwd):
    try:
        p = subprocess.run(cmd + [path], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                           errors='replace')
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 'timeout', '', ''


def refused(path):
    """The message of a script's '# refpy-expect: MESSAGE' first line (a
    construct outside refpy's subset), or None."""
    with open(path, errors='replace') as f:
        first = f.readline()
    if first.startswith('# refpy-expect: '):
        return first[len('# refpy-expect: '):].strip()
    return None


def run_pair(refpy, path, timeout=120):
    """Runs a script on CPython and on refpy. Returns both results (exit
    status, stdout, stderr) and the differences after normalisation."""
    name = os.path.basename(path)
    cwd = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    c = run([sys.executable], base, timeout, cwd)
    r = run([refpy], base, timeout, cwd)
    problems = []
    if c[0] != r[0]:
        problems.append('exit status: cpython %s, refpy %s' % (c[0], r[0]))
    for what, a, b in (('stdout', c[1], r[1]), ('stderr', c[2], r[2])):
        na, nb = normalise(a, name), normalise(b, name)
        if what == 'stderr':
            na = [l for l in na if not CARETS.match(l)]
        if na != nb:
            d = '\n'.join(difflib.unified_diff(na, nb, 'cpython', 'refpy', lineterm='', n=1))
            problems.append('%s differs:\n%s' % (what, d))
    return c, r, problems


def compare(refpy, path, timeout=120):
    want = refused(path)
    if want is not None:
        # a construct outside refpy's subset: refpy must refuse it with this
        # last line on stderr and exit status 1 (CPython runs it)
        r = run([refpy], os.path.basename(path), timeout, os.path.dirname(os.path.abspath(path)))
        last = r[2].strip().splitlines()[-1] if r[2].strip() else ''
        if r[0] != 1 or last != want:
            return ['expected exit 1 and %r, got exit %s and %r' % (want, r[0], last)]
        return []
    return run_pair(refpy, path, timeout)[2]


def tour_report(refpy, path):
    """The tour's view of one script (tour.c reads it), one record a line:
    'refused MESSAGE' alone when refpy cannot run the script; otherwise
    'exit C R', then 'row MARK STREAM<TAB>cpython line<TAB>refpy line<TAB>WHY'
    for the two outputs aligned line by line (MARK: '=' identical, 'a' equal
    once addresses are normalised, 'k' masked as the known difference WHY (a
    KNOWN reason), '!' different; STREAM: out or err), then 'verdict same' or 'verdict different' followed
    by 'diff LINE' lines."""
    want = refused(path)
    if want is not None:
        print('refused %s' % want)
        return 0
    c, r, problems = run_pair(refpy, path)
    print('exit %s %s' % (c[0], r[0]))
    name = os.path.basename(path)
    for stream, a, b in (('out', c[1], r[1]), ('err', c[2], r[2])):
        la, lb = a.splitlines(), b.splitlines()
        if stream == 'err':
            la = [l for l in la if not CARETS.match(l)]
        na, nb = normalise('\n'.join(la), name), normalise('\n'.join(lb), name)
        sm = difflib.SequenceMatcher(None, na, nb, autojunk=False)
        for op, i1, i2, j1, j2 in sm.get_opcodes():
            for k in range(max(i2 - i1, j2 - j1)):
                x = la[i1 + k] if i1 + k < i2 else ''
                y = lb[j1 + k] if j1 + k < j2 else ''
                why = ''
                if op != 'equal':
                    mark = '!'
                elif x == y:
                    mark = '='
                elif na[i1 + k].startswith('<masked: '):
                    mark, why = 'k', na[i1 + k][len('<masked: '):-1]
                else:
                    mark = 'a'
                print('row %s %s\t%s\t%s\t%s' % (mark, stream, x.replace('\t', ' '), y.replace('\t', ' '), why))
    print('verdict %s' % ('different' if problems else 'same'))
    for p in problems:
        for line in p.splitlines():
            print('diff %s' % line)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--refpy', required=True)
    ap.add_argument('--examples', action='store_true')
    ap.add_argument('--difftest', type=int, default=0)
    ap.add_argument('--base', type=int, default=0)
    ap.add_argument('--batch', type=int, default=100)
    ap.add_argument('--tour')
    ap.add_argument('files', nargs='*')
    a = ap.parse_args()
    a.refpy = os.path.abspath(a.refpy)
    if a.tour:
        return tour_report(a.refpy, a.tour)
    files = list(a.files)
    if a.examples:
        er = os.path.join(HERE, 'errors')
        files += sorted(os.path.join(er, f) for f in os.listdir(er) if f.endswith('.py'))
        ex = os.path.join(ROOT, 'examples', 'python')
        files += sorted(os.path.join(ex, f) for f in os.listdir(ex) if f.endswith('.py'))
        un = os.path.join(HERE, 'unsupported')
        files += sorted(os.path.join(un, f) for f in os.listdir(un) if f.endswith('.py'))
        sn = os.path.join(HERE, 'snippets')
        files += sorted(os.path.join(sn, f) for f in os.listdir(sn) if f.endswith('.py'))
    failed = 0
    for f in files:
        probs = compare(a.refpy, f)
        if probs:
            failed += 1
            print('FAIL %s' % f)
            for p in probs:
                print('  ' + p.replace('\n', '\n  '))
        else:
            print('ok   %s' % os.path.relpath(f, ROOT))
    if a.difftest:
        failed += run_difftest(a.refpy, a.difftest, a.base, a.batch)
    print('%d of %d differ' % (failed, len(files) + (1 if a.difftest else 0)))
    return 1 if failed else 0


def run_difftest(refpy, count, base, batch=100):
    """The seeded differential programs, run through difftest/pyrt.py on
    CPython (imported) and on refpy (prepended: refpy imports built-in modules
    only; pyrt.py picks its refpy back end there); the logs must be identical."""
    sys.path.insert(0, os.path.join(ROOT, 'difftest'))
    import gen  # noqa: E402
    import tempfile
    progs = [gen.generate(base + k) for k in range(count)]
    bad = 0
    for start in range(0, count, batch):
        chunk = progs[start:start + batch]
        body = ''.join(gen.to_python(p, header=False) for p in chunk)
        with tempfile.TemporaryDirectory() as td:
            cpy = os.path.join(td, 'c.py')
            rpy = os.path.join(td, 'r.py')
            with open(cpy, 'w') as f:
                f.write('import sys\nsys.path.insert(0, %r)\nfrom pyrt import *\n' % os.path.join(ROOT, 'difftest') + body)
            with open(os.path.join(ROOT, 'difftest', 'pyrt.py')) as f:
                rt = f.read()
            with open(rpy, 'w') as f:
                f.write(rt + '\n' + body)
            c = subprocess.run([sys.executable, '-S', cpy], capture_output=True, text=True, timeout=300)
            r = subprocess.run([refpy, rpy], capture_output=True, text=True, timeout=300)
        if c.returncode != 0:
            print('difftest: CPython failed on seeds %d..%d:\n%s' % (base + start, base + start + len(chunk) - 1, c.stderr[-2000:]))
            bad += 1
            continue
        if c.stdout != r.stdout or r.returncode != 0:
            la, lb = c.stdout.splitlines(), r.stdout.splitlines()
            d = '\n'.join(list(difflib.unified_diff(la, lb, 'cpython', 'refpy', lineterm='', n=2))[:60])
            print('difftest: seeds %d..%d differ (refpy exit %d):\n%s\n%s' % (base + start, base + start + len(chunk) - 1,
                                                                             r.returncode, d, r.stderr[-2000:]))
            bad += 1
    if not bad:
        print('ok   difftest: %d seeded programs (seeds %d..%d) identical' % (count, base, base + count - 1))
    return bad


if __name__ == '__main__':
    sys.exit(main())
