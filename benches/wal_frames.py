#!/usr/bin/env python3
"""Which tables and indexes the pages a poll writes belong to.

Runs the pipeline bench binary, attaches strace to it between two lines of its
output, decodes the page number of every WAL frame the store writes (from the
24-byte frame headers), then maps page numbers to tables and indexes with
SQLite's `dbstat` on the live store (read only) and prints, per table, the
frames written and the distinct pages among them.

    cargo bench --bench pipeline --no-run   # then, with the binary it names:
    FEEDLOOM_BENCH_PLUS5_AGAIN=1 python3 benches/wal_frames.py \\
        target/release/deps/pipeline-<hash> '| +5 per feed |' '+5 per feed (again, 1)'

A fourth argument names the store file (default `bench.db`; the million-item
scenarios use `grown.db`: start 'Store::open:', stop '| cold at').
(Needs strace. Frames are attributed to the table owning the page at the end:
a page freed by an FTS5 merge and reused by another table within the window
counts for the latter.)
"""

import collections
import glob
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

WRITE = re.compile(
    r'\d+\s+pwrite64\((\d+), "((?:\\x[0-9a-f]{2})*)"(?:\.\.\.)?, (\d+), (\d+)\)\s+= \d+')


def wait_for(path, text, proc):
    while True:
        with open(path, encoding="utf-8", errors="replace") as f:
            if text in f.read():
                return
        if proc.poll() is not None:
            sys.exit(f"the bench ended before printing {text!r}")
        time.sleep(0.02)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    binary, start, stop = sys.argv[1:4]
    name = sys.argv[4] if len(sys.argv) == 5 else "bench.db"
    work = tempfile.mkdtemp(prefix="wal-frames-")
    out, trace = os.path.join(work, "bench.out"), os.path.join(work, "strace.log")
    # (The bench's temporary directory, where TMPDIR says, as Python's.)
    pattern = os.path.join(tempfile.gettempdir(), ".tmp*", name)
    before = set(glob.glob(pattern))
    with open(out, "w") as o:
        bench = subprocess.Popen([binary, "--bench"], stdout=o, stderr=subprocess.STDOUT)
    wait_for(out, start, bench)
    tracer = subprocess.Popen(
        ["strace", "-f", "-qq", "-xx", "-s", "24", "-e", "trace=pwrite64",
         "-p", str(bench.pid), "-o", trace])
    time.sleep(0.5)
    if tracer.poll() is not None:
        bench.kill()
        sys.exit(f"strace could not attach to the bench (exit {tracer.returncode})")
    wait_for(out, stop, bench)
    tracer.terminate()
    tracer.wait()
    stores = [p for p in glob.glob(pattern) if p not in before]
    if len(stores) != 1:
        sys.exit(f"cannot tell the bench's store among {stores}")
    db = sqlite3.connect(f"file:{stores[0]}?mode=ro", uri=True)
    owner = {page: name for name, page in db.execute("SELECT name, pageno FROM dbstat")}
    size = collections.Counter(owner.values())
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    page_kib = page_size / 1024
    vacuum = db.execute("PRAGMA auto_vacuum").fetchone()[0]
    db.close()
    # With auto_vacuum, page 2 and every (usable size / 5 + 1)th page after it
    # are pointer-map pages, which dbstat does not list.
    span = page_size // 5 + 1

    def is_ptrmap(page):
        return vacuum != 0 and page >= 2 and (page - 2) % span == 0
    bench.wait()

    # SQLite writes a frame as a 24-byte header (page number, then the
    # database size for a commit frame) and the page right after it. A page
    # changed again within the transaction is written again over its frame
    # (the page only), and at COMMIT the headers from there on are written
    # again with new checksums: so pages are counted by their own writes,
    # each attributed to the header last written just before it.
    frames, pages, commits = collections.Counter(), collections.defaultdict(set), 0
    header_at, wal_fd = {}, None
    with open(trace, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = WRITE.match(line)
            if not m:
                continue
            fd, data, length, offset = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
            if length == 24:
                wal_fd = fd
                header = bytes(int(h, 16) for h in re.findall(r"\\x([0-9a-f]{2})", data))
                page = int.from_bytes(header[:4], "big")
                commit = int.from_bytes(header[4:8], "big") != 0
                # (A header written again at COMMIT is never a commit frame's.)
                commits += commit
                header_at[offset] = page
            elif fd == wal_fd and offset - 24 in header_at:
                page = header_at[offset - 24]
                name = owner.get(page) or ("(pointer map)" if is_ptrmap(page) else "(free or new)")
                frames[name] += 1
                pages[name].add(page)
    total = sum(frames.values())
    print(f"{total} pages written to the WAL ({total * page_kib / 1024:.0f} MiB), {commits} commits")
    print(f"{'table or index':32} {'writes':>8} {'share':>7} {'distinct pages':>15} {'pages now':>10}")
    for name, n in frames.most_common():
        print(f"{name:32} {n:8} {100 * n / total:6.1f}% {len(pages[name]):15} {size.get(name, 0):10}")


if __name__ == "__main__":
    main()
