"""Shared fixtures: every test gets its own HEARTH_HOME; each bundled model a test names is
assembled once per session and linked into that test's models folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hearth.models.bundled import GEMMA_270M, QWEN_05B, QWEN_15B, BundledModel, assemble
from hearth.offline import enforce_offline

if TYPE_CHECKING:  # the fixtures import these when first used, not at collection
    from hearth.assistant.workspace import Workspace
    from hearth.engine.client import EngineClient
    from hearth.index.document_index import DocumentIndex
    from hearth.index.embedder import Embedder
    from tests.fakes import ScriptedEngine

enforce_offline()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def hearth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    return home


def _assembled(factory: pytest.TempPathFactory, model: BundledModel) -> Path:
    """``model`` assembled from its packages (and checked against its pinned SHA-256)."""
    return assemble(model, factory.mktemp(model.id))


@pytest.fixture(scope="session")
def gemma_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gemma 3 270M, the base model (no chat template), assembled once per session."""
    return _assembled(tmp_path_factory, GEMMA_270M)


@pytest.fixture(scope="session")
def qwen05_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Qwen2.5-Coder 0.5B Instruct, the default on a small computer, assembled once."""
    return _assembled(tmp_path_factory, QWEN_05B)


@pytest.fixture(scope="session")
def qwen15_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Qwen2.5-Coder 1.5B Instruct, assembled once per session (1.1 GB: only where named)."""
    return _assembled(tmp_path_factory, QWEN_15B)


def install_as_default(assembled: Path, model: BundledModel) -> Path:
    """Place ``assembled`` in this test's models folder as the user's chosen default, as if
    first start had already run (so nothing else is assembled into the test's folder)."""
    from hearth.models.bundled import SET_UP_AT_FIRST_START
    from hearth.models.catalogue import ModelCatalogue

    catalogue = ModelCatalogue()
    target = catalogue.folder / assembled.name
    try:
        os.link(assembled, target)
    except OSError:
        shutil.copyfile(assembled, target)
    for bundled in SET_UP_AT_FIRST_START:
        catalogue.mark_set_up(bundled.id)
    catalogue.set_default(model.id)
    return target


@pytest.fixture
def gemma_model(hearth_home: Path, gemma_file: Path) -> Path:
    """Gemma 3 270M installed and chosen: fast, for tests of the engine's mechanics and of
    the base-model path."""
    return install_as_default(gemma_file, GEMMA_270M)


@pytest.fixture
def qwen05_model(hearth_home: Path, qwen05_file: Path) -> Path:
    """Qwen2.5-Coder 0.5B Instruct installed and chosen: for tests of answers and tools."""
    return install_as_default(qwen05_file, QWEN_05B)


@pytest.fixture
def engine() -> Iterator[EngineClient]:
    from hearth.engine.client import EngineClient

    client = EngineClient()
    yield client
    client.close()


@pytest.fixture(scope="session")
def shared_embedder() -> Embedder:
    """The real MiniLM embedder, loaded once per session (it takes seconds)."""
    from hearth.index.embedder import Embedder

    return Embedder()


@pytest.fixture
def document_index(hearth_home: Path, shared_embedder: object) -> Iterator[DocumentIndex]:
    from hearth.index.document_index import DocumentIndex
    from hearth.index.embedder import Embedder

    assert isinstance(shared_embedder, Embedder)
    index = DocumentIndex(embedder=shared_embedder)
    yield index
    index.close()


# Tests that run a real language model are the proof of every feature and the slow part of
# the suite. The fast tier leaves them out, and the few slow_io tests (thousands of files,
# kills mid-write): `pytest -m "not slow_model and not slow_io"`.
MODEL_FIXTURES = {"gemma_file", "qwen05_file", "qwen15_file", "gemma_model", "qwen05_model"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow_model)


@pytest.fixture
def scripted_engine() -> ScriptedEngine:
    from tests.fakes import ScriptedEngine

    return ScriptedEngine()


@pytest.fixture
def scripted_workspace(
    hearth_home: Path, scripted_engine: ScriptedEngine, shared_embedder: Embedder
) -> Iterator[Workspace]:
    """A Workspace whose engine is the scripted one, with a tiny model installed as the
    chosen default (first start done), for the fast tests of logic and wiring."""
    from hearth.assistant.workspace import Workspace
    from hearth.models.bundled import SET_UP_AT_FIRST_START
    from hearth.models.catalogue import ModelCatalogue
    from tests.fakes import tiny_gguf

    catalogue = ModelCatalogue()
    tiny_gguf(catalogue.folder / "tiny-test-model.gguf")
    for bundled in SET_UP_AT_FIRST_START:
        catalogue.mark_set_up(bundled.id)
    catalogue.set_default("tiny-test-model")
    from dataclasses import replace

    from hearth.settings import load_settings, save_settings

    # Scripted replies go to the answer; the question step has its own tests.
    save_settings(replace(load_settings(), query_step=False))
    workspace = Workspace(
        embedder=shared_embedder,
        engine_factory=lambda: scripted_engine,
    )
    yield workspace
    workspace.close()
