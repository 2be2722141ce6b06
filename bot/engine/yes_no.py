"""Whether a typed answer to a yes/no question means yes, no, or "yes, except …".

The phrase decides, not its first word: "klopt niet" is no although "klopt" is a yes word,
"geen probleem" and "no worries" are yes although "geen" and "no" are no words, and "ja
alleen de woonplaats niet" / "yes except the town" confirm nothing (tester's findings 42, 44,
45 and 47, 6 Dec). So, in order:
1. a yes word negated ("klopt niet", "niet correct", "not right", "incorrect"): no;
2. a fixed phrase with a negation that means yes ("geen probleem", "niks mis mee", "why not"): yes;
3. (checked first) a yes with an exception ("ja, alleen X niet", "ja maar X klopt niet", "yes except the
   town", "bijna"): `PARTLY` — at a summary that is "what do you want to change?", elsewhere
   the question is asked again; it is never a yes.
"""

from __future__ import annotations

import re
from enum import Enum


class Reading(Enum):
    YES = "yes"
    NO = "no"
    PARTLY = "partly"


# "goed" and "ok" only right before the negation: "ja goed, maar niet bellen" is a yes
_CONFIRMING = r"(?:klopt|klopte|goed|correct|juist|accuraat|right|true|accurate)"
_CONFIRMS = r"(?:klopt|klopte|correct|juist|accuraat|right|true|accurate)"
_NOT = r"(?:niet|nie|niks|niets|nothing|not|never|nooit|geen|isnt|isn t|aint)"
_SOFTENER = r"(?:helemaal|echt|zo|wel|quite|really|totally|entirely|completely|all|exactly|so)"
# "klopt niet", "klopt niet echt", "dat is niet goed", "niet helemaal correct", "thats not right"
_NEGATED_YES = re.compile(
    rf"\b{_CONFIRMS}\s+(?:\w+\s+)?{_NOT}\b"  # klopt niet / klopt echt niet / klopt er niet
    rf"|\b{_NOT}\s+(?:{_SOFTENER}\s+)?{_CONFIRMING}\b"  # niet goed / not quite right
    r"|\b(?:incorrect|onjuist|fout|wrong|klopt\s+geen)\b"
)
# Said with a negation, and yet a yes.
_YES_DESPITE_NEGATION = re.compile(
    r"\b(?:geen (?:enkel )?(?:probleem|bezwaar|punt)|(?:niks|niets) mis mee|"
    r"waarom niet|why not|no (?:problem|problemo|worries|objection)|not a problem|"
    r"no probs?|dont mind|do not mind|nothing wrong)\b"
)
_YES_START = re.compile(
    r"^(?:ja\w*|jawel|jazeker|jup|jep|yes+|yep|yeah|yup|ok\w*|prima|goed|klopt|correct|"
    r"zeker|sure|right|true|akkoord|grotendeels|mostly)\b"
)
# "ja, alleen de woonplaats niet", "ja maar de woonplaats klopt niet", "yes but not the town"
_EXCEPT = re.compile(r"\b(?:behalve|except|excluding|apart from|besides|op \w+(?: \w+)? na)\b")
_BUT = re.compile(r"\b(?:maar|alleen|but|only)\b")
_NO_AFTER_BUT = re.compile(rf"\b{_NOT}\b|\b(?:anders|fout|wrong|different|verkeerd)\b")
_ALMOST = re.compile(r"^(?:bijna|nagenoeg|grotendeels|almost|mostly|nearly)\b")


def read_yes_no(folded: str) -> Reading | None:
    """`folded`: lower case, punctuation out. None when the phrase says neither (then the
    single yes and no words, and the NLU, decide)."""
    if _ALMOST.search(folded):
        return Reading.PARTLY
    if _YES_START.search(folded):
        # before the negation: "yes but the town is wrong" is no refusal of consent either
        if _EXCEPT.search(folded):
            return Reading.PARTLY
        but = _BUT.search(folded)
        if but is not None and _NO_AFTER_BUT.search(folded, but.end()):
            return Reading.PARTLY
    if _NEGATED_YES.search(folded) and not _YES_DESPITE_NEGATION.search(folded):
        return Reading.NO
    if _YES_DESPITE_NEGATION.search(folded):
        return Reading.YES
    return None
