"""The production topology on one PostgreSQL database: two bot workers (webhook, no scheduler)
and two `careerbot scheduler` instances. Every reminder, reassignment, follow-up and digest is
sent exactly once; killing the active scheduler (kill -9) hands over to the standby."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot.nlu.rasa_env import free_port
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import Case, CaseStatus, Conversation, Participant, Union, utcnow
from tests.bot_process import BotProcess
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.postgres
ANNA, BRAM = 7401, 7402
STALLED, WAITING, ACCEPTED, LATER = 8201, 8202, 8203, 8204
SCHEDULE = {
    "SCHEDULER_SWEEP_SECONDS": "1",
    "QUIET_HOURS": "00:00-00:00",  # whenever the test runs
    "DIGEST_HOURS": "00:00-23:59",
    "DIGEST_EVERY_DAY": "true",
}


def seed(url: str) -> None:
    engine = create_db_engine(url)
    now = utcnow()
    with session_scope(engine) as session:
        anna = add_coach(
            session, name="Anna de Vries", telegram_id=ANNA, union=Union.FNV, regions=["AM13"]
        )
        add_coach(session, name="Bram Jansen", telegram_id=BRAM, union=Union.CNV, regions=["AM13"])
        stalled(session, STALLED, now - timedelta(hours=30))
        for external_id, status in (
            (WAITING, CaseStatus.ASSIGNED),
            (ACCEPTED, CaseStatus.ACCEPTED),
        ):
            person = Participant(channel="telegram", external_id=str(external_id), consent_at=now)
            session.add(person)
            session.flush()
            session.add(
                Case(
                    participant_id=person.id or 0,
                    coach_id=anna.id,
                    region_code="AM13",
                    topic="job_loss",
                    status=status,
                    summary=[
                        {
                            "slot": "first_name",
                            "label": "Voornaam",
                            "value": "P",
                            "raw": "P",
                            "role": "first_name",
                        }
                    ],
                    assigned_at=now - timedelta(days=10),
                    accepted_at=now - timedelta(days=30) if status == CaseStatus.ACCEPTED else None,
                )
            )
    engine.dispose()


def stalled(session, external_id: int, at) -> None:  # type: ignore[no-untyped-def]
    person = Participant(channel="telegram", external_id=str(external_id), consent_at=at)
    session.add(person)
    session.flush()
    session.add(
        Conversation(
            participant_id=person.id or 0,
            state={
                "welcomed": True,
                "consent": True,
                "stack": [{"flow": "intake", "step": "gemeente"}],
            },
            updated_at=at,
        )
    )


async def test_two_workers_two_schedulers_everything_once_and_a_standby_takes_over(
    fake_telegram: FakeTelegram, postgres_schema_url: str, tmp_path: Path
) -> None:
    url = postgres_schema_url
    upgrade(url)
    seed(url)
    processes: list[BotProcess] = []

    async def started(process: BotProcess) -> BotProcess:
        processes.append(process)
        return await process.start()

    try:
        for _ in range(2):
            await started(
                BotProcess(
                    fake_telegram,
                    url,
                    tmp_path,
                    webhook_port=free_port(),
                    command=("run", "--no-scheduler"),
                )
            )
        schedulers = [
            await started(
                BotProcess(
                    fake_telegram,
                    url,
                    tmp_path,
                    command=("scheduler",),
                    ready="scheduler started",
                    env=SCHEDULE,
                )
            )
            for _ in range(2)
        ]
        expected = {STALLED: 2, WAITING: 1, ACCEPTED: 2, ANNA: 1, BRAM: 2}
        try:
            await fake_telegram.wait_until(
                lambda: all(len(fake_telegram.sent[chat]) >= n for chat, n in expected.items()),
                timeout=60,
            )
        except AssertionError:
            got = {chat: fake_telegram.texts(chat) for chat in expected}
            raise AssertionError(f"{got}\n" + "\n".join(p.log[-1500:] for p in processes)) from None
        await asyncio.sleep(3)  # several more sweeps: nothing is sent twice
        for chat, n in expected.items():
            assert len(fake_telegram.sent[chat]) == n, (chat, fake_telegram.texts(chat))
        assert any("nog bezig met je aanvraag" in t for t in fake_telegram.texts(STALLED))
        assert any("Bram" in t for t in fake_telegram.texts(WAITING))
        assert any("1 (helemaal niet)" in t for t in fake_telegram.texts(ACCEPTED))
        assert any("Goedemorgen" in t for t in fake_telegram.texts(ANNA))
        assert Counter("Nieuwe aanvraag" in t for t in fake_telegram.texts(BRAM))[True] == 1

        active = [s for s in schedulers if "scheduler: active" in s.log]
        assert len(active) == 1, [s.log[-500:] for s in schedulers]
        active[0].kill()
        assert await active[0].wait_exit() == -signal.SIGKILL
        engine = create_db_engine(url)
        with session_scope(engine) as session:
            stalled(session, LATER, utcnow() - timedelta(hours=30))
        engine.dispose()
        await fake_telegram.wait_for(LATER, 2, timeout=30)  # the standby is active now
        standby = next(s for s in schedulers if s is not active[0])
        assert "scheduler: active" in standby.log
        await asyncio.sleep(3)
        assert len(fake_telegram.sent[LATER]) == 2
    finally:
        for process in processes:
            if process.process is not None and process.process.returncode is None:
                await process.stop()
