"""`careerbot flows graph FLOW`: a Mermaid flowchart of one flow."""

from __future__ import annotations

from bot.flows.flowset import CompiledFlow
from bot.flows.links import ElseLink, IfLink
from bot.flows.models import (
    END,
    ActionStep,
    CallStep,
    CollectStep,
    LinkStep,
    SayStep,
    SetSlotsStep,
    Step,
)


def _label(step: Step) -> str:
    if isinstance(step, CollectStep):
        return f"ask {step.collect}"
    if isinstance(step, SayStep):
        text = step.say if isinstance(step.say, str) else step.say.nl
        return "say: " + (text[:40] + "…" if len(text) > 40 else text)
    if isinstance(step, ActionStep):
        return f"action {step.action.value}"
    if isinstance(step, SetSlotsStep):
        return "set " + ", ".join(step.set_slots)
    if isinstance(step, CallStep):
        return f"call {step.call}"
    if isinstance(step, LinkStep):
        return f"link {step.link}"
    return "branch"


def _escape(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


def mermaid(cf: CompiledFlow) -> str:
    """The flow's steps as nodes (questions as hexagons) and its links (links.py) as arrows:
    a condition on its arrow, a hand-over (`link:`) as a dotted arrow to the end."""

    def node(sid: str) -> str:
        return "finish" if sid == END else f"s_{sid}"

    lines = ["flowchart TD", f'    START(["{cf.id}"]) --> {node(cf.step_ids[0])}']
    for sid, step in zip(cf.step_ids, cf.flow.steps, strict=True):
        shape = ('{{"%s"}}' if isinstance(step, CollectStep) else '["%s"]') % _escape(_label(step))
        lines.append(f"    {node(sid)}{shape}")
        links = cf.links(sid)
        if not links:
            lines.append(f"    {node(sid)} -.-> finish")
        for link in links:
            if isinstance(link, IfLink):
                arrow = f'-->|"{_escape(link.condition)}"|'
            elif isinstance(link, ElseLink) and not link.implicit:
                arrow = "-->|else|"
            else:
                arrow = "-->"
            lines.append(f"    {node(sid)} {arrow} {node(link.target)}")
    lines.append("    finish([END])")
    return "\n".join(lines) + "\n"
