"""Named SQLite migrations: each applied once, in order, in its own transaction, and
recorded by name in a ``migrations`` table. Never edit a shipped migration: add one."""

from __future__ import annotations

import sqlite3
import time

Migrations = list[tuple[str, str]]


def apply_migrations(db: sqlite3.Connection, migrations: Migrations) -> list[str]:
    """Apply what ``db`` has not had yet (``db`` in autocommit mode); the names applied."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    done = {str(row[0]) for row in db.execute("SELECT name FROM migrations")}
    applied = []
    for name, sql in migrations:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, sql.split(";")):
                db.execute(statement)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(name)
    return applied
