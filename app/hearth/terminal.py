"""Text from documents and file names, made safe to print on a terminal.

A file name or a document can hold escape sequences (``ESC ]0;title BEL`` sets the
terminal's title, ``ESC [31m`` its colours), a newline that splits a listed row, or a
right-to-left override that makes ``invoice\\u202etxt.exe`` read "invoiceexe.txt". Printed
text shows each such character as a visible escape instead. JSON output needs none of
this: the JSON encoder escapes them.
"""

from __future__ import annotations

import re

from hearth.documents.safe_files import shown_name

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
