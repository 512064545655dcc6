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
Nor is the earlier turn given to the model as a turn of the chat before the sources (the
1.5B, the same 10: 3 right against 2, one gained and none lost; too little to keep).
"""

from __future__ import annotations

import re

from hearth.assistant.citations import CITATION_MARKER
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
# The earlier answer's words carried: its first few new ones name what it found (a tool, a
# file, a setting); more would outweigh the follow-up's own words in the search.
ANSWER_WORDS_CARRIED = 6
_REPLY_OPENERS = {"yes", "no"}  # "Yes, there is a tool called dcut..."


def earlier_turn(history: list[ChatMessage] | None) -> tuple[str, str]:
    """(the last question the user asked before this one, the reply to it), "" where none."""
    messages = history or []
    for position in range(len(messages) - 1, -1, -1):
        message = messages[position]
        if message["role"] == "user" and message["content"].strip():
            replies = (m["content"] for m in messages[position + 1 :] if m["role"] == "assistant")
            return message["content"].strip(), next(replies, "").strip()
    return "", ""


def refers_back(question: str) -> bool:
    """Whether ``question`` needs an earlier question to be understood."""
    words = content_words(question)
    return len(words) < FOLLOW_UP_MIN_WORDS or bool(_REFERRING_WORD.search(question))


def carried_question(question: str, earlier: str, earlier_answer: str = "") -> str:
    """``question`` with the earlier question's content words after it, for the search, and
    the first words the earlier answer added, where it cited a source: "How would I use it
    to call off an upload?" after "Which tool deletes files from the upload queue?" means
    the tool the answer named (dcut), a word the earlier question never held."""
    words = set(content_words(question))
    subject = [word for word in dict.fromkeys(content_words(earlier)) if word not in words]
    if CITATION_MARKER.search(earlier_answer):  # an answer that cites nothing names nothing
        known = words | set(subject) | _REPLY_OPENERS
        answered = CITATION_MARKER.sub(" ", earlier_answer)
        named = [word for word in dict.fromkeys(content_words(answered)) if word not in known]
        subject += named[:ANSWER_WORDS_CARRIED]
    return f"{question} ({' '.join(subject)})" if subject else question


def standalone_question(question: str, history: list[ChatMessage] | None) -> str:
    """``question`` as it is searched: with the earlier turn's content words when it refers
    back to it or is too short to stand alone, else as asked."""
    earlier, earlier_answer = earlier_turn(history)
    if not earlier or not refers_back(question):
        return question
    return carried_question(question, earlier, earlier_answer)
