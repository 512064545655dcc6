from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hearth.models.bundled import ensure_bundled_model
from hearth.models.catalogue import ModelCatalogue
from tests.gguf_files import copy_with_string_field, truncated_copy

LIST_KEYS = {
    "id",
    "name",
    "path",
    "architecture",
    "size_label",
    "quantization",
    "context_length",
    "file_size_bytes",
    "has_chat_template",
    "is_default",
    "estimated_ram_bytes",
}


def run_hearth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
        check=False,
    )


def test_first_start_assembles_bundled_model_and_makes_it_default(hearth_home: Path) -> None:
    catalogue = ModelCatalogue()
    path = ensure_bundled_model(catalogue)
    assert path.parent == catalogue.folder
    [model] = catalogue.list()
    assert model.is_default
    assert model.metadata.architecture == "gemma3"
    # A second start changes nothing.
    before = path.stat().st_mtime_ns
    ensure_bundled_model(catalogue)
    assert path.stat().st_mtime_ns == before


def test_models_list_json_contract(installed_model: Path) -> None:
    result = run_hearth("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    [entry] = json.loads(result.stdout)
    assert set(entry) == LIST_KEYS
    assert entry["is_default"] is True
    assert entry["quantization"] == "Q4_K_M"
    assert entry["has_chat_template"] is False
    assert entry["estimated_ram_bytes"] > entry["file_size_bytes"]


def test_add_default_remove(installed_model: Path, tmp_path: Path) -> None:
    second = copy_with_string_field(
        installed_model, tmp_path / "renamed-gemma.gguf", "general.name", "Renamed Gemma test"
    )
    added = run_hearth("models", "add", str(second))
    assert added.returncode == 0, added.stderr
    ids = {m.id for m in ModelCatalogue().list()}
    assert ids == {installed_model.stem, "renamed-gemma"}
    assert run_hearth("models", "default", "renamed-gemma").returncode == 0
    assert ModelCatalogue().default().id == "renamed-gemma"
    assert run_hearth("models", "remove", "renamed-gemma").returncode == 0
    assert {m.id for m in ModelCatalogue().list()} == {installed_model.stem}
    unknown = run_hearth("models", "default", "no-such-model")
    assert unknown.returncode == 2
    assert "no-such-model" in unknown.stderr


@pytest.mark.parametrize("kind", ["not-gguf", "truncated", "unknown-architecture", "missing"])
def test_add_rejects_bad_files_clearly(kind: str, installed_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / f"{kind}.gguf"
    expected_reason = {
        "not-gguf": "not a GGUF model",
        "truncated": "truncated",
        "unknown-architecture": "unknown model architecture",
        "missing": "no such file",
    }[kind]
    if kind == "not-gguf":
        bad.write_bytes(os.urandom(4096))
    elif kind == "truncated":
        truncated_copy(installed_model, bad)
    elif kind == "unknown-architecture":
        copy_with_string_field(installed_model, bad, "general.architecture", "zzzzz9")
    catalogue_before = sorted(p.name for p in installed_model.parent.iterdir())
    result = run_hearth("models", "add", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert str(bad) in lines[0]
    assert expected_reason in lines[0]
    assert sorted(p.name for p in installed_model.parent.iterdir()) == catalogue_before
