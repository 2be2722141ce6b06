"""A running `careerbot run` keeps its flows when an edit breaks a conversation test, says so in
its log and in `careerbot flows status`, and takes the files live once they are fixed."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

from tests.bot_process import BotProcess
from tests.conversation_helpers import FLOWS_DIR
from tests.fake_telegram import FakeTelegram
from tests.test_flow_tests import SKIP_CONSENT

CAREERBOT = str(Path(sys.executable).parent / "careerbot")


async def _status(env: dict[str, str], cwd: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        CAREERBOT,
        "flows",
        "status",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()
    return output.decode()


async def _wait_for_log(bot: BotProcess, text: str, timeout: float = 60) -> None:
    for _ in range(int(timeout * 10)):
        if text in bot.log:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{text!r} not in the bot's log:\n{bot.log}")


async def test_a_flow_edit_that_skips_consent_never_goes_live(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    env = {"FLOWS_DIR": str(flows)}
    bot = await BotProcess(fake_telegram, url, tmp_path, env=env).start()
    try:
        await _wait_for_log(bot, "conversation tests passed")  # the start-up judgement
        welcome = flows / "welcome.yml"
        original = welcome.read_text(encoding="utf-8")
        welcome.write_text(original.replace(*SKIP_CONSENT, 1), encoding="utf-8")
        await _wait_for_log(bot, "keeping the previous flows")
        assert (
            "welcome.yml:" in bot.log and "Wie in het eerste bericht al zijn naam noemt" in bot.log
        )

        # Someone who introduces themselves is still asked for consent (the old flows).
        await fake_telegram.send_text(5150, "Hoi, ik ben Sanne en ik ben ontslagen")
        messages = await fake_telegram.wait_for(5150, 3, timeout=30)
        assert "Vind je het goed dat ik je gegevens daarvoor bewaar?" in messages[-1]["text"]

        status_env = dict(os.environ, DATABASE_URL=url, FLOWS_DIR=str(flows))
        status = await _status(status_env, tmp_path)
        assert "The files on disk are kept out" in status
        assert "conversation tests failed" in status and "welcome.yml:" in status

        welcome.write_text(original, encoding="utf-8")
        await _wait_for_log(bot, "flows reloaded")
        assert "The files on disk are what is live." in await _status(status_env, tmp_path)
    finally:
        await bot.stop()
    assert "Sanne" not in bot.log  # no message text in the log
