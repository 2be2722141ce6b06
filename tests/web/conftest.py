"""The web desk in a real browser: Playwright driving Debian's chromium (one browser for the
whole session), the real `careerbot web` process, and the real bot against the fake Bot API.

Screenshots of every page land in reports/screenshots/<database>/ (not committed; docs/desk.png
is), with the transcript of the handoff across Telegram and the web (transcript.md)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram.pacing import ChatPacer
from bot.channels.telegram.wiring import AssembledBot, build_telegram_bot
from bot.config import PROJECT_ROOT, Settings
from bot.nlu.rasa_env import free_port
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import Role, Union
from tests.bot_process import BotProcess
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.fixtures import fake_telegram
from tests.fake_telegram.user import TelegramUser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = PROJECT_ROOT / "reports" / "screenshots"

ANNA, BRAM, CORA, ADMIN = 7001, 7002, 7500, 9001
COORDINATOR_CHAT = -100777


__all__ = ["fake_telegram"]


def _chromium_present() -> bool:
    return os.path.exists(CHROMIUM)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One chromium for the session (each test opens its own contexts)."""
    if not _chromium_present():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Desk:
    """The bot (in this process) and the web desk (its own process) on one database."""

    fake: FakeTelegram
    bot: AssembledBot
    web: BotProcess
    db_url: str
    base_url: str
    shots: Path
    console_errors: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    flows_dir: Path = PROJECT_ROOT / "flows"

    def user(self, user_id: int, first_name: str = "Sam") -> TelegramUser:
        self.names[user_id] = first_name
        return Person(self, user_id, first_name)

    def step(self, text: str) -> None:
        """Something a person did or saw in the browser, for the transcript."""
        self.transcript.append(f"[web]      {text}")

    def heard(self, chat_id: int, message: dict[str, Any]) -> None:
        text = str(message.get("text", "")).replace("\n", " / ")
        buttons = [
            b["text"]
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        shown = f"{text} {buttons}" if buttons and buttons != ["✓"] else text
        self.transcript.append(f"[telegram] bot → {self.names.get(chat_id, chat_id)}: {shown}")

    def write_transcript(self) -> Path:
        path = self.shots / "transcript.md"
        path.write_text("\n".join(self.transcript) + "\n", encoding="utf-8")
        return path

    async def login_link(self, staff: TelegramUser) -> str:
        (message,) = await staff.say("/login")
        found = re.search(r"(http://\S+/login/\S+)", message["text"])
        assert found, message["text"]
        return found.group(1)

    async def logged_in(self, browser: Any, staff: TelegramUser, **context: Any) -> Any:
        """A browser context (its own cookies) logged in through the link the bot sent."""
        ctx = await browser.new_context(**{"viewport": {"width": 1280, "height": 860}, **context})
        page = await ctx.new_page()
        self.watch(page)
        await page.goto(await self.login_link(staff))
        await page.get_by_role("button", name="Inloggen").click()
        await page.wait_for_load_state("networkidle")
        return page

    def watch(self, page: Any) -> None:
        """Script errors, CSP violations and assets that fail to load (a 404 page is fine)."""

        def console(message: Any) -> None:
            if message.type == "error" and "Failed to load resource" not in message.text:
                self.console_errors.append(message.text)

        def response(answer: Any) -> None:
            if answer.status >= 400 and answer.request.resource_type != "document":
                self.console_errors.append(f"{answer.status} {answer.url}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("response", response)

    async def shot(self, page: Any, name: str, *, full: bool = True) -> Path:
        path = self.shots / f"{name}.png"
        await page.screenshot(path=str(path), full_page=full)
        return path


class Person(TelegramUser):
    """A Telegram user whose words and presses go into the desk's transcript."""

    def __init__(self, desk: Desk, user_id: int, first_name: str) -> None:
        super().__init__(desk.fake, user_id, first_name)
        self.desk = desk

    async def say(self, text: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.desk.transcript.append(f"[telegram] {self.first_name}: {text}")
        return await super().say(text, **kwargs)

    async def send(self, text: str, **kwargs: Any) -> None:
        self.desk.transcript.append(f"[telegram] {self.first_name}: {text}")
        await super().send(text, **kwargs)

    async def press(
        self, label: str, message: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self.desk.transcript.append(f"[telegram] {self.first_name} presses [{label}]")
        return await super().press(label, message)


def seed(url: str) -> None:
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        add_coach(
            session, name="Anna de Vries", telegram_id=ANNA, union=Union.FNV, regions=["AM13"]
        )
        add_coach(session, name="Bram Jansen", telegram_id=BRAM, union=Union.CNV, regions=["AM13"])
        add_coach(
            session,
            name="Cora Smit",
            telegram_id=CORA,
            union=Union.FNV,
            regions=["AM13", "AM30"],
            role=Role.COORDINATOR,
            capacity=0,
        )
    engine.dispose()


async def start_desk(fake: FakeTelegram, db_url: str, workdir: Path, label: str) -> Desk:
    upgrade(db_url)
    seed(db_url)
    flows = workdir / "flows"  # a copy an admin may break (the desk shows what is wrong)
    shutil.copytree(PROJECT_ROOT / "flows", flows)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url,
        database_url=db_url,
        rasa_url="http://127.0.0.1:9",  # NLU down: the participant uses the buttons
        admin_telegram_ids=frozenset({ADMIN}),
        coordinator_chat_id=COORDINATOR_CHAT,
        webhook_secret=None,
        web_base_url=base_url,
        flows_dir=flows,
    )
    assembled = await build_telegram_bot(
        settings, poll_timeout=2, pacer=ChatPacer(rate=20, burst=5), sweep_interval=0.3
    )
    await assembled.bot.start_polling()
    web = BotProcess(
        fake,
        db_url,
        workdir,
        command=("web", "--port", str(port)),
        ready="web desk on",
        env={
            "ADMIN_TELEGRAM_IDS": str(ADMIN),
            "COORDINATOR_CHAT_ID": str(COORDINATOR_CHAT),
            "WEB_BASE_URL": base_url,
            "FLOWS_DIR": str(flows),
            "NLU_DIR": str(PROJECT_ROOT / "nlu"),
        },
    )
    await web.start()
    shots = SHOTS / label
    shots.mkdir(parents=True, exist_ok=True)
    desk = Desk(fake, assembled, web, db_url, base_url, shots, flows_dir=flows)
    fake.on_sent = desk.heard
    return desk


@pytest.fixture
async def desk_sqlite(
    fake_telegram: FakeTelegram,
    tmp_path: Path,
) -> AsyncIterator[Desk]:
    fake = fake_telegram
    desk = await start_desk(fake, f"sqlite:///{tmp_path / 'desk.db'}", tmp_path, "sqlite")
    try:
        yield desk
    finally:
        await desk.web.stop()
        await desk.bot.aclose()


@pytest.fixture
async def desk_postgres(
    fake_telegram: FakeTelegram,
    tmp_path: Path,
    postgres_url: str,
) -> AsyncIterator[Desk]:
    fake = fake_telegram
    import uuid

    import sqlalchemy

    schema = f"i20_web_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    desk = await start_desk(fake, url, tmp_path, "postgres")
    try:
        yield desk
    finally:
        await desk.web.stop()
        await desk.bot.aclose()
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
