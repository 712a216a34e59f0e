"""What bench/run.py and bench/callgrind.py share: the log line, reading a
build directory's CMake cache, configuring a build, and Markdown tables."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cache_value(build_dir, key):
    """The value of key in build_dir's CMakeCache.txt, or None (no cache, or no such key)."""
    path = os.path.join(build_dir, "CMakeCache.txt")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            m = re.match(r"^%s:[A-Z]+=(.*)$" % re.escape(key), line.strip())
            if m:
                return m.group(1)
    return None


def configure(cfg, prog):
    """Runs the cmake configure command cfg (logged first); exits naming prog
    on failure, else returns its output (stdout and stderr together)."""
    log("build: " + " ".join(cfg))
    r = subprocess.run(cfg, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit("%s: cmake configure failed:\n" % prog + r.stdout[-4000:])
    return r.stdout


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)
