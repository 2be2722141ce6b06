"""Everyone else: a participant's turn with the conversation service (engine and flows). The
last router: it takes every update the others left.

Group chats never get the participant experience; non-text messages get a polite request
to type. A typed message has a slow half (the NLU, outside any transaction); a press has none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from bot.channels.telegram.callbacks import Choice, StoredChoice
from bot.channels.telegram.incoming import Incoming
from bot.channels.telegram.outcomes import Answer, Outcome, Say, Tell
from bot.channels.telegram.routers import CHANNEL, MUST_READ, Router, Turn, UpdateContext
from bot.conversation import NeedsNlu, Prepared, TurnService
from bot.engine.messages import Inbound
from bot.engine.render import both_languages
from bot.engine.state import ConversationState
from bot.flows.catalogue import Key
from storage import telegram_state


def _typed(incoming: Incoming) -> bool:
    return incoming.message and incoming.private and bool(incoming.text)


def _pressed(incoming: Incoming) -> Choice | StoredChoice | None:
    press = incoming.press
    if press is None or press.message_id is None or not incoming.private:
        return None
    return press.button if isinstance(press.button, Choice | StoredChoice) else None


class ParticipantRouter(Router):
    def __init__(self, conversation: TurnService) -> None:
        self._conversation = conversation

    def takes(self, turn: Turn) -> bool:
        return True

    def slow(self, incoming: Incoming) -> bool:
        return _typed(incoming) and incoming.user_id is not None

    def holds(self, incoming: Incoming) -> bool:
        return _pressed(incoming) is not None

    def read(self, session: Session, turn: Turn) -> ConversationState | None:
        """Their stored state, which decides whether the text needs the NLU."""
        incoming = turn.incoming
        if not self.slow(incoming):
            return None
        return self._conversation.peek(session, CHANNEL, str(incoming.user_id))

    def recall(self, turn: Turn, state: ConversationState | None) -> Any:
        if not self.slow(turn.incoming):
            return None
        return state if state is not None else MUST_READ

    async def prepare(
        self, turn: Turn, read: ConversationState | None, hold: Callable[[int], None]
    ) -> Prepared | None:
        incoming = turn.incoming
        if not self.slow(incoming) or incoming.chat_id is None:
            return None
        hold(incoming.chat_id)
        inbound = Inbound(text=incoming.cleaned)
        return await self._conversation.prepare(CHANNEL, str(incoming.user_id), inbound, read)

    def route(self, ctx: UpdateContext) -> list[Outcome]:
        incoming = ctx.incoming
        chat_id = incoming.chat_id
        if chat_id is None or incoming.user_id is None:
            return []
        external_id = str(incoming.user_id)
        if incoming.message and incoming.private and not incoming.text:
            return [Say(chat_id, both_languages(ctx.flows, Key.NON_TEXT_MESSAGE))]
        prepared = self._prepared(ctx, external_id)
        if prepared is None:
            return []  # edits, channel posts, group chatter, stray buttons: nothing to do
        outcome = self._conversation.apply(ctx.session, prepared)
        return [
            Answer(chat_id, outcome.replies, outcome.confirms_case),
            Tell(outcome.notices),
        ]

    def _prepared(self, ctx: UpdateContext, external_id: str) -> Prepared | None:
        incoming = ctx.incoming
        if _typed(incoming):
            prepared: Any = ctx.prepared
            inbound = Inbound(text=incoming.cleaned)
            if (
                not isinstance(prepared, Prepared)
                or prepared.external_id != external_id
                or prepared.inbound != inbound
            ):
                raise NeedsNlu  # not prepared as a participant turn: the pipeline prepares it
            return prepared
        button = _pressed(incoming)
        payload: str | None = None
        if isinstance(button, Choice):
            payload = button.payload
        elif isinstance(button, StoredChoice):
            payload = telegram_state.load_callback_payload(ctx.session, key=button.key)
        if payload is None:
            return None
        # A press needs no NLU: nothing to prepare outside the transaction.
        return Prepared(CHANNEL, external_id, Inbound(payload=payload), None, asked_nlu=False)
