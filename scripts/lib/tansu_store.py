"""Adds the indexes that tansu 0.6's SQLite store lacks, once tansu has created its tables.

  tansu_store.py <path of the SQLite file> [--wait SECONDS]

Without them tansu slows down as data piles up. Its `header` table has no index at all, so
every record a fetch returns looks up its headers with a scan of every header the broker
keeps. The mesh writes ten headers per event (CloudEvents, request id, traceparent). An hour
of orders makes each fetched record cost milliseconds. And tansu serves every request through
one SQLite connection at a time, so a busy minute also starves the group heartbeats: consumer
sessions time out. Retention deletes cascade into `header` and scan it once per deleted
record. Each write also updates `watermark` by topic partition, and that table has no index.

`CREATE INDEX IF NOT EXISTS` is a no-op on a store that has them already, and tansu's own
`CREATE TABLE IF NOT EXISTS` leaves them alone. `tansu-broker` runs this beside tansu. It waits
for the tables of a new store, so it never creates the file. It waits out tansu's write locks.
"""

import argparse
import sqlite3
import sys
import time

# name -> (table, columns). The names say whose they are: tansu's own are sqlite_autoindex_*.
INDEXES = {
    "mesh_header_record": ("header", "topition, offset_id"),
    "mesh_watermark_topition": ("watermark", "topition"),
}


def tables(path: str) -> set[str]:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.OperationalError:
        # Not there yet, or not a database yet: tansu is still creating it.
        return set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for tansu's tables")
    args = parser.parse_args()

    needed = {table for table, _ in INDEXES.values()}
    deadline = time.monotonic() + args.wait
    while not needed <= tables(args.path):
        if time.monotonic() > deadline:
            print(f"tansu_store: no tables {sorted(needed)} in {args.path} after {args.wait:g} s", file=sys.stderr)
            return 1
        time.sleep(0.1)

    # mode=rw: never create the file; timeout: wait for tansu's write lock rather than fail.
    with sqlite3.connect(f"file:{args.path}?mode=rw", uri=True, timeout=30) as conn:
        existing = {row[0] for row in conn.execute("select name from sqlite_master where type = 'index'")}
        for name, (table, columns) in INDEXES.items():
            if name not in existing:
                conn.execute(f"create index if not exists {name} on {table} ({columns})")
                print(f"tansu_store: created index {name} on {table} ({columns})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
