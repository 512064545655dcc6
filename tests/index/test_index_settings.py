"""The index's settings come in from the Workspace, as the engine's do: --chroma-url over
$HEARTH_CHROMA_URL over the setting, the size limit from Settings; nothing in hearth.index
reads the settings file or the environment itself (tests/test_settings.py checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.assistant.workspace import Workspace, chroma_url
from hearth.index.document_index import IndexSettings
from hearth.settings import InvalidSetting, Settings, save_settings

SERVER = "http://127.0.0.1:8123"
OTHER = "http://10.0.0.7:8000"


def test_the_flag_beats_the_environment_which_beats_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(chroma_url=OTHER)
    monkeypatch.delenv("HEARTH_CHROMA_URL", raising=False)
    assert chroma_url(settings) == OTHER
    assert chroma_url(Settings()) == ""
    monkeypatch.setenv("HEARTH_CHROMA_URL", f" {SERVER} ")
    assert chroma_url(settings) == SERVER
    assert chroma_url(settings, "http://127.0.0.1:9000") == "http://127.0.0.1:9000"
    # An empty --chroma-url leaves the setting, as it always did (it emptied the variable).
    assert chroma_url(settings, "") == OTHER


@pytest.mark.parametrize(
    ("variable", "given", "setting", "source"),
    [
        ("http://127.0.0.1:8000/db", None, "", "HEARTH_CHROMA_URL"),
        ("", None, "ftp://127.0.0.1", "settings"),
        ("", "127.0.0.1:8000", "", "--chroma-url"),
    ],
)
def test_a_bad_chroma_url_names_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch, variable: str, given: str | None, setting: str, source: str
) -> None:
    monkeypatch.setenv("HEARTH_CHROMA_URL", variable)
    settings = Settings()
    settings.chroma_url = setting  # as a hand-edited file would hold it before validation
    with pytest.raises(InvalidSetting, match=rf"^the chroma URL .* \({source}\)$"):
        chroma_url(settings, given)


def test_the_workspace_gives_the_index_its_settings_as_they_are_now(
    hearth_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEARTH_CHROMA_URL", raising=False)
    save_settings(Settings(max_file_mb=3, chroma_url=OTHER))
    with Workspace() as workspace:
        assert workspace.index_settings() == IndexSettings(chroma_url=OTHER, max_file_mb=3)
        workspace.save_settings(Settings(max_file_mb=7))
        assert workspace.index_settings() == IndexSettings(chroma_url="", max_file_mb=7)
    with Workspace(chroma_url=SERVER) as workspace:
        assert workspace.index_settings().chroma_url == SERVER
