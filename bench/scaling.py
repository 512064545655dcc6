"""How search cost grows with the index: latency at 1k, 10k and 50k chunks.

The corpus is synthetic and generated here: sentences over a fixed vocabulary with
names, places and dates, so the graph has realistic entities. Chunk vectors are
deterministic pseudo-embeddings (a random projection of the words) rather than MiniLM's,
which would take half an hour to compute for 50k chunks; queries are embedded with the
real MiniLM. Relevance is not measured here, only cost: Hearth's full search against
the dense-only query (chromadb alone) at the same size, in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import TOWN_WORDS, machine_description, percentile, print_table, write_json

SIZES = (1_000, 10_000, 50_000)
QUERIES = 60
CHUNKS_PER_DOCUMENT = 10
NAMES = [
    "Ada Quinlan",
    "Bertram Osei",
    "Clara Vint",
    "Dmitri Halloran",
    "Esme Tanaka",
    "Farid Nouri",
    "Greta Lund",
    "Hugo Marsh",
    "Ines Falk",
    "Jonah Reyes",
]
PLACES = ["Ashford", "Bramley", "Carrow", "Dunmere", "Elston", "Fairlie", "Glenross"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def synthetic_chunk(rng: random.Random, number: int) -> str:
    sentences = []
    for _ in range(9):
        words = " ".join(rng.choice(TOWN_WORDS) for _ in range(10))
        sentences.append(
            f"{rng.choice(NAMES)} met in {rng.choice(PLACES)} on {rng.choice(MONTHS)} "
            f"{rng.randint(1, 28)} about the {words}."
        )
    return f"Record {number}. " + " ".join(sentences)


def pseudo_embedding(text: str, dimensions: int = 384) -> np.ndarray[Any, np.dtype[np.float32]]:
    vector = np.zeros(dimensions, dtype=np.float32)
    for word in text.lower().split():
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        seed = int.from_bytes(digest, "little")
        vector += np.random.default_rng(seed).standard_normal(dimensions).astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def grow_index(store: Any, target: int, start: int, rng: random.Random) -> None:
    from hearth.index.entities import NAME, TITLE, extract_entities
    from hearth.index.indexer import cooccurrence_edges
    from hearth.index.store import DocumentWrite, PreparedChunk, chunk_identity

    batch: list[DocumentWrite] = []
    entity_vectors: dict[str, Any] = {}
    for first in range(start, target, CHUNKS_PER_DOCUMENT):
        path = f"/synthetic/document-{first // CHUNKS_PER_DOCUMENT:05d}.txt"
        chunks = []
        for ordinal in range(CHUNKS_PER_DOCUMENT):
            text = synthetic_chunk(rng, first + ordinal)
            entities = dict(extract_entities(text))
            for entity in entities:
                if entity.kind in (NAME, TITLE):
                    entity_vectors.setdefault(entity.key, pseudo_embedding(entity.name))
            chunks.append(
                PreparedChunk(
                    chunk_identity(path, "synthetic", ordinal),
                    ordinal,
                    None,
                    None,
                    0,
                    len(text),
                    text,
                    entities,
                )
            )
        vectors = np.stack([pseudo_embedding(t) for c in chunks for t in c.passage_texts()])
        batch.append(
            DocumentWrite(
                path,
                "synthetic",
                "text",
                path,
                None,
                0,
                chunks,
                vectors,
                cooccurrence_edges(chunks),
            )
        )
        if len(batch) * CHUNKS_PER_DOCUMENT >= 500:
            store.write_documents(batch, entity_vectors)
            batch, entity_vectors = [], {}
    if batch:
        store.write_documents(batch, entity_vectors)


def run(work: Path, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    from hearth.index.embedder import Embedder
    from hearth.index.retrieve import Retriever
    from hearth.index.store import IndexStore

    rng = random.Random(20261121)
    embedder = Embedder()
    embedder.embed(["warm up"])
    store = IndexStore(work / "index")
    retriever = Retriever(store, embedder)
    queries = [
        f"What did {rng.choice(NAMES)} say about the {rng.choice(TOWN_WORDS)} in "
        f"{rng.choice(PLACES)} on {rng.choice(MONTHS)} {rng.randint(1, 28)}?"
        for _ in range(QUERIES)
    ]
    rows: dict[str, Any] = {}
    size = store.chunk_count()  # a kept index (--index) grows from where it stopped
    for target in sizes:
        if target < size:
            print(f"skipping {target:,} chunks: the kept index already holds {size:,}")
            continue
        started = time.perf_counter()
        grow_index(store, target, size, rng)
        build_seconds = time.perf_counter() - started
        size = target
        retriever.search(queries[0])  # the first search after a write rebuilds caches
        hearth_ms, dense_ms = [], []
        for query in queries:
            begin = time.perf_counter()
            retriever.search(query, k=5)
            hearth_ms.append((time.perf_counter() - begin) * 1000)
            begin = time.perf_counter()
            store.dense_search(embedder.embed_one(query), 5)
            dense_ms.append((time.perf_counter() - begin) * 1000)
        rows[str(target)] = {
            "chunks": store.counts()["chunks"],
            "entities": store.counts()["entities"],
            "build_seconds": build_seconds,
            "hearth_p50_ms": percentile(hearth_ms, 0.5),
            "hearth_p95_ms": percentile(hearth_ms, 0.95),
            "dense_p50_ms": percentile(dense_ms, 0.5),
            "dense_p95_ms": percentile(dense_ms, 0.95),
        }
        rows[str(target)]["hearth_over_dense_p50"] = (
            rows[str(target)]["hearth_p50_ms"] / rows[str(target)]["dense_p50_ms"]
        )
    if "1000" in rows:  # growth is named for 1k, so only when 1k was measured
        base = rows["1000"]["hearth_p50_ms"]
        for row in rows.values():
            row["p50_growth_vs_1k"] = row["hearth_p50_ms"] / base
    store.close()
    return {"sizes": rows, "queries": QUERIES, "machine": machine_description()}


def main(argv: list[str] | None = None) -> int:
    from hearth.offline import enforce_offline

    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--index", type=Path, help="keep the index here (reused next time)")
    args = parser.parse_args(argv)
    if args.index is not None:
        result = run(args.index, tuple(sorted(args.sizes)))
    else:
        with tempfile.TemporaryDirectory(prefix="hearth-scaling-") as work:
            result = run(Path(work), tuple(sorted(args.sizes)))
    if not result["sizes"]:
        print("nothing measured: the kept index is larger than every size asked for")
        return 1
    print_table(
        ["chunks", "hearth p50 ms", "hearth p95 ms", "dense p50 ms", "hearth/dense", "growth"],
        [
            [
                row["chunks"],
                row["hearth_p50_ms"],
                row["hearth_p95_ms"],
                row["dense_p50_ms"],
                row["hearth_over_dense_p50"],
                row.get("p50_growth_vs_1k", "-"),
            ]
            for row in result["sizes"].values()
        ],
    )
    write_json(args.out, result)
    return 0
