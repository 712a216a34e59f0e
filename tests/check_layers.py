#!/usr/bin/env python3
"""check_layers.py — the include rule of src/ (docs/design.md, "The architecture").

src/ is made of rooms, one folder each, in layer order from the bottom:

    base  <  memory  <  weak  <  collector  <  objects  <  tools  <  heap

(`heap` is the files directly in src/: heap.c and the umbrella internal.h).
A file may include, with #include "...", headers of its own room and of rooms
below it, never of a room above. The one exception is the heap record,
base/heap.h, which composes struct rh_heap from the rooms' state headers
(`<room>/*_state.h`); a state header in turn includes nothing from src/ but
base/. The rooms' include graph must also be free of cycles, and every folder
of src/ must be a room (a new folder gets its place in ROOMS first).

Usage: check_layers.py SRC_DIR        check the tree, exit 1 on a violation
       check_layers.py --self-test    check that an upward include, an include
                                      cycle and a stray folder are caught
"""
import os
import re
import shutil
import sys
import tempfile

ROOMS = ["base", "memory", "weak", "collector", "objects", "tools", "heap"]
RANK = {r: i for i, r in enumerate(ROOMS)}
RECORD = "base/heap.h"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def room_of(rel):
    parts = rel.split("/")
    if len(parts) == 1:
        return "heap"
    return parts[0] if parts[0] in RANK and parts[0] != "heap" else None


def is_state(rel):
    return rel.endswith("_state.h")


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def check(src):
    src = os.path.abspath(src)
    public = os.path.join(os.path.dirname(src), "include")
    errors, edges = [], {}
    files = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(dirpath, name), src).replace(os.sep, "/"))
    for rel in files:
        room = room_of(rel)
        if room is None:
            errors.append(f"{rel}: folder '{rel.split('/')[0]}' is not a room of src/ "
                          f"(rooms, bottom to top: {', '.join(ROOMS)})")
            continue
        if len(rel.split("/")) > 2:
            errors.append(f"{rel}: rooms have no sub-folders")
        with open(os.path.join(src, rel), encoding="utf-8") as f:
            text = strip_comments(f.read())
        for lineno_target in INCLUDE.finditer(text):
            target = lineno_target.group(1)
            line = text.count("\n", 0, lineno_target.start()) + 1
            here = os.path.dirname(os.path.join(src, rel))
            resolved = None
            for base in (here, src):
                p = os.path.normpath(os.path.join(base, target))
                if os.path.isfile(p) and p.startswith(src + os.sep):
                    resolved = os.path.relpath(p, src).replace(os.sep, "/")
                    break
            if resolved is None:
                if os.path.isfile(os.path.join(public, target)):
                    continue  # the public header: every room may use it
                errors.append(f"{rel}:{line}: #include \"{target}\" names no file of src/ or include/")
                continue
            troom = room_of(resolved)
            if troom is None:
                continue  # reported with the file itself
            if rel == RECORD and is_state(resolved):
                continue  # the heap record composes the rooms' state headers
            if is_state(rel) and troom != "base":
                errors.append(f"{rel}:{line}: a state header includes only base/ headers, "
                              f"not \"{resolved}\" ({troom})")
            elif RANK[troom] > RANK[room]:
                errors.append(f"{rel}:{line}: #include \"{resolved}\" points up: room '{room}' is below "
                              f"'{troom}' ({' < '.join(ROOMS)})")
            if troom != room:
                edges.setdefault(room, set()).add(troom)
    # Folders must not form a cycle (a cycle needs an upward edge, reported above, but the
    # graph is checked on its own so that the rule holds whatever ROOMS says).
    state = {}

    def visit(r, path):
        state[r] = 1
        for t in sorted(edges.get(r, ())):
            if state.get(t) == 1:
                cyc = path[path.index(t):] + [t]
                errors.append("rooms include each other in a cycle: " + " -> ".join(cyc))
            elif t not in state:
                visit(t, path + [t])
        state[r] = 2

    for r in ROOMS:
        if r not in state:
            visit(r, [r])
    return errors


def self_test():
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(os.path.dirname(here), "src")
    failures = []
    if check(src):
        failures.append("the tree itself does not pass")
    cases = [
        ("upward include", "memory/pools.c", '#include "objects/object_internal.h"\n'),
        ("state header including its room", "collector/gc_state.h", '#include "collector/gc_internal.h"\n'),
        ("include of a missing file", "weak/weakref.c", '#include "weak/nothing.h"\n'),
    ]
    for what, victim, line in cases:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(src, os.path.join(tmp, "src"))
            shutil.copytree(os.path.join(os.path.dirname(src), "include"), os.path.join(tmp, "include"))
            with open(os.path.join(tmp, "src", victim), "a", encoding="utf-8") as f:
                f.write(line)
            if not check(os.path.join(tmp, "src")):
                failures.append(f"{what} in {victim} was not caught")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(src, os.path.join(tmp, "src"))
        shutil.copytree(os.path.join(os.path.dirname(src), "include"), os.path.join(tmp, "include"))
        os.mkdir(os.path.join(tmp, "src", "misc"))
        with open(os.path.join(tmp, "src", "misc", "x.c"), "w", encoding="utf-8") as f:
            f.write('#include "base/base.h"\n')
        if not check(os.path.join(tmp, "src")):
            failures.append("a folder that is no room was not caught")
    for f in failures:
        print("check_layers self-test: " + f, file=sys.stderr)
    print("check_layers self-test: " + ("FAILED" if failures else "ok"))
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    errors = check(argv[1])
    for e in errors:
        print("check_layers: " + e, file=sys.stderr)
    print(f"check_layers: {len(errors)} violation(s) of the include rule")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
