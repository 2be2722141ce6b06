"""The bot's Bot API calls on kept-alive connections (bot/channels/telegram/transport.py): what
the fake Bot API receives and what the bot makes of Telegram's answers is what PTB's own httpx
request gave — errors mapped as before, uploads intact — and a call that times out never hands
its late answer to the next call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels.telegram import rawapi
from bot.channels.telegram.transport import KeptAliveRequest
from tests.fake_telegram.server import FakeTelegram

CHAT = 7


# Each behaviour against ours and against PTB's own request (the reference it must match).
@pytest.fixture(params=["kept-alive", "httpx"])
async def bot(request: pytest.FixtureRequest, fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    if request.param == "httpx":
        transport: BaseRequest = HTTPXRequest(read_timeout=0.5, connect_timeout=2)
    else:
        transport = KeptAliveRequest(read_timeout=0.5, connect_timeout=2)
    bot = Bot(fake_telegram.token, base_url=fake_telegram.base_url, request=transport)
    await bot.initialize()
    try:
        yield bot
    finally:
        await bot.shutdown()


async def _send(bot: Bot, text: str) -> object:
    return await rawapi.call(bot, rawapi.SEND_MESSAGE, {"chat_id": CHAT, "text": text})


async def test_messages_arrive_as_sent_and_telegrams_answers_come_back(
    bot: Bot, fake_telegram: FakeTelegram
) -> None:
    first = await _send(bot, "Hallo / Hello")
    keyboard = {"inline_keyboard": [[{"text": "Ja", "callback_data": "c:1"}]]}
    second = await rawapi.call(
        bot,
        rawapi.SEND_MESSAGE,
        {"chat_id": CHAT, "text": "Kies / Choose", "reply_markup": keyboard},
    )
    assert fake_telegram.texts(CHAT) == ["Hallo / Hello", "Kies / Choose"]
    assert rawapi.message_id(first) == 1
    assert rawapi.message_id(second) == 2
    sent = fake_telegram.calls_of("sendMessage")[-1]
    assert sent.params["reply_markup"] == keyboard


async def test_telegrams_refusals_are_the_errors_the_outbox_handles(
    bot: Bot, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter):
        await _send(bot, "te snel / too fast")
    with pytest.raises(BadRequest):
        await _send(bot, "x" * 5000)  # too long for Telegram
    fake_telegram.blocked.add(CHAT)
    with pytest.raises(Forbidden):
        await _send(bot, "geblokkeerd / blocked")
    fake_telegram.blocked.discard(CHAT)
    await _send(bot, "weer goed / fine again")
    assert fake_telegram.texts(CHAT) == ["weer goed / fine again"]


async def test_a_call_that_times_out_never_answers_the_next_one(
    bot: Bot, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.hold("sendMessage")
    with pytest.raises(TimedOut):
        await _send(bot, "eerste / first")
    fake_telegram.release()  # the held call is carried out now, its answer comes late
    await fake_telegram.wait_until(lambda: len(fake_telegram.texts(CHAT)) == 1)
    answer = await _send(bot, "tweede / second")
    assert rawapi.message_id(answer) == 2  # the second message's own answer, not the first's
    assert fake_telegram.texts(CHAT) == ["eerste / first", "tweede / second"]


async def test_an_upload_still_goes_out_as_a_file(bot: Bot, fake_telegram: FakeTelegram) -> None:
    content = b"Uw gegevens / Your data\n"
    sent = await bot.send_document(CHAT, InputFile(content, filename="gegevens.txt"))
    assert sent.document is not None
    assert fake_telegram.documents[CHAT] == [content]


async def test_many_calls_at_once_share_a_few_connections(fake_telegram: FakeTelegram) -> None:
    request = KeptAliveRequest()
    bot = Bot(fake_telegram.token, base_url=fake_telegram.base_url, request=request)
    await bot.initialize()
    try:
        for _ in range(3):
            await asyncio.gather(*(_send(bot, f"bericht {i}") for i in range(8)))
        assert len(fake_telegram.texts(CHAT)) == 24
        pools = list(request._pools.values())
        assert len(pools) == 1
        assert len(pools[0]._idle) <= 8  # kept for the next calls, not one per call
    finally:
        await bot.shutdown()
