"""Which engine generates: Hearth's own engine host, or a model server named by URL.

The one place that decides: the Workspace asks it when no engine factory is passed, so
the window, the CLI and ``hearth serve`` all follow the same setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from hearth.engine.errors import ModelLoadError
from hearth.settings import Settings, engine_url_problem

if TYPE_CHECKING:
    from hearth.engine.protocol import Engine

ENGINE_URL_VARIABLE = "HEARTH_ENGINE_URL"


def engine_url(settings: Settings) -> str:
    """The model server's base URL: $HEARTH_ENGINE_URL, else the setting; "" for none."""
    url = os.environ.get(ENGINE_URL_VARIABLE, "").strip() or settings.engine_url.strip()
    problem = engine_url_problem(url)
    if problem:
        source = ENGINE_URL_VARIABLE if os.environ.get(ENGINE_URL_VARIABLE) else "settings"
        raise ModelLoadError(f"{problem} ({source})")
    return url


def engine_factory_from_settings(settings: Settings) -> Callable[[], Engine] | None:
    """A factory of RemoteEngines when a model server is configured; None for the default
    (the engine host, EngineClient)."""
    url = engine_url(settings)
    if not url:
        return None

    def remote_engine() -> Engine:
        from hearth.engine.remote import RemoteEngine

        return RemoteEngine(url)

    return remote_engine
