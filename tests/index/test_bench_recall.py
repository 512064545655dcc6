"""Recall as scripts/bench_retrieval counts it (the LiHua-World README's definition)."""

from __future__ import annotations

from bench.lihua import Question
from bench.retrieval import distinct_files, recall


def question(id: str, kind: str, *evidence: str) -> Question:
    return Question(id, f"question {id}", "answer", kind, evidence)


def test_a_question_counts_only_when_every_evidence_file_is_in_the_first_k() -> None:
    questions = [
        question("single", "Single", "b"),
        question("multi-near", "Multi", "a", "g"),  # second file at rank 7
        question("multi-top", "Multi", "c", "a"),
    ]
    ranked = {
        "single": ["a", "b", "c"],
        "multi-near": ["a", "b", "c", "d", "e", "f", "g"],
        "multi-top": ["a", "b", "c"],
    }
    result = recall(ranked, questions)
    assert result["r1"] == 0.0
    assert result["r3"] == 2 / 3
    assert result["r5"] == 2 / 3
    assert result["r10"] == 1.0
    assert (result["multi_r5"], result["multi_r10"]) == (0.5, 1.0)


def test_chunks_of_one_file_count_as_one_rank() -> None:
    paths = ["/x/week1/a.txt", "/x/week1/a.txt", "/x/week2/b.txt", "/x/week1/a.txt"]
    assert distinct_files(paths) == ["a", "b"]
