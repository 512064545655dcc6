"""Read a GGUF file's metadata without loading its weights.

Only the header, the key/value section and the tensor descriptors are parsed (a memory
map, so a multi-gigabyte model costs a few milliseconds). The tensor descriptors let us
tell a complete file from a truncated download before llama.cpp ever sees it.
"""

from __future__ import annotations

import mmap
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
# Arrays longer than this (tokenizer vocabularies, merges) are skipped, not kept.
MAX_KEPT_ARRAY = 64


class GGUFFormatError(ValueError):
    """The file is not a readable GGUF model; the message says why in plain words."""


# value type id -> struct format (scalars only)
_SCALAR_FORMATS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING = 8
_ARRAY = 9


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def n_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def n_bytes(self) -> int:
        from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

        try:
            block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(self.ggml_type)]
        except (ValueError, KeyError) as error:
            raise GGUFFormatError(f"unknown tensor type {self.ggml_type}") from error
        return self.n_elements // block_size * type_size


@dataclass
class GGUFMetadata:
    """What Hearth needs to know about a model file. Derived values (parameter count,
    weight bytes, quantisation) are computed once at parse time, so a cached copy needs
    neither the tensor list nor the gguf package."""

    path: Path
    version: int
    fields: dict[str, Any]
    array_lengths: dict[str, int]
    file_size: int
    parameter_count: int
    weights_bytes: int
    quantization: str

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    @property
    def architecture(self) -> str:
        return str(self.fields.get("general.architecture", "unknown"))

    def arch_field(self, suffix: str, default: Any = None) -> Any:
        return self.fields.get(f"{self.architecture}.{suffix}", default)

    @property
    def name(self) -> str:
        name = self.fields.get("general.name")
        return str(name) if name else self.path.stem

    @property
    def size_label(self) -> str:
        label = self.fields.get("general.size_label")
        if label:
            return str(label)
        return format_parameter_count(self.parameter_count)

    @property
    def context_length(self) -> int:
        return int(self.arch_field("context_length", 2048))

    @property
    def chat_template(self) -> str | None:
        template = self.fields.get("tokenizer.chat_template")
        return str(template) if template else None

    @property
    def vocab_size(self) -> int:
        return self.array_lengths.get("tokenizer.ggml.tokens", 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "fields": self.fields,
            "array_lengths": self.array_lengths,
            "file_size": self.file_size,
            "parameter_count": self.parameter_count,
            "weights_bytes": self.weights_bytes,
            "quantization": self.quantization,
        }

    @classmethod
    def from_json(cls, path: Path, raw: dict[str, Any]) -> GGUFMetadata:
        return cls(
            path=path,
            version=int(raw["version"]),
            fields=dict(raw["fields"]),
            array_lengths={str(k): int(v) for k, v in raw["array_lengths"].items()},
            file_size=int(raw["file_size"]),
            parameter_count=int(raw["parameter_count"]),
            weights_bytes=int(raw["weights_bytes"]),
            quantization=str(raw["quantization"]),
        )


def quantization_name(fields: dict[str, Any], tensors: list[TensorInfo]) -> str:
    from gguf.constants import GGMLQuantizationType, LlamaFileType

    file_type = fields.get("general.file_type")
    if isinstance(file_type, int):
        try:
            return LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass
    # Older files: name the most common type among the large tensors.
    counts = Counter(t.ggml_type for t in tensors if len(t.shape) >= 2)
    if not counts:
        return "unknown"
    try:
        return GGMLQuantizationType(counts.most_common(1)[0][0]).name
    except ValueError:
        return "unknown"


def format_parameter_count(count: int) -> str:
    if count >= 1_000_000_000:
        return f"{count / 1e9:.1f}B".replace(".0B", "B")
    if count >= 1_000_000:
        return f"{round(count / 1e6)}M"
    return f"{round(count / 1e3)}K"


class _Cursor:
    def __init__(self, buffer: mmap.mmap | bytes, size: int) -> None:
        self.buffer = buffer
        self.size = size
        self.pos = 0

    def need(self, count: int) -> None:
        if count < 0 or self.pos + count > self.size:
            raise GGUFFormatError("the file ends inside its header (truncated)")

    def unpack(self, fmt: str) -> Any:
        width = struct.calcsize(fmt)
        self.need(width)
        (value,) = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += width
        return value

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > 1 << 30:
            raise GGUFFormatError("a metadata string has an impossible length (corrupt header)")
        self.need(length)
        raw = bytes(self.buffer[self.pos : self.pos + length])
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        length = self.unpack("<Q")
        self.need(length)
        self.pos += length

    def value(self, value_type: int, key: str, lengths: dict[str, int]) -> Any:
        if value_type in _SCALAR_FORMATS:
            return self.unpack(_SCALAR_FORMATS[value_type])
        if value_type == _STRING:
            return self.string()
        if value_type == _ARRAY:
            item_type = self.unpack("<I")
            count = self.unpack("<Q")
            lengths[key] = count
            if item_type in _SCALAR_FORMATS:
                width = struct.calcsize(_SCALAR_FORMATS[item_type])
                self.need(width * count)
                if count <= MAX_KEPT_ARRAY:
                    fmt = "<" + _SCALAR_FORMATS[item_type][1] * count
                    items = list(struct.unpack_from(fmt, self.buffer, self.pos))
                    self.pos += width * count
                    return items
                self.pos += width * count
                return None
            if item_type == _STRING:
                if count <= MAX_KEPT_ARRAY:
                    return [self.string() for _ in range(count)]
                for _ in range(count):
                    self.skip_string()
                return None
            raise GGUFFormatError(f"metadata key {key} has an unsupported array type")
        raise GGUFFormatError(f"metadata key {key} has an unknown value type {value_type}")


