"""Model-free entity extraction: names, dates, times, quantities and quoted titles.

MiniRAG asks a language model for the entities of every chunk, which takes days on a
laptop. These rules run at regex speed and find what questions about personal documents
hinge on: who (capitalised names, including CamelCase handles and "Speaker:" labels),
when (dates in many spellings, normalised so 20260714, 2026-07-14 and "July 14" meet),
how much, and quoted titles. Names are keyed case-, space- and accent-insensitively, so
"Li Hua", "LiHua" and "lihua" are one entity.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

NAME = "name"
DATE = "date"
MONTH = "month"
TIME = "time"
QUANTITY = "quantity"
TITLE = "title"

MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

# Capitalised words that are English function words, pronouns or greetings, not names.
NOT_NAMES = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "i'm",
        "i've",
        "i'll",
        "i'd",
        "me",
        "my",
        "mine",
        "we",
        "us",
        "our",
        "you",
        "your",
        "yours",
        "he",
        "him",
        "his",
        "she",
        "her",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "how",
        "if",
        "then",
        "than",
        "so",
        "but",
        "and",
        "or",
        "nor",
        "not",
        "no",
        "yes",
        "yeah",
        "yep",
        "ok",
        "okay",
        "oh",
        "ah",
        "hey",
        "hi",
        "hello",
        "dear",
        "thanks",
        "thank",
        "please",
        "sorry",
        "sure",
        "well",
        "also",
        "just",
        "only",
        "even",
        "still",
        "maybe",
        "perhaps",
        "let",
        "let's",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "to",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "about",
        "as",
        "into",
        "over",
        "after",
        "before",
        "during",
        "until",
        "since",
        "while",
        "because",
        "though",
        "although",
        "all",
        "any",
        "each",
        "every",
        "some",
        "many",
        "much",
        "more",
        "most",
        "other",
        "another",
        "such",
        "both",
        "either",
        "neither",
        "one",
        "two",
        "three",
        "first",
        "last",
        "next",
        "new",
        "good",
        "great",
        "nice",
        "cool",
        "wow",
        "awesome",
        "amazing",
        "perfect",
        "absolutely",
        "definitely",
        "totally",
        "really",
        "very",
        "same",
        "lol",
        "haha",
        "omg",
        "btw",
        "fyi",
        "re",
        "fw",
        "fwd",
        "p.s",
        "ps",
        "note",
        "see",
        "dont",
        "don't",
        "can't",
        "won't",
        "it's",
        "that's",
        "what's",
        "today",
        "tomorrow",
        "yesterday",
        "tonight",
        "morning",
        "evening",
        "night",
        "afternoon",
        "week",
        "weekend",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sir",
        "madam",
        "chapter",
        "section",
        "page",
        "figure",
        "table",
        "part",
        "time",
        "date",
        "am",  # "5 PM" is a time, not someone called PM
        "pm",
    ]
)

# Folded like name keys, with months and weekdays (dates, not names) added.
NOT_NAME_KEYS = (
    frozenset("".join(ch for ch in word if ch.isalnum()) for word in NOT_NAMES)
    | frozenset(MONTHS)
    | frozenset(WEEKDAYS)
)

_WORD = r"[A-Z][A-Za-z'’\-]*[A-Za-z]|[A-Z]"
_NAME_RUN = re.compile(
    rf"(?<![\w'’])(?:{_WORD})(?:[ \t]+(?:of[ \t]+|de[ \t]+|van[ \t]+|von[ \t]+)?(?:{_WORD})){{0,3}}(?![\w'’])"
)
_CAMEL_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SPEAKER = re.compile(r"^[ \t]*([A-Z][\w'’\- ]{0,40}?):[ \t]", re.MULTILINE)
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n\s*|[\"“(]\s*)$")

_COMPACT_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
_ISO_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d\d)[-/.](1[0-2]|0?[1-9])[-/.](3[01]|[12]\d|0?[1-9])(?!\d)"
)
_MONTH_WORD = r"(january|february|march|april|may|june|july|august|september|sept|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec)\.?"
_DAY = r"(3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+((?:19|20)\d\d))?"
_MONTH_DAY = re.compile(rf"\b{_MONTH_WORD}\s+{_DAY}\b{_YEAR}", re.IGNORECASE)
_DAY_MONTH = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH_WORD}\b{_YEAR}", re.IGNORECASE)
_MONTH_ALONE = re.compile(
    r"\b(january|february|march|april|june|july|august|september|october|november|december)\b",
    re.IGNORECASE,
)
# "May" alone is mostly the verb: it is the month only where a month's words lead or a
# year follows ("in May", "the month of May", "May 2026").
_MAY_AS_MONTH = re.compile(
    r"\b(?:(?:[Ii]n|[Oo]f|[Dd]uring|[Ss]ince|[Uu]ntil|[Tt]ill|[Bb]y|[Ee]arly|[Ll]ate|[Mm]id|"
    r"[Tt]his|[Ll]ast|[Nn]ext)\s+|[Mm]id-)May\b|\bMay\s+(?:19|20)\d\d\b"
)
_TIME = re.compile(
    # The 24-hour form may follow a date directly ("20260428_17:00", "2026-04-28T17:00").
    r"\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s?([ap])\.?m\b\.?|(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?!\d)",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    r"(?:[$€£]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:k|m|bn|million|billion))?)"
    r"|(?:\b\d[\d,]*(?:\.\d+)?\s?(?:%|percent|km|kg|g|mg|ml|l|cm|mm|m|mi|miles?|lbs?|pounds|"
    r"dollars|euros|yuan|hours?|hrs?|minutes?|mins?|seconds?|days?|weeks?|months?|years?|"
    r"people|pages?|gb|mb|tb|ghz|mph|kmh|calories|steps|reps|sets)\b)",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“]([^\"“”\n]{2,80})[\"”]|‘([^‘’\n]{2,80})’")


@dataclass(frozen=True)
class Entity:
    key: str  # identity: kind plus normalised form, e.g. "name:lihua", "date:07-14"
    name: str  # how it is shown and embedded
    kind: str


def entity_token(key: str) -> str:
    """The key as one keyword-index token ("date:2026-01-06" -> "date20260106")."""
    return "".join(ch for ch in key if ch.isalnum())


def fold(text: str) -> str:
    """Lowercase, strip accents and everything but letters and digits: the name key."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.lower() if ch.isalnum())


