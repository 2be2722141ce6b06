"""The web desk's per-request context: one transaction, the person, their language, CSRF, and
what a desk action sends (through the Telegram outbox, in that same transaction)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request
from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.telegram import render
from bot.config import Settings, timings
from bot.desk import render as words
from bot.desk.notices import Notice, To
from bot.flows.flowset import FlowSet
from bot.flows.registry import FlowRegistry
from bot.scheduler.timings import Timings
from bot.web.auth import LoginRequired, Principal, csrf_token, principal
from bot.web.i18n import Language, word
from storage import telegram_state
from storage import web as stored
from storage.database import session_scope
from storage.models import utcnow

LANG_COOKIE = "careerbot_lang"
FUNNEL_NL = {
    "started": "gestart",
    "consent": "toestemming",
    "intake complete": "intake af",
    "handoff": "naar coach",
    "accepted": "aangenomen",
    "closed": "afgesloten",
}


class CsrfFailed(Exception):
    pass


@dataclass
class DeskState:
    """What every request shares: set up once by the app."""

    settings: Settings
    engine: Engine
    flows: FlowRegistry
    secret: str = ""
    flows_loaded_at: datetime = field(default_factory=utcnow)

    @property
    def timings(self) -> Timings:
        return timings(self.settings)

    @property
    def secure_cookies(self) -> bool:
        return self.settings.web_base_url.startswith("https://")


def language_of(request: Request) -> Language:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "nl"


@dataclass
class Ctx:
    request: Request
    session: Session
    state: DeskState
    who: Principal
    lang: Language
    flash: list[str] = field(default_factory=list)

    @property
    def flowset(self) -> FlowSet:
        return self.state.flows.current

    @property
    def csrf(self) -> str:
        return csrf_token(self.state.secret, self.who.raw_session)

    def t(self, key: str, **params: str) -> str:
        return word(key, self.lang, **params)

    def t_funnel(self, stage: str) -> str:
        """The funnel's stages (bot/stats.py names them in English) in the reader's language."""
        if self.lang == "en":
            return stage
        return FUNNEL_NL.get(stage, stage)

    def check_csrf(self, form_token: str | None) -> None:
        """Every change needs the session's token: in the form, or in htmx's header."""
        sent = form_token or self.request.headers.get("x-csrf-token") or ""
        if not hmac.compare_digest(sent, self.csrf):
            raise CsrfFailed

    def audit(self, action: str, *, case_id: int | None = None, **detail: object) -> None:
        stored.audit(
            self.session,
            actor_telegram_id=self.who.telegram_id,
            actor_name=self.who.name,
            role=self.who.role_name,
            action=action,
            case_id=case_id,
            detail=dict(detail) or None,
        )

    def deliver(self, notices: Iterable[Notice], *, feedback: frozenset[To] = frozenset()) -> None:
        """Notices to others go out on Telegram (the outbox, this transaction); those for the
        person at this desk (and `feedback` kinds, e.g. the coordinator's confirmations) are
        shown on the next page instead."""
        out: list[Notice] = []
        for notice in notices:
            mine = (
                notice.to is To.COACH
                and notice.coach is not None
                and notice.coach.telegram_id == self.who.telegram_id
            )
            if mine or notice.to in feedback:
                self.flash.append(words.headline(self.flowset, notice))
            else:
                out.append(notice)
        outgoing = render.notices(
            self.flowset, out, coordinator_chat_id=self.state.settings.coordinator_chat_id
        )
        telegram_state.enqueue(self.session, outgoing=outgoing)

    def settle_keyboards(self, case_ids: Iterable[int | None], *, done: str) -> None:
        """The Telegram cards of these cases whose Accept / Decline / Assign buttons nobody
        pressed lose them (one inert "✓ … op de webdesk" button instead, through the outbox in
        this transaction): a card must not offer what the web desk already did. Coaches read
        Telegram in Dutch. The keyboard counts as answered, as if pressed: a press that
        overtakes the edit is only acknowledged ("already chosen") and cannot put an older
        button's "✓ Afwijzen" over the truth."""
        label = word(done, "nl")
        edits = []
        for case_id in sorted({i for i in case_ids if i is not None}):
            for chat_id, message_id in stored.live_case_keyboards(self.session, case_id=case_id):
                telegram_state.mark_keyboard_pressed(
                    self.session, chat_id=chat_id, message_id=message_id
                )
                edits.append(render.mark_pressed(chat_id, message_id, label))
        telegram_state.enqueue(self.session, outgoing=edits)

    def keep_flash(self) -> None:
        """Carry this request's messages to the page the browser is sent to next."""
        if self.flash:
            stored.set_flash(
                self.session, raw_id=self.who.raw_session, message="\n".join(self.flash)
            )


@contextmanager
def desk_request(request: Request) -> Iterator[Ctx]:
    """One transaction for the request, with the logged-in person (or LoginRequired)."""
    state: DeskState = request.app.state.desk
    with session_scope(state.engine) as session:
        try:
            who = principal(
                request, session, secret=state.secret, admins=state.settings.admin_telegram_ids
            )
        except LoginRequired:
            who = None  # an expired or ended session is deleted: this transaction commits
        if who is not None:
            yield Ctx(request, session, state, who, language_of(request))
    if who is None:
        raise LoginRequired


def pop_flash(ctx: Ctx) -> list[str]:
    found = ctx.session.get(stored.WebSession, stored.digest(ctx.who.raw_session))
    if found is None or not found.flash:
        return []
    messages = found.flash.split("\n")
    found.flash = None
    ctx.session.add(found)
    return messages
