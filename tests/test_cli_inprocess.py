"""The CLI in-process (run_cli with capsys), with the scripted engine where a model is
needed: quick checks of its one-line errors and its JSON shapes. The real-model CLI tests
(tests/assistant, tests/models) run `python -m hearth` as a user does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.assistant.message_status import CUT_NOTE, MessageStatus
from hearth.assistant.workspace import Workspace
from hearth.cli import run_cli
from tests.fakes import ScriptedEngine, boiler_notes


@pytest.fixture
def scripted_cli(
    scripted_workspace: object, scripted_engine: ScriptedEngine, monkeypatch: pytest.MonkeyPatch
) -> ScriptedEngine:
    """Every engine the CLI makes is the scripted one; a tiny model is the default."""
    import hearth.engine.client

    monkeypatch.setattr(hearth.engine.client, "EngineClient", lambda: scripted_engine)
    return scripted_engine


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli([]) == 0
    out = capsys.readouterr().out
    assert "models" in out
    assert "doctor" in out


def test_summarising_a_document_that_is_not_indexed_is_one_line(
    scripted_cli: ScriptedEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["summarize", "nowhere.pdf"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]]  # one line, no traceback
    assert err[0].startswith("hearth: error: nowhere.pdf:")


def test_ask_json_has_answer_sources_and_citations(
    scripted_cli: ScriptedEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = boiler_notes(tmp_path)
    assert run_cli(["index", str(notes)]) == 0
    scripted_cli.enqueue("It should be 1.5 bar [1].")
    capsys.readouterr()
    assert run_cli(["ask", "What should the boiler pressure be?", "--json", "--no-tools"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["answer"] == "It should be 1.5 bar [1]."
    assert answer["cited"] == [1]
    assert answer["sources"][0]["document"] == str(notes)
    assert answer["tool_calls"] == []
    # The model read the sources and the question in one user turn.
    [request] = [r for r in scripted_cli.requests if r.messages]
    assert request.messages is not None
    assert "1.5 bar when cold" in request.messages[-1]["content"]


def test_ask_says_when_the_answer_reached_its_length_limit(
    scripted_cli: ScriptedEngine,
    scripted_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    notes = boiler_notes(tmp_path)
    assert run_cli(["index", str(notes)]) == 0
    pieces = ["It should be ", "1.5 bar [1]. ", "Check it ", "when the boiler ", "is cold [1]."]
    scripted_cli.enqueue(pieces, pieces)
    question = "What should the boiler pressure be?"
    capsys.readouterr()
    assert run_cli(["ask", question, "--json", "--no-tools", "--max-tokens", "3"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["cut"] is True
    assert answer["answer"] == "It should be 1.5 bar [1]."
    [request] = [r for r in scripted_cli.requests if r.messages]
    assert request.options.max_tokens == 3
    stored = scripted_workspace.conversations.messages(answer["conversation"])
    assert stored[-1].status is MessageStatus.CUT
    # Told in words too, and not when the answer ended where the model ended it.
    assert run_cli(["ask", question, "--no-tools", "--max-tokens", "3"]) == 0
    assert CUT_NOTE in capsys.readouterr().out
    scripted_cli.enqueue(pieces)
    assert run_cli(["ask", question, "--json", "--no-tools"]) == 0
    assert json.loads(capsys.readouterr().out)["cut"] is False


def test_a_negative_answer_length_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # llama.cpp reads a negative limit as none: the answer would run to the context's end.
    for command in (["ask", "What?"], ["chat", "Hello"]):
        with pytest.raises(SystemExit) as exited:
            run_cli([*command, "--max-tokens", "-3"])
        assert exited.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].endswith(
            "argument --max-tokens: '-3' is not a number of tokens from 0 to 8192"
        )


def test_ask_continue_follows_up_in_the_latest_conversation(
    scripted_cli: ScriptedEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in (
        ("boiler.md", "The boiler pressure should be 1.5 bar when cold."),
        ("dirvish.md", "Dirvish makes rotating backups. Its settings are in master.conf."),
    ):
        (tmp_path / name).write_text(f"# {name}\n\n{text}\n", "utf-8")
    assert run_cli(["index", str(tmp_path)]) == 0
    scripted_cli.enqueue("Rotating backups [1].", "In master.conf [1].")
    capsys.readouterr()
    assert run_cli(["ask", "What is dirvish used for?", "--json", "--no-tools"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert run_cli(["ask", "Where are its settings?", "--continue", "--json", "--no-tools"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["conversation"] == first["conversation"]
    assert "dirvish" in second["search_query"]  # searched with the earlier subject
    assert second["sources"][0]["document"].endswith("dirvish.md")
    # A conversation that is not there is one line, exit 2.
    assert run_cli(["ask", "Anything?", "--conversation", "999", "--no-tools"]) == 2
    assert "no conversation 999" in capsys.readouterr().err


def test_ask_without_citations_matches_the_answer_to_its_source(
    scripted_cli: ScriptedEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in (
        ("boiler.md", "The boiler pressure should be 1.5 bar when cold."),
        ("roof.md", "The roof tiles were replaced in March by Slate & Sons."),
    ):
        (tmp_path / name).write_text(f"# {name}\n\n{text}\n", "utf-8")
    assert run_cli(["index", str(tmp_path)]) == 0
    scripted_cli.enqueue("The roof tiles were replaced in March by Slate & Sons.")
    capsys.readouterr()
    assert run_cli(["ask", "Who replaced the roof tiles?", "--json", "--no-tools"]) == 0
    answer = json.loads(capsys.readouterr().out)
    roof = [s["n"] for s in answer["sources"] if s["document"].endswith("roof.md")]
    assert answer["cited"] == roof


@pytest.mark.parametrize("terminal", [True, False])
def test_ask_shows_the_answer_as_kept_not_the_draft_it_streamed(
    scripted_cli: ScriptedEngine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    terminal: bool,
) -> None:
    from hearth.assistant.grounded import NOT_IN_SOURCES

    notes = boiler_notes(tmp_path)
    assert run_cli(["index", str(notes)]) == 0
    draft = "The colour of the boiler in the cellar is [1]."  # the question said back
    scripted_cli.enqueue([draft[:25], draft[25:]])
    capsys.readouterr()
    monkeypatch.setattr("sys.stdout.isatty", lambda: terminal)
    assert run_cli(["ask", "What is the colour of the boiler in the cellar?", "--no-tools"]) == 0
    out = capsys.readouterr().out
    if terminal:  # the draft as it came, then erased back to its row and replaced
        assert out.startswith(f"{draft}\r\x1b[J{NOT_IN_SOURCES}")
    else:  # a pipe gets the kept answer alone
        assert out.splitlines()[0] == NOT_IN_SOURCES


def test_doctor_json_names_the_build_and_the_folders(
    scripted_cli: ScriptedEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["doctor", "--no-engine", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["llama_cpp_build"]["cmake_args"]
    assert "GGML_NATIVE=OFF" in " ".join(report["llama_cpp_build"]["cmake_args"])
    assert report["models"][0]["id"] == "tiny-test-model"
    assert "no pinned checksum" in report["models"][0]["checksum"]
    assert report["engine"] is None