_POSSESSIVE = re.compile(r"['’]s?$")


def _name_entity(display: str) -> Entity | None:
    display = _POSSESSIVE.sub("", " ".join(display.split()))
    key = fold(display)
    if len(key) < 2 or key.isdigit():
        return None
    return Entity(f"{NAME}:{key}", display, NAME)


def split_camel(word: str) -> str:
    """'WolfgangSchulz' -> 'Wolfgang Schulz' (chat handles and identifiers)."""
    return _CAMEL_SPLIT.sub(" ", word)


def _date_entities(year: int | None, month: int, day: int) -> list[Entity]:
    try:
        import datetime

        datetime.date(year or 2000, month, day)  # 2000 is a leap year: Feb 29 stays valid
    except ValueError:
        return []
    entities = [Entity(f"{DATE}:{month:02d}-{day:02d}", f"{MONTH_NAMES[month - 1]} {day}", DATE)]
    if year:
        entities.append(
            Entity(f"{DATE}:{year}-{month:02d}-{day:02d}", f"{year}-{month:02d}-{day:02d}", DATE)
        )
    entities.append(Entity(f"{MONTH}:{month:02d}", MONTH_NAMES[month - 1], MONTH))
    return entities


def extract_dates(text: str) -> list[Entity]:
    found: list[Entity] = []
    for match in _COMPACT_DATE.finditer(text):
        found += _date_entities(int(match[1]), int(match[2]), int(match[3]))
    for match in _ISO_DATE.finditer(text):
        found += _date_entities(int(match[1]), int(match[2]), int(match[3]))
    for match in _MONTH_DAY.finditer(text):
        found += _date_entities(
            int(match[3]) if match[3] else None, MONTHS[match[1].lower()], int(match[2])
        )
    for match in _DAY_MONTH.finditer(text):
        found += _date_entities(
            int(match[3]) if match[3] else None, MONTHS[match[2].lower()], int(match[1])
        )
    for match in _MONTH_ALONE.finditer(text):
        month = MONTHS[match[1].lower()]
        found.append(Entity(f"{MONTH}:{month:02d}", MONTH_NAMES[month - 1], MONTH))
    for _ in _MAY_AS_MONTH.finditer(text):
        found.append(Entity(f"{MONTH}:05", MONTH_NAMES[4], MONTH))
    return found


