"""Grammar-first sampling: the same greedy text as llama.cpp's full-vocabulary grammar
check, still held to the grammar (the real llama.cpp and the 0.5B model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hearth.assistant.grounded import INSTRUCTED_SYSTEM_PROMPT, cited_answer_grammar
from hearth.engine.grammar_first import GrammarFirstSampler, sample_grammar_first
from hearth.engine.host import open_llama

SOURCES = (
    "[1] To use experimental, add this line to /etc/apt/sources.list:\n"
    "deb http://deb.debian.org/debian experimental main\n"
    "[2] The boiler's pressure gauge should read between 1.0 and 1.5 bar."
)
QUESTIONS = [
    "What line do I add to sources.list for experimental?",
    "What should the gauge read?",
    "Is the sky green? Answer yes or no.",
]


def greedy_text(llama: Any, question: str, grammar_text: str) -> str:
    from llama_cpp.llama_grammar import LlamaGrammar

    grammar = LlamaGrammar.from_string(grammar_text, verbose=False)
    messages = [
        {"role": "system", "content": INSTRUCTED_SYSTEM_PROMPT},
        {"role": "user", "content": f"Sources:\n{SOURCES}\n\nQuestion: {question}"},
    ]
    llama.reset()  # the whole prompt evaluated each time: reused prefixes shift logits a little
    reply = llama.create_chat_completion(
        messages, max_tokens=120, temperature=0.0, grammar=grammar, seed=1
    )
    return str(reply["choices"][0]["message"]["content"])


def test_grammar_first_writes_what_the_full_check_writes(qwen05_file: Path) -> None:
    llama = open_llama(qwen05_file, n_ctx=1024, n_threads=2)
    answer_grammar = cited_answer_grammar(2)
    yes_no = 'root ::= "yes" | "no"'
    full = [greedy_text(llama, q, answer_grammar) for q in QUESTIONS]
    full.append(greedy_text(llama, QUESTIONS[2], yes_no))
    sample_grammar_first(llama)
    first = [greedy_text(llama, q, answer_grammar) for q in QUESTIONS]
    first.append(greedy_text(llama, QUESTIONS[2], yes_no))
    assert first == full
    assert first[-1] in ("yes", "no")  # held to the grammar where the model would not be
    assert all("[" in text for text in first[:2])  # every answer cites, as the grammar says


def test_the_sampler_stands_in_for_the_chain_only_where_there_is_a_grammar(
    qwen05_file: Path,
) -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    llama = open_llama(qwen05_file, n_ctx=256, n_threads=2)
    sample_grammar_first(llama)
    grammar = LlamaGrammar.from_string('root ::= "a"', verbose=False)
    assert isinstance(llama._init_sampler(grammar=grammar, temp=0.0), GrammarFirstSampler)
    assert not isinstance(llama._init_sampler(grammar=None, temp=0.0), GrammarFirstSampler)


def grammar_allows(llama: Any, grammar_text: str, text: str) -> bool:
    """Whether the engine's grammar check lets ``text`` (as the model's tokens) be the start
    of an answer under ``grammar_text``."""
    import llama_cpp
    from llama_cpp.llama_grammar import LlamaGrammar

    sampler = GrammarFirstSampler(llama, None, LlamaGrammar.from_string(grammar_text, False))
    try:
        for token in llama.tokenize(text.encode(), add_bos=False, special=False):
            if not sampler.allows(token):
                return False
            llama_cpp.llama_sampler_accept(sampler.grammar, token)
        return True
    finally:
        sampler.close()


def test_a_word_in_brackets_may_be_a_tag_or_option_but_not_a_source_name(
    qwen05_file: Path,
) -> None:
    llama = open_llama(qwen05_file, n_ctx=256, n_threads=2)
    grammar = cited_answer_grammar(3)
    for allowed in (
        "Add a [Service] section and a [Socket] one [1].",
        "Prepend [VAC] to the subject [2]. Run it with [-v] or [/path] [3].",
        "Sort them with [sort] [1].",
    ):
        assert grammar_allows(llama, grammar, allowed), allowed
    # The markers the models looped on, counting up to the token limit.
    for refused in ("Logs go in /var/log [1] [source 2]", "It is 5 [Source 1]", "[Sources 1"):
        assert not grammar_allows(llama, grammar, refused), refused
    assert not grammar_allows(llama, grammar, "It is [7].")  # no source 7
