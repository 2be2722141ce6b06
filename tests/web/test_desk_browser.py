"""What a coach, a coordinator and an admin notice at the web desk, in a real browser, with the
bot on Telegram (fake Bot API) beside it: a participant hands off on Telegram, the coach logs
in with the link the bot sent, accepts in the browser, and the participant is told on Telegram.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from storage.database import create_db_engine
from storage.models import Case, CaseStatus
from storage.web import AuditEntry, CaseNote
from tests.fake_telegram.server import buttons_of
from tests.fake_telegram.user import TelegramUser
from tests.web.conftest import ADMIN, ANNA, BRAM, COORDINATOR_CHAT, CORA, Desk

SAM, MIRA, NOOR = 5101, 5102, 5103
ANSWERS: list[tuple[str, str, str]] = [
    ("hoe mag ik je noemen", "say", "{name}"),
    ("wat is je woonplaats", "say", "{town}"),
    ("wat past het best", "press", "ontslagen"),
    ("wat voor contract", "press", "tijdelijk"),
    ("wat voor werk", "say", "logistiek, heftruck"),
    ("afgeronde opleiding", "press", "hbo"),
    ("wat zou je graag", "say", "{goal}"),
    ("contact met je opneemt", "press", "chatgesprek"),
    ("best bereiken", "press", "ochtend"),
    ("klopt dit", "press", "ja"),
]


GOAL = "snel <b>weer</b> aan het werk & vast"


async def hand_off(user: TelegramUser, *, name: str, town: str) -> str:
    """A participant on Telegram from /start to a handoff (Rasa down: the topic by button)."""
    await user.say("/start")
    await user.press("Ja")  # consent
    replies = await user.say("ik ben mijn baan kwijt")
    if not any("hoe mag ik je noemen" in m["text"].lower() for m in replies):
        replies = await user.press("verlies")
    for _ in range(20):
        last = replies[-1]["text"].lower()
        if "doorgegeven" in last:
            return str(replies[-1]["text"])
        for fragment, action, value in ANSWERS:
            if fragment in last:
                text = value.format(name=name, town=town, goal=GOAL)
                replies = await (user.say(text) if action == "say" else user.press(text))
                break
        else:
            raise AssertionError(f"unexpected question: {user.texts()[-3:]}")
    raise AssertionError("no handoff")


def case_row(desk: Desk, case_id: int) -> Case:
    engine = create_db_engine(desk.db_url)
    with Session(engine) as session:
        found = session.get(Case, case_id)
        assert found is not None
        session.expunge(found)
    engine.dispose()
    return found


def rows(desk: Desk, model: Any) -> list[Any]:
    engine = create_db_engine(desk.db_url)
    with Session(engine) as session:
        found = list(session.exec(select(model)).all())
        for row in found:
            session.expunge(row)
    engine.dispose()
    return found


async def handoff_accept_note_and_refusals(desk: Desk, browser: Any) -> None:
    sam = desk.user(SAM, "Sam")
    anna, bram = desk.user(ANNA, "Anna"), desk.user(BRAM, "Bram")
    handed = await hand_off(sam, name="Sam", town="Utrecht")
    assert "Anna" in handed
    (card,) = await anna.read()
    assert "Nieuwe aanvraag #1" in card["text"]

    # The coach logs in with the link the bot sent, and sees the case in her list.
    link = await desk.login_link(anna)
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    desk.watch(page)
    await page.goto(f"{desk.base_url}/login")
    assert "Stuur /login aan de bot" in await page.locator("main").inner_text()
    await desk.shot(page, "login")
    await page.goto(link)
    await desk.shot(page, "login-confirm")
    desk.step("Anna opens the link: 'Inloggen als Anna de Vries?' and clicks [Inloggen]")
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_url(f"{desk.base_url}/cases")
    cookie = next(c for c in await context.cookies() if c["name"] == "careerbot_desk")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    row = page.get_by_role("row", name="#1")
    assert "Sam" in await row.inner_text()
    assert "wacht op akkoord" in await row.inner_text()
    await desk.shot(page, "coach-cases")
    cells = [" ".join(cell.split()) for cell in await row.locator("td").all_inner_texts()]
    desk.step(f"Anna's list (/cases): {' | '.join(cells)}")

    # The case page: the intake, the events; accept in the browser.
    await page.get_by_role("link", name="#1").first.click()
    await page.wait_for_url(f"{desk.base_url}/cases/1")
    intake = await page.locator("dl.summary").inner_text()
    assert "Midden-Utrecht" in intake and "logistiek, heftruck" in intake
    assert GOAL in intake  # what they typed, escaped: shown as typed, never as markup
    assert intake.count("Midden-Utrecht") == 1  # "Utrecht (regio Midden-Utrecht)", once
    # The buttons Sam pressed read as their labels, never as payloads ("knop: yes").
    pressed = await page.locator("ol.chat .pressed").all_inner_texts()
    assert pressed[:3] == ["Ja", "Ik ben ontslagen of mijn contract stopt", "Tijdelijk"]
    assert {"Hbo of universiteit", "Via dit chatgesprek", "Ochtend"} <= set(pressed)
    chat = await page.locator("ol.chat").inner_text()
    assert "v:" not in chat and "knop: yes" not in chat and "[" not in chat
    await desk.shot(page, "case-assigned")
    desk.step("Anna opens case #1 (intake, conversation, events) and clicks [Aannemen]")
    await page.get_by_role("button", name="Aannemen").click()
    await page.wait_for_load_state("networkidle")
    assert "Aangenomen: zaak #1" in await page.locator(".flash").first.inner_text()
    desk.step(f"the page says: {await page.locator('.flash').first.inner_text()}")
    (told,) = await sam.read()  # the participant is told on Telegram, as from the bot
    assert "Anna" in told["text"] and "FNV" in told["text"]
    assert case_row(desk, 1).status == CaseStatus.ACCEPTED
    # The card on Telegram no longer offers Accept / Decline: one inert button says where.
    stale = copy.deepcopy(card)
    await desk.fake.wait_until(lambda: len(buttons_of(card)) == 1)
    assert [(b["text"], b["callback_data"]) for b in buttons_of(card)] == [
        ("✓ Aangenomen op de webdesk", "x")
    ]
    desk.step("Anna's card on Telegram now shows one inert button: ✓ Aangenomen op de webdesk")
    # A press of the old Decline that overtook the edit is only acknowledged ("already
    # chosen"): the case stays accepted and the card keeps saying the truth.
    answered = len(desk.fake.callback_answers)
    await desk.fake.press(ANNA, stale, "c:dec:1", first_name="Anna")
    await desk.fake.wait_until(lambda: len(desk.fake.callback_answers) > answered)
    assert "Deze keuze is al gemaakt." in desk.fake.callback_answers[-1].get("text", "")
    desk.transcript.append(
        "[telegram] Anna presses the old [Afwijzen] (a press that overtook the edit) → "
        "the spinner answers 'Deze keuze is al gemaakt.'; nothing else happens"
    )
    assert await anna.nothing_new(0.5)
    assert case_row(desk, 1).status == CaseStatus.ACCEPTED
    assert buttons_of(card)[0]["text"] == "✓ Aangenomen op de webdesk"

    # A private note, saved (htmx) and shown, escaped; still there after a reload.
    await page.get_by_label("Nieuwe notitie").fill("Belt maandag <script>alert(1)</script> terug")
    await page.get_by_role("button", name="Notitie opslaan").click()
    await page.get_by_text("Notitie opgeslagen.").wait_for()
    desk.step("Anna saves a private note: 'Belt maandag <script>alert(1)</script> terug'")
    await page.reload()
    notes = await page.locator("#notes ul.notes").inner_text()
    assert "Belt maandag <script>alert(1)</script> terug" in notes
    assert [n.text for n in rows(desk, CaseNote)] == [
        "Belt maandag <script>alert(1)</script> terug"
    ]

    # Writing to the participant goes out on Telegram like the relay.
    await page.get_by_label("Bericht aan de deelnemer").fill("Ik bel je morgen om 10 uur & tot dan")
    desk.step("Anna writes to Sam from the page: 'Ik bel je morgen om 10 uur & tot dan'")
    await page.get_by_role("button", name="Versturen").click()
    await page.wait_for_load_state("networkidle")
    (message,) = await sam.read()
    assert "Bericht van Anna (FNV)" in message["text"]
    assert "Ik bel je morgen om 10 uur &amp; tot dan" in message["text"]
    await desk.shot(page, "case-accepted")
    await desk.shot(page, "desk", full=False)  # the README's picture (docs/desk.png)
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await desk.shot(page, "case-phone")
    await page.set_viewport_size({"width": 1280, "height": 860})

    # A form without its CSRF token is refused, and changes nothing.
    refused = await context.request.post(
        f"{desk.base_url}/cases/1/notes", form={"text": "zonder token"}
    )
    assert refused.status == 403
    forged = await context.request.post(
        f"{desk.base_url}/cases/1/close", form={"csrf": "0" * 64, "outcome": "weg"}
    )
    assert forged.status == 403
    assert len(rows(desk, CaseNote)) == 1 and case_row(desk, 1).status == CaseStatus.ACCEPTED

    # The link cannot be used twice.
    second = await browser.new_context()
    again = await second.new_page()
    response = await again.goto(link)
    assert response is not None and response.status == 410
    assert "al gebruikt of verlopen" in await again.locator("main").inner_text()
    await desk.shot(again, "login-link-used")
    await second.close()

    # Another coach's case is a 404, as if it did not exist.
    bram_page = await desk.logged_in(browser, bram)
    response = await bram_page.goto(f"{desk.base_url}/cases/1")
    assert response is not None and response.status == 404
    assert "Sam" not in await bram_page.content()
    assert "Niet gevonden" in await bram_page.locator("main").inner_text()
    await desk.shot(bram_page, "not-found")

    # Links are rate limited: three in ten minutes (Anna had one already).
    for _ in range(2):
        await desk.login_link(anna)
    (refusal,) = await anna.say("/login")
    assert "al een paar inloglinks" in refusal["text"] and "/login/" not in refusal["text"]

    # Nothing personal, and no login token, in the web desk's access log.
    log = desk.web.log
    assert "GET /cases/{case_id} 200" in log and "POST /login/{token} 303" in log
    assert link.rsplit("/", 1)[1] not in log and "Sam" not in log and "/cases/1 " not in log

    # Every view of the case is in the audit log.
    views = [e for e in rows(desk, AuditEntry) if e.action == "view_case"]
    assert {(e.actor_name, e.case_id) for e in views} == {("Anna de Vries", 1)}
    await context.close()
    await bram_page.context.close()
    desk.write_transcript()
    assert not desk.console_errors, desk.console_errors


async def test_handoff_accept_note_and_refusals_on_sqlite(desk_sqlite: Desk, browser: Any) -> None:
    await handoff_accept_note_and_refusals(desk_sqlite, browser)


@pytest.mark.postgres
async def test_handoff_accept_note_and_refusals_on_postgres(
    desk_postgres: Desk, browser: Any
) -> None:
    await handoff_accept_note_and_refusals(desk_postgres, browser)


def set_assigned_at(desk: Desk, case_id: int, days_ago: int) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from storage.database import session_scope
    from storage.models import utcnow

    engine = create_db_engine(desk.db_url)
    with session_scope(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(Case)
            .where(Case.id == case_id)  # type: ignore[arg-type]
            .values(assigned_at=utcnow() - timedelta(days=days_ago))
        )
    engine.dispose()


def stats_csv(desk: Desk) -> str:
    """What `careerbot stats --csv` prints for the same database."""
    env = {"DATABASE_URL": desk.db_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "careerbot"), "stats", "--csv"],
        capture_output=True,
        text=True,
        env=env,
        cwd=desk.shots,
        check=True,
    )
    return done.stdout


async def test_coordinator_and_admin(desk_sqlite: Desk, browser: Any) -> None:
    desk = desk_sqlite
    mira = desk.user(MIRA, "Mira")
    anna, bram = desk.user(ANNA, "Anna"), desk.user(BRAM, "Bram")
    cora, admin = desk.user(CORA, "Cora"), desk.user(ADMIN, "Ada")
    coordinator_chat = desk.user(COORDINATOR_CHAT)
    handed = await hand_off(mira, name="Mira", town="Maastricht")  # nobody covers Zuid-Limburg
    assert "team" in handed
    (coordinator_card,) = await coordinator_chat.read()
    assert any(b["text"].startswith("Anna de Vries") for b in buttons_of(coordinator_card))
    noor = desk.user(NOOR, "Noor")
    await hand_off(noor, name="Noor", town="Groningen")  # case 2: not Cora's region
    await coordinator_chat.read()
    bram_page = await desk.logged_in(browser, bram)  # Bram is logged in (he is stopped below)

    # The coordinator's region: the case without a coach, the least loaded coach suggested;
    # assigned with the keyboard alone.
    page = await desk.logged_in(browser, cora)
    assert page.url == f"{desk.base_url}/region"
    queue = await page.locator("#queue-title + div table").inner_text()
    assert "Mira" in queue and "Zuid-Limburg" in queue
    assert "Noor" not in queue  # a coordinator sees only their regions
    other = await page.request.get(f"{desk.base_url}/cases/2")
    assert other.status == 404
    options = await page.get_by_label("Coach #1").locator("option").all_inner_texts()
    assert options[0] == "Anna de Vries (0/10) · voorstel"
    await desk.shot(page, "coordinator-region")
    await page.get_by_label("Coach #1").focus()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.wait_for_load_state("networkidle")
    assert "toegewezen aan Anna de Vries" in await page.locator(".flash").inner_text()
    (anna_card,) = await anna.read()
    assert "Nieuwe aanvraag #1" in anna_card["text"]
    assert await coordinator_chat.nothing_new(0.5)  # the coordinator saw it on the page
    # The coordinator chat's card no longer offers its Assign buttons.
    await desk.fake.wait_until(lambda: len(buttons_of(coordinator_card)) == 1)
    assert buttons_of(coordinator_card)[0]["text"] == "✓ Doorgezet op de webdesk"

    # Two working days without an answer: past the response time, and reassigned.
    set_assigned_at(desk, 1, days_ago=7)
    await page.reload()
    late = await page.locator("#late-title + div table").inner_text()
    assert "Mira" in late and "te laat" in late
    await desk.shot(page, "coordinator-breached")
    await page.get_by_role("button", name="Andere coach").click()
    await page.wait_for_load_state("networkidle")
    (card,) = await bram.read()
    assert "Nieuwe aanvraag #1" in card["text"]
    (away,) = await anna.read()
    assert "overgedragen aan Bram Jansen" in away["text"]
    # Anna's card of case 1 no longer offers Accept / Decline; Bram's new card does.
    await desk.fake.wait_until(lambda: len(buttons_of(anna_card)) == 1)
    assert buttons_of(anna_card)[0]["text"] == "✓ Doorgezet op de webdesk"
    assert [b["text"] for b in buttons_of(card)] == ["Aannemen", "Afwijzen"]  # Bram's
    assert case_row(desk, 1).coach_id == 2

    # The admin: coaches (add one, stop Bram: his case moves and his session ends at once).
    admin_page = await desk.logged_in(browser, admin)
    await admin_page.goto(f"{desk.base_url}/admin/coaches")
    await admin_page.get_by_label("Naam").last.fill("Dewi Pranoto")
    await admin_page.get_by_label("Telegram-id").fill("7004")
    await admin_page.get_by_label("Regio's").last.fill("AM30, Groningen")
    await admin_page.get_by_role("button", name="Coach toevoegen").last.click()
    await admin_page.wait_for_load_state("networkidle")
    table = await admin_page.locator("table").first.inner_text()
    assert "Dewi Pranoto" in table and "AM01, AM30" in table
    bram_row = admin_page.get_by_role("row").filter(has_text="Bram Jansen")
    await bram_row.get_by_text("Wijzigen").click()
    await desk.shot(admin_page, "admin-coaches")
    await bram_row.get_by_role("button", name="Deactiveren").click()
    await admin_page.wait_for_load_state("networkidle")
    moved = case_row(desk, 1)
    assert moved.coach_id == 4 and moved.status == CaseStatus.ASSIGNED  # Dewi covers AM30
    await desk.fake.wait_until(lambda: len(buttons_of(card)) == 1)  # Bram's card: settled
    assert buttons_of(card)[0]["text"] == "✓ Doorgezet op de webdesk"
    # Dewi no longer covers AM30: nobody else does, so case 1 goes back to the region's queue
    # (with a case event), Mira is told a coach is being sought, Dewi where it went.
    dewi = desk.user(7004, "Dewi")
    await dewi.read()  # the card of case 1
    dewi_row = admin_page.get_by_role("row").filter(has_text="Dewi Pranoto")
    await dewi_row.get_by_text("Wijzigen").click()
    await dewi_row.get_by_label("Regio's").fill("Groningen")
    await dewi_row.get_by_role("button", name="Opslaan").click()
    await admin_page.wait_for_load_state("networkidle")
    flash = await admin_page.locator(".flash").all_inner_texts()
    assert "Open zaken die deze coach niet meer heeft, zijn doorgezet: #1." in flash
    back = case_row(desk, 1)
    assert back.coach_id is None and back.status == CaseStatus.NEW
    (gone,) = await dewi.read()
    assert "Zaak #1 staat niet meer op jouw naam" in gone["text"]
    assert "coördinator van de regio" in gone["text"]
    assert "We zoeken een andere coach voor je" in (await mira.read())[-1]["text"]
    await admin_page.goto(f"{desk.base_url}/region")  # the admin sees every region
    queue = await admin_page.locator("#queue-title + div table").inner_text()
    assert "Noor" in queue and "Mira" in queue  # case 1 is waiting in its region's queue again
    await desk.shot(admin_page, "admin-region-all")
    await bram_page.goto(f"{desk.base_url}/cases")
    assert bram_page.url.startswith(f"{desk.base_url}/login")
    assert "verlopen of beëindigd" in await bram_page.locator("main").inner_text()

    # Flows: a diagram per flow (drawn in the browser), the check's findings, the load time.
    await admin_page.goto(f"{desk.base_url}/admin/flows")
    await admin_page.locator("#flow-job_loss pre.mermaid svg").wait_for(timeout=20000)
    assert "Geen fouten of waarschuwingen" in await admin_page.locator("main").inner_text()
    await desk.shot(admin_page, "admin-flows", full=False)
    diagram = admin_page.locator("#flow-job_loss")
    await diagram.screenshot(path=str(desk.shots / "admin-flow-job_loss.png"))
    # An admin breaks a flow: the page says where (file:line); the old flows stay live.
    broken = desk.flows_dir / "zz_broken.yml"
    await asyncio.to_thread(
        broken.write_text,
        "flows:\n  broken_flow:\n    description: kapot\n    steps:\n      - collect: no_such_slot\n",
        "utf-8",
    )
    await admin_page.reload()
    findings = await admin_page.locator("ul.findings").inner_text()
    assert "zz_broken.yml:" in findings and "error" in findings, findings
    assert await admin_page.locator("#flow-job_loss pre.mermaid").count() == 1
    await desk.shot(admin_page, "admin-flows-error", full=False)
    await asyncio.to_thread(broken.unlink)

    # Statistics: pictures, and a CSV that is `careerbot stats --csv` to the byte.
    await admin_page.goto(f"{desk.base_url}/admin/stats")
    funnel = await admin_page.locator("article").first.inner_text()
    assert "naar coach" in funnel
    await desk.shot(admin_page, "admin-stats")
    async with admin_page.expect_download() as download_info:
        await admin_page.get_by_role("button", name="CSV downloaden").click()
    download = await download_info.value
    downloaded = await asyncio.to_thread(Path(await download.path()).read_text, "utf-8")
    assert downloaded == stats_csv(desk)
    assert ["funnel", "handoff", "2"] in list(csv.reader(io.StringIO(downloaded)))

    # The audit log: who looked at whose case, and when.
    await admin_page.goto(f"{desk.base_url}/admin/audit")
    audit = await admin_page.locator("table").inner_text()
    assert "Cora Smit" in audit and "regio bekeken" in audit and "toegewezen" in audit
    await desk.shot(admin_page, "admin-audit")

    # English, for those who prefer it.
    await admin_page.get_by_role("link", name="English").click()
    await admin_page.wait_for_load_state("networkidle")
    assert "Audit log" in await admin_page.locator("h1").inner_text()
    await desk.shot(admin_page, "admin-audit-english")
    for context in {p.context for p in (page, admin_page, bram_page)}:
        await context.close()
    await asyncio.sleep(0)
    assert not desk.console_errors, desk.console_errors
