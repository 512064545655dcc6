"""Reading the index's SQLite rows: documents, chunks, the entity graph and the keyword
index (FTS5), as listing, summaries and retrieval ask for them. All of it is SQL over one
connection (``rows.IndexRows`` opens it, applies the schema and writes)."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from hearth.index.keywords import fts_match_expression
from hearth.index.records import ChunkRecord, DocumentRecord

IN_BATCH = 500  # well under SQLite's limit on bound parameters
DOCUMENT_COLUMNS = (
    "id, path, content_hash, kind, title, page_count, chunk_count, entity_count, size_bytes,"
    " indexed_at, reader_version"
)
CHUNK_RECORD_COLUMNS = (
    "c.rowid, c.chunk_id, c.document_id, d.path, c.ordinal, c.page, c.heading, c.start, c.end,"
    " c.text, c.ocr"
)


def chunk_record(row: tuple[Any, ...]) -> ChunkRecord:
    """A row of CHUNK_RECORD_COLUMNS (SQLite gives the OCR flag as 0 or 1)."""
    rowid, chunk_id, document_id, path, ordinal, page, heading, start, end, text, ocr = row
    return ChunkRecord(
        rowid, chunk_id, document_id, path, ordinal, page, heading, start, end, text, bool(ocr)
    )


def rows_where_in(
    db: sqlite3.Connection, query: str, values: Iterable[Any]
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``query`` (ending in "WHERE <column>") for the column IN ``values``, asked in
    batches so any number of values works."""
    values = list(values)
    for start in range(0, len(values), IN_BATCH):
        batch = values[start : start + IN_BATCH]
        yield from db.execute(f"{query} IN ({','.join('?' * len(batch))})", batch)


def entity_ids(db: sqlite3.Connection, keys: Iterable[str]) -> dict[str, int]:
    """The stored entities among ``keys``, by key."""
    query = "SELECT id, key FROM entities WHERE key"
    return {str(key): int(entity_id) for entity_id, key in rows_where_in(db, query, keys)}


