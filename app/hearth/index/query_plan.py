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
# A shorter clause ("an intense workout") names no event of its own.
MIN_PART_WORDS = 3


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
        """The clauses a temporal connective joins ("Did A before B?": A, B), each of
        three words or more; no parts when fewer than two."""
        text = " ".join(question.split()).rstrip("?")
        clauses = [_LEADING_AUXILIARY.sub("", piece).strip() for piece in _CLAUSE_JOINT.split(text)]
        parts = [clause for clause in clauses if len(clause.split()) >= MIN_PART_WORDS]
        return cls(parts[:MAX_PARTS] if len(parts) >= 2 else [])

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
