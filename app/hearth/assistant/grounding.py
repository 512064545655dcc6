"""Grounded or silent: the facts an answer states must occur in the sources it cites.

A fact here is what a small model invents most and a reader checks least: a number, a
path or file name, a command-line option, something quoted in backticks, a version, a
proper name. Each statement of an answer (a sentence or a list item, with its [n]
markers) is checked against the sources it cites; one whose facts sit in another source is
re-cited to that source, one whose facts no source holds is dropped, and an answer left
with no statement declines. A statement with no such fact that shares no words with any
source is kept but reported as unsupported (the window marks it).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from hearth.assistant.citations import CITATION_MARKER, cited_numbers
from hearth.index.keywords import content_stems, content_words, word_stem

# A statement ends after its citation (and full stop), at a line break, or at a sentence
# end before a capital letter. A citation ends in a digit: "[VAC]" is a word.
_STATEMENT_END = re.compile(
    r"(?<=\d[\]】]\.)[ \t]+|(?<=\d[\]】])[ \t]+(?![\[【])|\n+|(?<=[^\d\s][.!?])[ \t]+(?=[A-Z`\"'(])"
)
# A fenced code block (the answer grammar allows one after a statement's citation): it
# belongs to the statement that introduces it.
FENCED_CODE = re.compile(r"\n{1,2}```[^\n]*\n.*?```", re.DOTALL)
_CODE_PLACE = re.compile(r"\x00(\d+)\x00")
_LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", re.MULTILINE)
_BACKTICKED = re.compile(r"`([^`\n]{1,80})`")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,:]\d+)*(?![\w])")
# A number with a unit of measure is one fact: "1.5 kilowatts" is not supported by a
# source's "1.5 bar" (the 0.5B gave the one for the other).
_UNITS = (  # no one-letter units and no "in": "5 in the list" is not 5 inches
    r"kw|kilowatts?|watts?|volts?|amps?|bar|psi|kb|mb|gb|tb|kib|mib|gib|bytes?|bits?|"
    r"ms|milliseconds?|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|"
    r"hz|khz|mhz|ghz|°c|°f|degrees?|inch(?:es)?|cm|mm|km|metres?|meters?|kg|grams?|"
    r"litres?|liters?|ml|pixels?|px|points?|pt|dpi|%|percent"
)
_NUMBER_WITH_UNIT = re.compile(rf"(?<![\w.])(\d+(?:[.,]\d+)*)\s?({_UNITS})(?![\w])", re.IGNORECASE)
# Paths, file names with an extension, options, versions, CamelCase and ALL-CAPS names.
_PATH = re.compile(r"(?<![\w/])(?:~|\.{1,2})?/?[\w.+-]+(?:/[\w.+<>*-]+)+/?")
# A file name's stem may hold versions ("foo_1.2-1.1_all.changes"), not read as a number 1.
_FILE_NAME = re.compile(
    r"(?<![\w/.-])[A-Za-z_][\w+-]*(?:\.[\w+-]+)*?\.[A-Za-z][\w]{0,7}(?:\.[A-Za-z]\w{0,4})?"
    r"(?![\w/])"
)
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")
_CAPITALISED = re.compile(r"(?<![\w'’-])([A-Z][\w'’-]*[a-z0-9][\w'’-]*|[A-Z]{2,}[\w]*)")
# Words that begin a sentence or a list item are capitalised whatever they are.
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*(?:[-*•]|\d{1,2}[.)])?\s*|[\"'(]\s*)$")
# Common words a statement may capitalise that are no proper name worth checking.
_ORDINARY_CAPITALS = frozenset(
    {"I", "If", "In", "It", "Its", "The", "This", "That", "These", "Those", "You", "Your"}
    | {"Yes", "No", "Note", "To", "For", "On", "Use", "See", "When", "Then", "Also", "And"}
    | {"Or", "But", "As", "At", "By", "Of", "With", "From", "After", "Before", "First"}
    | {"Second", "Next", "Finally", "Each", "Every", "Some", "Any", "All", "One"}
)
_ABBREVIATION_ENDS = ("e.g", "i.e", "etc", "vs")
# A statement that opens by pointing at the one before ("This is because ...", "It also ...").
_REFERS_BACK = re.compile(
    r"(?:[-*•]\s+|\d{1,2}[.)]\s+)?(?:this|that|these|those|it|they|such)\b", re.I
)
# Words a statement may add to the question's without saying anything.
_SAYS_NOTHING = frozenset(
    {"answer", "answers", "correct", "source", "sources", "number", "based", "information"}
    | {"provided", "question", "according", "document", "documents", "mentioned", "given"}
    | {"following", "above", "text", "states", "says", "said", "sentence", "sentences"}
    | {"end", "like", "cite", "cited", "mention", "mentions", "note", "sure"}
)
# Words that turn the question's own words into an answer to it: "You do not have to
# physically move your existing spool" answers "do I have to physically move ...?".
_POLARITY = re.compile(r"\b(?:yes|no|not|never|none|nothing|cannot)\b|n['’]t\b", re.I)


def _strip(text: str) -> str:
    """``text`` without its markers (and the full stop after the last), as it reads."""
    # The space a marker leaves before punctuation goes; a file name's dot (" .changes") stays.
    unmarked = CITATION_MARKER.sub("", text)
    return re.sub(r"\s+([.,;:])(?=\s|$)", r"\1", unmarked).strip().rstrip(".").strip()


def split_statements(answer: str) -> list[str]:
    """The answer's statements in order, each with its own markers (and code block)."""
    blocks = [match.group(0) for match in FENCED_CODE.finditer(answer)]
    held = FENCED_CODE.sub(lambda match: f"\x00{blocks.index(match.group(0))}\x00", answer)
    parts: list[str] = []
    for part in (part.strip() for part in _STATEMENT_END.split(held)):
        marker = CITATION_MARKER.fullmatch(part.rstrip("."))
        if marker and parts and _CODE_PLACE.search(parts[-1][-8:]):
            # "Add these lines:" and the lines, then their citation: one statement.
            parts[-1] += " " + part
        elif part and not marker:
            parts.append(part)
    return [_CODE_PLACE.sub(lambda place: blocks[int(place.group(1))], part) for part in parts]


