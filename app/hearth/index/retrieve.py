"""Topology-enhanced retrieval over the chunk-entity graph, fused with dense and BM25.

1. Query entities: the same rules as indexing (dates in any spelling, capitalised names,
   titles), plus every 1-4 word run of the query looked up case- and space-insensitively
   in the graph's names, name parts ("Wolfgang" -> "Wolfgang Schulz"), fuzzy matches for
   misspelt names, and entity names whose embedding is close to the query's.
2. Graph walk: chunks that mention a matched entity score by the entity's specificity
   (rarer entities say more); entities that co-occur with it (one more hop) lend their
   chunks a damped score; a chunk passes a share of its score to its neighbours in the
   same document, so a session split over two chunks is found whole.
3. Fusion: dense cosine, BM25 and graph scores are each scaled to [0, 1] over the
   candidates and summed with weights, with the share of the question's words that one
   window of the chunk holds together; chunks with several kinds of evidence win.
"""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from rapidfuzz import fuzz, process

from hearth.index.embedder import Embedder, Vectors
from hearth.index.entities import (
    DATE,
    MONTH,
    NAME,
    QUANTITY,
    TIME,
    TITLE,
    entity_token,
    extract_entities,
    fold,
)
from hearth.index.keywords import STOP_WORDS, proximity_scores, query_terms
from hearth.index.queries import IndexQueries
from hearth.index.query_plan import QueryPlan
from hearth.index.records import ChunkRecord
from hearth.index.store import IndexStore

CANDIDATES_PER_SIGNAL = 60
# Fusion weights, set by comparing a few settings on LiHua-World's aggregate recall (no
# rule looks at its text). Keyword evidence includes the graph's entity tokens.
DENSE_WEIGHT = 0.30
KEYWORD_WEIGHT = 0.50
GRAPH_WEIGHT = 0.15
# The question's words close together in a chunk (keywords.proximity_scores), on top of
# the three. Chosen on LiHua-World's tuning half (even ids; 0.3 to 1.5 compared): one-pass
# R@5 0.905 -> 0.922 there, and the held-out half gained nearly as much (0.880 -> 0.898).
PROXIMITY_WEIGHT = 0.7
SECOND_HOP_DAMPING = 0.15
# Only entities the query surely names join the keyword query as entity tokens.
ENTITY_TOKEN_CONFIDENCE = 0.6
SECOND_HOP_KINDS = frozenset({NAME, DATE, TITLE})
# A bare month ("in August") narrows little; a specific date or a name says much more.
KIND_CONFIDENCE = {MONTH: 0.3, TIME: 0.5, QUANTITY: 0.7}
NEIGHBOUR_SHARE = 0.35
# How many chunks the graph walk reads by direct mentions before fusion fills in the rest.
GRAPH_DIRECT_LIMIT = 200
# Entities in more chunks than this (and this share of the index) only score candidates.
COMMON_ENTITY_MIN_CHUNKS = 1000
COMMON_ENTITY_SHARE = 0.1
# A keyword in more than half the chunks has no weight in BM25 (FTS5 floors its idf at
# 1e-6) but makes FTS5 score every chunk it is in: past this many chunks it is left out.
COMMON_KEYWORD_MIN_CHUNKS = 1000
# A chunk that names an entity n times scores min(1.5, 1 + 0.15 ln n) of its weight.
MENTION_FACTOR_CAP = 1.5
MENTION_FACTORS = [
    (n, min(MENTION_FACTOR_CAP, 1.0 + 0.15 * math.log(n)))
    for n in range(1, 1 + math.ceil(math.exp((MENTION_FACTOR_CAP - 1.0) / 0.15)))
]
# A date the question names outright ("on January 6th", "2026-04-28"), or else a month, is
# close to a filter: chunks that mention it get this much on top of their fused score.
DATE_MATCH_BONUS = 0.2
ENTITY_EMBEDDING_THRESHOLD = 0.62
FUZZY_THRESHOLD = 88.0
MAX_NGRAM = 4
_WORD = re.compile(r"[^\W_][\w'’\-]*", re.UNICODE)


@dataclass(frozen=True)
class GraphEntity:
    id: int
    key: str
    name: str
    kind: str
    chunk_count: int


