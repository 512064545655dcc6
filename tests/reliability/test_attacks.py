"""Only what the user gave: links out of the folder, FIFOs, devices, names that are not
UTF-8 or that carry terminal escapes, and files swapped after indexing. Each is the probe
that found the defect, run against a real `hearth index` (MiniLM, chromadb and SQLite on
disk)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hearth.cli import run_cli
from hearth.documents.safe_files import document_key, file_path, shown_name
from hearth.index.document_index import DocumentIndex
from hearth.terminal import for_terminal, text_for_terminal
from hearth.tools.builtin import read_page
from hearth.tools.registry import ToolContext, ToolError

SECRET = "root:x:0:0:canary-7f3a:/root:/bin/bash"
NOT_UTF8_NAME = b"caf\xe9 menu.txt"
ESCAPING_NAMES = ["\x1b]0;pwned\x07title.txt", "\x1b[31mred.txt", "new\nline.txt"]
BIDI_NAME = "invoice\u202etxt.exe"


def write_attack_files(notes: Path, outside: Path) -> dict[str, str]:
    """Links out and in, a FIFO, devices, and names that are not UTF-8 or carry escapes, in
    ``notes`` (a secret in ``outside``); return {file name as indexed: 'indexed' or a part
    of its skip reason}."""
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text(SECRET + "\n")
    (notes / "sub").mkdir(parents=True, exist_ok=True)
    (notes / "good.txt").write_text("The lighthouse lamp is cleaned every Tuesday.\n")
    (notes / "sub" / "ledger.txt").write_text("The orchard ledger lists forty pear trees.\n")
    (notes / "passwd.txt").symlink_to(outside / "secret.txt")
    (notes / "inside-link.txt").symlink_to(notes / "sub" / "ledger.txt")
    (notes / "zero.txt").symlink_to("/dev/zero")
    (notes / "urandom.txt").symlink_to("/dev/urandom")
    os.mkfifo(notes / "pipe.txt")
    with open(os.path.join(os.fsencode(notes), NOT_UTF8_NAME), "wb") as handle:
        handle.write(b"The cafe menu lists saffron buns at four crowns.\n")
    for name in [*ESCAPING_NAMES, BIDI_NAME]:
        (notes / name).write_text("The weather vane was regilded in 1911.\n")
    return {
        "good.txt": "indexed",
        "ledger.txt": "indexed",
        "inside-link.txt": "indexed",  # a link to a file inside the folder is followed
        "caf\ufffdE9 menu.txt": "indexed",
        BIDI_NAME: "indexed",
        "passwd.txt": "outside the folders given to Hearth",
        "pipe.txt": "a named pipe (FIFO), not a document: never opened",
        "zero.txt": "a device",
        "urandom.txt": "a device",
    }


def build_attack_folder(root: Path) -> tuple[Path, dict[str, str]]:
    notes = root / "notes"
    notes.mkdir()
    return notes, write_attack_files(notes, root / "outside")


def hearth(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "hearth", *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,  # a FIFO once hung indexing forever
        check=False,
    )


def in_process(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    """``hearth ARGUMENTS`` run in this process (no second start of the embedder): its exit
    status and standard output."""
    capsys.readouterr()
    status = run_cli(list(arguments))
    return status, capsys.readouterr().out


def test_only_regular_files_inside_the_folder_are_indexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes, expected = build_attack_folder(tmp_path)
    # Indexing in its own process: a FIFO once hung it forever (the timeout ends that).
    result = hearth("index", str(notes), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    indexed = {Path(p).name for p in report["indexed"]}
    for name, outcome in expected.items():
        if outcome == "indexed":
            assert name in indexed, (name, reasons.get(name))
        else:
            assert reasons[name].startswith(outcome) or outcome in reasons[name], name
    assert all("\n" not in reason for reason in reasons.values())
    found = json.loads(in_process(capsys, "search", "canary-7f3a root", "--json")[1])
    assert all("canary-7f3a" not in hit["text"] for hit in found)

    # Plain output: every name on its own row, no escape reaches the terminal.
    status, listing = in_process(capsys, "docs", "list")
    assert status == 0
    rows = listing.splitlines()
    assert len(rows) == len(report["indexed"])
    assert not any(ch in listing for ch in "\x1b\x07\u202e")
    assert any("caf\ufffd menu.txt" in row for row in rows)
    assert any("invoice\\u202etxt.exe" in row for row in rows)
    assert "caf\ufffd menu.txt" in in_process(capsys, "search", "saffron buns")[1]
    search = in_process(capsys, "search", "weather vane regilded")[1]
    assert "regilded" in search
    assert not any(ch in search for ch in "\x1b\x07\u202e")


def test_a_name_not_in_utf8_is_stored_losslessly(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    raw = os.path.join(os.fsencode(tmp_path), b"r\xe9sum\xe9 \xff.txt")
    with open(raw, "wb") as handle:
        handle.write(b"The orchard gate is painted green every April.\n")
    report = document_index.index_paths([tmp_path])
    [key] = report.indexed
    assert key == document_key(os.fsdecode(raw))
    assert os.fsencode(file_path(key)) == raw  # the same bytes, back from the key
    assert shown_name(key).endswith("r\ufffdsum\ufffd \ufffd.txt")
    [hit, *_] = document_index.search("When is the orchard gate painted?", k=1)
    assert hit.document == key
    context = ToolContext(index=document_index)
    assert "painted green" in read_page({"document": Path(key).name, "page": 1}, context)


def test_read_page_refuses_a_file_swapped_after_indexing(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    swap = notes / "swapme.txt"
    swap.write_text("The boathouse key hangs behind the blue door.\n")
    outside = tmp_path / "secret.txt"
    outside.write_text(SECRET + "\n")
    document_index.index_paths([notes])
    context = ToolContext(index=document_index)
    assert "boathouse key" in read_page({"document": "swapme.txt", "page": 1}, context)
    swap.unlink()
    swap.symlink_to(outside)
    with pytest.raises(ToolError, match="changed since it was indexed"):
        read_page({"document": "swapme.txt", "page": 1}, context)
    swap.unlink()
    os.mkfifo(swap)  # never opened: this would block forever
    with pytest.raises(ToolError, match="changed since it was indexed"):
        read_page({"document": "swapme.txt", "page": 1}, context)


def test_a_link_beside_a_named_file_may_not_leave_its_folder(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    """A watcher names single files: their links are held to the same rule."""
    (tmp_path / "notes").mkdir()
    link = tmp_path / "notes" / "passwd.txt"
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    link.symlink_to(tmp_path / "secret.txt")
    report = document_index.index_paths([link])
    assert not report.indexed
    [skipped] = report.skipped
    assert "outside the folders given to Hearth" in skipped.reason


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;pwned\x07title.txt", "\\x1b]0;pwned\\x07title.txt"),
        ("\x1b[31mred.txt", "\\x1b[31mred.txt"),
        ("new\nline.txt", "new\\x0aline.txt"),
        (BIDI_NAME, "invoice\\u202etxt.exe"),
        (os.fsdecode(b"caf\xe9.txt"), "caf\ufffd.txt"),
    ],
)
def test_names_are_escaped_for_the_terminal(raw: str, shown: str) -> None:
    assert for_terminal(raw) == shown
    assert for_terminal(document_key(raw)) == shown


def test_text_keeps_its_lines_but_not_its_escapes() -> None:
    assert text_for_terminal("one\n\ttwo \x1b[2J\u202e") == "one\n\ttwo \\x1b[2J\\u202e"


def test_docs_list_of_an_empty_index_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["docs", "list"]) == 0
    assert "No documents indexed yet" in capsys.readouterr().out