def _code_tokens(code: str) -> list[str]:
    """The words of a code block: code is copied from a source, where the lines around it
    give its context, so each word of it need only occur there (not only its numbers and
    names: "deb ... unstable contrib" for "... experimental main" is a wrong line)."""
    lines = [line for line in code.strip().splitlines() if not line.startswith("```")]
    tokens = (token.strip("\"'`,;()") for line in lines for token in line.split())
    return list(dict.fromkeys(token for token in tokens if len(token) > 1))


def _without_code(statement: str) -> tuple[str, str]:
    """``statement``'s words and its code block ("" where it has none)."""
    code = "".join(match.group(0) for match in FENCED_CODE.finditer(statement))
    return FENCED_CODE.sub("", statement), code


def checkable_facts(text: str) -> list[str]:
    """The numbers, paths, file names, options, quoted code and proper names in ``text``."""
    # Bold is layout: "1. **Check** it" starts its sentence with "Check", not a name.
    plain = _LIST_MARKER.sub("", _strip(text).replace("**", ""))
    facts: list[str] = [quoted.strip() for quoted in _BACKTICKED.findall(plain)]
    bare = _BACKTICKED.sub(" ", plain)
    for pattern in (_PATH, _FILE_NAME, _OPTION):
        for match in pattern.finditer(bare):
            token = match.group(0).rstrip(".,;:")
            if token.lower().endswith(_ABBREVIATION_ENDS) or len(token) < 2:
                continue
            facts.append(token)
    for match in _NUMBER_WITH_UNIT.finditer(bare):
        facts.append(match.group(0))
    claimed = " ".join(facts)
    for match in _NUMBER.finditer(bare):
        if match.group(0) not in claimed:
            facts.append(match.group(0).rstrip(".,:"))
    for match in _CAPITALISED.finditer(bare):
        word = match.group(0).rstrip("'’-")
        if word in _ORDINARY_CAPITALS or word in claimed:
            continue
        if _SENTENCE_START.search(bare[: match.start()]) and not _is_special_name(word):
            continue  # capitalised because it starts the sentence
        facts.append(word)
    return list(dict.fromkeys(facts))


