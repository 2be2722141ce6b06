"""Texts for coaches (Dutch, HTML) and for participants about their coach (nl/en).

Everything that comes from a participant or a coach is escaped here; the fixed parts may use
HTML tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.channels.telegram.text import escape
from bot.gemeenten import resolve_region

# Summary slots in the order a coach wants to read them; the rest follows.
_KEY_SLOTS = ("first_name", "work_situation", "goal", "contact_method", "phone", "email")
_STATUS_NL = {
    "new": "bij de coördinator",
    "assigned": "wacht op jouw akkoord",
    "accepted": "lopend",
    "closed": "afgesloten",
}


@dataclass(frozen=True, slots=True)
class CaseCard:
    case_id: int
    region_code: str | None
    region_name: str | None
    status: str
    summary: tuple[tuple[str, str, str], ...]  # (slot, label, value)

    @classmethod
    def from_summary(
        cls,
        *,
        case_id: int,
        region_code: str | None,
        status: str,
        summary: Iterable[Mapping[str, str]],
        region_name: str | None = None,
    ) -> CaseCard:
        if region_name is None and region_code:
            region = resolve_region(region_code)
            region_name = region.name if region else None
        lines = tuple(
            (str(line.get("slot", "")), str(line.get("label", "")), str(line.get("value", "")))
            for line in summary
        )
        return cls(case_id, region_code, region_name, status, lines)

    def value(self, slot: str) -> str | None:
        for name, _, value in self.summary:
            if name == slot and value:
                return value
        return None

    @property
    def first_name(self) -> str:
        return self.value("first_name") or "(onbekend)"

    @property
    def region(self) -> str:
        if self.region_name and self.region_code:
            return f"{self.region_name} ({self.region_code})"
        return self.region_name or self.region_code or "onbekend"


def _ordered(card: CaseCard) -> list[tuple[str, str, str]]:
    key = [line for slot in _KEY_SLOTS for line in card.summary if line[0] == slot]
    rest = [line for line in card.summary if line[0] not in _KEY_SLOTS]
    return [line for line in key + rest if line[2]]


def case_html(card: CaseCard, *, heading: str) -> str:
    lines = [
        f"<b>{escape(heading)} #{card.case_id}</b>",
        f"<b>Naam:</b> {escape(card.first_name)}",
        f"<b>Regio:</b> {escape(card.region)}",
    ]
    lines += [
        f"<b>{escape(label)}:</b> {escape(value)}"
        for slot, label, value in _ordered(card)
        if slot != "first_name"
    ]
    return "\n".join(lines)


def new_case_for_coach(card: CaseCard) -> str:
    return (
        case_html(card, heading="Nieuwe aanvraag")
        + "\n\nNeem je deze aanvraag aan? Na 'Aannemen' kun je de deelnemer hier schrijven:"
        " antwoord op dit bericht, of gebruik /bericht "
        f"{card.case_id} &lt;tekst&gt;."
    )


def new_case_for_coordinator(card: CaseCard, reason: str) -> str:
    return case_html(card, heading="Aanvraag zonder coach") + f"\n\n<i>{escape(reason)}</i>"


def status_nl(status: str) -> str:
    return _STATUS_NL.get(status, status)


def case_line(card: CaseCard) -> str:
    status = status_nl(card.status)
    return f"#{card.case_id} · {escape(card.first_name)} · {escape(card.region)} · {status}"


def case_list(cards: Sequence[CaseCard]) -> str:
    if not cards:
        return "Je hebt geen open zaken."
    return "<b>Je open zaken</b>\n" + "\n".join(case_line(card) for card in cards)


def first_name_of(full_name: str) -> str:
    return full_name.split()[0] if full_name.split() else full_name


# -- to participants -------------------------------------------------------------------------

_ACCEPTED = {
    "nl": (
        "Goed nieuws: {coach} van {union} is je loopbaancoach en neemt binnen 2 werkdagen "
        "contact met je op{via}. Je kunt hier ook gewoon een bericht typen: dat gaat nu "
        "rechtstreeks naar {coach}."
    ),
    "en": (
        "Good news: {coach} from {union} is your career coach and will contact you within "
        "2 working days{via}. You can also type a message here: it now goes straight to {coach}."
    ),
}
_VIA = {
    "nl": {"phone": " per telefoon", "email": " per e-mail", "telegram": " hier in Telegram"},
    "en": {"phone": " by phone", "email": " by email", "telegram": " here on Telegram"},
}
_FROM_COACH = {"nl": "Bericht van {coach} ({union}):", "en": "Message from {coach} ({union}):"}
_HANDED_BACK = {
    "nl": (
        "{coach} heeft het gesprek even teruggegeven aan mij, de bot. {coach} blijft je coach. "
        "Waar kan ik je mee helpen?"
    ),
    "en": (
        "{coach} has handed the chat back to me, the bot. {coach} is still your coach. "
        "How can I help?"
    ),
}
_CLOSED = {
    "nl": (
        "Je begeleiding bij {coach} is afgesloten. Veel succes! Wil je later weer hulp? "
        "Stuur dan /start."
    ),
    "en": "Your guidance with {coach} has ended. Good luck! Need help again later? Send /start.",
}


def _lang(language: str) -> str:
    return language if language in _ACCEPTED else "nl"


def accepted_for_participant(
    language: str, coach_first_name: str, union: str, contact_method: str | None
) -> str:
    lang = _lang(language)
    via = _VIA[lang].get(_contact_kind(contact_method), "")
    return escape(_ACCEPTED[lang].format(coach=coach_first_name, union=union, via=via))


def _contact_kind(value: str | None) -> str:
    # The summary holds the display label ("Telefoon", "E-mail", "Via dit chatgesprek").
    text = (value or "").lower()
    if "mail" in text:
        return "email"
    if "telefoon" in text or "phone" in text or "bel" in text:
        return "phone"
    if "chat" in text or "telegram" in text:
        return "telegram"
    return ""


def from_coach(language: str, coach_first_name: str, union: str, text: str) -> str:
    header = _FROM_COACH[_lang(language)].format(coach=coach_first_name, union=union)
    return f"<b>{escape(header)}</b>\n{escape(text)}"


def handed_back(language: str, coach_first_name: str) -> str:
    return escape(_HANDED_BACK[_lang(language)].format(coach=coach_first_name))


def closed_for_participant(language: str, coach_first_name: str) -> str:
    return escape(_CLOSED[_lang(language)].format(coach=coach_first_name))


def from_participant(card: CaseCard, text: str) -> str:
    return f"<b>{escape(card.first_name)} (zaak #{card.case_id}):</b>\n{escape(text)}"
