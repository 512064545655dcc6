"""EPUB (2 and 3): the chapters in reading order, each a section titled from the book's table
of contents (or its own first heading), read with ebooklib."""

from __future__ import annotations

import posixpath
import warnings
import zipfile
from pathlib import Path
from typing import Any

from hearth.documents.document import (
    DocumentStream,
    LoadedDocument,
    ReadProgress,
    Section,
    UnsupportedDocument,
    whole,
)
from hearth.documents.formats.text import visible_text
from hearth.documents.text_decoding import NotText, decode_bytes

# Fonts are often obfuscated (IDPF, Adobe) in books without DRM; only encrypted chapters mean
# the text cannot be read.
CHAPTER_SUFFIXES = (".xhtml", ".html", ".htm", ".xml")


def refuse_drm(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = archive.read("META-INF/encryption.xml")
    except KeyError:
        return
    except (zipfile.BadZipFile, OSError) as error:
        raise UnsupportedDocument(path, f"not a readable e-book ({error})") from error
    if any(suffix.encode() + b'"' in manifest.lower() for suffix in CHAPTER_SUFFIXES):
        raise UnsupportedDocument(path, "the e-book is DRM-protected (its chapters are encrypted)")


def _toc_titles(entries: Any, titles: dict[str, str]) -> None:
    """File name -> the first title the table of contents gives it."""
    for entry in entries:
        if isinstance(entry, tuple | list):  # (section, children)
            if entry:
                _toc_titles([entry[0]], titles)
            if len(entry) > 1:
                _toc_titles(entry[1], titles)
            continue
        href = str(getattr(entry, "href", "") or "").split("#", 1)[0]
        title = " ".join(str(getattr(entry, "title", "") or "").split())
        if href and title:
            titles.setdefault(posixpath.normpath(href), title)


def read_epub(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    refuse_drm(path)
    try:
        from ebooklib import ITEM_DOCUMENT, epub

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ebooklib warns about its own future defaults
            # The NCX is read too: EPUB 2 books have their table of contents only there.
            book = epub.read_epub(str(path), options={"ignore_ncx": False})
    except UnsupportedDocument:
        raise
    except Exception as error:  # ebooklib raises bare exceptions for broken packages
        raise UnsupportedDocument(path, f"not a readable e-book ({error})") from error
    titles: dict[str, str] = {}
    _toc_titles(book.toc, titles)
    sections: list[Section] = []
    for item_id, _linear in book.spine:
        item = book.get_item_with_id(item_id)
        # The navigation page is the table of contents again, not a chapter.
        if item is None or item.get_type() != ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
            continue
        try:
            markup = decode_bytes(item.get_content())
        except NotText:
            continue
        parsed = visible_text(markup)
        text = "\n\n".join(s.text for s in parsed.sections if s.text)
        name = posixpath.normpath(item.get_name())
        heading = (
            titles.get(name)
            or next((s.heading for s in parsed.sections if s.heading), None)
            or parsed.title
            or None
        )
        # Short chapters stay apart, so each chunk carries its own chapter's title.
        sections.append(Section(text, heading=heading, mergeable=False))
    metadata = book.get_metadata("DC", "title")
    title = str(metadata[0][0]).strip() if metadata and metadata[0][0] else ""
    return whole(LoadedDocument(path, "epub", title or path.stem, sections))
