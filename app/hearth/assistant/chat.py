"""One chat turn: the question, the conversation so far, the tools, and the answer
(grounded in the documents when the conversation uses them). The desktop app and the
CLI both answer through answer_turn; no Qt here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hearth.assistant.conversations import Conversation, Message
from hearth.assistant.grounded import GroundedAnswerer, tool_notes
from hearth.assistant.workspace import Workspace
from hearth.engine.client import SamplingOptions
from hearth.engine.prompts import ChatMessage
from hearth.settings import Settings
from hearth.tools.registry import ToolCall

HISTORY_MESSAGES = 8


@dataclass
class TurnResult:
    text: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


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


def run_tools(workspace: Workspace, question: str) -> list[ToolCall]:
    from hearth.assistant.tool_loop import ToolRouter, ToolRunner
    from hearth.tools.registry import ToolContext

    engine = workspace.engine
    context = ToolContext(index=workspace.index, summarize=workspace.summarize_text)
    router = ToolRouter(workspace.index.embedder, workspace.tools, workspace.index)
    return ToolRunner(engine, workspace.tools, router).run(question, context)


def answer_turn(
    workspace: Workspace,
    conversation: Conversation,
    question: str,
    history: list[ChatMessage],
    on_piece: Callable[[str], None],
) -> TurnResult:
    workspace.ensure_model_loaded()
    engine = workspace.engine
    settings = workspace.settings
    options = answer_options(settings)
    calls = run_tools(workspace, question) if settings.tools_enabled else []
    if conversation.use_documents and workspace.index.documents():
        answer = GroundedAnswerer(workspace.index, engine).ask(
            question,
            options,
            max_sources=settings.sources_per_answer,
            history=history,
            documents=conversation.documents or None,
            on_piece=on_piece,
            tool_calls=calls,
        )
        return TurnResult(
            answer.answer,
            [s.to_json() for s in answer.sources],
            answer.finish_reason,
            answer.tool_calls,
        )
    system: ChatMessage = {"role": "system", "content": settings.system_prompt}
    question_message: ChatMessage = {"role": "user", "content": tool_notes(calls) + question}
    budget = engine.status().n_ctx - options.max_tokens
    kept = list(history)
    while kept and engine.count_chat_tokens([system, *kept, question_message]) > budget:
        kept.pop(0)  # the oldest turns go first
    stream = engine.stream_chat([system, *kept, question_message], options)
    pieces = []
    for piece in stream:
        pieces.append(piece)
        on_piece(piece)
    return TurnResult(
        "".join(pieces).strip(), [], stream.result.finish_reason, [call.to_json() for call in calls]
    )
