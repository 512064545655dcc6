"""Grounded answers: retrieve, fit the best sources into the context, answer with citations.

Sources are numbered [1], [2]... in the prompt and the model is asked to cite them. As
many as fit are included, counted with the loaded model's own tokenizer, leaving room for
the answer. When retrieval finds nothing relevant, Hearth says so instead of letting the
model guess. After the answer, the sources it cites are read from its [n] markers; an
answer without markers is matched to its sources sentence by sentence.

Instruction-tuned models (a chat template in the GGUF) get the instructions and the
sources only. Base models get a plain transcript with one worked example first, which no
template model ever sees: a small instruction model answered a real question with the
example's text.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hearth.assistant.citations import CITATION_MARKER, cited_numbers, supporting_numbers
from hearth.assistant.query_step import plan_search
from hearth.engine.prompts import ChatMessage
from hearth.engine.protocol import Engine
from hearth.engine.types import SamplingOptions
from hearth.index.document_index import DocumentIndex
from hearth.index.keywords import content_words
from hearth.index.retrieve import SearchHit
from hearth.jobs import CancelCheck, Cancelled, check_cancelled
from hearth.tools.registry import ToolCall

log = logging.getLogger(__name__)
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")

# What an answer is doing, for the window's and the terminal's progress line:
# on_stage(kind, label), kind one of these.
SEARCHING = "searching"
READING = "reading"
WRITING = "writing"
TOOLS = "tools"
StageCallback = Callable[[str, str], None]

NOTHING_FOUND = (
    "I couldn't find anything about that in your documents, so I can't answer from them."
)
# The decline an instruction model is asked to give (the bench and the UI recognise it).
NOT_IN_SOURCES = "I couldn't find that in your documents."
GROUNDED_SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources below. Cite the sources you use "
    "like [1] or [2]. If the sources do not contain the answer, say that the documents do "
    "not say."
)
INSTRUCTED_SYSTEM_PROMPT = (
    "You are Hearth, a private assistant that answers questions about the user's own "
    "documents. Use only the numbered sources the user gives you. Give the answer itself in a "
    "few words or one short sentence, then the number of the source it comes from in square "
    "brackets, like: Thursday at 3 PM [2]. If the sources do not answer the question, reply: "
    f"{NOT_IN_SOURCES}"
)
# Repeated after the sources: a small model follows the instruction nearest the question.
INSTRUCTED_REMINDER = "Answer in a few words from the sources above, then cite the source like [1]."
# A question that asks whether something is so ("Did Li Hua ... before ...?") gets one more
# line: the 0.5B model declined 5 of 6 such questions it could answer. Said to every question,
# it answered "Yes [1]" to all of them (tuning F1 0.22 -> 0.04); said to these alone, tuning
# F1 rose 0.221 -> 0.296 (Multi 0.00 -> 0.43). "Can you ...?" is a request, not yes or no.
YES_NO_QUESTION = re.compile(
    r"\s*(?:did|does|do|is|are|was|were|has|have|had|can|could|will|would|should)\b"
    r"(?!\s+you\b)",
    re.IGNORECASE,
)
YES_NO_REMINDER = "The question asks yes or no: begin with Yes or No."
# A question that asks for a time, a number, a place or a person is answered by just that:
# told so, the 0.5B model stopped restating the question around the fact ("The seminar is
# happening on Thursday at 3 PM") and read numbers better (tuning F1 0.296 -> 0.344). Said to
# every question, the 0.5B named an entity instead of answering what or why ones (0.291).
SHORT_ANSWER_QUESTION = re.compile(
    r"\s*(?:when|what time|what day|what date|how many|how much|how long|how often|where|"
    r"who|whom)\b",
    re.IGNORECASE,
)
SHORT_ANSWER_REMINDER = (
    "Reply with only the answer itself (a name, date, place, number or short phrase), not a "
    "whole sentence, then cite the source like [1]."
)
# An instruction model's answer: the decline, or one or two statements each ending in a
# citation. Measured on LiHua-World (40 tuning questions, 0.5B model): answers with a
# marker rose from 12% to 68%, and the answers got short enough to say just the fact.
ANSWER_PART_WORDS = 20
ANSWER_WORD_CHARS = 24
CITED_ANSWER_GRAMMAR = "\n".join(
    [
        "root ::= decline | answer",
        f"decline ::= {json.dumps(NOT_IN_SOURCES)}",
        'answer ::= part (" " part)?',
        # A part is at most ANSWER_PART_WORDS words, then its marker: a model copying a
        # whole transcript line from a source reached the cap before any marker came.
        f'part ::= word (" " word){{0,{ANSWER_PART_WORDS - 1}}} " "? "[" [1-9] '
        '("," " "? [1-9])* "]" "."?',
        # A word's length is bounded: past the word cap the model glued the rest of its
        # sentence into one "word" ("ofthebakeryshegetsherbreadfrom").
        f"word ::= [^ \\[\\n]{{1,{ANSWER_WORD_CHARS}}}",
    ]
)
# A part that runs into ANSWER_PART_WORDS ends in what the model can still write without
# a space: its next words glued on ("anothersessionsoon") or in another script
# ("home优势"). 44 of bench_answers' 100 answers with the 0.5B model hit the cap; such a
# part goes back to its last whole sentence (token F1 0.283 -> 0.303).
GLUED_WORD_LETTERS = 12
_PUNCTUATION_INSIDE = re.compile(r"[,.!?;:_(][^\W\d_]|_$")


def looks_glued(word: str) -> bool:
    """Whether ``word`` is several words run together: very long, Latin letters mixed
    with another script, or punctuation followed by a letter."""
    letters = [ch for ch in word if ch.isalpha()]
    latin = sum(unicodedata.name(ch, "").startswith("LATIN") for ch in letters)
    return (
        len(letters) > GLUED_WORD_LETTERS
        or 0 < latin < len(letters)
        or bool(_PUNCTUATION_INSIDE.search(word))
    )


def _last_sentence_end(text: str) -> int | None:
    ends = [match.start() for match in SENTENCE_BREAK.finditer(text)]
    return ends[-1] if ends else None


def _without_capped_tail(part: str) -> str:
    words = part.split()
    if len(words) < ANSWER_PART_WORDS:
        return part
    last = words[-1]
    glued = looks_glued(last)
    stripped = part.rstrip()
    if not glued and stripped.endswith((".", "!", "?")):
        return part  # it reached a full stop at the cap
    body = stripped[: len(stripped) - len(last)]
    end = _last_sentence_end(body)
    if end is not None:
        return body[:end] + " "
    return body if glued else part


def without_glued_tails(answer: str) -> str:
    """``answer`` (written under CITED_ANSWER_GRAMMAR) with each part that ran into the
    word cap cut back to its last whole sentence, or without one, its glued last word
    left out; markers stay. Uncited words after the last marker (the token cap cut
    them) keep only whole sentences."""
    pieces: list[str] = []
    start = 0
    for marker in CITATION_MARKER.finditer(answer):
        pieces += [_without_capped_tail(answer[start : marker.start()]), marker.group(0)]
        start = marker.end()
    if start == 0:
        return answer  # the decline, or no marker at all: nothing to cut back to
    tail = answer[start:]
    if tail.strip(" .") and not tail.rstrip().endswith((".", "!", "?")):
        end = _last_sentence_end(tail)
        tail = tail[:end] if end is not None else ""
    return "".join([*pieces, tail]).strip()


# A question that offers a choice ("Thursday or Friday?") is answered by its own words.
CHOICE_QUESTION = re.compile(r"\bor\b", re.IGNORECASE)
RESTATED_MIN_WORDS = 3  # fewer is a short answer taken from the question ("Keeper [1]")


def restates_question(answer: str, question: str) -> bool:
    """Whether ``answer`` only says the question back: every content word of it is in the
    question and it repeats at least half of the question's ("The restaurant where they
    had dinner is [1]."). The 1.5B model wrote such an answer where the sources lacked
    the fact; a yes-or-no or a choice question is answered by its own words, so it is
    never one, nor is a short answer that picks words out ("Wukong [1]")."""
    if YES_NO_QUESTION.match(question) or CHOICE_QUESTION.search(question):
        return False
    said = set(content_words(CITATION_MARKER.sub(" ", answer)))
    asked = set(content_words(question))
    return said <= asked and len(said) >= RESTATED_MIN_WORDS and 2 * len(said) >= len(asked)


# A source is shown to an instruction model as its best excerpt of about this many
# characters (the lines that share most words with the question): on LiHua-World the
# prompt fell from about 1,800 tokens to 1,100, first tokens came ~40% sooner and token F1
# rose (0.157 -> 0.212), the model no longer lost the fact in a whole chat session.
EXCERPT_CHARS = 600
# Below this cosine similarity, with no keyword in common, a hit is not about the question.
MIN_RELEVANT_COSINE = 0.25
# Tokens kept free for the prompt's framing beyond what is counted (template drift).
PROMPT_SAFETY_TOKENS = 32
MIN_SOURCE_CHARS = 200


@dataclass(frozen=True)
class Source:
    n: int
    document: str
    page: int | None
    text: str
    score: float
    # Where in a document without pages (a chapter, "Sheet1, rows 2–41"); None otherwise.
    heading: str | None = None
    ocr: bool = False  # the text was recognised from a scanned page

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "document": self.document,
            "page": self.page,
            "heading": self.heading,
            "ocr": self.ocr,
            "text": self.text,
            "score": round(self.score, 4),
        }


@dataclass
class GroundedAnswer:
    answer: str
    sources: list[Source]
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    # The sources the answer rests on, by number: from its [n] markers ("marker"), else
    # from matching its sentences to the sources ("overlap"); empty when neither finds any.
    cited: list[int] = field(default_factory=list)
    cited_by: str = ""
    first_token_seconds: float = 0.0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "sources": [s.to_json() for s in self.sources],
            "cited": self.cited,
            "tool_calls": self.tool_calls,
        }


def cited_sources(answer: str, sources: list[Source]) -> tuple[list[int], str]:
    """Which sources ``answer`` rests on, and how that was found ("marker" or "overlap")."""
    marked = cited_numbers(answer, len(sources))
    if marked:
        return marked, "marker"
    matched = supporting_numbers(answer, [source.text for source in sources])
    return matched, "overlap" if matched else ""


def relevant_hits(hits: list[SearchHit]) -> list[SearchHit]:
    return [
        h
        for h in hits
        if h.evidence.get("cosine", 0.0) >= MIN_RELEVANT_COSINE
        or h.evidence.get("keyword_match", 0.0) > 0
    ]


def best_excerpt(text: str, question: str, chars: int = EXCERPT_CHARS) -> str:
    """The run of consecutive lines (or sentences, in prose) of at most ``chars`` that shares
    the most content words with ``question``; ``text`` itself when it is short enough."""
    if len(text) <= chars:
        return text
    lines = text.split("\n")
    if len(lines) < 3:
        lines = SENTENCE_BREAK.split(text)
    wanted = set(content_words(question))
    overlap = [len(wanted & set(content_words(line))) for line in lines]
    best_score, best = -1, (0, 1)
    for first in range(len(lines)):
        size, score, last = 0, 0, first
        while last < len(lines) and (last == first or size + len(lines[last]) + 1 <= chars):
            size += len(lines[last]) + 1
            score += overlap[last]
            last += 1
        if score > best_score:
            best_score, best = score, (first, last)
    joiner = "\n" if "\n" in text else " "
    excerpt = joiner.join(lines[best[0] : best[1]])
    return excerpt[:chars] if len(excerpt) > chars else excerpt


def source_block(number: int, hit: SearchHit, text: str | None = None) -> str:
    where = Path(hit.document).name + (f", page {hit.page}" if hit.page else "")
    return f"[{number}] ({where})\n{text if text is not None else hit.chunk.text}"


def instructed_user_message(question: str, blocks: list[str], notes: str = "") -> ChatMessage:
    sources = "\n\n".join(blocks) if blocks else "(none)"
    short = SHORT_ANSWER_QUESTION.match(question)
    reminder = SHORT_ANSWER_REMINDER if short else INSTRUCTED_REMINDER
    if YES_NO_QUESTION.match(question):
        reminder += " " + YES_NO_REMINDER
    return {
        "role": "user",
        "content": f"{notes}Sources:\n{sources}\n\nQuestion: {question}\n{reminder}",
    }


def tool_notes(calls: list[ToolCall]) -> str:
    """Tool results as the model sees them, ahead of the sources."""
    if not calls:
        return ""
    lines = [f"- {c.tool}({json.dumps(c.arguments)}) -> {c.result}" for c in calls]
    return "Tool results:\n" + "\n".join(lines) + "\n\n"


def grounded_user_message(question: str, blocks: list[str], notes: str = "") -> ChatMessage:
    sources = "\n\n".join(blocks) if blocks else "(none)"
    return {"role": "user", "content": f"{notes}Sources:\n{sources}\n\nQuestion: {question}"}


# One worked example before the real question: a base model without a chat template
# learns the shape of a good answer (short, cited) from it; instruction-tuned models lose
# nothing. It names no real document and never becomes a source.
WORKED_EXAMPLE: list[ChatMessage] = [
    grounded_user_message(
        "When does the library open on Saturdays?",
        [
            "[1] (opening-hours.txt)\nThe library opens at 9 am on weekdays and at 10 am on "
            "Saturdays. It is closed on Sundays."
        ],
    ),
    {"role": "assistant", "content": "On Saturdays the library opens at 10 am [1]."},
]
# Where a base model would start inventing the next question or more sources.
GROUNDED_STOP = ["\nQuestion:", "\nSources:", *(f"\n[{n}] (" for n in range(1, 21))]


def grounded_messages(
    question: str,
    blocks: list[str],
    history: list[ChatMessage] | None = None,
    notes: str = "",
    instructed: bool = True,
) -> list[ChatMessage]:
    """The conversation a model answers from: for an instruction-tuned model (``instructed``)
    the instructions and sources only; for a base model, the worked example first."""
    if instructed:
        return [
            {"role": "system", "content": INSTRUCTED_SYSTEM_PROMPT},
            *(history or []),
            instructed_user_message(question, blocks, notes),
        ]
    return [
        {"role": "system", "content": GROUNDED_SYSTEM_PROMPT},
        *WORKED_EXAMPLE,
        *(history or []),
        grounded_user_message(question, blocks, notes),
    ]


class GroundedAnswerer:
    def __init__(self, index: DocumentIndex, engine: Engine, query_step: bool = False) -> None:
        """``query_step``: let the model read the question first (assistant/query_step.py)."""
        self.index = index
        self.engine = engine
        self.query_step = query_step

    def fit_sources(
        self,
        question: str,
        hits: list[SearchHit],
        answer_tokens: int,
        history: list[ChatMessage] | None = None,
        notes: str = "",
    ) -> tuple[list[Source], list[ChatMessage]]:
        """As many top hits as the context holds, with ``answer_tokens`` left free."""
        status = self.engine.status()
        instructed = status.has_chat_template
        budget = status.n_ctx - answer_tokens - PROMPT_SAFETY_TOKENS
        blocks: list[str] = []
        sources: list[Source] = []
        used = self.engine.count_chat_tokens(
            grounded_messages(question, [], history, notes, instructed)
        )
        for hit in hits:
            number = len(sources) + 1
            # An instruction model reads the excerpt that matters; a base model, whole chunks
            # (its worked example shows it how to pick a fact out).
            text = best_excerpt(hit.chunk.text, question) if instructed else hit.chunk.text
            block = source_block(number, hit, text)
            cost = self.engine.count_tokens(block + "\n\n")
            if used + cost > budget:
                # Trim the source to what fits, if a useful amount does.
                room = budget - used
                if room <= 0 or (not sources and room < 16):
                    break
                keep = int(len(text) * room / cost) - 20
                if keep < MIN_SOURCE_CHARS:
                    break
                text = text[:keep].rsplit(" ", 1)[0] + " …"
                block = source_block(number, hit, text)
                cost = self.engine.count_tokens(block + "\n\n")
                if used + cost > budget:
                    break
            blocks.append(block)
            sources.append(
                Source(
                    number,
                    hit.document,
                    hit.page,
                    text,
                    hit.score,
                    hit.chunk.heading,
                    bool(hit.chunk.ocr),
                )
            )
            used += cost
        return sources, grounded_messages(question, blocks, history, notes, instructed)

    def ask(
        self,
        question: str,
        options: SamplingOptions,
        max_sources: int = 6,
        history: list[ChatMessage] | None = None,
        documents: list[str] | None = None,
        on_piece: Callable[[str], None] | None = None,
        tool_calls: list[ToolCall] | None = None,
        on_stage: StageCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GroundedAnswer:
        """Retrieve, fit, answer; raises Cancelled if ``should_cancel`` says so (checked
        before the model starts and when it stops)."""
        started = time.perf_counter()
        calls = tool_calls or []
        report = on_stage or (lambda stage, detail: None)
        # Always the deep search (its second hop and the question's clauses need no
        # model); the question step, when on, splits what the clauses do not.
        engine = self.engine if self.query_step else None
        if engine is not None:
            report(SEARCHING, "Reading the question…")
        plan = plan_search(question, engine).plan
        check_cancelled(should_cancel, "answering")
        report(SEARCHING, "Searching your documents…")
        hits = relevant_hits(
            self.index.search(question, k=max_sources, documents=documents, plan=plan)
        )
        if not hits and not any(call.ok for call in calls):
            if on_piece:
                on_piece(NOTHING_FOUND)
            return GroundedAnswer(NOTHING_FOUND, [], finish_reason="nothing_found")
        sources, messages = self.fit_sources(
            question, hits, options.max_tokens, history, tool_notes(calls)
        )
        count = len(sources)
        check_cancelled(should_cancel, "answering")
        report(READING, f"Reading {count} source{'s' if count != 1 else ''}…")
        # A grounded answer never speaks as one of the sources' speakers.
        options = replace(options, stop=[*options.stop, *GROUNDED_STOP], stop_at_new_speaker=True)
        if self.engine.status().has_chat_template and options.grammar is None:
            options = replace(options, grammar=CITED_ANSWER_GRAMMAR)
        stream = self.engine.stream_chat(messages, options)
        pieces: list[str] = []
        first_token_at: float | None = None
        for piece in stream:
            if first_token_at is None:
                first_token_at = time.perf_counter()
                report(WRITING, "Writing…")
            pieces.append(piece)
            if on_piece:
                on_piece(piece)
        if stream.result.finish_reason == "cancelled":
            raise Cancelled("answering was cancelled")
        check_cancelled(should_cancel, "answering")
        answer = "".join(pieces).strip()
        if options.grammar == CITED_ANSWER_GRAMMAR:
            answer = without_glued_tails(answer)
            if restates_question(answer, question):
                answer = NOT_IN_SOURCES  # it found no fact: say so, cite nothing
        cited, cited_by = cited_sources(answer, sources)
        ended = time.perf_counter()
        first_token_seconds = (first_token_at or ended) - started
        log.info(
            "answered from %d sources: first token after %.2f s, %d tokens in %.2f s",
            count,
            first_token_seconds,
            stream.result.completion_tokens,
            ended - started,
        )
        return GroundedAnswer(
            answer=answer,
            sources=sources,
            tool_calls=[call.to_json() for call in calls],
            prompt_tokens=stream.result.prompt_tokens,
            completion_tokens=stream.result.completion_tokens,
            finish_reason=stream.result.finish_reason,
            cited=cited,
            cited_by=cited_by,
            first_token_seconds=first_token_seconds,
            seconds=ended - started,
        )
