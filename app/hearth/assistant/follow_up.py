"""A follow-up made standalone before it is searched and answered.

"Are they drawn by default?" means nothing to the search or to a model that reads it
alone, and shown the earlier question beside it the 0.5B answered that one again. So a
follow-up that refers back (or says too little to stand alone) is rewritten by the loaded
model into one question that names its subject ("Are minor tic marks drawn by
default?"), in one short grammar-bound call; that question is searched and answered.
Without an instruction model, or where the rewrite fails or drops the follow-up's own
words, the earlier question's words are carried into the search instead (the model then
reads the follow-up as asked).

The worked examples name no real document: they show the shape of a good rewrite.
"""

from __future__ import annotations

import logging
import re
import time

from hearth.engine.errors import EngineError
from hearth.engine.prompts import ChatMessage
from hearth.engine.protocol import Engine
from hearth.engine.types import SamplingOptions
from hearth.index.keywords import content_words

log = logging.getLogger(__name__)

# A follow-up that refers back ("Where is its configuration file?") or says too little to
# search on needs the earlier question's subject.
_REFERRING_WORD = re.compile(
    r"\b(?:it|its|it's|itself|this|that|these|those|they|them|their|there|he|she|him|her|"
    r"his|the same|such|one)\b",
    re.IGNORECASE,
)
FOLLOW_UP_MIN_WORDS = 3
MAX_TOKENS = 60
REWRITE_SYSTEM = (
    "The user asks a follow-up question. Rewrite it as one question that can be understood "
    "without the earlier one: replace words like it, its, they, them, there and that with "
    "what they refer to. Keep the follow-up's own words. Do not answer it."
)
EXAMPLES: list[tuple[str, str, str]] = [
    (
        "How do I reset the thermostat to its factory settings?",
        "And where is its battery?",
        "Where is the thermostat's battery?",
    ),
    (
        "Which command backs up the photo library?",
        "Can it run every night, and how?",
        "Can the command that backs up the photo library run every night, and how?",
    ),
    (
        "What does the lease say about pets?",
        "Do I need to tell the landlord before I get one?",
        "Do I need to tell the landlord before I get a pet, according to the lease?",
    ),
]
# One line, a question, no longer than a long question.
REWRITE_GRAMMAR = 'root ::= [^\\n?]+ "?"'
# The rewrite must keep at least this share of the follow-up's content words: a rewrite
# that loses them has answered or changed the question.
KEPT_WORDS_SHARE = 0.5


def earlier_question(history: list[ChatMessage] | None) -> str:
    """The last question the user asked before this one, or ""."""
    for message in reversed(history or []):
        if message["role"] == "user" and message["content"].strip():
            return message["content"].strip()
    return ""


def refers_back(question: str) -> bool:
    """Whether ``question`` needs an earlier question to be understood."""
    words = content_words(question)
    return len(words) < FOLLOW_UP_MIN_WORDS or bool(_REFERRING_WORD.search(question))


def carried_question(question: str, earlier: str) -> str:
    """``question`` with the earlier question's content words after it, for the search."""
    words = content_words(question)
    subject = [word for word in dict.fromkeys(content_words(earlier)) if word not in words]
    return f"{question} ({' '.join(subject)})" if subject else question


def rewrite_messages(earlier: str, question: str) -> list[ChatMessage]:
    messages: list[ChatMessage] = [{"role": "system", "content": REWRITE_SYSTEM}]
    for example_earlier, example_question, rewritten in EXAMPLES:
        messages.append(
            {
                "role": "user",
                "content": f"Earlier question: {example_earlier}\nFollow-up: {example_question}",
            }
        )
        messages.append({"role": "assistant", "content": rewritten})
    messages.append(
        {"role": "user", "content": f"Earlier question: {earlier}\nFollow-up: {question}"}
    )
    return messages


def rewritten_by_model(engine: Engine, earlier: str, question: str) -> str | None:
    """The model's standalone form of ``question``, or None where it cannot give a good
    one (no chat template, an engine error, a rewrite that lost the follow-up's words)."""
    started = time.perf_counter()
    try:
        if not engine.status().has_chat_template:
            return None
        rewrite = engine.stream_chat(
            rewrite_messages(earlier, question),
            SamplingOptions(
                max_tokens=MAX_TOKENS,
                temperature=0.0,
                grammar=REWRITE_GRAMMAR,
                repeat_penalty=1.0,
            ),
        ).text()
    except EngineError as error:
        log.warning("follow-up rewrite failed (%s); searching with the earlier words", error)
        return None
    rewrite = " ".join(rewrite.split())
    own = set(content_words(question))
    kept = own & set(content_words(rewrite))
    if not rewrite.endswith("?") or len(kept) < KEPT_WORDS_SHARE * len(own):
        log.info("follow-up rewrite %r dropped the question's words; not used", rewrite)
        return None
    log.info("follow-up rewritten in %.2f s: %r", time.perf_counter() - started, rewrite)
    return rewrite


def standalone_question(
    question: str, history: list[ChatMessage] | None, engine: Engine | None = None
) -> tuple[str, str]:
    """(what is searched, what the model answers) for ``question``: as asked when it stands
    alone; a follow-up that refers back rewritten by ``engine`` into one standalone
    question for both, else searched with the earlier question's words and answered as
    asked."""
    earlier = earlier_question(history)
    if not earlier or not refers_back(question):
        return question, question
    rewrite = rewritten_by_model(engine, earlier, question) if engine is not None else None
    if rewrite is not None:
        return rewrite, rewrite
    return carried_question(question, earlier), question
