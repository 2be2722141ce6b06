"""The texts code shows people, by key: the contract between the code and flows/texts.yml.

Every sentence a participant, coach, coordinator or terminal user reads comes from the YAML
catalogue in Dutch and English; code only names keys from `Key`. `careerbot flows check`
fails when one of them is missing in either language, or uses a placeholder code does not fill.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class Key(StrEnum):
    # -- the engine, to participants
    MENU_PROMPT = "menu_prompt"
    CANCELLED = "cancelled"
    NOTHING_TO_CANCEL = "nothing_to_cancel"
    CLARIFY = "clarify"
    SOMETHING_ELSE = "something_else"
    MISUNDERSTOOD = "misunderstood"
    QUESTION_UNKNOWN = "question_unknown"
    OFFER_HUMAN = "offer_human"
    OFFER_HUMAN_BUTTON = "offer_human_button"
    HUMAN_IN_INTAKE = "human_in_intake"
    TRY_AGAIN = "try_again"
    NLU_UNAVAILABLE = "nlu_unavailable"
    RESUME = "resume"
    STALE_BUTTON = "stale_button"
    INVALID_GENERIC = "invalid_generic"
    CHOOSE_CORRECTION = "choose_correction"
    CORRECTION_DONE_BUTTON = "correction_done_button"
    CORRECTED = "corrected"
    DOUBT = "doubt"
    DOUBT_RETRY = "doubt_retry"
    CONSENT_FIRST = "consent_first"
    LANGUAGE_PICK = "language_pick"
    LANGUAGE_SET = "language_set"
    HANDOFF_ASSIGNED = "handoff_assigned"
    HANDOFF_COORDINATOR = "handoff_coordinator"
    FLOWS_CHANGED = "flows_changed"
    ERROR = "error"
    YES = "yes"
    NO = "no"
    EMPTY_VALUE = "empty_value"
    # -- specific corrections for typed answers: invalid_<slot type>_<reason>
    INVALID_PHONE_TOO_SHORT = "invalid_phone_too_short"
    INVALID_PHONE_TOO_LONG = "invalid_phone_too_long"
    INVALID_PHONE_COUNTRY = "invalid_phone_country"
    INVALID_EMAIL_NO_AT = "invalid_email_no_at"
    INVALID_EMAIL_DOMAIN = "invalid_email_domain"
    INVALID_EMAIL_INVALID = "invalid_email_invalid"
    INVALID_POSTCODE_FORMAT = "invalid_postcode_format"
    INVALID_DATE_FORMAT = "invalid_date_format"
    INVALID_DATE_IMPOSSIBLE = "invalid_date_impossible"
    INVALID_NUMBER_FORMAT = "invalid_number_format"
    INVALID_NUMBER_RANGE = "invalid_number_range"
    INVALID_TEXT_NAME = "invalid_text_name"
    INVALID_TEXT_TOO_LONG = "invalid_text_too_long"
    # -- channels, to participants (before their language is known: both languages)
    NON_TEXT_MESSAGE = "non_text_message"
    TURN_FAILED = "turn_failed"
    ALREADY_CHOSEN = "already_chosen"
    # -- the coach desk, to participants
    COACH_ACCEPTED = "coach_accepted"
    VIA_PHONE = "via_phone"
    VIA_EMAIL = "via_email"
    VIA_TELEGRAM = "via_telegram"
    FROM_COACH = "from_coach"
    HANDED_BACK = "handed_back"
    CASE_CLOSED = "case_closed"
    ONLY_TEXT_TO_COACH = "only_text_to_coach"


# Placeholders the code fills in itself, per key (beyond slots and `values:`).
RUNTIME_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    Key.CORRECTED: frozenset({"label", "value"}),
    Key.DOUBT: frozenset({"value"}),
    Key.HANDOFF_ASSIGNED: frozenset({"coach_name", "union"}),
    Key.COACH_ACCEPTED: frozenset({"coach", "union", "via"}),
    Key.FROM_COACH: frozenset({"coach", "union"}),
    Key.HANDED_BACK: frozenset({"coach"}),
    Key.CASE_CLOSED: frozenset({"coach"}),
}
# A slot's own `doubt:` text may use {value} too.
SLOT_DOUBT_PLACEHOLDERS = frozenset({"value"})


def invalid_key(slot_type: str, reason: str | None) -> str | None:
    """The catalogue key for a specific invalid answer, e.g. invalid_phone_too_short."""
    return f"invalid_{slot_type}_{reason}" if reason else None


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill {placeholders}; an unknown one stays as written (flows check reports it)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
