"""How a test's expectations are matched against what the bot did in one turn.

Each check returns `Mismatch`es: what the test expected and what actually happened, as short
lines for the side-by-side report. A text is matched by its template: the words as written,
any value where a {placeholder} stands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.engine.messages import Button, Reply
from bot.engine.render import display_value
from bot.engine.state import JsonScalar
from bot.flows.catalogue import PLACEHOLDER
from bot.flows.flowset import FlowSet
from bot.flows.models import CollectStep, Language, Text
from bot.flowtests.spec import (
    NO_FLOW,
    AskReply,
    ReplyExpectation,
    StepReply,
    TextReply,
    step_text,
)


@dataclass(frozen=True)
class Mismatch:
    what: str  # "bot", "buttons", "slots", ...
    expected: tuple[str, ...]
    actual: tuple[str, ...]


# -- texts -------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _template(body: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(body)
    # split() alternates literal text and placeholder names
    pattern = "".join(
        re.escape(_squash(part)) if i % 2 == 0 else r".*?" for i, part in enumerate(parts)
    )
    return re.compile(pattern, re.DOTALL)


def _squash(text: str) -> str:
    return " ".join(text.split())


def text_in(reply: str, text: Text, language: Language) -> bool:
    return bool(_template(_squash(text.get(language))).search(_squash(reply)))


def questions_for(flows: FlowSet, slot: str) -> list[Text]:
    """Every wording of the question for `slot`: the slot's own and each step's."""
    found: list[Text] = []
    definition = flows.slots.get(slot)
    if definition is not None and definition.ask is not None:
        found.append(flows.text(definition.ask))
    for cf in flows.flows.values():
        for step in cf.flow.steps:
            if isinstance(step, CollectStep) and step.collect == slot and step.ask is not None:
                found.append(flows.text(step.ask))
    return found


def describe(item: ReplyExpectation) -> str:
    if isinstance(item, TextReply):
        return f"text {item.text}"
    if isinstance(item, AskReply):
        return f"asks {item.asks}"
    if isinstance(item, StepReply):
        return f"step {item.step}"
    return f'"{item}"'


def _matches(flows: FlowSet, item: ReplyExpectation, reply: str, language: Language) -> bool:
    if isinstance(item, TextReply):
        return text_in(reply, flows.texts[item.text], language)
    if isinstance(item, AskReply):
        return any(text_in(reply, q, language) for q in questions_for(flows, item.asks))
    if isinstance(item, StepReply):
        text = step_text(flows, item.step)
        return text is not None and text_in(reply, text, language)
    return _squash(item).lower() in _squash(reply).lower()


def check_replies(
    flows: FlowSet,
    expected: Sequence[ReplyExpectation],
    replies: Sequence[Reply],
    language: Language,
) -> Mismatch | None:
    """The expected replies, in this order; one reply may hold several ("back to my question:"
    and the question), and replies nobody mentioned may come in between."""
    position = 0
    for n, item in enumerate(expected):
        found = next(
            (
                i
                for i in range(position, len(replies))
                if _matches(flows, item, replies[i].text, language)
            ),
            None,
        )
        if found is None:
            left = [f"{describe(e)}" for e in expected[:n]]
            left.append(f"{describe(item)}   <-- not found")
            left += [describe(e) for e in expected[n + 1 :]]
            right = [f'"{r.text}"' for r in replies] or ["(no reply)"]
            other: Language = "en" if language == "nl" else "nl"
            if any(_matches(flows, item, r.text, other) for r in replies):
                right.append(f"(it was said in {other}; the test expects {language})")
            return Mismatch("bot", tuple(left), tuple(right))
        position = found
    return None


# -- buttons -----------------------------------------------------------------------------------


def offered(replies: Iterable[Reply]) -> list[Button]:
    return [b for r in replies for b in r.buttons]


def check_buttons(expected: Sequence[str], replies: Sequence[Reply]) -> Mismatch | None:
    labels = [b.label for b in offered(replies)]
    if [_squash(e).lower() for e in expected] == [_squash(a).lower() for a in labels]:
        return None
    # One button a line, so that a difference in one of many is easy to see.
    return Mismatch(
        "buttons",
        tuple(f"[{e}]" for e in expected) or ("(none)",),
        tuple(f"[{a}]" for a in labels) or ("(none)",),
    )


def find_button(label: str, buttons: Sequence[Button]) -> Button | str:
    """The button to press: its label, else the one label that starts with the text, else the
    one that contains it."""
    wanted = _squash(label).lower()
    exact = [b for b in buttons if _squash(b.label).lower() == wanted]
    if exact:
        return exact[0]
    starting = [b for b in buttons if _squash(b.label).lower().startswith(wanted)]
    if len(starting) == 1:
        return starting[0]
    partial = [b for b in buttons if wanted in _squash(b.label).lower()]
    if len(partial) == 1:
        return partial[0]
    shown = ", ".join(b.label for b in buttons) or "no buttons"
    if partial:
        return f"several buttons contain {label!r}: {shown}"
    return f"no button {label!r} (offered: {shown})"


# -- slots and the flow ------------------------------------------------------------------------


def shown(value: JsonScalar) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def slot_matches(
    flows: FlowSet, name: str, expected: object, actual: JsonScalar, language: Language
) -> bool:
    if expected is None or (isinstance(expected, str) and expected.lower() in NO_FLOW):
        return actual is None
    if actual is None:
        return False
    if expected == actual and type(expected) is type(actual):
        return True
    text = _squash(str(expected))
    if isinstance(expected, bool):
        text = "true" if expected else "false"
    candidates = {shown(actual), display_value(flows, flows.slots[name], actual, language)}
    return any(text == _squash(c) for c in candidates)


def check_slots(
    flows: FlowSet, expected: dict[str, object], known: dict[str, JsonScalar], language: Language
) -> Mismatch | None:
    wrong = [
        name
        for name, value in expected.items()
        if not slot_matches(flows, name, value, known.get(name), language)
    ]
    if not wrong:
        return None
    left, right = [], []
    for name in wrong:
        value = known.get(name)
        left.append(f"{name}: {_plain(expected[name])}")
        as_shown = (
            display_value(flows, flows.slots[name], value, language) if value is not None else ""
        )
        extra = f" (shown as {as_shown})" if as_shown and as_shown != shown(value) else ""
        right.append(f"{name}: {shown(value)}{extra}")
    return Mismatch("slots", tuple(left), tuple(right))


def _plain(value: object) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stack_text(frames: Sequence[str]) -> str:
    if not frames:
        return "none"
    if len(frames) == 1:
        return frames[0]
    return f"{frames[-1]} (called from {' < '.join(reversed(frames[:-1]))})"


def check_flow(expected: str | None, frames: Sequence[str]) -> Mismatch | None:
    active = frames[-1] if frames else None
    wanted = None if expected is None or expected.lower() in NO_FLOW else expected
    if wanted == active:
        return None
    return Mismatch("flow", (wanted or "none",), (stack_text(frames),))
