"""Two `careerbot run --webhook` processes on one PostgreSQL database, every update offered to
both (as two load-balanced workers that Telegram retries against): each update is handled once,
each participant's turns in order, and both workers do work."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from bot.engine.state import ConversationState
from bot.nlu.rasa_env import free_port
from storage.database import create_db_engine, upgrade
from storage.models import Conversation, InboxUpdate, Participant
from tests.bot_process import WEBHOOK_SECRET, BotProcess
from tests.fake_telegram import FakeTelegram, buttons_of

pytestmark = pytest.mark.postgres
PEOPLE = {8101: "Anouk", 8102: "Bart", 8103: "Cor", 8104: "Dewi"}


async def offer(ports: list[int], update: dict[str, Any]) -> None:
    """Post the update to every worker at once; each must accept it (200)."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"http://127.0.0.1:{port}/telegram", json=update, headers=headers)
                for port in ports
            )
        )
    assert [r.status_code for r in responses] == [200] * len(ports)


async def press(fake: FakeTelegram, ports: list[int], user: int, label: str) -> None:
    message = next(m for m in reversed(fake.sent[user]) if buttons_of(m))
    button = next(b for b in buttons_of(message) if label.lower() in b["text"].lower())
    await offer(ports, await fake.press(user, message, button["callback_data"]))


async def conversation(fake: FakeTelegram, ports: list[int], user: int) -> None:
    await offer(ports, await fake.send_text(user, "/start"))
    await fake.wait_for(user, 3, timeout=60)
    await press(fake, ports, user, "Ja")  # consent → the menu
    await fake.wait_for(user, 4, timeout=60)
    await press(fake, ports, user, "Praten met een coach")
    await fake.wait_for(user, 6, timeout=60)
    # Two messages right after each other: the name, then the town, in that order.
    await offer(ports, await fake.send_text(user, PEOPLE[user]))
    await offer(ports, await fake.send_text(user, "Utrecht"))
    await fake.wait_for(user, 8, timeout=60)


async def test_two_webhook_workers_handle_each_update_once_in_order(
    fake_telegram: FakeTelegram, postgres_schema_url: str, tmp_path: Path
) -> None:
    upgrade(postgres_schema_url)
    ports = [free_port(), free_port()]
    workers = [
        await BotProcess(fake_telegram, postgres_schema_url, tmp_path, webhook_port=port).start()
        for port in ports
    ]
    try:
        await asyncio.gather(*(conversation(fake_telegram, ports, user) for user in PEOPLE))
        await asyncio.sleep(2)  # time for anything sent twice to show up
    finally:
        codes = [await worker.stop() for worker in workers]
    assert codes == [0, 0], [w.log[-2000:] for w in workers]
    for user in PEOPLE:
        texts = fake_telegram.texts(user)
        assert len(texts) == 8, "\n".join(texts)
        assert all(n == 1 for n in Counter(texts).values()), "\n".join(texts)
        assert "situatie" not in texts[-1]  # the short intake: contact method next
    engine = create_db_engine(postgres_schema_url)
    with Session(engine) as session:
        assert set(session.exec(select(InboxUpdate.status)).all()) == {"done"}
        for user in PEOPLE:
            participant = session.exec(
                select(Participant).where(Participant.external_id == str(user))
            ).one()
            stored = session.get(Conversation, participant.id)
            assert stored is not None
            slots = ConversationState.model_validate(stored.state).slots
            assert (slots["first_name"], slots["gemeente"]) == (PEOPLE[user], "Utrecht")
    engine.dispose()
    # Both workers took part.
    turns = [sum("turn participant=" in line for line in w.lines) for w in workers]
    assert all(n > 0 for n in turns), turns
    assert sum(turns) == len(PEOPLE) * 5  # each of the 5 turns of each person exactly once
