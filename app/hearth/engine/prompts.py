"""Turning a conversation into the text a model continues.

Models that carry a chat template in their GGUF get it rendered (Jinja, as llama.cpp's
own server does). Base models without one, such as the bundled Gemma 3 270M, get a plain
transcript format they continue naturally, plus stop strings that end the answer where
the model would start writing the next turn itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str


@dataclass(frozen=True)
class FormattedPrompt:
    text: str
    stop: list[str]
    # True when the text already begins with the BOS token (so tokenizing must not add one).
    has_bos: bool
    # True for the plain transcript of a base model (no chat template of its own).
    plain_transcript: bool = False


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
    return FormattedPrompt(
        text="\n".join(parts), stop=list(PLAIN_STOP_STRINGS), has_bos=False, plain_transcript=True
    )


def template_has_tool_calls(template: str | None) -> bool:
    """Whether a chat template defines its own tool-call format (Qwen2.5: a tools section in
    the system turn, calls as <tool_call>{json}</tool_call>, results as tool turns)."""
    return bool(template) and "<tool_call>" in str(template) and "tools" in str(template)


def format_with_template(
    messages: list[ChatMessage],
    template: str,
    bos_token: str,
    eos_token: str,
    tools: list[dict[str, Any]] | None = None,
) -> FormattedPrompt:
    """Render the model's own chat template (the llama-cpp-python Jinja formatter), with
    ``tools`` (OpenAI-style function specs) in the template's tools section."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token)
    # Templates that don't know a "tool" role get tool results as user turns.
    tool_role = template_has_tool_calls(template)
    normalised = [
        {
            "role": "user" if m["role"] == "tool" and not tool_role else m["role"],
            "content": m["content"],
        }
        for m in messages
    ]
    response = formatter(messages=normalised, tools=tools)  # type: ignore[arg-type]
    stop = response.stop if isinstance(response.stop, list) else [response.stop or eos_token]
    stop = [s for s in stop if s]
    text = response.prompt
    return FormattedPrompt(
        text=text, stop=stop, has_bos=bool(bos_token) and text.startswith(bos_token)
    )


# A speaker label: up to three words of at most 40 characters, starting with a letter.
SPEAKER_LABEL_CHARS = 40
SPEAKER_LABEL_WORDS = 3


def _speaker_line_state(line: str) -> Literal["speaker", "maybe", "other"]:
    """Whether ``line`` (text after a line break, possibly still growing) opens with a
    "Name:" label followed by a space: "speaker"; "maybe" while more text could still
    make it one; "other" once it cannot."""
    if not line:
        return "maybe"
    if not line[0].isalpha():
        return "other"
    for position, char in enumerate(line):
        if char == ":":
            if position + 1 == len(line):
                return "maybe"
            return "speaker" if line[position + 1] in " \t" else "other"
        if position >= SPEAKER_LABEL_CHARS or not (char.isalnum() or char in " .'’-_"):
            return "other"
        if line[: position + 1].count(" ") >= SPEAKER_LABEL_WORDS:
            return "other"
    return "maybe"


class SpeakerLineGuard:
    """Ends a base model's answer where it starts a new "Name: ..." line.

    Given documents that are chats or transcripts, a base model answers and then carries
    on writing the conversation ("...the hooks.\nLiHua: Thanks, Adam!"); in the plain
    transcript format any line that opens with a speaker label is a new turn, the general
    case of the "\nUser:" stop string. Text after a line break is held back only until it
    is clearly not such a label (a few characters), so streaming stays smooth.
    """

    def __init__(self) -> None:
        self._held = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """The part of the text so far that is safe to show; sets ``stopped`` at a label."""
        if self.stopped:
            return ""
        text = self._held + piece
        shown: list[str] = []
        while True:
            newline = text.find("\n")
            if newline < 0:
                shown.append(text)
                self._held = ""
                break
            shown.append(text[:newline])
            state = _speaker_line_state(text[newline + 1 :])
            if state == "speaker":
                self.stopped = True
                self._held = ""
                break
            if state == "maybe":
                self._held = text[newline:]
                break
            shown.append("\n")
            text = text[newline + 1 :]
        return "".join(shown)

    def flush(self) -> str:
        """At the end of generation: what is still held back, unless it is a bare label."""
        held, self._held = self._held, ""
        if self.stopped or held.rstrip().endswith(":"):
            return ""
        return held
