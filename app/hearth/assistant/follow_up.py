"""A follow-up made standalone before it is searched.

"Where is its configuration file?" means nothing to the search on its own, so a follow-up
that refers back (or says too little to stand alone) is searched with the earlier
question's words carried after it; the model reads the follow-up as asked, over sources
found with its subject. It never sees the earlier question beside the follow-up: the 0.5B
then answered the earlier one (5 of the 10 tuning follow-ups of bench_docqa).

A rewrite by the loaded model into one standalone question ("Are minor tic marks drawn by
default?") was tried and measured on the same 10 tuning follow-ups with the 1.5B: 3 right
against 5 with the carried words, in two runs (it kept "there" or "it" unresolved, or
named the wrong subject), and a model call more per follow-up; so it is not used.
"""

from __future__ import annotations

import re

from hearth.engine.prompts import ChatMessage
from hearth.index.keywords import content_words

# A follow-up that refers back ("Where is its configuration file?") or says too little to
# search on needs the earlier question's subject.
_REFERRING_WORD = re.compile(
    r"\b(?:it|its|it's|itself|this|that|these|those|they|them|their|there|he|she|him|her|"
    r"his|the same|such|one)\b",
    re.IGNORECASE,
)
FOLLOW_UP_MIN_WORDS = 3


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


def standalone_question(question: str, history: list[ChatMessage] | None) -> str:
    """``question`` as it is searched: with the earlier question's content words when it
    refers back to it or is too short to stand alone, else as asked."""
    earlier = earlier_question(history)
    if not earlier or not refers_back(question):
        return question
    return carried_question(question, earlier)
