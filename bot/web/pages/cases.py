"""A coach's cases: the list (open and closed, with age and SLA state) and one case with its
intake, the conversation consent allows, its events, private notes and the coach's actions.

A case is shown to its coach, to coordinators of its region and to admins; to anyone else it
does not exist (404). Every view is written to the audit log.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request, Response

from bot.desk import coach_actions, live_chat, routing
from bot.desk.notices import CoachRef, To
from bot.desk.people import coach_ref
from bot.desk.states import actions_in
from bot.flows.catalogue import Key
from bot.web import queries
from bot.web.app import go, is_htmx, page
from bot.web.auth import NotFound
from bot.web.desk import Ctx, desk_request, pop_flash
from storage import cases as store
from storage import web as stored
from storage.coaches import get_coach
from storage.models import Case, utcnow

router = APIRouter()
NOTE_MAX = 4000
MESSAGE_MAX = 4000


@router.get("/cases")
def my_cases(request: Request, closed: int = 0) -> Response:
    with desk_request(request) as c:
        if c.who.coach_id is None:
            raise NotFound
        found = queries.cases_of_coach(c.session, coach_id=c.who.coach_id, closed=bool(closed))
        rows = queries.rows(
            c.session,
            found,
            flows=c.flowset,
            timings=c.state.timings,
            now=utcnow(),
            language=c.lang,
        )
        if rows:
            c.audit("view_case_list", cases=[row.id for row in rows])
        flash = pop_flash(c)
        return page(request, "cases.html", c=c, rows=rows, closed=bool(closed), flash=flash)


def visible_case(c: Ctx, case_id: int) -> Case:
    """The case if this person may see it; otherwise it does not exist for them."""
    case = store.get_case(c.session, case_id=case_id)
    if case is None:
        raise NotFound
    if c.who.admin or (c.who.coach_id is not None and case.coach_id == c.who.coach_id):
        return case
    if c.who.sees_region(case.region_code):
        return case
    raise NotFound


@router.get("/cases/{case_id}")
def case_page(case_id: int, request: Request) -> Response:
    with desk_request(request) as c:
        case = visible_case(c, case_id)
        c.audit("view_case", case_id=case_id)
        return render_case(c, case, flash=pop_flash(c))


def render_case(c: Ctx, case: Case, *, flash: list[str], status: int = 200) -> Response:
    mine = c.who.coach_id is not None and case.coach_id == c.who.coach_id
    oversees = c.who.admin or c.who.sees_region(case.region_code)
    candidates = routing.candidates(c.session, case) if oversees and case.status != "closed" else []
    return page(
        c.request,
        "case.html",
        status,
        c=c,
        case=case,
        mine=mine,
        actions=actions_in(case.status) if mine else [],
        oversees=oversees,
        candidates=candidates,
        summary=queries.summary(c.flowset, case, c.lang),
        status_label=queries.status_label(c.flowset, case.status, c.lang),
        sla=queries.sla_state(case, c.state.timings, utcnow()),
        age=queries.age(case.created_at, utcnow()),
        conversation=queries.conversation(c.session, case, flows=c.flowset),
        events=queries.events(c.session, case),
        notes=queries.notes(c.session, case),
        flash=flash,
    )


def _coach_action(request: Request, case_id: int, csrf: str, action: str, **extra: str) -> Response:
    with desk_request(request) as c:
        c.check_csrf(csrf)
        visible_case(c, case_id)
        if c.who.coach_id is None:
            raise NotFound
        me = _me(c)
        if action == "accept":
            notices = coach_actions.accept(c.session, case_id=case_id, coach=me)
        elif action == "decline":
            notices = coach_actions.decline(c.session, case_id=case_id, coach=me)
        elif action == "hand_back":
            notices = coach_actions.hand_back(c.session, case_id=case_id, coach=me)
        elif action == "close":
            notices = coach_actions.close(
                c.session, case_id=case_id, coach=me, outcome=extra.get("outcome", "")
            )
        else:
            text = extra.get("text", "").strip()[:MESSAGE_MAX]
            if not text:
                return go(f"/cases/{case_id}")
            notices = live_chat.message_participant(c.session, case_id=case_id, coach=me, text=text)
        c.deliver(notices)
        if action in ("accept", "decline", "close"):
            c.settle_keyboards([case_id], done=f"card_done_{action}")
        c.audit(action, case_id=case_id)
        c.keep_flash()
        still_mine = store.get_case(c.session, case_id=case_id)
        back = (
            f"/cases/{case_id}"
            if still_mine is not None and still_mine.coach_id == c.who.coach_id
            else "/cases"
        )
    return go(back)


def _me(c: Ctx) -> CoachRef:
    coach = get_coach(c.session, coach_id=c.who.coach_id or 0)
    if coach is None:
        raise NotFound
    return coach_ref(coach)


@router.post("/cases/{case_id}/accept")
def accept(case_id: int, request: Request, csrf: str = Form("")) -> Response:
    return _coach_action(request, case_id, csrf, "accept")


@router.post("/cases/{case_id}/decline")
def decline(case_id: int, request: Request, csrf: str = Form("")) -> Response:
    return _coach_action(request, case_id, csrf, "decline")


@router.post("/cases/{case_id}/hand-back")
def hand_back(case_id: int, request: Request, csrf: str = Form("")) -> Response:
    return _coach_action(request, case_id, csrf, "hand_back")


@router.post("/cases/{case_id}/close")
def close(
    case_id: int, request: Request, csrf: str = Form(""), outcome: str = Form("")
) -> Response:
    return _coach_action(request, case_id, csrf, "close", outcome=outcome)


@router.post("/cases/{case_id}/message")
def message(case_id: int, request: Request, csrf: str = Form(""), text: str = Form("")) -> Response:
    return _coach_action(request, case_id, csrf, "message", text=text)


@router.post("/cases/{case_id}/notes")
def add_note(
    case_id: int, request: Request, csrf: str = Form(""), text: str = Form("")
) -> Response:
    with desk_request(request) as c:
        c.check_csrf(csrf)
        case = visible_case(c, case_id)
        text = text.strip()[:NOTE_MAX]
        if text:
            stored.add_note(
                c.session,
                case_id=case_id,
                author_telegram_id=c.who.telegram_id,
                author_name=c.who.name,
                text=text,
            )
            c.audit("add_note", case_id=case_id)
        if is_htmx(request):
            message = c.t("note_saved") if text else c.t("note_empty")
            return page(
                request,
                "_notes.html",
                c=c,
                case=case,
                notes=queries.notes(c.session, case),
                note_message=message,
            )
        c.flash.append(c.t("note_saved") if text else c.t("note_empty"))
        c.keep_flash()
    return go(f"/cases/{case_id}#notes")


@router.post("/cases/{case_id}/assign")
def assign(
    case_id: int,
    request: Request,
    csrf: str = Form(""),
    coach_id: int = Form(0),
    back: str = Form(""),
) -> Response:
    """The coordinator (of the case's region) or an admin gives the case to a coach, or moves
    it from one coach to another."""
    with desk_request(request) as c:
        c.check_csrf(csrf)
        case = visible_case(c, case_id)
        if not (c.who.admin or c.who.sees_region(case.region_code)):
            raise NotFound
        notices = routing.reassign(c.session, case_id=case_id, coach_id=coach_id)
        if any(n.key == Key.DESK_CASE_NEW for n in notices):  # it moved: the cards already out
            # (the coordinator chat's Assign buttons, the previous coach's Accept / Decline)
            # lose their buttons; the new coach's card is not sent yet and keeps them.
            c.settle_keyboards([case_id], done="card_done_moved")
        c.deliver(notices, feedback=frozenset({To.COORDINATOR}))
        c.audit("assign", case_id=case_id, coach_id=coach_id)
        c.keep_flash()
    return go("/region" if back == "region" else f"/cases/{case_id}")
