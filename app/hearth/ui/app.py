"""Starting the desktop app. Only Qt and Hearth's light modules load before the window
shows; the model, the embedder and chromadb load in the background afterwards."""

from __future__ import annotations

import logging
import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from hearth import __version__
from hearth.instance_lock import EXIT_LOCKED, InstanceLock, InstanceLocked
from hearth.paths import hearth_paths, resource_file
from hearth.ui.theme import apply_palette

log = logging.getLogger(__name__)

# Set by scripts/bench_startup: print when the window is on screen, then quit.
EXIT_WHEN_SHOWN_ENV = "HEARTH_EXIT_WHEN_SHOWN"


class FirstPaintReporter(QObject):
    """For scripts/bench_startup: print the time of the window's first paint, then quit."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, self.report)
        return False

    @staticmethod
    def report() -> None:
        print(f"shown {time.time():.6f}", flush=True)
        os._exit(0)  # the measurement is done; skip teardown on purpose


def run_gui(argv: list[str]) -> int:
    from hearth.assistant.workspace import Workspace
    from hearth.logging_setup import setup_logging
    from hearth.ui.main_window import MainWindow

    setup_logging()
    try:
        lock = InstanceLock(hearth_paths().data).acquire("the desktop app")
    except InstanceLocked as error:
        log.warning("not starting: %s", error)
        print(f"hearth: {error}", file=sys.stderr)
        return EXIT_LOCKED
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("hearth")
    apply_palette(app)
    app.setWindowIcon(QIcon(str(resource_file("icons/hearth-256.png"))))
    workspace = Workspace()
    window = MainWindow(workspace)
    if os.environ.get(EXIT_WHEN_SHOWN_ENV):
        window.installEventFilter(FirstPaintReporter(window))
    window.show()
    try:
        return app.exec()
    finally:
        workspace.close()
        lock.release()
