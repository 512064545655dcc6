"""One chat turn: the question, the conversation so far, the tools, and the answer
(grounded in the documents when the turn uses them). The window, every CLI command and
``hearth serve`` answer through answer_turn, so a change to how Hearth answers reaches
all three at once; no Qt here."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.assistant.conversations import Conversation, Message
from hearth.assistant.grounded import (
    READING,
    TOOLS,
    WRITING,
    GroundedAnswerer,
    StageCallback,
    tool_notes,
)
from hearth.assistant.message_status import MessageStatus
from hearth.assistant.sources import Source
from hearth.assistant.streaming import stream_reply
from hearth.assistant.workspace import Workspace
from hearth.engine.prompts import ChatMessage
from hearth.engine.types import SamplingOptions
from hearth.jobs import CancelCheck, check_cancelled
from hearth.settings import Settings
from hearth.tools.registry import ToolCall

HISTORY_MESSAGES = 8
# Every answer is drawn with its own seed, not the next draw of one generator shared by the
# whole session: the same question over the same sources gets the same answer whatever was
# asked before it (asked in another order, 3 of 8 bench_docqa tuning questions the 1.5B
# had answered wrong came out right, with nothing else changed), and a change to Hearth is
# seen in the answers it moves, not in every answer after it. Regenerate draws another.
ANSWER_SEED = 0xC0FFEE


@dataclass(frozen=True)
class TurnRequest:
    """What one turn answers. ``history``: the conversation before it, oldest first;
    ``documents``: the paths the answer may use (None: every indexed document);
    ``tools`` and ``options``: None takes the settings'."""

    question: str
    history: list[ChatMessage] = field(default_factory=list)
    use_documents: bool = True
    documents: list[str] | None = None
    tools: bool | None = None
    options: SamplingOptions | None = None
    seed: int = ANSWER_SEED  # with the settings' sampling (not with ``options``)

    @classmethod
    def in_conversation(
        cls,
        conversation: Conversation,
        question: str,
        history: list[ChatMessage],
        seed: int = ANSWER_SEED,
    ) -> TurnRequest:
        return cls(
            question,
            history,
            use_documents=conversation.use_documents,
            documents=conversation.documents or None,
            seed=seed,
        )


@dataclass
class TurnResult:
    text: str
    sources: list[Source] = field(default_factory=list)
    finish_reason: str = "stop"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # The question as searched: a follow-up carries the earlier question's subject.
    search_query: str = ""
    # Statements of the answer whose facts were not found in any source (shown marked).
    unsupported: list[str] = field(default_factory=list)
    first_token_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def cut(self) -> bool:
        """Whether the answer ended at its length limit (its end may be missing)."""
        return self.finish_reason == "length"

    @property
    def status(self) -> MessageStatus:
        """What the answer is stored as: cut, or complete."""
        return MessageStatus.CUT if self.cut else MessageStatus.COMPLETE


def history_from(messages: list[Message]) -> list[ChatMessage]:
    """Completed user/assistant turns, most recent last (failed answers are left out)."""
    history: list[ChatMessage] = []
    for message in messages[-HISTORY_MESSAGES:]:
        if message.status == "error" or message.role not in ("user", "assistant"):
            continue
        role: Any = message.role
        history.append({"role": role, "content": message.content})
    return history


def answer_options(
    settings: Settings, max_tokens: int | None = None, seed: int = ANSWER_SEED
) -> SamplingOptions:
    """Sampling for an answer, as the user set it (``max_tokens`` overrides the length)."""
    return SamplingOptions(
        max_tokens=max_tokens or settings.max_answer_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        seed=seed,
        stop_at_new_speaker=True,
    )


# The summary tool reads a whole document (minutes for a manual): it is asked for only by
# a question for a summary of a document it names as a whole; "summarise the section about
# X", "what the policy says about cron jobs" are answered from the sources.
PART_OF_A_DOCUMENT = re.compile(
    r"\b(?:about|on|regarding|concerning|section|chapter|part|page|paragraph)\b", re.IGNORECASE
)


