"""One chat turn: the question, the conversation so far, the tools, and the answer
(grounded in the documents when the conversation uses them). The desktop app and the
CLI both answer through answer_turn; no Qt here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
from hearth.assistant.workspace import Workspace
from hearth.engine.prompts import ChatMessage
from hearth.engine.types import SamplingOptions
from hearth.jobs import CancelCheck, Cancelled, check_cancelled
from hearth.settings import Settings
from hearth.tools.registry import ToolCall

HISTORY_MESSAGES = 8


@dataclass
class TurnResult:
    text: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)


def history_from(messages: list[Message]) -> list[ChatMessage]:
    """Completed user/assistant turns, most recent last (failed answers are left out)."""
    history: list[ChatMessage] = []
    for message in messages[-HISTORY_MESSAGES:]:
        if message.status == "error" or message.role not in ("user", "assistant"):
            continue
        role: Any = message.role
        history.append({"role": role, "content": message.content})
    return history


def answer_options(settings: Settings, max_tokens: int | None = None) -> SamplingOptions:
    """Sampling for an answer, as the user set it (``max_tokens`` overrides the length)."""
    return SamplingOptions(
        max_tokens=max_tokens or settings.max_answer_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        stop_at_new_speaker=True,
    )


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
    conversation: Conversation,
    question: str,
    history: list[ChatMessage],
    on_piece: Callable[[str], None],
    on_stage: StageCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> TurnResult:
    """Tools, then the answer, streamed through ``on_piece``. Raises Cancelled when
    ``should_cancel`` says so, checked before and after every model call."""
    report = on_stage or (lambda stage, detail: None)
    workspace.ensure_model_loaded()
    engine = workspace.engine
    settings = workspace.settings
    options = answer_options(settings)
    calls: list[ToolCall] = []
    if settings.tools_enabled:
        report(TOOLS, "Deciding whether a tool helps…")
        calls = run_tools(workspace, question, should_cancel)
    check_cancelled(should_cancel, "answering")
    if conversation.use_documents and workspace.index.documents():
        answer = GroundedAnswerer(workspace.index, engine, settings.query_step).ask(
            question,
            options,
            max_sources=settings.sources_per_answer,
            history=history,
            documents=conversation.documents or None,
            on_piece=on_piece,
            tool_calls=calls,
            on_stage=on_stage,
            should_cancel=should_cancel,
        )
        return TurnResult(
            answer.answer,
            [s.to_json() for s in answer.sources],
            answer.finish_reason,
            answer.tool_calls,
            answer.cited,
        )
    system: ChatMessage = {"role": "system", "content": settings.system_prompt}
    question_message: ChatMessage = {"role": "user", "content": tool_notes(calls) + question}
    budget = engine.status().n_ctx - options.max_tokens
    kept = list(history)
    while kept and engine.count_chat_tokens([system, *kept, question_message]) > budget:
        kept.pop(0)  # the oldest turns go first
    report(READING, "Thinking…")
    stream = engine.stream_chat([system, *kept, question_message], options)
    pieces: list[str] = []
    for piece in stream:
        if not pieces:
            report(WRITING, "Writing…")
        pieces.append(piece)
        on_piece(piece)
    if stream.result.finish_reason == "cancelled":
        raise Cancelled("answering was cancelled")
    check_cancelled(should_cancel, "answering")
    return TurnResult(
        "".join(pieces).strip(), [], stream.result.finish_reason, [call.to_json() for call in calls]
    )
