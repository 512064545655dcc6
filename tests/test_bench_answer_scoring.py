"""The answer benchmark's scoring rule, on answers written here (no model needed)."""

from __future__ import annotations

import pytest

from bench.answers import score
from bench.lihua import Question


def question(gold: str, kind: str = "Single") -> Question:
    return Question("1", "Did the ferry run on Sunday?", gold, kind, ())


def test_token_f1_leaves_out_stop_words_and_citation_markers() -> None:
    f1, matched = score("The ferry left at 9 am [2].", question("ferry left 9 am"))
    assert (f1, matched) == (1.0, True)
    f1, matched = score("It was the lantern [1]", question("the harbour lantern"))
    assert f1 == pytest.approx(2 / 3)
    assert matched


def test_a_gold_answer_of_stop_words_only_is_compared_word_for_word() -> None:
    # "No" is a stop word: scored on content words only, no answer could ever match it.
    assert score("No [1]", question("No")) == (1.0, True)
    assert score("No, it did not [1].", question("No"))[0] == pytest.approx(2 / 5)
    assert score("Yes [1]", question("No")) == (0.0, False)


def test_a_null_question_scores_the_decline() -> None:
    null = question("Insufficient information", "Null")
    assert score("I couldn't find that in your documents.", null) == (1.0, True)
    assert score("On Sunday [1]", null) == (0.0, False)
