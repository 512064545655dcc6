"""The window's controllers without a window, with the scripted engine: the answer
lifecycle, one cancellation path, the indexing queue. Each defect found by the review has
a test here that failed before its fix."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from hearth.assistant.chat import ANSWER_SEED
from hearth.assistant.message_status import MessageStatus
from hearth.assistant.workspace import Workspace
from hearth.jobs import Cancelled
from hearth.ui.operations.answers import AnswerController
from hearth.ui.operations.conversations import ConversationController
from hearth.ui.operations.library import DocumentState, LibraryController
from hearth.ui.tasks import BackgroundTask, TaskContext
from tests.fakes import ScriptedEngine, boiler_notes

pytestmark = pytest.mark.usefixtures("qapp")


class Runner:
    """Starts tasks as the window's run_task does, and keeps them until they finish."""

    def __init__(self) -> None:
        self.tasks: list[BackgroundTask] = []

    def __call__(self, task: BackgroundTask) -> BackgroundTask:
        self.tasks.append(task)
        return task.start()

    def idle(self) -> bool:
        return all(not task.running for task in self.tasks)


@pytest.fixture
def answers(scripted_workspace: Workspace) -> tuple[AnswerController, Runner]:
    runner = Runner()
    return AnswerController(scripted_workspace, runner), runner


def finished_replies(controller: AnswerController) -> list[Any]:
    stored: list[Any] = []
    controller.reply_finished.connect(stored.append)
    return stored


def test_a_cancel_is_reported_as_cancelled_never_as_failed(qtbot: QtBot) -> None:
    def stops(context: TaskContext) -> None:
        raise Cancelled("summarising was cancelled")

    task = BackgroundTask("stops", stops)
    outcomes: list[str] = []
    task.cancelled.connect(lambda: outcomes.append("cancelled"))
    task.failed.connect(lambda error: outcomes.append(f"failed: {error}"))
    with qtbot.waitSignal(task.finished, timeout=10_000):
        task.start()
    assert outcomes == ["cancelled"]


def test_a_task_runs_until_its_finish_reaches_the_gui_thread(qtbot: QtBot) -> None:
    # A controller asks `running` before starting new work; were it False while the old
    # result is still queued, that result would land on the new reply (CI saw this race).
    task = BackgroundTask("quick", lambda context: "done")
    finished: list[bool] = []
    task.finished.connect(lambda: finished.append(True))
    task.start()
    assert task.done.wait(10)
    assert task.running
    assert not finished
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert not task.running


def asked_about_the_boiler(
    qtbot: QtBot, answers: tuple[AnswerController, Runner], folder: Path
) -> tuple[Any, Any, Path]:
    """(the stored reply, its conversation, the note indexed): the boiler question sent
    through the controller, without tools, over a note written in ``folder``."""
    controller, runner = answers
    controller.workspace.settings.tools_enabled = False
    notes = boiler_notes(folder)
    controller.workspace.index.index_paths([notes])
    stored = finished_replies(controller)
    conversation = controller.workspace.conversations.create()
    assert controller.send(conversation, "What should the boiler pressure be?")
    qtbot.waitUntil(runner.idle, timeout=30_000)
    [reply] = stored
    return reply, conversation, notes


def test_an_answer_is_stored_complete_with_its_sources_and_citations(
    qtbot: QtBot,
    answers: tuple[AnswerController, Runner],
    scripted_workspace: Workspace,
    scripted_engine: ScriptedEngine,
    tmp_path: Path,
) -> None:
    scripted_engine.enqueue(["The pressure ", "is 1.5 bar [1]."])
    reply, conversation, notes = asked_about_the_boiler(qtbot, answers, tmp_path)
    assert reply.status is MessageStatus.COMPLETE
    assert reply.content == "The pressure is 1.5 bar [1]."
    assert reply.cited == [1]
    assert reply.sources[0].document == str(notes)
    messages = scripted_workspace.conversations.messages(conversation.id)
    assert [(m.role, m.status) for m in messages] == [
        ("user", MessageStatus.COMPLETE),
        ("assistant", MessageStatus.COMPLETE),
    ]
    assert messages[-1].cited == [1]


def test_an_answer_cut_at_its_length_limit_is_stored_as_cut(
    qtbot: QtBot,
    answers: tuple[AnswerController, Runner],
    scripted_workspace: Workspace,
    scripted_engine: ScriptedEngine,
    tmp_path: Path,
) -> None:
    scripted_workspace.settings.max_answer_tokens = 16
    steps = [f"Then check valve {n} [1]. " for n in range(2, 22)]  # no loop: each differs
    scripted_engine.enqueue(["The pressure is 1.5 bar [1]. ", *steps])
    reply, conversation, _ = asked_about_the_boiler(qtbot, answers, tmp_path)
    assert reply.status is MessageStatus.CUT
    assert reply.content.startswith("The pressure is 1.5 bar [1].")
    assert scripted_engine.streamed[-1].count("Then check valve") == 15
    assert "reached its length limit" in scripted_workspace.conversations.export_markdown(
        conversation.id
    )