def extract_times(text: str) -> list[Entity]:
    found: list[Entity] = []
    for match in _TIME.finditer(text):
        if match[3]:
            hour = int(match[1]) % 12 + (12 if match[3].lower() == "p" else 0)
            minute = int(match[2] or 0)
        else:
            hour, minute = int(match[4]), int(match[5])
        found.append(Entity(f"{TIME}:{hour:02d}:{minute:02d}", f"{hour:02d}:{minute:02d}", TIME))
    return found


def extract_names(text: str) -> list[Entity]:
    """Capitalised runs that are not sentence-initial common words, plus speaker labels."""
    found: list[Entity] = []
    mid_sentence: set[str] = set()
    candidates: list[tuple[str, bool]] = []
    for match in _NAME_RUN.finditer(text):
        words = [
            w
            for w in match[0].split()
            if fold(w) not in NOT_NAME_KEYS or (w.isupper() and len(w) > 1)
        ]
        # Trim function words off both ends ("The Hague" stays, "Thanks Wolfgang" -> "Wolfgang").
        run = match[0].split()
        while run and fold(run[0]) in NOT_NAME_KEYS:
            run.pop(0)
        while run and fold(run[-1]) in NOT_NAME_KEYS:
            run.pop()
        if not run or not words:
            continue
        display = " ".join(split_camel(w) for w in run)
        starts_sentence = run[0] == match[0].split()[0] and bool(
            _SENTENCE_START.search(text[max(0, match.start() - 3) : match.start()])
            or match.start() == 0
        )
        if not starts_sentence:
            mid_sentence.add(fold(display))
        candidates.append((display, starts_sentence))
    for display, starts_sentence in candidates:
        several_words = " " in display
        if starts_sentence and not several_words and fold(display) not in mid_sentence:
            continue  # "Sounds", "Awesome": a capital only because a sentence starts there
        entity = _name_entity(display)
        if entity:
            found.append(entity)
    for match in _SPEAKER.finditer(text):
        entity = _name_entity(split_camel(match[1].strip()))
        if entity and fold(match[1]) not in NOT_NAME_KEYS:
            found.append(entity)
    return found


def extract_quantities(text: str) -> list[Entity]:
    found = []
    for match in _QUANTITY.finditer(text):
        display = " ".join(match[0].split())
        found.append(Entity(f"{QUANTITY}:{fold(display)}", display, QUANTITY))
    return found


def extract_titles(text: str) -> list[Entity]:
    found = []
    for match in _QUOTED.finditer(text):
        title = (match[1] or match[2] or "").strip()
        if title and title[0].isupper() and len(title.split()) <= 10:
            found.append(Entity(f"{TITLE}:{fold(title)}", title, TITLE))
    return found


def extract_entities(text: str) -> Counter[Entity]:
    """Every entity in ``text`` with how often it occurs, one per key ("Li Hua" and
    "LiHua" are counted together under the spelling used most)."""
    spellings: Counter[Entity] = Counter()
    for extractor in (
        extract_names,
        extract_dates,
        extract_times,
        extract_quantities,
        extract_titles,
    ):
        spellings.update(extractor(text))
    by_key: dict[str, list[tuple[Entity, int]]] = {}
    for entity, count in spellings.items():
        by_key.setdefault(entity.key, []).append((entity, count))
    found: Counter[Entity] = Counter()
    for variants in by_key.values():
        preferred = max(variants, key=lambda item: item[1])[0]
        found[preferred] = sum(count for _, count in variants)
    return found
