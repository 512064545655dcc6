"""One turn (answer_turn): when the tool step runs, how a follow-up reaches the search and
the prompt (scripted engine), and that an answer's draw is its own (the 0.5B)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.assistant.chat import ANSWER_SEED, TurnRequest, answer_turn, tool_could_help
from hearth.assistant.workspace import Workspace
from hearth.engine.prompts import ChatMessage
from hearth.index.embedder import Embedder
from tests.fakes import ScriptedEngine


@pytest.fixture
def policy_workspace(scripted_workspace: Workspace, tmp_path: Path) -> Workspace:
    policy = tmp_path / "policy.txt"
    policy.write_text(
        "9.5 Cron jobs\n\nPackages may not touch /etc/crontab. A package that needs a cron "
        "job installs a file in /etc/cron.d named after the package.\n",
        "utf-8",
    )
    scripted_workspace.index.index_paths([policy])
    return scripted_workspace


def test_the_tool_step_runs_only_where_a_tool_other_than_the_search_could_help(
    policy_workspace: Workspace,
) -> None:
    assert tool_could_help(policy_workspace, "What is 23 times 19?")
    assert tool_could_help(policy_workspace, "Give me a summary of policy.txt")
    # A question for the documents: the answer searches them anyway.
    assert not tool_could_help(policy_workspace, "Where does a package put its cron job?")
    # A summary of part of a document comes from its sources, not from reading it all.
    assert not tool_could_help(
        policy_workspace, "Give me a short summary of what the policy says about cron jobs."
    )
    assert not tool_could_help(policy_workspace, "Summarise the section on cron jobs")


def test_a_document_question_reaches_the_model_once(
    policy_workspace: Workspace, scripted_engine: ScriptedEngine
) -> None:
    scripted_engine.enqueue("In /etc/cron.d [1].")
    turn = answer_turn(policy_workspace, TurnRequest("Where does a package put its cron job?"))
    assert turn.text == "In /etc/cron.d [1]."
    assert turn.cited == [1]
    assert len([r for r in scripted_engine.requests if r.messages]) == 1  # no tool step


def test_a_follow_up_is_searched_with_its_subject(
    policy_workspace: Workspace, scripted_engine: ScriptedEngine
) -> None:
    history: list[ChatMessage] = [
        {"role": "user", "content": "Where does a package put its cron job?"},
        {"role": "assistant", "content": "In /etc/cron.d [1]."},
    ]
    scripted_engine.enqueue("After the package [1].")
    turn = answer_turn(
        policy_workspace,
        TurnRequest("How must that file be named?", history),
    )
    assert "cron" in turn.search_query
    assert turn.sources[0].document.endswith("policy.txt")
    # The model reads the follow-up alone, over sources found with its subject: shown the
    # earlier question, the 0.5B answered that one again; an earlier answer's markers name
    # other sources than this turn's.
    messages = [r for r in scripted_engine.requests if r.messages][-1].messages
    assert messages is not None
    assert "Question: How must that file be named?" in messages[-1]["content"]
    assert not any("/etc/cron.d [1]" in m["content"] for m in messages)


def test_every_answer_is_drawn_with_the_answer_seed_unless_the_turn_names_another(
    policy_workspace: Workspace, scripted_engine: ScriptedEngine
) -> None:
    answer_turn(policy_workspace, TurnRequest("Where does a package put its cron job?"))
    answer_turn(policy_workspace, TurnRequest("Where does a package put its cron job?", seed=7))
    seeds = [r.options.seed for r in scripted_engine.requests if r.messages]
    assert seeds == [ANSWER_SEED, 7]


def test_the_same_question_gets_the_same_answer_whatever_was_asked_before(
    hearth_home: Path, qwen05_model: Path, shared_embedder: Embedder, tmp_path: Path
) -> None:
    # Hot sampling, so that two draws of a long answer all but never agree by chance; the
    # third answer came out different when every answer was the next draw of one generator.
    workspace = Workspace(embedder=shared_embedder)
    try:
        workspace.settings.temperature = 1.0
        workspace.settings.tools_enabled = False
        notes = tmp_path / "heating-notes.txt"
        notes.write_text(
            "Bleeding the radiators\n\nAir trapped in a radiator leaves its top cold. Turn the "
            "heating off and let the radiators cool for 30 minutes. Put a cloth under the "
            "bleed valve, turn it a quarter turn with the radiator key until water appears, "
            "then close it. Check that the boiler's pressure gauge reads between 1.0 and 1.5 "
            "bar, and top it up with the filling loop if it reads lower.\n\n"
            "Servicing\n\nThe boiler must be serviced every 12 months by a registered "
            "engineer, who stamps the service record.\n",
            "utf-8",
        )
        workspace.index.index_paths([notes])
        question = "How do I bleed a radiator, step by step?"
        first = answer_turn(workspace, TurnRequest(question)).text
        answer_turn(workspace, TurnRequest("How often must the boiler be serviced?"))
        again = answer_turn(workspace, TurnRequest(question)).text
        assert again == first
    finally:
        workspace.close()
