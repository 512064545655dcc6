"""Render resources/icons/hearth.svg to the PNG sizes desktops ask for (run after editing
the SVG; the PNGs are committed so builds need no renderer)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256, 512)
ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "hearth.svg"))
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"hearth-{size}.png"))
    print(f"rendered {len(SIZES)} sizes into {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
