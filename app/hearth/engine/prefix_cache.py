"""Prompt prefixes kept in the engine host between requests.

llama.cpp reuses the key/value cache of the tokens a prompt shares with the previous one.
But Hearth's requests alternate: the question step, the tool decision and the answer each
open with their own fixed instructions, so each evicts the other's. This cache keeps the
state of each fixed opening (a sequence's KV cells, a few MB) and puts it back when a
prompt starts with it: a follow-up question's first token comes sooner.

The fixed opening of a chat prompt is everything before its last user turn: the system
prompt (with the tool list, or the worked examples), and the conversation so far. The host
reads every chat from its kept opening (host.py), never on from what the last prompt left
in llama.cpp's cache, so that an answer does not depend on the question before it.
"""

from __future__ import annotations

import ctypes
import logging
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)

MIN_PREFIX_TOKENS = 48  # shorter openings are re-read in a blink
MAX_ENTRIES = 4
SEQUENCE = 0  # llama-cpp-python keeps everything in sequence 0


def common_prefix_length(a: list[int], b: list[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


class PrefixCache:
    def __init__(self, entries: int = MAX_ENTRIES) -> None:
        self.entries = entries
        self._states: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self.hits = 0

    def clear(self) -> None:
        self._states.clear()

    def restore(self, llama: Any, tokens: list[int], afresh: bool = False) -> int:
        """Put back the longest kept opening of ``tokens`` if it beats what the cache holds
        already; the number of tokens that will not be read again. ``afresh``: read on from
        a kept opening in an emptied cache, never from what the last prompt left there,
        unless it holds the whole prompt (a regenerate): read on from a prompt that shared
        its sources, the same question drew another answer from the same seed (the 1.5B,
        bench_docqa policy-07: "[ref: policy.txt]" to its token limit after policy-05)."""
        import llama_cpp

        current = common_prefix_length(list(llama._input_ids), tokens)
        if afresh and current < len(tokens) - 1:
            llama._ctx.kv_cache_clear()
            llama.n_tokens = current = 0
        best: tuple[int, ...] | None = None
        for prefix in self._states:
            longer = best is None or len(prefix) > len(best)
            usable = current < len(prefix) < len(tokens) and longer
            if usable and tuple(tokens[: len(prefix)]) == prefix:
                best = prefix
        if best is None:
            return current
        state = self._states[best]
        self._states.move_to_end(best)
        llama._ctx.kv_cache_seq_rm(SEQUENCE, -1, -1)
        restored = llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, state, len(state), SEQUENCE)
        if not restored:
            log.warning("could not restore a kept prompt prefix; reading it again")
            llama.n_tokens = 0
            return 0
        llama.input_ids[: len(best)] = best
        llama.n_tokens = len(best)
        self.hits += 1
        return len(best)

    def keep(self, llama: Any, prefix: list[int]) -> None:
        """After a request whose prompt opened with ``prefix``: keep that opening's state
        (the cache is cut back to it; what followed is not reused by the next prompt of
        another kind anyway)."""
        import llama_cpp

        key = tuple(prefix)
        if len(key) < MIN_PREFIX_TOKENS or key in self._states:
            if key in self._states:
                self._states.move_to_end(key)
            return
        if common_prefix_length(list(llama._input_ids), prefix) < len(prefix):
            return  # the cache no longer holds this opening
        llama._ctx.kv_cache_seq_rm(SEQUENCE, len(prefix), -1)
        llama.n_tokens = len(prefix)
        size = llama_cpp.llama_state_seq_get_size(llama._ctx.ctx, SEQUENCE)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(llama._ctx.ctx, buffer, size, SEQUENCE)
        if not written:
            return
        self._states[key] = buffer
        while len(self._states) > self.entries:
            self._states.popitem(last=False)
