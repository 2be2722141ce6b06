"""Which language a participant writes: Dutch or English, from lingua's packaged models.

Only a clear signal switches: a first message of two or more words, or later a message of at
least three words that is clearly the other language. Mixed messages ("I work in de zorg"),
names and place names keep the current language.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language as LinguaLanguage
from lingua import LanguageDetector, LanguageDetectorBuilder

from bot.flows.models import Language

_WORD = re.compile(r"[^\W\d_]{2,}")
_CODES: dict[LinguaLanguage, Language] = {LinguaLanguage.DUTCH: "nl", LinguaLanguage.ENGLISH: "en"}
FIRST_MESSAGE_CONFIDENCE = 0.6  # nothing to keep yet: the likelier language wins
SWITCH_CONFIDENCE = 0.8  # switching away from the language in use needs more


@lru_cache(maxsize=1)
def detector() -> LanguageDetector:
    """Built once per process; call at start-up so the first turn does not pay for loading."""
    return LanguageDetectorBuilder.from_languages(*_CODES).with_preloaded_language_models().build()


def detect_language(text: str, *, first: bool = False) -> Language | None:
    """'nl' or 'en' when the message clearly is; None when too short, mixed or unclear."""
    words = _WORD.findall(text)
    if len(words) < (2 if first else 3):
        return None
    values = detector().compute_language_confidence_values(" ".join(words))
    if not values:
        return None
    best = values[0]
    needed = FIRST_MESSAGE_CONFIDENCE if first else SWITCH_CONFIDENCE
    return _CODES.get(best.language) if best.value >= needed else None