class IndexQueries:
    """The reads. One connection, used from one thread at a time per instance."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    # -- documents -------------------------------------------------------------------------
    def document(self, path: str) -> DocumentRecord | None:
        row = self.db.execute(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE path = ?", (path,)
        ).fetchone()
        return DocumentRecord(*row) if row else None

    def documents(self) -> list[DocumentRecord]:
        rows = self.db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY path")
        return [DocumentRecord(*row) for row in rows.fetchall()]

    def counts(self) -> dict[str, int]:
        def count(table: str) -> int:
            return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        return {
            "documents": count("documents"),
            "chunks": count("chunks"),
            "entities": count("entities"),
        }

    def documents_to_reindex(self) -> list[str]:
        """Paths taken out of the index by a format change or an interrupted write."""
        return [str(r[0]) for r in self.db.execute("SELECT path FROM reindex_wanted ORDER BY path")]

    def document_chunks(self, path: str) -> list[tuple[str, str]]:
        """(chunk id, text) of a document in order."""
        return [
            (str(chunk_id), str(text))
            for chunk_id, text in self.db.execute(
                "SELECT c.chunk_id, c.text FROM chunks c JOIN documents d ON d.id = c.document_id"
                " WHERE d.path = ? ORDER BY c.ordinal",
                (path,),
            )
        ]

    def key_entities(self, path: str, kinds: tuple[str, ...], limit: int) -> list[str]:
        """The document's most telling entities: mentions here times rarity elsewhere."""
        (total,) = self.db.execute("SELECT count(*) FROM chunks").fetchone()
        marks = ",".join("?" * len(kinds))
        rows = self.db.execute(
            "SELECT e.name, sum(ec.count) AS here,"
            " (SELECT count(*) FROM entity_chunks x WHERE x.entity_id = e.id) AS df"
            " FROM entity_chunks ec JOIN entities e ON e.id = ec.entity_id"
            " JOIN chunks c ON c.rowid = ec.chunk_rowid JOIN documents d ON d.id = c.document_id"
            f" WHERE d.path = ? AND e.kind IN ({marks}) GROUP BY e.id",
            (path, *kinds),
        ).fetchall()
        scored = sorted(
            rows, key=lambda r: -float(r[1]) * math.log(1.0 + int(total) / max(1, int(r[2])))
        )
        return [str(name) for name, _, _ in scored[:limit]]

    # -- what the vectors must agree with ----------------------------------------------------
    def chunk_ids(self) -> set[str]:
        return {str(r[0]) for r in self.db.execute("SELECT chunk_id FROM chunks")}

    def entity_keys(self) -> set[str]:
        return {str(r[0]) for r in self.db.execute("SELECT key FROM entities")}

    def known_entity_keys(self, keys: Iterable[str]) -> set[str]:
        return set(entity_ids(self.db, keys))

    def paths_of_chunks(self, chunk_ids: Iterable[str]) -> list[str]:
        """The documents holding these chunks, each once, in order."""
        query = (
            "SELECT DISTINCT d.path FROM documents d JOIN chunks c ON c.document_id = d.id"
            " WHERE c.chunk_id"
        )
        return sorted({str(r[0]) for r in rows_where_in(self.db, query, sorted(chunk_ids))})

    # -- the graph, as retrieval reads it ------------------------------------------------------
    def entities_with_chunk_counts(self) -> list[tuple[int, str, str, str, int]]:
        """(id, key, name, kind, number of chunks mentioning it) of every entity."""
        rows = self.db.execute(
            "SELECT e.id, e.key, e.name, e.kind, count(ec.chunk_rowid) FROM entities e"
            " LEFT JOIN entity_chunks ec ON ec.entity_id = e.id GROUP BY e.id"
        ).fetchall()
        return [(int(a), str(b), str(c), str(d), int(e)) for a, b, c, d, e in rows]

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def graph_version(self) -> tuple[int, int, int, float]:
        """Changes whenever a document is written or removed (for caches of graph facts)."""
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM entities), (SELECT coalesce(max(id), 0) FROM entities),"
            " (SELECT count(*) FROM documents), (SELECT coalesce(max(indexed_at), 0)"
            " FROM documents)"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2]), float(row[3])

    def entity_neighbours(self, entity_id: int, limit: int) -> list[tuple[int, float]]:
        """The entities most often seen with this one, co-occurrence summed over documents."""
        return [
            (int(b), float(w))
            for b, w in self.db.execute(
                "SELECT b, sum(weight) AS w FROM entity_edges WHERE a = ? GROUP BY b"
                " ORDER BY w DESC LIMIT ?",
                (entity_id, limit),
            )
        ]

    def chunks_mentioning(self, entity_id: int, limit: int) -> list[int]:
        return [
            int(rowid)
            for (rowid,) in self.db.execute(
                "SELECT chunk_rowid FROM entity_chunks WHERE entity_id = ? LIMIT ?",
                (entity_id, limit),
            )
        ]

    def chunks_mentioning_any(self, entity_ids: list[int]) -> set[int]:
        query = "SELECT chunk_rowid FROM entity_chunks WHERE entity_id"
        return {int(row[0]) for row in rows_where_in(self.db, query, entity_ids)}

    def entity_weighted_chunks(
        self,
        weights: dict[int, float],
        factors: Iterable[tuple[int, float]],
        factor_cap: float,
        rowids: list[int] | None,
        limit: int | None,
    ) -> dict[int, float]:
        """Per chunk, the sum over ``weights``' entities of weight x a mention factor (by how
        often the chunk names it, ``factor_cap`` beyond ``factors``), summed inside SQLite:
        the ``limit`` best chunks, or exactly ``rowids``."""
        factor_pairs = list(factors)
        chunk_filter = (
            "" if rowids is None else f"WHERE ec.chunk_rowid IN ({','.join('?' * len(rowids))})"
        )
        query = (
            f"WITH w(entity_id, weight) AS (VALUES {','.join(['(?, ?)'] * len(weights))}),"
            f" f(count, factor) AS (VALUES {','.join(['(?, ?)'] * len(factor_pairs))})"
            " SELECT ec.chunk_rowid, sum(w.weight * coalesce(f.factor, ?)) AS score"
            " FROM entity_chunks ec JOIN w ON w.entity_id = ec.entity_id"
            f" LEFT JOIN f ON f.count = ec.count {chunk_filter}"
            " GROUP BY ec.chunk_rowid ORDER BY score DESC"
        )
        # Parameters in the order the query names them.
        params: list[float | int] = [x for pair in weights.items() for x in pair]
        params += [x for pair in factor_pairs for x in pair]
        params.append(factor_cap)
        params += rowids or []
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        return {int(rowid): float(score) for rowid, score in self.db.execute(query, params)}

    # -- chunks ------------------------------------------------------------------------------
    def chunk_rowid_at(self, document_id: int, ordinal: int) -> int | None:
        row = self.db.execute(
            "SELECT rowid FROM chunks WHERE document_id = ? AND ordinal = ?",
            (document_id, ordinal),
        ).fetchone()
        return int(row[0]) if row is not None else None

    def chunks_by_rowid(self, rowids: Iterable[int]) -> dict[int, ChunkRecord]:
        query = (
            f"SELECT {CHUNK_RECORD_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.document_id"
            " WHERE c.rowid"
        )
        return {int(row[0]): chunk_record(row) for row in rows_where_in(self.db, query, rowids)}

    def rowids_for_chunk_ids(self, chunk_ids: list[str]) -> dict[str, int]:
        query = "SELECT rowid, chunk_id FROM chunks WHERE chunk_id"
        return {
            str(chunk_id): int(rowid)
            for rowid, chunk_id in rows_where_in(self.db, query, chunk_ids)
        }

    # -- the keyword index -------------------------------------------------------------------
    def keyword_search(self, terms: list[str], limit: int) -> list[tuple[int, float]]:
        """(chunk rowid, BM25 score; higher is better) for chunks with any of ``terms``."""
        expression = fts_match_expression(terms)
        if expression is None:
            return []
        rows = self.db.execute(
            "SELECT rowid, bm25(chunk_fts) FROM chunk_fts WHERE chunk_fts MATCH ?"
            " ORDER BY bm25(chunk_fts) LIMIT ?",
            (expression, limit),
        ).fetchall()
        return [(int(rowid), -float(score)) for rowid, score in rows]

    def keyword_chunk_count(self, term: str) -> int:
        """How many chunks hold ``term`` (the keyword index stems it as it stems the text)."""
        expression = fts_match_expression([term])
        if expression is None:
            return 0
        row = self.db.execute(
            "SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH ?", (expression,)
        ).fetchone()
        return int(row[0])
