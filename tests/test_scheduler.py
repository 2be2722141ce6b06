"""The scheduled sweeps, with time moved instead of waited for (an injectable clock), on SQLite
and on PostgreSQL: reminders, quiet hours, coach SLAs over weekends and Dutch holidays,
follow-ups, digests, retention, restarts in between, and two schedulers at once."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from bot.engine.messages import Inbound
from bot.flows.registry import FlowRegistry
from bot.scheduler.calendar import TZ
from bot.scheduler.runner import Scheduler
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import Case, CaseStatus, Conversation, FollowUp, Participant, Union
from storage.telegram_state import TelegramOutbox
from tests.conversation_helpers import DEFAULT_RULES, FLOWS_DIR, Chat, FakeNlu, make_service

SAM = "6101"


@dataclass
class FakeClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


def at(text: str) -> datetime:
    """A moment in Amsterdam time: at("2026-12-04 15:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    url: str = request.getfixturevalue(name)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        add_coach(
            session, name="Anna de Vries", telegram_id=7001, union=Union.FNV, regions=["AM13"]
        )
        add_coach(session, name="Bram Jansen", telegram_id=7002, union=Union.CNV, regions=["AM13"])
    engine.dispose()
    return url


def scheduler(engine: Engine, clock: FakeClock) -> Scheduler:
    return Scheduler(engine=engine, flows=FlowRegistry(FLOWS_DIR), clock=clock)


def sent_to(engine: Engine, chat: int) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(TelegramOutbox)
            .where(TelegramOutbox.chat_id == chat)
            .order_by(col(TelegramOutbox.id))
        ).all()
    return [str(json.loads(r.payload).get("text", "")) for r in rows]


async def chat_until_town_question(url: str) -> Chat:
    service, _ = make_service(url, FakeNlu(DEFAULT_RULES))
    chat = Chat(service, user=SAM, channel="telegram")
    await chat.say("ik ben mijn baan kwijt")
    await chat.press("Ja")
    await chat.say("Sam")
    assert chat.asked("woonplaats")
    return chat


async def handed_off(url: str) -> Chat:
    chat = await chat_until_town_question(url)
    await chat.say("Utrecht")
    await chat.press("ontslagen")
    await chat.press("Tijdelijk")
    await chat.say("zorg")
    await chat.press("Mbo")
    await chat.say("ander werk")
    await chat.press("chatgesprek")
    await chat.press("Ochtend")
    await chat.press("Ja")
    assert "Anna" in chat.last
    return chat


def set_case(engine: Engine, **values: object) -> None:
    with session_scope(engine) as session:
        session.exec(update(Case).values(**values))


def case(engine: Engine) -> Case:
    with Session(engine) as session:
        found = session.exec(select(Case)).one()
        session.expunge(found)
        return found


def last_activity(engine: Engine) -> datetime:
    with Session(engine) as session:
        return session.exec(select(Conversation.updated_at)).one()


# -- an intake left half-way -------------------------------------------------------------------


async def test_an_unfinished_intake_is_reminded_once_after_a_day_and_resumes(url: str) -> None:
    engine = create_db_engine(url)
    chat = await chat_until_town_question(url)
    stopped = last_activity(engine)
    day = stopped.astimezone(TZ).replace(hour=14, minute=0) + timedelta(days=1)
    clock = FakeClock(max(day, stopped + timedelta(hours=24, minutes=1)))
    if clock.moment.astimezone(TZ).hour >= 21 or clock.moment.astimezone(TZ).hour < 8:
        clock.moment = at((stopped + timedelta(days=2)).astimezone(TZ).strftime("%Y-%m-%d 10:00"))
    early = FakeClock(stopped + timedelta(hours=23))
    assert (await scheduler(engine, early).run_once())["intake reminders"] == 0
    counts = await scheduler(engine, clock).run_once()
    assert counts["intake reminders"] == 1
    reminder = sent_to(engine, int(SAM))
    assert "nog bezig met je aanvraag" in reminder[0] and "woonplaats" in reminder[1].lower()
    # Again, and after a restart (a new scheduler): nothing more.
    assert (await scheduler(engine, clock).run_once())["intake reminders"] == 0
    assert len(sent_to(engine, int(SAM))) == 2
    # The participant answers the pending question: the intake goes on where it stopped.
    await chat.say("Utrecht")
    assert chat.asked("situatie")


async def test_no_reminder_at_night_it_waits_for_the_morning(url: str) -> None:
    engine = create_db_engine(url)
    await chat_until_town_question(url)
    stopped = last_activity(engine)
    night = (stopped + timedelta(days=1, hours=1)).astimezone(TZ).replace(hour=23, minute=30)
    assert (await scheduler(engine, FakeClock(night)).run_once())["intake reminders"] == 0
    morning = (night + timedelta(days=1)).replace(hour=8, minute=5)
    assert (await scheduler(engine, FakeClock(morning)).run_once())["intake reminders"] == 1


