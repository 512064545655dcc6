"""`python -m hearth` / `hearth`: the desktop app without arguments, the CLI with them.

The CLI never imports Qt; the GUI path imports it only here.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from hearth.offline import enforce_offline

    enforce_offline()
    args = sys.argv[1:] if argv is None else argv
    if not args:
        from hearth.ui.app import run_gui

        return run_gui(args)
    from hearth.cli import run_cli

    return run_cli(args)


if __name__ == "__main__":
    # No multiprocessing.freeze_support() here: it only matters in a frozen executable,
    # whose entry point (packaging/hearth_entry.py) calls it, and importing
    # multiprocessing would cost every start of the window about 9 ms.
    sys.exit(main())
