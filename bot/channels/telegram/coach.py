"""Coaches on Telegram: the handoff notification, Accept/Decline, case commands and the relay.

Coach commands (only for active coaches, only on their own cases):
  /zaken                 open cases
  /zaak N                one case
  /bericht N tekst       write to the participant (or: reply to a case message)
  /terug N               hand the participant back to the bot
  /afsluiten N uitkomst  close the case with an outcome

Anyone who is not an active coach falls through to the participant experience and learns
nothing: a case that is not yours and a case that does not exist give the same answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Message, Update
from telegram.constants import ChatType

from bot.channels.telegram import callbacks, cards, render
from bot.channels.telegram.outbox import OutboxDrainer
from bot.channels.telegram.ports import CHANNEL
from bot.channels.telegram.text import escape
from bot.engine.render import both_languages
from bot.flows.catalogue import Key
from bot.flows.registry import FlowSource
from bot.handoff import CaseView
from storage import coach_desk as desk
from storage import telegram_state as state
from storage.database import session_scope
from storage.models import Case, CaseStatus, Coach
from storage.participants import get_participant
from storage.telegram_state import Outgoing

log = logging.getLogger(__name__)

ACCEPT = "acc"
DECLINE = "dec"

COACH_HELP = (
    "<b>Coach-commando's</b>\n"
    "/zaken · je open zaken\n"
    "/zaak N · één zaak bekijken\n"
    "/bericht N tekst · de deelnemer schrijven (of antwoord op het bericht van de zaak)\n"
    "/terug N · de deelnemer teruggeven aan de bot\n"
    "/afsluiten N uitkomst · afsluiten, bv. <i>werk gevonden</i>, <i>scholing gestart</i>, "
    "<i>geen contact</i>"
)
NOT_YOURS = "Zaak #{n} staat niet (meer) op jouw naam."
ONLY_TEXT_TO_PARTICIPANT = "Alleen tekstberichten worden doorgestuurd naar de deelnemer."


def ref_of(case_id: int) -> str:
    return f"case:{case_id}"


def case_id_of(ref: str | None) -> int | None:
    if ref and ref.startswith("case:") and ref[5:].isdigit():
        return int(ref[5:])
    return None


def coach_keyboard(case_id: int) -> dict[str, Any]:
    return render.keyboard(
        [
            [
                ("Aannemen", callbacks.coach_data(ACCEPT, case_id)),
                ("Afwijzen", callbacks.coach_data(DECLINE, case_id)),
            ]
        ]
    )


def card_of(case: Case) -> cards.CaseCard:
    assert case.id is not None
    return cards.CaseCard.from_summary(
        case_id=case.id, region_code=case.region_code, status=case.status, summary=case.summary
    )


def participant_chat(session: Session, case: Case) -> tuple[int, str] | None:
    """(Telegram chat id, language) of the case's participant, if they talk to us on Telegram."""
    participant = desk.participant_of(session, case=case)
    if participant is None or participant.channel != CHANNEL:
        return None
    if not participant.external_id.lstrip("-").isdigit():
        return None
    return int(participant.external_id), case.language or participant.language


class TelegramNotifier:
    """`bot.handoff.HandoffNotifier` for Telegram: queue the case for the coach or coordinator."""

    def __init__(self, *, coordinator_chat_id: int | None) -> None:
        self._coordinator = coordinator_chat_id
        self._engine: Engine | None = None
        self._drainer: OutboxDrainer | None = None

    def bind(self, *, engine: Engine, drainer: OutboxDrainer) -> None:
        """Database and drainer exist only once the conversation service and bot do, and those
        need the notifier first."""
        self._engine = engine
        self._drainer = drainer

    async def case_created(self, case: CaseView) -> None:
        card = cards.CaseCard(
            case_id=case.case_id,
            region_code=case.region_code,
            region_name=case.region_name,
            status=CaseStatus.ASSIGNED if case.coach else CaseStatus.NEW,
            summary=tuple(
                cards.CardLine(line.slot, line.label, line.value, line.raw, line.role or "")
                for line in case.summary
            ),
        )
        if case.coach is not None:
            outgoing = render.text_messages(
                case.coach.telegram_id,
                cards.new_case_for_coach(card),
                markup=coach_keyboard(case.case_id),
                ref=ref_of(case.case_id),
            )
        else:
            chat = case.coordinator_chat_id or self._coordinator
            if chat is None:
                log.warning("case %d has no coach and COORDINATOR_CHAT_ID is not set", case.case_id)
                return
            reason = (
                "Geen regio bekend."
                if not case.region_code
                else "Geen coach beschikbaar in deze regio."
            )
            outgoing = render.text_messages(
                chat, cards.new_case_for_coordinator(card, reason), ref=ref_of(case.case_id)
            )
        if self._engine is None:
            raise RuntimeError("TelegramNotifier used before bind()")
        with Session(self._engine) as session:
            state.enqueue(session=session, outgoing=outgoing)
        if self._drainer is not None:
            for chat_id in {item.chat_id for item in outgoing}:
                self._drainer.wake(chat_id)


