"""Render the real main window in a realistic state to a PNG: a report indexed, a question
answered by the default model with its sources. (Here, not in hearth.ui: it uses the
sample documents, and the window never imports benchmark code.)"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

QUESTION = "How much did the restoration of the lantern room cost?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=760)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="hearth-screenshot-") as home:
        os.environ["HEARTH_HOME"] = home
        return _render(args.out, args.width, args.height, Path(home))


def _render(out: Path, width: int, height: int, home: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from bench.sample_documents import report_pages, write_pdf
    from hearth.assistant.workspace import Workspace
    from hearth.offline import enforce_offline
    from hearth.ui.main_window import MainWindow
    from hearth.ui.theme import apply_palette

    enforce_offline()
    app = QApplication([])
    apply_palette(app)
    workspace = Workspace()
    window = MainWindow(workspace)
    window.resize(width, height)
    window.show()

    def wait(condition: object, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not condition():  # type: ignore[operator]
            app.processEvents()
            time.sleep(0.02)

    wait(lambda: workspace.active_model is not None, 120)
    documents = home / "Documents"
    documents.mkdir()
    report = write_pdf(documents / "lighthouse-report.pdf", report_pages())
    window.handle_dropped([report])
    wait(lambda: not window.library.busy, 300)
    window.send(QUESTION)
    wait(lambda: not window.answers.busy, 300)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(f"wrote {out} ({window.width()}x{window.height()})")
    window.close()
    workspace.close()
    return 0
