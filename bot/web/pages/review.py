"""Admins: the NLU review queue (issue 17 fills it). What the model was unsure about — the
participant's words with personal data already replaced by placeholders, its guess and
confidence — to label with one of the fixed intents or dismiss, and the labelled set as Rasa
NLU YAML: the very function `careerbot nlu review --export FILE --labelled-only` uses.

The texts are a participant's words, so every view and download is in the audit log.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import PlainTextResponse

from bot.nlu.intents import INTENTS
from bot.web.app import go, is_htmx, page
from bot.web.auth import NotFound
from bot.web.desk import Ctx, desk_request, pop_flash
from storage import nlu_review
from storage.models import NluReviewItem

router = APIRouter(prefix="/admin")
SHOWN = 200  # oldest first; labelling or dismissing brings the next ones up


def _admin(c: Ctx) -> None:
    if not c.who.admin:
        raise NotFound


def _item(c: Ctx, item_id: int) -> NluReviewItem:
    item = c.session.get(NluReviewItem, item_id)
    if item is None:
        raise NotFound
    return item


@router.get("/review")
def review(request: Request, labelled: int = 0) -> Response:
    """Not yet labelled items (or, with ?labelled=1, those an admin labelled)."""
    with desk_request(request) as c:
        _admin(c)
        items = [
            item
            for item in nlu_review.list_items(c.session, unlabelled_only=not labelled, limit=10_000)
            if bool(item.label) == bool(labelled)
        ][:SHOWN]
        counts = nlu_review.count_items(c.session)
        waiting = nlu_review.count_items(c.session, unlabelled_only=True)
        if items:
            c.audit("view_review", items=[item.id for item in items])
        return page(
            request,
            "admin_review.html",
            c=c,
            items=items,
            intents=INTENTS,
            labelled=bool(labelled),
            total=sum(counts.values()),
            waiting=sum(waiting.values()),
            flash=pop_flash(c),
        )


@router.post("/review/{item_id}/label")
def label(item_id: int, request: Request, csrf: str = Form(""), intent: str = Form("")) -> Response:
    with desk_request(request) as c:
        c.check_csrf(csrf)
        _admin(c)
        item = _item(c, item_id)
        if intent not in INTENTS:  # the names are fixed (SPEC §4): nothing else is stored
            return page(
                request,
                "message.html",
                422,
                c=c,
                title=c.t("error_input", what=c.t("review_label")),
            )
        nlu_review.label_item(c.session, item_id=item_id, label=intent)
        c.audit("label_review", item=item_id, intent=intent)
        if is_htmx(request):
            return page(request, "_review_row.html", c=c, item=item, intents=INTENTS, done=True)
        c.flash.append(c.t("review_labelled", intent=intent))
        c.keep_flash()
    return go("/admin/review")


@router.post("/review/{item_id}/dismiss")
def dismiss(item_id: int, request: Request, csrf: str = Form("")) -> Response:
    """Thrown away: not worth training on (the item is deleted, like after an export)."""
    with desk_request(request) as c:
        c.check_csrf(csrf)
        _admin(c)
        _item(c, item_id)
        nlu_review.delete_items(c.session, item_ids=[item_id])
        c.audit("dismiss_review", item=item_id)
        if is_htmx(request):
            return page(request, "_review_gone.html", c=c, item_id=item_id)
        c.flash.append(c.t("review_dismissed"))
        c.keep_flash()
    return go("/admin/review")


@router.get("/review.yml")
def download(request: Request) -> Response:
    """The labelled set, byte for byte what `careerbot nlu review --export FILE
    --labelled-only` writes for the same rows."""
    with desk_request(request) as c:
        _admin(c)
        body = nlu_review.export_yaml(c.session, labelled_only=True)
        c.audit("download_review")
    return PlainTextResponse(
        body,
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nlu-review-labelled.yml"'},
    )
