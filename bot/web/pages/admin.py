"""Admins: coaches (add, edit regions, capacity and role, deactivate), the flows (diagram per
flow, the check's findings with file:line, when they were loaded), the statistics with pictures
and CSV, and the audit log. The NLU review queue has its own module (review.py)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import PlainTextResponse

from bot import stats
from bot.commands.coach import parse_regions
from bot.desk import routing
from bot.desk.notices import Notice, To
from bot.desk.people import coach_ref
from bot.flows.catalogue import Key
from bot.flows.graph import mermaid
from bot.flows.loader import load_flows
from bot.gemeenten import resolve_region
from bot.scheduler.calendar import local
from bot.web import charts, figures
from bot.web.app import go, page
from bot.web.auth import NotFound
from bot.web.desk import Ctx, desk_request, pop_flash
from storage import web as stored
from storage.coaches import (
    CoachExists,
    add_coach,
    coach_regions,
    get_coach,
    list_coaches,
    set_regions,
)
from storage.models import Role, Union, utcnow

router = APIRouter(prefix="/admin")


def _admin(c: Ctx) -> None:
    if not c.who.admin:
        raise NotFound


# -- coaches ------------------------------------------------------------------------------------


@router.get("/coaches")
def coaches(request: Request) -> Response:
    with desk_request(request) as c:
        _admin(c)
        return page(
            request,
            "admin_coaches.html",
            c=c,
            loads=list_coaches(c.session),
            unions=[u.value for u in Union],
            roles=[r.value for r in Role],
            flash=pop_flash(c),
            errors=[],
        )


def _check_coach_form(
    c: Ctx, *, name: str, regions: str, capacity: int
) -> tuple[list[str], list[str]]:
    codes, unknown = parse_regions(regions)
    errors = []
    if not name.strip():
        errors.append(c.t("name"))
    if unknown or not codes:
        errors.append(f"{c.t('regions')}: {', '.join(unknown) or '–'}")
    if capacity < 0 or capacity > 500:
        errors.append(c.t("capacity"))
    return codes, errors


@router.post("/coaches")
def add(
    request: Request,
    csrf: str = Form(""),
    name: str = Form(""),
    telegram_id: int = Form(0),
    union: str = Form("FNV"),
    regions: str = Form(""),
    capacity: int = Form(10),
    role: str = Form("coach"),
) -> Response:
    with desk_request(request) as c:
        c.check_csrf(csrf)
        _admin(c)
        codes, errors = _check_coach_form(c, name=name, regions=regions, capacity=capacity)
        if telegram_id <= 0:
            errors.append(c.t("telegram_id"))
        if not errors:
            try:
                coach = add_coach(
                    c.session,
                    name=name.strip()[:100],
                    telegram_id=telegram_id,
                    union=Union(union if union in Union.__members__ else "FNV"),
                    regions=codes,
                    capacity=capacity,
                    role=Role(role if role in ("coach", "coordinator") else "coach"),
                )
                c.audit("add_coach", coach_id=coach.id)
                c.flash.append(c.t("saved"))
                c.keep_flash()
                return go("/admin/coaches")
            except CoachExists:
                errors.append(f"{c.t('telegram_id')} {telegram_id}")
        return page(
            request,
            "admin_coaches.html",
            422,
            c=c,
            loads=list_coaches(c.session),
            unions=[u.value for u in Union],
            roles=[r.value for r in Role],
            flash=[],
            errors=errors,
        )


@router.post("/coaches/{coach_id}")
def edit(
    coach_id: int,
    request: Request,
    csrf: str = Form(""),
    name: str = Form(""),
    regions: str = Form(""),
    capacity: int = Form(10),
    role: str = Form("coach"),
) -> Response:
    with desk_request(request) as c:
        c.check_csrf(csrf)
        _admin(c)
        coach = get_coach(c.session, coach_id=coach_id)
        if coach is None:
            raise NotFound
        codes, errors = _check_coach_form(c, name=name, regions=regions, capacity=capacity)
        if errors:
            c.flash.append(c.t("error_input", what=", ".join(errors)))
        else:
            regions_before, role_before = coach_regions(c.session, coach_id=coach_id), coach.role
            coach.name = name.strip()[:100]
            coach.capacity = capacity
            coach.role = role if role in ("coach", "coordinator") else coach.role
            c.session.add(coach)
            set_regions(c.session, coach_id=coach_id, regions=codes)
            # The cases the coach no longer holds move on now, never stranded with them.
            notices = routing.coach_changed(
                c.session, coach=coach, regions_before=regions_before, role_before=role_before
            )
            c.deliver(notices)
            moved = sorted({int(n.params["case"]) for n in notices if n.key == Key.DESK_MOVED_AWAY})
            c.settle_keyboards(moved, done="card_done_moved")
            c.audit("edit_coach", coach_id=coach_id)
            c.flash.append(c.t("saved"))
            if moved:
                c.flash.append(c.t("cases_moved", cases=", ".join(f"#{n}" for n in moved)))
        c.keep_flash()
    return go("/admin/coaches")


@router.post("/coaches/{coach_id}/deactivate")
def deactivate(coach_id: int, request: Request, csrf: str = Form("")) -> Response:
    """Like `careerbot coach deactivate`: cases move on, participants are told, and the
    coach's desk sessions end at once."""
    with desk_request(request) as c:
        c.check_csrf(csrf)
        _admin(c)
        coach = get_coach(c.session, coach_id=coach_id)
        if coach is None:
            raise NotFound
        if coach.active:
            notices = routing.deactivate(c.session, coach=coach)
            farewell = Notice(To.COACH, Key.DESK_COACH_STOPPED, coach=coach_ref(coach))
            c.deliver([*notices, farewell])
            c.settle_keyboards([n.case_id for n in notices], done="card_done_moved")
            stored.end_sessions_of(c.session, telegram_id=coach.telegram_id)
            c.audit("deactivate_coach", coach_id=coach_id)
            c.flash.append(c.t("saved"))
            c.keep_flash()
    return go("/admin/coaches")


