"""Decode bytes of unknown encoding: BOMs first, then UTF-16 without BOM, UTF-8, cp1252.

Binary content (NUL bytes outside UTF-16, or many control characters) is refused, so a
renamed image or archive is skipped with a reason instead of indexed as garbage.
"""

from __future__ import annotations

import codecs
import unicodedata

BOMS: list[tuple[bytes, str]] = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
LEGACY_ENCODING = "cp1252"


class NotText(ValueError):
    """The bytes are not text in any encoding Hearth reads."""


def _mostly_text(decoded: str, ascii_share: float = 0.0) -> bool:
    """Decoded text has almost no control or unassigned characters (and, for guesses
    without a BOM, enough plain ASCII to be sure the guess was right)."""
    if not decoded:
        return False
    odd = sum(1 for ch in decoded if ch not in "\t\n\r\f" and unicodedata.category(ch)[0] == "C")
    plain = sum(1 for ch in decoded if ch.isascii() and (ch.isprintable() or ch.isspace()))
    return odd <= 0.02 * len(decoded) and plain >= ascii_share * len(decoded)


def _looks_like_utf16_without_bom(sample: bytes) -> str | None:
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    guess = None
    if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
        guess = "utf-16-le"
    elif even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
        guess = "utf-16-be"
    if guess is None:
        return None
    decoded = sample[: len(sample) // 2 * 2].decode(guess, errors="replace")
    return guess if _mostly_text(decoded, ascii_share=0.5) else None


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text sample (the first few KB of a file); raise NotText if binary."""
    for bom, encoding in BOMS:
        if sample.startswith(bom):
            return encoding
    utf16 = _looks_like_utf16_without_bom(sample)
    if utf16:
        return utf16
    if b"\x00" in sample:
        raise NotText("it looks like binary data, not text")
    control = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13, 27))
    if sample and control > 0.02 * len(sample):
        raise NotText("it looks like binary data, not text")
    try:
        # A cut multi-byte character at the end of the sample is not a reason to refuse.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return LEGACY_ENCODING


def decode_bytes(data: bytes) -> str:
    encoding = detect_encoding(data[:65536])
    text = data.decode(encoding, errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")
