"""A person trial through Telegram's real HTTP path: `careerbot run` as a real process against
the fake Bot API (tests/fake_telegram) and a real Rasa server, a participant who types, presses
the odd button, is interrupted by a kill -9 and a restart, and the coach's card at the end.

Prints the transcript (what the person wrote, what the bot answered, with its buttons) for a
closing note. Not a test: it asserts nothing, a person reads it.

    .venv/bin/python scripts/trial_telegram.py --rasa-url http://127.0.0.1:5005 \
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test] [--script FILE]

A script file has one step per line: `> text` (typed), `[label]` (press the button whose label
contains it, on the last message with buttons), `!kill` (kill -9, then start again),
`!restart` (SIGTERM, then start again). Lines starting with # are comments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.bot_process import BotProcess
from tests.fake_telegram import FakeTelegram

PERSON = 5501
COACH = 7201

DEFAULT_SCRIPT = """\
> hoi
> ik ben bang dat ik mijn baan kwijtraak
> ja hoor dat is goed
> Marieke
> ik woon in Udenhout
# a question in between, typed at a question
> wat is dat budget van 5000 euro eigenlijk?
> ik werk in de thuiszorg als verzorgende
!kill
> mbo niveau 3 denk ik
> sorry ik bedoel ik woon in Berkel-Enschot en ik heb hbo
> klopt
> dank je wel!
"""


def _buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or []
    return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]


def _show(message: dict[str, Any]) -> str:
    text = message.get("text") or message.get("caption") or "<media>"
    lines = [
        f"  bot: {line}" if i == 0 else f"       {line}" for i, line in enumerate(text.splitlines())
    ]
    buttons = _buttons(message)
    if buttons:
        lines.append("       " + " ".join(f"[{label}]" for label, _ in buttons))
    return "\n".join(lines)


async def _settle(fake: FakeTelegram, chat: int, seen: int, quiet: float = 2.5) -> int:
    """Wait until the bot has said something and then been quiet for `quiet` seconds."""
    deadline = time.monotonic() + 30
    last, since = len(fake.sent[chat]), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = len(fake.sent[chat])
        if now != last:
            last, since = now, time.monotonic()
        elif now > seen and time.monotonic() - since >= quiet:
            break
    return last


def _add_coach(db_url: str) -> None:
    from sqlmodel import Session

    from bot.commands.coach import parse_regions
    from storage.coaches import add_coach
    from storage.database import create_db_engine, upgrade
    from storage.models import Union

    upgrade(db_url)
    engine = create_db_engine(db_url)
    with Session(engine) as session:
        add_coach(
            session,
            name="Anna de Vries",
            telegram_id=COACH,
            union=Union("FNV"),
            regions=parse_regions("Midden-Brabant")[0],
        )
        session.commit()
    engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-url", required=True)
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument("--script", type=Path, help="steps, one per line (see above)")
    args = parser.parse_args()
    steps = (args.script.read_text() if args.script else DEFAULT_SCRIPT).splitlines()

    work = Path(tempfile.mkdtemp(prefix="trial-"))
    if args.database == "sqlite":
        db_url = f"sqlite:///{work / 'bot.db'}"
    else:
        import sqlalchemy

        schema = f"trial_{uuid.uuid4().hex[:8]}"
        admin = sqlalchemy.create_engine(args.database)
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        db_url = f"{args.database}?options=-csearch_path%3D{schema}"
    _add_coach(db_url)

    fake = await FakeTelegram().start()
    env = {"RASA_URL": args.rasa_url}

    async def start() -> BotProcess:
        return await BotProcess(fake, db_url, work, env=env).start()

    bot = await start()
    seen = 0
    try:
        for raw in steps:
            step = raw.strip()
            if not step or step.startswith("#"):
                continue
            if step == "!kill":
                print("  -- kill -9, start again --")
                bot.kill()
                await bot.wait_exit()
                bot = await start()
                continue
            if step == "!restart":
                print("  -- SIGTERM, start again --")
                await bot.stop()
                bot = await start()
                continue
            if step.startswith("[") and step.endswith("]"):
                wanted = step[1:-1].lower()
                with_buttons = [m for m in fake.sent[PERSON] if _buttons(m)]
                if not with_buttons:
                    print(f"  (no buttons to press for {step})")
                    continue
                message = with_buttons[-1]
                found = [(lbl, d) for lbl, d in _buttons(message) if wanted in lbl.lower()]
                if not found:
                    print(f"  (no button like {step})")
                    continue
                print(f"person presses [{found[0][0]}]")
                await fake.press(PERSON, message, found[0][1], first_name="Marieke")
            else:
                text = step[1:].strip() if step.startswith(">") else step
                print(f"person: {text}")
                await fake.send_text(PERSON, text, first_name="Marieke")
            now = await _settle(fake, PERSON, seen)
            for message in fake.sent[PERSON][seen:now]:
                print(_show(message))
            seen = now
        await asyncio.sleep(2)
        print(f"\n== what the coach (Telegram chat {COACH}) received ==")
        for message in fake.sent[COACH]:
            print(_show(message))
        print("\n== what the coach's messages show after edits ==")
        for (chat, _), message in fake.messages.items():
            if chat == COACH:
                print(_show(message))
        errors = [line for line in bot.lines if "Traceback" in line or "ERROR" in line]
        print(f"\n(bot log: {len(bot.lines)} lines, {len(errors)} errors/tracebacks)")
        for line in errors[:10]:
            print("   ", line)
    finally:
        await bot.stop()
        await fake.stop()


if __name__ == "__main__":
    asyncio.run(main())
