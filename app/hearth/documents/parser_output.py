"""Third-party parsers must not write into a Hearth command's output (odfpy prints a document
it cannot parse to standard output, which breaks ``--json``).

While a parser runs, what its thread writes to ``sys.stdout`` or ``sys.stderr`` is caught
(the first ``KEEP_CHARS`` kept) and logged: its size at info, its text only at debug (it may
be the document's text, which the log holds only with HEARTH_DEBUG=1). Other threads (the
window, a command printing its result) still write to the real streams: a plain
``contextlib.redirect_stdout`` would swallow them too, as it swaps the stream for the whole
process. Output written below Python (C code writing to file descriptor 1) is not caught.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

log = logging.getLogger(__name__)

KEEP_CHARS = 2048
STREAM_NAMES = ("stdout", "stderr")
T = TypeVar("T")


class _Caught:
    """What one parser call wrote: its length, and the first KEEP_CHARS of it."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.kept_chars = 0
        self.written = 0

    def write(self, text: str) -> None:
        self.written += len(text)
        if self.kept_chars < KEEP_CHARS:
            part = text[: KEEP_CHARS - self.kept_chars]
            self.kept.append(part)
            self.kept_chars += len(part)


class _Router:
    """Stands in for sys.stdout or sys.stderr while a parser runs: a catching thread's
    writes go to its catch, every other thread's to the real stream."""

    def __init__(self, target: TextIO | None) -> None:
        self.target = target

    def write(self, text: str) -> int:
        caught: _Caught | None = getattr(_state, "caught", None)
        if caught is not None:
            caught.write(text)
        elif self.target is not None:
            self.target.write(text)
        return len(text)

    def flush(self) -> None:
        if getattr(_state, "caught", None) is None and self.target is not None:
            self.target.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno...
        return getattr(self.target, name)


_state = threading.local()
_lock = threading.Lock()
_routers: dict[str, _Router] = {}
_catching = 0  # parser calls under way, in all threads


def _route() -> None:
    global _catching
    with _lock:
        if _catching == 0:
            for name in STREAM_NAMES:
                router = _Router(getattr(sys, name))
                _routers[name] = router
                setattr(sys, name, cast(TextIO, router))
        _catching += 1


def _unroute() -> None:
    global _catching
    with _lock:
        _catching -= 1
        if _catching == 0:
            for name, router in _routers.items():
                if getattr(sys, name) is router:  # else someone replaced it since: theirs stays
                    setattr(sys, name, router.target)
            _routers.clear()


@contextmanager
def parser_output_caught(path: Path) -> Iterator[None]:
    """Catch and log what a parser writes to sys.stdout and sys.stderr in this thread."""
    caught = _Caught()
    outer = getattr(_state, "caught", None)
    _state.caught = caught
    _route()
    try:
        yield
    finally:
        _state.caught = outer
        _unroute()
        if caught.written:
            log.info(
                "%s: the parser wrote %d characters to standard output or error "
                "(logged with HEARTH_DEBUG=1)",
                path,
                caught.written,
            )
            log.debug("%s: the parser wrote: %s", path, "".join(caught.kept))


def sections_caught(path: Path, items: Iterable[T]) -> Iterator[T]:
    """``items`` with each one's reading caught: readers are generators that parse as they
    are iterated, so the catch is on for each step, and off while the caller has the item."""
    iterator = iter(items)
    try:
        while True:
            with parser_output_caught(path):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:  # the reader's own clean-up (closing its file) runs caught too
            with parser_output_caught(path):
                close()
