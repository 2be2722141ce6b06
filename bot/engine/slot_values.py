"""Turn what a participant typed (or pressed) into a typed slot value, or say why not.

A failed parse says why (`reason`), so the participant hears "that number is too short"
instead of "I did not understand", and whether the text was recognisably meant as an answer
(`attempted`): then it is never read as a change of topic. Phone numbers are checked with
`phonenumbers` (Dutch and international), e-mail addresses with `email-validator`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, ValidationResult
from rapidfuzz import fuzz

from bot.engine import similarity
from bot.engine.options import (
    exact_option,
    open_options,
    said_options,
    time_option,
    typo_option,
)
from bot.engine.options import fold as fold_option
from bot.engine.words import word_set
from bot.engine.yes_no import Reading, read_yes_no
from bot.flows.catalogue import Key
from bot.flows.models import SlotDef, SlotType
from bot.gemeenten import (
    GemeenteMatch,
    find_gemeenten,
    is_valid_postcode,
    normalise,
    normalise_postcode,
    resolve_gemeente,
)
from bot.nlu.client import NluResult

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Parsed:
    """`ok` with `value` (and maybe `extra` slots), or not ok with a `reason` and `suggestions`.

    `attempted`: not valid, but recognisably meant as an answer ("a@@b.nl" for an e-mail,
    "06-1234" for a phone number, "Amsterdm"), so it must not be read as a change of topic.
    `exact`: the text is exactly an option, a keyword or a yes/no word (no NLU needed).
    `doubtful`: valid but implausible for this question ("ja" as a name): check it back.
    """

    ok: bool
    value: JsonScalar = None
    extra: dict[str, JsonScalar] = field(default_factory=dict)
    suggestions: tuple[str, ...] = ()
    attempted: bool = False
    reason: str | None = None
    exact: bool = False
    doubtful: bool = False
    # The catalogue text that checks a doubtful value back, when not the slot's own `doubt`
    # ("Bedoel je Nijmegen?" for "Nijmegn").
    check: Key | None = None


INVALID = Parsed(ok=False)
# The value of a yes/no answer that says "yes, except …": not ok, never a yes.
PARTLY = "partly"
# Fuzzy matching over ~470 names is the costliest part of a turn; answers repeat a lot.
_resolve_gemeente = lru_cache(maxsize=4096)(resolve_gemeente)

YES_WORDS = word_set(
    "ja jawel jazeker jup jep yes yep yeah yup y j ok oke oké okay okido prima goed klopt "
    "akkoord sure correct zeker graag natuurlijk tuurlijk idd inderdaad absoluut precies "
    "yess jaa jaaa yas"
)
NO_WORDS = word_set("nee neen nope no n nah niet liever nooit neeh nee hoor neuh nein")
# Said in passing; as an answer to "what is your name?" they are not a name.
CHATTER_WORDS = word_set(
    "hoi hallo hai hey hi hello hoy dag goedemorgen goedemiddag goedenavond morgen yo "
    "bedankt dank dankje dankjewel thanks thank thx merci top super doei bye ciao later "
    "sorry huh wat what ok oke okay"
)
_NAME_INTRO = re.compile(
    r"^(?:(?:hoi|hallo|hi|hey|hello|goedemorgen|goedemiddag|goedenavond)[,!. ]+)?"
    r"(?:ik ben|ikben|ik heet|ikheet|(?:mijn|mn|m'n|de|my|the) (?:voor)?naam is|"
    r"(?:voor)?naam is|my (?:first )?name is|my name's|i am|i'm|im|(?:voor)?naam:|name:|"
    r"dit is|this is|it's|it is|het is|met|noem me maar|noem me|zeg maar|je mag me|"
    r"call me|you can call me)\s+",
    re.IGNORECASE,
)
# "je kan me Bas noemen", "you can call me Mo"
_NAME_CALL = re.compile(r"^(?:je|u) (?:kan|kunt|mag) me (?P<name>\S+) noemen\b", re.IGNORECASE)
# Smileys and decorations around a name: "Kasia :)", "Yusuf!!"
_DECORATION = re.compile(r"[:;=]-?[()dDpP]+|[()]|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
# A name ends where the sentence goes on: "Fatima uit Zaandam", "Sam en ik woon in Tiel".
_NAME_END = word_set(
    "en uit van from and but maar ik i woon live werk work ben am wil want heb have die dus so , "
    "noemen here hier"
)
# Filler between "ik heet" and the name, or before a town: "ik heet eigenlijk Jan", "nee
# gewoon Jan", "actually it's Sam". Never a name or a place themselves.
FILLER_WORDS = word_set(
    "eigenlijk gewoon toch trouwens dus nou ja nee wel echt juist sorry oh o oja oeps "
    "actually just really well so oh oops no yes sorry"
)
# Small talk typed where a name is asked ("hoi", "goeiemorgen", "ok", "ja hoor", "hey daar"):
# every word one of these, after folding stretched letters ("hoiii", "okeee").
# A bare "ja" or "nee" is checked back instead ("Is 'Ja' je naam?": it may be a late answer to
# the question before), and "Hai" is also a name.
_SMALL_TALK = (
    CHATTER_WORDS
    | YES_WORDS
    | NO_WORDS
    | word_set(
        "goeiemorgen goeiemiddag goeienavond goedendag goeiedag morning afternoon evening good "
        "hoihoi hallootjes hee hej moi hello hallo eh ehm uh uhm um hmm hm mooi fijn prima cool "
        "nice fine alright top salaam selam merhaba salut cześć czesc bună buna ziua"
    )
) - {"hai"}
# Only small talk beside another word of it: "oké dan", "hey daar", "hoe gaat het" ("Dan" is a
# name).
_SMALL_TALK_TAIL = word_set(
    "dan daar hoor nou there all allemaal iedereen everyone how hoe gaat het are you bot chatbot "
    # "dank u wel", "hartelijk dank", "thank you so much": thanks, not a name (trial, 6 Dec)
    "u wel je jullie hartelijk vriendelijk heel erg zeer veel so much very"
)
_BARE_YES_NO = word_set("ja nee yes no j n y")
# Words no first name begins with: "na het werk", "om een uur of vijf", "the evening".
_NOT_A_NAME = word_set(
    "na voor om in op bij met naar tot rond ongeveer het de een s mijn je jij we wij zij hij "
    "dat dit die wat hoe waar wanneer after before at on about around the my you it this "
    "that what how when where"
)
# Words a surname starts with ("de Vries", "van Dijk", "El Amrani").
_SURNAME_START = word_set("de van der den ter ten el al bin ben da dos di le la von du")
_GEMEENTE_INTRO = re.compile(
    r"^(?:ik woon in|ik woon|ik kom uit|woon in|i live in|i live|in|gemeente|de gemeente|"
    r"municipality|from|uit)\s+(?:het\s+|de\s+|the\s+)?",
    re.IGNORECASE,
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("januari", "january", "jan"),
            ("februari", "february", "feb"),
            ("maart", "march", "mrt", "mar"),
            ("april", "apr"),
            ("mei", "may"),
            ("juni", "june", "jun"),
            ("juli", "july", "jul"),
            ("augustus", "august", "aug"),
            ("september", "sept", "sep"),
            ("oktober", "october", "okt", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}


def clean_text(text: str) -> str:
    """Drop control and invisible formatting characters (NUL, zero-width, bidi overrides).

    They cannot be typed on purpose, break storage (PostgreSQL refuses NUL) and can make a
    name display differently from what it is.
    """
    if text.isprintable():
        return text
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Co")
    )


def parse_value(
    slot: SlotDef, *, text: str | None, payload_value: str | None, nlu: NluResult | None
) -> Parsed:
    """Parse without side effects. `payload_value` comes from a pressed `v:` button."""
    raw = payload_value if payload_value is not None else (text or "")
    raw = raw.strip()
    entity = nlu.entity(slot.entity) if nlu is not None and slot.entity else None
    match slot.type:
        case SlotType.CHOICE:
            return _choice(slot, raw, entity, nlu)
        case SlotType.YES_NO:
            return _yes_no(raw, nlu)
        case SlotType.TEXT:
            return _text(slot, raw)
        case SlotType.NUMBER:
            return _number(slot, raw)
        case SlotType.DATE:
            return _date(raw)
        case SlotType.PHONE:
            return _phone(raw)
        case SlotType.EMAIL:
            return _email(raw)
        case SlotType.GEMEENTE:
            return _gemeente(slot, raw, entity)
        case SlotType.POSTCODE:
            return _postcode(raw)
        case SlotType.REGION:
            return INVALID  # filled from a gemeente slot, never typed
    return INVALID


def is_strongly_typed(slot: SlotDef) -> bool:
    """Slots whose valid input cannot be a question, so the NLU need not be asked."""
    return slot.type not in (SlotType.TEXT,)


def _digits(raw: str) -> int:
    return sum(ch.isdigit() for ch in raw)


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w@+]", " ", text.lower()).split())


def _choice(slot: SlotDef, raw: str, entity: str | None, nlu: NluResult | None) -> Parsed:
    """An option by meaning (see options.py): exact, said, a time, a typo, the vector."""
    if not fold_option(raw) and entity is None:
        return INVALID
    if (value := exact_option(slot, raw)) is not None:
        return Parsed(True, value, exact=True)
    if entity is not None:
        by_value = {o.value: o.value for o in slot.options}
        if (value := by_value.get(_fold(entity).replace(" ", "_").replace("-", "_"))) is not None:
            return Parsed(True, value)
    said = {m.value for m in said_options(slot, raw)}
    if len(said) == 1:
        return Parsed(True, said.pop())
    if len(said) > 1:
        # "chat of bellen, maakt niet uit": meant as an answer; the buttons decide
        return Parsed(False, attempted=True, reason="ambiguous")
    if left_open := open_options(slot, raw):
        # "overdag": the morning or the afternoon, asked back with those two
        return Parsed(False, attempted=True, reason="narrow", suggestions=left_open)
    value = time_option(slot, raw) or typo_option(slot, raw)
    if value is not None:
        return Parsed(True, value)
    if nlu is not None and nlu.text_vector and nlu.text_vector_model == similarity.MODEL:
        value = similarity.closest_option(slot, nlu.text_vector)  # None until embedded
        if value is not None:
            return Parsed(True, value)
    return INVALID


# Answers in a few words that mean yes or no ("is goed", "liever niet").
_YES_PHRASES = (
    "is goed",
    "dat is goed",
    "vind ik goed",
    "vind ik prima",
    "doe maar",
    "dat mag",
    "mag wel",
    "dat wil ik",
    "ik wil dat",
    "heel graag",
    "go ahead",
    "sounds good",
    "thats fine",
    "that is fine",
    "fine by me",
    "i agree",
    "of course",
    "why not",
    "waarom niet",
)
_NO_PHRASES = (
    "liever niet",
    "hoeft niet",
    "niet nodig",
    "geen behoefte",
    "geen interesse",
    "ik wil niet",
    "ik wil het niet",
    "nu niet",
    "niet nu",
    "nee dank",
    "nee dankje",
    "nee bedankt",
    "no thanks",
    "no thank you",
    "not now",
    "not needed",
    "i dont want",
    "i do not want",
    "rather not",
    "not interested",
    "geen zin",
)


def _yes_no(raw: str, nlu: NluResult | None) -> Parsed:
    folded = _fold(raw.replace("'", "").replace("’", ""))
    words = folded.split()
    exact = len(words) <= 2 and all(w in YES_WORDS or w in NO_WORDS for w in words)
    padded = f" {folded} "
    # The phrase before its first word: "klopt niet" is no, "geen probleem" yes (yes_no.py).
    # Short, it is the whole answer: "waarom niet?" at the consent question is no question.
    reading = read_yes_no(folded)
    if reading is Reading.PARTLY:
        # "ja, alleen de woonplaats niet": never a yes; at a summary a change (understand.py)
        return Parsed(False, PARTLY, reason="unclear", attempted=True)
    if reading is not None:
        return Parsed(True, reading is Reading.YES, exact=len(words) <= 4)
    if any(f" {p} " in padded for p in _NO_PHRASES):
        return Parsed(True, False)
    if words and (words[0] in YES_WORDS or raw.lower() in {"v:yes", "yes"}):
        return Parsed(True, True, exact=exact)
    if words and words[0] in NO_WORDS:
        return Parsed(True, False, exact=exact)
    if any(f" {p} " in padded for p in _YES_PHRASES):
        return Parsed(True, True)
    if nlu is not None and nlu.available and nlu.confidence >= 0.6:
        if nlu.intent == "affirm":
            return Parsed(True, True)
        if nlu.intent == "deny":
            return Parsed(True, False)
    return INVALID


def is_small_talk(text: str) -> bool:
    """ "hoi", "goeiemorgen!", "ok", "ja hoor", "hey daar": greetings, thanks and
    acknowledgements only, never an answer with content (a name, a place)."""
    words = [_stretched(w) for w in re.findall(r"[^\W\d_]+", text.lower())]
    if not words or words == [w for w in words if w in _SMALL_TALK_TAIL]:
        return False
    if len(words) == 1 and words[0] in _BARE_YES_NO:
        return False
    return all(w in _SMALL_TALK or w in _SMALL_TALK_TAIL for w in words)


def _stretched(word: str) -> str:
    """ "hoiii" → "hoi", "okeee" → "oke", "jaaa" → "ja"; a word as written when known."""
    if word in _SMALL_TALK or word in _SMALL_TALK_TAIL:
        return word
    return re.sub(r"(.)\1+$", r"\1", re.sub(r"(.)\1{2,}", r"\1", word))


def parse_name(raw: str) -> str | None:
    """ "ik ben fatima", "Fatima uit Zaandam" → "Fatima"; None when it is not a name."""
    value = _DECORATION.sub(" ", " ".join(raw.split()))
    if called := _NAME_CALL.match(value.strip()):
        value = called.group("name")
    value = _NAME_INTRO.sub("", " ".join(value.split())).strip(" .,!?;:")
    value = _drop_filler(value)
    parts: list[str] = []
    for token in re.split(r"(\s+|,)", value):
        word = token.strip()
        if not word:
            continue
        if word.lower() in _NAME_END or word == "," or (parts and word.lower() in FILLER_WORDS):
            break  # "Jan eigenlijk": the filler after a name is not part of it
        parts.append(word.strip(".!?;:"))
        if word.endswith((".", "!", "?", ";", ":")):
            break  # "Fatima. Ik woon in Tilburg": the sentence ends
    if not parts or len(parts) > 3 or parts[0].lower() in _NOT_A_NAME:
        return None
    if len(parts) > 1 and parts[1].lower() in _SURNAME_START:
        parts = parts[:1]  # "Anna de Vries": the first name is asked
    name = " ".join(parts)
    if any(ch.isdigit() or ch in "@/\\#<>{}[]=_*" for ch in name):
        return None
    return " ".join(
        "-".join(piece[:1].upper() + piece[1:] for piece in part.split("-")) for part in parts
    )


def _drop_filler(value: str) -> str:
    """ "eigenlijk Jan" → "Jan", "nee, gewoon Jan" → "Jan": the words before a name or a
    place that only colour the sentence; a second intro after them goes too ("nee, ik heet
    Jan")."""
    for _ in range(4):
        words = value.split(maxsplit=1)
        if len(words) < 2 or words[0].lower().strip(",.!") not in FILLER_WORDS:
            break
        value = _NAME_INTRO.sub("", words[1].lstrip(" ,")).strip(" .,!?;:")
    return value


# What introduces a free-text answer, not part of it: the field's name ("Werk: ...",
# "Antwoord: ..."), a word of hesitation ("nou, ..."), and "ik werk als", "ik ben (een)",
# "I work as", "I'm a" (the work is what follows).
_FIELD_GENERIC = ("antwoord", "answer", "mijn antwoord", "my answer")
_HESITATION = re.compile(r"^(?:(?:nou|eh+|uh+m*|ehm|hmm+|well|so|oke|ok|okay)\b[,.!]*\s+)+", re.I)
ANSWER_INTRO = re.compile(
    r"^(?:ik ben (?:een |nu |al )?|ik werk als (?:een )?|ik werk(?:te)? |ik doe |"
    r"i am (?:a |an )?|i'm (?:a |an )?|im (?:a |an )?|i work as (?:a |an )?|i work |i do )",
    re.IGNORECASE,
)
_EMPTY_WORDS = word_set(
    "ik je het de een dat dit die wat er hier daar nu al ook wel niet nog zo en of in op "
    "i it the a an that this what there here now also not and or in on so"
)


def strip_lead_in(slot: SlotDef, value: str) -> str:
    """ "Werk: ik werk in de thuiszorg als verzorgende" → "in de thuiszorg als verzorgende".
    Never to nothing or to words that say nothing ("ik ben het" stays as it is)."""
    names = [*_FIELD_GENERIC, *slot.aliases]
    if slot.label is not None:
        for label in (slot.label.nl, slot.label.en or ""):
            names += [label, *re.split(r"\s*/\s*", label)]
    stripped = value
    for name in sorted({n.strip().lower() for n in names if n.strip()}, key=len, reverse=True):
        m = re.match(rf"(?:(?:mijn|mn|my)\s+)?{re.escape(name)}\s*[:=]\s*", stripped, re.I)
        if m:
            stripped = stripped[m.end() :]
            break
    stripped = _HESITATION.sub("", stripped)
    stripped = ANSWER_INTRO.sub("", stripped).strip()
    meaningful = any(
        len(w) >= 3 and w not in _EMPTY_WORDS for w in re.findall(r"\w+", stripped.lower())
    )
    return stripped if meaningful else value


def _text(slot: SlotDef, raw: str) -> Parsed:
    value = " ".join(raw.split())
    if slot.format != "name":
        value = strip_lead_in(slot, value)
    if slot.format == "name" and is_small_talk(value):
        return Parsed(False, reason="name")  # "hoi", "ok", "goeiemorgen" is not a name
    if slot.format == "name":
        name = parse_name(value)
        if name is None:
            return Parsed(False, reason="name")
        value = name
    if not slot.min_length <= len(value) <= slot.max_length:
        return Parsed(False, reason="too_long" if len(value) > slot.max_length else "too_short")
    folded = _fold(value)
    doubtful = (
        len(folded.replace(" ", "")) <= 1
        or folded in YES_WORDS
        or folded in NO_WORDS
        or folded in CHATTER_WORDS
    )
    return Parsed(True, value, doubtful=doubtful)


def _number(slot: SlotDef, raw: str) -> Parsed:
    cleaned = raw.replace("€", "").replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+(?:,\d+)?", cleaned):
        cleaned = cleaned.replace(".", "")  # Dutch thousands: 1.500 or 1.500,50
    cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", cleaned):
        return Parsed(False, attempted=_digits(raw) >= 1, reason="format")
    number = float(cleaned)
    if (slot.min is not None and number < slot.min) or (slot.max is not None and number > slot.max):
        return Parsed(False, attempted=True, reason="range")
    return Parsed(True, int(number) if number.is_integer() else number)


def _date(raw: str) -> Parsed:
    text = raw.strip().lower()
    day = month = year = None
    if m := re.fullmatch(r"(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})", text):
        day, month, year = (int(g) for g in m.groups())
    elif m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        year, month, day = (int(g) for g in m.groups())
    elif m := re.fullmatch(r"(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})", text):
        month = _MONTHS.get(m.group(2))
        day, year = int(m.group(1)), int(m.group(3))
    if day is None or month is None or year is None:
        return Parsed(False, attempted=_digits(raw) >= 1, reason="format")
    try:
        return Parsed(True, date(year, month, day).isoformat())
    except ValueError:
        return Parsed(False, attempted=True, reason="impossible")


_PHONE_REASONS = {
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_LONG: "too_long",
    NumberParseException.INVALID_COUNTRY_CODE: "country",
    NumberParseException.NOT_A_NUMBER: "invalid",
}
_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too_short",
    ValidationResult.TOO_LONG: "too_long",
    ValidationResult.INVALID_LENGTH: "invalid",
    ValidationResult.INVALID_COUNTRY_CODE: "country",
}