class GraphWalk(NamedTuple):
    scores: dict[int, float]  # chunk rowid -> graph score, for the chunks the walk reached
    weights: dict[int, float]  # entity id -> the query's weight on it
    read: set[int]  # chunks whose mentions of the walked entities are in ``scores``
    skipped: dict[int, float]  # the common entities the walk left out, with their weights


@dataclass(frozen=True)
class SearchHit:
    chunk: ChunkRecord
    score: float
    evidence: dict[str, float] = field(default_factory=dict)

    @property
    def document(self) -> str:
        return self.chunk.document_path

    @property
    def page(self) -> int | None:
        return self.chunk.page

    def to_json(self) -> dict[str, object]:
        return {
            "document": self.document,
            "page": self.page,
            # Where in the document when there are no pages: a heading, a chapter, rows.
            "heading": self.chunk.heading,
            # Recognised from an image of the page: the words may be misread.
            "ocr": self.chunk.ocr,
            "score": round(self.score, 4),
            "text": self.chunk.text,
        }


class _EntityVocabulary:
    """The graph's entity names in memory for fast query matching, and facts read once per
    index version (neighbours, keyword chunk counts); rebuilt when the index changes."""

    def __init__(self, rows: IndexQueries) -> None:
        entities = rows.entities_with_chunk_counts()
        self.by_key: dict[str, GraphEntity] = {}
        self.by_id: dict[int, GraphEntity] = {}
        self.by_part: dict[str, list[GraphEntity]] = defaultdict(list)
        for entity_id, key, name, kind, count in entities:
            entity = GraphEntity(int(entity_id), str(key), str(name), str(kind), int(count))
            self.by_key[entity.key] = entity
            self.by_id[entity.id] = entity
            if entity.kind == NAME:
                parts = [fold(p) for p in str(name).split()]
                if len(parts) > 1:
                    for part in parts:
                        if len(part) >= 3 and part not in STOP_WORDS:
                            self.by_part[part].append(entity)
        self.name_keys = [k for k, e in self.by_key.items() if e.kind == NAME]
        self.total_chunks = max(1, rows.chunk_count())

        self._neighbours: dict[int, list[tuple[int, float]]] = {}
        self._keyword_chunks: dict[str, int] = {}

    def neighbours(self, rows: IndexQueries, entity_id: int) -> list[tuple[int, float]]:
        """The entities most often seen with this one (summed over documents), cached for
        as long as this vocabulary stands for the index."""
        if entity_id not in self._neighbours:
            self._neighbours[entity_id] = rows.entity_neighbours(entity_id, 8)
        return self._neighbours[entity_id]

    def distinctive_keywords(self, rows: IndexQueries, terms: list[str]) -> list[str]:
        """``terms`` less those in more than half of a large index's chunks (all of them
        when every one is that common: some keyword evidence beats none)."""
        if self.total_chunks <= COMMON_KEYWORD_MIN_CHUNKS:
            return terms
        for term in terms:
            if term not in self._keyword_chunks:
                self._keyword_chunks[term] = rows.keyword_chunk_count(term)
        limit = max(COMMON_KEYWORD_MIN_CHUNKS, self.total_chunks / 2)
        kept = [term for term in terms if self._keyword_chunks[term] <= limit]
        return kept or terms

    def specificity(self, entity: GraphEntity) -> float:
        return math.log(1.0 + self.total_chunks / max(1, entity.chunk_count))


