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
    """Every text the code says, by its name in texts.yml. Code passes a `Key`, never a string,
    so that mypy finds a name the catalogue does not have."""

    @classmethod
    def named(cls, name: str) -> Key | None:
        """The key named `name` (built from data: a case status, a slot type), if there is one."""
        try:
            return cls(name)
        except ValueError:
            return None

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
    CASE_ALREADY_OPEN = "case_already_open"
    CASE_OPEN_NOTE = "case_open_note"
    NOTED = "noted"
    CHOOSE_NARROW = "choose_narrow"
    OR = "or"
    TOPIC_HEARD = "topic_heard"
    CASE_DETAILS_UPDATED = "case_details_updated"
    CASE_DETAILS_KNOWN = "case_details_known"
    TRY_AGAIN = "try_again"
    NLU_UNAVAILABLE = "nlu_unavailable"
    RESUME = "resume"
    RESUME_NEXT = "resume_next"  # after a question answered together with an answer
    ACK_OK = "ack_ok"  # "ja", "oké", 👍 with nothing pending
    ACK_THANKS = "ack_thanks"  # "dank je", "thanks" with nothing pending
    STALE_BUTTON = "stale_button"
    INVALID_GENERIC = "invalid_generic"
    NUMBER_NOT_SHOWN = "number_not_shown"
    NUMBER_OUT_OF_RANGE = "number_out_of_range"
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
    PLACE_DISPLAY = "place_display"
    PLACE_DISPLAY_NO_REGION = "place_display_no_region"
    MUNICIPALITY_DISPLAY = "municipality_display"
    PLACE_WHICH_MUNICIPALITY = "place_which_municipality"
    DOUBT_SPELLING = "doubt_spelling"
    ALREADY_TOLD = "already_told"
    ALREADY_TOLD_TOPIC = "already_told_topic"
    READ_AGAIN = "read_again"
    WAY_FORWARD = "way_forward"
    SKIP_QUESTION = "skip_question"
    CONTACT_BY_CHAT = "contact_by_chat"
    HAND_OVER_NOW = "hand_over_now"
    INVALID_CHOICE_UNCLEAR = "invalid_choice_unclear"
    INVALID_CHOICE_AMBIGUOUS = "invalid_choice_ambiguous"
    INVALID_YES_NO_UNCLEAR = "invalid_yes_no_unclear"
    # -- specific corrections for typed answers: invalid_<slot type>_<reason>
    INVALID_PHONE_TOO_SHORT = "invalid_phone_too_short"
    INVALID_PHONE_TOO_LONG = "invalid_phone_too_long"
    INVALID_PHONE_COUNTRY = "invalid_phone_country"
    INVALID_EMAIL_NO_AT = "invalid_email_no_at"
    INVALID_EMAIL_DOMAIN = "invalid_email_domain"
    INVALID_EMAIL_INVALID = "invalid_email_invalid"
    INVALID_POSTCODE_FORMAT = "invalid_postcode_format"
    INVALID_GEMEENTE_UNKNOWN = "invalid_gemeente_unknown"
    INVALID_GEMEENTE_POSTCODE = "invalid_gemeente_postcode"
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
    ONE_MOMENT = "one_moment"  # a message waited long under load (bot/nlu/admission.py)
    # -- the coach desk, to participants
    COACH_ACCEPTED = "coach_accepted"
    VIA_PHONE = "via_phone"
    VIA_EMAIL = "via_email"
    VIA_TELEGRAM = "via_telegram"
    FROM_COACH = "from_coach"
    HANDED_BACK = "handed_back"
    CASE_CLOSED = "case_closed"
    ONLY_TEXT_TO_COACH = "only_text_to_coach"
    # -- the coach desk, the coordinator, admins and the terminal
    COACH_REPLACED = "coach_replaced"
    COACH_SEARCHING = "coach_searching"
    CASE_REQUEST_CLOSED = "case_request_closed"
    LEFT_LIVE_CHAT = "left_live_chat"
    REQUEST_ALREADY_OPEN = "request_already_open"
    OUR_TEAM = "our_team"
    DESK_CASE_NEW = "desk_case_new"
    DESK_CASE_NEW_FOOTER = "desk_case_new_footer"
    DESK_CASE = "desk_case"
    DESK_BUTTON_ACCEPT = "desk_button_accept"
    DESK_BUTTON_DECLINE = "desk_button_decline"
    DESK_BUTTON_ASSIGN = "desk_button_assign"
    DESK_LABEL_NAME = "desk_label_name"
    DESK_LABEL_REGION = "desk_label_region"
    DESK_LABEL_STATUS = "desk_label_status"
    DESK_LABEL_LANGUAGE = "desk_label_language"
    DESK_LANGUAGE_EN = "desk_language_en"
    DESK_STATUS_NEW = "desk_status_new"
    DESK_STATUS_ASSIGNED = "desk_status_assigned"
    DESK_STATUS_ACCEPTED = "desk_status_accepted"
    DESK_STATUS_CLOSED = "desk_status_closed"
    DESK_FOR_COORDINATOR = "desk_for_coordinator"
    DESK_COORDINATOR_CHOOSE = "desk_coordinator_choose"
    DESK_COORDINATOR_NOBODY = "desk_coordinator_nobody"
    DESK_REASON_NO_REGION = "desk_reason_no_region"
    DESK_REASON_NO_COACH = "desk_reason_no_coach"
    DESK_REASON_DECLINED = "desk_reason_declined"
    DESK_REASON_UNREACHABLE = "desk_reason_unreachable"
    DESK_REASON_DEACTIVATED = "desk_reason_deactivated"
    DESK_REASON_COACH_CHANGED = "desk_reason_coach_changed"
    DESK_MOVED_AWAY = "desk_moved_away"
    DESK_TO_QUEUE = "desk_to_queue"
    DESK_ASSIGNED = "desk_assigned"
    DESK_ASSIGN_STALE = "desk_assign_stale"
    DESK_ASSIGN_COACH_GONE = "desk_assign_coach_gone"
    DESK_REQUESTED_AGAIN = "desk_requested_again"
    DESK_CASE_UPDATED = "desk_case_updated"
    DESK_ACCEPTED_LIVE = "desk_accepted_live"
    DESK_ACCEPTED_OFFLINE = "desk_accepted_offline"
    DESK_DECLINED = "desk_declined"
    DESK_DECLINED_NO_COLLEAGUE = "desk_declined_no_colleague"
    DESK_NOT_YOURS = "desk_not_yours"
    DESK_ACCEPT_FIRST = "desk_accept_first"
    DESK_ALREADY_ACCEPTED = "desk_already_accepted"
    DESK_CASE_IS_CLOSED = "desk_case_is_closed"
    DESK_NOT_REACHABLE_HERE = "desk_not_reachable_here"
    DESK_HANDED_BACK = "desk_handed_back"
    DESK_ALREADY_WITH_BOT = "desk_already_with_bot"
    DESK_CLOSE_USAGE = "desk_close_usage"
    DESK_CLOSED = "desk_closed"
    DESK_MESSAGE_USAGE = "desk_message_usage"
    DESK_FROM_PARTICIPANT = "desk_from_participant"
    DESK_PARTICIPANT_LEFT = "desk_participant_left"
    DESK_ONLY_TEXT = "desk_only_text"
    DESK_NO_OPEN_CASES = "desk_no_open_cases"
    DESK_OPEN_CASES = "desk_open_cases"
    DESK_HELP = "desk_help"
    DESK_COACH_STOPPED = "desk_coach_stopped"
    DESK_COACH_INACTIVE = "desk_coach_inactive"
    DESK_OLD_BUTTON = "desk_old_button"
    DESK_REASSIGNED_AWAY = "desk_reassigned_away"
    ADMIN_RELOADED = "admin_reloaded"
    ADMIN_RELOAD_FAILED = "admin_reload_failed"
    ADMIN_RELOAD_UNCHANGED = "admin_reload_unchanged"
    TERMINAL_HINT = "terminal_hint"
    TERMINAL_NLU_DOWN = "terminal_nlu_down"
    TERMINAL_TO_COACH = "terminal_to_coach"
    TERMINAL_TO_COORDINATOR = "terminal_to_coordinator"
    # -- scheduled messages
    REMINDER_INTAKE = "reminder_intake"
    DESK_SLA_REMINDER = "desk_sla_reminder"
    DESK_REASON_NO_ANSWER = "desk_reason_no_answer"
    DESK_DIGEST = "desk_digest"
    # -- privacy
    PRIVACY_EXPORT_CAPTION = "privacy_export_caption"
    PRIVACY_NOTHING = "privacy_nothing"
    PRIVACY_CONFIRM_ERASE = "privacy_confirm_erase"
    PRIVACY_ERASE_BUTTON = "privacy_erase_button"
    PRIVACY_KEEP_BUTTON = "privacy_keep_button"
    PRIVACY_ERASED = "privacy_erased"
    PRIVACY_KEPT = "privacy_kept"
    DESK_PARTICIPANT_ERASED = "desk_participant_erased"
    BSN_NOT_KEPT = "bsn_not_kept"


