"""Summaries of documents far larger than the model's context: map-reduce.

The document's chunks are grouped so each group fits the context (counted with the
model's tokenizer, room left for the summary); each group is summarised (map), then the
partial summaries are combined, in as many rounds as it takes to fit (reduce). Every
prompt names the document's key entities from the graph so the summary covers them.
Partial summaries are cached by the assistant (AssistantCache), keyed by model, settings
and chunk ids, so a second summary of an unchanged document reuses them; a changed
document has new chunk ids and is summarised afresh. A stopped part is never cached.

Key entities (KEITSum's idea: find them first, then ask the summary to cover them): each
part is asked to name the key entities its text mentions, and each combining round those
its partial summaries mention, so what the document is about survives every round.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.assistant.cache import AssistantCache
from hearth.assistant.injection import without_instructions
from hearth.assistant.streaming import stream_reply
from hearth.engine.prompts import ChatMessage
from hearth.engine.protocol import Engine
from hearth.engine.types import SamplingOptions
from hearth.errors import DocumentNotIndexed
from hearth.index.document_index import DocumentIndex
from hearth.index.entities import DATE, NAME, TITLE
from hearth.jobs import CancelCheck, ProgressCallback, check_cancelled

# Part of every cache key: change it when the prompts or what they read change (3: sources
# without sentences addressed to an AI).
PROMPT_VERSION = 3
KEY_ENTITIES = 8
SUMMARY_TOKENS = 200
PROMPT_OVERHEAD_TOKENS = 160  # instructions and entity list around the text
SUMMARY_SYSTEM = "You write short, faithful summaries. Use only what the text says."
SUMMARY_STOP = ["\nUser:", "\nQuestion:"]
MAX_ROUNDS = 6


@dataclass
class Summary:
    document: str
    text: str
    key_entities: list[str]
    parts: int
    cached_parts: int
    rounds: int
    seconds: float
    covered_entities: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return len(self.covered_entities) / len(self.key_entities) if self.key_entities else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "summary": self.text,
            "key_entities": self.key_entities,
            "covered_entities": self.covered_entities,
            "parts": self.parts,
            "cached_parts": self.cached_parts,
            "rounds": self.rounds,
            "seconds": round(self.seconds, 3),
        }


def mentioned(entities: list[str], texts: list[str]) -> list[str]:
    """The entities that appear in ``texts`` (case-insensitive), in their given order."""
    joined = "\n".join(texts).lower()
    return [entity for entity in entities if entity.lower() in joined]


def _instruction(title: str, entities: list[str], combining: bool) -> str:
    focus = f" Name each of these in the summary: {', '.join(entities)}." if entities else ""
    if combining:
        return f"Combine these partial summaries of “{title}” into one summary.{focus}"
    return f"Summarise this part of “{title}”.{focus}"


class DocumentSummarizer:
    def __init__(
        self,
        index: DocumentIndex,
        engine: Engine,
        model_id: str,
        cache: AssistantCache | None = None,
    ) -> None:
        self.index = index
        self.engine = engine
        self.model_id = model_id
        self.cache = cache

    def summarize(
        self,
        path: str,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        summary_tokens: int = SUMMARY_TOKENS,
    ) -> Summary:
        started = time.perf_counter()
        record = self.index.document(path)
        if record is None:
            raise DocumentNotIndexed(f"{path}: not in the index (see 'hearth docs list')")
        title = record.title or Path(path).name
        entities = self.index.key_entities(path, (NAME, TITLE, DATE), KEY_ENTITIES)
        budget = self.engine.status().n_ctx - summary_tokens - PROMPT_OVERHEAD_TOKENS
        counter = {"parts": 0, "cached": 0, "rounds": 0}

        def summarise(texts: list[str], ids: list[str], combining: bool) -> str:
            key = hashlib.sha256(
                f"{PROMPT_VERSION}|{self.model_id}|{summary_tokens}|{combining}|{'|'.join(ids)}".encode()
            ).hexdigest()
            counter["parts"] += 1
            cached = self.cache.summary(key) if self.cache is not None else None
            if cached is not None:
                counter["cached"] += 1
                return cached
            messages: list[ChatMessage] = [
                {"role": "system", "content": SUMMARY_SYSTEM},
                {
                    "role": "user",
                    "content": _instruction(title, mentioned(entities, texts), combining)
                    + "\n\n"
                    + "\n\n".join(texts)
                    + "\n\nSummary:",
                },
            ]
            options = SamplingOptions(max_tokens=summary_tokens, temperature=0.2, stop=SUMMARY_STOP)
            # A cancelled part raises Cancelled: the cut-off part is not kept.
            reply = stream_reply(self.engine, messages, options, "summarising", should_cancel)
            text = reply.text.strip()
            if self.cache is not None:
                self.cache.store_summary(key, path, text)
            return text

        # Each item: (text, identity). Chunks first, then partial summaries, round by round;
        # every round at least halves the count, since a summary is far shorter than a group.
        # Read without sentences addressed to an AI: documents are data (injection.py).
        items = [
            (without_instructions(text), chunk_id)
            for chunk_id, text in self.index.document_chunks(path)
        ]
        if not items:
            raise DocumentNotIndexed(f"{path}: it has no text to summarise")
        combining = False
        while True:
            counter["rounds"] += 1
            groups = self._groups(items, budget)
            parts: list[tuple[str, str]] = []
            for number, group in enumerate(groups, start=1):
                check_cancelled(should_cancel, "summarising")
                if progress:
                    progress(number - 1, len(groups), f"round {counter['rounds']}: part {number}")
                text = summarise([t for t, _ in group], [i for _, i in group], combining)
                parts.append((text, hashlib.sha256(text.encode()).hexdigest()[:16]))
            if len(parts) == 1 or counter["rounds"] >= MAX_ROUNDS:
                final = "\n\n".join(text for text, _ in parts)
                break
            items, combining = parts, True
        if progress:
            progress(1, 1, "done")
        lowered = final.lower()
        return Summary(
            document=path,
            text=final,
            key_entities=entities,
            covered_entities=[e for e in entities if e.lower() in lowered],
            parts=counter["parts"],
            cached_parts=counter["cached"],
            rounds=counter["rounds"],
            seconds=time.perf_counter() - started,
        )

    def _groups(self, items: list[tuple[str, str]], budget: int) -> list[list[tuple[str, str]]]:
        """Consecutive items packed into groups of at most ``budget`` tokens."""
        groups: list[list[tuple[str, str]]] = [[]]
        used = 0
        for text, identity in items:
            cost = self.engine.count_tokens(text) + 2
            if cost > budget:
                # One item larger than the budget: keep the share of it that fits.
                text = text[: max(200, int(len(text) * budget / cost) - 20)]
                cost = budget
            if groups[-1] and used + cost > budget:
                groups.append([])
                used = 0
            groups[-1].append((text, identity))
            used += cost
        return groups
