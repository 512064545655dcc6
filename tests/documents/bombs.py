"""Decompression bombs, written without ever holding their inflated bytes: zips written
member by member (the bomb as raw deflate of zeros, compressed once per session) and a PDF
whose content streams inflate to gigabytes."""

from __future__ import annotations

import functools
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
GB = 1024 * MB
ZERO_BLOCK = bytes(MB)


@dataclass(frozen=True)
class Deflated:
    data: bytes  # compressed
    size: int  # inflated
    crc: int


@functools.cache
def deflated_zeros(size: int, raw: bool = True) -> Deflated:
    """``size`` zero bytes deflated (raw, as in a zip; or a zlib stream, as in a PDF)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    parts = []
    crc = 0
    for _ in range(size // MB):
        parts.append(compressor.compress(ZERO_BLOCK))
        crc = zlib.crc32(ZERO_BLOCK, crc)
    parts.append(compressor.flush())
    return Deflated(b"".join(parts), size, crc)


def write_zip(
    path: Path, members: dict[str, bytes | Deflated], declared: dict[str, int] | None = None
) -> Path:
    """A zip of ``members``: bytes stored as they are, Deflated ones as deflated members.
    ``declared``: sizes to declare instead of the true ones (a member that lies)."""
    declared = declared or {}
    central = b""
    with path.open("wb") as handle:
        for name, content in members.items():
            if isinstance(content, Deflated):
                method, data, size, crc = 8, content.data, content.size, content.crc
            else:
                method, data, size, crc = 0, content, len(content), zlib.crc32(content)
            size = declared.get(name, size)
            encoded = name.encode()
            fields = struct.pack("<HHHHHIII", 20, 0, method, 0, 0x21, crc, len(data), size)
            offset = handle.tell()
            handle.write(b"PK\x03\x04" + fields + struct.pack("<HH", len(encoded), 0) + encoded)
            handle.write(data)
            central += (
                b"PK\x01\x02"
                + struct.pack("<H", 20)
                + fields
                + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, offset)
                + encoded
            )
        start = handle.tell()
        handle.write(central)
        count = len(members)
        handle.write(
            b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, count, count, len(central), start, 0)
        )
    return path


def zip_with_bomb(source: Path, target: Path, member: str, bomb: Deflated) -> Path:
    """``source`` (a real document) with ``member`` replaced by ``bomb``."""
    with zipfile.ZipFile(source) as archive:
        members: dict[str, bytes | Deflated] = {
            info.filename: archive.read(info) for info in archive.infolist()
        }
    members[member] = bomb
    return write_zip(target, members)


def pdf_with_streams(path: Path, streams: list[Deflated]) -> Path:
    """A PDF with a page per stream, each its page's content (zlib streams of zeros)."""
    count = len(streams)
    kids = " ".join(f"{3 + 2 * n} 0 R" for n in range(count)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
    ]
    for number, stream in enumerate(streams):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>"
            % (4 + 2 * number)
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream.data)
            + stream.data
            + b"\nendstream"
        )
    with path.open("wb") as handle:
        handle.write(b"%PDF-1.4\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(handle.tell())
            handle.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        xref = handle.tell()
        handle.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
        for offset in offsets:
            handle.write(b"%010d 00000 n \n" % offset)
        handle.write(
            b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, xref)
        )
    return path
