"""Keyword side of retrieval: query terms for SQLite FTS5 (BM25 ranking, Porter stems)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict

# About a sentence or a chat message: the span in which a question's words, found
# together, say that the text restates it (retrieve.PROXIMITY_WEIGHT).
PROXIMITY_WINDOW_WORDS = 30

# Common English words that carry no topic (BM25 would only add noise for them).
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "ever",
        "also",
        "did",
        "does",
        "doing",
        "what's",
        "who's",
        "let",
        "let's",
        "tell",
        "said",
        "say",
        "says",
        "ask",
        "asked",
        "asks",
        "any",
        "anything",
        "something",
        "thing",
        "things",
        "get",
        "got",
    ]
)
_TERM = re.compile(r"[^\W_]+", re.UNICODE)
_FOLDED_WORD = re.compile(r"[a-z0-9]+")


def query_terms(text: str) -> list[str]:
    terms: list[str] = []
    for term in _TERM.findall(text.lower()):
        if term not in STOP_WORDS and term not in terms:
            terms.append(term)
    return terms


def fts_match_expression(terms: list[str]) -> str | None:
    """An FTS5 MATCH expression that ORs ``terms`` (quoted: no syntax)."""
    kept = [term for term in terms if term]
    if not kept:
        return None
    return " OR ".join(f'"{term}"' for term in kept)


def folded_words(text: str) -> list[str]:
    """Lower-cased words and numbers without accents, in order."""
    lowered = text.lower()
    # NFKD changes no ASCII text: skipped there (retrieval folds every candidate's words).
    if not lowered.isascii():
        lowered = unicodedata.normalize("NFKD", lowered)
    return _FOLDED_WORD.findall(lowered)


def content_words(text: str) -> list[str]:
    """``folded_words`` less stop words: what two texts must share to say the same thing
    (answer scoring, citation matching)."""
    return [word for word in folded_words(text) if word not in STOP_WORDS]


def content_stems(text: str) -> set[str]:
    """The stems of ``text``'s content words: "stops" and "stop", "controls" and "control"
    are one word to an excerpt's choice and to the grounding check."""
    return {word_stem(word) for word in content_words(text)}


def word_stem(word: str) -> str:
    """``word`` with a plural's or a tense's ending taken off ("stops" is "stop")."""
    return _SUFFIX.sub("", word) if len(word) > 4 else word


_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")


def proximity_scores(query: str, texts: list[str]) -> list[float]:
    """For each text, the share of the query's words (weighted by how rare each is among
    ``texts``) that its best window of PROXIMITY_WINDOW_WORDS words holds. BM25 scores a
    chunk's words wherever they are; a question usually restates one message or one
    sentence, whose words stand together."""
    asked = set(content_words(query))
    if not asked or not texts:
        return [0.0] * len(texts)
    words = [folded_words(text) for text in texts]
    seen = Counter(word for text_words in words for word in asked.intersection(text_words))
    rarity = {word: math.log(1.0 + len(texts) / (1.0 + seen[word])) for word in asked}
    total = sum(rarity.values())
    # Windows start every half window, so a word at position p lies in the windows that
    # start at the step at or before p and the one before that.
    step = PROXIMITY_WINDOW_WORDS // 2
    scores = []
    for text_words in words:
        last_start = max(0, len(text_words) - PROXIMITY_WINDOW_WORDS + step - 1)
        windows: dict[int, set[str]] = defaultdict(set)
        for position, word in enumerate(text_words):
            if word in asked:
                start = position - position % step
                for window in (start, start - step):
                    if 0 <= window <= last_start:
                        windows[window].add(word)
        best = max((sum(rarity[w] for w in found) for found in windows.values()), default=0.0)
        scores.append(best / total)
    return scores
