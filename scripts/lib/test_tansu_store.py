"""Tests of tansu_store.py: the indexes land on tansu's tables, a second run changes nothing,
and a new store gets its tables from tansu itself (the real one, on a port of its own) before
the indexes go on, after which tansu starts on it.

The hand-made tables have the columns of tansu 0.6's `header` and `watermark` that the indexes
name; the scripts' own runs (scripts/test, scripts/bench) use the script on a real store too.
"""

import os
import pathlib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

SCRIPT = pathlib.Path(__file__).resolve().parent / "tansu_store.py"

TABLES = """
create table header (topition integer, offset_id integer, k blob, v blob);
create table watermark (id integer primary key autoincrement, topition integer, low integer, high integer);
"""

# tansu's own header lookup (sql/header_fetch.sql), reduced to the table the index serves.
HEADER_FETCH = "select h.k, h.v from header h where h.topition = ? and h.offset_id = ?"


def run(path, *args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path), *args], capture_output=True, text=True, timeout=60
    )


def indexes(path):
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("select name from sqlite_master where type = 'index'")}


class TansuStoreTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = pathlib.Path(self.dir.name) / "data.db"

    def tearDown(self):
        self.dir.cleanup()

    def test_headers_are_looked_up_by_index_once_it_ran(self):
        with sqlite3.connect(self.path) as conn:
            conn.executescript(TABLES)
            plan = " ".join(row[3] for row in conn.execute(f"explain query plan {HEADER_FETCH}", (1, 2)))
            self.assertIn("SCAN", plan)
        result = run(self.path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("mesh_header_record", result.stderr)
        with sqlite3.connect(self.path) as conn:
            plan = " ".join(row[3] for row in conn.execute(f"explain query plan {HEADER_FETCH}", (1, 2)))
        self.assertIn("USING INDEX mesh_header_record", plan)
        self.assertIn("mesh_watermark_topition", indexes(self.path))

    def test_a_second_run_changes_nothing(self):
        with sqlite3.connect(self.path) as conn:
            conn.executescript(TABLES)
        self.assertEqual(run(self.path).returncode, 0)
        again = run(self.path)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stderr, "")

    def test_a_new_store_gets_tansus_tables_from_a_first_start_then_the_indexes(self):
        tansu = pathlib.Path(os.environ.get("TANSU", pathlib.Path.home() / ".cargo/bin/tansu"))
        if not tansu.is_file():
            self.skipTest(f"no tansu at {tansu} (scripts/test installs it; TANSU= names another)")
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        command = [str(tansu), "broker", "--listener-url", url, "--advertised-listener-url", url,
                   "--storage-engine", "sqlite://data.db"]
        result = subprocess.run([sys.executable, str(SCRIPT), "data.db", "--", *command],
                                cwd=self.dir.name, capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("mesh_header_record", indexes(self.path))
        self.assertIn("mesh_watermark_topition", indexes(self.path))
        self.assertFalse(listening(port), "the first start must use a port of its own, and be gone")

        # The broker then starts on the indexed store and serves (tansu 0.6 panics at start-up
        # when the store is locked, as it was when the indexes went on beside it).
        broker = subprocess.Popen(command, cwd=self.dir.name, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 30
            while not listening(port) and broker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertTrue(listening(port), "tansu did not listen on the indexed store")
        finally:
            broker.terminate()
            output, _ = broker.communicate(timeout=30)
        self.assertNotIn("database is locked", output)

    def test_a_store_without_tables_and_no_tansu_to_make_them_is_refused_untouched(self):
        result = run(self.path)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no tables", result.stderr)
        self.assertFalse(self.path.exists(), "the script must not create the store")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
