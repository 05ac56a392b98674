"""Tests of tansu_store.py: the indexes land on tansu's tables, the script waits for a store
being created without creating it itself, and a second run changes nothing.

The tables here have the columns of tansu 0.6's `header` and `watermark` that the indexes name;
the scripts' own runs (scripts/test, scripts/bench) use it on a real store.
"""

import pathlib
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

    def test_it_waits_for_the_tables_of_a_new_store(self):
        waiting = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(self.path), "--wait", "30"],
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.5)
        self.assertFalse(self.path.exists(), "the script must not create the store")
        with sqlite3.connect(self.path) as conn:
            conn.executescript(TABLES)
        _, stderr = waiting.communicate(timeout=30)
        self.assertEqual(waiting.returncode, 0, stderr)
        self.assertIn("mesh_header_record", indexes(self.path))

    def test_it_gives_up_on_a_store_that_never_comes(self):
        result = run(self.path, "--wait", "0.3")
        self.assertEqual(result.returncode, 1)
        self.assertIn("no tables", result.stderr)
        self.assertFalse(self.path.exists())


if __name__ == "__main__":
    unittest.main()
