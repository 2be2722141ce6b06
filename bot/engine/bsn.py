"""A BSN (burgerservicenummer) typed anywhere is never understood, stored, logged or passed on.

The bot has no use for it (AVG: data minimisation). Recognised: nine digits, also written in
groups with spaces or dots ("1234 56 782", "123.456.782"), passing the eleven-test; and any
digits said as a BSN ("mijn bsn is 12345678"). Ten digits (a Dutch mobile, 0612345678) and
digits inside a longer run (an IBAN's account number) are not a BSN.
"""

from __future__ import annotations

import re

# Nine digits, optionally grouped by single spaces or dots, not touching other digits,
# letters or a further group ("NL91ABNA0417164300" holds digits, but glued to letters).
_NINE = re.compile(r"(?<![\w.])\d(?:[ .]?\d){8}(?![\w]|[ .]\d)")
# "bsn 12345678", "burgerservicenummer: 123 456 78", "bsn-nummer is 123456789"
_SAID = re.compile(
    r"\b(?:bsn|burger\s*service\s*nummer|sofi)(?:[-\s]?nummer)?\b[^\d\n]{0,20}?(\d(?:[ .]?\d){6,9})",
    re.IGNORECASE,
)
# The clause a BSN is said in ("mijn bsn is ... als je dat nodig hebt") goes with it.
_CLAUSES = re.compile(r"(?:[^,;.!?\n]|[.!?](?=\S))+")
_MEANINGFUL = re.compile(r"[^\W\d_]{2,}")


def elfproef(digits: str) -> bool:
    """The BSN eleven-test: 9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a multiple of 11 (and not 0)."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return total != 0 and total % 11 == 0


def _spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span(1) for m in _SAID.finditer(text)]
    for m in _NINE.finditer(text):
        if elfproef(re.sub(r"\D", "", m.group())):
            spans.append(m.span())
    return spans


def contains_bsn(text: str) -> bool:
    return bool(_spans(text))


def remove_bsn(text: str) -> str:
    """The text without every clause that holds a BSN: "schoonmaak, mijn bsn is 123456782
    als je dat nodig hebt" → "schoonmaak". Unchanged when there is none; "" when nothing
    else was said."""
    spans = _spans(text)
    if not spans:
        return text
    kept = [
        c.group().strip()
        for c in _CLAUSES.finditer(text)
        if not any(s < c.end() and c.start() < e for s, e in spans)
    ]
    rest = ", ".join(k for k in kept if k)
    return rest if _MEANINGFUL.search(rest) else ""
