"""Sample documents written on the fly (tests, the screenshot, benchmarks): a five-page
PDF report with facts on known pages, and a small DOCX. Needs fpdf2 (a dev dependency)."""

from __future__ import annotations

from pathlib import Path


def write_pdf(path: Path, pages: list[str]) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


def write_docx(path: Path, title: str, paragraphs: list[str]) -> Path:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))
    return path


FILLER = (
    "The committee reviewed routine matters of the parish, including the state of the "
    "footpaths, the hedges along the lane and the opening hours of the reading room. "
)


def report_pages() -> list[str]:
    """Five pages; the facts the tests ask about sit on pages 2 and 4."""
    return [
        "Annual report of the Millbrook Lighthouse Trust.\n\n" + FILLER * 6,
        "Finances.\n\n"
        + FILLER * 3
        + "The restoration of the lantern room cost 48,500 pounds, paid by the Harbour Fund.\n\n"
        + FILLER * 2,
        "Volunteers.\n\n" + FILLER * 6,
        "Events.\n\n"
        + FILLER * 2
        + "On 14 July 2026 the keeper, Marguerite Okonkwo, opened the museum of fog signals "
        + "to the public.\n\n"
        + FILLER * 3,
        "Outlook.\n\n" + FILLER * 6,
    ]
