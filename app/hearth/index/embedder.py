"""Sentence embeddings with the bundled all-MiniLM-L6-v2, loaded from its package, offline.

Loading torch and sentence-transformers takes seconds, so the model is created on first
use, never at import time (the GUI must open before any of this is touched).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from hearth.offline import enforce_offline

log = logging.getLogger(__name__)

EMBEDDING_DIMENSIONS = 384
BATCH_SIZE = 32

Vectors = npt.NDArray[np.float32]


class Embedder:
    """Unit-length float32 embeddings; thread-safe, lazily loaded."""

    def __init__(self, threads: int | None = None) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._threads = threads

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                enforce_offline()
                import torch
                from sentence_transformers import SentenceTransformer

                from hearth.models.bundled import embedder_path

                if self._threads:
                    torch.set_num_threads(self._threads)
                self._model = SentenceTransformer(str(embedder_path()), device="cpu")
                log.info("embedder loaded from %s", embedder_path())
            return self._model

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
        model = self._load()
        if len(texts) <= BATCH_SIZE:  # one batch (a query): nothing to group
            return self._encode(model, texts)
        # Batches of texts with the same number of word pieces. A batch is padded to its
        # longest text, and sentence-transformers groups texts by characters: passages of
        # 320-480 characters are 80-170 word pieces, so a third of the work was padding.
        word_pieces = model.tokenizer(
            texts, truncation=True, max_length=model.max_seq_length, return_length=True
        )["length"]
        order = sorted(range(len(texts)), key=word_pieces.__getitem__, reverse=True)
        vectors = np.empty((len(texts), EMBEDDING_DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            vectors[batch] = self._encode(model, [texts[i] for i in batch])
        return vectors

    @staticmethod
    def _encode(model: Any, texts: list[str]) -> Vectors:
        vectors = model.encode(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_one(self, text: str) -> Vectors:
        vectors: Vectors = self.embed([text])[0]
        return vectors
