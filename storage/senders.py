"""Who sent an update, in one statement: a coach (active or not), a participant, whether that
participant is in a live chat with a coach, and — in the same row — the participant's turn
context (language, consent, conversation state and version).

Read once per transaction (`UpdateContext.sender`): before the turn to decide whether it is a
participant's turn (and whether a typed message needs the NLU), and again in the turn's
transaction, where it decides (a live chat may have started meanwhile). The turn context that
came with it is kept for the rest of that transaction (`storage.conversations` takes it
instead of reading the participant again); it is good for one use and never outlives the
transaction it was read in. Its staleness is the conversation's `version`: a turn saved by
someone else in between makes the save fail (`StaleConversation`) and the turn run again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Engine, and_, bindparam, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from storage.conversations import TurnContext, keep_turn_context
from storage.models import Case, CaseRelay, Coach, Conversation, Participant


@dataclass(frozen=True, slots=True)
class Sender:
    coach_id: int | None  # a coach with this Telegram id (active or not)
    participant_id: int | None  # a participant on this channel with this id
    live_case_id: int | None  # their live chat: accepted case, active relay, active coach


_RELAY_COACH = Coach.__table__.alias("relay_coach")  # type: ignore[attr-defined]
_PARTICIPANTS = Participant.__table__  # type: ignore[attr-defined]
_CONVERSATIONS = Conversation.__table__  # type: ignore[attr-defined]

_COACH = (
    sa_select(col(Coach.id))
    .where(col(Coach.telegram_id) == bindparam("tid"))
    .limit(1)
    .scalar_subquery()
)
_LIVE = (
    sa_select(col(Case.id))
    .join(CaseRelay, col(CaseRelay.case_id) == col(Case.id))
    .join(_RELAY_COACH, _RELAY_COACH.c.id == col(Case.coach_id))
    .where(
        col(CaseRelay.participant_id) == _PARTICIPANTS.c.id,
        col(CaseRelay.active).is_(True),
        col(Case.status) == "accepted",
        _RELAY_COACH.c.active.is_(True),
    )
    .order_by(col(Case.id).desc())
    .limit(1)
    .correlate(_PARTICIPANTS)
    .scalar_subquery()
)
# One row always (the coach column even for someone who is no participant): a one-row base,
# the participant and their conversation joined to it when they exist.
_ONE = sa_select(literal(1).label("one")).subquery("one")
# Built once; SQLAlchemy compiles it once per dialect and caches it.
_WHO = sa_select(
    _COACH.label("coach"),
    _PARTICIPANTS.c.id.label("participant"),
    _LIVE.label("live"),
    _PARTICIPANTS.c.language,
    _PARTICIPANTS.c.consent_at,
    _CONVERSATIONS.c.state,
    _CONVERSATIONS.c.version,
).select_from(
    _ONE.outerjoin(
        _PARTICIPANTS,
        and_(
            _PARTICIPANTS.c.channel == bindparam("channel"),
            _PARTICIPANTS.c.external_id == bindparam("ext"),
        ),
    ).outerjoin(_CONVERSATIONS, _CONVERSATIONS.c.participant_id == _PARTICIPANTS.c.id)
)


def sender_of(session: Session, *, channel: str, telegram_id: int) -> Sender:
    external_id = str(telegram_id)
    row = (
        session.connection()
        .execute(_WHO, {"tid": telegram_id, "channel": channel, "ext": external_id})
        .one()
    )
    sender = Sender(row.coach, row.participant, row.live)
    context = None
    if row.participant is not None:
        context = keep_turn_context(
            session,
            channel=channel,
            external_id=external_id,
            row=(row.participant, row.language, row.consent_at, row.state, row.version),
        )
    _remember(session.get_bind(), channel, external_id, sender, context)
    return sender


# -- what this process last knew ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Remembered:
    """Who sent the last update of this id, and their turn context, as this process last read
    or saved them. A hint for the read before a turn (is it a participant's turn, does a
    typed message need the NLU?), never a decision: the turn's transaction reads again and
    decides, and a wrong hint costs a needless NLU call or one more prepare (`NeedsNlu`),
    whose read refreshes it. So it needs no invalidation across processes: another process's
    change (a live chat began, a coach was added, a turn was taken over) is seen by the next
    turn's own read, the hint corrected by it.

    It holds a conversation state (personal data) in memory: for REMEMBERED_FOR at most, and
    forgotten at once when this process erases the person (`forget`)."""

    sender: Sender
    context: TurnContext | None
    at: float = 0.0  # time.monotonic() when it was read or saved


REMEMBERED_MAX = 20_000  # participants; a few KB each at most
REMEMBERED_FOR = 600.0  # seconds: a conversation's pace, not a day's
_Key = tuple[object, str, str]
_remembered: OrderedDict[_Key, Remembered] = OrderedDict()
_lock = threading.Lock()  # PostgreSQL turns run in worker threads


def remembered(engine: Engine, *, channel: str, telegram_id: int) -> Remembered | None:
    """This process's last knowledge of who `telegram_id` is (None: nothing, or too old)."""
    key = (engine.url, channel, str(telegram_id))
    with _lock:
        known = _remembered.get(key)
        if known is not None and time.monotonic() - known.at > REMEMBERED_FOR:
            del _remembered[key]
            return None
        return known


def forget(session: Session, *, channel: str, external_id: str) -> None:
    """Someone's data was erased: nothing of theirs stays in this process's memory either."""
    key = _key(session.get_bind(), channel, external_id)
    with _lock:
        if key is not None:
            _remembered.pop(key, None)


def remember_turn(
    session: Session, *, channel: str, external_id: str, context: TurnContext
) -> None:
    """A participant's turn context as their turn just saved it (the next turn's hint)."""
    key = _key(session.get_bind(), channel, external_id)
    with _lock:
        known = _remembered.get(key) if key is not None else None
        if key is not None and known is not None:
            _remembered[key] = Remembered(known.sender, context, time.monotonic())


def _remember(
    bind: object, channel: str, external_id: str, sender: Sender, context: TurnContext | None
) -> None:
    key = _key(bind, channel, external_id)
    if key is None:
        return
    with _lock:
        _remembered[key] = Remembered(sender, context, time.monotonic())
        _remembered.move_to_end(key)
        if len(_remembered) > REMEMBERED_MAX:
            _remembered.popitem(last=False)


def _key(bind: object, channel: str, external_id: str) -> _Key | None:
    """Per database (tests run many in one process), channel and id."""
    url = getattr(bind, "url", None)
    return None if url is None else (url, channel, external_id)
