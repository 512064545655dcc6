"""QueryPlan: what a question step (a small model, at question time) makes of a question,
for retrieval to use: for a question that joins two events, the parts to search for
separately.

Made by hearth.assistant.query_step; the index only reads it (no model here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PARTS = 3


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
