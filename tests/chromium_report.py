#!/usr/bin/env python3
"""Renders the heap report in headless Chromium and checks what a person would see.

Runs test_tools_report with REFHEAP_REPORT_DIR (it writes two snapshots and the
report there), turns the snapshots into a second report and a text table with
rhreport, then for each page: a screenshot that must not be blank (more than
MIN_COLOURS distinct colours, decoded with zlib alone), no script error in
Chromium's console log, and the DOM after scripts ran must carry the marker
the page's script sets (body data-ready="1"). Exit 77 (skipped) without Chromium.

usage: chromium_report.py [--cli-only] TEST_TOOLS_REPORT RHREPORT
(--cli-only: only the checks of rhreport, without a browser)
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

SKIP = 77
MIN_COLOURS = 16


def png_colours(path):
    """The number of distinct pixel colours of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("unsupported PNG layout")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours = set()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        if y % 4 == 0:  # every fourth row is plenty to count colours
            for x in range(0, stride, bpp * 2):
                colours.add(bytes(line[x:x + 3]))
        prev = line
    return len(colours)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def render(browser, page, tmp):
    shot = os.path.join(tmp, os.path.basename(page) + ".png")
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--user-data-dir=" + os.path.join(tmp, "profile")]
    r = subprocess.run(common + ["--enable-logging=stderr", "--v=0", "--window-size=1100,1400",
                                 "--screenshot=" + shot, "file://" + page],
                       capture_output=True, text=True, timeout=120)
    log = r.stderr
    errors = [l for l in log.splitlines()
              if "Uncaught" in l or ("CONSOLE" in l and "error" in l.lower())]
    if errors:
        sys.exit("script error in %s:\n%s" % (page, "\n".join(errors)))
    if r.returncode != 0 or not os.path.exists(shot):
        sys.exit("chromium failed on %s (rc %d):\n%s" % (page, r.returncode, log[-2000:]))
    n = png_colours(shot)
    print("%s: %d distinct colours in the screenshot" % (os.path.basename(page), n))
    if n <= MIN_COLOURS:
        sys.exit("the screenshot of %s looks blank (%d colours)" % (page, n))
    dom = subprocess.run(common + ["--dump-dom", "file://" + page], capture_output=True, text=True,
                         timeout=120).stdout
    if 'data-ready="1"' not in dom:
        sys.exit("the page's script did not run to its end in %s" % page)


def main():
    args = sys.argv[1:]
    cli_only = args[:1] == ["--cli-only"]
    if cli_only:
        args = args[1:]
    if len(args) != 2:
        sys.exit(__doc__)
    gen, rhreport = args
    browser = None if cli_only else chromium()
    if not browser and not cli_only:
        print("chromium is not installed: skipped")
        return SKIP
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, REFHEAP_REPORT_DIR=tmp)
        subprocess.run([gen], env=env, check=True, capture_output=True)
        before, after = os.path.join(tmp, "before.snap"), os.path.join(tmp, "after.snap")
        cli = os.path.join(tmp, "cli.html")
        subprocess.run([rhreport, "-o", cli, "--title", "rhreport", after, before], check=True)
        table = subprocess.run([rhreport, "--text", "--limit", "3", after, before], check=True,
                               capture_output=True, text=True).stdout
        site = open(os.path.join(tmp, "leak_site.txt")).read().strip()
        first = table.splitlines()[1]
        if not first.startswith(site + ":"):
            sys.exit("rhreport --text: the first grower is not the leak %s:\n%s" % (site, table))
        bad = subprocess.run([rhreport, os.path.join(tmp, "leak_site.txt")], capture_output=True, text=True)
        if bad.returncode != 1 or "snapshot:" not in bad.stderr:
            sys.exit("rhreport accepted a file that is not a snapshot")
        if not os.path.getsize(cli) or "</html>" not in open(cli).read():
            sys.exit("rhreport wrote no complete page")
        if cli_only:
            print("rhreport: the report, the table (first grower %s) and the error checked" % site)
            return 0
        for page in (os.path.join(tmp, "report.html"), cli):
            render(browser, page, tmp)
    print("reports rendered: not blank, no script error")
    return 0


if __name__ == "__main__":
    sys.exit(main())
