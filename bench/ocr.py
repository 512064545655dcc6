"""OCR and big files: pages per second, and peak memory of indexing a big generated PDF.

Every measurement indexes one generated file in its own process with its own HEARTH_HOME
(so nothing is cached from a run before, and the peak RSS is that file's alone, models
included), after loading the embedder and the OCR models:
- scanned: an image-only PDF (pages of text rendered to images), read by OCR; the OCR
  rate is the recogniser's own time per page, the indexing rate includes everything;
- text: a PDF with a text layer, small (the baseline) and big (500 pages by default);
  bounded memory shows as a big/small peak RSS ratio near 1;
- csv: a generated CSV of --csv-mb megabytes (0 to skip), rows read as a stream.
Needs fpdf2 (a dev dependency) to write the text PDFs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import TOWN_WORDS, machine_description, print_table, write_json

OCR_DPI = 150
A4_INCHES = (8.27, 11.69)
SCANNED_PAGES = 12
TEXT_PAGES = 500
BASELINE_PAGES = 5
CSV_MB = 1  # 50 MB took 33 minutes on 2 cores (docs/BENCHMARKS.md, 2026-12-03)
LINES_PER_PAGE = 24

WORDS = [*TOWN_WORDS, "keeper", "ledger", "schooner", "paraffin"]
NAMES = ["Tobias Wren", "Marguerite Okonkwo", "Ada Lindqvist", "Rafael Moreau", "Hana Sato"]


def page_image(lines: list[str], dpi: int = OCR_DPI) -> Any:
    """A white A4 page at ``dpi`` with ``lines`` of black text, as a scanner would give it.
    Pillow's own font, so the page looks the same on every machine."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = (round(side * dpi) for side in A4_INCHES)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=round(dpi * 0.19))
    step = round(dpi * 0.42)
    margin = round(dpi * 0.7)
    for number, line in enumerate(lines):
        draw.text((margin, margin + number * step), line, fill=0, font=font)
    return image


def scanned_pdf(path: Path, pages: list[list[str]], dpi: int = OCR_DPI) -> Path:
    """An image-only PDF: each page an image of its lines, no text layer."""
    images = [page_image(lines, dpi) for lines in pages]
    images[0].save(path, "PDF", resolution=float(dpi), save_all=True, append_images=images[1:])
    return path


def sentence(rng: random.Random, number: int) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(6))
    return f"{rng.choice(NAMES)} noted {rng.randint(2, 99)} {words} in entry {number}."


def page_lines(rng: random.Random, page: int, count: int = LINES_PER_PAGE) -> list[str]:
    return [sentence(rng, page * 100 + line) for line in range(count)]


def text_pdf(path: Path, pages: int, rng: random.Random) -> Path:
    from bench.sample_documents import write_pdf

    return write_pdf(path, [" ".join(page_lines(rng, page)) for page in range(pages)])


def big_csv(path: Path, megabytes: int, rng: random.Random) -> int:
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["entry", "date", "keeper", "place", "note", "amount"])
        while handle.tell() < megabytes * 1024 * 1024:
            rows += 1
            writer.writerow(
                [
                    rows,
                    f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    rng.choice(NAMES),
                    rng.choice(WORDS).title(),
                    " ".join(rng.choice(WORDS) for _ in range(8)),
                    rng.randint(1, 5000),
                ]
            )
    return rows


# Runs in a fresh process: index one file, report time, OCR time and peak memory.
INDEX_ONE_FILE = """
import json, resource, sys, time
from pathlib import Path
from bench.ocr import page_image
from hearth.documents import ocr
from hearth.index.document_index import DocumentIndex

recognise = ocr.OcrEngine.recognise
ocr_seconds = []
def timed(self, image):
    started = time.perf_counter()
    try:
        return recognise(self, image)
    finally:
        ocr_seconds.append(time.perf_counter() - started)
ocr.OcrEngine.recognise = timed

index = DocumentIndex()
index.embedder.embed(["warm up"])
ocr.ocr_engine().recognise(page_image(["warm up"]))
ocr_seconds.clear()
started = time.perf_counter()
report = index.index_paths([Path(sys.argv[1])])
seconds = time.perf_counter() - started
index.close()
print(json.dumps({
    "seconds": seconds,
    "ocr_pages": len(ocr_seconds),
    "ocr_seconds": sum(ocr_seconds),
    "indexed": len(report.indexed),
    "skipped": [s.reason for s in report.skipped],
    "chunks": report.chunks,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def index_in_fresh_process(path: Path, work: Path) -> dict[str, Any]:
    home = work / f"home-{path.name}"  # big.pdf and big.csv each get their own
    env = {**os.environ, "HEARTH_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", INDEX_ONE_FILE, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"indexing {path.name} failed:\n{result.stderr[-3000:]}")
    row: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if row["indexed"] != 1:
        raise RuntimeError(f"{path.name} was not indexed: {row['skipped']}")
    return row


def run(work: Path, scanned_pages: int, text_pages: int, csv_mb: int) -> dict[str, Any]:
    rng = random.Random(20261201)
    files: dict[str, tuple[Path, int]] = {}
    scanned = scanned_pdf(
        work / "scanned.pdf", [page_lines(rng, page) for page in range(scanned_pages)]
    )
    files["scanned"] = (scanned, scanned_pages)
    files["text_small"] = (text_pdf(work / "small.pdf", BASELINE_PAGES, rng), BASELINE_PAGES)
    files["text_big"] = (text_pdf(work / "big.pdf", text_pages, rng), text_pages)
    if csv_mb:
        path = work / "big.csv"
        files["csv"] = (path, big_csv(path, csv_mb, rng))
    rows: dict[str, Any] = {}
    for name, (path, units) in files.items():
        row = index_in_fresh_process(path, work)
        row["file_mb"] = path.stat().st_size / (1024 * 1024)
        row["units"] = units
        row["units_per_second"] = units / row["seconds"]
        if row["ocr_pages"]:
            row["ocr_pages_per_second"] = row["ocr_pages"] / row["ocr_seconds"]
        rows[name] = row
        print(f"{name}: {units} in {row['seconds']:.1f} s, peak {row['peak_rss_mb']:.0f} MB")
    baseline = rows["text_small"]["peak_rss_mb"]
    for row in rows.values():
        row["peak_rss_vs_small_pdf"] = row["peak_rss_mb"] / baseline
    return {"files": rows, "ocr_dpi": OCR_DPI, "machine": machine_description()}


def main(argv: list[str] | None = None) -> int:
    from hearth.offline import enforce_offline

    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scanned-pages", type=int, default=SCANNED_PAGES)
    parser.add_argument("--text-pages", type=int, default=TEXT_PAGES)
    parser.add_argument("--csv-mb", type=int, default=CSV_MB, help="0 skips the CSV")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hearth-ocr-bench-") as work:
        result = run(Path(work), args.scanned_pages, args.text_pages, args.csv_mb)
    units = {"scanned": "pages", "text_small": "pages", "text_big": "pages", "csv": "rows"}
    print_table(
        ["file", "MB", "size", "seconds", "per second", "OCR pages/s", "peak RSS MB", "vs small"],
        [
            [
                name,
                row["file_mb"],
                f"{row['units']} {units[name]}",
                row["seconds"],
                row["units_per_second"],
                row.get("ocr_pages_per_second", "-"),
                row["peak_rss_mb"],
                row["peak_rss_vs_small_pdf"],
            ]
            for name, row in result["files"].items()
        ],
    )
    write_json(args.out, result)
    return 0
