"""Reading the LiHua-World benchmark in place (the zip and query set in shared/)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "benchmarks" / "lihua-world"


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str
    kind: str  # Single, Multi or Null
    evidence: tuple[str, ...]  # file stems, e.g. "20260105_1400"


def extract_sessions(data: Path, target: Path) -> list[Path]:
    """Unpack the session files into ``target`` (a temporary folder outside the project)."""
    with zipfile.ZipFile(data / "LiHuaWorld.zip") as archive:
        members = [m for m in archive.namelist() if m.endswith(".txt")]
        archive.extractall(target, members)
    return sorted(target.rglob("*.txt"))


def load_questions(data: Path) -> list[Question]:
    raw = json.loads((data / "query_set.json").read_text(encoding="utf-8"))
    questions = []
    for question_id, item in raw.items():
        # The README's rule, literally: drop the colon to get the file stem; an entry that
        # then names no file (e.g. "N/A", or one with a "Time: " prefix) is skipped later.
        stems = tuple(part.strip().replace(":", "") for part in item["evidence"].split("<and>"))
        questions.append(
            Question(str(question_id), item["question"], item["answer"], item["type"], stems)
        )
    return questions


def answerable(questions: list[Question], stems: set[str]) -> list[Question]:
    """Single and Multi questions, keeping only evidence entries that name a file."""
    kept = []
    for question in questions:
        if question.kind == "Null":
            continue
        evidence = tuple(s for s in question.evidence if s in stems)
        if evidence:
            kept.append(
                Question(question.id, question.question, question.answer, question.kind, evidence)
            )
    return kept
