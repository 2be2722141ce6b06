"""Which language a participant writes: Dutch or English.

Short chat messages are where a statistical detector is weakest: lingua reads "I live in
Rotterdam" as Dutch (the town name) and "ok thanks" as English enough to switch a Dutch
conversation. So the words that only one of the two languages has decide first ("I", "my",
"the", "what" against "ik", "mijn", "het", "wat"); lingua's packaged models only break the tie
for a message without such words.

Sticky, in both directions: the language in use changes only when a message has at least two
words of the other language and none of its own (or, without such words, lingua is sure of a
message of three words or more). A mixed message ("I work in de zorg"), a single English word
in a Dutch sentence ("sorry", "ok thanks"), names and place names keep the current language.
A first message needs less: one word of a language and none of the other. Courtesies alone
("ok thanks", "thank you", "good morning") never decide.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language as LinguaLanguage
from lingua import LanguageDetector, LanguageDetectorBuilder

from bot.engine.words import word_set
from bot.flows.models import Language

_WORD = re.compile(r"[^\W\d_]{2,}")
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_CODES: dict[LinguaLanguage, Language] = {LinguaLanguage.DUTCH: "nl", LinguaLanguage.ENGLISH: "en"}
FIRST_MESSAGE_CONFIDENCE = 0.6  # nothing to keep yet: the likelier language wins
SWITCH_CONFIDENCE = 0.8  # switching away from the language in use needs more

# Words one language has and the other does not (as people type in a chat). Words both use
# ("is", "in", "was", "we", "me", "u", "er", "over", "help", "ok", "sorry", "contract",
# "coach", "hi", "hey", "hello", "want", "job") are in neither list, nor are the English
# courtesies Dutch people use ("thanks", "thank you", "please").
_ENGLISH = word_set(
    "i i'm im i've ive i'd my mine you you're youre your yours the a an am are were be been "
    "being have has having do does did don't dont doesn't didn't can can't cannot could would "
    "should will won't wont shall what how why when where who which whose this that these those "
    "there it it's its they them their he she him his her our us with without from about to "
    "for of and but or not no yes yeah just get got some any because if then than also very "
    "much many more my myself lost live living work working worked need needs wanted find "
    "looking english speak understand know think free pay cost costs hours month after "
    "before again still only really"
)
_DUTCH = word_set(
    "ik ikke mijn mn m'n mij jij je jou jouw uw ons onze hun het de een en maar of niet nie "
    "geen wel ook nog dat dit die deze wat hoe waarom wanneer waar wie welke heb hebt heeft "
    "hebben ben bent zijn kan kun kunt kunnen wil wilt willen moet moeten mag mogen zou zal "
    "gaat ga gaan doe doet doen werk werken werkt woon woont wonen met voor van naar bij uit "
    "om te al nu heel erg ff gewoon eigenlijk weet weten snap begrijp alsjeblieft "
    "graag bedankt dank ja nee hoi hallo goedemorgen goedemiddag goedenavond baan kwijt "
    "ontslagen hulp nederlands spreek zoek vind wordt worden geworden mee alleen nooit altijd "
    "jaar maand uur kost kosten betalen gratis opleiding"
)
# Courtesies, small talk and interjections in English that Dutch people use as much ("ok
# thanks", "thank you so much", "good morning", "no problem", "hmm what?"): a message of only
# these never switches.
_COURTESY = word_set(
    "ok okay oke thanks thank thx you please sorry yes yeah yep no nope hi hey hello good "
    "morning afternoon evening night bye so much very lot too problem oh my god wow nice cool "
    "top great super fine hmm hm huh eh uh um uhm what wait really sure right"
)
# Letters that make no word: one keyboard row ("qwerty", "asdf", "zxcvb"), a syllable said
# over and over ("blablabla", "hahaha"), no vowel at all ("pfff", "hmm", "zxcvb").
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_REPEATED = re.compile(r"^(\w{1,3})\1{2,}\w{0,2}$")
_VOWELS = frozenset("aeiouyáéíóúàèëïöüäâêîôû")
_MARKERS: dict[Language, frozenset[str]] = {
    "en": _ENGLISH - _DUTCH,
    "nl": _DUTCH - _ENGLISH,
}


def is_unreadable(text: str) -> bool:
    """No request a person could mean: no letters ("???", "..."), only interjections and
    courtesies ("hmm what", "huh?"), or letters that make no word ("blablabla", "qwertyuiop").
    The model reads these as out_of_scope (its training data puts them there, as "none of our
    topics"); the bot must then say it did not understand, not that it cannot help with that."""
    tokens = [t.lower() for t in _TOKEN.findall(text)]
    return all(t in _COURTESY or _no_word(t) for t in tokens)


def _no_word(token: str) -> bool:
    if token in _ENGLISH or token in _DUTCH:
        return False
    if not _VOWELS & set(token) or _REPEATED.match(token):
        return True
    return len(token) >= 4 and any(set(token) <= set(row) for row in _KEYBOARD_ROWS)


@lru_cache(maxsize=1)
def detector() -> LanguageDetector:
    """Built once per process; call at start-up so the first turn does not pay for loading."""
    return LanguageDetectorBuilder.from_languages(*_CODES).with_preloaded_language_models().build()


def detect_language(text: str, *, first: bool = False) -> Language | None:
    """'nl' or 'en' when the message clearly is; None when too short, mixed or unclear."""
    tokens = [t.lower() for t in _TOKEN.findall(text)]
    if all(t in _COURTESY for t in tokens):
        return None
    hits = {code: sum(t in words for t in tokens) for code, words in _MARKERS.items()}
    if hits["en"] and hits["nl"]:
        return None  # mixed: "I work in de zorg", "ik heb een zero hours contract"
    for code, count in hits.items():
        if count >= 2:
            return code
        if count:
            # One word of a language and none of the other: enough for a first message that
            # lingua reads the same way ("Is this free?"), never to switch later ("you too").
            return code if first and _lingua(text, first=True, min_words=1) == code else None
    return _lingua(text, first=first, min_words=2 if first else 3)


def _lingua(text: str, *, first: bool, min_words: int) -> Language | None:
    words = _WORD.findall(text)
    if len(words) < min_words:
        return None
    values = detector().compute_language_confidence_values(" ".join(words))
    if not values:
        return None
    best = values[0]
    needed = FIRST_MESSAGE_CONFIDENCE if first else SWITCH_CONFIDENCE
    return _CODES.get(best.language) if best.value >= needed else None
