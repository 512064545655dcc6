from __future__ import annotations

from pathlib import Path

import pytest

from hearth.models.gguf_metadata import GGUFFormatError, read_gguf_metadata
from tests.gguf_files import truncated_copy


def test_bundled_model_metadata(gemma_file: Path) -> None:
    metadata = read_gguf_metadata(gemma_file)
    assert metadata.architecture == "gemma3"
    assert metadata.quantization == "Q4_K_M"
    assert metadata.context_length == 32768
    assert metadata.chat_template is None
    assert metadata.size_label.upper().startswith("270M") or metadata.size_label == "268M"
    assert 200_000_000 < metadata.parameter_count < 300_000_000
    assert metadata.file_size == gemma_file.stat().st_size
    assert metadata.weights_bytes <= metadata.file_size
    assert metadata.vocab_size > 200_000  # Gemma 3's 262k vocabulary


def test_not_gguf_is_rejected_with_reason(tmp_path: Path) -> None:
    fake = tmp_path / "notes.gguf"
    fake.write_text("this is not a model at all, just words in a file")
    with pytest.raises(GGUFFormatError, match="not a GGUF model"):
        read_gguf_metadata(fake)


def test_truncated_gguf_is_rejected_with_reason(tmp_path: Path, gemma_file: Path) -> None:
    cut = truncated_copy(gemma_file, tmp_path / "cut.gguf")
    with pytest.raises(GGUFFormatError, match="truncated"):
        read_gguf_metadata(cut)


def test_header_cut_inside_metadata_is_rejected(tmp_path: Path, gemma_file: Path) -> None:
    cut = truncated_copy(gemma_file, tmp_path / "cut.gguf", keep_fraction=0.0001)
    with pytest.raises(GGUFFormatError, match="truncated"):
        read_gguf_metadata(cut)
