"""The coordinator's region: cases without a coach (with the least loaded coach suggested),
the coaches with their load and capacity, and the cases past their response time. Admins see
every region."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from bot.desk import routing
from bot.web import queries
from bot.web.app import page
from bot.web.auth import NotFound
from bot.web.desk import desk_request, pop_flash
from storage.coaches import list_coaches
from storage.models import CaseStatus, Role, utcnow

router = APIRouter()


@router.get("/region")
def region(request: Request) -> Response:
    with desk_request(request) as c:
        if not (c.who.admin or c.who.is_coordinator):
            raise NotFound
        regions = None if c.who.admin else c.who.regions
        now = utcnow()
        waiting = queries.region_cases(c.session, regions=regions, statuses=[CaseStatus.NEW])
        queue = [
            (row, routing.candidates(c.session, case))
            for row, case in zip(
                queries.rows(
                    c.session,
                    waiting,
                    flows=c.flowset,
                    timings=c.state.timings,
                    now=now,
                    language=c.lang,
                ),
                waiting,
                strict=True,
            )
        ]
        assigned = queries.region_cases(c.session, regions=regions, statuses=[CaseStatus.ASSIGNED])
        late = [
            (row, routing.candidates(c.session, case))
            for row, case in zip(
                queries.rows(
                    c.session,
                    assigned,
                    flows=c.flowset,
                    timings=c.state.timings,
                    now=now,
                    language=c.lang,
                ),
                assigned,
                strict=True,
            )
            if row.sla in ("reminded", "late")
        ]
        coaches = [
            load
            for load in list_coaches(c.session)
            if load.coach.role == Role.COACH
            and (regions is None or set(load.regions) & set(regions))
        ]
        shown = [row.id for row, _ in queue] + [row.id for row, _ in late]
        if shown:
            c.audit("view_region", cases=shown)
        return page(
            request,
            "region.html",
            c=c,
            queue=queue,
            late=late,
            coaches=coaches,
            regions=regions,
            flash=pop_flash(c),
        )
