"""The window with the scripted engine, one indexed report and one answer citing it, for a
screen reader to read (tests/ui/test_window_on_xvfb.py reads it through AT-SPI):

    HEARTH_HOME=... python -m tests.ui.scripted_window

Prints "ready" once the answer and its source chips are on screen, then runs until it
is closed or killed.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from hearth.offline import enforce_offline

QUESTION = "How much did the restoration of the lantern room cost?"
ANSWER = ["The restoration of the lantern room ", "cost 48,500 pounds [1]."]


def main() -> int:
    enforce_offline()
    from PySide6.QtWidgets import QApplication

    from bench.sample_documents import report_pages, write_pdf
    from hearth.assistant.workspace import Workspace
    from hearth.models.bundled import SET_UP_AT_FIRST_START
    from hearth.models.catalogue import ModelCatalogue
    from hearth.paths import hearth_paths
    from hearth.settings import load_settings, save_settings
    from hearth.ui.main_window import MainWindow
    from tests.fakes import ScriptedEngine, tiny_gguf

    app = QApplication(sys.argv)
    app.setApplicationName("Hearth")
    catalogue = ModelCatalogue()
    tiny_gguf(catalogue.folder / "tiny-test-model.gguf")
    for bundled in SET_UP_AT_FIRST_START:
        catalogue.mark_set_up(bundled.id)
    catalogue.set_default("tiny-test-model")
    save_settings(replace(load_settings(), query_step=False, tools_enabled=False))
    engine = ScriptedEngine()
    workspace = Workspace(engine_factory=lambda: engine)
    window = MainWindow(workspace)
    report = write_pdf(hearth_paths().data / "report.pdf", report_pages())

    def ask(_: object = None) -> None:
        engine.replies.clear()  # suggested questions may have taken the answer: it is next
        engine.enqueue(ANSWER)
        window.send(QUESTION)

    def when_idle() -> None:
        # The documents' suggested questions run first; the answer waits for them.
        if window.library.busy or window.answers.busy or window.answers._suggest_task:
            return
        timer.stop()
        ask()

    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(when_idle)
    window.models.ready.connect(lambda _: window.library.index_paths([report]))
    window.library.documents_indexed.connect(lambda _: timer.start(100))
    window.answers.reply_finished.connect(lambda _: print("ready", flush=True))
    window.show()
    try:
        return app.exec()
    finally:
        workspace.close()


if __name__ == "__main__":
    sys.exit(main())
