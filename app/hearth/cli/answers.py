"""`hearth chat`, `hearth ask` and `hearth summarize`: the commands that run the model."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from hearth.cli.shared import EXIT_USAGE, CommandError, open_workspace, print_json
from hearth.terminal import (
    StageLine,
    StreamedAnswer,
    TerminalProgress,
    for_terminal,
    text_for_terminal,
)

if TYPE_CHECKING:
    from hearth.assistant.conversations import Conversation, ConversationStore


def cmd_chat(args: argparse.Namespace) -> int:
    from hearth.assistant.chat import answer_options
    from hearth.assistant.streaming import stream_reply
    from hearth.engine.prompts import ChatMessage

    def show(piece: str) -> None:
        if not args.json:
            sys.stdout.write(text_for_terminal(piece))
            sys.stdout.flush()

    started = time.perf_counter()
    with open_workspace(args.model) as workspace:
        settings = workspace.settings
        messages: list[ChatMessage] = [
            {"role": "system", "content": settings.system_prompt},
            {"role": "user", "content": args.prompt},
        ]
        options = answer_options(settings, args.max_tokens)
        reply = stream_reply(workspace.engine, messages, options, "chatting", on_piece=show)
        model_id = workspace.ensure_model_loaded().id
    text = reply.text.strip()
    if args.json:
        print_json(
            {
                "model": model_id,
                "text": text,
                "prompt_tokens": reply.result.prompt_tokens,
                "completion_tokens": reply.result.completion_tokens,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
    else:
        print()
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from hearth.assistant.chat import TurnRequest, answer_options, answer_turn, history_from
    from hearth.assistant.citations import numbered_source_label
    from hearth.assistant.message_status import CUT_NOTE

    status = StageLine()
    streamed = StreamedAnswer()

    def show(piece: str) -> None:
        if not args.json:
            status.clear()
            streamed.piece(piece)

    with open_workspace(args.model, args.chroma_url) as workspace:
        # Every question is kept as a conversation (as the window keeps them), so that
        # --continue can follow up on it: the follow-up is searched with its subject.
        store = workspace.conversations
        conversation = _conversation_to_continue(store, args)
        if conversation is None:
            conversation = store.create(args.question[:48])
        history = history_from(store.messages(conversation.id))
        request = TurnRequest.in_conversation(conversation, args.question, history)
        if args.no_tools:
            request = replace(request, tools=False)
        if args.max_tokens:
            options = answer_options(workspace.settings, args.max_tokens, seed=request.seed)
            request = replace(request, options=options)
        result = answer_turn(workspace, request, show, status.show)
        store.add_message(conversation.id, "user", args.question)
        store.add_message(
            conversation.id,
            "assistant",
            result.text,
            sources=result.sources,
            tool_calls=result.tool_calls,
            cited=result.cited,
            unsupported=result.unsupported,
            status=result.status,
        )
    if args.json:
        print_json(
            {
                "answer": result.text,
                "sources": [source.to_json() for source in result.sources],
                "cited": result.cited,
                "unsupported": result.unsupported,
                "tool_calls": result.tool_calls,
                "conversation": conversation.id,
                "search_query": result.search_query,
                "cut": result.cut,
            }
        )
        return 0
    streamed.settle(result.text)
    print()
    for call in result.tool_calls:
        output = for_terminal(call["result"][:80])
        print(f"  tool {call['tool']}({json.dumps(call['arguments'])}) -> {output}")
    cited = [s for n in result.cited for s in result.sources if s.n == n]
    for source in cited:
        print(f"  {for_terminal(numbered_source_label(source))}")
    for statement in result.unsupported:
        print(f"  (not found in the sources: {for_terminal(statement)})")
    if result.cut:
        print(f"  ({CUT_NOTE} Ask again with a higher --max-tokens for all of it.)")
    others = len(result.sources) - len(cited)
    if others:
        print(f"  ({others} other source{'s' if others != 1 else ''} read: ask --json lists all)")
    return 0


def _conversation_to_continue(
    store: ConversationStore, args: argparse.Namespace
) -> Conversation | None:
    """The conversation ``--conversation ID`` names, or with ``--continue`` the latest one."""
    if args.conversation is not None:
        try:
            return store.get(args.conversation)
        except KeyError:
            raise CommandError(
                f"there is no conversation {args.conversation}"
                " (hearth ask --continue takes the latest)",
                EXIT_USAGE,
            ) from None
    if args.continue_conversation:
        latest = store.search()
        if not latest:
            raise CommandError("there is no conversation to continue yet", EXIT_USAGE)
        return latest[0]
    return None


def cmd_summarize(args: argparse.Namespace) -> int:
    from hearth.tools.builtin import resolve_document
    from hearth.tools.registry import ToolError

    with open_workspace(args.model, args.chroma_url) as workspace:
        try:
            path = resolve_document(workspace.index, args.document)
        except ToolError as error:
            raise CommandError(f"{args.document}: {error}", EXIT_USAGE) from error
        summary = workspace.summarizer().summarize(path, progress=TerminalProgress())
    if args.json:
        print_json(summary.to_json())
        return 0
    print(text_for_terminal(summary.text))
    covered = len(summary.covered_entities)
    print(
        f"\n({summary.parts} parts, {summary.cached_parts} from cache, {summary.rounds} rounds, "
        f"{covered}/{len(summary.key_entities)} key entities, {summary.seconds:.1f} s)"
    )
    return 0
