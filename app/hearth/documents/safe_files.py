"""Which files Hearth may read: regular files inside the folders the user gave, and, once
indexed, only while they are still the file that was indexed.

A link inside a folder can point anywhere (``notes/passwd.txt -> /etc/passwd``), a FIFO
blocks ``open()`` forever and a device never ends, so every path is looked at with
``lstat`` before anything opens it. Reading a cited page later (the page viewer, the
read_page tool) checks the file again: swapped for a link or edited since, it is refused
until it is indexed again, so only content Hearth indexed reaches the model.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

from hearth.documents.document import UnsupportedDocument


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or under it (by name: resolve links first)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def reading_refusal(path: Path, folders: Sequence[Path]) -> str | None:
    """Why ``path`` must not be read as a document, in one line, or None if it may be.

    ``folders``: where the user's documents are; a symbolic link is followed only to a file
    inside one of them. Nothing is opened here."""
    try:
        info = os.lstat(path)
        link = stat.S_ISLNK(info.st_mode)
        if link:
            info = os.stat(path)  # a loop fails here: "Too many levels of symbolic links"
    except OSError as error:
        return f"cannot read it ({error.strerror or error})"
    if not stat.S_ISREG(info.st_mode):
        return f"{_kind_of(info.st_mode)}, not a document: never opened"
    if link:
        target = os.path.realpath(path)
        if not any(inside(target, os.path.realpath(folder)) for folder in folders):
            return f"it links to {target}, outside the folders given to Hearth"
    return None


def ensure_still_indexed(path: Path, size_bytes: int, content_hash: str) -> None:
    """Raise UnsupportedDocument unless ``path`` is still the regular file that was indexed
    (same size and SHA-256), so a file replaced by a link, a device or other content is never
    read blind."""
    changed = UnsupportedDocument(
        path, "it has changed since it was indexed; index it again to read it"
    )
    try:
        info = os.stat(path)
    except OSError as error:
        raise UnsupportedDocument(path, f"cannot read it ({error.strerror or error})") from error
    if not stat.S_ISREG(info.st_mode) or info.st_size != size_bytes:
        raise changed
    # A link that now points elsewhere with the same bytes is the same content: allowed.
    try:
        same = file_sha256(path) == content_hash
    except OSError as error:
        raise UnsupportedDocument(path, f"cannot read it ({error.strerror or error})") from error
    if not same:
        raise changed


# A file name that is not valid UTF-8 reaches Python with each bad byte as a lone surrogate
# (U+DC80-U+DCFF), which SQLite, chromadb and terminals refuse. Its key spells each such
# byte as U+FFFD and two hex digits: storable, shown with the replacement character, and
# reversible (file_path), so the file can still be opened by its key.
_ESCAPED_BYTE = re.compile("\ufffd([0-9A-F]{2})")
_LONE_SURROGATE = re.compile("[\udc80-\udcff]")


def document_key(path: Path | str) -> str:
    """The index's key for a file: its absolute path, with bytes that are not UTF-8 kept."""
    return _LONE_SURROGATE.sub(lambda m: f"\ufffd{ord(m.group()) - 0xDC00:02X}", str(path))


def file_path(key: str) -> Path:
    """The file a document key names (the inverse of document_key)."""
    return Path(_ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), key))


def shown_name(key: str) -> str:
    """A key or name as people see it: each byte that was not UTF-8 as one U+FFFD."""
    return _ESCAPED_BYTE.sub("\ufffd", _LONE_SURROGATE.sub("\ufffd", key))