def read_gguf_metadata(path: Path) -> GGUFMetadata:
    """Parse ``path``'s GGUF header; raise GGUFFormatError with a plain reason if unusable."""
    try:
        file_size = path.stat().st_size
    except OSError as error:
        raise GGUFFormatError(f"cannot read the file ({error.strerror or error})") from error
    if file_size < 24:
        raise GGUFFormatError("not a GGUF model (the file is too small)")
    try:
        with (
            path.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer,
        ):
            return _parse(path, buffer, file_size)
    except OSError as error:
        raise GGUFFormatError(f"cannot read the file ({error.strerror or error})") from error


def _read_counts(cursor: _Cursor) -> tuple[int, int, int]:
    """(version, tensor count, key/value count) after the signature."""
    if bytes(cursor.buffer[:4]) != GGUF_MAGIC:
        raise GGUFFormatError("not a GGUF model (the file does not start with the GGUF signature)")
    cursor.pos = 4
    version = cursor.unpack("<I")
    if version not in (2, 3):
        raise GGUFFormatError(f"unsupported GGUF version {version}")
    tensor_count = cursor.unpack("<Q")
    kv_count = cursor.unpack("<Q")
    if tensor_count > 1_000_000 or kv_count > 1_000_000:
        raise GGUFFormatError("the header declares an impossible number of entries (corrupt)")
    return version, tensor_count, kv_count


def _read_fields(
    cursor: _Cursor, kv_count: int, fields: dict[str, Any], lengths: dict[str, int]
) -> None:
    for _ in range(kv_count):
        key = cursor.string()
        value_type = cursor.unpack("<I")
        value = cursor.value(value_type, key, lengths)
        if value is not None:
            fields[key] = value


@dataclass(frozen=True)
class HeaderFields:
    """The key/value section read from the first bytes of a GGUF file (one not downloaded
    yet): ``complete`` is False when the bytes ended inside it, keeping what came before
    (an array cut short still counts its length)."""

    version: int
    fields: dict[str, Any]
    array_lengths: dict[str, int]
    complete: bool


def read_gguf_fields(head: bytes) -> HeaderFields:
    """Parse what ``head``, the start of a GGUF file, holds of its key/value section."""
    cursor = _Cursor(head, len(head))
    version, _, kv_count = _read_counts(cursor)
    fields: dict[str, Any] = {}
    lengths: dict[str, int] = {}
    try:
        _read_fields(cursor, kv_count, fields, lengths)
    except GGUFFormatError as error:
        if "truncated" not in str(error):  # corrupt, not merely cut short
            raise
        return HeaderFields(version, fields, lengths, complete=False)
    return HeaderFields(version, fields, lengths, complete=True)


def _parse(path: Path, buffer: mmap.mmap, file_size: int) -> GGUFMetadata:
    cursor = _Cursor(buffer, file_size)
    version, tensor_count, kv_count = _read_counts(cursor)
    fields: dict[str, Any] = {}
    lengths: dict[str, int] = {}
    _read_fields(cursor, kv_count, fields, lengths)
    tensors: list[TensorInfo] = []
    for _ in range(tensor_count):
        name = cursor.string()
        n_dims = cursor.unpack("<I")
        if n_dims > 8:
            raise GGUFFormatError(f"tensor {name} has {n_dims} dimensions (corrupt)")
        shape = tuple(cursor.unpack("<Q") for _ in range(n_dims))
        ggml_type = cursor.unpack("<I")
        offset = cursor.unpack("<Q")
        tensors.append(TensorInfo(name, shape, ggml_type, offset))
    alignment = int(fields.get("general.alignment", DEFAULT_ALIGNMENT)) or DEFAULT_ALIGNMENT
    data_offset = (cursor.pos + alignment - 1) // alignment * alignment
    if "general.architecture" not in fields:
        raise GGUFFormatError("the GGUF header names no model architecture")
    if not tensors:
        raise GGUFFormatError("the GGUF file holds no weights")
    data_end = data_offset + max(t.offset + t.n_bytes for t in tensors)
    if data_end > file_size:
        missing = data_end - file_size
        raise GGUFFormatError(
            f"the file is truncated ({missing:,} bytes of weights are missing; "
            "the download may be incomplete)"
        )
    return GGUFMetadata(
        path=path,
        version=version,
        fields=fields,
        array_lengths=lengths,
        file_size=file_size,
        parameter_count=sum(t.n_elements for t in tensors),
        weights_bytes=sum(t.n_bytes for t in tensors),
        quantization=quantization_name(fields, tensors),
    )
