"""What the assistant keeps so it need not ask the model twice: partial summaries and the
questions suggested for a document.

Its own SQLite file in the data folder (the index owns documents, not what a model wrote
about them). Entries are keyed by what they were made from (model, prompt version, chunk
ids, which are content hashes), so a changed document simply misses; removing a document
forgets its entries. Only complete results are stored: a stopped generation never is.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from hearth.migrations import Migrations, apply_migrations
from hearth.paths import hearth_paths

MIGRATIONS: Migrations = [
    (
        "0001_summaries_and_suggestions",
        """
        CREATE TABLE summaries (
            key TEXT PRIMARY KEY,
            document_path TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX summaries_by_document ON summaries(document_path);
        CREATE TABLE suggestions (
            key TEXT PRIMARY KEY,
            document_path TEXT NOT NULL,
            questions_json TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX suggestions_by_document ON suggestions(document_path);
        """,
    ),
]


class AssistantCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or hearth_paths().data / "assistant-cache.sqlite3"
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self._lock = threading.Lock()
        with self._lock:
            apply_migrations(self.db, MIGRATIONS)

    def close(self) -> None:
        self.db.close()

    def summary(self, key: str) -> str | None:
        with self._lock:
            row = self.db.execute("SELECT text FROM summaries WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def store_summary(self, key: str, document_path: str, text: str) -> None:
        with self._lock:
            self.db.execute(
                "INSERT OR REPLACE INTO summaries (key, document_path, text, created_at) "
                "VALUES (?, ?, ?, ?)",
                (key, document_path, text, time.time()),
            )

    def suggestions(self, key: str) -> list[str] | None:
        with self._lock:
            row = self.db.execute(
                "SELECT questions_json FROM suggestions WHERE key = ?", (key,)
            ).fetchone()
        return [str(q) for q in json.loads(row[0])] if row else None

    def store_suggestions(self, key: str, document_path: str, questions: list[str]) -> None:
        with self._lock:
            self.db.execute(
                "INSERT OR REPLACE INTO suggestions (key, document_path, questions_json, "
                "created_at) VALUES (?, ?, ?, ?)",
                (key, document_path, json.dumps(questions), time.time()),
            )

    def latest_suggestions(self, document_paths: list[str], limit: int) -> list[str]:
        """Up to ``limit`` suggested questions for these documents, newest documents first."""
        if not document_paths:
            return []
        marks = ",".join("?" * len(document_paths))
        with self._lock:
            rows = self.db.execute(
                f"SELECT questions_json FROM suggestions WHERE document_path IN ({marks}) "
                "ORDER BY created_at DESC",
                document_paths,
            ).fetchall()
        questions: list[str] = []
        for (questions_json,) in rows:
            questions += [str(q) for q in json.loads(questions_json)]
        return questions[:limit]

    def forget_document(self, document_path: str) -> None:
        with self._lock:
            self.db.execute("DELETE FROM summaries WHERE document_path = ?", (document_path,))
            self.db.execute("DELETE FROM suggestions WHERE document_path = ?", (document_path,))
