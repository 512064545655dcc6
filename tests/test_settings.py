from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import hearth
from hearth.paths import hearth_paths
from hearth.settings import InvalidSetting, Settings, load_settings, save_settings


def test_settings_round_trip_and_validation(hearth_home: Path) -> None:
    settings = Settings(n_threads=3, temperature=0.7, tools_enabled=False)
    save_settings(settings)
    assert load_settings() == settings
    with pytest.raises(InvalidSetting, match="temperature"):
        save_settings(Settings(temperature=5.0))
    assert load_settings() == settings  # a refused save changes nothing


def test_wrong_types_and_damaged_files_fall_back_to_defaults(hearth_home: Path) -> None:
    path = hearth_paths().settings_file
    path.write_text(json.dumps({"n_threads": True, "temperature": 1, "tools_enabled": 1}))
    loaded = load_settings()
    assert loaded.n_threads == Settings().n_threads  # true is not a thread count
    assert loaded.temperature == 1.0  # an integer where a float is expected is fine
    assert loaded.tools_enabled is True  # 1 is not a boolean; the default stays
    path.write_text("{ not json")
    assert load_settings() == Settings()


def test_one_value_out_of_range_resets_only_itself(hearth_home: Path) -> None:
    path = hearth_paths().settings_file
    path.write_text(json.dumps({"temperature": 0.7, "n_ctx": 10, "sources_per_answer": 4}))
    loaded = load_settings()
    assert loaded.n_ctx == Settings().n_ctx
    assert loaded.temperature == 0.7
    assert loaded.sources_per_answer == 4


@pytest.mark.parametrize("package", ["index", "engine"])
def test_below_the_assistant_nothing_reads_the_environment_or_the_settings_file(
    package: str,
) -> None:
    """Settings come in from the Workspace (hearth.assistant.workspace), which resolves
    them over the environment and the command line."""
    readers = {"environ", "getenv", "load_settings", "settings_path"}
    found = []
    for module in sorted((Path(hearth.__file__).parent / package).rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text("utf-8"))):
            name = (
                node.attr
                if isinstance(node, ast.Attribute)
                else node.id
                if isinstance(node, ast.Name)
                else None
            )
            names = [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []
            found += [f"{module.name}: {n}" for n in [name, *names] if n in readers]
    assert found == []