def normalise_phone(raw: str) -> str | None:
    """Dutch numbers (06-12345678, 020 123 4567, +31 6 ...) and international ones → E.164."""
    parsed = _phone(raw)
    return parsed.value if parsed.ok and isinstance(parsed.value, str) else None


def _phone(raw: str) -> Parsed:
    digits = _digits(raw)
    if digits == 0:
        return INVALID
    # "mijn nummer is 06 12345678": find the number inside the sentence.
    if re.search(r"[^\d\s\-+().]", raw):
        for match in phonenumbers.PhoneNumberMatcher(raw, "NL"):
            return Parsed(True, _e164(match.number))
        candidate = re.search(r"[+\d][\d\s\-().]*\d", raw)
        if candidate is None or _digits(candidate.group()) < 4:
            return Parsed(False, attempted=digits >= 5, reason="invalid")
        raw = candidate.group()
    try:
        number = phonenumbers.parse(raw, "NL")
    except NumberParseException as exc:
        return Parsed(False, attempted=True, reason=_PHONE_REASONS.get(exc.error_type, "invalid"))
    if number.country_code == 31:  # Dutch numbers have 9 digits after the 0 / +31
        length = len(phonenumbers.national_significant_number(number))
        if length != 9:
            return Parsed(False, attempted=True, reason="too_short" if length < 9 else "too_long")
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        return Parsed(False, attempted=True, reason=_LENGTH_REASONS.get(possible, "invalid"))
    if not phonenumbers.is_valid_number(number):
        return Parsed(False, attempted=True, reason="invalid")
    return Parsed(True, _e164(number))


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    parsed = _email(raw)
    return parsed.value if parsed.ok and isinstance(parsed.value, str) else None


