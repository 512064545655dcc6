"""How a cited source is named wherever it is shown: "[1] report.pdf · p. 4".

Kept apart from the answering code so the window can label chips without importing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def source_label(document: str, page: int | None) -> str:
    name = Path(document).name
    return f"{name} · p. {page}" if page else name


def numbered_source_label(source: dict[str, Any]) -> str:
    """The label of a source in its JSON form ({n, document, page, ...})."""
    return f"[{source['n']}] {source_label(str(source['document']), source.get('page'))}"