def _is_special_name(word: str) -> bool:
    """CamelCase or ALL CAPS: a name even where a sentence starts."""
    return word.isupper() or any(ch.isupper() for ch in word[1:])


def _normalised(text: str) -> str:
    folded = text.replace("’", "'").replace("\u00a0", " ").lower()
    folded = re.sub(r"(?<=\d),(?=\d{3}\b)", "", folded)  # 48,500 == 48500
    return re.sub(r"\s+", " ", folded)


def occurs_in(fact: str, text: str) -> bool:
    """Whether ``fact`` is in ``text`` (case and spacing aside; a number as a whole)."""
    return next(_occurrences(fact, text), None) is not None


def _occurrences(fact: str, text: str) -> Iterator[tuple[str, int, int]]:
    """(normalised ``text``, start, end) of each place ``fact`` occurs in ``text``."""
    wanted = _normalised(fact).strip()
    haystack = _normalised(text)
    if not wanted:
        yield haystack, 0, 0
        return
    if re.fullmatch(r"[\d.,:]+", wanted):
        # A number as a whole: "3" is not in "8.3.5" nor "1.2" in "1:1.2.0".
        pattern = rf"(?<![\d])(?<![\d][.,:]){re.escape(wanted)}(?![\d])(?![.,:]\d)"
    elif measured := _NUMBER_WITH_UNIT.fullmatch(wanted):
        number, unit = measured.groups()
        # The unit's first letters: "7 years" is in "7 year", "30 min" in "30 minutes".
        pattern = rf"(?<![\d.]){re.escape(number)}\s?{re.escape(unit[:3])}"
        yield from _bare_with_unit_near(number, unit, haystack)
    else:
        # A path written with or without its trailing slash.
        pattern = re.escape(wanted.rstrip("/") or wanted)
    found = False
    for match in re.finditer(pattern, haystack):
        found = True
        yield haystack, match.start(), match.end()
    if not found and (split := _IN_DIRECTORY.fullmatch(wanted.rstrip("/"))):
        yield from _name_under_directory(split.group(1), split.group(2), haystack)


# A path a source gives as a directory and, after it, a name in it: FHS lists the files
# that "must be in /etc" in a table of names ("securetty | TTY access control ..."), and
# "/etc/securetty" is that row.
_IN_DIRECTORY = re.compile(r"(/[\w.+-]+(?:/[\w.+-]+)*)/([\w.+-]{3,})")


def _name_under_directory(
    directory: str, name: str, haystack: str
) -> Iterator[tuple[str, int, int]]:
    """Each place ``haystack`` holds ``name`` as a word of its own after ``directory``."""
    opened = re.search(rf"(?<![\w/.-]){re.escape(directory)}(?![\w.+-])", haystack)
    if opened is None:
        return
    word = rf"(?<![\w/.-]){re.escape(name)}(?![\w/-])"
    for match in re.finditer(word, haystack[opened.end() :]):
        yield haystack, opened.end() + match.start(), opened.end() + match.end()


# A number a source gives bare, its unit named just before or after ("DELAYED/X-day (X
# between 0 and 15)"), is that number with that unit; one the source gives with another
# unit ("1.5 bar") or a word of its own ("15 packages a day") is not.
UNIT_NEAR_CHARS = 40


def _bare_with_unit_near(number: str, unit: str, haystack: str) -> Iterator[tuple[str, int, int]]:
    """Each place ``haystack`` holds ``number`` with no word after it and ``unit``'s first
    letters begin a word at most UNIT_NEAR_CHARS away."""
    bare = rf"(?<![\d.])(?<![\d][.,:]){re.escape(number)}(?![\d])(?![.,:]\d)(?!\s?[a-z%°])"
    named = re.compile(rf"(?<![a-z]){re.escape(unit[:3].lower())}")
    for match in re.finditer(bare, haystack):
        low = max(0, match.start() - UNIT_NEAR_CHARS)
        if named.search(haystack, low, match.end() + UNIT_NEAR_CHARS):
            yield haystack, match.start(), match.end()


