"""An option named by its number: "2", "optie 2", "de tweede", "nr 1", "the second one".

People type numbers at a button question: in the terminal chat the options are shown numbered,
and people used to menus by phone answer with a number anyway. Only a message that is nothing
but such a number counts ("ik heb 2 kinderen" is not option 2).
"""

from __future__ import annotations

import re

from bot.engine.words import word_set

_ORDINALS = {
    **dict.fromkeys(("eerste", "first"), 1),
    **dict.fromkeys(("tweede", "second"), 2),
    **dict.fromkeys(("derde", "third"), 3),
    **dict.fromkeys(("vierde", "fourth"), 4),
    **dict.fromkeys(("vijfde", "fifth"), 5),
    **dict.fromkeys(("zesde", "sixth"), 6),
    **dict.fromkeys(("zevende", "seventh"), 7),
    **dict.fromkeys(("achtste", "eighth"), 8),
    **dict.fromkeys(("negende", "ninth"), 9),
    **dict.fromkeys(("tiende", "tenth"), 10),
}
# Number words only count after a word like "optie" ("een" and "one" are also articles).
_CARDINALS = {
    **dict.fromkeys(("een", "één", "one"), 1),
    **dict.fromkeys(("twee", "two"), 2),
    **dict.fromkeys(("drie", "three"), 3),
    **dict.fromkeys(("vier", "four"), 4),
    **dict.fromkeys(("vijf", "five"), 5),
    **dict.fromkeys(("zes", "six"), 6),
    **dict.fromkeys(("zeven", "seven"), 7),
    **dict.fromkeys(("acht", "eight"), 8),
    **dict.fromkeys(("negen", "nine"), 9),
    **dict.fromkeys(("tien", "ten"), 10),
}
_NAMING = word_set(
    "optie keuze nr nummer no number num option choice antwoord answer knop button item"
)
# Words around the number that say nothing else: "doe maar de tweede", "nummer 2 graag".
_FILLER = word_set(
    "de het die dan maar doe doen ik kies neem wordt is graag pls please aub ajb svp "
    "the one i pick take choose it's its is then ok oke okay"
)
_DIGITS = re.compile(r"^#?(?P<n>\d{1,2})(?:e|de|ste|st|nd|rd|th)?$")


def option_number(text: str) -> int | None:
    """The number the message names an option by, or None when it says more than that."""
    words = re.sub(r"[.,!?:;()\[\]]", " ", text.lower()).split()
    number: int | None = None
    named = False
    for word in words:
        digits = _DIGITS.match(word)
        value = (
            int(digits.group("n"))
            if digits
            else _ORDINALS.get(word) or (_CARDINALS.get(word) if named else None)
        )
        if value is not None:
            if number is not None:
                return None  # "1 of 2": two numbers, no choice
            number = value
        elif word in _NAMING:
            named = True
        elif word not in _FILLER:
            return None
    return number
