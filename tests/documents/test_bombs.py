"""Decompression bombs: a zip member or PDF stream that inflates past its limit is skipped
with one line before any parser opens it, and memory does not follow the inflated size."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.sample_documents import report_pages, write_docx, write_pdf
from hearth.documents.inflation import InflationLimit, check_inflation
from hearth.documents.loaders import LOADERS, UnsupportedDocument, load_document
from tests.documents.bombs import (
    GB,
    MB,
    Deflated,
    deflated_zeros,
    pdf_with_streams,
    write_zip,
    zip_with_bomb,
)
from tests.documents.sample_files import (
    write_epub,
    write_ods,
    write_odt,
    write_pptx,
    write_xlsx,
)

ROWS: list[list[Any]] = [["Item", "Cost"], ["Paint", 12]]
# (writer of a real document, the member a bomb replaces)
ZIP_FORMATS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "docx": (lambda p: write_docx(p, "Memo", ["The boiler was serviced."]), "word/document.xml"),
    "pptx": (lambda p: write_pptx(p, [("Plan", "Body", "")]), "ppt/slides/slide1.xml"),
    "odt": (lambda p: write_odt(p, "Minutes", ["The surplus."]), "content.xml"),
    "epub": (lambda p: write_epub(p, "Book", [("One", "Text.")]), "EPUB/chapter1.xhtml"),
    "xlsx": (lambda p: write_xlsx(p, {"Sheet": ROWS}), "xl/worksheets/sheet1.xml"),
    "ods": (lambda p: write_ods(p, {"Sheet": ROWS}), "content.xml"),
}

LOAD_AND_REPORT_PEAK = """
import json, resource, sys
from pathlib import Path
from typing import Any
from hearth.documents.loaders import UnsupportedDocument, load_document

def peak_mb():
    # VmHWM: this process's own peak; ru_maxrss starts at the RSS of its parent (pytest).
    try:
        return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

normal, bombs = json.loads(sys.argv[1])
for path in normal:  # the libraries imported and used once: a normal run's memory
    load_document(Path(path))
baseline = peak_mb()
reasons = {}
for path in bombs:
    try:
        load_document(Path(path))
    except UnsupportedDocument as error:
        reasons[path] = error.reason
