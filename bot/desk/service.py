"""The coach desk in one import, for the channels: `from bot.desk import service as desk`.

The rules live in small modules, cut by who acts first:
  states.py         the case states, who may move them, and `record` (every step of a case)
  routing.py        the handoff, least loaded coach, coordinator, reassignment, escalation
  coach_actions.py  accept, decline, hand back, close, look at a case
  live_chat.py      relay both ways, the coach writing to the participant, /stop
Both desks (Telegram routers and the web desk, bot/web/) call these same functions.
"""

from __future__ import annotations

from bot.desk.coach_actions import (
    OUTCOME_MAX,
    accept,
    case_for,
    close,
    decline,
    hand_back,
    list_open,
    show_case,
)
from bot.desk.live_chat import live_chat, message_participant, participant_leaves, relay_to_coach
from bot.desk.people import card_of, coach_ref, participant_ref
from bot.desk.routing import (
    MAX_ASSIGN_BUTTONS,
    Handoff,
    assign,
    candidates,
    coach_changed,
    coach_reachable,
    coach_unreachable,
    deactivate,
    escalate,
    handoff,
    reassign,
)
from bot.desk.states import ALLOWED

__all__ = [
    "ALLOWED",
    "MAX_ASSIGN_BUTTONS",
    "OUTCOME_MAX",
    "Handoff",
    "accept",
    "assign",
    "candidates",
    "card_of",
    "case_for",
    "close",
    "coach_changed",
    "coach_reachable",
    "coach_ref",
    "coach_unreachable",
    "deactivate",
    "decline",
    "escalate",
    "hand_back",
    "handoff",
    "list_open",
    "live_chat",
    "message_participant",
    "participant_leaves",
    "participant_ref",
    "reassign",
    "relay_to_coach",
    "show_case",
]
