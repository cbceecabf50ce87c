#!/usr/bin/env python3
"""wal_pages.py DB WAL [WAL...] — which b-trees a workload's commits write, per commit.

Reads the frame headers of WAL files (copies taken while a server runs, e.g.
`cp DB-wal /tmp/w1` a few times under load), keeps each file's valid frames (its header's
salts), splits them at commit frames, and maps every page number to its table or index
through SQLite's dbstat view of DB (the database after the run; a page that moved between
b-trees in the meantime is counted under its later owner). Prints frames per commit in all
and per b-tree, the first commit of each copy left out (it may be cut).
"""
import collections
import sqlite3
import struct
import sys


def commits_of(path):
    data = open(path, "rb").read()
    if len(data) < 32:
        return []
    _magic, _version, page_size, _seq, salt1, salt2, _c1, _c2 = struct.unpack(">8I", data[:32])
    commits, current, offset = [], [], 32
    while offset + 24 + page_size <= len(data):
        page, db_size, s1, s2 = struct.unpack(">4I", data[offset:offset + 16])
        if (s1, s2) != (salt1, salt2):
            break
        current.append(page)
        if db_size:
            commits.append(current)
            current = []
        offset += 24 + page_size
    return commits


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    owner = dict(db.execute("SELECT pageno, name FROM dbstat"))
    frames, commits = collections.Counter(), 0
    for wal in sys.argv[2:]:
        for commit in commits_of(wal)[1:]:
            commits += 1
            for page in commit:
                frames[owner.get(page, "(not in the database now)")] += 1
    if commits == 0:
        sys.exit("no whole commit in those files")
    print("commits %d, frames per commit %.1f" % (commits, sum(frames.values()) / commits))
    for name, n in frames.most_common():
        print("%-40s %.2f" % (name, n / commits))


if __name__ == "__main__":
    main()
