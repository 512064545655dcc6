"""Turning a conversation into the text a model continues.

Models that carry a chat template in their GGUF get it rendered (Jinja, as llama.cpp's
own server does). Base models without one, such as the bundled Gemma 3 270M, get a plain
transcript format they continue naturally, plus stop strings that end the answer where
the model would start writing the next turn itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str


@dataclass(frozen=True)
class FormattedPrompt:
    text: str
    stop: list[str]
    # True when the text already begins with the BOS token (so tokenizing must not add one).
    has_bos: bool


PLAIN_ROLE_LABELS = {"user": "User", "assistant": "Assistant", "tool": "Tool result"}
# Where a base model tends to carry on inventing the conversation.
PLAIN_STOP_STRINGS = [
    "\nUser:",
    "\nAssistant:",
    "\nTool result:",
    "\n\n\n",
    "<end_of_turn>",
    "<eos>",
]


def format_plain(messages: list[ChatMessage]) -> FormattedPrompt:
    """A transcript a base model continues: system text, then 'User:'/'Assistant:' turns."""
    parts: list[str] = []
    for message in messages:
        content = message["content"].strip()
        if message["role"] == "system":
            parts.append(content + "\n")
        else:
            parts.append(f"{PLAIN_ROLE_LABELS[message['role']]}: {content}")
    parts.append("Assistant:")
    return FormattedPrompt(text="\n".join(parts), stop=list(PLAIN_STOP_STRINGS), has_bos=False)


def format_with_template(
    messages: list[ChatMessage], template: str, bos_token: str, eos_token: str
) -> FormattedPrompt:
    """Render the model's own chat template (the llama-cpp-python Jinja formatter)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token)
    # Templates that don't know a "tool" role get tool results as user turns.
    normalised = [
        {"role": "user" if m["role"] == "tool" else m["role"], "content": m["content"]}
        for m in messages
    ]
    response = formatter(messages=normalised)  # type: ignore[arg-type]
    stop = response.stop if isinstance(response.stop, list) else [response.stop or eos_token]
    stop = [s for s in stop if s]
    text = response.prompt
    return FormattedPrompt(
        text=text, stop=stop, has_bos=bool(bos_token) and text.startswith(bos_token)
    )
