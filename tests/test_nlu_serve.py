"""`careerbot nlu serve` in the foreground stops, with its Rasa child, on SIGTERM and SIGINT.

The wrapper is tested with a plain long-running child in Rasa's place: the bug was the
wrapper's (a handler waiting on the child the main thread already waited on), and starting a
real Rasa server costs minutes; the real server is started by the test fixtures anyway."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

CAREERBOT = str(Path(sys.executable).parent / "careerbot")


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
