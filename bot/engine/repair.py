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
