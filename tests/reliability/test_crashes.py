"""Crashes and concurrency: nothing is lost, nothing is corrupted."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hearth.assistant.conversations import ConversationStore
from hearth.paths import hearth_paths

ANSWER_THEN_HANG = """
import sys, time
from PySide6.QtWidgets import QApplication
from hearth.assistant.workspace import Workspace
from hearth.ui.main_window import MainWindow

def main():
    app = QApplication([])
    workspace = Workspace()
    window = MainWindow(workspace)
    window.show()
    while workspace.active_model is None:
        app.processEvents(); time.sleep(0.02)
    store = workspace.conversations
    conversation = store.create("Kept")
    store.add_message(conversation.id, "user", "first question")
    store.add_message(conversation.id, "assistant", "first answer")
    window.open_conversation(conversation.id)
    window.use_documents.setChecked(False)
    workspace.settings.max_answer_tokens = 400
    def hang_on_first_piece(conversation_id, text):
        # The first piece is shown; the reply is stored from the event loop when it
        # completes, and this handler never returns to it: the reply stays in flight
        # however fast the model finishes (a short reply had been stored before the kill).
        print("STREAMING", flush=True)
        while True:
            time.sleep(0.01)

    window.answers.reply_piece.connect(hang_on_first_piece)
    window.send("Write a long story about the sea.")
    while True:
        app.processEvents(); time.sleep(0.01)

if __name__ == "__main__":
    main()
"""


def test_app_killed_mid_answer_keeps_every_completed_message(
    gemma_model: Path, tmp_path: Path
) -> None:
    script = tmp_path / "answer_then_hang.py"
    script.write_text(ANSWER_THEN_HANG, "utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "STREAMING"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    database = hearth_paths().conversations_db
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = ConversationStore(database)
    [conversation] = store.search()
    messages = [(m.role, m.content, m.status) for m in store.messages(conversation.id)]
    store.close()
    # Everything completed survives; the answer cut off by the kill was never half-written.
    assert messages == [
        ("user", "first question", "complete"),
        ("assistant", "first answer", "complete"),
        ("user", "Write a long story about the sea.", "complete"),
    ]


def wait_for(condition: Callable[[], object], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition never became true")


def test_second_hearth_explains_and_exits(gemma_model: Path, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    first = subprocess.Popen(
        [sys.executable, "-m", "hearth"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = hearth_paths().data / "hearth.lock"
    try:
        wait_for(lambda: lock.exists() and "desktop app" in lock.read_text(), 60)
        second = subprocess.run(
            [sys.executable, "-m", "hearth"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 3
        assert "another Hearth" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        # The running window was asked to come to the front (it logs the request).
        assert "brought its window to the front" in second.stderr
        log_file = hearth_paths().logs / "hearth.log"
        wait_for(lambda: "a second launch asked for this window" in log_file.read_text(), 10)
        search = subprocess.run(
            [sys.executable, "-m", "hearth", "search", "anything"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert search.returncode == 3
        assert "close it or wait" in search.stderr
        assert first.poll() is None  # the first one is undisturbed
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    # Killed, it leaves no stale lock: the next Hearth starts normally.
    after = subprocess.run(
        [sys.executable, "-m", "hearth", "search", "anything", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert after.returncode == 0, after.stderr