def test_stop_during_the_tool_step_stops_the_whole_turn(
    qtbot: QtBot,
    answers: tuple[AnswerController, Runner],
    scripted_workspace: Workspace,
    scripted_engine: ScriptedEngine,
) -> None:
    controller, runner = answers
    scripted_workspace.settings.tools_enabled = True
    scripted_engine.piece_gate = threading.Event()  # the tool step waits in its stream
    scripted_engine.enqueue(["calculator"], ["An answer that must never be written."])
    stored = finished_replies(controller)
    conversation = scripted_workspace.conversations.create()
    controller.send(conversation, "What is 23 times 19?")
    qtbot.waitUntil(lambda: len(scripted_engine.requests) == 1, timeout=30_000)
    controller.stop()
    qtbot.waitUntil(runner.idle, timeout=30_000)
    # Before the fix the tool step's stream swallowed the stop and the answer streamed in
    # full, then was stored as "stopped".
    assert len(scripted_engine.requests) == 1
    [reply] = stored
    assert reply.status is MessageStatus.STOPPED
    assert "never" not in reply.content


def test_stop_mid_answer_keeps_what_was_written_as_stopped(
    qtbot: QtBot,
    answers: tuple[AnswerController, Runner],
    scripted_workspace: Workspace,
    scripted_engine: ScriptedEngine,
) -> None:
    controller, runner = answers
    scripted_workspace.settings.tools_enabled = False
    scripted_engine.piece_budget = threading.Semaphore(1)  # one piece, then it waits
    scripted_engine.enqueue(["Once ", "upon ", "a ", "time"])
    pieces: list[str] = []
    controller.reply_piece.connect(lambda _, text: pieces.append(text))
    stored = finished_replies(controller)
    conversation = scripted_workspace.conversations.create()
    conversation = scripted_workspace.conversations.get(conversation.id)
    controller.send(conversation, "Tell me a story.")
    qtbot.waitUntil(lambda: len(pieces) >= 1, timeout=30_000)
    controller.stop()
    qtbot.waitUntil(runner.idle, timeout=30_000)
    [reply] = stored
    assert reply.status is MessageStatus.STOPPED
    assert reply.content == "Once"


def test_deleting_a_conversation_while_it_answers_stops_and_stores_nothing(
    qtbot: QtBot,
    answers: tuple[AnswerController, Runner],
    scripted_workspace: Workspace,
    scripted_engine: ScriptedEngine,
) -> None:
    controller, runner = answers
    scripted_workspace.settings.tools_enabled = False
    scripted_engine.piece_gate = threading.Event()
    scripted_engine.enqueue(["Never ", "stored."])
    stored = finished_replies(controller)
    store = scripted_workspace.conversations
    conversations = ConversationController(scripted_workspace)
    conversations.deleting.connect(controller.conversation_deleted)  # as the window wires it
    conversation = conversations.create()
    controller.send(conversation, "Hello?")
    qtbot.waitUntil(lambda: len(scripted_engine.requests) == 1, timeout=30_000)
    conversations.delete()
    qtbot.waitUntil(runner.idle, timeout=30_000)
    assert stored == []
    assert not store.exists(conversation.id)
    assert store.messages(conversation.id) == []


def test_summarise_does_every_chosen_document_and_a_stop_is_not_an_error(
    qtbot: QtBot,
    answers: tuple[AnswerController, Runner],
    scripted_workspace: Workspace,
    scripted_engine: ScriptedEngine,
    tmp_path: Path,
) -> None:
    controller, runner = answers
    paths = []
    for name, topic in (("boiler.md", "boiler pressure"), ("roof.md", "roof tiles")):
        path = tmp_path / name
        path.write_text(f"# {topic.title()}\n\nNotes about the {topic}.\n", "utf-8")
        paths.append(str(path))
    scripted_workspace.index.index_paths([Path(p) for p in paths])
    scripted_engine.enqueue("Summary of the boiler notes.", "Summary of the roof notes.")
    stored = finished_replies(controller)
    conversation = scripted_workspace.conversations.create()
    assert controller.summarise(conversation, paths)
    qtbot.waitUntil(runner.idle, timeout=30_000)
    [reply] = stored
    # Before the fix only the first selected document was summarised.
    assert "boiler notes" in reply.content
    assert "roof notes" in reply.content
    assert reply.status is MessageStatus.COMPLETE

    garden = tmp_path / "garden.md"
    garden.write_text("# Garden\n\nNotes about the garden beds.\n", "utf-8")
    scripted_workspace.index.index_paths([garden])
    scripted_engine.piece_gate = threading.Event()
    controller.summarise(conversation, [str(garden)])
    qtbot.waitUntil(lambda: len(scripted_engine.requests) == 3, timeout=30_000)
    controller.stop()
    qtbot.waitUntil(runner.idle, timeout=30_000)
    # Before the fix a stopped summary was stored as an error.
    assert stored[-1].status is MessageStatus.STOPPED
    assert scripted_workspace.cache.db.execute("SELECT count(*) FROM summaries").fetchone() == (
        2,
    )  # the two complete parts of the first run; nothing of the stopped one


