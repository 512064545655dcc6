"""Which engine generates: Hearth's own engine host, or a model server named by URL.

The one place that decides: the Workspace asks it when no engine factory is passed, so
the window, the CLI and ``hearth serve`` all follow the same setting. The URL and key come
in resolved (Workspace: --engine-url, $HEARTH_ENGINE_URL, the setting); nothing in
hearth.engine reads the environment or the settings file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hearth.engine.protocol import Engine


def engine_factory(url: str, api_key: str = "") -> Callable[[], Engine] | None:
    """A factory of RemoteEngines for the model server at ``url`` (sending ``api_key``);
    None for "" (the default: the engine host, EngineClient)."""
    if not url:
        return None

    def remote_engine() -> Engine:
        from hearth.engine.remote import RemoteEngine

        return RemoteEngine(url, api_key)

    return remote_engine
