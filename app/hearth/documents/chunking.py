"""Split a loaded document into chunks of about 1,000-1,500 characters.

Chunks never cross a page (so every citation names one page), prefer to end at a
paragraph, then a sentence, then a space, never inside a word, and overlap the previous
chunk a little so a fact split across the boundary is whole in one of them. Small
neighbouring sections on the same page are merged so headings don't make tiny chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hearth.documents.document import SECTION_SEPARATOR, LoadedDocument, Section

TARGET_CHARS = 1200
MAX_CHARS = 1500
MIN_CHARS = 1000
OVERLAP_CHARS = 150
# Passages: the pieces of a chunk that are embedded, one vector each. MiniLM reads at most
# 256 word pieces (about 1,000 characters) and one vector for a whole chunk blurs its
# separate points; on LiHua-World, passages of about 400 characters found the second
# session of a two-session question far more often than whole-chunk vectors did.
PASSAGE_MAX_CHARS = 480
PASSAGE_MIN_CHARS = 320
PASSAGE_SMALLEST_TAIL = 120

_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s")


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    page: int | None
    heading: str | None
    start: int  # character span in the document's joined text
    end: int
    ocr: bool = False  # recognised from an image of the page


def _break_point(text: str, begin: int, limit: int, min_chars: int = MIN_CHARS) -> int:
    """Best place to end a piece that starts at ``begin`` and must end by ``limit``."""
    if limit >= len(text):
        return len(text)
    low = begin + min_chars // 2
    window = text[low:limit]
    paragraph = window.rfind("\n\n")
    if paragraph >= 0 and low + paragraph > begin + min_chars * 0.6:
        return low + paragraph + 2
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if sentence_ends:
        return low + sentence_ends[-1]
    newline = window.rfind("\n")
    if newline >= 0:
        return low + newline + 1
    space = window.rfind(" ")
    if space >= 0:
        return low + space + 1
    return limit  # one unbroken "word" longer than a chunk: nothing better exists


def _overlap_start(text: str, end: int, floor: int) -> int:
    """Start the next chunk a little before ``end``, on a word boundary."""
    start = max(floor, end - OVERLAP_CHARS)
    space = text.find(" ", start, end)
    newline = text.find("\n", start, end)
    candidates = [p for p in (space, newline) if p >= 0]
    return min(candidates) + 1 if candidates else end


def split_section(section: Section) -> list[tuple[int, int]]:
    """(start, end) spans inside ``section.text``."""
    text = section.text
    if len(text) <= MAX_CHARS:
        return [(0, len(text))]
    spans: list[tuple[int, int]] = []
    begin = 0
    while begin < len(text):
        end = _break_point(text, begin, begin + TARGET_CHARS + (MAX_CHARS - TARGET_CHARS) // 2)
        spans.append((begin, end))
        if end >= len(text):
            break
        begin = _overlap_start(text, end, begin + 1)
    return spans


def passage_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of about 400 characters that tile ``text`` without overlap, cut
    at the same kinds of boundaries as chunks; a short tail joins the passage before it."""
    spans: list[tuple[int, int]] = []
    begin = 0
    while begin < len(text):
        end = _break_point(text, begin, begin + PASSAGE_MAX_CHARS, PASSAGE_MIN_CHARS)
        spans.append((begin, end))
        begin = end
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < PASSAGE_SMALLEST_TAIL:
        spans[-2:] = [(spans[-2][0], spans[-1][1])]
    return spans


def _merge_small_sections(sections: Iterable[Section]) -> Iterator[Section]:
    """Neighbouring small sections of one page joined (headings alone make tiny chunks);
    holds one section back at a time, so a long document streams through."""
    previous: Section | None = None
    for section in sections:
        if (
            previous is not None
            and previous.page == section.page
            and previous.ocr == section.ocr
            and previous.mergeable
            and section.mergeable
            and len(previous.text) + len(section.text) + len(SECTION_SEPARATOR) <= TARGET_CHARS
            and previous.start + len(previous.text) + len(SECTION_SEPARATOR) == section.start
        ):
            previous = Section(
                previous.text + SECTION_SEPARATOR + section.text,
                page=previous.page,
                heading=previous.heading or section.heading,
                start=previous.start,
                ocr=previous.ocr,
            )
            continue
        if previous is not None:
            yield previous
        previous = section
    if previous is not None:
        yield previous


def chunk_sections(sections: Iterable[Section]) -> Iterator[Chunk]:
    """Chunks of numbered sections (see documents.document.numbered_sections), as they come."""
    ordinal = 0
    for section in _merge_small_sections(sections):
        for start, end in split_section(section):
            text = section.text[start:end].strip()
            if not text:
                continue
            leading = len(section.text[start:end]) - len(section.text[start:end].lstrip())
            absolute = section.start + start + leading
            yield Chunk(
                ordinal=ordinal,
                text=text,
                page=section.page,
                heading=section.heading,
                start=absolute,
                end=absolute + len(text),
                ocr=section.ocr,
            )
            ordinal += 1


def chunk_document(document: LoadedDocument) -> list[Chunk]:
    return list(chunk_sections(document.sections))
