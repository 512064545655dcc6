"""QueryPlan: for a question that joins two events, the parts to search for separately.

Read from the question's own clauses (``from_clauses``, no model) or written by the
question step (hearth.assistant.query_step, a small model at question time); the index
only reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_PARTS = 3
# A question that joins two events says how in a connective ("Did A before B?").
_CLAUSE_JOINT = re.compile(r",?\s+\b(?:before|after|when|while|and then|then)\b\s+", re.I)
_LEADING_AUXILIARY = re.compile(r"^(?:did|does|do|was|were|is|has|had)\s+", re.I)
# "the time between A and B", "how long from A to B": the two ends of an interval.
_INTERVAL = re.compile(
    r"\bbetween\s+(.+?)\s+and\s+(.+)$|\bfrom\s+(.+?)\s+(?:to|until|till)\s+(.+)$", re.I
)
# A shorter clause ("an intense workout") names no event of its own.
MIN_PART_WORDS = 3
# A later clause that opens with a pronoun ("... before he asked") means the first
# clause's subject: searched alone, "he" would match anyone.
_LEADING_PRONOUN = re.compile(r"^(?:he|she|they)\b", re.I)
_LEADING_NAME = re.compile(r"^(?:[A-Z][\w'’-]*\s+){0,2}[A-Z][\w'’-]*(?=\s)")


@dataclass(frozen=True)
class QueryPlan:
    parts: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, value: object) -> QueryPlan:
        """The plan in a parsed JSON object; anything malformed is left out."""
        items = value.get("parts") if isinstance(value, dict) else None
        if not isinstance(items, list):
            return cls()
        found = [" ".join(item.split()) for item in items if isinstance(item, str)]
        return cls(list(dict.fromkeys(item for item in found if item))[:MAX_PARTS])

    @classmethod
    def from_clauses(cls, question: str) -> QueryPlan:
        """The clauses a temporal connective joins ("Did A before B?": A, B), or else the
        two ends of an interval ("the time between A and B", "from A to B"), each of three
        words or more; no parts when fewer than two. A later clause's leading he, she or
        they becomes the first clause's subject when that is a name."""
        text = " ".join(question.split()).rstrip("?")
        clauses = [_LEADING_AUXILIARY.sub("", piece).strip() for piece in _CLAUSE_JOINT.split(text)]
        parts = [clause for clause in clauses if len(clause.split()) >= MIN_PART_WORDS]
        if len(parts) < 2:
            interval = _INTERVAL.search(text)
            ends = [end for end in interval.groups() if end] if interval else []
            parts = [end for end in ends if len(end.split()) >= MIN_PART_WORDS]
        if len(parts) < 2:
            return cls()
        subject = _LEADING_NAME.match(parts[0])
        if subject:
            parts = [parts[0]] + [_LEADING_PRONOUN.sub(subject.group(0), p) for p in parts[1:]]
        return cls(parts[:MAX_PARTS])

    @property
    def split(self) -> list[str]:
        """The parts to search on their own: none unless two or more (one part alone is
        the question again)."""
        return self.parts if len(self.parts) >= 2 else []

    def to_json(self) -> dict[str, object]:
        """As the question step writes it: how many events, then the parts of two or more."""
        if not self.split:
            return {"events": 1}
        return {"events": len(self.split), "parts": self.split}
