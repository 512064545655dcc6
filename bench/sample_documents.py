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

REPORT_PAGES = [
    (
        "Annual report of the Millbrook Lighthouse Trust, 2026.\n\n"
        "The Trust looks after the old lighthouse on Millbrook Point, its keeper's cottage and "
        "the small harbour below it. This report covers the year from January to December. "
        "Membership grew from 212 to 264 households, and the board met eleven times. "
        "Storms in February closed the coastal path for three weeks; volunteers cleared the "
        "fallen stones by hand once the council had checked the cliff edge."
    ),
    (
        "Finances.\n\n"
        "Income came mostly from membership fees, the summer open days and a legacy left by a "
        "former harbour master. The largest single cost of the year was the lantern room. "
        "The restoration of the lantern room cost 48,500 pounds, paid by the Harbour Fund. "
        "The work replaced the corroded glazing bars, re-leaded the roof and repaired the brass "
        "rail around the lens. Insurance rose by nine per cent after the February storms."
    ),
    (
        "Volunteers.\n\n"
        "Thirty-one volunteers gave about 2,900 hours. They guided visitors on open days, kept "
        "the logbook archive in order and repainted the cottage shutters. Two new guides "
        "joined from the sailing club, and the school's history group transcribed the keepers' "
        "logs from 1890 to 1910, which are now searchable in the reading room."
    ),
    (
        "Events.\n\n"
        "On 14 July 2026 the keeper, Marguerite Okonkwo, opened the museum of fog signals to "
        "the public. The museum shows the diaphone, two hand-cranked horns and a recording of "
        "the last foghorn sounded on the point. About 600 people came on the first weekend. "
        "The lantern was lit again for one night in September to mark the restoration."
    ),
    (
        "Outlook.\n\n"
        "Next year the Trust plans to rebuild the harbour steps, digitise the remaining "
        "logbooks and open the cottage garden to visitors on Sundays. The board thanks every "
        "member, volunteer and neighbour who helped the lighthouse through a difficult winter."
    ),
]


def report_pages() -> list[str]:
    """Five pages; the facts the tests ask about sit on pages 2 and 4."""
    return list(REPORT_PAGES)


TOWNS = ["Ashford", "Bramley", "Carrow", "Dunmere", "Elston", "Fairlie", "Glenross", "Harwick"]
PEOPLE = ["Ada Quinlan", "Bertram Osei", "Clara Vint", "Dmitri Halloran", "Esme Tanaka"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def long_report_pages(count: int = 30) -> list[str]:
    """A report of ``count`` pages, each about a different town, person and month: long
    enough that no small model's context holds it whole."""
    pages = []
    for number in range(count):
        town = TOWNS[number % len(TOWNS)]
        person = PEOPLE[number % len(PEOPLE)]
        month = MONTHS[number % len(MONTHS)]
        pages.append(
            f"Chapter {number + 1}: {town}.\n\n"
            f"In {month} the district surveyor, {person}, inspected the sea wall at {town}. "
            f"The survey found {number + 3} cracked coping stones and a drain blocked by "
            f"shingle. Repairs were estimated at {1200 + 150 * number} pounds. Residents asked "
            f"for the footpath behind the wall to stay open during the works, and the parish "
            f"council agreed to fund temporary lighting. {person} recommended a second visit "
            f"after the winter storms to check the foundations of the old slipway. "
            f"The harbour committee of {town} noted that fishing boats had been moved to the "
            f"inner basin, that the tide gauge had been recalibrated, and that the lifeboat "
            f"crew had completed {number + 2} training launches during the quarter."
        )
    return pages
