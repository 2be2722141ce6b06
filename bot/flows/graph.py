"""`careerbot flows graph FLOW`: a Mermaid flowchart of one flow."""

from __future__ import annotations

from bot.flows.flowset import CompiledFlow
from bot.flows.models import (
    END,
    ActionStep,
    CallStep,
    CollectStep,
    ElseBranch,
    IfBranch,
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
    def node(sid: str) -> str:
        return "finish" if sid == END else f"s_{sid}"

    lines = ["flowchart TD", f'    START(["{cf.id}"]) --> {node(cf.step_ids[0])}']
    for sid, step in zip(cf.step_ids, cf.flow.steps, strict=True):
        shape = ('{{"%s"}}' if isinstance(step, CollectStep) else '["%s"]') % _escape(_label(step))
        lines.append(f"    {node(sid)}{shape}")
        nxt = step.next
        if isinstance(step, LinkStep) and nxt is None:
            lines.append(f"    {node(sid)} -.-> finish")
        elif nxt is None:
            lines.append(f"    {node(sid)} --> {node(cf.following(sid))}")
        elif isinstance(nxt, str):
            lines.append(f"    {node(sid)} --> {node(nxt)}")
        else:
            for branch in nxt:
                if isinstance(branch, IfBranch):
                    lines.append(
                        f'    {node(sid)} -->|"{_escape(branch.if_)}"| {node(branch.then)}'
                    )
                elif isinstance(branch, ElseBranch):
                    lines.append(f"    {node(sid)} -->|else| {node(branch.else_)}")
            if not isinstance(nxt[-1], ElseBranch):
                lines.append(f"    {node(sid)} --> {node(cf.following(sid))}")
    lines.append("    finish([END])")
    return "\n".join(lines) + "\n"
