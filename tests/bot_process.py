"""`careerbot run` as a real process for crash and multi-worker tests: start it, kill it with
SIGKILL (not an exception), stop it with SIGTERM, read what it logged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from tests.fake_telegram import FakeTelegram

CAREERBOT = str(Path(sys.executable).parent / "careerbot")
WEBHOOK_SECRET = "test-secret-0123456789"


class BotProcess:
    def __init__(
        self,
        fake: FakeTelegram,
        db_url: str,
        workdir: Path,
        *,
        webhook_port: int | None = None,
        crash_at: str | None = None,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("run",),
        ready: str = "",
    ) -> None:
        self.fake = fake
        self.db_url = db_url
        self.workdir = workdir
        self.webhook_port = webhook_port
        self.crash_at = crash_at
        self.extra_env = env or {}
        self.command = command
        self.ready = ready
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, timeout: float = 60) -> BotProcess:
        env = dict(os.environ)
        env.update(
            {
                "TELEGRAM_BOT_TOKEN": self.fake.token,
                "TELEGRAM_BASE_URL": self.fake.base_url,
                "DATABASE_URL": self.db_url,
                "RASA_URL": "http://127.0.0.1:9",  # NLU down: buttons and keywords still work
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "CAREERBOT_CRASH_AT": self.crash_at or "",
                **self.extra_env,
            }
        )
        args = [CAREERBOT, *self.command]
        if self.webhook_port is not None:
            args += [
                "--webhook",
                "https://bot.example.org/telegram",
                "--listen",
                "127.0.0.1",
                "--port",
                str(self.webhook_port),
            ]
        self.process = await asyncio.create_subprocess_exec(
            *args,
            cwd=self.workdir,  # no .env from the checkout
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self._ready.wait(), timeout)
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if any(m in line for m in (self.ready or "polling Telegram", "webhook serving")):
                self._ready.set()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    async def wait_exit(self, timeout: float = 30) -> int:
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)
        return code

    def kill(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)

    async def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as systemd or Kubernetes stop a service."""
        assert self.process is not None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
        return await self.wait_exit(timeout)
