"""A running bot reloads changed flows, and keeps the old ones when the new ones are invalid."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from bot.flows.registry import FlowRegistry, FlowsInvalid
from tests.conversation_helpers import FLOWS_DIR, NLU_DIR


def touch(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_reload_on_change_and_keep_old_flows_when_invalid(tmp_path, caplog):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    registry = FlowRegistry(flows, nlu_dir=NLU_DIR)
    before = registry.current
    assert registry.reload_if_changed() is False
    system = flows / "system.yml"
    original = system.read_text(encoding="utf-8")
    touch(system, original.replace('{nl: "€5.000", en: "€5,000"}', '"€6.000"'))
    assert registry.reload_if_changed() is True
    assert registry.current.values["budget_amount"] == "€6.000"
    good = registry.current
    with caplog.at_level(logging.ERROR, logger="bot.flows.registry"):
        touch(system, original + "\n  broken: [\n")
        assert registry.reload_if_changed() is False
    assert registry.current is good and registry.current is not before
    assert "system.yml" in caplog.text and "keeping the previous flows" in caplog.text


def test_invalid_flows_at_start_up_raise(tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    (flows / "welcome.yml").unlink()
    with pytest.raises(FlowsInvalid) as info:
        FlowRegistry(flows)
    assert "welcome" in str(info.value)


async def test_conversation_survives_a_flow_edit_that_removes_its_step(tmp_path, sqlite_url):
    from bot.conversation import ConversationService
    from storage.database import create_db_engine
    from tests.conversation_helpers import DEFAULT_RULES, Chat, FakeNlu, Handoffs, RecordingService

    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    registry = FlowRegistry(flows, nlu_dir=NLU_DIR)
    engine = create_db_engine(sqlite_url)
    service = ConversationService(engine=engine, flows=registry, nlu=FakeNlu(DEFAULT_RULES))
    chat = Chat(RecordingService(service, Handoffs(engine)))
    await chat.say("/start")
    await chat.press("Ja")
    await chat.press("coach")
    assert chat.asked("voornaam")
    intake = flows / "intake.yml"
    touch(
        intake,
        intake.read_text(encoding="utf-8")
        .replace("quick_intake:", "short_intake:")
        .replace("call: quick_intake", "call: short_intake"),
    )
    talk = flows / "talk_to_human.yml"
    touch(
        talk, talk.read_text(encoding="utf-8").replace("call: quick_intake", "call: short_intake")
    )
    assert registry.reload_if_changed() is True
    await chat.say("Sanne")
    assert "bijgewerkt" in chat.text  # a polite restart instead of a crash
