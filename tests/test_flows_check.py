"""`careerbot flows check` and the loader: problems reported as file:line."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bot.cli import main
from bot.flows.graph import mermaid
from bot.flows.loader import load_flows
from tests.conversation_helpers import FLOWS_DIR, NLU_DIR


@pytest.fixture
def flows_copy(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, target)
    return target


def write(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def messages(directory: Path) -> list[str]:
    return [str(p) for p in load_flows(directory, nlu_dir=NLU_DIR).errors]


def test_shipped_flows_are_clean():
    result = load_flows(FLOWS_DIR, nlu_dir=NLU_DIR)
    assert result.flowset is not None, [str(p) for p in result.problems]
    assert result.errors == []


def test_cli_check_ok_and_exit_codes(flows_copy, capsys):
    assert main(["flows", "check", "--dir", str(flows_copy), "--nlu", str(NLU_DIR)]) == 0
    assert "flows OK" in capsys.readouterr().out
    write(flows_copy, "broken.yml", "flows:\n  x: [\n")
    assert main(["flows", "check", "--dir", str(flows_copy)]) == 1
    assert "broken.yml:" in capsys.readouterr().err


def test_yaml_syntax_error_has_file_and_line(flows_copy):
    write(flows_copy, "bad.yml", "flows:\n  a:\n    description: x\n    steps: [say: {nl: hi}\n")
    [error] = messages(flows_copy)
    assert "bad.yml:" in error and "YAML syntax" in error


def test_schema_error_points_at_the_line(flows_copy):
    write(
        flows_copy,
        "extra.yml",
        """
        flows:
          extra:
            description: test
            steps:
              - say: {nl: Hallo, en: Hello}
              - collect: first_name
                retries: many
              - sya: {nl: typo}
        """,
    )
    errors = messages(flows_copy)
    assert any("extra.yml:7:" in e and "retries" in e for e in errors), errors
    assert any("extra.yml:8:" in e and "unknown field" in e for e in errors), errors


def test_unknown_slot_flow_step_text_and_intent(flows_copy):
    write(
        flows_copy,
        "refs.yml",
        """
        flows:
          refs:
            description: references that do not exist
            trigger:
              intents: [no_such_intent]
            steps:
              - collect: no_such_slot
              - call: no_such_flow
              - say: no_such_text
              - set_slots: {topic: job_loss}
                next: nowhere
        """,
    )
    errors = messages(flows_copy)
    expected = {
        7: "unknown slot 'no_such_slot'",
        8: "unknown flow 'no_such_flow'",
        9: "unknown text 'no_such_text'",
        11: "unknown step 'nowhere'",
    }
    for line, message in expected.items():
        assert any(f"refs.yml:{line}:" in e and message in e for e in errors), (line, errors)
    # An unknown intent alone is reported too.
    write(
        flows_copy,
        "refs.yml",
        """
        flows:
          refs:
            description: an intent the NLU does not know
            trigger:
              intents: [no_such_intent]
            steps:
              - say: {nl: Hoi, en: Hi}
        """,
    )
    assert any("refs.yml:5:" in e and "no_such_intent" in e for e in messages(flows_copy))


def test_unreachable_steps_missing_translations_and_placeholders(flows_copy):
    write(
        flows_copy,
        "lint.yml",
        """
        flows:
          lint:
            description: lint
            steps:
              - say: {nl: "Hoi {first_name}", en: "Hi {frist_name}"}
                next: END
              - say: {nl: Nooit}
        """,
    )
    errors = messages(flows_copy)
    assert any("lint.yml:5:" in e and "frist_name" in e for e in errors), errors
    assert any("lint.yml:7:" in e and "never be reached" in e for e in errors), errors
    assert any("lint.yml:7:" in e and "English translation" in e for e in errors), errors


def test_forbidden_questions_are_rejected(flows_copy):
    write(
        flows_copy,
        "bsn.yml",
        """
        slots:
          bsn:
            type: text
            ask: {nl: "Wat is je BSN?", en: "What is your BSN?"}
        """,
    )
    assert any("bsn.yml:4:" in e and "never ask" in e for e in messages(flows_copy))


def test_duplicate_definitions_across_files(flows_copy):
    write(flows_copy, "dup.yml", "texts:\n  yes: {nl: Jawel, en: Yep}\n")
    [error] = messages(flows_copy)
    assert "texts.yes is already defined" in error
    assert "dup.yml" in error and "texts.yml" in error


def test_graph_prints_mermaid(capsys):
    assert main(["flows", "graph", "flex_contract"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD")
    assert '-->|"slots.wants_coach == true"| s_intake' in out
    result = load_flows(FLOWS_DIR)
    assert result.flowset is not None
    assert "call intake" in mermaid(result.flowset.flows["job_loss"])
    assert main(["flows", "graph", "nope"]) == 1


def test_a_text_the_code_uses_must_exist_in_both_languages(flows_copy):
    texts = flows_copy / "texts.yml"
    body = texts.read_text(encoding="utf-8")
    texts.write_text(
        body.replace(
            "    en: I am afraid I have no answer to that question. The coach can tell you more "
            "about it later.\n",
            "",
        ),
        encoding="utf-8",
    )
    errors = messages(flows_copy)
    assert any("question_unknown" in e and "English" in e for e in errors), errors
    texts.write_text(body.replace("  corrected:\n", "  corrected_renamed:\n"), encoding="utf-8")
    assert any("'corrected' (used by the bot) is missing" in e for e in messages(flows_copy))


def test_waiting_steps_have_stable_ids(flows_copy):
    write(
        flows_copy,
        "twice.yml",
        """
        flows:
          twice:
            description: asks one slot twice without ids
            steps:
              - say: {nl: Hoi, en: Hi}
              - collect: first_name
              - collect: first_name
                next: step_0
        """,
    )
    errors = messages(flows_copy)
    assert any("duplicate step id 'first_name'" in e and "twice.yml:7" in e for e in errors)
    assert any("'step_0' is a position" in e for e in errors)


def test_adding_a_step_never_moves_a_running_conversation(flows_copy):
    """A new line above a question: the conversation stays at the same question."""
    from bot.engine.engine import turn
    from bot.engine.messages import Inbound
    from bot.engine.state import ConversationState, Frame
    from bot.flows.registry import FlowRegistry

    state = ConversationState(
        welcomed=True,
        consent=True,
        stack=[Frame(flow="intake", step="sector")],
        slots={"first_name": "Sam"},
    )
    before = turn(
        FlowRegistry(flows_copy).current, state, Inbound(text="/start"), None, channel="t"
    )
    intake = flows_copy / "intake.yml"
    intake.write_text(
        intake.read_text(encoding="utf-8").replace(
            "      - collect: first_name\n",
            "      - say: {nl: Nog even dit., en: Just this.}\n      - collect: first_name\n",
            1,
        ),
        encoding="utf-8",
    )
    after = turn(FlowRegistry(flows_copy).current, state, Inbound(text="/start"), None, channel="t")
    assert before.replies[-1].text == after.replies[-1].text
    assert "Wat voor werk" in after.replies[-1].text


def test_a_synonym_of_two_options_and_an_unknown_slot_intent_are_errors(flows_copy):
    write(
        flows_copy,
        "extra_slot.yml",
        """
        slots:
          shift:
            type: choice
            intents: [no_such_intent]
            options:
              - value: early
                label: {nl: Vroeg, en: Early}
                synonyms: [ochtend, vroeg op]
              - value: late
                label: {nl: Laat, en: Late}
                synonyms: [avond, Vroeg Op]
                hours: [17, 24]
        """,
    )
    errors = messages(flows_copy)
    assert any(
        "extra_slot.yml:11" in e and "'vroeg op' names both option 'early' and option 'late'" in e
        for e in errors
    ), errors
    assert any("extra_slot.yml:4" in e and "'no_such_intent'" in e for e in errors), errors


def test_option_hours_and_other_are_checked(flows_copy):
    body = """
        slots:
          shift:
            type: choice
            options:
              - value: early
                label: {nl: Vroeg, en: Early}
                %s
              - value: late
                label: {nl: Laat, en: Late}
                other: true
        """
    write(flows_copy, "extra_slot.yml", body % "hours: [12, 6]")
    assert "hours: [from, to]" in " ".join(messages(flows_copy))
    write(flows_copy, "extra_slot.yml", body % "other: true")
    assert "only one option can be `other: true`" in " ".join(messages(flows_copy))