def test_regenerate_answers_the_question_before_that_reply(
    qtbot: QtBot,
    answers: tuple[AnswerController, Runner],
    scripted_workspace: Workspace,
    scripted_engine: ScriptedEngine,
) -> None:
    controller, runner = answers
    scripted_workspace.settings.tools_enabled = False
    store = scripted_workspace.conversations
    conversation = store.create("Two questions")
    store.add_message(conversation.id, "user", "first question")
    first_reply = store.add_message(conversation.id, "assistant", "first reply")
    store.add_message(conversation.id, "user", "second question")
    store.add_message(conversation.id, "assistant", "second reply")
    scripted_engine.enqueue("a new first reply")
    assert controller.regenerate(store.get(conversation.id), first_reply.id)
    qtbot.waitUntil(runner.idle, timeout=30_000)
    assert [(m.role, m.content) for m in store.messages(conversation.id)] == [
        ("user", "first question"),
        ("assistant", "a new first reply"),
    ]
    # Another draw than the first answer's: with its seed it would be the same answer.
    [request] = [r for r in scripted_engine.requests if r.messages]
    assert request.options.seed not in (None, ANSWER_SEED)


def test_a_failed_batch_marks_only_its_own_files(
    qtbot: QtBot,
    scripted_workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hearth.index.document_index import DocumentIndex

    first, second = tmp_path / "first.md", tmp_path / "second.md"
    first.write_text("# First\n\nThe first note.\n", "utf-8")
    second.write_text("# Second\n\nThe second note.\n", "utf-8")
    real_index_paths = DocumentIndex.index_paths

    def fails_for_first(self: DocumentIndex, paths: Any, *args: Any, **kwargs: Any) -> Any:
        if first in list(paths):
            raise OSError("the disk went away")
        return real_index_paths(self, paths, *args, **kwargs)

    monkeypatch.setattr(DocumentIndex, "index_paths", fails_for_first)
    runner = Runner()
    library = LibraryController(scripted_workspace, runner)
    problems: list[str] = []
    library.problem.connect(lambda title, message: problems.append(message))
    library.index_paths([first])
    library.index_paths([second])  # queued behind the first batch
    qtbot.waitUntil(lambda: not library.busy and runner.idle(), timeout=60_000)
    assert library.states[str(first)] is DocumentState.FAILED
    # Before the fix the failure marked every queued file failed, this one too.
    assert library.states[str(second)] is DocumentState.READY
    assert problems
    assert "disk went away" in problems[0]


def test_the_conversation_controller_keeps_the_open_conversation_as_stored(
    scripted_workspace: Workspace,
) -> None:
    conversations = ConversationController(scripted_workspace)
    listed: list[tuple[list[Any], Any]] = []
    opened: list[tuple[Any, list[Any]]] = []
    closed: list[bool] = []
    conversations.listed.connect(lambda found, current: listed.append((found, current)))
    conversations.opened.connect(lambda found, messages: opened.append((found, messages)))
    conversations.closed.connect(lambda: closed.append(True))
    store = scripted_workspace.conversations
    first = conversations.create()
    store.add_message(first.id, "user", "Where is the lighthouse?")
    second = conversations.current_or_new()
    assert second.id == first.id  # one is open: no new one
    conversations.rename("  Lighthouse notes ")
    assert conversations.current is not None
    assert conversations.current.title == "Lighthouse notes"  # read back, trimmed
    conversations.rename("   ")  # a blank title changes nothing
    assert store.get(first.id).title == "Lighthouse notes"
    other = conversations.create()
    conversations.search("lighthouse")
    found, current = listed[-1]
    assert [c.id for c in found] == [first.id]
    assert current == other.id
    conversations.open(first.id)
    conversation, messages = opened[-1]
    assert conversation.id == first.id
    assert [m.content for m in messages] == ["Where is the lighthouse?"]
    conversations.delete()
    assert closed == [True]
    assert conversations.current is None
    assert not store.exists(first.id)
    assert store.exists(other.id)
    conversations.delete()  # nothing open: nothing happens
    assert closed == [True]


def test_re_index_reads_an_unchanged_file_again(
    qtbot: QtBot, scripted_workspace: Workspace, tmp_path: Path
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nThe kettle descales with vinegar.\n", "utf-8")
    runner = Runner()
    library = LibraryController(scripted_workspace, runner)

    def indexed_at() -> float:
        record = scripted_workspace.index.document(str(note))
        assert record is not None
        return record.indexed_at

    library.index_paths([note])
    qtbot.waitUntil(lambda: not library.busy and runner.idle(), timeout=60_000)
    first = indexed_at()
    library.index_paths([note])  # unchanged: left as it is
    qtbot.waitUntil(lambda: not library.busy and runner.idle(), timeout=60_000)
    assert indexed_at() == first
    # The Re-index button: read again although the file is the same (before, it was not).
    library.index_paths([note], watch_folders=False, reread=True)
    qtbot.waitUntil(lambda: not library.busy and runner.idle(), timeout=60_000)
    assert indexed_at() > first
    assert library.states[str(note)] is DocumentState.READY
