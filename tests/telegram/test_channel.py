"""The Telegram channel through python-telegram-bot's real HTTP path and the fake Bot API server.

These tests use a scripted conversation service, so they hold without NLU; the end-to-end tests
with the real engine and Rasa are in test_handoff.py.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.telegram.logs import quiet_transport_loggers
from bot.channels.telegram.wiring import routers
from bot.conversation import Prepared, TurnOutcome
from bot.engine.messages import Button, Inbound, Reply
from storage.coaches import add_coach
from storage.database import session_scope
from storage.models import Union
from tests.fake_telegram import FakeTelegram, buttons_of

USER = 4242


class ScriptedConversation:
    """Answers like the engine would: a welcome with buttons, echoes, one very long text."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Inbound]] = []

    def peek(self, session: Session, channel: str, external_id: str) -> None:
        return None

    def remembered(self, channel: str, telegram_id: int) -> None:
        return None

    async def prepare(
        self, channel: str, external_id: str, inbound: Inbound, state: object = None
    ) -> Prepared:
        return Prepared(channel, external_id, inbound, None, asked_nlu=True)

    def apply(self, session: Session, prepared: Prepared) -> TurnOutcome:
        self.calls.append((prepared.channel, prepared.external_id, prepared.inbound))
        return TurnOutcome(self.answer(prepared.inbound))

    def answer(self, inbound: Inbound) -> list[Reply]:
        if inbound.text == "/start":
            return [
                Reply("Hoi! Ik ben een bot."),
                Reply("Zullen we beginnen?", (Button("Ja", "yes"), Button("Nee", "no"))),
            ]
        if inbound.payload is not None:
            return [Reply(f"Je koos {inbound.payload}")]
        if inbound.text == "lang":
            paragraph = "Dit is een lange alinea over je rechten. " * 20
            return [Reply("\n\n".join(f"{i}. {paragraph}" for i in range(20)))]
        if inbound.text == "lange knop":
            return [Reply("Kies", (Button("Lang", "x" * 100),))]
        return [Reply(f"Je schreef: {inbound.text}")]


@pytest.fixture
def conversation() -> ScriptedConversation:
    return ScriptedConversation()


async def test_start_buttons_press_once(fake_telegram: FakeTelegram, start_bot, conversation):
    await start_bot(conversation)
    await fake_telegram.send_text(USER, "/start")
    sent = await fake_telegram.wait_for(USER, 2)
    assert [m["text"] for m in sent] == ["Hoi! Ik ben een bot.", "Zullen we beginnen?"]
    question = sent[1]
    assert [b["callback_data"] for b in buttons_of(question)] == ["p:yes", "p:no"]

    await fake_telegram.press(USER, question, "p:yes")
    answer = await fake_telegram.wait_for(USER, 1, since=2)
    assert answer[0]["text"] == "Je koos yes"
    # The keyboard was replaced by an inert marker, and the spinner was stopped.
    await fake_telegram.wait_until(lambda: len(buttons_of(question)) == 1)
    assert buttons_of(question) == [{"text": "✓ Ja", "callback_data": "x"}]
    # The spinner's answer is sent beside the turn, not before it: it may land after the edit.
    await fake_telegram.wait_until(lambda: len(fake_telegram.callback_answers) == 1)

    # A second press on the old keyboard (sent before the edit arrived) is only acknowledged.
    await fake_telegram.press(
        USER,
        sent[1]
        | {"reply_markup": {"inline_keyboard": [[{"text": "Nee", "callback_data": "p:no"}]]}},
        "p:no",
    )
    await fake_telegram.wait_until(lambda: len(fake_telegram.callback_answers) == 2)
    assert fake_telegram.callback_answers[-1]["text"].startswith("Deze keuze is al gemaakt")
    assert len(fake_telegram.sent[USER]) == 3
    assert [c[2] for c in conversation.calls] == [Inbound(text="/start"), Inbound(payload="yes")]
    assert {c[1] for c in conversation.calls} == {str(USER)}


async def test_commands_registered(fake_telegram: FakeTelegram, start_bot, conversation):
    await start_bot(conversation)
    assert [c["command"] for c in fake_telegram.commands] == [
        "start",
        "help",
        "menu",
        "stop",
        "taal",
        "mijngegevens",
        "verwijder",
    ]


