"""A model's name the way a user knows it: the maker's name without another format's
words, and the file's own quantisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.models.catalogue import ModelCatalogue
from hearth.models.naming import clean_model_name, quantization_in_name, split_part
from tests.models.hub_standin import make_gguf


@pytest.mark.parametrize(
    ("name", "size_label", "clean"),
    [
        # The bundled models' general.name values.
        ("Qwen2.5 Coder 0.5B Instruct AWQ", "0.5B", "Qwen2.5 Coder 0.5B Instruct"),
        ("Qwen2.5 Coder 1.5B Instruct GGUF", "1.5B", "Qwen2.5 Coder 1.5B Instruct"),
        ("Gemma 3 270m", "270M", "Gemma 3 270M"),
        ("Meta-Llama-3.1-8B-Instruct-Q4_K_M", "8B", "Meta-Llama-3.1-8B-Instruct"),
        ("Mistral 7B Instruct v0.3 GPTQ 4bit", "7B", "Mistral 7B Instruct v0.3"),
        ("GGUF", "", "GGUF"),  # nothing else to keep: the name as it was
    ],
)
def test_clean_names(name: str, size_label: str, clean: str) -> None:
    assert clean_model_name(name, size_label) == clean


@pytest.mark.parametrize(
    ("file_name", "quantization"),
    [
        ("qwen2.5-1.5b-instruct-q4_k_m.gguf", "Q4_K_M"),
        ("Llama-3.2-1B-Instruct-IQ4_XS.gguf", "IQ4_XS"),
        ("gemma-3-4b-it-UD-Q4_K_XL.gguf", "Q4_K_XL"),
        ("Q8_0/model-Q8_0-00001-of-00002.gguf", "Q8_0"),
        ("phi-4.Q5_K_S.gguf", "Q5_K_S"),
        ("tinyllama-1.1b-chat-v1.0.f16.gguf", "F16"),
        ("model.gguf", None),
    ],
)
def test_quantisation_from_file_names(file_name: str, quantization: str | None) -> None:
    assert quantization_in_name(file_name) == quantization


def test_split_parts() -> None:
    part = split_part("model-Q8_0-00002-of-00003.gguf")
    assert part is not None
    assert (part.base, part.index, part.count) == ("model-Q8_0", 2, 3)
    assert part.name_of(1) == "model-Q8_0-00001-of-00003.gguf"
    assert split_part("model-Q8_0.gguf") is None


def test_the_picker_label_has_the_files_own_quantisation(hearth_home: Path) -> None:
    """As the bundled 0.5B: named "... Instruct AWQ" in its header, a Q4_K_M file."""
    catalogue = ModelCatalogue()
    make_gguf(
        catalogue.folder / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "Q4_K_M",
        64 * 1024,
        name="Qwen2.5 Coder 0.5B Instruct AWQ",
    )
    [model] = catalogue.list()
    assert model.name == "Qwen2.5 Coder 0.5B Instruct"
    assert model.label == "Qwen2.5 Coder 0.5B Instruct · Q4_K_M"
    assert model.to_json()["name"] == "Qwen2.5 Coder 0.5B Instruct"
