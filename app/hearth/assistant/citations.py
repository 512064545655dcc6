"""Citations: how a source is named wherever it is shown ("[1] report.pdf · p. 4"), which
sources an answer cites with [n] markers, and, for an answer without markers, which
sources its sentences come from.

Kept apart from the answering code so the window can label and order chips without
importing it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from hearth.assistant.sources import Source
from hearth.index.keywords import content_words

# "[2]", "[1, 3]", "[1][2]", "[2-3]"; small models also write full-width brackets.
CITATION_MARKER = re.compile(r"[\[【]\s*(\d{1,2}(?:\s*[,;–-]\s*\d{1,2})*)\s*[\]】]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A sentence is taken to come from a source when at least this share of its content words
# (and at least MIN_SHARED_WORDS of them) appear in that source.
MIN_SHARED_SHARE = 0.6
MIN_SHARED_WORDS = 2


def source_label(document: str, page: int | None, heading: str | None = None) -> str:
    """ "report.pdf · p. 4"; without pages, where in the file ("costs.xlsx · Repairs, rows
    2-41"), or the file name alone."""
    name = Path(document).name
    if page:
        return f"{name} · p. {page}"
    return f"{name} · {heading}" if heading else name


def numbered_source_label(source: Source) -> str:
    """ "[1] report.pdf · p. 4": a source's chip, its line under ``hearth ask``'s answer and
    in an exported conversation."""
    return f"[{source.n}] {source_label(source.document, source.page, source.heading)}"


def cited_numbers(answer: str, source_count: int) -> list[int]:
    """Source numbers the answer cites with markers, in order of first mention; numbers
    that name no source are left out."""
    cited: list[int] = []
    for match in CITATION_MARKER.finditer(answer):
        for part in re.split(r"\s*[,;]\s*", match.group(1)):
            low, _, high = part.partition("-") if "-" in part else part.partition("–")
            first, last = int(low), int(high or low)
            for number in range(first, min(last, first + 20) + 1):
                if 1 <= number <= source_count and number not in cited:
                    cited.append(number)
    return cited


def supporting_numbers(answer: str, source_texts: Sequence[str]) -> list[int]:
    """For an answer without markers: the sources its sentences say the same as (most
    shared content words, above MIN_SHARED_SHARE of the sentence), in order."""
    source_words = [set(content_words(text)) for text in source_texts]
    found: list[int] = []
    for sentence in SENTENCE_END.split(answer):
        words = set(content_words(sentence))
        if len(words) < MIN_SHARED_WORDS:
            continue
        best, best_shared = 0, 0
        for number, vocabulary in enumerate(source_words, start=1):
            shared = len(words & vocabulary)
            if shared > best_shared:
                best, best_shared = number, shared
        if (
            best
            and best_shared >= MIN_SHARED_WORDS
            and best_shared / len(words) >= MIN_SHARED_SHARE
            and best not in found
        ):
            found.append(best)
    return found