# A number or a name supports a statement only where the source says it about what the
# statement or the question is about: the sentence around it, at most NEAR_CHARS either
# side, shares two of their words. A version number taken from a build-dependency line
# for "which zlib compression level", or a code word from a sentence that says nothing
# about the question, is not support. A path, an option or quoted code means itself
# wherever it stands, so it is only looked for.
NEAR_CHARS = 250
NEAR_WORDS = 2  # one word in common ("zlib") is chance in a manual about the same tool
_SENTENCE_EDGE = re.compile(r"[.!?。！？](?=\s)|\n\s*\n")


def _means_by_context(fact: str) -> bool:
    """A number (with or without a unit) or a name, not a path, option or code."""
    if _NUMBER.fullmatch(fact) or _NUMBER_WITH_UNIT.fullmatch(fact):
        return True
    return bool(_CAPITALISED.fullmatch(fact)) and not _FILE_NAME.fullmatch(fact)


def said_about(fact: str, text: str, words: set[str]) -> bool:
    """Whether ``fact`` occurs in ``text``, a number or a name in a sentence holding
    NEAR_WORDS of ``words`` (stems); with no ``words`` to look for, whether it occurs."""
    contextual = _means_by_context(fact)
    for haystack, start, end in _occurrences(fact, text):
        if not words or not contextual:
            return True
        low = max(0, start - NEAR_CHARS)
        before = [m.end() for m in _SENTENCE_EDGE.finditer(haystack, low, start)]
        after = _SENTENCE_EDGE.search(haystack, end, min(len(haystack), end + NEAR_CHARS))
        first = before[-1] if before else low
        sentence = haystack[first : after.start() if after else end + NEAR_CHARS]
        around = content_stems(sentence.replace(haystack[start:end], " "))
        shared = words & around
        # Two words in common, or half the words of a short sentence ("Let it cool for 30
        # minutes." for "Cool it for 30 min").
        if shared and (
            len(shared) >= min(NEAR_WORDS, len(words)) or 2 * len(shared) >= len(around)
        ):
            return True
    return False


def unsupported_facts(answer: str, sources: Sequence[str], question: str = "") -> list[str]:
    """The facts of ``answer`` that occur in none of ``sources`` nor in ``question``."""
    return [
        fact
        for fact in checkable_facts(answer)
        if not occurs_in(fact, question) and not any(occurs_in(fact, s) for s in sources)
    ]


@dataclass
class GroundingResult:
    answer: str
    dropped: list[str]  # statements whose facts no source holds
    recited: int  # statements given the source that holds their facts
    unsupported: list[str]  # kept statements with nothing to check and no word in common