async def test_user_html_is_escaped(fake_telegram: FakeTelegram, start_bot, conversation):
    await start_bot(conversation)
    await fake_telegram.send_text(USER, "<b>Jan</b> & <script>x</script>")
    (message,) = await fake_telegram.wait_for(USER)
    assert (
        message["text"] == "Je schreef: &lt;b&gt;Jan&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;"
    )
    assert message["parse_mode"] == "HTML"


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "location", "document", "contact"])
async def test_non_text_gets_polite_answer(
    fake_telegram: FakeTelegram, start_bot, conversation, kind: str
):
    await start_bot(conversation)
    await fake_telegram.send_media(USER, kind)
    (message,) = await fake_telegram.wait_for(USER)
    assert message["text"].startswith("Sorry, ik kan alleen tekstberichten lezen.")
    assert "Sorry, I can only read text messages." in message["text"]
    assert "alleen tekst" in message["text"] and "only read text" in message["text"]
    assert conversation.calls == []


async def test_long_reply_is_split(fake_telegram: FakeTelegram, start_bot, conversation):
    await start_bot(conversation)
    await fake_telegram.send_text(USER, "lang")
    full = conversation.answer(Inbound(text="lang"))[0].text
    await fake_telegram.wait_for(USER, 2)
    await fake_telegram.wait_until(
        lambda: "".join(fake_telegram.texts(USER)).count(".") >= full.count(".")
    )
    texts = fake_telegram.texts(USER)
    assert len(texts) >= 3
    assert all(len(t) <= 4096 for t in texts)
    # Split on paragraph boundaries: every chunk starts with a numbered paragraph.
    assert all(t.split(".")[0].isdigit() for t in texts)

    def paragraphs(text: str) -> list[str]:
        return [p.strip() for p in text.split("\n\n")]

    assert paragraphs("\n\n".join(texts)) == paragraphs(full)


async def test_long_payload_goes_through_the_database(
    fake_telegram: FakeTelegram, start_bot, conversation
):
    await start_bot(conversation)
    await fake_telegram.send_text(USER, "lange knop")
    (message,) = await fake_telegram.wait_for(USER)
    (button,) = buttons_of(message)
    assert button["callback_data"].startswith("h:") and len(button["callback_data"]) <= 64
    await fake_telegram.press(USER, message, button["callback_data"])
    await fake_telegram.wait_for(USER, 1, since=1)
    assert conversation.calls[-1][2] == Inbound(payload="x" * 100)


async def test_order_per_chat_and_concurrency(fake_telegram: FakeTelegram, start_bot, conversation):
    await start_bot(conversation)
    for i in range(6):
        await fake_telegram.send_text(USER, f"m{i}")
        await fake_telegram.send_text(USER + 1, f"n{i}")
    await fake_telegram.wait_for(USER, 6)
    await fake_telegram.wait_for(USER + 1, 6)
    assert fake_telegram.texts(USER) == [f"Je schreef: m{i}" for i in range(6)]
    assert fake_telegram.texts(USER + 1) == [f"Je schreef: n{i}" for i in range(6)]


async def test_duplicate_update_answered_once_across_restart(
    fake_telegram: FakeTelegram, start_bot, conversation
):
    first = await start_bot(conversation)
    update = await fake_telegram.send_text(USER, "eerste")
    await fake_telegram.wait_for(USER)
    await first.stop()

    # Telegram re-delivers the update (e.g. the offset was never confirmed before a crash).
    await fake_telegram.push_update(update)
    await fake_telegram.send_text(USER, "tweede")
    await start_bot(conversation)
    await fake_telegram.wait_for(USER, 2)
    await fake_telegram.wait_until(lambda: fake_telegram.pending_updates() == 0)
    assert fake_telegram.texts(USER) == ["Je schreef: eerste", "Je schreef: tweede"]
    assert [c[2].text for c in conversation.calls] == ["eerste", "tweede"]


