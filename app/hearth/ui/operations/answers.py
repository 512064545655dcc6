"""The answer lifecycle, apart from any widget: send, regenerate, edit, summarise, stop.

One reply is written at a time (the model is one). Its user message is stored the moment
it is sent; the reply is stored when it completes, is stopped (with the text it had) or
fails (with the reason), and never into a conversation deleted meanwhile. Stop cancels
the task's token: the model stops within a token and the turn raises Cancelled at its next
check, whichever model call it was in (tool step, answer, a summary part).

When the model is idle, questions are suggested for newly indexed documents; a question
sent meanwhile cancels that work first.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from hearth.assistant.message_status import MessageStatus
from hearth.ui.tasks import BackgroundTask, TaskContext, error_message

if TYPE_CHECKING:
    from hearth.assistant.conversations import Conversation
    from hearth.assistant.sources import Source
    from hearth.assistant.workspace import Workspace

log = logging.getLogger(__name__)

SUGGESTIONS_SHOWN = 3


class ReplyKind(StrEnum):
    ANSWER = "answer"
    SUMMARY = "summary"


@dataclass
class Reply:
    """The reply being written: where it goes and what it has so far."""

    conversation_id: int
    kind: ReplyKind
    text: str = ""
    stage: str = ""
    started_at: float = field(default_factory=time.perf_counter)
    first_piece_at: float | None = None
    pieces: int = 0
    discarded: bool = False  # its conversation was deleted: store nothing

    def tokens_per_second(self) -> float:
        if self.first_piece_at is None or self.pieces < 2:
            return 0.0
        return (self.pieces - 1) / max(time.perf_counter() - self.first_piece_at, 1e-6)


class AnswerController(QObject):
    user_message_added = Signal(object)  # Message
    reply_started = Signal(int)  # conversation id
    reply_piece = Signal(int, str)  # conversation id, text
    reply_stage = Signal(int, str)  # conversation id, what the reply is doing
    # A new stage of the reply (searching, reading, writing...), not the tokens/s updates
    # of reply_stage: what a screen reader announces.
    reply_stage_entered = Signal(int, str)  # conversation id, the stage's label
    reply_finished = Signal(object)  # the stored Message
    reply_dropped = Signal(int)  # conversation id: its conversation was deleted
    busy_changed = Signal(bool)
    status = Signal(str)
    suggestions_changed = Signal(list)

    def __init__(self, workspace: Workspace, run: Any, parent: QObject | None = None) -> None:
        """``run`` starts a BackgroundTask and keeps it alive (the window's run_task)."""
        super().__init__(parent)
        self.workspace = workspace
        self._run = run
        self.task: BackgroundTask | None = None
        self.reply: Reply | None = None
        self._suggest_task: BackgroundTask | None = None
        self._suggest_queue: list[str] = []

    @property
    def busy(self) -> bool:
        return self.task is not None and self.task.running

    # -- asking ----------------------------------------------------------------------------
    def send(self, conversation: Conversation, question: str, seed: int | None = None) -> bool:
        """Store the question and start its answer; False when a reply is being written.
        ``seed``: the answer's draw (None: the one every answer has, chat.ANSWER_SEED)."""
        from hearth.assistant.chat import ANSWER_SEED, history_from

        question = question.strip()
        if not question or self.busy:
            return False
        store = self.workspace.conversations
        history = history_from(store.messages(conversation.id))
        if not history and conversation.title == "New chat":
            store.rename(conversation.id, question[:48])
        message = store.add_message(conversation.id, "user", question)
        self.user_message_added.emit(message)
        self._answer(
            store.get(conversation.id), question, history, ANSWER_SEED if seed is None else seed
        )
        return True

    def resend_from(
        self, conversation: Conversation, message_id: int, question: str, seed: int | None = None
    ) -> bool:
        """Drop the message ``message_id`` and everything after it, then ask ``question``."""
        if self.busy:
            return False
        self.workspace.conversations.delete_messages_from(conversation.id, message_id)
        return self.send(conversation, question, seed)

    def regenerate(self, conversation: Conversation, reply_id: int) -> bool:
        """Answer again the question before the reply ``reply_id``."""
        messages = self.workspace.conversations.messages(conversation.id)
        asked = [m for m in messages if m.role == "user" and m.id < reply_id]
        if not asked:
            return False
        # Another draw: with the same seed the same question gets the same answer.
        seed = random.randrange(1, 2**31)
        return self.resend_from(conversation, asked[-1].id, asked[-1].content, seed)

    def _answer(
        self, conversation: Conversation, question: str, history: list[Any], seed: int
    ) -> None:
        workspace = self.workspace

        def answer(context: TaskContext) -> Any:
            from hearth.assistant.chat import TurnRequest, answer_turn

            return answer_turn(
                workspace,
                TurnRequest.in_conversation(conversation, question, history, seed),
                context.piece,
                context.stage,
                context.cancel_token,
            )

        task = BackgroundTask("answer", answer)
        task.succeeded.connect(lambda result: self._answered(result))
        self._start(task, Reply(conversation.id, ReplyKind.ANSWER))

    def _answered(self, result: Any) -> None:
        reply = self.reply
        if reply is None or reply.discarded:
            return
        self._store(
            reply,
            result.text or reply.text,
            result.status,
            sources=result.sources,
            tool_calls=result.tool_calls,
            cited=result.cited,
            unsupported=result.unsupported,
        )

    # -- summaries -------------------------------------------------------------------------
    def summarise(self, conversation: Conversation, paths: list[str]) -> bool:
        """Summarise each document in turn into the conversation (Stop ends them all)."""
        if not paths or self.busy:
            return False
        store = self.workspace.conversations
        names = ", ".join(Path(p).name for p in paths)
        self.user_message_added.emit(
            store.add_message(conversation.id, "user", f"Summarise {names}")
        )
        workspace = self.workspace

        def summarise_all(context: TaskContext) -> list[tuple[str, Any]]:
            done: list[tuple[str, Any]] = []
            for number, path in enumerate(paths, start=1):
                name = Path(path).name
                context.stage("summary", f"Summarising {name} ({number} of {len(paths)})")

                def progress(done_parts: int, total: int, label: str, name: str = name) -> None:
                    context.progress(done_parts, total, f"{name}: {label}")

                summary = workspace.summarizer().summarize(
                    path, progress=progress, should_cancel=context.cancel_token
                )
                done.append((path, summary))
                context.piece(summary_text(summary, len(paths) > 1))
            return done

        task = BackgroundTask("summarise", summarise_all)
        task.progressed.connect(lambda done, total, label: self.status.emit(f"Summarising {label}"))
        task.succeeded.connect(lambda _: self._summarised())
        self._start(task, Reply(conversation.id, ReplyKind.SUMMARY))
        return True

    def _summarised(self) -> None:
        reply = self.reply
        if reply is not None and not reply.discarded:
            self._store(reply, reply.text, MessageStatus.COMPLETE)
            self.status.emit("Summary ready")

    # -- the running reply -----------------------------------------------------------------
    def _start(self, task: BackgroundTask, reply: Reply) -> None:
        self._cancel_suggestions()
        self.reply = reply
        engine = self.workspace.engine
        task.cancel_token.on_cancel(engine.cancel)
        task.piece.connect(self._piece)
        task.staged.connect(self._stage)
        task.cancelled.connect(self._stopped)
        task.failed.connect(self._failed)
        task.finished.connect(self._finished)
        self.task = task
        self.reply_started.emit(reply.conversation_id)
        self.busy_changed.emit(True)
        self._run(task)

    def _piece(self, text: str) -> None:
        reply = self.reply
        if reply is None or reply.discarded:
            return
        if reply.first_piece_at is None:
            reply.first_piece_at = time.perf_counter()
            log.info("first token after %.2f s", reply.first_piece_at - reply.started_at)
        reply.pieces += 1
        reply.text += text
        self.reply_piece.emit(reply.conversation_id, text)
        if reply.kind is ReplyKind.ANSWER and reply.pieces % 8 == 0:
            self.reply_stage.emit(
                reply.conversation_id, f"Writing… {reply.tokens_per_second():.0f} tokens/s"
            )

    def _stage(self, kind: str, label: str) -> None:
        reply = self.reply
        if reply is not None and not reply.discarded:
            reply.stage = label
            self.reply_stage.emit(reply.conversation_id, label)
            self.reply_stage_entered.emit(reply.conversation_id, label)

    def _stopped(self) -> None:
        reply = self.reply
        if reply is not None and not reply.discarded:
            self._store(reply, reply.text, MessageStatus.STOPPED)

    def _failed(self, error: BaseException) -> None:
        reply = self.reply
        if reply is not None and not reply.discarded:
            self._store(reply, reply.text, MessageStatus.ERROR, error=error_message(error))

    def _finished(self) -> None:
        self.task = None
        self.reply = None
        self.busy_changed.emit(False)
        self._next_suggestion()

    def _store(
        self,
        reply: Reply,
        text: str,
        status: MessageStatus,
        sources: list[Source] | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        cited: list[int] | None = None,
        error: str | None = None,
        unsupported: list[str] | None = None,
    ) -> None:
        store = self.workspace.conversations
        if not store.exists(reply.conversation_id):
            return
        message = store.add_message(
            reply.conversation_id,
            "assistant",
            text.strip(),
            sources,
            tool_calls,
            status=status,
            error=error,
            cited=cited,
            unsupported=unsupported,
        )
        self.reply_finished.emit(message)

    def stop(self) -> None:
        if self.task is not None and self.task.running:
            self.task.cancel()

    def conversation_deleted(self, conversation_id: int) -> None:
        """A deleted conversation's reply stops and is stored nowhere."""
        reply = self.reply
        if reply is not None and reply.conversation_id == conversation_id:
            reply.discarded = True
            self.stop()
            self.reply_dropped.emit(conversation_id)

    # -- suggested questions ---------------------------------------------------------------
    def suggest_for(self, paths: list[str]) -> None:
        """Questions for newly indexed documents, written when the model is idle."""
        self._suggest_queue += [p for p in paths if p not in self._suggest_queue]
        self._next_suggestion()

    def suggestions(self) -> list[str]:
        paths = [d.path for d in self.workspace.index.documents()]
        return self.workspace.cache.latest_suggestions(paths, SUGGESTIONS_SHOWN)

    def _next_suggestion(self) -> None:
        if self.busy or self._suggest_task is not None or not self._suggest_queue:
            return
        model = self.workspace.active_model
        if model is None:
            return  # the model loads first; its ready signal calls back
        path = self._suggest_queue.pop(0)
        workspace = self.workspace

        def suggest(context: TaskContext) -> list[str]:
            from hearth.assistant.suggestions import suggest_questions

            return suggest_questions(
                workspace.index,
                workspace.engine,
                model.id,
                path,
                workspace.cache,
                context.cancel_token,
            )

        task = BackgroundTask(f"suggest questions for {Path(path).name}", suggest)
        task.cancel_token.on_cancel(workspace.engine.cancel)
        task.succeeded.connect(lambda _: self.suggestions_changed.emit(self.suggestions()))
        task.cancelled.connect(lambda: self._suggest_queue.insert(0, path))
        task.finished.connect(self._suggestion_finished)
        self._suggest_task = task
        self._run(task)

    def _suggestion_finished(self) -> None:
        self._suggest_task = None
        self._next_suggestion()

    def _cancel_suggestions(self) -> None:
        if self._suggest_task is not None:
            self._suggest_task.cancel()


def summary_text(summary: Any, named: bool) -> str:
    """A summary as the conversation shows it, with how it was made."""
    covered = len(summary.covered_entities)
    title = f"**{Path(summary.document).name}**\n\n" if named else ""
    return (
        f"{title}{summary.text}\n\n_{summary.parts} parts, {summary.rounds} rounds, "
        f"{covered}/{len(summary.key_entities)} key names and dates covered_\n\n"
    )
