"""Conversation tests in YAML (flows/tests/): the shipped ones pass and cover every flow and every
repair pattern in both languages; a failure is reported at file:line, expected beside actual;
a flow that passes every check but breaks a conversation is kept out of a running bot."""

from __future__ import annotations

import logging
import shutil
import textwrap
from pathlib import Path

import pytest

from bot.cli import main
from bot.engine.engine import turn
from bot.engine.messages import Inbound
from bot.engine.state import ConversationState
from bot.flows.loader import load_flows
from bot.flows.registry import FlowRegistry, FlowsInvalid, check_only
from bot.flowtests.gate import judge, spec_folder
from bot.flowtests.runner import PATTERNS, run_cases
from bot.flowtests.spec import read_cases, spec_files
from tests.conversation_helpers import FLOWS_DIR, NLU_DIR

# The admin's mistake the issue names: a `next:` that skips the consent question. Every step
# stays reachable, so `flows check` is happy; only a conversation shows it.
SKIP_CONSENT = (
    "      - say: privacy_notice\n      - collect: consent\n",
    "      - say: privacy_notice\n"
    "        next:\n"
    "          - if: slots.first_name != null   # they introduced themselves: straight on\n"
    "            then: agreed\n"
    "      - collect: consent\n",
)


@pytest.fixture
def flows_copy(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def write(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def test_shipped_tests_pass_and_cover_every_flow_and_repair_pattern_in_both_languages():
    load = load_flows(FLOWS_DIR, nlu_dir=NLU_DIR)
    assert load.flowset is not None
    cases, problems = read_cases(spec_files(spec_folder(FLOWS_DIR)), load.flowset)
    assert problems == []
    run = run_cases(load.flowset, cases)
    assert [r.case.where for r in run.failed] == []
    flows = set(load.flowset.flows)
    assert flows - run.coverage.flows["nl"] == set()
    assert flows - run.coverage.flows["en"] == set()
    for language in ("nl", "en"):
        assert set(PATTERNS) - run.coverage.patterns[language] == set(), language
    every_step = {(fid, sid) for fid, cf in load.flowset.flows.items() for sid in cf.step_ids}
    assert every_step - run.coverage.steps == set()


def test_a_failure_is_shown_at_its_line_expected_beside_actual(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    failing = write(
        tmp_path / "failing.yml",
        """
        tests:
          - test: Consent comes first
            steps:
              - user: Ik ben ontslagen
                intent: job_loss
                bot: [asks: first_name]
                buttons: [Ja, Nee]
        """,
    )
    assert main(["flows", "test", str(failing)]) == 1
    out = capsys.readouterr().out
    assert f"{failing}:4: FAIL 'Consent comes first' (nl), turn 1 of 1" in out
    header = next(line for line in out.splitlines() if "expected" in line)
    assert header.index("expected") < header.index("actual")
    row = next(line for line in out.splitlines() if "asks first_name" in line)
    assert "<-- not found" in row and '"Hoi! Ik ben de chatbot' in row  # side by side
    assert "1 conversation test: 1 failed" in out


def test_test_files_are_checked_against_the_flows_with_lines(tmp_path, capsys):
    bad = write(
        tmp_path / "bad.yml",
        """
        tests:
          - test: Names that do not exist
            steps:
              - user: hallo
                bot: [text: no_such_text, asks: no_such_slot]
                slots: {no_such_slot: 1}
                flow: no_such_flow
              - button: Ja
                intent: greet
        """,
    )
    assert main(["flows", "test", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:5: error: unknown text 'no_such_text'" in err
    assert f"{bad}:5: error: unknown slot 'no_such_slot'" in err
    assert f"{bad}:7: error: unknown flow 'no_such_flow'" in err
    assert f"{bad}:9:" in err and "no `intent:` here" in err


def test_a_question_asked_again_after_it_was_answered_fails(flows_copy, capsys, monkeypatch):
    """An admin makes the town question always asked: someone who named their town in the
    first message is asked it again."""
    monkeypatch.setenv("COLUMNS", "160")
    edit(
        flows_copy / "intake.yml",
        "      - collect: gemeente\n",
        "      - collect: gemeente\n        ask_before_filling: true\n",
    )
    test = write(
        flows_copy / "tests" / "twice.yml",
        """
        tests:
          - test: A town said in the first message is not asked again
            steps:
              - user: ik woon in Utrecht en ben ontslagen
                intent: job_loss
              - button: Ja
              - user: Sanne
                bot: [asks: work_situation]
        """,
    )
    assert main(["flows", "test", "--dir", str(flows_copy), str(test)]) == 1
    out = capsys.readouterr().out
    assert "asked twice" in out and "asks gemeente again, known since line 4" in out


def test_the_skipped_consent_passes_the_check_but_fails_a_test(flows_copy, capsys):
    edit(flows_copy / "welcome.yml", *SKIP_CONSENT)
    assert check_only(flows_copy, NLU_DIR).live  # every rule is satisfied
    verdict = judge(flows_copy, NLU_DIR)
    assert not verdict.live and verdict.summary.endswith("conversation tests failed")
    assert any(
        "welcome.yml:" in p and "toestemming" in p and "asks consent" in p for p in verdict.problems
    ), verdict.problems
    assert main(["flows", "test", "--dir", str(flows_copy)]) == 1


def test_a_running_bot_keeps_its_flows_when_a_conversation_test_fails(flows_copy, caplog):
    decisions = []
    registry = FlowRegistry(flows_copy, nlu_dir=NLU_DIR, judge=judge, record=decisions.append)
    before = registry.current
    assert registry.live.live and "conversation tests passed" in registry.live.summary
    edit(flows_copy / "welcome.yml", *SKIP_CONSENT)
    with caplog.at_level(logging.ERROR, logger="bot.flows.registry"):
        assert registry.reload_if_changed() is False
    assert registry.current is before
    assert registry.rejected is not None and not registry.rejected.live
    log = caplog.text
    assert "keeping the previous flows" in log and "welcome.yml:" in log and "FAIL" not in log
    assert "'Wie in het eerste bericht al zijn naam noemt" in log
    # The old flows still ask consent of someone who introduced themselves.
    result = turn(
        registry.current,
        ConversationState(),
        Inbound(text="Hoi, ik ben Sanne en ik ben ontslagen"),
        None,
        channel="telegram",
    )
    assert "Vind je het goed" in result.replies[-1].text
    assert [d.live for d in decisions] == [True, False]
    # Fixed again: the new version goes live.
    edit(flows_copy / "welcome.yml", SKIP_CONSENT[1], SKIP_CONSENT[0])
    edit(flows_copy / "system.yml", "organisation: De VAKbeweging", "organisation: De Vakbeweging")
    assert registry.reload_if_changed() is True
    assert registry.current.values["organisation"] == "De Vakbeweging"
    assert registry.rejected is None and [d.live for d in decisions] == [True, False, True]


def test_a_bot_does_not_start_on_flows_whose_tests_fail(flows_copy):
    edit(flows_copy / "welcome.yml", *SKIP_CONSENT)
    with pytest.raises(FlowsInvalid) as info:
        FlowRegistry(flows_copy, judge=judge)
    assert "conversation tests failed" in str(info.value) and "welcome.yml:" in str(info.value)


def test_publish_and_status_say_what_is_live_and_why(flows_copy, tmp_path, capsys, monkeypatch):
    from bot.config import get_settings
    from bot.flowtests.releases import recorder
    from storage.database import create_db_engine, upgrade

    url = f"sqlite:///{tmp_path / 'status.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        upgrade(url)
        engine = create_db_engine(url)
        FlowRegistry(flows_copy, judge=judge, record=recorder(engine, process="bot-1"))
        assert main(["flows", "status", "--dir", str(flows_copy)]) == 0
        out = capsys.readouterr().out
        assert "by bot bot-1 (start): check OK" in out and "are what is live" in out
        edit(flows_copy / "welcome.yml", *SKIP_CONSENT)
        assert main(["flows", "publish", "--dir", str(flows_copy)]) == 1
        captured = capsys.readouterr()
        assert "Not published" in captured.err and "welcome.yml:" in captured.err
        assert main(["flows", "status", "--dir", str(flows_copy)]) == 0
        out = capsys.readouterr().out
        assert "The files on disk are kept out" in out and "conversation tests failed" in out
        assert "welcome.yml:" in out and "by bot bot-1" in out
        engine.dispose()
    finally:
        get_settings.cache_clear()


@pytest.mark.rasa
def test_with_the_real_model_a_different_reading_is_a_failure(
    rasa_url, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "160")
    both = write(
        tmp_path / "model.yml",
        """
        tests:
          - test: The model reads a lost job as a lost job
            steps:
              - user: ik ben gisteren ontslagen en weet niet wat ik moet doen
                intent: job_loss
                bot: [asks: consent]
              - button: Ja
                bot: [asks: first_name]
          - test: A wrong annotation shows what the model read
            steps:
              - user: ik ben gisteren ontslagen en weet niet wat ik moet doen
                intent: training_question
        """,
    )
    assert main(["flows", "test", "--nlu", "rasa", "--rasa-url", rasa_url, str(both)]) == 1
    out = capsys.readouterr().out
    assert f"{both}:11: FAIL 'A wrong annotation" in out
    assert "read as training_question" in out and "the model reads job_loss" in out
    assert "1 failed, 1 passed" in out
