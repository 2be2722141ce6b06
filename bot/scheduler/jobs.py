"""The sweeps. Each asks the database what is due now and claims every item with a conditional
update in the same transaction as the messages it causes: a sweep that runs twice, in two
processes or after a crash, does each item once. `now` comes from an injectable clock, so
tests move time instead of waiting for it.

Every sweep handles at most `batch` items per call (one transaction); the runner calls it again
until nothing is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import privacy
from bot.desk import people, routing
from bot.desk.cards import CaseCard
from bot.desk.notices import Action, Notice, ParticipantRef, To, Verb
from bot.desk.render import status_text
from bot.desk.states import record
from bot.engine.engine import begin, remind
from bot.engine.executor import in_intake
from bot.engine.messages import Reply
from bot.engine.state import ConversationState
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from bot.scheduler.calendar import add_working_days, is_working_day, local, quiet
from bot.scheduler.timings import Timings
from storage import inbox, workers
from storage.cases import add_case_event, open_cases_of_coach
from storage.coaches import get_coach
from storage.conversations import StaleConversation, load_conversation, save_conversation
from storage.models import (
    Case,
    CaseEventKind,
    CaseStatus,
    Coach,
    CoachDigest,
    Conversation,
    Participant,
)
from storage.telegram_state import OutboxStatus, TelegramOutbox

FOLLOW_UP_FLOW = "follow_up"
_S = TypeVar("_S", bound=Any)


@dataclass
class ToParticipant:
    participant: ParticipantRef
    replies: list[Reply]


Delivery = Notice | ToParticipant


@dataclass
class JobContext:
    now: datetime
    flows: FlowSet
    timings: Timings = field(default_factory=Timings)
    batch: int = 200
    channel: str = "scheduler"

    @property
    def quiet(self) -> bool:
        """No scheduled message to a participant now: they wait for the morning."""
        return quiet(self.now, start=self.timings.quiet_start, end=self.timings.quiet_end)


@dataclass
class JobResult:
    deliveries: list[Delivery] = field(default_factory=list)
    handled: int = 0  # items claimed (the runner calls again while a batch came back full)


Job = Callable[[Session, JobContext], JobResult]


def _claiming(session: Session, statement: _S, of: Any = None) -> _S:
    """Several schedulers at once (a standby that took over too early) split the work."""
    if session.get_bind().dialect.name != "postgresql":
        return statement
    locked: _S = statement.with_for_update(skip_locked=True, of=of)
    return locked


def _participant(participant: Participant) -> ParticipantRef:
    assert participant.id is not None
    return ParticipantRef(
        participant.id, participant.channel, participant.external_id, participant.language
    )


# -- a participant who left an intake half-way ------------------------------------------------


def remind_unfinished_intakes(session: Session, ctx: JobContext) -> JobResult:
    """One reminder, 24 hours after the last message, to someone who stopped in an intake;
    the reminder repeats the pending question, so they resume where they stopped."""
    result = JobResult()
    if ctx.quiet:
        return result
    timings = ctx.timings
    statement = (
        select(Conversation, Participant)
        .join(Participant, col(Participant.id) == col(Conversation.participant_id))
        .where(
            col(Conversation.reminded_at).is_(None),
            col(Conversation.updated_at) <= ctx.now - timings.remind_intake_after,
            col(Conversation.updated_at) > ctx.now - timings.remind_intake_within,
            col(Participant.erased_at).is_(None),
        )
        .order_by(col(Conversation.updated_at))
        .limit(ctx.batch)
    )
    statement = _claiming(session, statement, of=Conversation)
    for conversation, participant in session.exec(statement).all():
        claimed = session.exec(
            update(Conversation)
            .where(
                col(Conversation.participant_id) == conversation.participant_id,
                col(Conversation.version) == conversation.version,
                col(Conversation.reminded_at).is_(None),
            )
            .values(reminded_at=ctx.now)
        )
        if claimed.rowcount != 1:
            continue  # they wrote in the meantime, or another scheduler took it
        result.handled += 1
        state = ConversationState.model_validate(conversation.state)
        if not in_intake(ctx.flows, state):
            continue  # nothing to resume: marked, so it is not looked at again
        replies = remind(ctx.flows, state, channel=ctx.channel)
        if replies:
            result.deliveries.append(ToParticipant(_participant(participant), replies))
    return result


# -- coaches who do not answer -----------------------------------------------------------------


def remind_and_escalate_coaches(session: Session, ctx: JobContext) -> JobResult:
    """A case not accepted within one working day: a reminder to the coach; within two: to the
    next coach of the region or the coordinator (and the participant is told)."""
    result = JobResult()
    timings = ctx.timings
    # Only cases that may be due: N working days later is at least N calendar days later, less
    # an hour when the clocks go forward in between (0 working days: due at once).
    remind_by = ctx.now - _at_least(timings.coach_reminder_working_days)
    escalate_by = ctx.now - _at_least(timings.coach_escalation_working_days)
    statement = (
        select(Case)
        .where(
            Case.status == CaseStatus.ASSIGNED,
            col(Case.assigned_at).is_not(None),
            or_(
                and_(
                    col(Case.coach_reminded_at).is_(None),
                    col(Case.assigned_at) <= remind_by,
                ),
                col(Case.assigned_at) <= escalate_by,
            ),
        )
        .order_by(col(Case.assigned_at))
        .limit(ctx.batch)
    )
    statement = _claiming(session, statement)
    for case in session.exec(statement).all():
        assigned_at = case.assigned_at
        assert assigned_at is not None and case.id is not None
        escalate_at = add_working_days(assigned_at, timings.coach_escalation_working_days)
        remind_at = add_working_days(assigned_at, timings.coach_reminder_working_days)
        if ctx.now >= escalate_at and not ctx.quiet:
            notices = routing.escalate(session, case_id=case.id, assigned_at=assigned_at)
            if notices:
                result.handled += 1
                result.deliveries.extend(notices)
        elif ctx.now >= remind_at and case.coach_reminded_at is None:
            claimed = session.exec(
                update(Case)
                .where(
                    col(Case.id) == case.id,
                    col(Case.coach_reminded_at).is_(None),
                    col(Case.assigned_at) == assigned_at,
                    col(Case.status) == CaseStatus.ASSIGNED,
                )
                .values(coach_reminded_at=ctx.now)
            )
            if claimed.rowcount != 1 or case.coach_id is None:
                continue
            coach = get_coach(session, coach_id=case.coach_id)
            if coach is None:
                continue
            result.handled += 1
            record(session, case, CaseEventKind.COACH_REMINDED, coach=coach.id)
            since = local(assigned_at).strftime("%d-%m %H:%M")
            result.deliveries.append(
                Notice(
                    To.COACH,
                    Key.DESK_SLA_REMINDER,
                    {"case": str(case.id), "since": since},
                    coach=people.coach_ref(coach),
                    case_id=case.id,
                    card=people.card_of(case),
                    actions=(Action(Verb.ACCEPT, case.id), Action(Verb.DECLINE, case.id)),
                )
            )
    return result


def _at_least(working_days: int) -> timedelta:
    """The shortest wall-clock time `working_days` working days can take."""
    return timedelta(hours=max(0, 24 * working_days - 1))


# -- four weeks later ----------------------------------------------------------------------------


def send_follow_ups(session: Session, ctx: JobContext) -> JobResult:
    """Four weeks after acceptance: "how is it going?" (the follow_up flow: a rating 1-5 and
    a remark). Not while the person is in the middle of something, and never at night."""
    result = JobResult()
    if ctx.quiet:
        return result
    statement = (
        select(Case, Participant)
        .join(Participant, col(Participant.id) == col(Case.participant_id))
        .where(
            col(Case.accepted_at).is_not(None),
            col(Case.accepted_at) <= ctx.now - ctx.timings.follow_up_after,
            col(Case.follow_up_sent_at).is_(None),
        )
        .order_by(col(Case.accepted_at))
        .limit(ctx.batch)
    )
    statement = _claiming(session, statement, of=Case)
    for case, participant in session.exec(statement).all():
        assert case.id is not None and participant.id is not None
        claimed = session.exec(
            update(Case)
            .where(col(Case.id) == case.id, col(Case.follow_up_sent_at).is_(None))
            .values(follow_up_sent_at=ctx.now)
        )
        if claimed.rowcount != 1:
            continue
        result.handled += 1
        if participant.erased_at is not None:
            continue  # nobody to ask
        stored = load_conversation(session, participant_id=participant.id)
        state = ConversationState.model_validate(stored.state or {})
        started = begin(ctx.flows, state, FOLLOW_UP_FLOW, channel=ctx.channel)
        if started is None:
            # In the middle of a question: ask another time (the claim is given back).
            session.exec(update(Case).where(col(Case.id) == case.id).values(follow_up_sent_at=None))
            result.handled -= 1
            continue
        try:
            save_conversation(
                session,
                participant_id=participant.id,
                state=started.state.model_dump(mode="json"),
                expected_version=stored.version,
            )
        except StaleConversation:
            session.exec(update(Case).where(col(Case.id) == case.id).values(follow_up_sent_at=None))
            continue
        add_case_event(session, case=case, kind=CaseEventKind.FOLLOW_UP_SENT)
        result.deliveries.append(ToParticipant(_participant(participant), started.replies))
    return result


# -- the morning digest --------------------------------------------------------------------------


def send_digests(session: Session, ctx: JobContext) -> JobResult:
    """Each coach with open cases, once on a working-day morning: what is waiting."""
    result = JobResult()
    moment = local(ctx.now)
    timings = ctx.timings
    working = timings.digest_every_day or is_working_day(moment.date())
    if not (working and timings.digest_from <= moment.time() < timings.digest_until):
        return result
    day = moment.date()
    done = select(CoachDigest.coach_id).where(CoachDigest.day == day)
    coaches = session.exec(
        select(Coach)
        .where(col(Coach.active).is_(True), col(Coach.id).not_in(done))
        .order_by(col(Coach.id))
        .limit(ctx.batch)
    ).all()
    for coach in coaches:
        assert coach.id is not None
        try:
            with session.begin_nested():
                session.add(CoachDigest(coach_id=coach.id, day=day, sent_at=ctx.now))
        except IntegrityError:
            continue  # another scheduler sent it
        result.handled += 1
        cases = open_cases_of_coach(session, coach_id=coach.id)
        if not cases:
            continue
        lines = [_digest_line(ctx, people.card_of(case), case) for case in cases]
        ref = people.coach_ref(coach)
        result.deliveries.append(
            Notice(
                To.COACH,
                Key.DESK_DIGEST,
                {"name": ref.first_name, "count": str(len(cases))},
                coach=ref,
                quote="\n".join(lines),
            )
        )
    return result


def _digest_line(ctx: JobContext, card: CaseCard, case: Case) -> str:
    status = status_text(ctx.flows, card.status, "nl")
    since = case.assigned_at or case.created_at
    days = max(0, (ctx.now - since).days)
    return f"#{card.case_id} · {card.first_name} · {card.region} · {status} · {days} d"


# -- retention and housekeeping ----------------------------------------------------------------


def purge_expired(session: Session, ctx: JobContext) -> JobResult:
    """Participants inactive for the retention period are erased (cases stay, anonymously)."""
    result = JobResult()
    for participant in privacy.inactive_since(
        session, before=ctx.now - ctx.timings.retention, limit=ctx.batch
    ):
        result.handled += 1
        result.deliveries.extend(
            privacy.erase(session, participant=participant, reason="retention")
        )
    return result


def housekeeping(session: Session, ctx: JobContext) -> JobResult:
    """Sent messages keep no text after a short while; processed updates and dead workers go."""
    session.exec(
        update(TelegramOutbox)
        .where(
            col(TelegramOutbox.status) == OutboxStatus.SENT,
            col(TelegramOutbox.sent_at) < ctx.now - ctx.timings.keep_sent_text,
            col(TelegramOutbox.payload) != "{}",
        )
        .values(payload="{}")
    )
    inbox.purge_done(session, older_than=timedelta(days=7))
    workers.forget_dead(session)
    return JobResult()


SWEEPS: tuple[tuple[str, Job], ...] = (
    ("intake reminders", remind_unfinished_intakes),
    ("coach reminders and escalations", remind_and_escalate_coaches),
    ("follow-ups", send_follow_ups),
    ("digests", send_digests),
)
DAILY: tuple[tuple[str, Job], ...] = (
    ("retention", purge_expired),
    ("housekeeping", housekeeping),
)
