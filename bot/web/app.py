"""The web desk application: FastAPI with Jinja2 templates (autoescaped), htmx, and the
security every page gets (CSP without inline scripts, frames refused, no referrer).

The access log names the route, never the path: a path can hold a login token, and a query
string anything someone typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match

from bot import stats
from bot.config import Settings
from bot.flows.registry import FlowRegistry
from bot.flowtests.gate import judge
from bot.scheduler.calendar import local
from bot.web.auth import LoginRequired, NotFound
from bot.web.desk import LANG_COOKIE, CsrfFailed, DeskState, language_of
from bot.web.i18n import WORDS, word
from storage import web as stored
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import utcnow

HERE = Path(__file__).resolve().parent
log = logging.getLogger("bot.web.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # everything a participant or coach typed is escaped
    trim_blocks=True,
    lstrip_blocks=True,
)

templates.filters["localtime"] = lambda moment: local(moment).strftime("%d-%m-%Y %H:%M")
templates.filters["funnel"] = stats.funnel


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A template with what every page needs (language, words, CSRF token, the person)."""
    ctx = values.get("c")
    lang = ctx.lang if ctx is not None else language_of(request)
    pre_session = values.pop("csrf", "")
    body = templates.get_template(template).render(
        request=request,
        lang=lang,
        t=lambda key, **p: word(key, lang, **p),
        who=ctx.who if ctx is not None else None,
        csrf=ctx.csrf if ctx is not None else pre_session,
        path=request.url.path,
        words=WORDS,
        **values,
    )
    return HTMLResponse(body, status_code=status)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def go(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def create_app(settings: Settings) -> FastAPI:
    upgrade(settings.database_url)
    # PostgreSQL: a connection for each request thread that may run at once (uvicorn's pool).
    pooled = (
        {} if settings.database_url.startswith("sqlite") else {"pool_size": 20, "max_overflow": 20}
    )
    engine = create_db_engine(settings.database_url, **pooled)
    state = DeskState(
        settings=settings,
        engine=engine,
        # The bot's judge: files whose conversation tests fail are not shown as live here
        # either (the flows page says which test keeps them out).
        flows=FlowRegistry(settings.flows_dir, nlu_dir=settings.nlu_dir, judge=judge),
    )
    with session_scope(engine) as session:
        state.secret = stored.signing_secret(session)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        watcher = asyncio.create_task(_watch_flows(state))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            engine.dispose()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.desk = state
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def headers_and_access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            if name == "Cache-Control" and request.url.path.startswith("/static/"):
                continue
            response.headers.setdefault(name, value)
        log.info(
            "%s %s %d %.1f ms",
            request.method,
            _route_of(app, request),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _: Exception) -> Response:
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": "/login?ended=1"})
        response = go("/login?ended=1")
        response.delete_cookie("careerbot_desk", path="/")
        return response

    @app.exception_handler(NotFound)
    async def not_found(request: Request, _: Exception) -> Response:
        return page(request, "message.html", 404, title=word("not_found", language_of(request)))

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, _: Exception) -> Response:
        return page(request, "message.html", 403, title=word("csrf_failed", language_of(request)))

    @app.exception_handler(404)
    async def no_route(request: Request, _: Exception) -> Response:
        return page(request, "message.html", 404, title=word("not_found", language_of(request)))

    @app.get("/lang/{language}")
    def switch_language(language: str, next: str = "/") -> Response:
        # Only a path of this site (no "//host", no scheme): never an open redirect.
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        response = go(target)
        response.set_cookie(
            LANG_COOKIE,
            "en" if language == "en" else "nl",
            max_age=365 * 86400,
            httponly=True,
            samesite="strict",
            secure=state.secure_cookies,
        )
        return response

    from bot.web.pages import admin, cases, login, region, review

    for module in (login, cases, region, admin, review):
        app.include_router(module.router)
    return app


def _route_of(app: FastAPI, request: Request) -> str:
    """The route's pattern (/cases/{case_id}), never the concrete path."""
    if request.url.path.startswith("/static/"):
        return "/static"
    found = request.scope.get("route")
    if found is not None and getattr(found, "path", None):
        return str(found.path)
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "?"))
    return "(no route)"


async def _watch_flows(state: DeskState, interval: float = 2.0) -> None:
    """Reload the flows when their files change, like the bot does (the diagrams follow)."""
    while True:
        await asyncio.sleep(interval)
        try:
            if await asyncio.to_thread(state.flows.reload_if_changed):
                state.flows_loaded_at = utcnow()
        except Exception as exc:  # invalid files: the old flows stay, the check page says why
            logging.getLogger(__name__).info("flows not reloaded: %s", type(exc).__name__)
