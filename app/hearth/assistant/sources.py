"""The one type a source travels as, from the answer that reads it to the screen that shows
it: the window's chips and viewer, ``hearth ask`` and the conversation store all take a
``Source``. JSON only at the edges (the API's response, ``ask --json``, the stored
message), always in the shape of ``to_json``; ``from_json`` also reads what was stored
before a source had a heading or an OCR flag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Source:
    n: int  # its number in the prompt and in the answer's [n] markers
    document: str
    page: int | None
    text: str
    score: float
    # Where in a document without pages (a chapter, "Sheet1, rows 2–41"); None otherwise.
    heading: str | None = None
    ocr: bool = False  # the text was recognised from a scanned page

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "document": self.document,
            "page": self.page,
            "heading": self.heading,
            "ocr": self.ocr,
            "text": self.text,
            "score": round(self.score, 4),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Source:
        """A source as ``to_json`` wrote it (or an older message without heading or ocr)."""
        page = data.get("page")
        heading = data.get("heading")
        return cls(
            n=int(data["n"]),
            document=str(data["document"]),
            page=int(page) if page is not None else None,
            text=str(data.get("text", "")),
            score=float(data.get("score", 0.0)),
            heading=str(heading) if heading is not None else None,
            ocr=bool(data.get("ocr", False)),
        )
