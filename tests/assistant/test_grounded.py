"""Grounded answers with the real bundled model through llama.cpp."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bench.sample_documents import report_pages, write_pdf
from hearth.assistant.grounded import (
    CODE_BLOCK_GRAMMAR,
    CODE_BLOCK_TOKENS,
    NOT_IN_SOURCES,
    NOTHING_FOUND,
    GroundedAnswer,
    GroundedAnswerer,
    leaves_amount_unanswered,
    restates_question,
)
from hearth.assistant.grounding import split_statements, unsupported_facts
from hearth.engine.client import EngineClient
from hearth.engine.prompts import ChatMessage
from hearth.engine.types import SamplingOptions
from hearth.index.document_index import DocumentIndex
from hearth.models.bundled import QWEN_05B, QWEN_15B
from tests.fakes import ScriptedEngine
from tests.models.test_catalogue import run_hearth

OPTIONS = SamplingOptions(max_tokens=48, temperature=0.0)


@pytest.fixture
def indexed_report(document_index: DocumentIndex, tmp_path: Path) -> Path:
    """The five-page lighthouse report, indexed."""
    report = write_pdf(tmp_path / "report.pdf", report_pages())
    document_index.index_paths([report])
    return report


def test_answer_cites_the_right_page(
    document_index: DocumentIndex, engine: EngineClient, gemma_model: Path, indexed_report: Path
) -> None:
    report = indexed_report
    engine.load(gemma_model, n_ctx=2048, n_threads=2)
    pieces: list[str] = []
    answer = GroundedAnswerer(document_index, engine).ask(
        "How much did the restoration of the lantern room cost?", OPTIONS, on_piece=pieces.append
    )
    assert answer.answer
    streamed = "".join(pieces).strip()
    # Kept as it was streamed, unless the grounding check left out what no source holds
    # (the base model once wrote "£10,000" for the report's £48,500: it declined).
    assert streamed == answer.answer or answer.answer == NOT_IN_SOURCES, (streamed, answer)
    assert unsupported_facts(answer.answer, [s.text for s in answer.sources]) == []
    assert answer.sources[0].n == 1
    assert (answer.sources[0].document, answer.sources[0].page) == (str(report), 2)
    assert "48,500" in answer.sources[0].text


def test_a_grounded_answer_is_drawn_with_its_model_s_repeat_penalty(
    document_index: DocumentIndex, indexed_report: Path, tmp_path: Path
) -> None:
    question = "How much did the restoration of the lantern room cost?"
    penalties: dict[str, float] = {}
    for name in (QWEN_15B.filename, QWEN_05B.filename, "my-own-model.gguf"):
        engine = ScriptedEngine(default_reply="It cost £48,500 [1].")
        engine.load(tmp_path / name)
        GroundedAnswerer(document_index, engine).ask(question, OPTIONS)
        penalties[name] = engine.requests[-1].options.repeat_penalty
    # The 1.5B copies its sources' words better without one; the 0.5B, and a model the
    # user added, keep the engine's.
    assert OPTIONS.repeat_penalty == 1.1
    assert penalties == {
        QWEN_15B.filename: 1.0,
        QWEN_05B.filename: 1.1,
        "my-own-model.gguf": 1.1,
    }


def test_sources_fit_the_context_window(
    document_index: DocumentIndex, engine: EngineClient, gemma_model: Path, tmp_path: Path
) -> None:
    pages = [
        f"Page {n}. " + "The harbour log records tides, winds and ships. " * 25 for n in range(30)
    ]
    document_index.index_paths([write_pdf(tmp_path / "log.pdf", pages)])
    engine.load(gemma_model, n_ctx=1024, n_threads=2)
    answerer = GroundedAnswerer(document_index, engine)
    hits = document_index.search("harbour log tides", k=20)
    sources, messages = answerer.fit_sources("harbour log tides?", hits, answer_tokens=200)
    assert 0 < len(sources) < 20
    assert engine.count_chat_tokens(messages) <= 1024 - 200


def test_empty_index_says_nothing_was_found(
    document_index: DocumentIndex, engine: EngineClient, gemma_model: Path
) -> None:
    engine.load(gemma_model, n_ctx=1024, n_threads=2)
    answer = GroundedAnswerer(document_index, engine).ask("Who is the keeper?", OPTIONS)
    assert answer.answer == NOTHING_FOUND
    assert answer.sources == []


def test_cli_index_search_ask_json(gemma_model: Path, tmp_path: Path) -> None:
    report = write_pdf(tmp_path / "report.pdf", report_pages())
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf")
    indexed = run_hearth("index", str(tmp_path), "--json")
    assert indexed.returncode == 0, indexed.stderr
    summary = json.loads(indexed.stdout)
    assert set(summary) == {"indexed", "unchanged", "skipped", "chunks", "entities", "seconds"}
    assert summary["indexed"] == [str(report)]
    assert summary["skipped"][0]["path"] == str(bad)
    assert summary["chunks"] > 0

    found = run_hearth("search", "museum of fog signals", "-k", "2", "--json")
    hits = json.loads(found.stdout)
    assert [set(h) for h in hits] == [{"document", "page", "heading", "ocr", "score", "text"}] * 2
    assert (hits[0]["document"], hits[0]["page"]) == (str(report), 4)

    asked = run_hearth("ask", "Who opened the museum of fog signals?", "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert set(answer) == {
        "answer",
        "sources",
        "cited",
        "unsupported",
        "tool_calls",
        "conversation",
        "search_query",
        "cut",
    }
    assert answer["cut"] is False
    for call in answer["tool_calls"]:  # tools are on by default; each call has this shape
        assert set(call) == {"tool", "arguments", "result"}
    assert answer["sources"][0]["n"] == 1
    assert {"n", "document", "page", "heading", "ocr", "text", "score"} == set(answer["sources"][0])
    assert all(1 <= n <= len(answer["sources"]) for n in answer["cited"])
    assert any(s["page"] == 4 for s in answer["sources"])
    # The question was kept as a conversation; --continue follows up on it, searched with
    # the earlier question's subject.
    followed = run_hearth("ask", "When did it open?", "--continue", "--json")
    assert followed.returncode == 0, followed.stderr
    follow_up = json.loads(followed.stdout)
    assert follow_up["conversation"] == answer["conversation"]
    assert "museum" in follow_up["search_query"]
    assert any(s["page"] == 4 for s in follow_up["sources"])
    # An answer that reaches its length limit says so: its end may be missing.
    short = run_hearth("ask", "Who opened the museum of fog signals?", "--max-tokens", "4")
    assert short.returncode == 0, short.stderr
    assert "reached its length limit" in short.stdout

    listed = json.loads(run_hearth("docs", "list", "--json").stdout)
    assert [d["path"] for d in listed] == [str(report)]
    assert listed[0]["pages"] == 5
    assert run_hearth("docs", "remove", str(report)).returncode == 0
    assert json.loads(run_hearth("docs", "list", "--json").stdout) == []
    missing = run_hearth("docs", "remove", str(report))
    assert missing.returncode == 2
    assert "not in the index" in missing.stderr


def cited_pages(answer: GroundedAnswer) -> set[tuple[str, int | None]]:
    """(document, page) of each source the answer cites."""
    return {(s.document, s.page) for s in answer.sources if s.n in answer.cited}


def test_the_default_model_cites_the_page_it_answers_from(
    document_index: DocumentIndex, engine: EngineClient, qwen05_model: Path, indexed_report: Path
) -> None:
    report = indexed_report
    engine.load(qwen05_model, n_ctx=4096, n_threads=2)
    answer = GroundedAnswerer(document_index, engine).ask(
        "How much did the restoration of the lantern room cost?", OPTIONS
    )
    assert "48,500" in answer.answer, answer.answer
    assert answer.cited_by == "marker", answer.answer  # an [n] naming a real source
    assert (str(report), 2) in cited_pages(answer), answer.answer


def test_the_default_model_answers_a_yes_no_question(
    document_index: DocumentIndex, engine: EngineClient, qwen05_model: Path, indexed_report: Path
) -> None:
    report = indexed_report
    engine.load(qwen05_model, n_ctx=4096, n_threads=2)
    answer = GroundedAnswerer(document_index, engine).ask(
        "Did the Harbour Fund pay for the restoration of the lantern room?", OPTIONS
    )
    # Told to begin with Yes or No (a rule fitted to LiHua-World, now gone), it did; now it
    # may also say what happened: either way it affirms, from page 2.
    assert re.search(r"^yes\b|\bpaid\b", answer.answer, re.IGNORECASE), answer.answer
    assert (str(report), 2) in cited_pages(answer), answer.answer


def test_an_answer_that_only_says_the_question_back_is_not_an_answer() -> None:
    asked = "What is the name of the inn where the keeper slept on 9 June?"
    assert restates_question("The inn where the keeper slept on 9 June is [1].", asked)
    assert restates_question("[2]", "Where did the storm hit first?") is False  # no words
    # A word picked out of the question, new words, yes-or-no and choice questions: answers.
    assert not restates_question("The Anchor [1]", asked)
    assert not restates_question("Keeper [1]", "Who is the lighthouse's keeper?")
    assert not restates_question("He slept there [1].", "Did the keeper sleep at the inn?")
    assert not restates_question("Friday [1]", "Was the lamp lit on Thursday or Friday?")
    # A sign is an answer though it is no word.
    comment = "Which character starts a comment line in a data file?"
    assert restates_question("The comment character in a data file is [1].", comment)
    assert not restates_question('The comment character in a data file is "#" [1].', comment)


def test_a_restated_question_is_answered_with_the_decline_and_cites_nothing(
    document_index: DocumentIndex, indexed_report: Path
) -> None:
    engine = ScriptedEngine()
    question = "What colour was the lighthouse keeper's boat?"
    engine.enqueue(["The lighthouse keeper's boat ", "was [1]."])
    answer = GroundedAnswerer(document_index, engine).ask(question, OPTIONS)
    assert answer.sources
    assert (answer.answer, answer.cited) == (NOT_IN_SOURCES, [])
    engine.enqueue(["Green [1]."])
    assert GroundedAnswerer(document_index, engine).ask(question, OPTIONS).answer == "Green [1]."


def test_the_default_model_says_when_the_sources_do_not_hold_the_answer(
    document_index: DocumentIndex, engine: EngineClient, qwen05_model: Path, indexed_report: Path
) -> None:
    engine.load(qwen05_model, n_ctx=4096, n_threads=2)
    answer = GroundedAnswerer(document_index, engine).ask(
        "What is the lighthouse keeper's favourite football team?", OPTIONS
    )
    assert answer.sources  # it read the report, which says nothing of football
    assert answer.answer == NOT_IN_SOURCES, answer.answer


# A boiler manual of five pages: a contents page first, then the facts the tests ask for.
MANUAL_PAGES = [
    "Contents\n"
    "Safety . . . . . . . . . . . . . . . . . . . . 2\n"
    "Bleeding the radiators . . . . . . . . . . . . 3\n"
    "Error codes . . . . . . . . . . . . . . . . . . 4\n"
    "Warranty . . . . . . . . . . . . . . . . . . . 5\n"
    "Servicing . . . . . . . . . . . . . . . . . . . 5",
    "Safety\n\nThe Calderon C24 boiler must be installed by a registered gas engineer. Never "
    "cover the flue outlet or the air vents. If you smell gas, turn off the supply at the "
    "meter and open the windows.",
    "Bleeding the radiators\n\nAir trapped in a radiator leaves its top cold. To bleed it, "
    "first turn the heating off and let the radiators cool for 30 minutes. Put a cloth "
    "under the bleed valve at the top corner of the radiator. Turn the valve a quarter turn "
    "anticlockwise with the radiator key until water appears, then close it again. "
    "Afterwards check the pressure gauge on the boiler: it should read between 1.0 and 1.5 "
    "bar. If it reads lower, top it up with the filling loop under the boiler.",
    "Error codes\n\nE119 Low water pressure: top up with the filling loop.\n"
    "E133 Gas supply interrupted: check the meter.\n"
    "E168 Fan fault: call an engineer.",
    "Warranty\n\nThe warranty lasts 7 years from the date of installation.\n\n"
    "Servicing\n\nTo keep the warranty, the boiler must be serviced every 12 months by a "
    "registered engineer, who stamps the service record at the back of this manual.",
]
HOW_TO_OPTIONS = SamplingOptions(max_tokens=256, temperature=0.0)


@pytest.fixture
def indexed_manual(document_index: DocumentIndex, tmp_path: Path) -> Path:
    manual = write_pdf(tmp_path / "boiler-manual.pdf", MANUAL_PAGES)
    document_index.index_paths([manual])
    return manual


def cited_how_to_answer(
    document_index: DocumentIndex, engine: EngineClient, model: Path, manual: Path
) -> GroundedAnswer:
    """``model``'s answer to how to bleed a radiator, from the manual's page 3, in several
    statements that each end in a citation, every fact of it in the sources it read."""
    engine.load(model, n_ctx=4096, n_threads=2)
    answer = GroundedAnswerer(document_index, engine).ask(
        "How do I bleed a radiator?", HOW_TO_OPTIONS
    )
    statements = split_statements(answer.answer)
    assert len(statements) >= 2, answer.answer
    assert all(re.search(r"\[\d\]\.?$", statement) for statement in statements), answer.answer
    assert (str(manual), 3) in cited_pages(answer), answer.answer
    assert unsupported_facts(answer.answer, [s.text for s in answer.sources]) == []
    return answer


def test_a_how_to_question_is_answered_in_several_cited_sentences(
    document_index: DocumentIndex, engine: EngineClient, qwen05_model: Path, indexed_manual: Path
) -> None:
    answer = cited_how_to_answer(document_index, engine, qwen05_model, indexed_manual)
    assert 1 not in {s.page for s in answer.sources}  # the contents page is no source


def test_the_1_5b_answers_a_how_to_question_with_its_source_s_steps(
    document_index: DocumentIndex, engine: EngineClient, qwen15_file: Path, indexed_manual: Path
) -> None:
    # The default model on a 2-core laptop, drawn without a repeat penalty (bundled.py).
    answer = cited_how_to_answer(document_index, engine, qwen15_file, indexed_manual)
    # The steps as the manual gives them, numbers and all.
    for step in ("30 minutes", "quarter turn", "radiator key"):
        assert step in answer.answer, answer.answer


def test_a_question_the_manual_does_not_answer_is_declined_citing_nothing(
    document_index: DocumentIndex, engine: EngineClient, qwen05_model: Path, indexed_manual: Path
) -> None:
    engine.load(qwen05_model, n_ctx=4096, n_threads=2)
    answer = GroundedAnswerer(document_index, engine).ask(
        "What is the maximum heat output of the boiler in kilowatts?", HOW_TO_OPTIONS
    )
    assert answer.sources  # it read the manual, which gives no output
    assert (answer.answer, answer.cited) == (NOT_IN_SOURCES, []), answer.answer


def test_a_follow_up_finds_the_page_of_its_subject(
    document_index: DocumentIndex, engine: EngineClient, qwen05_model: Path, indexed_manual: Path
) -> None:
    engine.load(qwen05_model, n_ctx=4096, n_threads=2)
    history: list[ChatMessage] = [
        {"role": "user", "content": "How long does the warranty last?"},
        {"role": "assistant", "content": "7 years from the date of installation [1]."},
    ]
    answer = GroundedAnswerer(document_index, engine).ask(
        "What must I do to keep it?",
        HOW_TO_OPTIONS,
        history=history,
    )
    assert "warranty" in answer.search_query
    assert answer.sources[0].page == 5, [s.page for s in answer.sources]
    assert re.search(r"12 months|every year|serviced", answer.answer), answer.answer
    assert (str(indexed_manual), 5) in cited_pages(answer), answer.answer


def test_a_number_that_no_source_holds_is_dropped_from_the_answer(
    document_index: DocumentIndex, indexed_manual: Path
) -> None:
    # The engine invents a port beside a true statement: the port goes, the code stays.
    scripted = ScriptedEngine()
    scripted.enqueue(["Code E119 means low water pressure [1]. ", "The boiler uses port 5616 [1]."])
    answer = GroundedAnswerer(document_index, scripted).ask("What does E119 mean?", OPTIONS)
    assert "5616" not in answer.answer
    assert "E119" in answer.answer
    # Only invented facts: the answer declines and cites nothing.
    scripted.enqueue("The boiler uses port 5616 [1].")
    answerer = GroundedAnswerer(document_index, scripted)
    answer = answerer.ask("Which port does the boiler use?", OPTIONS)
    assert (answer.answer, answer.cited) == (NOT_IN_SOURCES, [])


def test_the_decline_written_beside_a_marker_is_left_out(
    document_index: DocumentIndex, indexed_manual: Path
) -> None:
    scripted = ScriptedEngine()
    scripted.enqueue(f"Code E119 means low water pressure [1] [{NOT_IN_SOURCES}] [2].")
    answer = GroundedAnswerer(document_index, scripted).ask("What does E119 mean?", OPTIONS)
    assert NOT_IN_SOURCES not in answer.answer
    assert answer.answer.startswith("Code E119 means low water pressure [1]")


def test_an_answer_that_states_no_amount_for_an_amount_question_is_declined(
    document_index: DocumentIndex, indexed_manual: Path
) -> None:
    # The manual says when the boiler is serviced, not how long a service takes; the
    # reply is grounded (every word is in the manual) but answers another question.
    scripted = ScriptedEngine()
    scripted.enqueue(
        "The boiler must be serviced by a registered engineer, who stamps the service record [1].",
        "The boiler must be serviced every 12 months by a registered engineer [1].",
    )
    answerer = GroundedAnswerer(document_index, scripted)
    asked_how_long = answerer.ask("How long does a boiler service take?", OPTIONS)
    assert (asked_how_long.answer, asked_how_long.cited) == (NOT_IN_SOURCES, [])
    # With its amount, the same kind of answer stands.
    asked_how_often = answerer.ask("How many months apart must the boiler be serviced?", OPTIONS)
    assert "every 12 months" in asked_how_often.answer, asked_how_often.answer


def test_an_answer_may_name_the_document_its_source_comes_from(
    document_index: DocumentIndex, indexed_manual: Path
) -> None:
    # The model reads each source under its document's name ("[1] (boiler-manual.pdf, page
    # 2)"); naming it invents nothing (the FHS's "fhs-3.0.html" for "the FHS").
    scripted = ScriptedEngine()
    scripted.enqueue(
        "According to boiler-manual.pdf, the boiler must be serviced every 12 months [1].",
        "According to boiler-guide.pdf, the boiler must be serviced every 12 months [1].",
    )
    answerer = GroundedAnswerer(document_index, scripted)
    question = "How often must the boiler be serviced?"
    assert "boiler-manual.pdf" in answerer.ask(question, OPTIONS).answer
    assert answerer.ask(question, OPTIONS).answer == NOT_IN_SOURCES  # a name it never read


def test_which_questions_ask_for_an_amount_and_which_answers_give_one() -> None:
    for question, answer in [
        ("How long does a sponsor take to review a package?", "It takes several iterations [1]."),
        ("How large should the /boot partition be?", "Large enough for the loader [3]."),
    ]:
        assert leaves_amount_unanswered(answer, question), question
    for question, answer in [
        ("How long does a review take?", "About two weeks [1]."),  # an amount in words
        ("Which port does it listen on?", "Port 3142 [1]."),
        ("What priority level should the package have?", "Optional [1]."),  # a name
        ("What is the maximum length of a name?", "30 characters [2]."),
        ("How do I run a job weekly?", "Put it in /etc/cron.weekly [1]."),  # no amount asked
        ("How often is it rotated?", "Weekly [1]."),  # a frequency is no number
    ]:
        assert not leaves_amount_unanswered(answer, question), question
    # A citation marker is no amount.
    assert leaves_amount_unanswered("It depends on the system [12].", "How much memory?")


def test_a_number_that_no_source_holds_never_survives_into_the_default_model_s_answer(
    document_index: DocumentIndex, engine: EngineClient, qwen05_model: Path, indexed_manual: Path
) -> None:
    # Asked for numbers the manual does not give (and one it does): whatever it says, every
    # number it keeps is in a source.
    engine.load(qwen05_model, n_ctx=4096, n_threads=2)
    answerer = GroundedAnswerer(document_index, engine)
    for question in [
        "How many litres of water does the boiler hold?",
        "What gas pressure in millibar does the boiler need?",
        "How long do I let the radiators cool before bleeding them?",
    ]:
        answer = answerer.ask(question, HOW_TO_OPTIONS)
        texts = [source.text for source in answer.sources]
        assert unsupported_facts(answer.answer, texts, question) == [], answer.answer


def test_a_table_that_runs_on_into_the_next_chunk_is_read_with_it(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    rows = [(f"unit{n}.conf", f"Settings of heating unit {n} (optional)") for n in range(70)]
    rows.insert(32, ("securetty", "TTY access control for root login (optional)"))
    cells = "".join(f"<tr><td>{name}</td><td>{what}</td></tr>" for name, what in rows)
    page = tmp_path / "etc.html"
    page.write_text(
        "<html><body><h1>/etc: configuration files</h1><p>These files must be in /etc.</p>"
        f"<table><tr><th>File</th><th>Description</th></tr>{cells}</table></body></html>"
    )
    document_index.index_paths([page])
    chunks = [text for _, text in document_index.document_chunks(str(page))]
    # The table is cut: the row asked about is in the second chunk.
    assert "securetty" not in chunks[0]
    assert "securetty" in chunks[1]
    first = next(
        h
        for h in document_index.search("/etc configuration files", k=10)
        if "unit0.conf" in h.chunk.text
    )
    question = "Which file in /etc controls the terminals root can login on?"
    sources, _ = GroundedAnswerer(document_index, ScriptedEngine()).fit_sources(
        question, [first], answer_tokens=200
    )
    # The first half of the table was found; the row asked about is read from the second,
    # shown apart where the excerpt's densest run of matching lines lacks it.
    assert "securetty | TTY access control for root login" in sources[0].text
    assert sources[0].page == first.page


EXPERIMENTAL_PAGE = (
    "Using the experimental suite\n\n"
    "Packages in experimental are not part of any release. To install them, add these "
    "lines to the file /etc/apt/sources.list:\n\n"
    "deb http://deb.example.org/debian experimental main\n"
    "deb-src http://deb.example.org/debian experimental main\n\n"
    "Then run apt update and install a package with apt install -t experimental name.\n"
)
LEAD_IN = "To install packages from experimental, add these lines to /etc/apt/sources.list: [1]"


@pytest.fixture
def indexed_suite_notes(document_index: DocumentIndex, tmp_path: Path) -> Path:
    notes = tmp_path / "suites.txt"
    notes.write_text(EXPERIMENTAL_PAGE)
    document_index.index_paths([notes])
    return notes


def test_an_answer_that_stops_at_its_lead_in_goes_on_with_the_lines_it_introduces(
    document_index: DocumentIndex, indexed_suite_notes: Path
) -> None:
    # The model ends at "...: [1]"; asked to go on from a code fence, it writes the lines.
    scripted = ScriptedEngine()
    lines = "deb http://deb.example.org/debian experimental main\n"
    scripted.enqueue(LEAD_IN, ["\n", lines, "```"])
    pieces: list[str] = []
    question = "What do I add to sources.list to get packages from experimental?"
    answer = GroundedAnswerer(document_index, scripted).ask(
        question, HOW_TO_OPTIONS, on_piece=pieces.append
    )
    assert answer.answer == f"{LEAD_IN}\n\n```\n{lines}```"
    assert "".join(pieces).strip() == answer.answer  # the window showed the lines as they came
    continuation = scripted.requests[1]
    assert continuation.prompt is not None
    assert continuation.prompt.endswith(f"{LEAD_IN}\n\n```")
    assert continuation.options.grammar == CODE_BLOCK_GRAMMAR
    assert answer.finish_reason == "stop"
    # The block may take what the answer's limit leaves (a piece is a token here), so a
    # block cut at it makes the answer cut, and a higher limit gives it more room.
    long_options = replace(HOW_TO_OPTIONS, max_tokens=1000)
    scripted.enqueue(LEAD_IN, ["\n", lines, "```"])
    GroundedAnswerer(document_index, scripted).ask(question, long_options)
    assert scripted.requests[-1].options.max_tokens == 999
    scripted.enqueue(LEAD_IN, ["\n"] + [f"deb line {n}\n" for n in range(CODE_BLOCK_TOKENS)])
    cut = GroundedAnswerer(document_index, scripted).ask(question, HOW_TO_OPTIONS)
    assert scripted.requests[-1].options.max_tokens == CODE_BLOCK_TOKENS
    assert cut.finish_reason == "length"
    # Lines that the source does not hold are dropped with their lead-in.
    scripted.enqueue(LEAD_IN, "\ndeb http://mirror.invalid/debian unstable contrib\n```")
    answer = GroundedAnswerer(document_index, scripted).ask(question, HOW_TO_OPTIONS)
    assert answer.answer == NOT_IN_SOURCES
    # An answer that ends anywhere else is not gone on with.
    scripted.enqueue("Add the experimental line to /etc/apt/sources.list [1].")
    asked = len(scripted.requests)
    GroundedAnswerer(document_index, scripted).ask(question, HOW_TO_OPTIONS)
    assert len(scripted.requests) == asked + 1


def test_an_answer_limit_near_the_context_size_leaves_the_sources_room(
    document_index: DocumentIndex, indexed_suite_notes: Path
) -> None:
    # 8192 answer tokens (the settings' most) in a 4096-token context left no room for
    # sources, and an answer without sources is not checked against any.
    scripted = ScriptedEngine(n_ctx=4096)
    question = "What do I add to sources.list to get packages from experimental?"
    answerer = GroundedAnswerer(document_index, scripted)
    sources, _ = answerer.fit_sources(question, document_index.search(question), 8192)
    assert sources
    assert "experimental main" in sources[0].text


def test_the_default_model_writes_the_lines_a_lead_in_introduces(
    document_index: DocumentIndex,
    engine: EngineClient,
    qwen05_model: Path,
    indexed_suite_notes: Path,
) -> None:
    engine.load(qwen05_model, n_ctx=4096, n_threads=2)
    answerer = GroundedAnswerer(document_index, engine)
    question = "What do I add to sources.list to get packages from experimental?"
    sources, messages = answerer.fit_sources(question, document_index.search(question), 256)
    assert "experimental main" in sources[0].text
    block = answerer._lines_after_lead_in(messages, LEAD_IN, HOW_TO_OPTIONS, 0, None, None)
    assert block.text.startswith("\n\n```"), block.text
    assert block.text.endswith("```"), block.text
    assert "deb http://deb.example.org/debian experimental main" in block.text, block.text
