"""Make GGUF variants for tests: a renamed copy, a truncated copy, a wrong architecture."""

from __future__ import annotations

import struct
from pathlib import Path


def _string_value_offset(data: bytes, key: str) -> tuple[int, int]:
    """(offset, length) of the string value stored under ``key`` in a GGUF header."""
    encoded = key.encode()
    needle = struct.pack("<Q", len(encoded)) + encoded + struct.pack("<I", 8)
    at = data.find(needle)
    if at < 0:
        raise KeyError(key)
    length_at = at + len(needle)
    (length,) = struct.unpack_from("<Q", data, length_at)
    return length_at + 8, length


def copy_with_string_field(source: Path, target: Path, key: str, value: str) -> Path:
    """Copy ``source`` with one string metadata value replaced by one of the same length."""
    data = bytearray(source.read_bytes())
    offset, length = _string_value_offset(bytes(data[: 8 * 1024 * 1024]), key)
    replacement = value.encode().ljust(length)[:length]
    data[offset : offset + length] = replacement
    target.write_bytes(bytes(data))
    return target


def truncated_copy(source: Path, target: Path, keep_fraction: float = 0.6) -> Path:
    with source.open("rb") as handle:
        target.write_bytes(handle.read(int(source.stat().st_size * keep_fraction)))
    return target
