"""`careerbot nlu serve` in the foreground stops, with its Rasa child, on SIGTERM and SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.nlu.rasa_env import free_port, server_ready

CAREERBOT = str(Path(sys.executable).parent / "careerbot")


@pytest.mark.rasa
async def test_nlu_serve_stops_with_its_rasa_child(rasa_model: Path, tmp_path: Path) -> None:
    sig = signal.SIGTERM
    url = f"http://127.0.0.1:{free_port()}"
    env = dict(os.environ, RASA_URL=url)
    process = await asyncio.create_subprocess_exec(
        CAREERBOT,
        "nlu",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while True:  # until Rasa answers (it loads the model)
        raw = await asyncio.wait_for(process.stdout.readline(), 300)
        assert raw, "\n".join(lines)
        lines.append(raw.decode())
        if "is ready" in lines[-1]:
            break
    assert server_ready(url)
    started = asyncio.get_running_loop().time()
    process.send_signal(sig)
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert asyncio.get_running_loop().time() - started < 20
    await asyncio.sleep(0.5)
    assert not server_ready(url, timeout=1)  # Rasa is gone too, no zombie left serving


SUPERVISE = """
import subprocess, sys
from pathlib import Path
from bot.commands.nlu import serve_foreground
from bot.nlu.rasa_env import RasaServer
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
print(child.pid, flush=True)
sys.exit(serve_foreground(RasaServer(process=child, url="http://127.0.0.1:9", model=Path("m"))))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_the_foreground_wrapper_stops_its_child_on_a_signal(sig) -> None:
    """The wrapper logic alone, with a plain child process in Rasa's place (seconds, not minutes)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SUPERVISE, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    child = int((await asyncio.wait_for(process.stdout.readline(), 30)).decode())
    await asyncio.sleep(0.5)
    process.send_signal(sig)
    assert await asyncio.wait_for(process.wait(), 15) == 0
    with pytest.raises(ProcessLookupError):  # the child is gone and reaped
        os.kill(child, 0)
