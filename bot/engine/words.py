"""Word lists are written as one string per list: easier for a Dutch reader to scan."""

from __future__ import annotations


def word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())
