"""Decompression bombs: a file of a few megabytes whose parts inflate to gigabytes.

Zip-based documents (DOCX, PPTX, ODT, EPUB, XLSX, ODS) and PDFs are checked here before any
parser opens them, by ``check_inflation``, which never holds more than a block of the file
or of its inflated bytes:

- a zip member's declared size (and the total of them) must be within the limits; Python's
  zipfile yields no more than that size, but ``ZipFile.read`` inflates a member whole before
  cutting it there, so a member that could inflate past the limit (its compressed size
  times deflate's best ratio) is inflated here, a block at a time, to see it keeps its word;
- every FlateDecode-able PDF stream is inflated here a block at a time and counted: PDFium
  decodes a content stream whole, into a buffer that doubles as it grows.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Literal

from hearth.documents.document import MB, UnsupportedDocument

GB = 1024 * MB
# Deflate's best ratio: about 1032:1 (a 258-byte match in 2 bits), rounded up.
DEFLATE_MAX_RATIO = 1033
BLOCK = 1024 * 1024  # read from the file at a time
FEED = 64 * 1024  # handed to zlib at a time, so a small stream costs little
INFLATE_CHUNK = 1024 * 1024  # the most zlib returns at a time
# Office, ODF and EPUB use no other (and zipfile inflates bzip2 and LZMA unbounded).
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length
LOCAL_SIGNATURE = b"PK\x03\x04"
PDF_STREAM = b"stream"
# Bytes kept between blocks, so a "stream" keyword (and its "end") cut by a block is found.
PDF_KEEP = 16


@dataclass(frozen=True)
class InflationLimit:
    """How far a file's parts may inflate: one zip member or PDF stream, and all of them."""

    kind: Literal["zip", "pdf"]
    member: int
    total: int


def size_text(size: int) -> str:
    if size >= GB:
        return f"{size / GB:.1f} GB"
    if size >= MB:
        return f"{size / MB:.0f} MB"
    return f"{size:,} bytes"


def check_inflation(path: Path, limit: InflationLimit) -> None:
    """Raise UnsupportedDocument (one line) if a part of ``path`` inflates past ``limit``.
    A file that is not a readable zip or PDF passes: its reader says why, in its words."""
    try:
        if limit.kind == "zip":
            _check_zip(path, limit)
        else:
            _check_pdf(path, limit)
    except OSError as error:
        raise UnsupportedDocument(path, f"cannot read it ({error.strerror or error})") from error


def _bomb(path: Path, what: str) -> UnsupportedDocument:
    return UnsupportedDocument(path, f"{what}: possibly a decompression bomb")


# -- zip ------------------------------------------------------------------------------------
def _check_zip(path: Path, limit: InflationLimit) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError):
        return
    total = 0
    for info in members:
        if info.compress_type not in ZIP_METHODS:
            raise UnsupportedDocument(
                path,
                f"a member is compressed in a way these files never are "
                f"(method {info.compress_type}: {info.filename})",
            )
        if info.file_size > limit.member:
            ratio = f", {info.file_size // max(info.compress_size, 1):,}x its compressed size"
            raise _bomb(
                path,
                f"a member inflates to {size_text(info.file_size)} ({info.filename}{ratio}), "
                f"over the {size_text(limit.member)} limit",
            )
        total += info.file_size
    if total > limit.total:
        raise _bomb(
            path,
            f"its members inflate to {size_text(total)} together, over the "
            f"{size_text(limit.total)} limit",
        )
    for info in members:
        checked = (
            info.compress_type == zipfile.ZIP_DEFLATED
            and not info.flag_bits & 0x1  # encrypted: no parser reads it
            and info.compress_size * DEFLATE_MAX_RATIO > limit.member
        )
        if checked and _inflates_past(path, info, info.file_size):
            raise _bomb(
                path,
                f"a member inflates to more than the {size_text(info.file_size)} it "
                f"declares ({info.filename})",
            )


