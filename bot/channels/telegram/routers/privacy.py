"""The participant's rights on Telegram: /mijngegevens sends everything held about them as a
JSON document; /verwijder, after a confirmation, erases them everywhere."""

from __future__ import annotations

from telegram import Message
from telegram.constants import ChatType

from bot import privacy
from bot.channels.telegram import render
from bot.channels.telegram.routers import CHANNEL, UpdateContext
from bot.desk.render import say
from bot.flows.catalogue import Key
from bot.flows.models import Language
from storage import privacy as stored
from storage.telegram_state import Outgoing

EXPORT_COMMANDS = frozenset({"/mijngegevens", "/mydata", "/gegevens"})
ERASE_COMMANDS = frozenset({"/verwijder", "/delete", "/verwijderen"})
ERASE, KEEP = "g:erase", "g:keep"


class PrivacyRouter:
    def route(self, ctx: UpdateContext) -> list[Outgoing] | None:
        user, chat = ctx.update.effective_user, ctx.update.effective_chat
        if user is None or chat is None or chat.type != ChatType.PRIVATE:
            return None
        query = ctx.update.callback_query
        if query is not None:
            if query.data not in (ERASE, KEEP):
                return None
            return self._decide(ctx, str(user.id), chat.id, erase=query.data == ERASE)
        message = ctx.update.message
        if not isinstance(message, Message) or not message.text:
            return None
        command = message.text.split()[0].split("@")[0].lower()
        if command in EXPORT_COMMANDS:
            return self._export(ctx, str(user.id), chat.id)
        if command in ERASE_COMMANDS:
            language = self._language(ctx, str(user.id))
            markup = render.keyboard(
                [
                    [
                        (say(ctx.flows, Key.PRIVACY_ERASE_BUTTON, language), ERASE),
                        (say(ctx.flows, Key.PRIVACY_KEEP_BUTTON, language), KEEP),
                    ]
                ]
            )
            text = say(ctx.flows, Key.PRIVACY_CONFIRM_ERASE, language)
            return render.plain_messages(chat.id, text, markup=markup)
        return None

    def _language(self, ctx: UpdateContext, external_id: str) -> Language:
        found = privacy.find(ctx.session, channel=CHANNEL, external_id=external_id)
        return "en" if found is not None and found.language == "en" else "nl"

    def _export(self, ctx: UpdateContext, external_id: str, chat_id: int) -> list[Outgoing]:
        participant = privacy.find(ctx.session, channel=CHANNEL, external_id=external_id)
        if participant is None:
            return render.plain_messages(chat_id, say(ctx.flows, Key.PRIVACY_NOTHING, "nl"))
        language: Language = "en" if participant.language == "en" else "nl"
        content = privacy.export_json(ctx.session, participant=participant)
        caption = say(ctx.flows, Key.PRIVACY_EXPORT_CAPTION, language)
        return [
            render.document(
                chat_id, filename="mijn-gegevens.json", content=content, caption=caption
            )
        ]

    def _decide(
        self, ctx: UpdateContext, external_id: str, chat_id: int, *, erase: bool
    ) -> list[Outgoing]:
        participant = privacy.find(ctx.session, channel=CHANNEL, external_id=external_id)
        language: Language = "en" if participant and participant.language == "en" else "nl"
        if not erase:
            return render.plain_messages(chat_id, say(ctx.flows, Key.PRIVACY_KEPT, language))
        out: list[Outgoing] = []
        if participant is not None:
            notices = privacy.erase(ctx.session, participant=participant, reason="request")
            out += render.notices(ctx.flows, notices, coordinator_chat_id=ctx.coordinator_chat_id)
            engine = ctx.session.get_bind()
            ctx.after_commit.append(lambda: stored.checkpoint(engine))  # type: ignore[arg-type]
        # The confirmation goes out and is then deleted, like the rest of their chat.
        confirmation = render.plain_messages(chat_id, say(ctx.flows, Key.PRIVACY_ERASED, language))
        return out + [
            Outgoing(m.chat_id, m.method, m.params, kind=render.EPHEMERAL_KIND)
            for m in confirmation
        ]
