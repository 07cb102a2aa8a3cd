"""The SQLite triggers of the embedded default refuse changes to signatures, as PostgreSQL's do."""

from __future__ import annotations

import importlib
import sqlite3

import pytest

migration = importlib.import_module("apps.signoffs.migrations.0002_signatures_append_only")


@pytest.mark.parametrize("table", migration.TABLES)
def test_sqlite_refuses_update_and_delete_of_signatures(table):
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, comment TEXT)")
    for statement in migration._sqlite(table):
        db.execute(statement)
    db.execute(f"INSERT INTO {table} (comment) VALUES ('signed')")

    for sql in (f"UPDATE {table} SET comment = 'edited'", f"DELETE FROM {table}"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(sql)
    assert db.execute(f"SELECT comment FROM {table}").fetchall() == [("signed",)]