def _email(raw: str) -> Parsed:
    value = raw.strip().strip("<>").strip()
    if "@" not in value:
        # "fatima.gmail.com" is an attempt at an address; "geen idee" is not.
        looks = bool(re.fullmatch(r"\S+\.[a-z]{2,}", value.lower()))
        return Parsed(False, attempted=looks, reason="no_at")
    if " " in value:  # "mijn mail is a@b.nl": take the address out of the sentence
        token = next((t for t in value.split() if "@" in t), value)
        value = token.strip(".,;:!?()<>")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        local, _, domain = value.rpartition("@")
        reason = "domain" if local and "@" not in local and "." not in domain else "invalid"
        return Parsed(False, attempted=True, reason=reason)
    return Parsed(True, result.normalized)


def _postcode(raw: str) -> Parsed:
    if is_valid_postcode(raw):
        return Parsed(True, normalise_postcode(raw))
    return Parsed(False, attempted=_digits(raw) >= 3, reason="format")


def gemeente_extra(slot: SlotDef, match: GemeenteMatch) -> dict[str, JsonScalar]:
    """The slots a resolved place fills besides the municipality: its region and the town or
    village named (None when the municipality itself was named, so an old one is cleared)."""
    extra: dict[str, JsonScalar] = {}
    municipality = match.municipality
    if slot.region_slot and municipality is not None and municipality.region is not None:
        extra[slot.region_slot] = municipality.region.code
    if slot.place_slot:
        extra[slot.place_slot] = match.place
    return extra


