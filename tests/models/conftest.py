"""A Hugging Face stand-in on 127.0.0.1 with a few GGUF repositories, and HF_ENDPOINT
pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.models.hub_standin import HostedFile, HostedRepo, HubStandIn, make_gguf

QWEN_REPO = "Qwen/Qwen2.5-1.5B-Instruct-GGUF"
MIB = 1024 * 1024
# Sizes of the stand-in's files: small enough to be quick, large enough to cut in half.
QUANT_SIZES = {"Q2_K": 1 * MIB, "Q4_K_M": 3 * MIB, "Q5_K_M": 4 * MIB}
SPLIT_PART_SIZE = 3 * MIB


@pytest.fixture(scope="session")
def qwen_files(tmp_path_factory: pytest.TempPathFactory) -> list[HostedFile]:
    """The files of a repository like Qwen's own GGUF one: three quantisations, a Q8_0
    split in two parts, an image projector and a README."""
    folder = tmp_path_factory.mktemp("hub-files")
    files = []
    for seed, (quant, size) in enumerate(QUANT_SIZES.items()):
        path = make_gguf(
            folder / f"qwen2.5-1.5b-instruct-{quant.lower()}.gguf", quant, size, seed=seed
        )
        files.append(HostedFile(path.name, path.read_bytes()))
    for index in (1, 2):
        name = f"qwen2.5-1.5b-instruct-q8_0-0000{index}-of-00002.gguf"
        path = make_gguf(
            folder / name,
            "Q8_0",
            SPLIT_PART_SIZE,
            seed=10 + index,
            extra={"split.no": index - 1, "split.count": 2},
        )
        files.append(HostedFile(name, path.read_bytes()))
    projector = make_gguf(folder / "mmproj-qwen2.5-f16.gguf", "F16", MIB, seed=20)
    files.append(HostedFile(projector.name, projector.read_bytes()))
    files.append(HostedFile("README.md", b"# Qwen2.5 1.5B Instruct GGUF\n"))
    return files


@pytest.fixture
def hub(
    qwen_files: list[HostedFile], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[HubStandIn]:
    with HubStandIn() as standin:
        standin.add(HostedRepo(QWEN_REPO, list(qwen_files), downloads=90_000, likes=120))
        standin.add(
            HostedRepo(
                "bartowski/Qwen2.5-1.5B-Instruct-abliterated-GGUF",
                [qwen_files[0]],
                downloads=2_000,
            )
        )
        standin.add(
            HostedRepo("Qwen/Qwen2.5-0.5B-Instruct-GGUF", [qwen_files[0]], downloads=150_000)
        )
        standin.add(
            HostedRepo("Qwen/Qwen2.5-1.5B-Instruct", [HostedFile("model.safetensors", b"x")])
        )
        monkeypatch.setenv("HF_ENDPOINT", standin.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield standin