class Retriever:
    def __init__(self, store: IndexStore, embedder: Embedder) -> None:
        self.rows = store.rows
        self.vectors = store.vectors
        self.embedder = embedder
        self._vocabulary: _EntityVocabulary | None = None
        self._vocabulary_version: tuple[int, int, int, float] | None = None
        self._lock = threading.Lock()

    def _graph_vocabulary(self) -> _EntityVocabulary:
        # Any document written or removed changes this key, so cached graph facts
        # (chunk counts, neighbours) never outlive the index they were read from.
        key = self.rows.graph_version()
        with self._lock:
            if self._vocabulary is None or self._vocabulary_version != key:
                self._vocabulary = _EntityVocabulary(self.rows)
                self._vocabulary_version = key
            return self._vocabulary

    # -- query entities ----------------------------------------------------------------------
    def match_query_entities(
        self,
        query: str,
        query_vector: Vectors | None = None,
        vocabulary: _EntityVocabulary | None = None,
    ) -> dict[str, float]:
        """Graph entity keys the query refers to, with a confidence in (0, 1]."""
        vocabulary = vocabulary or self._graph_vocabulary()
        matched: dict[str, float] = {}

        def note(key: str, confidence: float) -> None:
            if key not in vocabulary.by_key:
                return
            confidence *= KIND_CONFIDENCE.get(vocabulary.by_key[key].kind, 1.0)
            if confidence > matched.get(key, 0.0):
                matched[key] = confidence

        for entity in extract_entities(query):
            note(entity.key, 1.0)
        words = [w.strip("'’-") for w in _WORD.findall(query)]
        folded = [fold(w) for w in words]
        for size in range(1, MAX_NGRAM + 1):
            for start in range(len(words) - size + 1):
                joined = "".join(folded[start : start + size])
                if size == 1 and (joined in STOP_WORDS or len(joined) < 2):
                    continue
                note(f"{NAME}:{joined}", 1.0)
        for word, key in zip(words, folded, strict=True):
            if key in STOP_WORDS or len(key) < 3:
                continue
            for part_of in vocabulary.by_part.get(key, []):
                note(part_of.key, 0.8 if word[:1].isupper() else 0.6)
            if word[:1].isupper() and len(key) >= 5 and f"{NAME}:{key}" not in vocabulary.by_key:
                for candidate, score, _ in process.extract(
                    f"{NAME}:{key}",
                    vocabulary.name_keys,
                    scorer=fuzz.ratio,
                    limit=3,
                    score_cutoff=FUZZY_THRESHOLD,
                ):
                    note(str(candidate), 0.7 * score / 100.0)
        if query_vector is not None:
            for key, similarity in self.vectors.nearest_entities(query_vector, 8):
                if similarity >= ENTITY_EMBEDDING_THRESHOLD:
                    note(key, 0.5 * similarity)
        return matched

    # -- graph walk -------------------------------------------------------------------------
    def graph_scores(
        self, matched: dict[str, float], vocabulary: _EntityVocabulary | None = None
    ) -> GraphWalk:
        """Graph scores of the chunks the walk reaches.

        Direct mentions score in full. The walk reads the GRAPH_DIRECT_LIMIT best chunks by
        the query's distinctive entities only: an entity in more than COMMON_ENTITY_SHARE of
        a large index (a library's author, the owner of a chat log) names so many chunks that
        reading all of them would cost more than the rest of the search together, and it
        adds nearly the same to each. ``direct_scores`` then scores every candidate with all
        of the query's entities. Co-occurring entities (the second hop) are damped.
        """
        vocabulary = vocabulary or self._graph_vocabulary()
        # The query's weight on each entity it names: confidence x specificity.
        weights = {
            vocabulary.by_key[key].id: confidence * vocabulary.specificity(vocabulary.by_key[key])
            for key, confidence in matched.items()
        }
        common = max(COMMON_ENTITY_MIN_CHUNKS, COMMON_ENTITY_SHARE * vocabulary.total_chunks)
        second_hop: dict[int, float] = defaultdict(float)
        for key, confidence in matched.items():
            entity = vocabulary.by_key[key]
            # A common entity is seen with nearly everything: its neighbours say little
            # and summing its edges costs tens of milliseconds.
            if entity.kind not in SECOND_HOP_KINDS or entity.chunk_count > common:
                continue
            neighbours = vocabulary.neighbours(self.rows, entity.id)
            if not neighbours:
                continue
            strongest = float(neighbours[0][1])
            for neighbour_id, edge_weight in neighbours:
                share = confidence * float(edge_weight) / strongest
                neighbour = vocabulary.by_id.get(int(neighbour_id))
                if neighbour is None:
                    continue
                specificity = vocabulary.specificity(neighbour)
                for rowid in self.rows.chunks_mentioning(neighbour.id, 200):
                    second_hop[rowid] += share * specificity
        walked = {e: w for e, w in weights.items() if vocabulary.by_id[e].chunk_count <= common}
        skipped = {e: w for e, w in weights.items() if e not in walked}
        direct = self.direct_scores(walked, limit=GRAPH_DIRECT_LIMIT)
        scores = self._spread_to_neighbours(direct)
        best_hop = max(second_hop.values(), default=0.0)
        if best_hop > 0:
            # The second hop can lift a chunk by at most SECOND_HOP_DAMPING of the query's
            # entity weight: enough to break ties, never enough to outrank a direct match.
            total = sum(weights.values())
            for rowid, value in second_hop.items():
                scores[rowid] = (
                    scores.get(rowid, 0.0) + SECOND_HOP_DAMPING * total * value / best_hop
                )
        return GraphWalk(scores, weights, set(direct), skipped)

    def direct_scores(
        self,
        weights: dict[int, float],
        limit: int | None = None,
        rowids: Iterable[int] | None = None,
    ) -> dict[int, float]:
        """Per chunk, the sum over the query's entities of weight x mention factor (repeated
        mentions count a little more, up to MENTION_FACTOR_CAP): the ``limit`` best chunks,
        or exactly the chunks ``rowids``."""
        wanted = None if rowids is None else list(rowids)
        if not weights or wanted == []:
            return {}
        return self.rows.entity_weighted_chunks(
            weights, MENTION_FACTORS, MENTION_FACTOR_CAP, wanted, limit
        )

    def _spread_to_neighbours(self, scores: dict[int, float]) -> dict[int, float]:
        """Give each chunk's neighbours (previous/next in its document) a share of its score."""
        if not scores:
            return scores
        top = sorted(scores, key=scores.__getitem__, reverse=True)[:CANDIDATES_PER_SIGNAL]
        records = self.rows.chunks_by_rowid(top)
        spread = dict(scores)
        positions = {(r.document_id, r.ordinal): r.rowid for r in records.values()}
        wanted: list[tuple[int, int, float]] = []
        for record in records.values():
            for ordinal in (record.ordinal - 1, record.ordinal + 1):
                wanted.append((record.document_id, ordinal, scores[record.rowid] * NEIGHBOUR_SHARE))
        for document_id, ordinal, share in wanted:
            rowid = positions.get((document_id, ordinal))
            if rowid is None:
                rowid = self.rows.chunk_rowid_at(document_id, ordinal)
                if rowid is None:
                    continue
                positions[(document_id, ordinal)] = rowid
            spread[rowid] = spread.get(rowid, 0.0) + share
        return spread

    @staticmethod
    def _coverage(graph: dict[int, float], candidates: set[int], total: float) -> dict[int, float]:
        """Graph score as the share of the query's entity weight (``total``) a chunk accounts
        for: a chunk that mentions every entity of the query scores 1, whatever the others do."""
        if total <= 0:
            return {}
        return {r: min(1.0, graph.get(r, 0.0) / total) for r in candidates}

    def _chunks_on_named_dates(
        self, matched: dict[str, float], vocabulary: _EntityVocabulary
    ) -> set[int]:
        """Chunks that mention a calendar date the query names outright or, when it names
        none, a month it names ("in December", "the month of May"): a month alone is a weak
        entity but, as a time frame for the question, as close to a filter as a date."""

        def named(kind: str) -> list[int]:
            outright = KIND_CONFIDENCE.get(kind, 1.0)
            return [
                vocabulary.by_key[key].id
                for key, confidence in matched.items()
                if confidence >= outright and vocabulary.by_key[key].kind == kind
            ]

        dates = named(DATE) or named(MONTH)
        if not dates:
            return set()
        return self.rows.chunks_mentioning_any(dates)

    # -- search ------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 5,
        documents: list[str] | None = None,
        plan: QueryPlan | None = None,
    ) -> list[SearchHit]:
        """The best ``k`` chunks for ``query``; with a question step's ``plan``, a deep
        search. The question's best hit stays first; the rest take turns (at each rank:
        the question's next, the second hop's, each part's) so that every list keeps its
        best evidence near the top. The second hop is the question searched again with
        its best passage's text: it finds the other documents on the same thread (the
        reminder a day after the plan, the reply to a request), which share the passage's
        words and names but not the question's. A plan that splits a two-event question
        adds each part, searched on its own."""
        asked = self._search(query, k, documents)
        if plan is None or not asked:
            return asked
        seed = asked[0]
        hop = [
            hit
            for hit in self._search(f"{query} {seed.chunk.text}", k, documents)
            if hit.document != seed.document
        ]
        parts = [self._search(part, k, documents) for part in plan.split]
        rest = interleave([asked[1:], hop, *parts], k + 1)
        return [seed, *(hit for hit in rest if hit.chunk.rowid != seed.chunk.rowid)][:k]

    def _search(self, query: str, k: int, documents: list[str] | None) -> list[SearchHit]:
        if not query.strip():
            return []
        query_vector = self.embedder.embed_one(query)
        dense_ids = self.vectors.dense_search(query_vector, CANDIDATES_PER_SIGNAL, documents)
        id_to_rowid = self.rows.rowids_for_chunk_ids([chunk_id for chunk_id, _ in dense_ids])
        dense = {id_to_rowid[c]: s for c, s in dense_ids if c in id_to_rowid}
        # One look at the graph's vocabulary per search (it checks the index's version).
        vocabulary = self._graph_vocabulary()
        matched = self.match_query_entities(query, query_vector, vocabulary)
        tokens = [entity_token(k) for k, c in matched.items() if c >= ENTITY_TOKEN_CONFIDENCE]
        terms = vocabulary.distinctive_keywords(self.rows, query_terms(query) + tokens)
        keyword = dict(self.rows.keyword_search(terms, CANDIDATES_PER_SIGNAL))
        walk = self.graph_scores(matched, vocabulary)
        graph = walk.scores
        graph_top = dict(
            sorted(graph.items(), key=lambda kv: kv[1], reverse=True)[:CANDIDATES_PER_SIGNAL]
        )

        dated = self._chunks_on_named_dates(matched, vocabulary)
        if len(dated) > CANDIDATES_PER_SIGNAL:  # a common date narrows little; keep the best
            dated = set(
                sorted(dated, key=lambda r: graph.get(r, 0.0), reverse=True)[:CANDIDATES_PER_SIGNAL]
            )
        candidates = set(dense) | set(keyword) | set(graph_top) | dated
        if not candidates:
            return []
        # Every candidate's graph score counts all its mentions of the query's entities.
        for weights, rowids in (
            (walk.weights, candidates - walk.read),
            (walk.skipped, candidates & walk.read),
        ):
            for rowid, value in self.direct_scores(weights, rowids=rowids).items():
                graph[rowid] = graph.get(rowid, 0.0) + value
        records = self.rows.chunks_by_rowid(candidates)
        if documents:
            allowed = set(documents)
            records = {r: c for r, c in records.items() if c.document_path in allowed}
        texts = [record.text for record in records.values()]
        proximity = dict(zip(records, proximity_scores(query, texts), strict=True))
        signals = {
            "dense": (_scaled(dense, dense_floor=True), DENSE_WEIGHT),
            "keyword": (_scaled(keyword), KEYWORD_WEIGHT),
            "graph": (
                self._coverage(graph, candidates, sum(walk.weights.values())),
                GRAPH_WEIGHT,
            ),
            "proximity": (proximity, PROXIMITY_WEIGHT),
        }
        hits: list[SearchHit] = []
        for rowid, record in records.items():
            evidence = {name: values.get(rowid, 0.0) for name, (values, _) in signals.items()}
            score = sum(evidence[name] * weight for name, (_, weight) in signals.items())
            if rowid in dated:
                evidence["date_match"] = 1.0
                score += DATE_MATCH_BONUS
            evidence["cosine"] = dense.get(rowid, 0.0)
            evidence["keyword_match"] = 1.0 if rowid in keyword else 0.0
            hits.append(SearchHit(record, score, evidence))
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits[:k]


def interleave(lists: list[list[SearchHit]], k: int) -> list[SearchHit]:
    """Round-robin over ranked lists (the first list first at each rank), each chunk once."""
    merged: list[SearchHit] = []
    seen: set[int] = set()
    for rank in range(max((len(hits) for hits in lists), default=0)):
        for hits in lists:
            if rank < len(hits) and hits[rank].chunk.rowid not in seen:
                seen.add(hits[rank].chunk.rowid)
                merged.append(hits[rank])
                if len(merged) == k:
                    return merged
    return merged


def _scaled(values: dict[int, float], dense_floor: bool = False) -> dict[int, float]:
    """Scale scores into [0, 1] by the best one (dense: min-max, cosine has a high floor)."""
    if not values:
        return {}
    best = max(values.values())
    if dense_floor:
        worst = min(values.values())
        span = best - worst
        return {k: (v - worst) / span if span > 0 else 1.0 for k, v in values.items()}
    return {k: v / best if best > 0 else 0.0 for k, v in values.items()}