def _found(slot: SlotDef, match: GemeenteMatch) -> Parsed:
    assert match.municipality is not None
    return Parsed(
        True,
        match.municipality.name,
        gemeente_extra(slot, match),
        # a village near a border: "Kwintsheul hoort bij Westland, klopt dat?"
        suggestions=tuple(_choice_of(match.place, m.name) for m in match.alternatives),
        doubtful=match.confirm,
    )


def _gemeente(slot: SlotDef, raw: str, entity: str | None) -> Parsed:
    suggestions: tuple[str, ...] = ()
    stripped = _GEMEENTE_INTRO.sub("", raw.strip(" .!?"))
    for candidate in (raw, stripped):
        match = _resolve_gemeente(candidate)
        if match.municipality is not None:
            return _found(slot, match)
        suggestions = suggestions or match.suggestions
    # "ik woon in Wateringen maar werk in Delft", "Almere Buiten", "in het westland"
    mention = _home_mention(raw)
    if mention is not None:
        return _found(slot, mention)
    if entity and (match := _resolve_gemeente(entity)).municipality is not None:
        return _found(slot, match)
    if (district := _district_of(stripped)) is not None:
        return _found(slot, district)
    if (postcode := _POSTCODE_IN.search(raw)) and is_valid_postcode(postcode.group()):
        # No postcode table ships with the bot: ask for the place by name, kindly (a postcode
        # is a fine answer, never "I cannot help with that": person trial, 6 Dec).
        return Parsed(False, attempted=True, reason="postcode")
    typed = normalise(stripped)
    chatter = typed in CHATTER_WORDS or typed in YES_WORDS or typed in NO_WORDS
    scores = sorted((fuzz.ratio(typed, normalise(s)), s) for s in suggestions)[::-1]
    clear = len(scores) == 1 or (len(scores) > 1 and scores[1][0] < scores[0][0] - 5)
    likely = _resolve_gemeente(scores[0][1]) if scores else None
    if not chatter and clear and scores[0][0] >= _SURE_TYPO and likely and likely.municipality:
        # "Nijmegn": checked back ("Bedoel je Nijmegen?") instead of a list to choose from
        found = _found(slot, likely)
        return Parsed(
            True,
            found.value,
            found.extra,
            suggestions=(scores[0][1],),
            doubtful=True,
            check=Key.DOUBT_SPELLING,
        )
    # A near miss ("Amsterdm") is a typo of a town: an answer, never a change of topic.
    # Loose suggestions ("hallo" ~ Almelo) are still offered, but do not make it one.
    close = not chatter and any(score >= 80 for score, _ in scores)
    return Parsed(
        False,
        suggestions=suggestions,
        attempted=close,
        reason="unknown" if suggestions else None,
    )


