from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import get_settings


@pytest.fixture
def database(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_coach_add_list_deactivate(database, capsys):
    assert main(["db", "upgrade"]) == 0
    assert (
        main(
            [
                "coach",
                "add",
                "--name",
                "Anna de Vries",
                "--telegram-id",
                "111",
                "--union",
                "fnv",
                "--regions",
                "AM18, Midden-Utrecht",
                "--capacity",
                "5",
            ]
        )
        == 0
    )
    assert "AM18, AM13" in capsys.readouterr().out
    assert (
        main(
            [
                "coach",
                "add",
                "--name",
                "X",
                "--telegram-id",
                "111",
                "--union",
                "CNV",
                "--regions",
                "AM01",
            ]
        )
        == 1
    )
    assert "already exists" in capsys.readouterr().err
    assert (
        main(
            [
                "coach",
                "add",
                "--name",
                "Y",
                "--telegram-id",
                "112",
                "--union",
                "CNV",
                "--regions",
                "Atlantis",
            ]
        )
        == 1
    )
    assert "Atlantis" in capsys.readouterr().err
    assert main(["coach", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Anna de Vries" in listing and "AM13,AM18" in listing and "0/5" in listing
    assert main(["coach", "deactivate", "--telegram-id", "111"]) == 0
    assert main(["coach", "list"]) == 0
    assert " no " in capsys.readouterr().out
    assert main(["coach", "deactivate", "--telegram-id", "999"]) == 1
