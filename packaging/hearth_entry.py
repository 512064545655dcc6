"""Entry point of the frozen app (PyInstaller).

A frozen executable cannot run `python -m ...`, so the two child processes Hearth starts
come back through here: multiprocessing's spawn (freeze_support handles it) and the model
probe (`--hearth-probe PATH`).
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if len(sys.argv) > 2 and sys.argv[1] == "--hearth-probe":
        from hearth.engine.probe import probe_main

        sys.exit(probe_main(sys.argv[2:]))
    from hearth.__main__ import main

    sys.exit(main())
