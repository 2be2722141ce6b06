"""Overload that degrades, and what operators watch (issue 18), through PTB's real HTTP path and
the fake Bot API: a participant whose answer is slow in coming hears "Eén moment…" first (and
only then the answer); /healthz, /readyz and /metrics in webhook mode and on polling mode's side
server, with readiness failing when the database or Rasa is down."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import tornado.web
from sqlalchemy import Engine
from sqlmodel import Session

from bot.conversation import Prepared, TurnOutcome
from bot.engine.messages import Inbound, Reply
from bot.nlu.client import NluClient
from bot.ops.listener import Listener
from bot.ops.server import Health
from storage.database import create_db_engine
from tests.fake_telegram import FakeTelegram

USER = 5151
ONE_MOMENT = "Eén moment, ik ben er zo."


class SlowConversation:
    """Answers like the engine; `prepare` takes as long as a slow NLU would."""

    def __init__(self, slow: float) -> None:
        self.slow = slow

    def peek(self, session: Session, channel: str, external_id: str) -> None:
        return None

    def remembered(self, channel: str, telegram_id: int) -> None:
        return None

    async def prepare(
        self, channel: str, external_id: str, inbound: Inbound, state: object = None
    ) -> Prepared:
        await asyncio.sleep(self.slow)
        return Prepared(channel, external_id, inbound, None, asked_nlu=True)

    def apply(self, session: Session, prepared: Prepared) -> TurnOutcome:
        return TurnOutcome([Reply(f"Je schreef: {prepared.inbound.text}")])


async def test_a_slow_answer_is_announced_once_and_arrives_after_the_notice(
    fake_telegram: FakeTelegram, start_bot
):
    await start_bot(SlowConversation(slow=2.6))
    await fake_telegram.send_text(USER, "hallo")
    sent = await fake_telegram.wait_for(USER, 2, timeout=10)
    assert sent[0]["text"].startswith(ONE_MOMENT)  # Dutch first ...
    assert "One moment" in sent[0]["text"]  # ... English second
    assert sent[1]["text"] == "Je schreef: hallo"
    await asyncio.sleep(0.5)
    assert len(fake_telegram.sent[USER]) == 2  # nothing twice


async def test_a_quick_answer_comes_without_a_notice(fake_telegram: FakeTelegram, start_bot):
    await start_bot(SlowConversation(slow=0.0))
    await fake_telegram.send_text(USER, "hallo")
    await fake_telegram.wait_for(USER, 1)
    await asyncio.sleep(2.5)  # past the notice's time: it was cancelled, not merely late
    assert fake_telegram.texts(USER) == ["Je schreef: hallo"]


class _Status(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish({"model_file": "nlu-test.tar.gz"})


@pytest.fixture
async def rasa_status() -> AsyncIterator[str]:
    """An HTTP server answering Rasa's /status with a model loaded (readiness only)."""
    app = tornado.web.Application([(r"/status", _Status)])
    server = Listener(app)
    yield f"http://127.0.0.1:{server.start(listen='127.0.0.1', port=0)}"
    await server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url)


async def test_webhook_mode_serves_health_readiness_and_metrics_without_personal_data(
    fake_telegram: FakeTelegram, start_bot, telegram_db: Engine, rasa_status: str
):
    nlu = NluClient(rasa_status)
    bot = await start_bot(
        SlowConversation(slow=0.0),
        webhook="https://bot.example.org/telegram/hook",
        webhook_secret="s3cret",
        health=Health(telegram_db, nlu.is_ready),
    )
    base = f"http://127.0.0.1:{bot.webhook_port}"
    hook_update: dict[str, Any] = {
        "update_id": 91,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Sam"},
            "text": "mijn geheime tekst",
        },
    }
    async with httpx.AsyncClient() as client:
        stored = await client.post(
            f"{base}/telegram/hook",
            json=hook_update,
            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
        )
        assert stored.status_code == 200
    await fake_telegram.wait_for(USER, 1)
    assert (await get(f"{base}/healthz")).status_code == 200
    ready = await get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json() == {
        "ready": True,
        "database": True,
        "rasa": True,
    }
    text = (await get(f"{base}/metrics")).text
    for name in (
        "careerbot_turn_seconds_count",
        'careerbot_lane_depth{lane="inbox"}',
        'careerbot_lane_depth{lane="outbox"}',
        "careerbot_outbox_backlog",
        "careerbot_telegram_429_total",
        "careerbot_nlu_seconds",
        "careerbot_holding_notices_total",
    ):
        assert name in text
    assert 'careerbot_turns_total{result="done"}' in text
    assert str(USER) not in text and "geheime" not in text and "Sam" not in text
    await nlu.aclose()


async def test_readiness_fails_when_the_database_or_rasa_is_down(
    fake_telegram: FakeTelegram, start_bot, telegram_db: Engine, rasa_status: str
):
    closed = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    rasa_down = NluClient(closed)
    port = free_port()
    await start_bot(
        SlowConversation(slow=0.0),
        health=Health(telegram_db, rasa_down.is_ready),
        metrics_port=port,  # polling mode: the side server
    )
    base = f"http://127.0.0.1:{port}"
    assert (await get(f"{base}/healthz")).status_code == 200
    down = await get(f"{base}/readyz")
    assert down.status_code == 503 and down.json()["rasa"] is False
    assert down.json()["database"] is True
    assert "careerbot_lane_depth" in (await get(f"{base}/metrics")).text

    no_database = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x")
    rasa_up = NluClient(rasa_status)
    health = Health(no_database, rasa_up.is_ready)
    checks = await health.checks()
    assert checks == {"database": False, "rasa": True}
    await asyncio.gather(rasa_down.aclose(), rasa_up.aclose())
    no_database.dispose()
