"""Nothing outside hearth/ui may import Qt: import every core module with PySide6 blocked."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import hearth

BLOCK_QT_AND_IMPORT = """
import importlib, sys
class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name == "PySide6" or name.startswith("PySide6."):
            raise ImportError("Qt is blocked in the core: " + name)
        return None
sys.meta_path.insert(0, BlockQt())
for name in sys.argv[1:]:
    importlib.import_module(name)
print("ok")
"""


def core_modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(hearth.__path__, prefix="hearth.")
        if not info.name.startswith("hearth.ui")
    ]


def test_core_modules_import_without_qt() -> None:
    modules = core_modules()
    assert "hearth.engine.client" in modules
    assert "hearth.cli" in modules
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_QT_AND_IMPORT, *modules],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
