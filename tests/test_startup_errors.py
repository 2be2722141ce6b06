"""Issue 21, finding 6: a start-up mistake in DATABASE_URL is one line that says what is wrong
and what to do, exit 1, no traceback (unless --debug), never the password."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest

from bot.nlu.rasa_env import free_port

CAREERBOT = str(Path(sys.executable).parent / "careerbot")
SECRET = "s3cret-Passw0rd"


async def careerbot(tmp_path: Path, url: str, *args: str) -> tuple[int, str]:
    env = dict(
        os.environ,
        DATABASE_URL=url,
        TELEGRAM_BOT_TOKEN="123456:TEST-token",
        TELEGRAM_BASE_URL="http://127.0.0.1:9/bot",
        RASA_URL="http://127.0.0.1:9",
    )
    process = await asyncio.create_subprocess_exec(
        CAREERBOT,
        *args,
        cwd=tmp_path,  # no .env from the checkout
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


def read_only_sqlite(tmp_path: Path) -> str:
    from storage.database import upgrade

    upgrade(f"sqlite:///{tmp_path / 'ro.db'}")
    return f"sqlite:///file:{tmp_path / 'ro.db'}?mode=ro&uri=true"


CASES = {
    "missing database": (
        lambda _: (
            f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:5432/nope_{uuid.uuid4().hex[:8]}"
        ),
        "does not exist. Create it (createdb nope_",
    ),
    "nothing on the port": (
        lambda _: f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:{free_port()}/careerbot",
        "Connection refused. Is PostgreSQL running there?",
    ),
    "unknown role": (
        lambda _: (
            f"postgresql+psycopg://nobody_{uuid.uuid4().hex[:6]}:{SECRET}@127.0.0.1:5432/test"
        ),
        "does not exist. Create that user",
    ),
    "postgres:// without a driver": (
        lambda _: f"postgres://postgres:{SECRET}@127.0.0.1/test",
        'unknown kind of database "postgres"',
    ),
    "not a URL": (lambda _: f"{SECRET} is no url", "DATABASE_URL is not a database URL"),
    "read-only SQLite": (read_only_sqlite, "attempt to write a readonly database. Make the file"),
}


@pytest.mark.postgres
@pytest.mark.parametrize("case", list(CASES))
async def test_a_wrong_database_url_is_one_clear_line(tmp_path: Path, case: str) -> None:
    make_url, expected = CASES[case]
    url = make_url(tmp_path)
    for command in (("run",), ("db", "upgrade")):
        code, output = await careerbot(tmp_path, url, *command)
        assert code == 1, output
        problems = [line for line in output.splitlines() if line.startswith("careerbot: ")]
        assert len(problems) == 1, output
        assert expected in problems[0], output
        if "://" in url:
            assert problems[0].startswith("careerbot: cannot open the database at "), output
        assert "Traceback" not in output and SECRET not in output, output


async def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    code, output = await careerbot(tmp_path, "no url at all", "--debug", "db", "upgrade")
    assert code == 1 and "Traceback" in output