def ground_answer(
    answer: str,
    sources: Sequence[str],
    question: str,
    decline: str,
    read: Sequence[str] | None = None,
) -> GroundingResult:
    """``answer`` with every statement's facts found in the sources it cites: re-cited to
    the source holding them, else dropped; ``decline`` when nothing is left. A kept
    statement that copies another source's words far more than its cited one's is cited
    to that one. ``sources`` are the numbered sources' texts ([1] is sources[0]); ``read``
    what the model read of each (an excerpt of it; the same where not given)."""
    shown = read if read is not None and len(read) == len(sources) else sources
    shown_stems = [content_stems(text) for text in shown]  # once per answer, not per statement
    kept: list[str] = []
    dropped: list[str] = []
    unsupported: list[str] = []
    recited = 0
    kept_facts = False  # a kept statement states something a source was found to hold
    opening_invented = False  # the first statement's facts are in no source
    as_written = split_statements(answer)
    statements = _cited_by_the_next(as_written, len(sources))
    asked = content_stems(question) | _FILLER_STEMS
    for number, statement in enumerate(statements):
        words, code = _without_code(statement)
        follows_dropped = number > 0 and bool(dropped) and dropped[-1] is statements[number - 1]
        if follows_dropped and _REFERS_BACK.match(_strip(words)):
            # "This is because it includes the base system [2]." said of a dropped statement
            # (an invented "20-30 GB") explains what is no longer there.
            dropped.append(statement)
            continue
        if _strip(words).endswith("?"):
            # A question back ("Therefore, when is the lamp cleaned? [2]") answers nothing.
            dropped.append(statement)
            continue
        # A fact the question gives needs no source, unless it is a number no source holds:
        # "What mode, such as 1777, does it require?" is not answered by "1777 [2]". (A
        # name or path is often the question's own spelling: "UID/GID", "Debian's".)
        quoted = set(_BACKTICKED.findall(words))
        facts = [f for f in checkable_facts(words) if not _given(f, question, sources, f in quoted)]
        code_facts = [t for t in _code_tokens(code) if not occurs_in(t, question)]
        if (
            not facts
            and not code
            and not (content_stems(_strip(words)) - asked)
            and not _adds_polarity(words, question)
            and not new_symbols(words, question)
        ):
            # "The option to stop dpkg-source is [2].": the question back, with a marker
            # where the fact should be.
            dropped.append(statement)
            continue
        cited = cited_numbers(words, len(sources))
        cited_texts = [sources[n - 1] for n in cited]
        about = _about(words, facts) | content_stems(question)

        checkable = bool(facts or code_facts)
        if _supported(facts, code_facts, about, cited_texts) and (checkable or cited):
            copied = _copied_from(words, cited, shown_stems)
            if copied and _supported(facts, code_facts, about, [sources[copied - 1]]):
                recited += 1
                statement = _with_markers(statement, [copied])
                cited_texts = [sources[copied - 1]]
            if not checkable and not _shares_words(words, cited_texts):
                unsupported.append(_strip(words))
            kept.append(statement)
            kept_facts = kept_facts or checkable
            continue
        holders = [
            n
            for n, text in enumerate(sources, start=1)
            if _supported(facts, code_facts, about, [text])
        ]
        if holders and checkable:
            recited += 1
            kept.append(_with_markers(statement, [holders[0]]))
            kept_facts = True
        elif not checkable:
            # Nothing checkable and no marker (a lead-in, a closing line): kept as said.
            if not _shares_words(words, sources):
                unsupported.append(_strip(words))
            kept.append(statement)
        else:
            dropped.append(statement)
            opening_invented = opening_invented or number == 0
    if opening_invented and not kept_facts:
        # The answer's opening fact was invented and what is left states none ("The size
        # can vary depending on the packages used [1]."): the documents do not say.
        return GroundingResult(decline, dropped + kept, recited, [])
    if statements and not any(cited_numbers(s, len(sources)) for s in kept):
        # Nothing left that rests on a source: say so rather than keep the lead-ins.
        return GroundingResult(decline, dropped + kept, recited, [])
    # Unchanged, the answer keeps its own spacing (paragraph breaks, a code block's lines).
    joined = answer if kept == as_written else _join(kept, answer)
    return GroundingResult(joined, dropped, recited, unsupported)


# A statement is cited to the source it copies from: the 1.5B often closes several
# sentences with one marker, or numbers a neighbour, while another source holds the
# sentence nearly word for word. Only a clear difference moves a marker: the share of the
# statement's words in the copied source at least COPIED_MIN_SHARE and COPIED_MARGIN above
# the best cited source's (tuning half: right page cited 37 -> 41 of 51 answers).
COPIED_MIN_SHARE = 0.5
COPIED_MARGIN = 0.35


def _copied_from(statement: str, cited: list[int], read: Sequence[set[str]]) -> int | None:
    """The source ``statement`` takes its words from where that is clearly not a cited one
    (``read``: the word stems of what the model read of each source)."""
    words = content_stems(_strip(statement))
    if not cited or len(words) < 2:
        return None
    shares = [len(words & stems) / len(words) for stems in read]
    best = max(range(len(shares)), key=lambda n: shares[n])
    cited_best = max(shares[n - 1] for n in cited)
    if best + 1 in cited or shares[best] < COPIED_MIN_SHARE:
        return None
    return best + 1 if shares[best] - cited_best >= COPIED_MARGIN else None


def _given(fact: str, question: str, sources: Sequence[str], code: bool = False) -> bool:
    """Whether ``fact`` is the question's own, and if a number, some source holds it. Code
    (a backticked file or command name) is the question's only as spelt there: "called
    `danish`" answers "If I add a Danish word list, what should its file be called?"."""
    if not occurs_in(fact, question):
        return False
    if code and not re.search(rf"(?<![\w-]){re.escape(fact)}(?![\w-])", question):
        return False
    measured = _NUMBER.fullmatch(fact) or _NUMBER_WITH_UNIT.fullmatch(fact)
    return not measured or any(occurs_in(fact, text) for text in sources)


