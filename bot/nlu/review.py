"""Which messages go to the NLU review queue, and with what personal data masked.

A message is worth an admin's look when the model was unsure about it: it fell back
(`nlu_fallback`), its two best intents were close (margin below `MARGIN`), or the topic it
started was corrected right after (the next message cancelled it or started another topic).
Only participants who consented are queued, and never with their personal data: names, phone
numbers, e-mail addresses and postcodes are replaced by placeholders, found by the same
detectors the engine uses to fill slots (bot/engine/extract.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from bot.engine.commands import Cancel, Command, StartFlow
from bot.engine.extract import _EMAIL_TOKEN, _POSTCODE_TOKEN, _names, _phones
from bot.gemeenten import is_valid_postcode
from bot.nlu.client import NLU_FALLBACK, NluResult
from storage import nlu_review as review_store

MARGIN = 0.1  # top-1 minus top-2 confidence below this: the model hesitated
# "Corrected right after": the next message, within this time, cancels or changes the topic.
CORRECTION_WINDOW = timedelta(minutes=10)
PLACEHOLDERS = {
    "name": "<naam>",
    "phone": "<telefoon>",
    "email": "<e-mail>",
    "postcode": "<postcode>",
}


# The engine reads a first name (and one more word); a surname's particles and capitalised
# parts after it are personal data too ("Sanne de Vries", "Fatima el Amrani").
_SURNAME_REST = re.compile(
    r"(?:\s+(?:(?:van|de|der|den|het|ten|ter|te|el|al|ben|bin|da|di|du|le|la|von|op|in)\b|"
    r"[A-ZÀ-Ý][\w'-]*)){1,4}"
)


@dataclass(frozen=True, slots=True)
class Doubt:
    """Why a message is queued, and what the model made of it."""

    reason: str  # fallback | margin
    intent: str
    confidence: float
    second_intent: str | None
    second_confidence: float | None


def doubt_of(nlu: NluResult | None) -> Doubt | None:
    """Fallback or a small margin between the two best intents; None when the model was sure
    (or when there was no NLU answer at all)."""
    if nlu is None or not nlu.available:
        return None
    ranking = nlu.ranking
    best = ranking[0] if ranking else None
    second = ranking[1] if len(ranking) > 1 else None
    if best is None:
        return None
    if nlu.intent == NLU_FALLBACK:
        reason = "fallback"
    elif second is not None and best.confidence - second.confidence < MARGIN:
        reason = "margin"
    else:
        return None
    return Doubt(
        reason,
        best.name,
        best.confidence,
        second.name if second else None,
        second.confidence if second else None,
    )


def mask_personal_data(text: str) -> str:
    """`text` with names, phone numbers, e-mail addresses and postcodes as placeholders."""
    spans: list[tuple[int, int, str]] = []
    spans += [(f.start, f.end, PLACEHOLDERS["phone"]) for f in _phones("phone", text)]
    if "@" in text:
        spans += [(m.start(), m.end(), PLACEHOLDERS["email"]) for m in _EMAIL_TOKEN.finditer(text)]
    spans += [
        (m.start(), m.end(), PLACEHOLDERS["postcode"])
        for m in _POSTCODE_TOKEN.finditer(text)
        if is_valid_postcode(m.group())
    ]
    for found in _names("name", text):
        rest = _SURNAME_REST.match(text, found.end)
        spans.append((found.start, rest.end() if rest else found.end, PLACEHOLDERS["name"]))
    masked: list[str] = []
    position = 0
    for start, end, placeholder in sorted(spans):
        if start < position:  # overlaps one already replaced
            continue
        masked.append(text[position:start])
        masked.append(placeholder)
        position = end
    masked.append(text[position:])
    return "".join(masked)


def queue_if_unsure(
    session: Session,
    *,
    participant_id: int,
    text: str,
    nlu: NluResult | None,
    commands: Sequence[Command],
    flow_before: str | None,
) -> None:
    """Queue this message when the model was unsure of it, and the previous message when
    this one corrects the topic it started. The caller checked consent."""
    doubt = doubt_of(nlu)
    if doubt is not None:
        review_store.queue_item(
            session,
            participant_id=participant_id,
            text=mask_personal_data(text),
            reason=doubt.reason,
            intent=doubt.intent,
            confidence=doubt.confidence,
            second_intent=doubt.second_intent,
            second_confidence=doubt.second_confidence,
        )
    if flow_before is None or not any(
        isinstance(c, Cancel) or (isinstance(c, StartFlow) and c.flow != flow_before)
        for c in commands
    ):
        return
    previous = review_store.topic_started_by_last_message(
        session, participant_id=participant_id, flow=flow_before, within=CORRECTION_WINDOW
    )
    if previous is not None and previous.text:
        review_store.queue_item(
            session,
            participant_id=participant_id,
            text=mask_personal_data(previous.text),
            reason="corrected",
            intent=previous.intent or "",
            confidence=previous.confidence or 0.0,
        )
