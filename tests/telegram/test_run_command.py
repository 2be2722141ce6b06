"""`careerbot run` as a real process against the fake Bot API: starts, answers, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.fake_telegram import FakeTelegram

CAREERBOT = str(Path(sys.executable).parent / "careerbot")


def _env(fake: FakeTelegram, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
            "RASA_URL": "http://127.0.0.1:9",  # NLU down: the bot must still answer
            "WEBHOOK_SECRET": "",
            **extra,
        }
    )
    return env


async def test_run_polls_answers_and_stops(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        CAREERBOT,
        "run",
        cwd=tmp_path,  # no .env from the checkout
        env=_env(fake_telegram, tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await fake_telegram.wait_until(lambda: bool(fake_telegram.commands), timeout=60)
        await fake_telegram.send_text(4711, "/start", first_name="Geertruida")
        messages = await fake_telegram.wait_for(4711, 1, timeout=30)
        assert "bot" in messages[0]["text"].lower()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, output.decode()
    log = output.decode()
    # Privacy: no token, no names, no message text in the process output.
    assert fake_telegram.token not in log and "TEST-token" not in log
    assert "Geertruida" not in log and "/start" not in log


async def test_run_without_token_is_a_clear_error(tmp_path: Path) -> None:
    env = dict(os.environ, TELEGRAM_BOT_TOKEN="")
    process = await asyncio.create_subprocess_exec(
        CAREERBOT,
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in output.decode()
    assert "Traceback" not in output.decode()


async def test_run_stops_within_seconds_on_sigterm_and_sigint(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    """As systemd or Kubernetes stop a service (SIGTERM) and Ctrl-C does (SIGINT), webhook too."""
    from bot.nlu.rasa_env import free_port
    from tests.bot_process import BotProcess

    url = f"sqlite:///{tmp_path / 'stop.db'}"
    for sig, webhook in ((signal.SIGTERM, None), (signal.SIGINT, free_port())):
        bot = await BotProcess(fake_telegram, url, tmp_path, webhook_port=webhook).start()
        if webhook is None:  # polling: it answers before it is stopped
            await fake_telegram.send_text(4712, "/start")
            await fake_telegram.wait_for(4712, 1, timeout=30)
        assert bot.process is not None
        started = asyncio.get_running_loop().time()
        bot.process.send_signal(sig)
        assert await bot.wait_exit(timeout=15) == 0, bot.log
        assert asyncio.get_running_loop().time() - started < 10