def _supported(
    facts: list[str], code_facts: list[str], about: set[str], texts: Sequence[str]
) -> bool:
    """Whether ``texts`` hold every fact (said about ``about``) and every word of code."""
    return all(any(said_about(f, t, about) for t in texts) for f in facts) and all(
        any(occurs_in(f, t) for t in texts) for f in code_facts
    )


def without_statements(answer: str, unwanted: Callable[[str], bool], decline: str) -> str:
    """``answer`` less the statements that are ``unwanted``; ``decline`` if none is left."""
    statements = split_statements(answer)
    kept = [s for s in statements if not unwanted(s)]
    if len(kept) == len(statements):
        return answer
    return _join(kept, answer) if kept else decline


def _cited_by_the_next(statements: list[str], source_count: int) -> list[str]:
    """Each uncited sentence given the citation of the statement it runs into: the grammar
    lets several sentences share the marker at their end ("Put a cloth under it. Turn the
    valve [1]."), and every sentence shown carries its citation."""
    marked: list[str] = []
    for number, statement in enumerate(statements):
        if cited_numbers(statement, source_count):
            marked.append(statement)
            continue
        following = next(
            (
                cited_numbers(later, source_count)
                for later in statements[number + 1 :]
                if cited_numbers(later, source_count)
            ),
            [],
        )
        marked.append(_with_markers(statement, following) if following else statement)
    return marked


def _about(statement: str, facts: list[str]) -> set[str]:
    """What ``statement`` says its facts about: its words less the facts' and filler."""
    plain = _strip(statement)
    for fact in facts:
        plain = plain.replace(fact, " ")
    return content_stems(plain) - _FILLER_STEMS


_FILLER_STEMS = {word_stem(word) for word in _SAYS_NOTHING}


def _adds_polarity(statement: str, question: str) -> bool:
    """Whether ``statement`` says yes, no or not where ``question`` does not."""
    said = {m.group(0).lower() for m in _POLARITY.finditer(_strip(statement))}
    return bool(said - {m.group(0).lower() for m in _POLARITY.finditer(question)})


def new_symbols(statement: str, question: str) -> set[str]:
    """The signs that stand alone in ``statement`` and not in ``question``: "#" in "The
    character that starts a comment line is #." is the answer, though it is no word."""

    def signs(text: str) -> set[str]:
        tokens = (token.strip(_SIGN_EDGES) for token in text.split())
        return {t for t in tokens if t and not any(ch.isalnum() for ch in t)}

    return signs(_strip(statement)) - signs(question)


_SIGN_EDGES = ".,;:!?()[]\"'`*-–—"


def _shares_words(statement: str, texts: Sequence[str]) -> bool:
    words = set(content_words(_strip(statement)))
    if len(words) < 3:
        return True
    return any(len(words & set(content_words(t))) * 3 >= len(words) for t in texts)


def _with_markers(statement: str, numbers: list[int]) -> str:
    """``statement`` citing ``numbers`` instead, before its full stop or colon and code."""
    words, code = _without_code(statement)
    marker = "[" + ", ".join(str(n) for n in numbers) + "]"
    without = CITATION_MARKER.sub("", words)
    body = without.rstrip(" \t\n.:")
    tail = without[len(body) :]
    end = ":" if ":" in tail else "." if "." in tail else ""  # "lines: [1]." leads in
    return f"{body} {marker}{end}{code}"


_STEP_NUMBER = re.compile(r"^\d{1,2}\. ")


def _join(statements: list[str], original: str) -> str:
    """The kept statements, one a line where the answer was a list, else as prose. Numbered
    steps are numbered again: a dropped step 1 left "follow these steps [1]:" over "2. ..."."""
    steps = itertools.count(1)

    def renumbered(statement: str) -> str:
        return _STEP_NUMBER.sub(lambda _: f"{next(steps)}. ", statement, count=1)

    if "\n" in original.strip():
        return "\n".join(renumbered(statement) for statement in statements)
    return " ".join(statements)
