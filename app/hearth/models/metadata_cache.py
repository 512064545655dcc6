"""Parsed GGUF metadata kept per file (path, size, modification time) in the cache folder.

Listing models happens at every start of the window; reading a header means walking a
vocabulary of up to a quarter of a million strings. The cache makes a listing a JSON
read; any change to a file (size or mtime) makes it parse again.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from hearth.models.gguf_metadata import GGUFMetadata, read_gguf_metadata

log = logging.getLogger(__name__)


class MetadataCache:
    def __init__(self, file: Path) -> None:
        self.file = file
        self._entries: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                raw = json.loads(self.file.read_text(encoding="utf-8"))
                self._entries = raw if isinstance(raw, dict) else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    def _save(self) -> None:
        temporary = self.file.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(self._load()), encoding="utf-8")
            os.replace(temporary, self.file)
        except OSError as error:  # a cache that cannot be written only costs time
            log.warning("could not write %s: %s", self.file, error)

    def read(self, path: Path) -> GGUFMetadata:
        """Metadata of ``path``, from the cache when the file is unchanged.
        Raises GGUFFormatError like read_gguf_metadata."""
        stat = path.stat()
        entries = self._load()
        key = str(path)
        entry = entries.get(key)
        if (
            entry
            and entry.get("size") == stat.st_size
            and entry.get("mtime_ns") == stat.st_mtime_ns
        ):
            try:
                return GGUFMetadata.from_json(path, entry["metadata"])
            except (KeyError, TypeError, ValueError):
                pass  # an old or damaged entry: parse again
        metadata = read_gguf_metadata(path)
        entries[key] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "metadata": metadata.to_json(),
        }
        self._save()
        return metadata

    def forget(self, path: Path) -> None:
        if self._load().pop(str(path), None) is not None:
            self._save()
