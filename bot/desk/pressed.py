"""A button a participant pressed, as they read it: the conversation log keeps the button's
payload ("[v:tijdelijk]", "[f:job_loss]"), a coach reads its label ("Tijdelijk", "Ik verlies
(mogelijk) mijn werk") in the participant's language. Never the raw payload."""

from __future__ import annotations

from bot.desk.render import say
from bot.engine.dialogue import P_AGAIN, P_CMD, P_DOUBT, P_FIX, P_FLOW, P_INTENT, P_LANG, P_VALUE
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from bot.flows.models import CollectStep, Language

LANGUAGES = {"nl": "Nederlands", "en": "English"}
COMMANDS = {
    "skip": Key.SKIP_QUESTION,
    "chat": Key.CONTACT_BY_CHAT,
    "handover": Key.HAND_OVER_NOW,
    "retry": Key.TRY_AGAIN,
    "menu": Key.SOMETHING_ELSE,
    "back": Key.SOMETHING_ELSE,
}


def logged_payload(text: str) -> str | None:
    """The payload of a logged button press ("[v:yes]" → "v:yes"), None for typed text."""
    if len(text) > 2 and text[0] == "[" and text[-1] == "]" and ":" in text:
        return text[1:-1]
    return None


def pressed_label(flows: FlowSet, payload: str, *, flow: str | None, language: Language) -> str:
    """The label of the button that sent `payload`, in `language` (`flow`: the flow the
    conversation was in, whose questions are looked at first)."""
    if payload.startswith((P_VALUE, P_DOUBT)):
        return _option(flows, payload.partition(":")[2], flow, language)
    if payload.startswith(P_FLOW):
        return _flow(flows, payload[len(P_FLOW) :], language)
    if payload.startswith(P_INTENT):
        intent = payload[len(P_INTENT) :]
        found = flows.flow_for_intent(intent, 1.0) if intent else None
        return _flow(flows, found.id, language) if found is not None else intent
    if payload.startswith(P_FIX):
        slot = flows.slots.get(payload[len(P_FIX) :])
        return slot.label.get(language) if slot and slot.label else payload[len(P_FIX) :]
    if payload.startswith(P_LANG):
        return LANGUAGES.get(payload[len(P_LANG) :], payload[len(P_LANG) :])
    if payload.startswith(P_CMD):
        key = COMMANDS.get(payload[len(P_CMD) :])
        return say(flows, key, language) if key is not None else payload[len(P_CMD) :]
    if payload.startswith(P_AGAIN):
        return say(flows, Key.READ_AGAIN, language)
    return payload.partition(":")[2] or payload


def _option(flows: FlowSet, value: str, flow: str | None, language: Language) -> str:
    """A choice's label: the options of the flow's own questions first, then any slot's; a
    yes or no is "Ja" / "Nee"; a value that is its own label (a guess checked back) as is."""
    compiled = flows.flows.get(flow) if flow else None
    asked = (
        [s.collect for s in compiled.flow.steps if isinstance(s, CollectStep)] if compiled else []
    )
    for name in [*asked, *flows.slots]:
        slot = flows.slots.get(name)
        option = next((o for o in slot.options if o.value == value), None) if slot else None
        if option is not None:
            return option.label.get(language)
    if value in ("yes", "no"):
        return say(flows, Key.YES if value == "yes" else Key.NO, language)
    return value


def _flow(flows: FlowSet, flow_id: str, language: Language) -> str:
    item = next((m for m in flows.menu if m.flow == flow_id), None)
    if item is not None:
        return item.label.get(language)
    compiled = flows.flows.get(flow_id)
    if compiled is not None and compiled.flow.label is not None:
        return compiled.flow.label.get(language)
    if flow_id == flows.settings.human_flow:
        return say(flows, Key.OFFER_HUMAN_BUTTON, language)
    return flow_id