# Placeholders the code fills in itself, per key (beyond slots and `values:`).
RUNTIME_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    Key.CORRECTED: frozenset({"label", "value"}),
    Key.NUMBER_OUT_OF_RANGE: frozenset({"count"}),
    Key.PLACE_DISPLAY: frozenset({"place", "municipality", "region"}),
    Key.PLACE_DISPLAY_NO_REGION: frozenset({"place", "municipality"}),
    Key.MUNICIPALITY_DISPLAY: frozenset({"municipality", "region"}),
    Key.ALREADY_TOLD_TOPIC: frozenset({"topic"}),
    Key.DOUBT_SPELLING: frozenset({"value"}),
    Key.DOUBT: frozenset({"value"}),
    Key.HANDOFF_ASSIGNED: frozenset({"coach_name", "union"}),
    Key.COACH_REPLACED: frozenset({"coach", "old", "union"}),
    Key.COACH_SEARCHING: frozenset({"old"}),
    Key.LEFT_LIVE_CHAT: frozenset({"coach"}),
    Key.REQUEST_ALREADY_OPEN: frozenset({"who"}),
    Key.DESK_CASE_NEW: frozenset({"case"}),
    Key.DESK_CASE_NEW_FOOTER: frozenset({"case"}),
    Key.DESK_CASE: frozenset({"case"}),
    Key.DESK_BUTTON_ASSIGN: frozenset({"coach", "open"}),
    Key.DESK_FOR_COORDINATOR: frozenset({"case", "reason"}),
    Key.DESK_ASSIGNED: frozenset({"case", "coach"}),
    Key.DESK_REASSIGNED_AWAY: frozenset({"case", "coach"}),
    Key.DESK_MOVED_AWAY: frozenset({"case", "to"}),
    Key.DESK_ASSIGN_STALE: frozenset({"case"}),
    Key.DESK_ASSIGN_COACH_GONE: frozenset({"case"}),
    Key.DESK_REQUESTED_AGAIN: frozenset({"case"}),
    Key.DESK_CASE_UPDATED: frozenset({"case", "fields"}),
    Key.CASE_DETAILS_UPDATED: frozenset({"fields"}),
    Key.NOTED: frozenset({"fields"}),
    Key.CHOOSE_NARROW: frozenset({"options"}),
    Key.DESK_ACCEPTED_LIVE: frozenset({"case"}),
    Key.DESK_ACCEPTED_OFFLINE: frozenset({"case"}),
    Key.DESK_DECLINED: frozenset({"case"}),
    Key.DESK_DECLINED_NO_COLLEAGUE: frozenset({"case"}),
    Key.DESK_NOT_YOURS: frozenset({"case"}),
    Key.DESK_ACCEPT_FIRST: frozenset({"case"}),
    Key.DESK_ALREADY_ACCEPTED: frozenset({"case"}),
    Key.DESK_CASE_IS_CLOSED: frozenset({"case"}),
    Key.DESK_NOT_REACHABLE_HERE: frozenset({"case"}),
    Key.DESK_HANDED_BACK: frozenset({"case"}),
    Key.DESK_ALREADY_WITH_BOT: frozenset({"case"}),
    Key.DESK_CLOSE_USAGE: frozenset({"case"}),
    Key.DESK_CLOSED: frozenset({"case", "outcome"}),
    Key.DESK_MESSAGE_USAGE: frozenset({"case"}),
    Key.DESK_FROM_PARTICIPANT: frozenset({"case", "name"}),
    Key.DESK_PARTICIPANT_LEFT: frozenset({"case"}),
    Key.ADMIN_RELOADED: frozenset({"flows"}),
    Key.ADMIN_RELOAD_FAILED: frozenset({"problems"}),
    Key.ADMIN_RELOAD_UNCHANGED: frozenset({"flows"}),
    Key.TERMINAL_NLU_DOWN: frozenset({"url"}),
    Key.DESK_SLA_REMINDER: frozenset({"case", "since"}),
    Key.DESK_DIGEST: frozenset({"name", "count"}),
    Key.DESK_PARTICIPANT_ERASED: frozenset({"case"}),
    Key.COACH_ACCEPTED: frozenset({"coach", "union", "via"}),
    Key.FROM_COACH: frozenset({"coach", "union"}),
    Key.HANDED_BACK: frozenset({"coach"}),
    Key.CASE_CLOSED: frozenset({"coach"}),
}
# A slot's own `doubt:` text may use {value} too.
SLOT_DOUBT_PLACEHOLDERS = frozenset({"value"})


def invalid_key(slot_type: str, reason: str | None) -> Key | None:
    """The catalogue key for a specific invalid answer, e.g. invalid_phone_too_short."""
    return Key.named(f"invalid_{slot_type}_{reason}") if reason else None


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill {placeholders}; an unknown one stays as written (flows check reports it)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
