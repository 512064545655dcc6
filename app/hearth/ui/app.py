"""Starting the desktop app. Only Qt and Hearth's light modules load before the window
shows; the model, the embedder and chromadb load in the background afterwards."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMainWindow

from hearth import __version__
from hearth.instance_lock import EXIT_LOCKED, InstanceLock, InstanceLocked
from hearth.paths import hearth_paths, resource_file
from hearth.settings import load_settings
from hearth.ui.theme import apply_theme

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
        if os.environ.get(EXIT_WHEN_SHOWN_ENV) == "modules":  # tests/ui/test_startup_path.py
            print("modules " + ",".join(sorted(sys.modules)), flush=True)
            # PySide6 adds `Qt` to QtCore's namespace when it builds its enums (qt_values.py).
            qt_built = "Qt" in vars(sys.modules["PySide6.QtCore"])
            print(f"qt-namespace {'built' if qt_built else 'untouched'}", flush=True)
        os._exit(0)  # the measurement is done; skip teardown on purpose


def refuse_second_launch(data_folder: Path, error: InstanceLocked) -> int:
    from hearth.ui.single_instance import explain_refusal, raise_running_window

    if raise_running_window(data_folder):
        log.info("another window holds %s; brought it to the front", data_folder)
        print(f"hearth: already open ({error}); brought its window to the front", file=sys.stderr)
    else:
        log.warning("not starting: %s", error)
        print(f"hearth: {error}", file=sys.stderr)
        explain_refusal(str(error))
    return EXIT_LOCKED


def listen_for_second_launches(window: QMainWindow, data_folder: Path) -> None:
    from hearth.ui.single_instance import RaiseServer

    RaiseServer(window, data_folder)  # parented to the window


def run_gui(argv: list[str]) -> int:
    from hearth.assistant.workspace import Workspace
    from hearth.logging_setup import setup_logging
    from hearth.ui.main_window import MainWindow

    setup_logging()
    data_folder = hearth_paths().data
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    assert isinstance(app, QApplication)
    try:
        lock = InstanceLock(data_folder).acquire("the desktop app")
    except InstanceLocked as error:
        return refuse_second_launch(data_folder, error)
    app.setApplicationName("Hearth")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("hearth")
    # Before the window: a dark desktop (or setting) must not see a light window first.
    apply_theme(app, load_settings())
    app.setWindowIcon(QIcon(str(resource_file("icons/hearth-256.png"))))
    workspace = Workspace()
    window = MainWindow(workspace)
    if os.environ.get(EXIT_WHEN_SHOWN_ENV):
        window.installEventFilter(FirstPaintReporter(window))
    window.show()
    # After the first paint (QtNetwork costs ~10 ms): a second launch brings this window up.
    window.first_painted.connect(lambda: listen_for_second_launches(window, data_folder))
    try:
        return app.exec()
    finally:
        workspace.close()
        lock.release()