# -- coaches who do not answer ------------------------------------------------------------------


async def test_a_case_not_accepted_is_reminded_then_escalated_in_working_days(url: str) -> None:
    engine = create_db_engine(url)
    await handed_off(url)
    set_case(engine, assigned_at=at("2026-12-04 15:00"))  # a Friday
    assert (await scheduler(engine, FakeClock(at("2026-12-07 14:59"))).run_once())[
        "coach reminders and escalations"
    ] == 0  # Monday, just under one working day
    counts = await scheduler(engine, FakeClock(at("2026-12-07 15:01"))).run_once()
    assert counts["coach reminders and escalations"] == 1
    [reminder] = sent_to(engine, 7001)[-1:]
    assert "Herinnering: zaak #1" in reminder
    assert (await scheduler(engine, FakeClock(at("2026-12-07 18:00"))).run_once())[
        "coach reminders and escalations"
    ] == 0  # reminded once
    await scheduler(engine, FakeClock(at("2026-12-08 15:01"))).run_once()  # two working days
    escalated = case(engine)
    assert escalated.status == CaseStatus.ASSIGNED and escalated.coach_id == 2  # Bram now
    assert any("Nieuwe aanvraag #1" in t for t in sent_to(engine, 7002))
    assert any("Anna kan je helaas niet verder begeleiden" in t for t in sent_to(engine, int(SAM)))


async def test_weekends_and_dutch_holidays_do_not_count(url: str) -> None:
    engine = create_db_engine(url)
    await handed_off(url)
    set_case(engine, assigned_at=at("2026-12-24 15:00"))  # Thursday before Christmas
    # 25 and 26 December are holidays, 27 December a Sunday: one working day ends on Monday.
    for moment in ("2026-12-25 15:01", "2026-12-27 20:00", "2026-12-28 14:59"):
        counts = await scheduler(engine, FakeClock(at(moment))).run_once()
        assert counts["coach reminders and escalations"] == 0, moment
    counts = await scheduler(engine, FakeClock(at("2026-12-28 15:01"))).run_once()
    assert counts["coach reminders and escalations"] == 1


async def test_sla_settings_are_honoured_whatever_their_value(url: str) -> None:
    """COACH_REMINDER_WORKING_DAYS=0 reminds at once, escalation after 1 working day: the sweep
    does not wait a fixed day before it looks."""
    from bot.config import Settings, timings

    engine = create_db_engine(url)
    await handed_off(url)
    set_case(engine, assigned_at=at("2026-12-07 15:00"))  # a Monday
    settings = Settings(coach_reminder_working_days=0, coach_escalation_working_days=1)
    fast = timings(settings)
    clock = FakeClock(at("2026-12-07 15:05"))  # five minutes later
    counts = await Scheduler(
        engine=engine, flows=FlowRegistry(FLOWS_DIR), clock=clock, timings=fast
    ).run_once()
    assert counts["coach reminders and escalations"] == 1
    assert "Herinnering: zaak #1" in sent_to(engine, 7001)[-1]
    clock = FakeClock(at("2026-12-08 15:01"))  # one working day
    await Scheduler(
        engine=engine, flows=FlowRegistry(FLOWS_DIR), clock=clock, timings=fast
    ).run_once()
    assert case(engine).coach_id == 2  # escalated to Bram


# -- four weeks later ----------------------------------------------------------------------------


async def test_the_follow_up_asks_for_a_rating_and_a_remark_and_stores_them(url: str) -> None:
    engine = create_db_engine(url)
    chat = await handed_off(url)
    accepted = at("2026-11-02 10:00")
    set_case(engine, status=CaseStatus.ACCEPTED, accepted_at=accepted)
    soon = FakeClock(accepted + timedelta(days=27))
    assert (await scheduler(engine, soon).run_once())["follow-ups"] == 0
    later = FakeClock(at("2026-12-01 10:00"))
    assert (await scheduler(engine, later).run_once())["follow-ups"] == 1
    asked = sent_to(engine, int(SAM))
    assert any("hoe het gaat" in t for t in asked) and any("1 (helemaal niet)" in t for t in asked)
    assert (await scheduler(engine, later).run_once())["follow-ups"] == 0
    await chat.send(Inbound(payload="v:r4"))
    await chat.press("Ja")
    await chat.say("De coach denkt goed mee, maar ik wacht nog op de opleiding")
    assert "Dank je wel" in chat.text
    with Session(engine) as session:
        [follow_up] = session.exec(select(FollowUp)).all()
    assert follow_up.rating == 4 and follow_up.remark and "opleiding" in follow_up.remark