def tool_could_help(workspace: Workspace, question: str) -> bool:
    """Whether ``question`` asks for what one of the enabled tools does (searching the
    documents aside: the answer does that anyway)."""
    from hearth.assistant.tool_loop import tools_asked_for

    asked = [name for name in tools_asked_for(question) if name in workspace.tools.names]
    if "summarize_document" in asked and (
        PART_OF_A_DOCUMENT.search(question) or not names_a_document(workspace, question)
    ):
        asked.remove("summarize_document")
    return bool(asked)


def names_a_document(workspace: Workspace, question: str) -> bool:
    """Whether ``question`` names an indexed document by its file name or its stem."""
    lowered = question.lower()
    for document in workspace.index.documents():
        name = Path(document.path).name.lower()
        stem = Path(name).stem.replace("-", " ").replace("_", " ")
        if name in lowered or (len(stem) >= 4 and stem in lowered):
            return True
    return False


def run_tools(
    workspace: Workspace, question: str, should_cancel: CancelCheck | None = None
) -> list[ToolCall]:
    from hearth.assistant.tool_loop import ToolRouter, ToolRunner
    from hearth.tools.registry import ToolContext

    engine = workspace.engine

    def summarize(path: str) -> str:
        # A summary inside a turn stops with the turn.
        return workspace.summarizer().summarize(path, should_cancel=should_cancel).text

    context = ToolContext(index=workspace.index, summarize=summarize)
    router = ToolRouter(workspace.index.embedder, workspace.tools, workspace.index)
    return ToolRunner(engine, workspace.tools, router).run(question, context, should_cancel)


def answer_turn(
    workspace: Workspace,
    request: TurnRequest,
    on_piece: Callable[[str], None] | None = None,
    on_stage: StageCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> TurnResult:
    """Tools (where one could help), then the answer, streamed through ``on_piece``.
    Raises Cancelled when ``should_cancel`` says so, checked before and after every
    model call."""
    started = time.perf_counter()
    report = on_stage or (lambda stage, detail: None)
    show = on_piece or (lambda piece: None)
    workspace.ensure_model_loaded()
    engine = workspace.engine
    settings = workspace.settings
    options = request.options or answer_options(settings, seed=request.seed)
    question = request.question
    calls: list[ToolCall] = []
    tools_on = settings.tools_enabled if request.tools is None else request.tools
    if tools_on and tool_could_help(workspace, question):
        report(TOOLS, "Deciding whether a tool helps…")
        calls = run_tools(workspace, question, should_cancel)
    check_cancelled(should_cancel, "answering")
    if request.use_documents and workspace.index.documents():
        answer = GroundedAnswerer(workspace.index, engine, settings.query_step).ask(
            question,
            options,
            max_sources=settings.sources_per_answer,
            history=request.history,
            documents=request.documents,
            on_piece=show,
            tool_calls=calls,
            on_stage=on_stage,
            should_cancel=should_cancel,
        )
        return TurnResult(
            answer.answer,
            answer.sources,
            answer.finish_reason,
            answer.tool_calls,
            answer.cited,
            answer.prompt_tokens,
            answer.completion_tokens,
            answer.search_query,
            answer.unsupported,
            answer.first_token_seconds,
            time.perf_counter() - started,
        )
    system: ChatMessage = {"role": "system", "content": settings.system_prompt}
    question_message: ChatMessage = {"role": "user", "content": tool_notes(calls) + question}
    budget = engine.status().n_ctx - options.max_tokens
    kept = list(request.history)
    while kept and engine.count_chat_tokens([system, *kept, question_message]) > budget:
        kept.pop(0)  # the oldest turns go first
    report(READING, "Thinking…")
    reply = stream_reply(
        engine,
        [system, *kept, question_message],
        options,
        "answering",
        should_cancel,
        on_piece=show,
        on_first_piece=lambda: report(WRITING, "Writing…"),
    )
    ended = time.perf_counter()
    return TurnResult(
        reply.text.strip(),
        [],
        reply.result.finish_reason,
        [call.to_json() for call in calls],
        prompt_tokens=reply.result.prompt_tokens,
        completion_tokens=reply.result.completion_tokens,
        search_query=question,
        first_token_seconds=(reply.first_piece_at or ended) - started,
        seconds=ended - started,
    )
