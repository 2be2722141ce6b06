"""The NLU review queue at the web desk, in a real browser: an admin sees what the model was
unsure about (masked, with its guess), labels one item, dismisses another, and downloads the
labelled set — byte for byte what `careerbot nlu review --export FILE --labelled-only` writes
for the same rows. SQLite and PostgreSQL.

The queue is filled as the bot fills it (bot/nlu/review.py masks, storage/nlu_review.py
stores); that the bot queues a doubtful message is tests/test_nlu_review.py's business."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.nlu.review import mask_personal_data
from storage import nlu_review
from storage.database import create_db_engine, session_scope
from storage.models import NluReviewItem
from storage.participants import get_or_create_participant, update_participant
from storage.web import AuditEntry
from tests.web.conftest import ADMIN, ANNA, Desk
from tests.web.test_desk_browser import rows

UNSURE = [
    # (what the participant typed, reason, guess, confidence, second guess, its confidence)
    (
        "ik heet Fatima el Amrani en mn uren worden steeds minder",
        "margin",
        "flex_contract",
        0.44,
        "job_loss",
        0.41,
    ),
    ("hoe zit dat nou met dat potje", "fallback", "ask_cost", 0.31, "training_question", 0.29),
    ("kan ik <b>ook</b> iets met mn rijbewijs", "fallback", "training_question", 0.22, None, None),
]


def fill_queue(desk: Desk) -> None:
    from datetime import UTC, datetime

    engine = create_db_engine(desk.db_url)
    with session_scope(engine) as session:
        person = get_or_create_participant(session, channel="telegram", external_id="5201")
        assert person.id is not None
        update_participant(
            session, participant_id=person.id, language="nl", consent_at=datetime.now(UTC)
        )
        for text, reason, intent, confidence, second, second_confidence in UNSURE:
            nlu_review.queue_item(
                session,
                participant_id=person.id,
                text=mask_personal_data(text),
                reason=reason,
                intent=intent,
                confidence=confidence,
                second_intent=second,
                second_confidence=second_confidence,
            )
    engine.dispose()


def cli_export(desk: Desk, out: Path) -> str:
    """What `careerbot nlu review --export FILE --labelled-only` writes for the same database."""
    subprocess.run(
        [
            str(Path(sys.executable).parent / "careerbot"),
            "nlu",
            "review",
            "--export",
            str(out),
            "--labelled-only",
        ],
        capture_output=True,
        text=True,
        env={"DATABASE_URL": desk.db_url, "PATH": "/usr/bin:/bin"},
        cwd=desk.shots,
        check=True,
    )
    return out.read_text(encoding="utf-8")


async def label_dismiss_and_download(desk: Desk, browser: Any, tmp_path: Path) -> None:
    await asyncio.to_thread(fill_queue, desk)
    admin = desk.user(ADMIN, "Ada")
    page = await desk.logged_in(browser, admin)
    await page.get_by_role("link", name="NLU-controle").click()
    await page.wait_for_url(f"{desk.base_url}/admin/review")
    table = await page.locator("table.review").inner_text()
    # Masked as the bot stores it; typed markup shown as text; the guess with its confidence.
    assert "ik heet <naam> en mn uren worden steeds minder" in table
    assert "Fatima" not in table and "kan ik <b>ook</b> iets met mn rijbewijs" in table
    assert "flex_contract 44%" in table and "job_loss 41%" in table
    assert (
        "3 bericht(en) in de lijst, 3 nog niet gelabeld." in await page.locator("main").inner_text()
    )
    await desk.shot(page, "admin-review")
    desk.step("Ada (admin) opens NLU-controle: 3 messages the model was unsure about")

    # Label the first as job_loss (htmx: the row says so, the page stays).
    first = page.locator("#review-1")
    await page.get_by_label("Juiste intent #1").select_option("job_loss")
    await first.get_by_role("button", name="Label opslaan").click()
    await first.get_by_text("Gelabeld als job_loss.").wait_for()
    # Dismiss the second: it is gone from the queue.
    await page.get_by_role("button", name="Weggooien #2").click()
    await page.locator("#review-2").get_by_text("Weggegooid.").wait_for()
    await desk.shot(page, "admin-review-labelled")
    desk.step("Ada labels #1 as job_loss and dismisses #2")
    left = {(i.id, i.label) for i in rows(desk, NluReviewItem)}
    assert left == {(1, "job_loss"), (3, None)}

    # A label outside the fixed catalogue, or a form without its token, changes nothing.
    context = page.context
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    bad = await context.request.post(
        f"{desk.base_url}/admin/review/3/label", form={"csrf": csrf or "", "intent": "whatever"}
    )
    assert bad.status == 422
    forged = await context.request.post(
        f"{desk.base_url}/admin/review/3/label", form={"intent": "greet"}
    )
    assert forged.status == 403
    assert {(i.id, i.label) for i in rows(desk, NluReviewItem)} == left

    # The download is the CLI's export of the same rows, to the byte.
    await page.goto(f"{desk.base_url}/admin/review?labelled=1")
    assert "ik heet <naam>" in await page.locator("table.review").inner_text()
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Gelabelde set downloaden (Rasa NLU YAML)").click()
    download = await download_info.value
    downloaded = await asyncio.to_thread(Path(await download.path()).read_bytes)
    expected = await asyncio.to_thread(cli_export, desk, tmp_path / "review.yml")
    assert downloaded == expected.encode("utf-8")
    document = yaml.safe_load(downloaded)
    assert document["nlu"] == [
        {
            "intent": "job_loss",
            "examples": [
                {
                    "text": "ik heet <naam> en mn uren worden steeds minder",
                    "metadata": {
                        "review_id": 1,
                        "labelled": True,
                        "model_guess": "flex_contract",
                        "confidence": 0.44,
                        "second_guess": "job_loss",
                        "second_confidence": 0.41,
                        "reason": "margin",
                    },
                }
            ],
        }
    ]
    desk.step("Ada downloads the labelled set (Rasa NLU YAML): 1 example under job_loss")

    # The words are a participant's: who looked, labelled, downloaded is in the audit log.
    actions = [e.action for e in rows(desk, AuditEntry)]
    for action in ("view_review", "label_review", "dismiss_review", "download_review"):
        assert action in actions
    # A coach has no such page (404, as if it did not exist).
    anna_page = await desk.logged_in(browser, desk.user(ANNA, "Anna"))
    response = await anna_page.goto(f"{desk.base_url}/admin/review")
    assert response is not None and response.status == 404
    yml = await anna_page.request.get(f"{desk.base_url}/admin/review.yml")
    assert yml.status == 404 and b"<naam>" not in await yml.body()
    await anna_page.context.close()
    await context.close()
    assert not desk.console_errors, desk.console_errors


async def test_an_admin_labels_and_downloads_on_sqlite(
    desk_sqlite: Desk, browser: Any, tmp_path: Path
) -> None:
    await label_dismiss_and_download(desk_sqlite, browser, tmp_path)


@pytest.mark.postgres
async def test_an_admin_labels_and_downloads_on_postgres(
    desk_postgres: Desk, browser: Any, tmp_path: Path
) -> None:
    await label_dismiss_and_download(desk_postgres, browser, tmp_path)