async def test_429_and_500_still_delivered_exactly_once(
    fake_telegram: FakeTelegram, start_bot, conversation
):
    fake_telegram.fail("sendMessage", 429, retry_after=1)
    fake_telegram.fail("sendMessage", 500, times=2)
    await start_bot(conversation)
    await fake_telegram.send_text(USER, "hallo")
    await fake_telegram.wait_for(USER, timeout=20)
    statuses = [c.status for c in fake_telegram.calls_of("sendMessage")]
    assert statuses == [429, 500, 500, 200]
    calls = fake_telegram.calls_of("sendMessage")
    assert calls[1].at - calls[0].at >= 1.0  # waited retry_after
    assert fake_telegram.texts(USER) == ["Je schreef: hallo"]


async def test_outbox_replayed_after_restart(fake_telegram: FakeTelegram, start_bot, conversation):
    fake_telegram.fail("sendMessage", 500, times=1000)
    first = await start_bot(conversation)
    await fake_telegram.send_text(USER, "hallo")
    await fake_telegram.wait_until(lambda: len(fake_telegram.calls_of("sendMessage")) >= 1)
    await first.stop()  # Telegram is down and the bot stops: the reply waits in the database
    fake_telegram.failures.clear()
    await start_bot(conversation)
    await fake_telegram.wait_for(USER, timeout=15)
    assert fake_telegram.texts(USER) == ["Je schreef: hallo"]
    assert len(conversation.calls) == 1


async def test_webhook_secret(fake_telegram: FakeTelegram, start_bot, conversation):
    bot = await start_bot(
        conversation, webhook="https://bot.example.org/telegram/hook", webhook_secret="s3cret-value"
    )
    assert fake_telegram.webhook["url"] == "https://bot.example.org/telegram/hook"
    assert fake_telegram.webhook["secret_token"] == "s3cret-value"
    url = f"http://127.0.0.1:{bot.webhook_port}/telegram/hook"
    update = {
        "update_id": 77,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Sam"},
            "text": "via webhook",
        },
    }
    async with httpx.AsyncClient() as client:
        for headers in (
            {},
            {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            {"X-Telegram-Bot-Api-Secret-Token": "s3cret-valu"},
        ):
            response = await client.post(url, json=update, headers=headers)
            assert response.status_code == 403
        assert conversation.calls == []
        response = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-value"}
        )
        assert response.status_code == 200
    (message,) = await fake_telegram.wait_for(USER)
    assert message["text"] == "Je schreef: via webhook"


async def test_logs_hold_no_text_names_or_token(
    fake_telegram: FakeTelegram, start_bot, conversation, caplog: pytest.LogCaptureFixture
):
    quiet_transport_loggers()
    caplog.set_level(logging.DEBUG)
    fake_telegram.fail("sendMessage", 500)
    await start_bot(conversation)
    await fake_telegram.send_text(USER, "mijn geheim 0612345678", first_name="Geertruida")
    await fake_telegram.wait_for(USER)
    await fake_telegram.send_media(USER, "photo", first_name="Geertruida")
    await fake_telegram.wait_for(USER, 2)
    assert caplog.records  # something was logged (the 500 retry at least)
    assert any(
        "500" in r.getMessage() or "NetworkError" in r.getMessage() or "retry" in r.getMessage()
        for r in caplog.records
    )
    for forbidden in ("geheim", "0612345678", "Geertruida", fake_telegram.token, "TEST-token"):
        assert forbidden not in caplog.text


async def test_who_sent_it_is_checked_again_in_the_turns_transaction(
    fake_telegram: FakeTelegram, start_bot, telegram_db: Engine
):
    """Who sent an update is read before the NLU and compared in the commit: someone made a
    coach while their text was being understood is answered by the coach desk, and the
    conversation never applies the turn it prepared."""

    class BecomesCoach(ScriptedConversation):
        async def prepare(
            self, channel: str, external_id: str, inbound: Inbound, state: object = None
        ) -> Prepared:
            with session_scope(telegram_db) as session:  # an admin adds them meanwhile
                add_coach(session, name="Sam Coach", telegram_id=USER, union=Union.FNV, regions=[])
            return await super().prepare(channel, external_id, inbound, state)

    conversation = BecomesCoach()
    await start_bot(conversation, routers=routers(admin_ids=frozenset(), flows=None))
    await fake_telegram.send_text(USER, "hallo")
    sent = await fake_telegram.wait_for(USER, 1)
    assert sent[0]["text"].startswith("<b>Coach-commando's:")
    assert conversation.calls == []
