"""Questions a document can answer, proposed by the model when the document is indexed
(SlimLM's third on-device task), shown under the welcome text to start from.

The model reads the document's opening (what fits in a small budget) with its key names,
and writes three questions under a grammar: three lines, each a question. Suggestions are
cached by document content and model, so they are written once per document version.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from hearth.assistant.cache import AssistantCache
from hearth.assistant.streaming import stream_reply
from hearth.engine.prompts import ChatMessage
from hearth.engine.protocol import Engine
from hearth.engine.types import SamplingOptions
from hearth.index.document_index import DocumentIndex
from hearth.index.entities import DATE, NAME, TITLE
from hearth.jobs import CancelCheck

log = logging.getLogger(__name__)

PROMPT_VERSION = 1
QUESTIONS = 3
READ_TOKENS = 900  # of the document's opening: enough for its subject, quick to read
QUESTION_SYSTEM = (
    "You suggest questions that a reader could ask about a document and that the document "
    "itself answers. Each question is short, specific and on its own line."
)
# Three lines, each a question of at most about 20 words ending in "?".
QUESTIONS_GRAMMAR = (
    'root ::= question "\\n" question "\\n" question\nquestion ::= [A-Z] [^\\n?]+ "?"'
)


def suggestion_key(model_id: str, chunk_ids: list[str]) -> str:
    identity = f"{PROMPT_VERSION}|{model_id}|{'|'.join(chunk_ids)}"
    return hashlib.sha256(identity.encode()).hexdigest()


def suggest_questions(
    index: DocumentIndex,
    engine: Engine,
    model_id: str,
    path: str,
    cache: AssistantCache | None = None,
    should_cancel: CancelCheck | None = None,
) -> list[str]:
    """Up to three questions ``path`` answers (cached); [] for a document without text."""
    chunks = index.document_chunks(path)
    if not chunks:
        return []
    key = suggestion_key(model_id, [chunk_id for chunk_id, _ in chunks])
    if cache is not None and (known := cache.suggestions(key)) is not None:
        return known
    opening: list[str] = []
    used = 0
    for _, text in chunks:
        cost = engine.count_tokens(text)
        if opening and used + cost > READ_TOKENS:
            break
        opening.append(text if cost <= READ_TOKENS else text[: len(text) * READ_TOKENS // cost])
        used += cost
    record = index.document(path)
    title = (record.title if record else "") or Path(path).name
    names = index.key_entities(path, (NAME, TITLE, DATE), 6)
    about = f"\nIt mentions: {', '.join(names)}." if names else ""
    messages: list[ChatMessage] = [
        {"role": "system", "content": QUESTION_SYSTEM},
        {
            "role": "user",
            "content": f"Document: {title}{about}\n\n"
            + "\n\n".join(opening)
            + f"\n\nWrite {QUESTIONS} questions this document answers.",
        },
    ]
    text = stream_reply(
        engine,
        messages,
        SamplingOptions(max_tokens=120, temperature=0.0, grammar=QUESTIONS_GRAMMAR),
        "suggesting questions",
        should_cancel,
    ).text
    questions = [line.strip() for line in text.splitlines() if line.strip().endswith("?")]
    questions = list(dict.fromkeys(q for q in questions if len(q.split()) <= 25))[:QUESTIONS]
    if cache is not None and questions:
        cache.store_suggestions(key, path, questions)
    log.info("suggested %d questions for %s", len(questions), path)
    return questions