@router.post("/coaches/{coach_id}/activate")
def activate(coach_id: int, request: Request, csrf: str = Form("")) -> Response:
    with desk_request(request) as c:
        c.check_csrf(csrf)
        _admin(c)
        coach = get_coach(c.session, coach_id=coach_id)
        if coach is None:
            raise NotFound
        coach.active = True
        c.session.add(coach)
        c.audit("activate_coach", coach_id=coach_id)
    return go("/admin/coaches")


# -- flows --------------------------------------------------------------------------------------


@router.get("/flows")
def flows(request: Request) -> Response:
    with desk_request(request) as c:
        _admin(c)
        settings = c.state.settings
        result = load_flows(settings.flows_dir, nlu_dir=settings.nlu_dir)
        live = c.flowset
        diagrams = [(flow_id, mermaid(live.flows[flow_id])) for flow_id in sorted(live.flows)]
        return page(
            request,
            "admin_flows.html",
            c=c,
            problems=result.problems,
            valid=result.flowset is not None,
            kept_out=c.state.flows.rejected,  # newer files a check or a conversation test failed
            diagrams=diagrams,
            loaded_at=local(c.state.flows_loaded_at).strftime("%d-%m-%Y %H:%M:%S"),
        )


# -- statistics ---------------------------------------------------------------------------------


def _region(code: str) -> str | None:
    found = resolve_region(code) if code else None
    return found.code if found else None


@router.get("/stats")
def statistics(request: Request, region: str = "") -> Response:
    with desk_request(request) as c:
        _admin(c)
        chosen = _region(region)
        numbers = figures.collect(c.session, region=chosen, now=utcnow())
        funnel = [(c.t_funnel(name), count) for name, count in stats.funnel(numbers.all)]
        pictures = {
            "funnel": charts.hbars(funnel, title=c.t("funnel")),
            "weeks": charts.columns(numbers.weeks, title=c.t("over_time")),
            "waits": charts.hbars(numbers.waits, title=c.t("time_to_accept")),
            "outcomes": charts.hbars(
                list(numbers.all.outcomes.most_common(10)), title=c.t("outcomes")
            ),
            "ratings": charts.hbars(
                [(f"{r} ★", numbers.all.ratings.get(r, 0)) for r in range(1, 6)],
                title=c.t("ratings"),
            ),
        }
        regions = [
            (code, (resolve_region(code).name if resolve_region(code) else code), s)  # type: ignore[union-attr]
            for code, s in numbers.per_region
        ]
        return page(
            request,
            "admin_stats.html",
            c=c,
            numbers=numbers,
            funnel=stats.funnel(numbers.all),
            pictures=pictures,
            regions=regions,
            chosen=chosen or "",
            all_regions=sorted(numbers.all.regions),
        )


@router.get("/stats.csv")
def statistics_csv(request: Request, region: str = "") -> Response:
    """Exactly `careerbot stats --csv [--region R]`."""
    with desk_request(request) as c:
        _admin(c)
        chosen = _region(region)
        body = stats.as_csv(stats.collect(c.session, region=chosen))
    name = f"careerbot-stats{'-' + chosen if chosen else ''}.csv"
    return PlainTextResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- audit log ----------------------------------------------------------------------------------


@router.get("/audit")
def audit(request: Request, page_number: int = 0) -> Response:
    with desk_request(request) as c:
        _admin(c)
        entries = stored.audit_entries(c.session, limit=200, offset=max(0, page_number) * 200)
        rows = [
            (
                local(e.at).strftime("%d-%m-%Y %H:%M:%S"),
                e.actor_name,
                e.role,
                e.action,
                e.case_id,
                e.detail,
            )
            for e in entries
        ]
        return page(request, "admin_audit.html", c=c, rows=rows, page_number=page_number)
