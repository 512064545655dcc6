"""Typed user settings, persisted as JSON in the config folder."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hearth.errors import HearthError
from hearth.paths import hearth_paths

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are Hearth, a helpful assistant running privately on the user's computer. "
    "Answer clearly and briefly."
)


THEMES = ("system", "light", "dark")
TEXT_SIZE_RANGE = (80, 200)  # percent
# An answer's length limit at most (settings, `hearth ask --max-tokens`, the API's max_tokens).
MAX_ANSWER_TOKENS = 8192


class InvalidSetting(HearthError, ValueError):
    """A settings value outside what Hearth accepts."""


def _http_url_problem(what: str, url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{what} {url!r} is not an http:// or https:// address"
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return f"{what} {url!r} has a port that is not a number"
    return None


def engine_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a model server's base URL; None when it can (or is empty)."""
    if not url:
        return None
    problem = _http_url_problem("the engine URL", url)
    if problem is None and not urlsplit(url).path.rstrip("/").endswith("/v1"):
        problem = f"the engine URL {url!r} must end in /v1 (an OpenAI-compatible base URL)"
    return problem


def chroma_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a chromadb server's address; None when it can (or is empty)."""
    if not url:
        return None
    problem = _http_url_problem("the chroma URL", url)
    if problem is None and urlsplit(url).path.strip("/"):
        problem = f"the chroma URL {url!r} must be a server address only (http://host:port)"
    return problem


def gpu_choice_problem(choice: str) -> str | None:
    """Why ``choice`` is not a GPU choice ("auto", "off" or a number of layers); None when
    it is."""
    if choice in ("auto", "off") or (choice.isdigit() and int(choice) <= 1000):
        return None
    return f"the GPU choice {choice!r} must be auto, off or a number of layers (0-1000)"


def hf_endpoint_problem(url: str) -> str | None:
    """Why ``url`` cannot be a Hugging Face endpoint; None when it can (or is empty)."""
    return _http_url_problem("the Hugging Face endpoint", url) if url else None


@dataclass
class Settings:
    n_threads: int = max(1, min(8, os.cpu_count() or 1))
    n_ctx: int = 4096
    # "auto": as many layers on a Vulkan GPU as fit in its free memory; "off"; or a number
    # of layers (hearth.engine.gpu). $HEARTH_GPU (hearth --gpu) overrides it.
    gpu: str = "auto"
    temperature: float = 0.2
    top_p: float = 0.9
    max_answer_tokens: int = 384
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    sources_per_answer: int = 6
    tools_enabled: bool = True
    # Before searching, the model reads the question (names, keywords, the parts of a
    # two-event question). Off by default: with the 0.5B model it found no more evidence
    # on LiHua-World (R@5, Multi R@5 unchanged) and cost about 2 s per answer.
    query_step: bool = False
    # Files larger than this are skipped when indexing, with the reason; each format also
    # has its own ceiling (hearth.documents.loaders.LOADERS), which this cannot raise.
    max_file_mb: int = 500
    # Folders added to the library: watched while Hearth runs, reconciled at start-up.
    watched_folders: list[str] = field(default_factory=list)
    # An OpenAI-compatible model server to generate with instead of Hearth's own engine
    # host (a base URL ending in /v1); HEARTH_ENGINE_URL overrides it.
    engine_url: str = ""
    # A chromadb server for the index's vectors instead of the local folder
    # (http://host:port); HEARTH_CHROMA_URL overrides it.
    chroma_url: str = ""
    # Where "Get models" finds models: a Hugging Face mirror (https://host); HF_ENDPOINT
    # overrides it; "" is huggingface.co.
    hf_endpoint: str = ""

    # The window's look: "system" follows the desktop's light or dark scheme; "light" or
    # "dark" override it. Text size in percent of the desktop's own.
    theme: str = "system"
    text_size: int = 100

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for every value outside what Hearth accepts."""
        checks: list[tuple[str, bool, str]] = [
            ("n_threads", 1 <= self.n_threads <= 256, "threads must be between 1 and 256"),
            (
                "n_ctx",
                256 <= self.n_ctx <= 262144,
                "context size must be between 256 and 262144",
            ),
            ("temperature", 0.0 <= self.temperature <= 2.0, "temperature must be between 0 and 2"),
            ("top_p", 0.0 < self.top_p <= 1.0, "top-p must be above 0 and at most 1"),
            (
                "max_answer_tokens",
                16 <= self.max_answer_tokens <= MAX_ANSWER_TOKENS,
                f"answer tokens must be between 16 and {MAX_ANSWER_TOKENS}",
            ),
            (
                "sources_per_answer",
                1 <= self.sources_per_answer <= 20,
                "sources per answer must be between 1 and 20",
            ),
            (
                "system_prompt",
                len(self.system_prompt) <= 4000,
                "system prompt must be at most 4000 characters",
            ),
            (
                "max_file_mb",
                1 <= self.max_file_mb <= 100_000,
                "file size limit must be between 1 and 100000 MB",
            ),
            ("theme", self.theme in THEMES, f"theme must be one of {', '.join(THEMES)}"),
            (
                "text_size",
                TEXT_SIZE_RANGE[0] <= self.text_size <= TEXT_SIZE_RANGE[1],
                f"text size must be between {TEXT_SIZE_RANGE[0]} and {TEXT_SIZE_RANGE[1]}%",
            ),
        ]
        for name, problem in (
            ("engine_url", engine_url_problem(self.engine_url)),
            ("chroma_url", chroma_url_problem(self.chroma_url)),
            ("hf_endpoint", hf_endpoint_problem(self.hf_endpoint)),
            ("gpu", gpu_choice_problem(self.gpu)),
        ):
            checks.append((name, problem is None, problem or ""))
        checks.append(
            (
                "watched_folders",
                all(isinstance(folder, str) for folder in self.watched_folders),
                "watched folders must be paths",
            )
        )
        return [(name, message) for name, ok, message in checks if not ok]

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise InvalidSetting(problems[0][1])

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Settings:
        """Settings from a settings file: unknown names, wrong types and values out of range
        fall back to their defaults one by one; every other value is kept."""
        defaults = cls()
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name not in known:
                continue
            expected = type(getattr(defaults, name))
            if expected is float and type(value) is int:
                value = float(value)
            # Exact types: JSON true must not pass as the integer 1 (bool subclasses int).
            if type(value) is expected:
                values[name] = value
        settings = cls(**values)
        for name, message in settings.problems():
            log.warning("settings file: %s (%s); using the default for it", message, name)
            setattr(settings, name, getattr(defaults, name))
        return settings


def settings_path() -> Path:
    return hearth_paths().settings_file


def load_settings() -> Settings:
    path = settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as error:
        log.warning("could not read %s (%s); using defaults", path, error)
        return Settings()
    return Settings.from_dict(raw if isinstance(raw, dict) else {})


def save_settings(settings: Settings) -> None:
    settings.validate()
    path = settings_path()
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    os.replace(temporary, path)
