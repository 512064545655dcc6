from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_lists_every_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT / "app").parts)
        for init in (ROOT / "app" / "hearth").rglob("__init__.py")
    }
    assert on_disk | {"hearth.resources"} == listed


def test_resources_ship_as_a_package() -> None:
    stylesheet = resources.files("hearth.resources").joinpath("hearth.qss").read_text("utf-8")
    assert "sourceChip" in stylesheet


def test_the_app_finds_its_stylesheet_and_icons() -> None:
    from hearth.paths import resource_file

    assert resource_file("hearth.qss").read_text("utf-8") == (
        ROOT / "resources" / "hearth.qss"
    ).read_text("utf-8")
    assert resource_file("icons/hearth-256.png").stat().st_size > 0