_SURE_TYPO = 85  # a spelling this close to one known name is checked back as that name
_NEAR = re.compile(r"\b(?:bij|buurt van|near|close to|naast|tussen|werk\w*\s+(?:in|bij|at))\s+$")


_POSTCODE_IN = re.compile(r"\b[1-9][0-9]{3}\s?[A-Za-z]{2}\b")
# A district after its town: "Tilburg-Noord", "Tilburg Reeshof", "Breda centrum".
_DISTRICT_WORDS = word_set("noord zuid oost west centrum midden binnenstad stad dorp")


def _district_of(text: str) -> GemeenteMatch | None:
    """The municipality of "Tilburg-Noord" or "Tilburg Reeshof": the longest leading part that
    is a municipality itself, when the rest (one or two words) reads as a district: after a
    hyphen, with a capital, or a word like "noord" (so "Best wel" is not Best)."""
    text = text.strip()
    cuts = [m.start() for m in re.finditer(r"\s*-\s*|\s+", text)]
    for cut in reversed(cuts):
        town, rest = text[:cut], text[cut:]
        words = rest.strip(" -").split()
        if not words or len(words) > 2:
            continue
        if not (
            rest.strip().startswith("-")
            or words[0][0].isupper()
            or normalise(words[0]) in _DISTRICT_WORDS
        ):
            continue
        match = _resolve_gemeente(town)
        if match.municipality is not None and match.place is None and not match.confirm:
            return match
    return None


def _home_mention(raw: str) -> GemeenteMatch | None:
    """The place a sentence says someone lives in: not one they work in, nor one they live
    near ("een dorpje bij Zwolle, Hattem" → Hattem); a village that is also a word ("echt")
    only after "in"."""
    best: GemeenteMatch | None = None
    for mention in find_gemeenten(raw):
        before = raw[: mention.start].lower()
        if mention.word_like and not re.search(r"\b(?:in|uit|te)\s+$", before):
            continue  # "ik weet het echt niet" is not Echt; "ik woon in Echt" is
        if _NEAR.search(before):
            best = best or None
            continue
        return mention.match
    return best


def _choice_of(place: str | None, municipality: str) -> str:
    return f"{place} ({municipality})" if place else municipality
