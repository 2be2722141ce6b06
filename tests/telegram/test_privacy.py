"""The AVG rights through Telegram: /mijngegevens sends everything held as a JSON document;
/verwijder, after a confirmation, erases the participant everywhere. Afterwards no table and
no byte of the SQLite file (WAL included) holds their Telegram id, name, phone, e-mail or
anything they typed; cases stay, anonymously; the coach of the open case is told."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import Session

from bot.channels.telegram.pacing import ChatPacer
from bot.channels.telegram.wiring import build_telegram_bot
from bot.config import Settings
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import Union
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.user import TelegramUser

ID = 987654321  # distinctive: found as text, it can only be this participant
ANNA = 7301
BLANKED = "(gegevens verwijderd op verzoek van de deelnemer)"
SECRETS = ("Geertruida", "0687654321", "+31687654321", "geertruida@voorbeeld.nl", "heftruck")


async def test_export_then_erase_leaves_nothing_behind(fake_telegram: FakeTelegram, tmp_path: Path):
    db = tmp_path / "privacy.db"
    url = f"sqlite:///{db}"
    upgrade(url)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        add_coach(
            session, name="Anna de Vries", telegram_id=ANNA, union=Union.FNV, regions=["AM13"]
        )
    settings = Settings(
        telegram_bot_token=fake_telegram.token,
        telegram_base_url=fake_telegram.base_url,
        database_url=url,
        rasa_url="http://127.0.0.1:9",
        webhook_secret=None,
    )
    bot = await build_telegram_bot(
        settings, poll_timeout=2, pacer=ChatPacer(rate=50, burst=10), sweep_interval=0.3
    )
    await bot.bot.start_polling()
    try:
        sam = TelegramUser(fake_telegram, ID, "Geertruida")
        anna = TelegramUser(fake_telegram, ANNA, "Anna")
        await sam.say("/start")
        await sam.press("Ja")
        await sam.press("Praten met een coach")
        await sam.say("Geertruida")
        await sam.say("Utrecht")
        await sam.press("Telefoon")
        await sam.say("0687654321")
        await sam.press("Ochtend")
        await sam.press("Ja")
        await anna.read()
        await anna.press("Aannemen")
        await sam.read()
        await sam.send("ik werk op een heftruck, mail me op geertruida@voorbeeld.nl")
        (relayed,) = await anna.read()
        assert "heftruck" in relayed["text"]
        # Finding 29: a BSN in the live chat is not passed on; the person is told
        await sam.send("nog iets: mijn bsn is 123456782")
        (not_kept,) = await sam.read()
        assert "Je BSN heb ik niet nodig" in not_kept["text"]
        await sam.send("en ik zoek iets met een vaste baan")
        (relayed,) = await anna.read()
        assert "vaste baan" in relayed["text"] and "123456782" not in relayed["text"]

        await sam.send("/mijngegevens")
        await fake_telegram.wait_until(lambda: bool(fake_telegram.documents[ID]), timeout=15)
        exported = json.loads(fake_telegram.documents[ID][0])
        assert exported["participant"]["id"] == str(ID)
        fields = {f["field"]: f["value"] for f in exported["cases"][0]["what_the_coach_got"]}
        assert fields["Voornaam"] == "Geertruida" and fields["Telefoonnummer"] == "+31687654321"
        assert any("Geertruida" in (m["text"] or "") for m in exported["messages"])

        replies = await sam.say("/verwijder")
        assert "Weet je het zeker?" in replies[-1]["text"]
        done = await sam.press("Ja, verwijder alles")
        assert "verwijderd" in done[-1]["text"]
        (told,) = await anna.read()
        assert "laten verwijderen" in told["text"]

        # Finding 27: what the bot itself showed the coach (card, relayed message) is blanked
        def anna_sees() -> list[str]:
            return [m["text"] for (chat, _), m in fake_telegram.messages.items() if chat == ANNA]

        def shows_secrets() -> bool:
            return any(secret in t for t in anna_sees() for secret in SECRETS)

        await fake_telegram.wait_until(lambda: not shows_secrets(), timeout=15)
        seen = anna_sees()
        assert seen.count(BLANKED) >= 2  # at least the card and the relayed message
        assert any("laten verwijderen" in t for t in seen)  # the notice itself stays
    finally:
        await bot.aclose()

    # Nothing left: not in any table, not in any byte of the files.
    engine = create_db_engine(url)
    with Session(engine) as session:
        for table in inspect(engine).get_table_names():
            for row in session.execute(text(f'SELECT * FROM "{table}"')).all():
                flat = " ".join(str(value) for value in row)
                assert str(ID) not in flat, (table, flat)
                for secret in SECRETS:
                    assert secret not in flat, (table, secret)
        cases = session.execute(text("SELECT topic, region_code, status FROM cases")).all()
        assert cases == [("talk_to_human", "AM13", "closed")]  # kept, anonymously
    engine.dispose()
    assert_not_in_files(sorted(tmp_path.glob("privacy.db*")))  # noqa: ASYNC240


def assert_not_in_files(paths) -> None:
    for path in paths:
        content = path.read_bytes()
        assert str(ID).encode() not in content, path
        for secret in SECRETS:
            assert secret.encode() not in content, (path, secret)
