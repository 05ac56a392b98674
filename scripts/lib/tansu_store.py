"""Adds the indexes that tansu 0.6's SQLite store lacks, before tansu serves from it.

  tansu_store.py <path of the SQLite file> [-- <tansu command, as it will run>]

Without them tansu slows down as data piles up. Its `header` table has no index at all, so
every record a fetch returns looks up its headers with a scan of every header the broker
keeps. The mesh writes ten headers per event (CloudEvents, request id, traceparent). An hour
of orders makes each fetched record cost milliseconds. And tansu serves every request through
one SQLite connection at a time, so a busy minute also starves the group heartbeats: consumer
sessions time out. Retention deletes cascade into `header` and scan it once per deleted
record. Each write also updates `watermark` by topic partition, and that table has no index.

Nothing may write the store while tansu runs: tansu sets no busy timeout, so a write lock it
meets fails its statement at once, and at start-up (registering the broker) that is a panic.
So `tansu-broker` runs this first and starts tansu only after it returns. A store without
tansu's tables yet (a new one) gets them from tansu itself: the command given after `--` runs
on a spare port until it listens (by then it has created its tables and registered), is
stopped, and the indexes go on the empty tables. A store that has the indexes is only read.

`CREATE INDEX IF NOT EXISTS` is a no-op on a store that has them already, and tansu's own
`CREATE TABLE IF NOT EXISTS` leaves them alone.
"""

import argparse
import signal
import socket
import sqlite3
import subprocess
import sys
import time

# name -> (table, columns). The names say whose they are: tansu's own are sqlite_autoindex_*.
INDEXES = {
    "mesh_header_record": ("header", "topition, offset_id"),
    "mesh_watermark_topition": ("watermark", "topition"),
}
NEEDED = {table for table, _ in INDEXES.values()}

# How long a first start may take to create the tables and listen, and to stop again.
START_SECONDS = 60
STOP_SECONDS = 15


def say(message: str) -> None:
    print(f"tansu_store: {message}", file=sys.stderr, flush=True)


def tables(path: str) -> set[str]:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.OperationalError:
        # Not there yet, or not a database.
        return set()


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def on_port(command: list[str], port: int) -> list[str]:
    """The tansu command with both listener URLs moved to 127.0.0.1:<port>, so that nothing
    waiting for the real port mistakes this short first start for the broker."""
    url = f"tcp://127.0.0.1:{port}"
    moved, skip = [], False
    for arg in command:
        if skip:
            skip = False
        elif arg in ("--listener-url", "--advertised-listener-url"):
            skip = True
        elif not arg.startswith(("--listener-url=", "--advertised-listener-url=")):
            moved.append(arg)
    return moved + ["--listener-url", url, "--advertised-listener-url", url]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def create_tables(path: str, command: list[str]) -> None:
    """Runs tansu on a spare port until it listens with its tables in place, then stops it."""
    port = spare_port()
    say(f"new store {path}: tansu creates its tables first (on 127.0.0.1:{port}, stopped once it listens)")
    # Its output goes where ours does: tansu's log.
    first = subprocess.Popen(on_port(command, port), stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not (listening(port) and NEEDED <= tables(path)):
            if first.poll() is not None:
                raise SystemExit(f"tansu_store: tansu exited ({first.returncode}) before it listened on {port}")
            if time.monotonic() > deadline:
                raise SystemExit(f"tansu_store: tansu did not listen on {port} within {START_SECONDS} s")
            time.sleep(0.1)
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGTERM)
            try:
                first.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                first.kill()
                first.wait()


def create_indexes(path: str) -> None:
    # mode=rw: never create the file. Nothing else has it open: tansu starts after this.
    with sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30) as conn:
        existing = {row[0] for row in conn.execute("select name from sqlite_master where type = 'index'")}
        for name, (table, columns) in INDEXES.items():
            if name not in existing:
                started = time.monotonic()
                conn.execute(f"create index if not exists {name} on {table} ({columns})")
                say(f"created index {name} on {table} ({columns}) in {time.monotonic() - started:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("command", nargs="*", help="the tansu command, after --")
    args = parser.parse_args()

    if not NEEDED <= tables(args.path):
        if not args.command:
            say(f"{args.path} has no tables {sorted(NEEDED)} and no tansu command was given to create them")
            return 1
        create_tables(args.path, args.command)
    create_indexes(args.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
