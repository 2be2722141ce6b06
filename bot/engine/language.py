"""Guess whether a message is English or Dutch from common words (no model needed).

Only messages with a clear signal switch the language; names and place names never do.
"""

from __future__ import annotations

import re

from bot.flows.models import Language

_ENGLISH = frozenset(
    [
        "i",
        "i'm",
        "im",
        "my",
        "me",
        "you",
        "your",
        "the",
        "a",
        "an",
        "is",
        "are",
        "am",
        "was",
        "have",
        "has",
        "had",
        "do",
        "does",
        "don't",
        "can",
        "can't",
        "what",
        "how",
        "when",
        "where",
        "why",
        "who",
        "want",
        "need",
        "would",
        "could",
        "should",
        "will",
        "please",
        "hello",
        "hi",
        "thanks",
        "thank",
        "job",
        "work",
        "lost",
        "fired",
        "laid",
        "off",
        "contract",
        "training",
        "course",
        "help",
        "talk",
        "speak",
        "person",
        "about",
        "it",
        "this",
        "that",
        "with",
        "for",
        "of",
        "and",
        "to",
        "not",
        "no",
        "yes",
        "free",
        "cost",
        "costs",
        "money",
        "career",
    ]
)
_DUTCH = frozenset(
    [
        "ik",
        "mijn",
        "mn",
        "me",
        "je",
        "jij",
        "jouw",
        "het",
        "een",
        "de",
        "is",
        "ben",
        "zijn",
        "was",
        "heb",
        "hebt",
        "heeft",
        "wat",
        "hoe",
        "wanneer",
        "waar",
        "waarom",
        "wie",
        "wil",
        "wel",
        "niet",
        "nie",
        "geen",
        "kan",
        "kun",
        "kunt",
        "moet",
        "graag",
        "hallo",
        "hoi",
        "dank",
        "bedankt",
        "werk",
        "baan",
        "ontslag",
        "contract",
        "opleiding",
        "cursus",
        "hulp",
        "praten",
        "mens",
        "over",
        "dit",
        "dat",
        "met",
        "voor",
        "van",
        "en",
        "naar",
        "ook",
        "nog",
        "maar",
        "als",
        "ja",
        "nee",
        "gratis",
        "kosten",
        "loopbaan",
        "word",
        "wordt",
        "verlengd",
    ]
)
_WORD = re.compile(r"[a-zà-ÿ']+")


def detect_language(text: str) -> Language | None:
    """'en' or 'nl' when the message clearly is; None when it is too short or mixed."""
    words = _WORD.findall(text.lower())
    if len(words) < 2:
        return None
    english = sum(w in _ENGLISH and w not in _DUTCH for w in words)
    dutch = sum(w in _DUTCH and w not in _ENGLISH for w in words)
    if english >= 2 and english > 2 * dutch:
        return "en"
    if dutch >= 2 and dutch > 2 * english:
        return "nl"
    return None
