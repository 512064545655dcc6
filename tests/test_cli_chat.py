from __future__ import annotations

import json
from pathlib import Path

from tests.models.test_catalogue import run_hearth


def test_chat_json_streams_an_answer_from_the_bundled_model(gemma_model: Path) -> None:
    result = run_hearth(
        "chat", "Name three colours of the rainbow.", "--json", "--max-tokens", "24"
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"model", "text", "prompt_tokens", "completion_tokens", "seconds"}
    assert answer["model"] == gemma_model.stem
    assert answer["text"]
    assert answer["prompt_tokens"] > 5
    assert 0 < answer["completion_tokens"] <= 25
    # The plain-prompt stop strings keep a base model from writing the user's next turn.
    assert "User:" not in answer["text"]
