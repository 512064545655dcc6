"""Headless commands: models, chat, index, docs, search, ask, summarize, doctor, serve.

Every command's --json output is a contract other tools rely on. Errors the user can fix
(a bad file, an unknown id) print one line naming the file and the reason, and exit 2.

parser.py builds the commands; their handlers live by topic (models, documents, answers,
serve). run_cli parses, applies the global options, holds the instance lock while a command
uses the index, and turns an error into one line and an exit status.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from hearth.cli.parser import build_parser
from hearth.cli.shared import EXIT_USAGE, CommandError
from hearth.engine.errors import EngineError
from hearth.errors import HearthError, InputError
from hearth.instance_lock import EXIT_LOCKED, InstanceLocked
from hearth.logging_setup import setup_logging
from hearth.models.catalogue import ModelError

log = logging.getLogger(__name__)


def _apply_server_options(args: argparse.Namespace) -> None:
    """A bad --engine-url, --chroma-url or --gpu refused; --engine-url and --gpu as the
    environment variables the engine reads (--chroma-url goes to the Workspace)."""
    from hearth.settings import chroma_url_problem, engine_url_problem

    for url, variable, problem_of in (
        (args.engine_url, "HEARTH_ENGINE_URL", engine_url_problem),
        (args.chroma_url, None, chroma_url_problem),
    ):
        if url is not None:
            problem = problem_of(url) if url else None
            if problem:
                raise CommandError(problem, EXIT_USAGE)
            if variable:
                os.environ[variable] = url
    if args.gpu is not None:
        from hearth.settings import gpu_choice_problem

        if problem := gpu_choice_problem(args.gpu.strip().lower()):
            raise CommandError(problem, EXIT_USAGE)
        os.environ["HEARTH_GPU"] = args.gpu.strip().lower()


def run_cli(argv: Sequence[str]) -> int:
    setup_logging()
    parser = build_parser()
    args = parser.parse_args(list(argv))
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    lock = None
    try:
        _apply_server_options(args)
        if getattr(args, "uses_index", False):
            from hearth.instance_lock import InstanceLock
            from hearth.paths import hearth_paths

            lock = InstanceLock(hearth_paths().data).acquire(f"hearth {args.command}")
        return handler(args)
    except InstanceLocked as error:
        print(f"hearth: {error}", file=sys.stderr)
        return EXIT_LOCKED
    except CommandError as error:
        log.info("command failed: %s", error)
        print(f"hearth: error: {error}", file=sys.stderr)
        return error.exit_code
    except InputError as error:  # an unknown repository, a malformed address...
        log.info("command failed: %s", error)
        print(f"hearth: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (EngineError, ModelError) as error:
        log.exception("command failed")
        print(f"hearth: error: {error}", file=sys.stderr)
        return 1
    except HearthError as error:  # a chromadb server away, a setting out of range...
        log.exception("command failed")
        print(f"hearth: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if lock is not None:
            lock.release()
