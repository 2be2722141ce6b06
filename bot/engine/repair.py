"""Recognising repair requests without the NLU: cancel phrases and summary corrections."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.flows.flowset import FlowSet

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


_QUESTION_START = frozenset(
    [
        "wat",
        "wie",
        "waar",
        "waarom",
        "wanneer",
        "hoe",
        "hoeveel",
        "welke",
        "welk",
        "kan",
        "kun",
        "kunt",
        "mag",
        "moet",
        "is",
        "zijn",
        "ben",
        "heb",
        "hebben",
        "krijg",
        "wordt",
        "what",
        "who",
        "where",
        "why",
        "when",
        "how",
        "which",
        "can",
        "could",
        "may",
        "must",
        "is",
        "are",
        "am",
        "do",
        "does",
        "did",
        "will",
        "would",
        "should",
    ]
)


def looks_like_question(text: str) -> bool:
    """ "wat kost het", "ben je een bot?" — not "ik ben Fatima"."""
    words = fold(text).split()
    return "?" in text or (bool(words) and words[0] in _QUESTION_START)


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


def correction_target(text: str, flows: FlowSet, candidates: Iterable[str]) -> str | None:
    """Which slot "wijzig telefoonnummer" / "mijn e-mail klopt niet" refers to, if any.

    A bare field name ("telefoonnummer") also counts, so that typing it after
    "what would you like to change?" works.
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
    bare = {fold(w) for w in (*slot.aliases, slot.label.nl if slot.label else "") if w}
    if _CORRECTION_WORDS.search(folded) or folded in bare:
        return named[0]
    return None
