"""Which option of a closed question a message means, in the person's own words.

"na 6 uur savonds" at "Wanneer kan de coach je het best bereiken?" is Avond; "bel me maar" at
the contact question is Telefoon; "in polen heb ik technische school gedaan, hier niks" at the
education question fits no option but is clearly an answer, so it is the `other` option.

In order, most certain first:
1. the message is an option (its label, value or a synonym): `exact`;
2. a label or synonym is said in the message, not negated ("niet bellen"), and only one
   option's (the longest phrase wins: "maakt me niet uit" over "niet");
3. a time ("na 6 uur", "om 10.30", "voor twaalven") falls in one option's `hours`;
4. a word is a typo of a one-word synonym ("savnds", "telfoon");
5. the sentence vector the NLU sends (multilingual-e5) is clearly closest to one option's
   label or synonyms (`bot/engine/similarity.py`);
6. the message talks about what was asked (the slot's own words: "school", "diploma") without
   fitting an option: the `other` option when there is one, else the buttons are shown again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.engine.words import word_set
from bot.flows.models import ChoiceOption, SlotDef

_NEGATION = word_set("niet geen not no never nooit zonder without")
# Words too common to say anything about the question by themselves.
_STOP = word_set(
    "de het een en of in op van voor met is ik je mijn mn me wel niet maar dan dat die er "
    "the a an and or in on of for with is i my me you it to at be not but then that"
)
_HOUR = re.compile(
    r"(?P<pre>\b(?:na|vanaf|om|rond|voor|tot|tussen|na|after|from|at|around|before|until|by)\s+)?"
    r"(?P<half>half\s+)?(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*"
    r"(?P<suffix>uur|u\b|h\b|am\b|pm\b|a\.m\.|p\.m\.|o'?clock)?",
    re.IGNORECASE,
)
_MORNING = re.compile(r"\b(ochtend\w*|morgens?|s ochtends|morning|am)\b")
_EVENING = re.compile(r"\b(avond\w*|s avonds|savonds|evening|tonight|pm|middag\w*|afternoon)\b")


@dataclass(frozen=True, slots=True)
class OptionMatch:
    value: str
    how: str  # exact, phrase, time, typo, similar, other
    start: int = -1  # where in the (folded) message the option was said, for corrections


def fold(text: str) -> str:
    """Lower case, accents and apostrophes kept out: "'s Avonds!" → "s avonds"."""
    text = text.lower().replace("’", "'").replace("'", "")
    return " ".join(re.sub(r"[^\w@+]+", " ", text).split())


_PHRASES: dict[int, tuple[ChoiceOption, tuple[str, ...]]] = {}


def phrases(option: ChoiceOption) -> tuple[str, ...]:
    """Everything that names an option: value, labels (and their halves: "Basisschool of
    vmbo" → "basisschool", "vmbo") and synonyms, folded. Cached per option object (the
    flows are immutable; a reload makes new ones)."""
    cached = _PHRASES.get(id(option))
    if cached is not None and cached[0] is option:
        return cached[1]
    if len(_PHRASES) > 4096:
        _PHRASES.clear()
    result = _phrases(option)
    _PHRASES[id(option)] = (option, result)
    return result


def _phrases(option: ChoiceOption) -> tuple[str, ...]:
    found: list[str] = [option.value, option.value.replace("_", " ")]
    for label in (option.label.nl, option.label.en or ""):
        found.append(label)
        found.extend(re.split(r"\s+(?:/|of|or)\s+|\s*/\s*|\(|\)", label))
    found.extend(option.synonyms)
    folded = (fold(p) for p in found if p)
    return tuple(dict.fromkeys(p for p in folded if p))


def exact_option(slot: SlotDef, text: str) -> str | None:
    folded = fold(text)
    for option in slot.options:
        if folded in phrases(option):
            return option.value
    return None


def said_options(slot: SlotDef, text: str) -> list[OptionMatch]:
    """Options whose label or synonym the message says, not negated, longest phrase per
    place in the message (so "maakt niet uit" is not also "niet")."""
    padded = f" {fold(text)} "
    hits: list[tuple[int, int, str]] = []  # start, length, option value
    for option in slot.options:
        for phrase in phrases(option):
            needle = f" {phrase} "
            at = padded.find(needle)
            while at >= 0:
                before = padded[:at].split()
                if not (before and before[-1] in _NEGATION and phrase.split()[0] not in _NEGATION):
                    hits.append((at, len(phrase), option.value))
                at = padded.find(needle, at + 1)
    kept: list[tuple[int, int, str]] = []
    for start, length, value in sorted(hits, key=lambda h: -h[1]):
        if all(start + length <= s or start >= s + n for s, n, _ in kept):
            kept.append((start, length, value))
    return [OptionMatch(value, "phrase", start) for start, _n, value in sorted(kept)]


def open_options(slot: SlotDef, text: str) -> tuple[str, ...]:
    """The options a word of the slot's `ask_which` leaves open ("overdag" at the best-time
    question: morning or afternoon), to ask which; () when it says none of them."""
    padded = f" {fold(text)} "
    for group in slot.ask_which:
        if any(f" {fold(word)} " in padded for word in group.words):
            return tuple(group.options)
    return ()


def time_option(slot: SlotDef, text: str) -> str | None:
    """ "na 6 uur", "om half 8 's avonds", "after 5pm" → the option whose hours hold it."""
    timed = [o for o in slot.options if o.hours is not None]
    if not timed:
        return None
    folded = text.lower()
    hours: list[float] = []
    for m in _HOUR.finditer(folded):
        if not (m.group("pre") or m.group("suffix") or m.group("half")):
            continue  # a bare number is not a time
        hour = int(m.group("h"))
        if hour > 24:
            continue
        suffix = (m.group("suffix") or "").replace(".", "")
        context = folded[max(0, m.start() - 20) : m.end() + 20]
        if hour < 12 and (suffix == "pm" or (suffix != "am" and _EVENING.search(context))):
            hour += 12
        elif hour <= 6 and suffix != "am" and not _MORNING.search(context):
            hour += 12  # "na 6 uur": nobody means six in the morning
        exact = hour + int(m.group("m") or 0) / 60 - (0.5 if m.group("half") else 0)
        pre = (m.group("pre") or "").strip()
        if pre in {"na", "vanaf", "after", "from"}:
            exact += 0.5
        elif pre in {"voor", "tot", "before", "until", "by"}:
            exact -= 0.5
        hours.append(exact)
    if not hours:
        return None
    moment = sum(hours) / len(hours)
    for option in timed:
        assert option.hours is not None
        start, end = option.hours
        if start <= moment % 24 < end:
            return option.value
    return None


def typo_option(slot: SlotDef, text: str) -> str | None:
    """A word that is a typo of a one-word synonym of exactly one option, or another form of a
    long one ("reorganiseren" for "reorganisatie": the same first 7 letters)."""
    words = [w for w in fold(text).split() if len(w) >= 4 and w not in _STOP]
    found: set[str] = set()
    for option in slot.options:
        for phrase in phrases(option):
            if " " in phrase or len(phrase) < 4:
                continue
            if any(
                fuzz.ratio(word, phrase) >= 85
                or (len(word) >= 8 and len(phrase) >= 8 and word[:7] == phrase[:7])
                for word in words
            ):
                found.add(option.value)
    return found.pop() if len(found) == 1 else None


def about_the_question(slot: SlotDef, text: str, question: str) -> bool:
    """The message talks about what was asked: one of the slot's own words (aliases), or a
    longer word of the question or the options ("school" at the education question)."""
    words = {w for w in fold(text).split() if w not in _STOP and len(w) >= 4}
    if not words:
        return False
    topic = {fold(a) for a in slot.aliases}
    topic |= {w for w in fold(question).split() if len(w) >= 6 and w not in _STOP}
    for option in slot.options:
        topic |= {w for p in phrases(option) for w in p.split() if len(w) >= 5}
    return any(
        word == t or (len(word) >= 5 and len(t) >= 5 and fuzz.ratio(word, t) >= 85)
        for word in words
        for t in topic
    ) or any(" " in t and f" {t} " in f" {fold(text)} " for t in topic)


def other_option(slot: SlotDef) -> str | None:
    return next((o.value for o in slot.options if o.other), None)
