"""Images of pages (PNG, JPEG, TIFF, WebP): read by OCR. A multi-page TIFF has pages."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hearth.documents.document import DocumentStream, ReadProgress, Section, UnsupportedDocument
from hearth.documents.ocr import OcrCache, OcrUnavailable

log = logging.getLogger(__name__)

# Larger images are scaled down before OCR: the recogniser scales to 2,000 px anyway, and a
# 100-megapixel photo would otherwise be decoded whole at full size.
MAX_OCR_SIDE = 3000


def open_image(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            image.size  # noqa: B018 - the header is parsed lazily; damage shows here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UnsupportedDocument(path, f"the image is too large to read ({error})") from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise UnsupportedDocument(path, f"not a readable image ({error})") from error
    return image


def frame(image: Any, number: int) -> Any:
    """Frame ``number`` (1-based) as an RGB image no larger than MAX_OCR_SIDE."""
    image.seek(number - 1)
    picture = image.convert("RGB")
    if max(picture.size) > MAX_OCR_SIDE:
        picture.thumbnail((MAX_OCR_SIDE, MAX_OCR_SIDE))
    return picture


def read_image(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    image = open_image(path)
    frames = int(getattr(image, "n_frames", 1) or 1)
    paged = frames > 1

    def sections() -> Iterator[Section]:
        cache = OcrCache(path)
        found = False
        try:
            for number in range(1, frames + 1):
                if progress:
                    label = f"OCR page {number} of {frames}" if paged else "OCR"
                    progress(number - 1, frames, f"{label} ({path.name})")
                try:
                    recognised = cache.recognise(number, lambda n=number: frame(image, n))
                except OcrUnavailable as error:
                    raise UnsupportedDocument(
                        path, f"images need OCR, which is not available ({error})"
                    ) from error
                except (OSError, ValueError, EOFError) as error:
                    raise UnsupportedDocument(path, f"not a readable image ({error})") from error
                found = found or bool(recognised.text.strip())
                yield Section(recognised.text, page=number if paged else None, ocr=True)
            if not found:
                raise UnsupportedDocument(path, "OCR found no text in the image")
        finally:
            image.close()

    return DocumentStream(
        path, "image", path.stem, sections(), page_count=frames if paged else None
    )
