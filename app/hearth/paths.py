"""Where Hearth keeps its data, configuration, cache, models and logs.

By default the platform's conventional folders (platformdirs). When ``HEARTH_HOME`` is
set, everything lives under that one folder instead: tests set it to a temporary
directory, and a portable install can point it at a USB stick.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Hearth"
HOME_ENV = "HEARTH_HOME"


@dataclass(frozen=True)
class HearthPaths:
    data: Path
    config: Path
    cache: Path

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def index(self) -> Path:
        return self.data / "index"

    @property
    def logs(self) -> Path:
        return self.data / "logs"

    @property
    def conversations_db(self) -> Path:
        return self.data / "conversations.sqlite3"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def catalogue_file(self) -> Path:
        return self.config / "models.json"

    def ensure(self) -> HearthPaths:
        for folder in (self.data, self.config, self.cache, self.models, self.index, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def hearth_paths() -> HearthPaths:
    """The folders for this process, created on first use."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        paths = HearthPaths(data=root / "data", config=root / "config", cache=root / "cache")
    else:
        paths = HearthPaths(
            data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        )
    return paths.ensure()


def resource_file(relative: str) -> Path:
    """A file shipped from the repository's resources/ folder (stylesheet, icons).

    Installed from a wheel or frozen by PyInstaller it sits in the package (hearth/resources/);
    in an editable install it is still at the repository's top level. A plain path lookup, not
    importlib.resources: it is on the way to the first window and works the same when frozen.
    """
    package_dir = Path(__file__).resolve().parent
    for folder in (package_dir / "resources", package_dir.parents[1] / "resources"):
        candidate = folder / relative
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{relative}: not found in Hearth's resources")