async def test_no_follow_up_in_the_middle_of_a_question(url: str) -> None:
    engine = create_db_engine(url)
    chat = await handed_off(url)
    set_case(engine, status=CaseStatus.ACCEPTED, accepted_at=at("2026-11-02 10:00"))
    # busy again: a question is pending (a topic's summary; "/coach" no longer starts a second
    # intake while the case is open)
    await chat.say("ik ben mijn baan kwijt")
    assert "Klopt dit?" in chat.last
    clock = FakeClock(at("2026-12-01 10:00"))
    assert (await scheduler(engine, clock).run_once())["follow-ups"] == 0
    assert case(engine).follow_up_sent_at is None  # not lost: asked once they are free
    await chat.say("stop")
    assert (await scheduler(engine, clock).run_once())["follow-ups"] == 1


# -- the coaches' morning -------------------------------------------------------------------------


async def test_the_digest_once_on_working_day_mornings_only(url: str) -> None:
    engine = create_db_engine(url)
    await handed_off(url)
    set_case(engine, status=CaseStatus.ACCEPTED, accepted_at=at("2026-12-01 10:00"))
    for moment, expected in (
        ("2026-12-05 09:30", 0),  # Saturday
        ("2026-12-25 09:30", 0),  # Christmas Day
        ("2026-12-07 08:59", 0),  # Monday, before nine
        ("2026-12-07 09:30", 2),  # both coaches looked at; Anna has a case
        ("2026-12-07 10:30", 0),  # once a day
        ("2026-12-08 09:01", 2),  # the next working day again
    ):
        counts = await scheduler(engine, FakeClock(at(moment))).run_once()
        assert counts["digests"] == expected, moment
    digests = [t for t in sent_to(engine, 7001) if "Goedemorgen" in t]
    assert len(digests) == 2 and "#1 · Sam" in digests[0]
    assert not [t for t in sent_to(engine, 7002) if "Goedemorgen" in t]  # no open cases


# -- retention ---------------------------------------------------------------------------------------


async def test_inactive_participants_are_erased_after_the_retention_period(url: str) -> None:
    engine = create_db_engine(url)
    await handed_off(url)
    year_later = FakeClock(datetime.now(UTC) + timedelta(days=370))
    counts = await scheduler(engine, year_later).run_once()
    assert counts["retention"] == 1
    with Session(engine) as session:
        participant = session.exec(select(Participant)).one()
        kept = session.exec(select(Case)).one()
        assert participant.erased_at is not None and participant.external_id.startswith("erased:")
        assert session.exec(select(Conversation)).all() == []
        assert kept.summary == [] and kept.topic == "job_loss" and kept.region_code == "AM13"


# -- several schedulers ------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_two_schedulers_at_once_send_each_reminder_once(postgres_schema_url: str) -> None:
    engine = create_db_engine(postgres_schema_url, pool_size=10)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for n in range(300):
            participant = Participant(channel="telegram", external_id=str(900000 + n))
            session.add(participant)
            session.flush()
            session.add(
                Conversation(
                    participant_id=participant.id or 0,
                    version=1,
                    state={
                        "welcomed": True,
                        "consent": True,
                        "stack": [{"flow": "intake", "step": "gemeente"}],
                    },
                    updated_at=now - timedelta(hours=30),
                )
            )
    noon = FakeClock(now.astimezone(TZ).replace(hour=12) + timedelta(days=1))
    barrier = threading.Barrier(2)
    totals: list[int] = []

    def run() -> None:
        barrier.wait()
        totals.append(asyncio.run(scheduler(engine, noon).sweep())["intake reminders"])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(totals) == 300
    with Session(engine) as session:
        chats = session.exec(select(TelegramOutbox.chat_id)).all()
    assert len(chats) == 2 * 300 and len(set(chats)) == 300  # note + question, once each


@pytest.mark.postgres
async def test_one_scheduler_is_active_and_a_standby_takes_over(postgres_schema_url: str) -> None:
    engine = create_db_engine(postgres_schema_url)
    flows = FlowRegistry(FLOWS_DIR)
    first = Scheduler(engine=engine, flows=flows, standby_seconds=0.2)
    second = Scheduler(engine=engine, flows=flows, standby_seconds=0.2)
    await first.start()
    await asyncio.sleep(1)
    await second.start()
    await asyncio.sleep(1)
    assert first.active and not second.active
    await first.stop()  # the active one goes away (its lock connection closes)
    for _ in range(50):
        if second.active:
            break
        await asyncio.sleep(0.1)
    assert second.active
    await second.stop()
