"""The built-in tools: search, list and read documents, summarise one, calculate, tell
the date and time. All read-only; document arguments resolve against the index only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hearth.documents.loaders import UnsupportedDocument, page_text
from hearth.documents.safe_files import ensure_still_indexed, file_path
from hearth.tools.calculator import CalculatorError, calculate, format_number
from hearth.tools.registry import Tool, ToolContext, ToolError, ToolRegistry

if TYPE_CHECKING:
    from hearth.index.document_index import DocumentIndex

DOCUMENT = {"type": "string", "minLength": 1, "maxLength": 200}


def resolve_document(index: DocumentIndex, name: str) -> str:
    """The indexed document ``name`` refers to (full path, file name or stem, any case).
    Anything that is not in the index is refused: tools never reach other files."""
    paths = [record.path for record in index.documents()]
    wanted = name.strip().lower()
    for matches in (
        [p for p in paths if p.lower() == wanted],
        [p for p in paths if Path(p).name.lower() == wanted],
        [p for p in paths if Path(p).stem.lower() == wanted],
        [p for p in paths if wanted and wanted in Path(p).name.lower()],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(Path(p).name for p in matches[:5])
            raise ToolError(f"'{name}' matches several documents: {names}")
    known = ", ".join(Path(p).name for p in paths[:8]) or "none"
    raise ToolError(f"no indexed document is called '{name}' (indexed: {known})")


def search_documents(arguments: dict[str, Any], context: ToolContext) -> str:
    hits = context.index.search(arguments["query"], k=arguments["k"])
    if not hits:
        return "No passages found."
    lines = []
    for number, hit in enumerate(hits, start=1):
        page = f", page {hit.page}" if hit.page else ""
        snippet = " ".join(hit.chunk.text.split())[:300]
        lines.append(f"[{number}] {Path(hit.document).name}{page}: {snippet}")
    return "\n".join(lines)


def list_documents(arguments: dict[str, Any], context: ToolContext) -> str:
    documents = context.index.documents()
    if not documents:
        return "No documents are indexed."
    return "\n".join(
        f"{Path(d.path).name} ({d.kind}" + (f", {d.page_count} pages" if d.page_count else "") + ")"
        for d in documents
    )


def read_page(arguments: dict[str, Any], context: ToolContext) -> str:
    path = resolve_document(context.index, arguments["document"])
    record = next(d for d in context.index.documents() if d.path == path)
    page = int(arguments["page"])
    pages = record.page_count or 1
    if page > pages:
        raise ToolError(f"{Path(path).name} has {pages} page{'s' if pages > 1 else ''}")
    try:
        # Only what was indexed: a file swapped or edited since is refused, not read blind.
        ensure_still_indexed(file_path(path), record.size_bytes, record.content_hash)
        return page_text(file_path(path), page if record.page_count else None)
    except UnsupportedDocument as error:
        raise ToolError(error.reason) from error


def summarize_document(arguments: dict[str, Any], context: ToolContext) -> str:
    path = resolve_document(context.index, arguments["document"])
    if context.summarize is None:
        raise ToolError("summaries are not available here")
    return context.summarize(path)


def calculator(arguments: dict[str, Any], context: ToolContext) -> str:
    try:
        return format_number(calculate(arguments["expression"]))
    except CalculatorError as error:
        raise ToolError(str(error)) from error


def current_date_time(arguments: dict[str, Any], context: ToolContext) -> str:
    now = context.now()
    return now.strftime("%A %d %B %Y, %H:%M")


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


BUILTIN_TOOLS = [
    Tool(
        "search_documents",
        "find what the user's documents say about a topic, an event or a fact",
        _object(
            query={"type": "string", "minLength": 1, "maxLength": 200},
            k={"type": "integer", "minimum": 1, "maximum": 10},
        ),
        search_documents,
    ),
    Tool("list_documents", "list the documents the user has added", _object(), list_documents),
    Tool(
        "read_page",
        "read one page of a document",
        _object(document=DOCUMENT, page={"type": "integer", "minimum": 1, "maximum": 9999}),
        read_page,
    ),
    Tool(
        "summarize_document",
        "summarise one whole document: what it is about, an overview of it",
        _object(document=DOCUMENT),
        summarize_document,
    ),
    Tool(
        "calculator",
        "compute an arithmetic expression such as (12.5 * 4) / 3",
        _object(expression={"type": "string", "minLength": 1, "maxLength": 300}),
        calculator,
    ),
    Tool(
        "current_date_time",
        "tell today's date, the day of the week and the time on the clock",
        _object(),
        current_date_time,
    ),
]


def builtin_registry() -> ToolRegistry:
    return ToolRegistry(BUILTIN_TOOLS)
