"""Login without passwords: /login on Telegram sends a one-time link; the link's page asks
for one click (a link preview or a mail scanner that opens it spends nothing), which starts
a session in a signed, HttpOnly, SameSite=Strict cookie. Logout ends the session."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request, Response

from bot.web.app import go, page
from bot.web.auth import COOKIE, IDLE, PRE_COOKIE, LoginRequired, sign, who_is
from bot.web.desk import CsrfFailed, DeskState, desk_request, language_of
from bot.web.i18n import word
from storage import web as stored
from storage.database import session_scope

router = APIRouter()


def _state(request: Request) -> DeskState:
    state: DeskState = request.app.state.desk
    return state


@router.get("/login")
def login_help(request: Request, ended: int = 0) -> Response:
    lang = language_of(request)
    note = word("session_ended", lang) if ended else None
    return page(request, "login.html", note=note, link=None)


@router.get("/login/{token}")
def login_confirm(token: str, request: Request) -> Response:
    state = _state(request)
    lang = language_of(request)
    with session_scope(state.engine) as session:
        link = stored.peek_login_link(session, token=token)
        person = (
            who_is(session, telegram_id=link.telegram_id, admins=state.settings.admin_telegram_ids)
            if link is not None
            else None
        )
    if person is None:
        return page(request, "login.html", 410, note=word("login_bad_link", lang), link=None)
    pre = secrets.token_urlsafe(16)
    response = page(request, "login.html", link=token, name=person.name, csrf=pre, note=None)
    response.set_cookie(
        PRE_COOKIE, pre, max_age=600, httponly=True, samesite="strict", secure=state.secure_cookies
    )
    return response


@router.post("/login/{token}")
def login(token: str, request: Request, csrf: str = Form("")) -> Response:
    state = _state(request)
    expected = request.cookies.get(PRE_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        raise CsrfFailed
    with session_scope(state.engine) as session:
        telegram_id = stored.use_login_link(session, token=token)
        person = (
            who_is(session, telegram_id=telegram_id, admins=state.settings.admin_telegram_ids)
            if telegram_id is not None
            else None
        )
        raw = (
            stored.new_session(session, telegram_id=telegram_id)
            if person is not None and telegram_id is not None
            else None
        )
    if raw is None:
        lang = language_of(request)
        return page(request, "login.html", 410, note=word("login_bad_link", lang), link=None)
    response = go("/")
    response.delete_cookie(PRE_COOKIE, path="/")
    response.set_cookie(
        COOKIE,
        sign(state.secret, raw),
        max_age=int(IDLE.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=state.secure_cookies,
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    with desk_request(request) as c:
        c.check_csrf(csrf)
        stored.end_session(c.session, raw_id=c.who.raw_session)
    response = go("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request) -> Response:
    try:
        with desk_request(request) as c:
            who = c.who
    except LoginRequired:
        return go("/login")
    if who.is_coach:
        return go("/cases")
    if who.is_coordinator:
        return go("/region")
    return go("/region" if who.admin else "/login")
