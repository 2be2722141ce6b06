"""Recognising repair without the NLU: cancel phrases, corrections, questions, negations."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.engine.words import word_set
from bot.flows.flowset import FlowSet

if TYPE_CHECKING:
    from bot.engine.extract import Found

DEFAULT_CANCEL = (
    "stop",
    "stoppen",
    "laat maar",
    "laat maar zitten",
    "annuleer",
    "annuleren",
    "hou op",
    "ik wil stoppen",
    "cancel",
    "never mind",
    "nevermind",
    "forget it",
    "quit",
)
_CORRECTION_WORDS = re.compile(
    r"\b(wijzig\w*|verander\w*|aanpass\w*|pas\b|klopt niet|niet goed|fout|verkeerd|"
    r"change|correct|fix|edit|wrong|update)\b"
)


_QUESTION_WORDS = word_set(
    "wat wie waar waarom wanneer hoe hoeveel welke welk wat's hoezo waarvoor "
    "what who where why when how which whats what's"
)
# A verb first is a question only with a subject after it: "kan ik", "is het", "do you".
_QUESTION_VERBS = word_set(
    "kan kun kunt kunnen mag mogen moet moeten is zijn ben heb hebben hebt heeft krijg krijgen "
    "wordt worden zou zouden gaat gaan klopt "
    "can could may must is are am do does did will would should have has"
)
_SUBJECTS = word_set(
    "je jij u ik er het dit dat we wij jullie ze zij mijn mn die "
    "you i it there this that we they my he she"
)


_CORRECTION_CUE = re.compile(
    r"\b(eigenlijk|toch|wacht|oeps|oops|sorry|bedoel\w*|verkeerd|fout|vergist|"
    r"klopt niet|niet goed|moet zijn|is niet|niet in|maar|wijzig\w*|verander\w*|aanpass\w*|"
    r"actually|wait|meant|mean|instead|wrong|mistake|not in|change|correct\w*|rather)\b"
)
_NEGATION = re.compile(r"\b(niet|geen|not|no)\s+(?:\w+\s+){0,2}$")


def looks_like_question(text: str) -> bool:
    """ "wat kost het", "ben je een bot?", "kan ik ..." — not "ik ben Fatima"."""
    words = fold(text).split()
    if "?" in text:
        return True
    if not words:
        return False
    if words[0] in _QUESTION_WORDS:
        return True
    return words[0] in _QUESTION_VERBS and len(words) > 1 and words[1] in _SUBJECTS


def has_correction_cue(text: str) -> bool:
    """ "oh wacht", "eigenlijk", "niet X maar Y", "I meant": the message changes something."""
    return bool(_CORRECTION_CUE.search(fold(text)))


# "ik woon in", "wij wonen nu in", "I live in", "I'm living in", "we moved to": the town that
# follows is where the person lives.
_HOME = re.compile(
    r"\b(?:woon|woont|wonen|woonachtig|live|lives|living|moved|verhuisd)\b"
    r"(?:\s+\w+){0,2}\s+(?:in|te|to|naar)\s+$",
    re.IGNORECASE,
)


def says_home(text: str, found: Iterable[Found]) -> bool:
    """Whether a town found in the message is introduced as where the person lives."""
    return any(_HOME.search(text[: item.start]) for item in found)


def is_negated(text: str, start: int) -> bool:
    """Whether the value at `start` is said not to be it: "niet in Amsterdam", "not Sam"."""
    return bool(_NEGATION.search(text[:start].lower()))


def fold(text: str) -> str:
    """Lower-case, punctuation to spaces, single spaces: the form keyword lists are matched in."""
    return " ".join(re.sub(r"[^\w@+]", " ", text.lower()).split())


def is_cancel(text: str, flows: FlowSet) -> bool:
    folded = fold(text)
    if folded in {"/stop", "stop", "/cancel"} or text.strip().lower() in {"/stop", "/cancel"}:
        return True
    keywords = flows.settings.cancel_keywords or DEFAULT_CANCEL
    return any(folded == k or (" " in k and folded.startswith(k + " ")) for k in keywords)


def contains_keyword(text: str, keywords: Iterable[str]) -> bool:
    padded = f" {fold(text)} "
    return any(f" {fold(k)} " in padded for k in keywords if fold(k))


def correction_target(
    text: str, flows: FlowSet, candidates: Iterable[str], *, bare: bool = True
) -> str | None:
    """Which slot "wijzig telefoonnummer" / "mijn e-mail klopt niet" refers to, if any.

    With `bare`, a field name alone ("telefoonnummer", "mijn woonplaats") also counts, so
    that typing it after "what would you like to change?" works.
    """
    folded = fold(text)
    named: list[str] = []
    for slot_name in candidates:
        slot = flows.slots[slot_name]
        words = [*slot.aliases, slot_name.replace("_", " ")]
        if slot.label is not None:
            words += [slot.label.nl, slot.label.en or ""]
        if contains_keyword(folded, words):
            named.append(slot_name)
    if len(named) != 1:
        return None
    slot = flows.slots[named[0]]
    if _CORRECTION_WORDS.search(folded):
        return named[0]
    names = (
        {fold(w) for w in (*slot.aliases, slot.label.nl, slot.label.en or "") if w}
        if slot.label
        else {fold(w) for w in slot.aliases}
    )
    stripped = re.sub(r"^(mijn|mn|m n|my|de|het|the)\s+", "", folded)
    if bare and stripped in names:
        return named[0]
    return None


# -- an answer and a question in one message ---------------------------------------------------

# Where a message breaks into parts: after a sentence mark or a comma, or at a dash.
_BREAK = re.compile(r"(?<=[.!?;,])\s+|\s+[-–]\s+")
# "lasser en hoeveel kost het", "in de zorg maar wat kost het": a question joined with a word.
_JOINED = re.compile(r"\s+(?:en|maar|and|but|of|or)\s+(?=\S)", re.IGNORECASE)
_LEADING_JOIN = re.compile(r"^(?:en|maar|and|but|of|or|ook|also)\s+", re.IGNORECASE)
# After a question word these make a clause, not a question: "wat ik wil", "hoe ik verder moet".
_CLAUSE_SUBJECTS = word_set("ik je jij we wij ze zij hij het i you we they he she it")


def _is_question_part(part: str) -> bool:
    """A part of a message that asks something: a question mark, or a question word or a verb
    with its subject first ("hoeveel kost het", "kan ik"), never a clause ("wat ik wil")."""
    if "?" in part:
        return True
    words = fold(part).split()
    if len(words) < 2:
        return False
    if words[0] in _QUESTION_WORDS:
        return words[1] not in _CLAUSE_SUBJECTS
    return words[0] in _QUESTION_VERBS and words[1] in _SUBJECTS


def _parts(text: str) -> list[str]:
    parts: list[str] = []
    for piece in _BREAK.split(text.strip()):
        # "kassamedewerker en hoeveel krijg ik": split at the joining word only before a question
        while (
            m := next(
                (m for m in _JOINED.finditer(piece) if _is_question_part(piece[m.end() :])), None
            )
        ) is not None:
            parts.append(piece[: m.start()])
            piece = piece[m.end() :]
        parts.append(piece)
    return [p for p in (p.strip() for p in parts) if p]


def split_question(text: str) -> tuple[str, str] | None:
    """ "ik ben lasser, hoe zit het met die 5000 euro?" → ("ik ben lasser", "hoe zit het met die
    5000 euro?"): the statement and the question of a message that has both, the statement
    first or last, each as written. None when the message is all statement or all question,
    or they are mixed up (statement, question, statement)."""
    parts = _parts(text)
    kinds = [_is_question_part(_LEADING_JOIN.sub("", p)) for p in parts]
    if all(kinds) or not any(kinds):
        return None
    if kinds != sorted(kinds) and kinds != sorted(kinds, reverse=True):
        return None
    spans, cursor = [], 0
    for part in parts:
        start = text.index(part, cursor)
        cursor = start + len(part)
        spans.append((start, cursor))
    said = [span for span, q in zip(spans, kinds, strict=True) if not q]
    asked = [span for span, q in zip(spans, kinds, strict=True) if q]
    statement = text[said[0][0] : said[-1][1]]
    question = _LEADING_JOIN.sub("", text[asked[0][0] : asked[-1][1]])
    return statement.rstrip(" ,.;!-–"), question.strip()
