"""The NLU review queue: messages the model was unsure about, for an admin to label.

Small keyword-only functions for the bot (queue), `careerbot nlu review` and the web desk
(list, label, export). The texts stored here already have personal data replaced by
placeholders (bot/nlu/review.py), and only participants who consented are queued. Items are
deleted after `REVIEW_RETENTION` (housekeeping), on /verwijder and with the participant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from storage.models import Direction, MessageLog, NluReviewItem, utcnow

REVIEW_RETENTION = timedelta(days=90)
REASONS = ("fallback", "margin", "corrected")


def queue_item(
    session: Session,
    *,
    participant_id: int,
    text: str,
    reason: str,
    intent: str,
    confidence: float,
    second_intent: str | None = None,
    second_confidence: float | None = None,
) -> NluReviewItem:
    """Add one message (text already masked) to the queue."""
    if reason not in REASONS:
        raise ValueError(f"unknown review reason {reason!r}")
    item = NluReviewItem(
        participant_id=participant_id,
        text=text,
        reason=reason,
        intent=intent,
        confidence=confidence,
        second_intent=second_intent,
        second_confidence=second_confidence,
    )
    session.add(item)
    session.flush()
    return item


def topic_started_by_last_message(
    session: Session, *, participant_id: int, flow: str, within: timedelta
) -> MessageLog | None:
    """The participant's last message when it (and not the one before it) led into `flow`,
    the NLU read it as an intent, and it is at most `within` old."""
    rows = session.exec(
        select(MessageLog)
        .where(
            MessageLog.participant_id == participant_id,
            MessageLog.direction == Direction.IN.value,
        )
        .order_by(col(MessageLog.id).desc())
        .limit(2)
    ).all()
    if not rows:
        return None
    last = rows[0]
    if last.flow != flow or last.intent is None or last.created_at < utcnow() - within:
        return None
    if len(rows) > 1 and rows[1].flow == flow:
        return None  # the topic was already going before that message
    return last


def list_items(
    session: Session,
    *,
    unlabelled_only: bool = False,
    reason: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[NluReviewItem]:
    """Oldest first (the next to review on top)."""
    query = select(NluReviewItem)
    if unlabelled_only:
        query = query.where(col(NluReviewItem.label).is_(None))
    if reason is not None:
        query = query.where(NluReviewItem.reason == reason)
    query = query.order_by(col(NluReviewItem.created_at), col(NluReviewItem.id))
    return list(session.exec(query.offset(offset).limit(limit)).all())


def count_items(session: Session, *, unlabelled_only: bool = False) -> dict[str, int]:
    """Items per reason."""
    query = select(NluReviewItem.reason, func.count()).group_by(col(NluReviewItem.reason))
    if unlabelled_only:
        query = query.where(col(NluReviewItem.label).is_(None))
    return {reason: int(n) for reason, n in session.exec(query).all()}


def label_item(session: Session, *, item_id: int, label: str | None) -> NluReviewItem | None:
    """Give an item the intent it really was (None: take the label away). None if gone."""
    item = session.get(NluReviewItem, item_id)
    if item is None:
        return None
    item.label = label.strip() if label and label.strip() else None
    item.labelled_at = utcnow() if item.label else None
    session.add(item)
    return item


def delete_items(session: Session, *, item_ids: Sequence[int]) -> int:
    """Remove items (an admin added them to the training data, or threw them away)."""
    if not item_ids:
        return 0
    result = session.exec(delete(NluReviewItem).where(col(NluReviewItem.id).in_(item_ids)))
    return int(result.rowcount or 0)


def delete_for_participant(session: Session, *, participant_id: int) -> None:
    """/verwijder, withdrawn consent and the retention purge."""
    session.exec(delete(NluReviewItem).where(col(NluReviewItem.participant_id) == participant_id))


def purge_older_than(session: Session, *, before: datetime) -> int:
    """Items older than the review retention go (housekeeping)."""
    result = session.exec(delete(NluReviewItem).where(col(NluReviewItem.created_at) < before))
    return int(result.rowcount or 0)


def export_yaml(session: Session, *, labelled_only: bool = False, limit: int = 10_000) -> str:
    """The queue as Rasa NLU YAML (version 3.1): one block per intent — the admin's label, or
    else the model's guess — each example with its review id, guess, confidence and reason as
    metadata. Check every example's intent before copying it into nlu/data."""
    items = list_items(session, limit=limit)
    if labelled_only:
        items = [i for i in items if i.label]
    return render_yaml(items)


def render_yaml(items: Sequence[NluReviewItem]) -> str:
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_intent.setdefault(item.label or item.intent, []).append(
            {
                "text": item.text,
                "metadata": {
                    "review_id": item.id,
                    "labelled": item.label is not None,
                    "model_guess": item.intent,
                    "confidence": round(item.confidence, 3),
                    **(
                        {
                            "second_guess": item.second_intent,
                            "second_confidence": round(item.second_confidence or 0.0, 3),
                        }
                        if item.second_intent
                        else {}
                    ),
                    "reason": item.reason,
                },
            }
        )
    document = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": examples}
            for intent, examples in sorted(by_intent.items())
        ],
    }
    header = (
        "# careerbot NLU review queue: messages the model was unsure about (personal data\n"
        "# replaced by placeholders). Each block is the admin's label or else the model's\n"
        "# guess: check every example's intent before adding it to nlu/data.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
