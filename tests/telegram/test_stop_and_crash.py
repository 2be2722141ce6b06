"""A normal stop sends nothing twice, and a kill -9 right after a keyboard edit repeats only that
edit (harmless), with `careerbot run` as a real process against the fake Bot API (SQLite, NLU
down: the conversation is driven by buttons).

- SIGTERM while a send is under way and slow: the call gets its grace (5 s) to finish, its
  delivery is recorded, and only then are the unsent messages given back; the next process
  sends those, each once. (Before: the send was cut off at once and its message given back
  unrecorded, so the next process sent it again.)
- kill -9 right after the edit that settles a pressed keyboard reached Telegram, before its
  record: the next process makes the edit again (the same markup: nothing changes for the
  person) and sends the press's answer once.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from sqlmodel import Session, col, select

from storage.database import create_db_engine
from storage.telegram_state import TelegramOutbox
from tests.bot_process import BotProcess
from tests.fake_telegram import FakeTelegram, buttons_of
from tests.fake_telegram.user import TelegramUser
from tests.telegram.test_crash import SAM, WELCOME, db_url, inbox_done, no_duplicates

__all__ = ["db_url"]  # the fixture, used by name below


def outbox_statuses(url: str) -> list[str]:
    engine = create_db_engine(url)
    with Session(engine) as session:
        rows = session.exec(select(TelegramOutbox).order_by(col(TelegramOutbox.id))).all()
    engine.dispose()
    return [row.status for row in rows]


async def test_sigterm_during_a_slow_send_lets_it_finish_and_sends_nothing_twice(
    fake_telegram: FakeTelegram, db_url: str, tmp_path: Path
) -> None:
    fake_telegram.hold("sendMessage")  # Telegram is slow to answer the first call
    bot = await BotProcess(fake_telegram, db_url, tmp_path).start()
    await fake_telegram.send_text(SAM, "/start")
    await fake_telegram.wait_until(lambda: fake_telegram.held > 0, timeout=30)
    assert bot.process is not None
    bot.process.send_signal(signal.SIGTERM)
    await asyncio.sleep(1.0)  # the call is still under way ...
    assert bot.process.returncode is None  # ... and the process waits for it
    fake_telegram.release()  # Telegram answers, 1 s late (within the 5 s grace)
    assert await bot.wait_exit(timeout=15) == 0, bot.log

    assert len(fake_telegram.texts(SAM)) == 1
    # The delivered one is recorded as sent; the rest wait, given back, for the next worker.
    assert outbox_statuses(db_url) == ["sent"] + ["pending"] * (WELCOME - 1)

    healthy = await BotProcess(fake_telegram, db_url, tmp_path).start()
    try:
        await fake_telegram.wait_for(SAM, WELCOME, timeout=30)
        await asyncio.sleep(1.5)  # time for anything sent twice to show up
        assert len(fake_telegram.texts(SAM)) == WELCOME  # nothing lost, nothing twice
        no_duplicates(fake_telegram, SAM)
        inbox_done(db_url)
        assert set(outbox_statuses(db_url)) == {"sent"}
    finally:
        await healthy.stop()


async def test_a_kill_right_after_a_keyboard_edit_repeats_only_the_edit(
    fake_telegram: FakeTelegram, db_url: str, tmp_path: Path
) -> None:
    # Sends 1-3: the welcome (the consent question last, with its buttons); send 4 is the edit
    # that settles the consent keyboard once Sam presses "Ja": the process dies right after it.
    doomed = await BotProcess(
        fake_telegram, db_url, tmp_path, crash_at="outbox.after_send@4"
    ).start()
    sam = TelegramUser(fake_telegram, SAM, "Sam", quiet=1.5)
    await sam.say("/start")
    assert len(sam.texts()) == WELCOME
    consent = sam.last_with_buttons()
    data = next(b["callback_data"] for b in buttons_of(consent) if b["text"] == "Ja")
    await fake_telegram.press(SAM, consent, data)
    assert await doomed.wait_exit(timeout=60) == -signal.SIGKILL, doomed.log
    edits = fake_telegram.calls_of("editMessageReplyMarkup")
    assert len(edits) == 1  # the edit reached Telegram ...
    assert len(fake_telegram.texts(SAM)) == WELCOME  # ... and nothing after it

    healthy = await BotProcess(fake_telegram, db_url, tmp_path).start()
    try:
        answer = await sam.read(timeout=30)
        assert answer  # the press is answered after the restart
        await asyncio.sleep(1.5)
        no_duplicates(fake_telegram, SAM)  # every message of the answer once
        # The edit went again (it was not recorded): the same markup, the keyboard settled.
        again = fake_telegram.calls_of("editMessageReplyMarkup")
        assert len(again) == 2 and again[0].params == again[1].params
        settled = fake_telegram.messages[(SAM, consent["message_id"])]
        assert "Ja" not in [b["text"] for b in buttons_of(settled)]
        assert Counter(c.params.get("message_id") for c in again) == {consent["message_id"]: 2}
        inbox_done(db_url)
        assert set(outbox_statuses(db_url)) == {"sent"}
    finally:
        await healthy.stop()
