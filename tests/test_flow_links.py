"""The flow language in one shape: one link model walked by the executor, the validator and the
diagram; one validator whose rules all report file:line in a single run."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bot.engine.engine import turn
from bot.engine.messages import Inbound
from bot.engine.state import ConversationState
from bot.flows import validate
from bot.flows.graph import mermaid
from bot.flows.links import ElseLink, IfLink, StaticLink
from bot.flows.loader import findings, load_flows
from bot.flows.problems import Problem
from tests.conversation_helpers import FLOWS_DIR, NLU_DIR


@pytest.fixture
def flows_copy(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, target, ignore=shutil.ignore_patterns("tests"))
    return target


def write(directory: Path, name: str, body: str) -> None:
    (directory / name).write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")


BRANCHING = """
    flows:
      branching:
        description: every way of writing next
        steps:
          - id: start
            next:
              - if: slots.first_name == "Sam"
                then: sam
              - if: slots.first_name == "Ada"
                then: ada
          - say: {nl: Iemand anders, en: Someone else}
            next: END
          - id: sam
            say: {nl: Hoi Sam, en: Hi Sam}
          - id: ada
            say: {nl: Hoi Ada, en: Hi Ada}
            next:
              - if: context.language == "en"
                then: sam
              - else: END
"""


def test_every_way_of_writing_next_is_one_list_of_links(flows_copy):
    write(flows_copy, "branching.yml", BRANCHING)
    result = load_flows(flows_copy)
    assert result.flowset is not None, [str(p) for p in result.errors]
    cf = result.flowset.flows["branching"]
    assert cf.links("start") == (
        IfLink('slots.first_name == "Sam"', "sam"),
        IfLink('slots.first_name == "Ada"', "ada"),
        ElseLink("step_1", implicit=True),  # no condition held: the step below
    )
    assert cf.links("step_1") == (StaticLink("END"),)
    assert cf.links("sam") == (StaticLink("ada", implicit=True),)
    assert cf.links("ada") == (IfLink('context.language == "en"', "sam"), ElseLink("END"))
    # The intake's `link`-free last step ends the flow; quick_intake's branches fall through.
    intake = result.flowset.flows["intake"]
    assert intake.links(intake.step_ids[-1]) == (StaticLink("END", implicit=True),)


def test_executor_and_diagram_follow_the_same_links(flows_copy):
    write(flows_copy, "branching.yml", BRANCHING)
    flows = load_flows(flows_copy).flowset
    assert flows is not None

    def said(first_name: str) -> list[str]:
        state = ConversationState(
            welcomed=True,
            consent=True,
            slots={"first_name": first_name},
        )
        # Start the flow from a button, as a participant would.
        result = turn(flows, state, Inbound(payload="f:branching"), None, channel="t")
        return [r.text for r in result.replies]

    assert said("Sam")[:2] == ["Hoi Sam", "Hoi Ada"]
    assert said("Ada")[0] == "Hoi Ada"
    assert said("Kim")[0] == "Iemand anders"  # the fall-through the diagram draws unlabelled
    diagram = mermaid(flows.flows["branching"])
    assert "    s_start -->|\"slots.first_name == 'Sam'\"| s_sam" in diagram
    assert "    s_start --> s_step_1" in diagram
    assert "    s_ada -->|else| finish" in diagram


def test_all_mistakes_are_reported_in_one_run_with_their_rule(flows_copy):
    write(
        flows_copy,
        "mistakes.yml",
        """
        slots:
          colour:
            type: choice
            ask: {nl: "Welke kleur?", en: "Which colour?"}
        flows:
          mistakes:
            description: several independent mistakes
            steps:
              - collect: colour
                next:
                  - else: END
                  - if: slots.colour == "red"
                    then: END
              - say: {nl: "Hoi", en: "Hi"}
                buttons:
                  - label: {nl: Beide, en: Both}
                    flow: job_loss
                    intent: job_loss
              - id: odd
                next:
                  - if: slots.colour === "red"
                    then: END
        """,
    )
    problems = findings(flows_copy, nlu_dir=NLU_DIR)
    by_rule = {(p.rule, p.line) for p in problems if p.severity == "error"}
    assert ("choice_options", 3) in by_rule
    assert ("next_branches", 11) in by_rule
    assert ("buttons", 16) in by_rule
    assert ("conditions", 21) in by_rule
    assert all(isinstance(p, Problem) and p.file.endswith("mistakes.yml") for p in problems)
    data = next(p for p in problems if p.rule == "conditions").as_dict()
    assert data["line"] == 21 and data["severity"] == "error" and "condition" in data["message"]


def test_a_rule_is_a_small_function(flows_copy):
    """What another engineer does to add a check: one decorated function."""

    def no_exclamations(ctx: validate.Context):
        for src in ctx.sources:
            for path, text in validate.texts_of(src.content):
                if "!" in text.nl:
                    yield validate.at(src, path, "no exclamation marks", "warning")

    registered = validate.rule(no_exclamations)
    try:
        problems = findings(flows_copy)
        found = [p for p in problems if p.rule == "no_exclamations"]
        assert found and all(p.severity == "warning" and p.line for p in found)
        assert load_flows(flows_copy).flowset is not None  # warnings do not block
    finally:
        validate.RULES.remove(registered)


def test_every_rule_has_a_docstring_or_a_name_that_explains_it():
    names = [r.__name__ for r in validate.RULES]
    assert len(names) == len(set(names))
    assert {"reachable", "link_targets", "conditions", "texts_the_code_uses"} <= set(names)
