from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hearth.models.bundled import (
    GEMMA_270M,
    QWEN_05B,
    QWEN_15B,
    SET_UP_AT_FIRST_START,
    BundledModelError,
    assemble,
    ensure_bundled_models,
    recommended_model,
)
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
    "bundled",
    "recommended",
    "licence",
    "trade_off",
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


def test_first_start_sets_up_both_instruction_models_and_picks_the_default(
    hearth_home: Path,
) -> None:
    catalogue = ModelCatalogue()
    ensure_bundled_models(catalogue)
    models = {model.id: model for model in catalogue.list()}
    assert set(models) == {QWEN_05B.id, QWEN_15B.id}
    for model in (QWEN_05B, QWEN_15B):
        assert models[model.id].path.stat().st_size == model.size_bytes
        assert models[model.id].has_chat_template
    # This test machine's rule decides; the picker and the CLI mark the same model.
    assert catalogue.default().id == recommended_model().id
    assert catalogue.default_chosen_by_user() is False
    assert not list(catalogue.folder.glob("*.partial"))
    # A second start changes nothing; a model the user removes is not set up again.
    before = models[QWEN_05B.id].path.stat().st_mtime_ns
    catalogue.remove(QWEN_15B.id)
    ensure_bundled_models(catalogue)
    assert models[QWEN_05B.id].path.stat().st_mtime_ns == before
    assert {model.id for model in catalogue.list()} == {QWEN_05B.id}


def test_the_default_fits_the_computer() -> None:
    gb = 1024**3
    # Right answers first (bench_docqa): the 1.5B wherever its memory fits, 2 cores too.
    assert recommended_model(cores=2, ram_bytes=24 * gb) is QWEN_15B
    assert recommended_model(cores=1, ram_bytes=24 * gb) is QWEN_05B
    assert recommended_model(cores=8, ram_bytes=4 * gb) is QWEN_05B
    assert recommended_model(cores=4, ram_bytes=8 * gb) is QWEN_15B


def test_the_users_default_is_kept_and_an_old_automatic_one_is_replaced(
    qwen05_model: Path, gemma_file: Path
) -> None:
    catalogue = ModelCatalogue()
    gemma = catalogue.add(gemma_file)
    catalogue.set_default(gemma.id)  # the user's choice
    ensure_bundled_models(catalogue)
    assert catalogue.default().id == GEMMA_270M.id
    # A models.json from before the choice was recorded: Gemma was the automatic default.
    catalogue.paths.catalogue_file.write_text(json.dumps({"default": GEMMA_270M.id}), "utf-8")
    for model in SET_UP_AT_FIRST_START:
        catalogue.mark_set_up(model.id)
    ensure_bundled_models(catalogue)
    assert catalogue.default().id == QWEN_05B.id


def test_a_checksum_mismatch_is_refused_in_one_line(hearth_home: Path) -> None:
    catalogue = ModelCatalogue()
    tampered = dataclasses.replace(GEMMA_270M, sha256="0" * 64)
    with pytest.raises(BundledModelError) as refused:
        assemble(tampered, catalogue.folder)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"{GEMMA_270M.filename}: its parts do not match the checksum")
    assert list(catalogue.folder.iterdir()) == []  # no partial file, no model


def test_models_add_sets_up_a_bundled_model_by_id(qwen05_model: Path) -> None:
    result = run_hearth("models", "add", GEMMA_270M.id)
    assert result.returncode == 0, result.stderr
    assert {m.id for m in ModelCatalogue().list()} == {QWEN_05B.id, GEMMA_270M.id}
    listing = run_hearth("models", "list")
    assert "recommended" in listing.stdout


def test_models_list_json_contract(gemma_model: Path) -> None:
    result = run_hearth("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    [entry] = json.loads(result.stdout)
    assert set(entry) == LIST_KEYS
    assert entry["is_default"] is True
    assert entry["quantization"] == "Q4_K_M"
    assert entry["has_chat_template"] is False
    assert entry["estimated_ram_bytes"] > entry["file_size_bytes"]


def test_add_default_remove(gemma_model: Path, tmp_path: Path) -> None:
    second = copy_with_string_field(
        gemma_model, tmp_path / "renamed-gemma.gguf", "general.name", "Renamed Gemma test"
    )
    added = run_hearth("models", "add", str(second))
    assert added.returncode == 0, added.stderr
    ids = {m.id for m in ModelCatalogue().list()}
    assert ids == {gemma_model.stem, "renamed-gemma"}
    assert run_hearth("models", "default", "renamed-gemma").returncode == 0
    assert ModelCatalogue().default().id == "renamed-gemma"
    assert run_hearth("models", "remove", "renamed-gemma").returncode == 0
    assert {m.id for m in ModelCatalogue().list()} == {gemma_model.stem}
    unknown = run_hearth("models", "default", "no-such-model")
    assert unknown.returncode == 2
    assert "no-such-model" in unknown.stderr


@pytest.mark.parametrize("kind", ["not-gguf", "truncated", "unknown-architecture", "missing"])
def test_add_rejects_bad_files_clearly(kind: str, gemma_model: Path, tmp_path: Path) -> None:
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
        truncated_copy(gemma_model, bad)
    elif kind == "unknown-architecture":
        copy_with_string_field(gemma_model, bad, "general.architecture", "zzzzz9")
    catalogue_before = sorted(p.name for p in gemma_model.parent.iterdir())
    result = run_hearth("models", "add", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert str(bad) in lines[0]
    assert expected_reason in lines[0]
    assert sorted(p.name for p in gemma_model.parent.iterdir()) == catalogue_before
