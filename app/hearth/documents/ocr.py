"""Text from images of pages, offline: RapidOCR (PP-OCRv6 small, ONNX) from its own wheel.

rapidocr 3.x ships its default detection, recognition and orientation models inside the
wheel (rapidocr/models/); given no model path it would check them against a list and fetch
any that are missing, so the engine is always built with the three files named here and
never reaches that code. The recogniser reads Latin script and Chinese.

Results are cached per file content and page in the cache folder: the source viewer needs
each line's box to highlight a passage, and indexing the same scan again (a format change,
a moved file) would otherwise pay for the recognition twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.paths import hearth_paths

log = logging.getLogger(__name__)

OCR_PACKAGE = "rapidocr"
DETECTION_MODEL = "PP-OCRv6_det_small.onnx"
RECOGNITION_MODEL = "PP-OCRv6_rec_small.onnx"
ORIENTATION_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
# Part of every cache key: recognition by other models (or rules below) is not reused.
OCR_CACHE_VERSION = "rapidocr-3.10.0-ppocrv6-small-1"
# Lines recognised with less confidence than this are noise (specks, ruled lines).
MIN_LINE_SCORE = 0.5
# A vertical gap of more than this many line heights starts a new paragraph.
PARAGRAPH_GAP_LINES = 0.9


class OcrUnavailable(Exception):
    """The OCR engine could not be loaded (its package or models are missing)."""


@dataclass(frozen=True)
class OcrLine:
    """One recognised line; the box is in fractions of the image's width and height
    (x0, y0, x1, y1), so it maps onto the page rendered at any size."""

    text: str
    box: tuple[float, float, float, float]
    score: float


@dataclass(frozen=True)
class OcrPage:
    lines: tuple[OcrLine, ...]

    @property
    def text(self) -> str:
        """Lines in reading order; a blank line where the gap says a paragraph ended."""
        parts: list[str] = []
        previous: OcrLine | None = None
        for line in self.lines:
            if previous is not None:
                height = max(previous.box[3] - previous.box[1], 1e-6)
                gap = line.box[1] - previous.box[3]
                parts.append("\n\n" if gap > PARAGRAPH_GAP_LINES * height else "\n")
            parts.append(line.text)
            previous = line
        return "".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"lines": [[line.text, *line.box, line.score] for line in self.lines]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> OcrPage:
        return cls(
            tuple(
                OcrLine(str(text), (float(x0), float(y0), float(x1), float(y1)), float(score))
                for text, x0, y0, x1, y1, score in raw["lines"]
            )
        )


def model_folder() -> Path:
    import importlib.util

    spec = importlib.util.find_spec(OCR_PACKAGE)
    if spec is None or spec.origin is None:
        raise OcrUnavailable(f"the OCR package ({OCR_PACKAGE}) is not installed")
    return Path(spec.origin).parent / "models"


class OcrEngine:
    """Recognises text in images; loads the models on first use. Thread-safe: one image at
    a time (the ONNX sessions already use every core for one image)."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            folder = model_folder()
            paths = {name: folder / name for name in (DETECTION_MODEL, RECOGNITION_MODEL)}
            missing = [name for name, path in paths.items() if not path.is_file()]
            if missing:
                raise OcrUnavailable(f"the OCR models are missing ({', '.join(missing)})")
            try:
                from rapidocr import RapidOCR
            except ImportError as error:
                raise OcrUnavailable(f"the OCR engine cannot be loaded ({error})") from error
            self._engine = RapidOCR(
                params={
                    "Global.log_level": "error",
                    # Scans and photos of pages are upright; the orientation model would
                    # cost a pass per line to catch text upside down.
                    "Global.use_cls": False,
                    "Det.model_path": str(paths[DETECTION_MODEL]),
                    "Rec.model_path": str(paths[RECOGNITION_MODEL]),
                    "Cls.model_path": str(folder / ORIENTATION_MODEL),
                }
            )
        return self._engine

    def recognise(self, image: Any) -> OcrPage:
        """The text of a PIL image, line by line."""
        width, height = image.size
        with self._lock:
            engine = self._load()
            result = engine(image.convert("RGB"))
        if result.boxes is None or result.txts is None:
            return OcrPage(())
        lines: list[OcrLine] = []
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            if float(score) < MIN_LINE_SCORE or not str(text).strip():
                continue
            xs = [float(point[0]) for point in box]
            ys = [float(point[1]) for point in box]
            lines.append(
                OcrLine(
                    str(text).strip(),
                    (min(xs) / width, min(ys) / height, max(xs) / width, max(ys) / height),
                    round(float(score), 4),
                )
            )
        return OcrPage(tuple(lines))


_engine = OcrEngine()


def ocr_engine() -> OcrEngine:
    return _engine


class OcrCache:
    """Recognised pages of one file, by the file's content, on disk in the cache folder."""

    def __init__(self, path: Path, folder: Path | None = None) -> None:
        self.path = path
        self.folder = folder or hearth_paths().cache / "ocr"
        self._key: str | None = None

    def _file_key(self) -> str:
        if self._key is None:
            digest = hashlib.sha256(OCR_CACHE_VERSION.encode())
            with self.path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            self._key = digest.hexdigest()[:40]
        return self._key

    def _entry(self, page: int) -> Path:
        return self.folder / f"{self._file_key()}-{page}.json"

    def get(self, page: int) -> OcrPage | None:
        try:
            raw = json.loads(self._entry(page).read_text("utf-8"))
            return OcrPage.from_json(raw)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, page: int, result: OcrPage) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            entry = self._entry(page)
            # Written aside and renamed: a reader never sees half an entry.
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(result.to_json(), out)
            os.replace(temporary, entry)
        except OSError as error:  # a full or read-only cache costs time, not correctness
            log.warning("could not cache OCR of %s page %d (%s)", self.path, page, error)

    def recognise(self, page: int, render: Any) -> OcrPage:
        """The cached result for ``page``, or ``render()``'s image recognised and cached."""
        cached = self.get(page)
        if cached is not None:
            return cached
        result = ocr_engine().recognise(render())
        self.put(page, result)
        return result
