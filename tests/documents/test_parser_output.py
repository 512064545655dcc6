"""Third-party parsers never write to a Hearth command's standard output or error (what
they write is logged instead), and every skip reason is one line."""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.documents.document import MAX_REASON_CHARS, DocumentStream, Section
from hearth.documents.loaders import LOADERS, UnsupportedDocument, load_document
from hearth.documents.parser_output import KEEP_CHARS, parser_output_caught
from tests.documents.sample_files import write_malformed_odt, write_xlsx_with_bad_styles


def test_a_malformed_odt_writes_nothing_to_stdout_or_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    path = write_malformed_odt(tmp_path / "malformed.odt", "The vault code is 4417.")
    with caplog.at_level(logging.INFO), pytest.raises(UnsupportedDocument) as caught:
        load_document(path)
    assert caught.value.reason == (
        "not a readable OpenDocument text (its content is not well-formed XML)"
    )
    assert capfd.readouterr() == ("", "")
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("the parser wrote" in message for message in info)
    assert not any("4417" in message for message in info)  # its text only with HEARTH_DEBUG


def test_what_a_parser_writes_is_kept_up_to_a_bound(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), parser_output_caught(Path("big.odt")):
        for _ in range(1000):
            print("x" * 1000)
    [debug] = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) < KEEP_CHARS + 100


def test_a_reader_that_prints_while_its_sections_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Readers are generators: the catch is on while a section is read, and off while the
    caller has it, so the caller's own output still goes out."""

    def chatty_sections() -> Iterator[Section]:
        for number in range(3):
            print(f"parser noise {number}")
            yield Section(f"Section {number} text.")

    def read(path: Path, progress: object) -> DocumentStream:
        print("parser noise on opening", file=sys.stderr)
        return DocumentStream(path, "txt", path.stem, chatty_sections())

    text = LOADERS[".txt"]
    monkeypatch.setitem(LOADERS, ".txt", dataclasses.replace(text, read=read))
    path = tmp_path / "chatty.txt"
    path.write_text("unused", "utf-8")
    from hearth.documents.loaders import open_document

    for section in open_document(path).sections:
        print(f"caller got {section.text}")
    out, err = capsys.readouterr()
    assert "noise" not in out + err
    assert out.count("caller got") == 3


def test_other_threads_still_write_while_a_parser_is_caught(
    capsys: pytest.CaptureFixture[str],
) -> None:
    inside = threading.Event()
    done = threading.Event()

    def parse() -> None:
        with parser_output_caught(Path("slow.odt")):
            print("parser noise")
            inside.set()
            done.wait(5)

    original = sys.stdout
    parser = threading.Thread(target=parse)
    parser.start()
    assert inside.wait(5)
    print('{"indexed": []}')  # a command printing its result meanwhile
    done.set()
    parser.join()
    assert sys.stdout is original
    out, err = capsys.readouterr()
    assert out == '{"indexed": []}\n'
    assert err == ""


def test_a_three_line_library_message_becomes_a_one_line_reason(tmp_path: Path) -> None:
    path = write_xlsx_with_bad_styles(tmp_path / "bad-styles.xlsx")
    with pytest.raises(UnsupportedDocument) as caught:
        load_document(path)
    reason = caught.value.reason
    assert reason.startswith("not a readable spreadsheet (Unable to read workbook:")
    assert "invalid XML. Please see" in reason
    assert "\n" not in reason
    assert "\n" not in str(caught.value)


def test_reasons_are_one_line_and_bounded() -> None:
    error = UnsupportedDocument(Path("a.txt"), "first line\n  second\tline\r\n")
    assert error.reason == "first line second line"
    assert str(error) == "a.txt: first line second line"
    long = UnsupportedDocument(Path("a.txt"), "word " * 200).reason
    assert len(long) == MAX_REASON_CHARS
    assert long.endswith("…")
