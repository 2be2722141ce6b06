"""One turn in progress: the state being changed, and the replies and effects it produces.

Shared by the command processor and the flow executor; holds no I/O, only what the turn says.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.engine.effects import Effect
from bot.engine.messages import Button, Reply
from bot.engine.render import render
from bot.engine.state import ConversationState, JsonScalar
from bot.flows import trace
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from bot.flows.models import Language, TextRef

# Button payload prefixes (callback data): short, so they fit Telegram's 64 bytes.
P_VALUE = "v:"  # an answer to the pending question
P_INTENT = "i:"  # as if the NLU recognised this intent with certainty
P_FLOW = "f:"  # start this flow
P_FIX = "fix:"  # correct this slot at a summary
P_DOUBT = "d:"  # keep (d:yes) or drop (d:no) a value that was checked back
P_LANG = "lang:"
P_CMD = "cmd:"  # menu, cancel, retry, skip, handover, chat
P_AGAIN = "again:"  # show this long text again


class Dialogue:
    def __init__(self, flows: FlowSet, state: ConversationState, channel: str) -> None:
        self.flows = flows
        self.state = state
        self.channel = channel
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []
        # A question was answered in between an answer and the next question: that question
        # comes with a short line back ("Dan verder met mijn vragen:"). This turn only.
        self.onward = False

    @property
    def lang(self) -> Language:
        return self.state.language

    def text(self, ref: Key | TextRef, extra: Mapping[str, str] | None = None) -> str:
        if isinstance(ref, Key):
            trace.said(ref)
        return render(self.flows, ref, self.lang, self.state.known(), extra)

    def say(self, text: str, buttons: tuple[Button, ...] = ()) -> None:
        self.replies.append(Reply(text, buttons))

    def say_key(self, key: Key, buttons: tuple[Button, ...] = (), **extra: str) -> None:
        self.say(self.text(key, extra), buttons)

    def menu_buttons(self) -> tuple[Button, ...]:
        return tuple(
            Button(item.label.get(self.lang), P_FLOW + item.flow)
            for item in self.flows.menu
            if item.flow in self.flows.flows
        )

    def human_button(self) -> Button:
        return Button(self.text(Key.OFFER_HUMAN_BUTTON), P_FLOW + self.flows.settings.human_flow)

    def yes_no_buttons(self, prefix: str = P_VALUE) -> tuple[Button, ...]:
        return (
            Button(self.text(Key.YES), prefix + "yes"),
            Button(self.text(Key.NO), prefix + "no"),
        )

    def remember(self, values: Mapping[str, JsonScalar]) -> None:
        """Keep what the participant said. Personal values wait in `heard` until consent."""
        for name, value in values.items():
            slot = self.flows.slots.get(name)
            if slot is not None and slot.personal and not self.state.consent:
                self.state.heard[name] = value
            else:
                self.state.slots[name] = value

    def context(self) -> dict[str, object]:
        return {
            "language": self.lang,
            "consent": self.state.consent,
            "channel": self.channel,
            "nested": len(self.state.stack) > 1,
            "handed_off": self.state.handed_off,
        }
