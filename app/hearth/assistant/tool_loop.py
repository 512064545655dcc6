"""The tool loop: decide, fill, validate, run, then answer.

A model whose chat template has its own tool-call format (Qwen2.5) gets the candidate
tools in its template's tools section and decides the way it was trained to: its next
token either opens a call (<tool_call>) or an answer; a call's JSON is then generated
under a grammar that allows exactly {"name": <a candidate>, "arguments": <that tool's
schema>}. A base model gets two plain steps instead: choose a tool or "answer" under a
grammar of exactly those names, then the arguments under a grammar built from the tool's
JSON schema, with a few worked examples (one per tool) that show what each tool is for.
Either way every call parses and validates; the registry validates again before the tool
runs. At most MAX_STEPS calls are made; a repeated call ends the loop.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.assistant.injection import instruction_spans, without_instructions
from hearth.engine.prompts import ChatMessage
from hearth.engine.protocol import Engine
from hearth.engine.types import SamplingOptions
from hearth.index.document_index import DocumentIndex
from hearth.index.embedder import Embedder
from hearth.index.keywords import content_words
from hearth.jobs import CancelCheck, check_cancelled
from hearth.tools.grammar import choice_grammar, schema_grammar, tool_call_grammar
from hearth.tools.registry import ToolCall, ToolContext, ToolRegistry

log = logging.getLogger(__name__)

ANSWER = "answer"
MAX_STEPS = 2
CHOOSE_SYSTEM = (
    "Decide how to handle the user's question. Reply with the name of one tool, or "
    "'answer' when no tool is needed.\nTools:\n"
)
FILL_SYSTEM = "Write the arguments for the tool call as JSON."
NATIVE_SYSTEM = (
    "You are Hearth, a private assistant on the user's computer. Call a tool only when the "
    "request needs what the tool does; greetings, thanks, translations and general "
    "questions you answer directly."
)
TOOL_CALL_OPEN = "<tool_call>"
MAX_DOCUMENT_NAMES_SHOWN = 20


@dataclass(frozen=True)
class ToolExample:
    question: str
    tool: str
    arguments: dict[str, object]


# Worked examples, one or two per tool. They describe no real document.
EXAMPLES = [
    ToolExample("How much is 15% of 2,340?", "calculator", {"expression": "0.15 * 2340"}),
    ToolExample("What's the date today?", "current_date_time", {}),
    ToolExample("Which files did I add?", "list_documents", {}),
    ToolExample(
        "Give me a summary of the tenancy agreement.",
        "summarize_document",
        {"document": "tenancy agreement"},
    ),
    ToolExample(
        "Show me page 3 of minutes.pdf", "read_page", {"document": "minutes.pdf", "page": 3}
    ),
    ToolExample(
        "What do my notes say about the boiler pressure?",
        "search_documents",
        {"query": "boiler pressure", "k": 5},
    ),
    ToolExample("Thanks, that helps!", ANSWER, {}),
    ToolExample("Write a haiku about autumn.", ANSWER, {}),
]


DOCUMENT_ARGUMENT = "document"
MAX_DOCUMENT_CHOICES = 200


def restrict_documents(schema: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    """The schema with its document argument narrowed to ``names`` (a stricter schema, so
    anything it accepts the original accepts too)."""
    properties = schema.get("properties", {})
    if not names or DOCUMENT_ARGUMENT not in properties or len(names) > MAX_DOCUMENT_CHOICES:
        return schema
    narrowed = dict(properties)
    narrowed[DOCUMENT_ARGUMENT] = {"enum": sorted(set(names))}
    return {**schema, "properties": narrowed}


def _question(question: str) -> str:
    return f"Question: {question}\nTool:"


# How people ask for each tool, for the router (not the examples the model is shown).
ROUTING_PHRASES: dict[str, list[str]] = {
    "calculator": [
        "calculate a number",
        "what is 12 times 7",
        "add these amounts",
        "percentage of a value",
        "divide by",
        "square root",
        "convert with arithmetic",
    ],
    "current_date_time": [
        "what day is it",
        "current time",
        "today's date",
        "what year is it",
        "which weekday",
    ],
    "list_documents": [
        "what documents do I have",
        "show my files",
        "which files are indexed",
        "how many documents",
    ],
    "summarize_document": [
        "summarise this document",
        "give me an overview of the report",
        "what is this file about overall",
        "tl;dr of the paper",
    ],
    "read_page": [
        "show page 4 of the file",
        "read page two",
        "what does page 10 say",
        "open the first page of",
    ],
    "search_documents": [
        "what do my documents say about",
        "find where the notes mention",
        "who said something in my files",
        "when did it happen according to",
        "look up in my documents",
    ],
    ANSWER: [
        "hello",
        "thank you",
        "write a poem",
        "tell me a joke",
        "how are you",
        "explain a general concept",
    ],
}
ROUTER_CANDIDATES = 2


PAGE_REFERENCE = re.compile(
    r"\bpage\s+\d+|\b(?:first|second|third|fourth|fifth|last|\d+(?:st|nd|rd|th))\s+page\b",
    re.IGNORECASE,
)
# A sum needs numbers: without any in the question, "How much did the roof cost?" is a
# question for the documents, and a small model would fill the calculator with numbers
# copied from its worked example.
NUMBER_IN_TEXT = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|half|quarter|dozen)\b",
    re.IGNORECASE,
)
# Tools that make no sense for a question without something they need.
TOOL_PRECONDITIONS: dict[str, re.Pattern[str]] = {"calculator": NUMBER_IN_TEXT}
# What a question says when it asks for what a tool does. The tool step (a model call of a
# second or more) runs only for a question that says one of these: on the document
# benchmark the router's candidates alone let it run for 69 of 120 questions about the
# documents, where the model then chose to search them (which the answer does anyway).
TOOL_REQUESTS: dict[str, re.Pattern[str]] = {
    "calculator": re.compile(
        # "12 - 3" and "2*3" are sums; "1.5-2" and "3-4" are versions and ranges.
        r"\d\s+[-+]\s+\d|\d\s*[*/×÷^]\s*\d|\d\s*%|\b(?:times|plus|minus|divided|multipl\w*|percent\w*|"
        r"sum of|average of|square root|squared|calculate|compute)\b",
        re.IGNORECASE,
    ),
    "current_date_time": re.compile(
        r"\b(?:today|tomorrow|yesterday|right now|current (?:date|time|year)|"
        r"what (?:day|date|time|year|month) is it|this (?:week|month|year))\b",
        re.IGNORECASE,
    ),
    "list_documents": re.compile(
        r"\b(?:which|what|list|show)\b.{0,20}\b(?:documents|files)\b.{0,20}"
        r"\b(?:i|have|added|indexed|there)\b",
        re.IGNORECASE,
    ),
    "read_page": PAGE_REFERENCE,
    "summarize_document": re.compile(r"\b(?:summar|overview|tl;?dr|gist)", re.IGNORECASE),
}


def tools_asked_for(question: str) -> list[str]:
    """The tools whose request ``question`` makes (TOOL_REQUESTS)."""
    return [name for name, asked in TOOL_REQUESTS.items() if asked.search(question)]


# Best chunk similarity above which a question is taken to be about the documents.
DOCUMENT_RELEVANCE = 0.3
PAGE_BOOST = 0.3


class ToolRouter:
    """Narrows the choice for small models: the tools whose descriptions and typical
    phrasings are closest in meaning to the question (MiniLM cosine), with two signals no
    phrasing can give: how closely the question matches the indexed documents themselves
    (for search_documents), and an explicit page reference (for read_page)."""

    def __init__(
        self, embedder: Embedder, registry: ToolRegistry, index: DocumentIndex | None = None
    ) -> None:
        self.embedder = embedder
        self.index = index
        self.labels: list[str] = []
        texts: list[str] = []
        for name in [*registry.names, ANSWER]:
            description = registry.get(name).description if name != ANSWER else "reply directly"
            for text in [description, *ROUTING_PHRASES.get(name, [])]:
                self.labels.append(name)
                texts.append(text)
        self.vectors = embedder.embed(texts)

    def scores(self, question: str) -> dict[str, float]:
        vector = self.embedder.embed_one(question)
        similarity = self.vectors @ vector
        best: dict[str, float] = {}
        for label, score in zip(self.labels, similarity.tolist(), strict=True):
            needs = TOOL_PRECONDITIONS.get(label)
            if needs is not None and not needs.search(question):
                continue
            best[label] = max(best.get(label, -1.0), score)
        if "read_page" in best and PAGE_REFERENCE.search(question):
            best["read_page"] += PAGE_BOOST
        if "search_documents" in best and self.index is not None:
            nearest = self.index.best_match(vector)
            if nearest >= DOCUMENT_RELEVANCE:
                best["search_documents"] = max(best["search_documents"], nearest + 0.2)
        return best

    def candidates(self, question: str, count: int = ROUTER_CANDIDATES) -> list[str]:
        best = self.scores(question)
        # "answer" is offered only when it ranks among the candidates: small models
        # otherwise fall back to it when unsure, even for a plain sum.
        return sorted(best, key=best.__getitem__, reverse=True)[:count]


class ToolRunner:
    def __init__(
        self, engine: Engine, registry: ToolRegistry, router: ToolRouter | None = None
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.router = router

    def _choose_messages(self, question: str, done: list[ToolCall]) -> list[ChatMessage]:
        catalogue = "\n".join(
            f"- {tool.name}: {tool.description}" for tool in self.registry.tools.values()
        )
        messages: list[ChatMessage] = [
            {
                "role": "system",
                "content": CHOOSE_SYSTEM + catalogue + f"\n- {ANSWER}: reply directly",
            },
        ]
        for example in EXAMPLES:
            if example.tool in self.registry.tools or example.tool == ANSWER:
                messages.append({"role": "user", "content": _question(example.question)})
                messages.append({"role": "assistant", "content": example.tool})
        prompt = _question(question)
        if done:
            results = "\n".join(f"{c.tool} -> {without_instructions(c.result[:300])}" for c in done)
            prompt = f"Tool results so far:\n{results}\n\n{prompt}"
        messages.append({"role": "user", "content": prompt})
        return messages

    def candidates(self, question: str) -> list[str]:
        if self.router is not None:
            return self.router.candidates(question)
        return [*self.registry.names, ANSWER]

    def decide(
        self, question: str, done: list[ToolCall] | None = None, documents: list[str] | None = None
    ) -> tuple[str, object]:
        """The next step: (ANSWER, {}) or (tool name, its arguments as generated)."""
        if self.engine.status().native_tool_calls:
            try:
                return self._decide_natively(question, done or [], documents)
            except NotImplementedError:
                pass  # a tool schema the call grammar cannot express: the two plain steps
        choice = self.choose(question, done)
        if choice == ANSWER:
            return ANSWER, {}
        return choice, self.fill(choice, question, documents)

    def _decide_natively(
        self, question: str, done: list[ToolCall], documents: list[str] | None
    ) -> tuple[str, object]:
        # The choice is the plain step's (a grammar over the router's candidates, shown
        # worked examples): on bench_tools the 0.5B chose right for 0.952 of the prompts
        # that way, 0.887 when its own first token decided. The call is the model's format.
        choice = self.choose(question, done)
        if choice == ANSWER:
            return ANSWER, {}
        tools = {choice: restrict_documents(self.registry.get(choice).parameters, documents)}
        grammar = tool_call_grammar(tools)
        specs = [
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": self.registry.get(name).description,
                    "parameters": schema,
                },
            }
            for name, schema in tools.items()
        ]
        system = NATIVE_SYSTEM
        if documents:
            shown = ", ".join(documents[:MAX_DOCUMENT_NAMES_SHOWN])
            system += f"\nThe user's indexed documents: {shown}."
        messages: list[ChatMessage] = [
            {"role": "system", "content": system},
            {"role": "user", "content": question},
        ]
        for call in done:
            payload = json.dumps({"name": call.tool, "arguments": call.arguments})
            messages.append(
                {"role": "assistant", "content": f"{TOOL_CALL_OPEN}\n{payload}\n</tool_call>"}
            )
            messages.append({"role": "tool", "content": without_instructions(call.result[:600])})
        prompt = self.engine.format_chat(messages, specs)
        raw = self.engine.stream_completion(
            f"{prompt}{TOOL_CALL_OPEN}\n",
            SamplingOptions(max_tokens=200, temperature=0.0, grammar=grammar, repeat_penalty=1.0),
        ).text()
        try:
            call = json.loads(raw)
        except json.JSONDecodeError:
            log.debug("tool call did not parse: %r", raw)
            return ANSWER, {}
        return str(call["name"]), call["arguments"]

    def choose(self, question: str, done: list[ToolCall] | None = None) -> str:
        options = self.candidates(question)
        stream = self.engine.stream_chat(
            self._choose_messages(question, done or []),
            SamplingOptions(
                max_tokens=12, temperature=0.0, grammar=choice_grammar(options), repeat_penalty=1.0
            ),
        )
        choice = stream.text().strip()
        return choice if choice in options else ANSWER

    def fill(
        self, tool_name: str, question: str, document_names: list[str] | None = None
    ) -> object:
        """Arguments for ``tool_name``, generated under its schema's grammar (parsed JSON;
        the registry validates it before anything runs). With ``document_names``, a
        document argument can only be one of them: a small model cannot invent a file."""
        tool = self.registry.get(tool_name)
        if not tool.parameters.get("properties"):
            return {}
        messages: list[ChatMessage] = [{"role": "system", "content": FILL_SYSTEM}]
        for example in EXAMPLES:
            if example.tool == tool_name:
                messages.append(
                    {
                        "role": "user",
                        "content": f"Question: {example.question}\nTool: {tool.signature()}"
                        "\nArguments:",
                    }
                )
                messages.append({"role": "assistant", "content": json.dumps(example.arguments)})
        messages.append(
            {
                "role": "user",
                "content": f"Question: {question}\nTool: {tool.signature()}\nArguments:",
            }
        )
        raw = self.engine.stream_chat(
            messages,
            SamplingOptions(
                max_tokens=160,
                temperature=0.0,
                grammar=schema_grammar(restrict_documents(tool.parameters, document_names)),
                repeat_penalty=1.0,
            ),
        ).text()
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            log.debug("tool arguments did not parse: %r", raw)
            return {"raw": raw}

    def run(
        self, question: str, context: ToolContext, should_cancel: CancelCheck | None = None
    ) -> list[ToolCall]:
        """Up to MAX_STEPS tool calls; raises Cancelled between steps when asked to stop."""
        calls: list[ToolCall] = []
        names = [Path(d.path).name for d in context.index.documents()]
        for _ in range(MAX_STEPS):
            check_cancelled(should_cancel, "choosing a tool")
            choice, arguments = self.decide(question, calls, names)
            check_cancelled(should_cancel, "choosing a tool")
            if choice == ANSWER:
                break
            if any(c.tool == choice and c.arguments == arguments for c in calls):
                break  # the model is repeating itself
            if taken_from_results(arguments, question, calls):
                log.warning("refused a %s call whose arguments come from a tool result", choice)
                break
            calls.append(self.registry.call(choice, arguments, context))
        return calls


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def taken_from_results(arguments: object, question: str, done: list[ToolCall]) -> bool:
    """Whether a call's arguments carry words of an instruction in an earlier tool's result
    (a page, a search hit: document text) that the user's question does not. Tool calls are
    for the user's question; a figure read from a result may still go to the calculator."""
    asked = set(content_words(question))
    given = set(content_words(" ".join(_strings(arguments)))) - asked
    ordered = " ".join(
        call.result[start:end] for call in done for start, end in instruction_spans(call.result)
    )
    return bool(given & set(content_words(ordered)))
