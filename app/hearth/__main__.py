"""`python -m hearth` / `hearth`: the desktop app without arguments, the CLI with them.

The CLI never imports Qt; the GUI path imports it only here.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("hearth")


def main(argv: list[str] | None = None) -> int:
    from hearth.offline import enforce_offline

    enforce_offline()
    args = sys.argv[1:] if argv is None else argv
    if not args:
        # The window's core modules (and the standard library they use) load before Qt:
        # PySide6 reads the source of every module imported after it, looking for
        # `from __feature__ import ...`; ahead of it they cost about 12 ms less to start.
        import hearth.assistant.workspace
        import hearth.instance_lock  # noqa: F401
        from hearth.display_check import EXIT_NO_DISPLAY, DisplayUnavailable, choose_platform
        from hearth.logging_setup import setup_logging

        # Before Qt: a platform plugin that cannot load aborts QApplication without
        # naming what is missing; this says it in one line.
        setup_logging()
        try:
            platform = choose_platform()
        except DisplayUnavailable as problem:
            log.warning("window not opened: %s", problem.details or problem)
            print(f"hearth: {problem}", file=sys.stderr)
            return EXIT_NO_DISPLAY
        from hearth.ui.app import run_gui

        return run_gui(["-platform", platform] if platform else [])
    from hearth.cli import run_cli

    return run_cli(args)


if __name__ == "__main__":
    # No multiprocessing.freeze_support() here: it only matters in a frozen executable,
    # whose entry point (packaging/hearth_entry.py) calls it, and importing
    # multiprocessing would cost every start of the window about 9 ms.
    sys.exit(main())
