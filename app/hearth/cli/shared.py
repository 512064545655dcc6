"""What the commands share: the one-line CommandError, JSON output, and opening the model
catalogue, the workspace (with its model loaded) and the document index."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from hearth.errors import HearthError
from hearth.models.catalogue import ModelCatalogue, ModelError, ModelInfo
from hearth.terminal import TerminalProgress

if TYPE_CHECKING:
    from hearth.assistant.workspace import Workspace
    from hearth.index.document_index import DocumentIndex

EXIT_USAGE = 2


class CommandError(HearthError):
    """A failure to report in one line and exit with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def open_catalogue() -> ModelCatalogue:
    from hearth.engine.probe import probe_model_file
    from hearth.models.bundled import ensure_bundled_models

    catalogue = ModelCatalogue(probe=probe_model_file)
    ensure_bundled_models(catalogue, TerminalProgress())
    return catalogue


def resolve_model(model_id: str | None) -> ModelInfo:
    try:
        return open_catalogue().resolve(model_id)
    except ModelError as error:
        raise CommandError(str(error), EXIT_USAGE) from error


def open_workspace(model_id: str | None, chroma_url: str | None = None) -> Workspace:
    """A Workspace with the requested (or default) model loaded."""
    from hearth.assistant.workspace import Workspace

    model = resolve_model(model_id)
    workspace = Workspace(chroma_url=chroma_url)
    try:
        workspace.load_model(model)
    except BaseException:
        workspace.close()
        raise
    return workspace


def open_index(args: argparse.Namespace) -> DocumentIndex:
    from hearth.assistant.workspace import Workspace

    return Workspace(chroma_url=args.chroma_url).open_index()
