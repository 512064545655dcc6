"""Named SQLite migrations: each applied once, in order, in its own transaction, and
recorded by name in a ``migrations`` table. Never edit a shipped migration: add one.

A step is SQL, or a function of the connection where what to do depends on what is there
(a column that a file written before its migrations were named may have already)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

MigrationStep = str | Callable[[sqlite3.Connection], None]
Migrations = list[tuple[str, MigrationStep]]


def apply_migrations(db: sqlite3.Connection, migrations: Migrations) -> list[str]:
    """Apply what ``db`` has not had yet (``db`` in autocommit mode); the names applied."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    done = {str(row[0]) for row in db.execute("SELECT name FROM migrations")}
    applied = []
    for name, step in migrations:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            # Asked again inside the transaction: another connection may have applied it.
            if db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                db.execute("COMMIT")
                continue
            if isinstance(step, str):
                for statement in filter(str.strip, step.split(";")):
                    db.execute(statement)
            else:
                step(db)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(name)
    return applied