class CoachDesk:
    """Router for active coaches (see the module docstring)."""

    def __init__(
        self, *, engine: Engine, flows: FlowSource, coordinator_chat_id: int | None
    ) -> None:
        self._engine = engine
        self._flows = flows
        self._coordinator = coordinator_chat_id

    async def route(self, update: Update) -> Sequence[Outgoing] | None:
        user = update.effective_user
        if user is None:
            return None
        query = update.callback_query
        if query is not None:
            parsed = callbacks.parse(query.data)
            if parsed.kind != "coach":
                return None
            return self._button(user.id, parsed)
        message = update.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return None
        with session_scope(self._engine) as session:
            coach = desk.coach_by_telegram_id(session, telegram_id=user.id)
            if coach is None:
                return None
            return self._message(session, coach, message)

    # -- buttons -----------------------------------------------------------------------------

    def _button(self, user_id: int, parsed: callbacks.Parsed) -> list[Outgoing]:
        with session_scope(self._engine) as session:
            coach = desk.coach_by_telegram_id(session, telegram_id=user_id)
            if coach is None or coach.id is None:
                return []  # not a coach (or deactivated): nothing to see here
            case = desk.case_of_coach(session, case_id=parsed.case_id, coach_id=coach.id)
            if case is None or case.status not in (CaseStatus.ASSIGNED, CaseStatus.ACCEPTED):
                return self._to_coach(coach, NOT_YOURS.format(n=parsed.case_id))
            if parsed.verb == ACCEPT:
                return self._accept(session, coach, case)
            if parsed.verb == DECLINE and case.status == CaseStatus.ASSIGNED:
                return self._decline(session, coach, case)
            return self._to_coach(coach, f"Zaak #{parsed.case_id} heb je al aangenomen.")

    def _accept(self, session: Session, coach: Coach, case: Case) -> list[Outgoing]:
        assert case.id is not None
        if case.status == CaseStatus.ACCEPTED:
            return self._to_coach(coach, f"Zaak #{case.id} had je al aangenomen.")
        desk.accept_case(session, case=case, coach=coach)
        card = card_of(case)
        target = participant_chat(session, case)
        note = (
            "Berichten van de deelnemer komen hier binnen. Schrijf terug door op een bericht "
            f"van deze zaak te antwoorden, of met /bericht {case.id} tekst. "
            f"/terug {case.id} geeft de deelnemer terug aan de bot."
        )
        if target is None:
            note = "Deze deelnemer zit niet op Telegram: neem contact op zoals hieronder staat."
        out = render.text_messages(
            coach.telegram_id,
            cards.case_html(card, heading="Aangenomen: zaak") + "\n\n" + escape(note),
            ref=ref_of(case.id),
        )
        if target is not None:
            chat_id, language = target
            out += render.text_messages(
                chat_id,
                cards.accepted_for_participant(
                    self._flows.current,
                    language,
                    cards.first_name_of(coach.name),
                    coach.union,
                    card.contact_method,
                ),
            )
        return out

    def _decline(self, session: Session, coach: Coach, case: Case) -> list[Outgoing]:
        assert case.id is not None
        following = desk.decline_case(session, case=case, coach=coach)
        card = card_of(case)
        out = self._to_coach(
            coach, f"Je hebt zaak #{case.id} afgewezen; hij gaat naar een collega."
        )
        if following is not None:
            out += render.text_messages(
                following.telegram_id,
                cards.new_case_for_coach(card),
                markup=coach_keyboard(case.id),
                ref=ref_of(case.id),
            )
        elif self._coordinator is not None:
            out += render.text_messages(
                self._coordinator,
                cards.new_case_for_coordinator(card, "Afgewezen door alle coaches in de regio."),
                ref=ref_of(case.id),
            )
        else:
            log.warning("case %d declined by all coaches; COORDINATOR_CHAT_ID is not set", case.id)
        return out

    # -- messages ----------------------------------------------------------------------------

    def _message(self, session: Session, coach: Coach, message: Message) -> list[Outgoing]:
        text = message.text
        if text is None:
            return self._to_coach(coach, ONLY_TEXT_TO_PARTICIPANT)
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            return self._command(session, coach, command.split("@")[0].lower(), rest.strip())
        replied = message.reply_to_message
        if replied is not None:
            with Session(self._engine) as lookup:
                ref = state.ref_of_message(
                    session=lookup, chat_id=message.chat.id, message_id=replied.message_id
                )
            case_id = case_id_of(ref)
            if case_id is not None:
                return self._relay(session, coach, case_id, text)
        return self._to_coach(coach, COACH_HELP, escaped=True)

    def _command(self, session: Session, coach: Coach, command: str, rest: str) -> list[Outgoing]:
        assert coach.id is not None
        number, _, tail = rest.partition(" ")
        digits = number.lstrip("#")
        case_id = int(digits) if digits.isdigit() else None
        tail = tail.strip()
        if command == "/zaken":
            open_cases = desk.open_cases_of_coach(session, coach_id=coach.id)
            return self._to_coach(
                coach, cards.case_list([card_of(c) for c in open_cases]), escaped=True
            )
        if command in ("/zaak", "/bericht", "/terug", "/afsluiten"):
            if case_id is None:
                return self._to_coach(coach, COACH_HELP, escaped=True)
            case = desk.case_of_coach(session, case_id=case_id, coach_id=coach.id)
            if case is None:
                return self._to_coach(coach, NOT_YOURS.format(n=case_id))
            if command == "/zaak":
                html = cards.case_html(card_of(case), heading="Zaak")
                status = cards.status_nl(case.status)
                return render.text_messages(
                    coach.telegram_id, f"{html}\n<b>Status:</b> {status}", ref=ref_of(case_id)
                )
            if command == "/bericht":
                if not tail:
                    return self._to_coach(coach, f"Gebruik: /bericht {case_id} jouw tekst")
                return self._relay(session, coach, case_id, tail)
            if command == "/terug":
                return self._hand_back(session, coach, case)
            return self._close(session, coach, case, tail)
        return self._to_coach(coach, COACH_HELP, escaped=True)

    def _relay(self, session: Session, coach: Coach, case_id: int, text: str) -> list[Outgoing]:
        assert coach.id is not None
        case = desk.case_of_coach(session, case_id=case_id, coach_id=coach.id)
        if case is None:
            return self._to_coach(coach, NOT_YOURS.format(n=case_id))
        if case.status == CaseStatus.ASSIGNED:
            return self._to_coach(coach, f"Neem zaak #{case_id} eerst aan (knop 'Aannemen').")
        if case.status != CaseStatus.ACCEPTED:
            return self._to_coach(coach, f"Zaak #{case_id} is afgesloten.")
        target = participant_chat(session, case)
        if target is None:
            return self._to_coach(coach, "Deze deelnemer is niet via Telegram bereikbaar.")
        desk.set_relay(session, case=case, active=True)
        chat_id, language = target
        return render.text_messages(
            chat_id,
            cards.from_coach(
                self._flows.current, language, cards.first_name_of(coach.name), coach.union, text
            ),
            ref=ref_of(case_id),
        )

    def _hand_back(self, session: Session, coach: Coach, case: Case) -> list[Outgoing]:
        assert case.id is not None
        if case.status != CaseStatus.ACCEPTED or not desk.relay_active(session, case_id=case.id):
            return self._to_coach(coach, f"Zaak #{case.id} praat al met de bot.")
        desk.set_relay(session, case=case, active=False)
        out = self._to_coach(
            coach,
            f"De deelnemer van zaak #{case.id} praat weer met de bot. "
            f"Met /bericht {case.id} tekst neem je het gesprek weer over.",
        )
        target = participant_chat(session, case)
        if target is not None:
            out += render.text_messages(
                target[0],
                cards.handed_back(self._flows.current, target[1], cards.first_name_of(coach.name)),
            )
        return out

    def _close(self, session: Session, coach: Coach, case: Case, outcome: str) -> list[Outgoing]:
        assert case.id is not None
        if not outcome:
            return self._to_coach(
                coach,
                f"Gebruik: /afsluiten {case.id} uitkomst, bv. werk gevonden, scholing gestart, "
                "geen contact.",
            )
        if case.status == CaseStatus.CLOSED:
            return self._to_coach(coach, f"Zaak #{case.id} was al afgesloten.")
        was_talking = case.status == CaseStatus.ACCEPTED
        desk.close_case(session, case=case, outcome=outcome[:200])
        out = self._to_coach(coach, f"Zaak #{case.id} is afgesloten ({outcome[:200]}). Dank je!")
        target = participant_chat(session, case)
        if target is not None and was_talking:
            out += render.text_messages(
                target[0],
                cards.closed_for_participant(
                    self._flows.current, target[1], cards.first_name_of(coach.name)
                ),
            )
        return out

    @staticmethod
    def _to_coach(coach: Coach, text: str, *, escaped: bool = False) -> list[Outgoing]:
        html = text if escaped else escape(text)
        return render.text_messages(coach.telegram_id, html)


class ParticipantRelay:
    """Router: while a coach has the case, a participant's messages go to the coach."""

    def __init__(self, *, engine: Engine, flows: FlowSource) -> None:
        self._engine = engine
        self._flows = flows

    async def route(self, update: Update) -> Sequence[Outgoing] | None:
        user = update.effective_user
        chat = update.effective_chat
        if user is None or chat is None or chat.type != ChatType.PRIVATE:
            return None
        with session_scope(self._engine) as session:
            participant = get_participant(session, channel=CHANNEL, external_id=str(user.id))
            if participant is None or participant.id is None:
                return None
            relay = desk.active_relay_of_participant(session, participant_id=participant.id)
            if relay is None:
                return None
            message = update.message
            if message is None:
                return []  # an old bot button pressed mid-chat: the flows stay quiet
            if message.text is None:
                notice = both_languages(self._flows.current, Key.ONLY_TEXT_TO_COACH)
                return render.plain_messages(message.chat.id, notice)
            assert relay.case.id is not None
            return render.text_messages(
                relay.coach.telegram_id,
                cards.from_participant(card_of(relay.case), message.text),
                ref=ref_of(relay.case.id),
            )