print(json.dumps({"baseline_mb": baseline, "peak_mb": peak_mb(), "reasons": reasons}))
"""


def zip_bomb(folder: Path, kind: str, size: int = GB) -> Path:
    write, member = ZIP_FORMATS[kind]
    source = write(folder / f"normal.{kind}")
    return zip_with_bomb(source, folder / f"bomb.{kind}", member, deflated_zeros(size))


def assert_one_line_bomb_reason(reason: str) -> None:
    assert "inflate" in reason
    assert reason.endswith("possibly a decompression bomb")
    assert "\n" not in reason


@pytest.mark.parametrize("kind", list(ZIP_FORMATS))
def test_a_zip_member_inflating_to_1_gb_is_skipped_before_parsing(
    tmp_path: Path, kind: str
) -> None:
    bomb = zip_bomb(tmp_path, kind)
    assert bomb.stat().st_size < 6 * MB
    with pytest.raises(UnsupportedDocument) as caught:
        load_document(bomb)
    member = ZIP_FORMATS[kind][1]
    limit = "500 MB" if kind in ("xlsx", "ods") else "200 MB"
    assert f"a member inflates to 1.0 GB ({member}, " in caught.value.reason
    assert f"over the {limit} limit" in caught.value.reason
    assert_one_line_bomb_reason(caught.value.reason)
    assert load_document(tmp_path / f"normal.{kind}").sections  # the same format still reads


def test_a_pdf_stream_inflating_to_1_gb_is_skipped(tmp_path: Path) -> None:
    bomb = pdf_with_streams(tmp_path / "bomb.pdf", [deflated_zeros(GB, raw=False)])
    with pytest.raises(UnsupportedDocument) as caught:
        load_document(bomb)
    assert "a stream inflates to more than the 200 MB limit" in caught.value.reason
    assert_one_line_bomb_reason(caught.value.reason)


def test_pdf_streams_are_counted_one_after_another(tmp_path: Path) -> None:
    """Three streams of 16 MB: each is found, inflated and counted, and the scan goes on."""
    path = pdf_with_streams(tmp_path / "three.pdf", [deflated_zeros(16 * MB, raw=False)] * 3)
    check_inflation(path, InflationLimit("pdf", 17 * MB, 49 * MB))
    with pytest.raises(UnsupportedDocument, match="its streams inflate to more than the 47 MB"):
        check_inflation(path, InflationLimit("pdf", 17 * MB, 47 * MB))
    with pytest.raises(UnsupportedDocument, match="a stream inflates to more than the 15 MB"):
        check_inflation(path, InflationLimit("pdf", 15 * MB, 49 * MB))


def test_normal_pdfs_pass_the_check(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "report.pdf", report_pages())
    check_inflation(path, InflationLimit("pdf", MB, MB))
    assert load_document(path).page_count == 5


def test_a_member_inflating_past_its_declared_size_is_skipped(tmp_path: Path) -> None:
    """zipfile stops at the declared size, but ZipFile.read inflates the member whole
    first: a member declaring 1,000 bytes that inflates to 1 GB would cost 1 GB."""
    source = write_docx(tmp_path / "memo.docx", "Memo", ["The boiler was serviced."])
    with zipfile.ZipFile(source) as archive:
        members: dict[str, bytes | Deflated] = {
            info.filename: archive.read(info) for info in archive.infolist()
        }
    members["word/document.xml"] = deflated_zeros(GB)
    liar = write_zip(tmp_path / "liar.docx", members, {"word/document.xml": 1000})
    with pytest.raises(UnsupportedDocument) as caught:
        load_document(liar)
    assert "inflates to more than the 1,000 bytes it declares (word/document.xml)" in (
        caught.value.reason
    )
    assert_one_line_bomb_reason(caught.value.reason)


def test_members_inflating_past_the_total_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docx = LOADERS[".docx"]
    small = dataclasses.replace(docx, inflation=InflationLimit("zip", 20 * MB, 30 * MB))
    monkeypatch.setitem(LOADERS, ".docx", small)
    members: dict[str, bytes | Deflated] = {
        f"word/media/part{n}.bin": deflated_zeros(16 * MB) for n in range(2)
    }
    path = write_zip(tmp_path / "parts.docx", members)
    with pytest.raises(UnsupportedDocument) as caught:
        load_document(path)
    assert "its members inflate to 32 MB together, over the 30 MB limit" in caught.value.reason
    assert_one_line_bomb_reason(caught.value.reason)


def test_a_member_in_a_compression_office_files_never_use_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bzip2.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(UnsupportedDocument, match=r"method 12: word/document.xml"):
        load_document(path)


def test_peak_memory_on_bombs_stays_near_a_normal_run(tmp_path: Path) -> None:
    """Before the check, each of these bombs peaked at about 2.1 GB (a normal run: the
    libraries and a small file of each format)."""
    normal = [
        write_docx(tmp_path / "memo.docx", "Memo", ["The boiler was serviced."]),
        write_epub(tmp_path / "book.epub", "Book", [("One", "The lamp room.")]),
        write_odt(tmp_path / "minutes.odt", "Minutes", ["The surplus was reported."]),
        write_pdf(tmp_path / "report.pdf", report_pages()),
    ]
    folder = tmp_path / "bombs"
    folder.mkdir()
    bombs = [zip_bomb(folder, kind) for kind in ("docx", "epub", "odt")]
    bombs.append(pdf_with_streams(folder / "bomb.pdf", [deflated_zeros(GB, raw=False)]))
    argument = json.dumps([[str(p) for p in normal], [str(p) for p in bombs]])
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_REPORT_PEAK, argument],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(result.stdout)
    assert sorted(report["reasons"]) == sorted(str(p) for p in bombs)
    for reason in report["reasons"].values():
        assert_one_line_bomb_reason(reason)
    print(f"peak RSS: {report['baseline_mb']:.0f} MB normal, {report['peak_mb']:.0f} MB bombs")
    assert report["peak_mb"] < 1.5 * report["baseline_mb"]
    assert report["peak_mb"] - report["baseline_mb"] < 100
