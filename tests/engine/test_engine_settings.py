"""The engine's settings come in from the Workspace, as the index's do: the model server's
URL is $HEARTH_ENGINE_URL (hearth --engine-url) over the setting, its key
$HEARTH_ENGINE_API_KEY; engine/factory.py makes the engine from what it is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.assistant.workspace import Workspace, engine_url
from hearth.engine.errors import ModelLoadError
from hearth.engine.factory import engine_factory
from hearth.engine.remote import RemoteEngine
from hearth.settings import Settings, save_settings

SERVER = "http://127.0.0.1:8080/v1"
OTHER = "http://10.0.0.7:8000/v1"


def test_the_environment_beats_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEARTH_ENGINE_URL", raising=False)
    assert engine_url(Settings()) == ""
    assert engine_url(Settings(engine_url=f" {OTHER} ")) == OTHER
    monkeypatch.setenv("HEARTH_ENGINE_URL", f" {SERVER} ")
    assert engine_url(Settings(engine_url=OTHER)) == SERVER


@pytest.mark.parametrize(
    ("variable", "setting", "source"),
    [("http://127.0.0.1:8080", "", "HEARTH_ENGINE_URL"), ("", "ftp://127.0.0.1/v1", "settings")],
)
def test_a_bad_engine_url_names_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch, variable: str, setting: str, source: str
) -> None:
    monkeypatch.setenv("HEARTH_ENGINE_URL", variable)
    settings = Settings()
    settings.engine_url = setting  # as a hand-edited file would hold it before validation
    with pytest.raises(ModelLoadError, match=rf"^the engine URL .* \({source}\)$"):
        engine_url(settings)


def test_the_factory_makes_what_it_is_given() -> None:
    assert engine_factory("") is None
    factory = engine_factory(SERVER, "secret")
    assert factory is not None
    engine = factory()
    try:
        assert isinstance(engine, RemoteEngine)
        assert engine.base_url == SERVER
        assert engine._http.headers["Authorization"] == "Bearer secret"
    finally:
        engine.close()
    keyless = RemoteEngine(SERVER)
    try:
        assert "Authorization" not in keyless._http.headers
    finally:
        keyless.close()


def test_the_workspace_hands_the_engine_its_url_and_key_as_they_are_now(
    hearth_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEARTH_ENGINE_URL", raising=False)
    monkeypatch.setenv("HEARTH_ENGINE_API_KEY", "from-the-environment")
    save_settings(Settings(engine_url=OTHER))
    with Workspace() as workspace:
        engine = workspace.engine
        assert isinstance(engine, RemoteEngine)
        assert engine.base_url == OTHER
        assert engine._http.headers["Authorization"] == "Bearer from-the-environment"
    monkeypatch.setenv("HEARTH_ENGINE_URL", SERVER)
    with Workspace() as workspace:
        engine = workspace.engine
        assert isinstance(engine, RemoteEngine)
        assert engine.base_url == SERVER
