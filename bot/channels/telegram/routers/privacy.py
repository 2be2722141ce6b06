"""The participant's rights on Telegram: /mijngegevens sends everything held about them as a
JSON document; /verwijder, after a confirmation, erases them everywhere."""

from __future__ import annotations

from bot import privacy
from bot.channels.telegram.callbacks import Privacy, PrivacyChoice
from bot.channels.telegram.outcomes import Document, Outcome, Say, Tell
from bot.channels.telegram.routers import CHANNEL, Router, Turn, UpdateContext
from bot.desk.render import say
from bot.flows.catalogue import Key
from bot.flows.models import Language
from storage import privacy as stored

EXPORT_COMMANDS = frozenset({"/mijngegevens", "/mydata", "/gegevens"})
ERASE_COMMANDS = frozenset({"/verwijder", "/delete", "/verwijderen"})
ERASE, KEEP = PrivacyChoice(Privacy.ERASE), PrivacyChoice(Privacy.KEEP)


class PrivacyRouter(Router):
    def takes(self, turn: Turn) -> bool:
        incoming = turn.incoming
        if incoming.user_id is None or incoming.chat_id is None or not incoming.private:
            return False
        if incoming.press is not None:
            return isinstance(incoming.press.button, PrivacyChoice)
        return incoming.message and incoming.command in EXPORT_COMMANDS | ERASE_COMMANDS

    def route(self, ctx: UpdateContext) -> list[Outcome]:
        incoming = ctx.incoming
        assert incoming.user_id is not None and incoming.chat_id is not None
        external_id, chat_id = str(incoming.user_id), incoming.chat_id
        if incoming.press is not None:
            erase = incoming.press.button == ERASE
            return self._decide(ctx, external_id, chat_id, erase=erase)
        if incoming.command in EXPORT_COMMANDS:
            return self._export(ctx, external_id, chat_id)
        language = self._language(ctx, external_id)
        buttons = [
            (say(ctx.flows, Key.PRIVACY_ERASE_BUTTON, language), ERASE),
            (say(ctx.flows, Key.PRIVACY_KEEP_BUTTON, language), KEEP),
        ]
        text = say(ctx.flows, Key.PRIVACY_CONFIRM_ERASE, language)
        return [Say(chat_id, text, buttons=[buttons])]

    def _language(self, ctx: UpdateContext, external_id: str) -> Language:
        found = privacy.find(ctx.session, channel=CHANNEL, external_id=external_id)
        return "en" if found is not None and found.language == "en" else "nl"

    def _export(self, ctx: UpdateContext, external_id: str, chat_id: int) -> list[Outcome]:
        participant = privacy.find(ctx.session, channel=CHANNEL, external_id=external_id)
        if participant is None:
            return [Say(chat_id, say(ctx.flows, Key.PRIVACY_NOTHING, "nl"))]
        language: Language = "en" if participant.language == "en" else "nl"
        content = privacy.export_json(ctx.session, participant=participant)
        caption = say(ctx.flows, Key.PRIVACY_EXPORT_CAPTION, language)
        return [Document(chat_id, "mijn-gegevens.json", content, caption)]

    def _decide(
        self, ctx: UpdateContext, external_id: str, chat_id: int, *, erase: bool
    ) -> list[Outcome]:
        participant = privacy.find(ctx.session, channel=CHANNEL, external_id=external_id)
        language: Language = "en" if participant and participant.language == "en" else "nl"
        if not erase:
            return [Say(chat_id, say(ctx.flows, Key.PRIVACY_KEPT, language))]
        out: list[Outcome] = []
        if participant is not None:
            notices = privacy.erase(ctx.session, participant=participant, reason="request")
            out.append(Tell(notices))
            engine = ctx.session.get_bind()
            ctx.after_commit.append(lambda: stored.checkpoint(engine))  # type: ignore[arg-type]
        # The confirmation goes out and is then deleted, like the rest of their chat.
        erased = say(ctx.flows, Key.PRIVACY_ERASED, language)
        return [*out, Say(chat_id, erased, ephemeral=True)]
