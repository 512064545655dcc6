"""What a model file is called, the way a user knows it.

A GGUF's ``general.name`` often carries the format of the weights it was converted from
("Qwen2.5 Coder 0.5B Instruct AWQ", "... Instruct GGUF"), which says nothing true about
the file: its quantisation is the file's own (``general.file_type``, or its name). File
names on Hugging Face follow llama.cpp's conventions: the quantisation near the end
(``-Q4_K_M``, ``.IQ4_XS``, ``-UD-Q4_K_XL``) and a split model's parts as
``-00001-of-00003``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# llama.cpp's quantisation names (LlamaFileType), plus the "UD"/"XL" variants some
# publishers add; matched as a whole word of the file name.
QUANTIZATION_PATTERN = re.compile(
    r"(?<![A-Za-z0-9])("
    r"I?Q[1-8]_(?:K_)?(?:XXS|XS|XL|NL|S|M|L|[01])|I?Q[1-8]_K|TQ[12]_0|MXFP4|BF16|F16|F32|FP16"
    r")(?![A-Za-z0-9])",
    re.IGNORECASE,
)
SPLIT_PATTERN = re.compile(r"^(?P<base>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$")
# Words in a model's name that describe a format or another repository's quantisation,
# never this file.
FORMAT_WORDS = {
    "awq",
    "gptq",
    "gguf",
    "ggml",
    "exl2",
    "mlx",
    "bnb",
    "4bit",
    "8bit",
    "int4",
    "int8",
    "fp16",
    "bf16",
    "f16",
    "imatrix",
}


@dataclass(frozen=True)
class SplitPart:
    """One part of a split GGUF: ``base-00002-of-00003.gguf``."""

    base: str
    index: int
    count: int

    def name_of(self, index: int) -> str:
        return f"{self.base}-{index:05d}-of-{self.count:05d}.gguf"


def split_part(file_name: str) -> SplitPart | None:
    match = SPLIT_PATTERN.match(file_name)
    if match is None or int(match["count"]) < 2:
        return None
    return SplitPart(match["base"], int(match["index"]), int(match["count"]))


def quantization_in_name(file_name: str) -> str | None:
    """The quantisation a GGUF file's name states (the last one it names), upper case."""
    stem = file_name.rsplit("/", 1)[-1].removesuffix(".gguf")
    found = QUANTIZATION_PATTERN.findall(stem)
    return found[-1].upper() if found else None


def clean_model_name(name: str, size_label: str = "") -> str:
    """``name`` without format words and quantisations ("Qwen2.5 Coder 0.5B Instruct AWQ"
    -> "Qwen2.5 Coder 0.5B Instruct"); a size written like the file's size label is
    spelled as the label ("Gemma 3 270m" -> "Gemma 3 270M")."""
    words = name.split()
    kept: list[str] = []
    for word in words:
        parts = [part for part in word.split("-") if part]
        parts = [
            part
            for part in parts
            if part.lower() not in FORMAT_WORDS and not QUANTIZATION_PATTERN.fullmatch(part)
        ]
        if not parts:
            continue
        joined = "-".join(parts)
        if size_label and joined.lower() == size_label.lower():
            joined = size_label
        kept.append(joined)
    return " ".join(kept) or name.strip()


def name_from_file(file_name: str) -> str:
    """A readable name from a file name alone ("qwen2.5-1.5b-instruct-q4_k_m.gguf" ->
    "qwen2.5 1.5b instruct"), for a file whose header names nothing."""
    stem = file_name.rsplit("/", 1)[-1].removesuffix(".gguf")
    part = split_part(stem + ".gguf")
    if part is not None:
        stem = part.base
    return clean_model_name(stem.replace("-", " ").replace(".gguf", ""))