def _inflates_past(path: Path, info: zipfile.ZipInfo, size: int) -> bool:
    """Whether the member inflates to more than ``size`` bytes; a damaged one is left to
    its reader."""
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(LOCAL_HEADER.size)
        if len(header) < LOCAL_HEADER.size:
            return False
        signature, name_length, extra_length = LOCAL_HEADER.unpack(header)
        if signature != LOCAL_SIGNATURE:
            return False
        handle.seek(name_length + extra_length, 1)
        left = info.compress_size
        pieces = iter(lambda: handle.read(min(FEED, left)), b"")
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as in a zip
        produced = 0
        try:
            for piece in pieces:
                left -= len(piece)
                data: bytes = piece
                while data:
                    produced += len(inflater.decompress(data, INFLATE_CHUNK))
                    if produced > size:
                        return True
                    if inflater.eof:
                        return False
                    data = inflater.unconsumed_tail
        except zlib.error:
            return False
    return False


# -- PDF ------------------------------------------------------------------------------------
def _check_pdf(path: Path, limit: InflationLimit) -> None:
    """Inflate, a block at a time, whatever follows a "stream" keyword; data that is not a
    zlib stream (images in JPEG, encrypted streams) fails at once and is passed over."""
    total = 0
    with path.open("rb") as handle:
        buffer = b""
        base = 0  # file offset of buffer[0]
        position = 0  # buffer[:position] has been scanned
        at_end = False
        while True:
            start = _stream_data_start(buffer, position, at_end)
            if start is None:
                if at_end:
                    return
                block = handle.read(BLOCK)
                at_end = not block
                kept = max(position, len(buffer) - PDF_KEEP)
                base += kept
                buffer, position = buffer[kept:] + block, 0
                continue
            inflated = _inflate_stream(handle, buffer, start, base, limit.member)
            if inflated is None:  # not Flate: scan its data for the next keyword
                position = start
                continue
            produced, end = inflated
            if produced > limit.member:
                raise _bomb(
                    path,
                    f"a stream inflates to more than the {size_text(limit.member)} limit",
                )
            total += produced
            if total > limit.total:
                raise _bomb(
                    path,
                    f"its streams inflate to more than the {size_text(limit.total)} limit together",
                )
            if end <= base + len(buffer):
                position = end - base
            else:
                handle.seek(end)
                buffer, base, position, at_end = b"", end, 0, False


def _stream_data_start(buffer: bytes, position: int, at_end: bool) -> int | None:
    """Where the data of the first stream keyword from ``position`` starts, if there is one
    (the keyword ends a line; "endstream" is not one)."""
    index = buffer.find(PDF_STREAM, position)
    while index != -1:
        after = index + len(PDF_STREAM)
        if not (index >= 3 and buffer[index - 3 : index] == b"end"):
            if buffer.startswith(b"\r\n", after):
                return after + 2
            if buffer.startswith(b"\n", after):
                return after + 1
            # "\r" alone ends the keyword only if no "\n" is still to come.
            if buffer.startswith(b"\r", after) and (after + 1 < len(buffer) or at_end):
                return after + 1
        index = buffer.find(PDF_STREAM, after)
    return None


def _inflate_stream(
    handle: BinaryIO, buffer: bytes, start: int, base: int, limit: int
) -> tuple[int, int] | None:
    """(bytes inflated, stopping past ``limit``; file offset after the compressed data) of
    the zlib stream at ``buffer[start]``, read on from ``handle`` if it goes past the
    buffer; None if there is no zlib stream there (``handle`` is then where it was)."""
    buffered_end = base + len(buffer)
    view = memoryview(buffer)
    pieces: Iterator[bytes | memoryview] = chain(
        (view[offset : offset + FEED] for offset in range(start, len(buffer), FEED)),
        iter(lambda: handle.read(FEED), b""),
    )
    inflater = zlib.decompressobj()
    produced = 0
    fed_end = base + start
    try:
        for piece in pieces:
            fed_end += len(piece)
            data: bytes | memoryview = piece
            while data:
                produced += len(inflater.decompress(data, INFLATE_CHUNK))
                if produced > limit:
                    return produced, fed_end
                if inflater.eof:
                    return produced, fed_end - len(inflater.unused_data)
                data = inflater.unconsumed_tail
    except zlib.error:
        handle.seek(buffered_end)
        return None
    return produced, fed_end  # the file ends inside the stream: its reader will say so
