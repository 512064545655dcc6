"""Password-protected documents, recognised before a reader fails on them.

A password-protected Office file is not a zip at all but an OLE container around the
encrypted package, so it is recognised by its first bytes and refused with that reason
instead of "not a zip file". An encrypted OpenDocument file is a zip whose manifest
declares encryption data.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from hearth.documents.document import UnsupportedDocument

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def refuse_encrypted_office_file(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            start = handle.read(len(OLE_SIGNATURE))
    except OSError as error:
        raise UnsupportedDocument(path, f"cannot read it ({error.strerror or error})") from error
    if start == OLE_SIGNATURE:
        raise UnsupportedDocument(
            path,
            "the file is password-protected (or in the old binary Office format, "
            f"which is not {path.suffix.lower()})",
        )


def refuse_encrypted_odf(path: Path, archive: zipfile.ZipFile) -> None:
    try:
        manifest = archive.read("META-INF/manifest.xml")
    except KeyError:
        return
    if b"encryption-data" in manifest:
        raise UnsupportedDocument(path, "the document is password-protected")
