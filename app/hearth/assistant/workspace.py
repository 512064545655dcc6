"""Workspace: the core services one Hearth window (or CLI session) works with.

Everything is created on first use, so opening the window costs nothing heavy: the
engine host starts when a model is first needed, the embedder and chromadb when the
index is first searched or written, and even the settings file and the conversation
database (JSON, sqlite3) when first read, just after the window's first paint.

Settings are resolved here, over the environment: the index's (chroma_url), the model
server's (engine_url, its key) and the GPU choice (gpu_choice). Nothing below the
assistant reads the environment or the settings file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from hearth.jobs import ProgressCallback
from hearth.paths import HearthPaths, hearth_paths

if TYPE_CHECKING:
    from hearth.assistant.cache import AssistantCache
    from hearth.assistant.conversations import ConversationStore
    from hearth.assistant.summarize import DocumentSummarizer
    from hearth.engine.protocol import Engine
    from hearth.index.document_index import DocumentIndex, IndexSettings
    from hearth.index.embedder import Embedder
    from hearth.models.catalogue import MemoryBudget, ModelCatalogue, ModelInfo
    from hearth.settings import Settings
    from hearth.tools.registry import ToolRegistry

CHROMA_URL_VARIABLE = "HEARTH_CHROMA_URL"
ENGINE_URL_VARIABLE = "HEARTH_ENGINE_URL"
GPU_VARIABLE = "HEARTH_GPU"


def chroma_url(settings: Settings, given: str | None = None) -> str:
    """The chromadb server for the index's vectors: ``given`` (--chroma-url), else
    $HEARTH_CHROMA_URL, else the setting; "" keeps them in the index folder."""
    import os

    from hearth.settings import InvalidSetting, chroma_url_problem

    if given is not None:
        url, source = given.strip(), "--chroma-url"
    else:
        url, source = os.environ.get(CHROMA_URL_VARIABLE, "").strip(), CHROMA_URL_VARIABLE
    if not url:
        url, source = settings.chroma_url.strip(), "settings"
    problem = chroma_url_problem(url)
    if problem:
        raise InvalidSetting(f"{problem} ({source})")
    return url


def engine_url(settings: Settings) -> str:
    """The model server's base URL: $HEARTH_ENGINE_URL (hearth --engine-url), else the
    setting; "" for none (Hearth's own engine host)."""
    import os

    from hearth.engine.errors import ModelLoadError
    from hearth.settings import engine_url_problem

    from_environment = os.environ.get(ENGINE_URL_VARIABLE, "").strip()
    url = from_environment or settings.engine_url.strip()
    problem = engine_url_problem(url)
    if problem:
        source = ENGINE_URL_VARIABLE if from_environment else "settings"
        raise ModelLoadError(f"{problem} ({source})")
    return url


def engine_api_key() -> str:
    """The key a model server is sent: $HEARTH_ENGINE_API_KEY; "" for none."""
    import os

    from hearth.engine.remote import API_KEY_VARIABLE

    return os.environ.get(API_KEY_VARIABLE, "")


def gpu_choice(settings: Settings) -> str:
    """ "auto", "off" or a number of layers: $HEARTH_GPU (hearth --gpu), else the setting."""
    import os

    from hearth.engine.gpu import InvalidGpuChoice
    from hearth.settings import gpu_choice_problem

    from_environment = os.environ.get(GPU_VARIABLE, "").strip().lower()
    choice = from_environment or settings.gpu
    problem = gpu_choice_problem(choice)
    if problem:
        raise InvalidGpuChoice(f"{problem} ({GPU_VARIABLE if from_environment else 'settings'})")
    return "off" if choice == "0" else choice


class Workspace:
    def __init__(
        self,
        paths: HearthPaths | None = None,
        embedder: Embedder | None = None,
        engine_factory: Callable[[], Engine] | None = None,
        chroma_url: str | None = None,
    ) -> None:
        """``engine_factory`` makes the engine models run in (default: Hearth's own engine
        host, EngineClient); a scripted engine in fast tests, a remote server elsewhere.
        ``chroma_url``: the index's chromadb server, over $HEARTH_CHROMA_URL and the
        setting (the CLI's --chroma-url)."""
        self.paths = paths or hearth_paths()
        self._embedder = embedder
        self._engine_factory = engine_factory
        self._chroma_url = chroma_url
        self._settings: Settings | None = None
        self._catalogue: ModelCatalogue | None = None
        self._conversations: ConversationStore | None = None
        self._index: DocumentIndex | None = None
        self._engine: Engine | None = None
        # Reentrant: a service created on first use may ask for the settings.
        self._lock = threading.RLock()
        self._load_lock = threading.RLock()  # one model load at a time
        self.active_model: ModelInfo | None = None
        self._tools: ToolRegistry | None = None
        self._cache: AssistantCache | None = None

    @property
    def settings(self) -> Settings:
        with self._lock:
            if self._settings is None:
                from hearth.settings import load_settings

                self._settings = load_settings()
            return self._settings

    @property
    def conversations(self) -> ConversationStore:
        with self._lock:
            if self._conversations is None:
                from hearth.assistant.conversations import ConversationStore

                self._conversations = ConversationStore(self.paths.conversations_db)
            return self._conversations

    @property
    def cache(self) -> AssistantCache:
        """Partial summaries and suggested questions, kept by the assistant."""
        with self._lock:
            if self._cache is None:
                from hearth.assistant.cache import AssistantCache

                self._cache = AssistantCache(self.paths.data / "assistant-cache.sqlite3")
            return self._cache

    @property
    def catalogue(self) -> ModelCatalogue:
        # Reading GGUF headers and estimating RAM is not needed for the first window.
        with self._lock:
            if self._catalogue is None:
                from hearth.engine.probe import probe_model_file
                from hearth.models.catalogue import ModelCatalogue

                self._catalogue = ModelCatalogue(self.paths, probe_model_file)
            return self._catalogue

    def memory_budget(self) -> MemoryBudget:
        """What a model may take now: the available RAM, plus the VRAM of the GPU the
        engine host would use with the GPU setting as it is."""
        from hearth.engine.gpu import InvalidGpuChoice, usable_vram
        from hearth.models.catalogue import MemoryBudget
        from hearth.models.ram import available_memory_bytes

        try:
            vram = usable_vram(gpu_choice(self.settings))
        except InvalidGpuChoice:  # the load says why; until then the RAM alone counts
            vram = 0
        return MemoryBudget(available_memory_bytes(), vram)

    def ensure_default_model(self, progress: ProgressCallback | None = None) -> ModelInfo:
        """The default model, setting up the bundled models first on a first start."""
        from hearth.models.bundled import ensure_bundled_models

        ensure_bundled_models(self.catalogue, progress)
        return self.catalogue.default()

    @property
    def index(self) -> DocumentIndex:
        with self._lock:
            if self._index is None:
                self._index = self.open_index()
            return self._index

    def index_settings(self) -> IndexSettings:
        """What the index takes from the settings, as they are now."""
        from hearth.index.document_index import IndexSettings

        settings = self.settings
        return IndexSettings(chroma_url(settings, self._chroma_url), settings.max_file_mb)

    def open_index(self, embedder: Embedder | None = None) -> DocumentIndex:
        """A DocumentIndex of its own on this workspace's index, for work beside the shared
        ``index`` (an indexing batch, the API's lookups); the caller closes it."""
        from hearth.index.document_index import DocumentIndex

        return DocumentIndex(self.paths.index, embedder or self._embedder, self.index_settings())

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._make_engine()
            return self._engine

    def _make_engine(self) -> Engine:
        from hearth.engine.factory import engine_factory

        # Without a factory of its own: a model server where one is configured (as set now).
        factory = self._engine_factory
        if factory is None:
            url = engine_url(self.settings)
            factory = engine_factory(url, engine_api_key() if url else "")
        if factory is not None:
            return factory()
        from hearth.engine.client import EngineClient

        return EngineClient()

    def load_model(self, model: ModelInfo) -> None:
        """Load ``model`` in a second engine while the current one keeps answering; swap
        when it is ready. If the load fails, the current model stays."""
        with self._load_lock:
            self._load_and_swap(self._make_engine(), model)

    def _load_and_swap(self, incoming: Engine, model: ModelInfo) -> None:
        try:
            incoming.load(
                model.path, self.settings.n_ctx, self.settings.n_threads, gpu_choice(self.settings)
            )
        except BaseException:
            incoming.close()
            raise
        with self._lock:
            outgoing, self._engine = self._engine, incoming
            self.active_model = model
        if outgoing is not None:
            outgoing.close()

    def ensure_model_loaded(self, progress: ProgressCallback | None = None) -> ModelInfo:
        """The active model, loading the default one first if nothing is loaded yet."""
        with self._load_lock:
            if self.active_model is None:
                self.load_model(self.ensure_default_model(progress))
            assert self.active_model is not None
            return self.active_model

    @property
    def tools(self) -> ToolRegistry:
        from hearth.tools.builtin import builtin_registry

        if self._tools is None:
            self._tools = builtin_registry()
        return self._tools

    def summarizer(self) -> DocumentSummarizer:
        from hearth.assistant.summarize import DocumentSummarizer

        model = self.ensure_model_loaded()
        return DocumentSummarizer(self.index, self.engine, model.id, self.cache)

    def save_settings(self, settings: Settings) -> None:
        from hearth.settings import save_settings

        save_settings(settings)
        with self._lock:
            self._settings = settings

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
            if self._index is not None:
                self._index.close()
                self._index = None
            if self._conversations is not None:
                self._conversations.close()
                self._conversations = None
            if self._cache is not None:
                self._cache.close()
                self._cache = None
