"""QueryPlan: what a question step (a small model, at question time) makes of a question,
for retrieval to use: the names it mentions, its keywords, and for a question that joins
two events, the parts to search for separately.

Made by hearth.assistant.query_step; the index only reads it (no model here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_ENTITIES = 5
MAX_KEYWORDS = 5
MAX_PARTS = 3


@dataclass(frozen=True)
class QueryPlan:
    entities: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, value: object) -> QueryPlan:
        """The plan in a parsed JSON object; anything malformed is left out."""
        if not isinstance(value, dict):
            return cls()

        def strings(name: str, limit: int) -> list[str]:
            items = value.get(name)
            if not isinstance(items, list):
                return []
            found = [" ".join(str(item).split()) for item in items if isinstance(item, str)]
            return list(dict.fromkeys(item for item in found if item))[:limit]

        return cls(
            strings("entities", MAX_ENTITIES),
            strings("keywords", MAX_KEYWORDS),
            strings("parts", MAX_PARTS),
        )

    def to_json(self) -> dict[str, list[str]]:
        # Parts first: the model writes them before the token cap can cut them short.
        return {"parts": self.parts, "entities": self.entities, "keywords": self.keywords}
