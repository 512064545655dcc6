"""What the CLI shows on a terminal: progress, an answer's stage and its streamed words, and
text from documents and file names made safe to print.

A file name or a document can hold escape sequences (``ESC ]0;title BEL`` sets the
terminal's title, ``ESC [31m`` its colours), a newline that splits a listed row, or a
right-to-left override that makes ``invoice\\u202etxt.exe`` read "invoiceexe.txt". Printed
text shows each such character as a visible escape instead. JSON output needs none of
this: the JSON encoder escapes them.
"""

from __future__ import annotations

import math
import re
import shutil
import sys

from hearth.documents.safe_files import shown_name
from hearth.jobs import ProgressCallback

# C0 and C1 controls and DEL, and the bidirectional marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(name: str) -> str:
    """A name or a one-line field: every control and bidirectional character escaped, so it
    stays one row and shows what it is."""
    return _UNSAFE.sub(_visible, shown_name(name))


def text_for_terminal(text: str) -> str:
    """Text of several lines (an answer, a snippet): newlines and tabs kept, other control
    and bidirectional characters escaped."""
    return _UNSAFE_IN_TEXT.sub(_visible, shown_name(text))


class TerminalProgress:
    """A one-line progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled or total == 0:
            return
        width = 30
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        # Bytes (a model being set up) read better as a share than as counts.
        count = f"{done}/{total}" if total < 10_000 else f"{100 * done // total:3d}%"
        sys.stderr.write(f"\r[{bar}] {count} {for_terminal(label)[:40]:<40}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


class StageLine:
    """What an answer is doing ("Reading 4 sources…") on stderr when it is a terminal,
    replaced by the answer's first words."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def show(self, stage: str, label: str) -> None:
        if self.enabled:
            sys.stderr.write(f"\r\x1b[2K{label}")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
            self.shown = False


class StreamedAnswer:
    """An answer's pieces on stdout as they come when it is a terminal, then the answer as
    kept in their place where the two differ (a part cut back, a restatement declined);
    a pipe gets the kept answer only."""

    def __init__(self) -> None:
        self.live = sys.stdout.isatty()
        self.written = ""

    def piece(self, text: str) -> None:
        if self.live:
            text = text_for_terminal(text)
            sys.stdout.write(text)
            sys.stdout.flush()
            self.written += text

    def settle(self, kept: str) -> None:
        kept = text_for_terminal(kept)
        if not self.live:
            sys.stdout.write(kept)
        elif kept.strip() != self.written.strip():
            columns = max(1, shutil.get_terminal_size().columns)
            rows = sum(max(1, math.ceil(len(line) / columns)) for line in self.written.split("\n"))
            # Up to the draft's first row, clear from there down, write the kept answer.
            sys.stdout.write("\r" + "\x1b[1A" * (rows - 1) + "\x1b[J" + kept)
        sys.stdout.flush()


def index_progress() -> ProgressCallback:
    """The progress bar on a terminal; elsewhere (a log, a pipe) one line per OCR page,
    since a long scan is otherwise silent for minutes."""
    bar = TerminalProgress()
    if bar.enabled:
        return bar

    def ocr_lines(done: int, total: int, label: str) -> None:
        if label.startswith("OCR"):
            print(for_terminal(label), file=sys.stderr, flush=True)

    return ocr_lines
