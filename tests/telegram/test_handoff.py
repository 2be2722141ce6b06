"""End to end on Telegram: the real bot (`careerbot run`'s wiring) over PTB's HTTP path against
the fake Bot API, with the real Rasa server: intake → case → coach → relay → close.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.channels.telegram.wiring import AssembledBot, build_telegram_bot
from bot.config import Settings
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import Case, CaseEvent, CaseStatus, Union
from tests.fake_telegram import FakeTelegram, buttons_of
from tests.fake_telegram.user import TelegramUser

pytestmark = pytest.mark.rasa
NLU_DOWN_FOR_DEV = False

PARTICIPANT = 5001
OTHER_PARTICIPANT = 5002
COACH_A = 7001  # Utrecht, registered first
COACH_B = 7002  # Utrecht
COACH_C = 7003  # Groningen only
ADMIN = 9001
COORDINATOR = -100777


@dataclass
class World:
    fake: FakeTelegram
    assembled: AssembledBot
    db_url: str

    def user(self, user_id: int, first_name: str = "Sam") -> TelegramUser:
        return TelegramUser(self.fake, user_id, first_name)

    def case(self, case_id: int) -> Case:
        engine = create_db_engine(self.db_url)
        with Session(engine) as session:
            case = session.get(Case, case_id)
            assert case is not None
            session.expunge(case)
        engine.dispose()
        return case

    def events(self, case_id: int) -> list[tuple[str, int | None]]:
        engine = create_db_engine(self.db_url)
        with Session(engine) as session:
            rows = session.exec(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
            ).all()
            assert all(row.created_at is not None for row in rows)
            result = [(row.kind, row.coach_id) for row in rows]
        engine.dispose()
        return result


async def start_world(
    fake: FakeTelegram,
    tmp_path: Path,
    rasa_url: str,
    coaches: list[tuple[str, int, str, list[str]]],
) -> World:
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(db_url)
    engine = create_db_engine(db_url)
    with session_scope(engine) as session:
        for name, telegram_id, union, regions in coaches:
            add_coach(
                session, name=name, telegram_id=telegram_id, union=Union(union), regions=regions
            )
    engine.dispose()
    settings = Settings(
        telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url,
        database_url=db_url,
        rasa_url=rasa_url,
        admin_telegram_ids=frozenset({ADMIN}),
        coordinator_chat_id=COORDINATOR,
        webhook_secret=None,
    )
    from bot.channels.telegram.pacing import ChatPacer

    assembled = await build_telegram_bot(
        settings, poll_timeout=2, pacer=ChatPacer(rate=20, burst=5), sweep_interval=0.5
    )
    await assembled.bot.start_polling()
    return World(fake, assembled, db_url)


@pytest.fixture
async def world(fake_telegram: FakeTelegram, tmp_path: Path, rasa_url: str) -> AsyncIterator[World]:
    world = await start_world(
        fake_telegram,
        tmp_path,
        rasa_url,
        [
            ("Anna de Vries", COACH_A, "FNV", ["AM13"]),
            ("Bram Jansen", COACH_B, "CNV", ["AM13"]),
            ("Chris Groen", COACH_C, "FNV", ["AM01"]),
        ],
    )
    try:
        yield world
    finally:
        await world.assembled.aclose()


async def relay(
    sender: TelegramUser, receiver: TelegramUser, text: str, **kwargs: Any
) -> list[dict[str, Any]]:
    """`sender` types `text`; returns what `receiver` gets."""
    await sender.send(text, **kwargs)
    return await receiver.read()


# What the participant answers to each intake question (matched on the question text).
ANSWERS: list[tuple[str, str, str]] = [
    ("hoe mag ik je noemen", "say", "{name}"),
    ("wat is je woonplaats", "say", "{town}"),
    ("wat past het best", "press", "ontslagen"),
    ("wat voor contract", "press", "tijdelijk"),
    ("wat voor werk", "say", "logistiek, ik rij op een heftruck"),
    ("afgeronde opleiding", "press", "mbo"),
    ("wat zou je graag", "say", "{goal}"),
    ("contact met je opneemt", "press", "chatgesprek"),
    ("best bereiken", "press", "ochtend"),
    ("klopt dit", "press", "ja"),
]


async def intake(
    user: TelegramUser,
    *,
    name: str = "Sam",
    town: str = "Utrecht",
    goal: str = "snel weer aan het werk, liefst vast",
) -> str:
    """From /start to a handoff, in Dutch; returns the bot's last answer."""
    await user.say("/start")
    await user.press("Ja")  # consent
    replies = await user.say("hoi, mn contract word nie verlengd en ik ben straks mn baan kwijt")
    if NLU_DOWN_FOR_DEV:  # only for working on these tests without a trained model
        replies = await user.press("verlies")
    # Rasa understood the job loss: the job-loss flow starts with empathy, then the intake.
    assert "vervelend" in " ".join(m["text"] for m in replies).lower(), user.texts()[-3:]
    for _ in range(20):
        last = replies[-1]["text"].lower()
        if "doorgegeven" in last:
            return str(replies[-1]["text"])
        for fragment, action, value in ANSWERS:
            if fragment in last:
                text = value.format(name=name, town=town, goal=goal)
                replies = await (user.say(text) if action == "say" else user.press(text))
                break
        else:
            raise AssertionError(f"unexpected question: {user.texts()[-3:]}")
    raise AssertionError("intake did not end in a handoff")


async def test_job_loss_to_accepted_case(world: World) -> None:
    sam = world.user(PARTICIPANT, "Sam")
    anna = world.user(COACH_A, "Anna")
    handoff = await intake(sam, goal="snel <b>weer</b> aan het werk & vast")
    assert "Anna" in handoff

    (card,) = await anna.read()
    text = card["text"]
    assert card["parse_mode"] == "HTML"
    assert "Nieuwe aanvraag #1" in text
    # What they typed, escaped: no tag of the participant survives in the HTML.
    assert "snel &lt;b&gt;weer&lt;/b&gt; aan het werk &amp; vast" in text
    assert "<b>weer</b>" not in text
    assert "Naam:</b> Sam" in text and "Midden-Utrecht" in text
    assert "Via dit chatgesprek" in text  # contact preference
    assert [b["text"] for b in buttons_of(card)] == ["Aannemen", "Afwijzen"]
    assert world.case(1).status == CaseStatus.ASSIGNED

    confirmation = await anna.press("Aannemen")
    assert "Aangenomen" in confirmation[0]["text"]
    (news,) = await sam.read()
    assert "Anna" in news["text"] and "FNV" in news["text"]
    assert "Anna de Vries" not in news["text"]  # first name only
    assert world.case(1).status == CaseStatus.ACCEPTED
    assert world.events(1) == [
        ("created", None),
        ("assigned", world.case(1).coach_id),
        ("accepted", world.case(1).coach_id),
    ]
    # The old keyboard cannot be pressed twice.
    assert buttons_of(anna.inbox[0]) == [{"text": "✓ Aannemen", "callback_data": "x"}]


async def test_relay_both_ways_hand_back_and_close(world: World) -> None:
    sam = world.user(PARTICIPANT, "Sam")
    anna = world.user(COACH_A, "Anna")
    await intake(sam)
    await anna.read()
    await anna.press("Aannemen")
    await sam.read()

    # Participant → coach; the bot's flows stay quiet.
    (relayed,) = await relay(sam, anna, "hoi Anna, wanneer bel je <me>?")
    assert "Sam (zaak #1)" in relayed["text"]
    assert "hoi Anna, wanneer bel je &lt;me&gt;?" in relayed["text"]

    # Coach → participant by replying to the relayed message, and with /bericht.
    (reply,) = await relay(anna, sam, "Morgen om 10 uur!", reply_to=relayed)
    assert "Bericht van Anna (FNV)" in reply["text"] and "Morgen om 10 uur!" in reply["text"]
    (reply,) = await relay(anna, sam, "/bericht 1 Tot morgen & succes")
    assert "Tot morgen &amp; succes" in reply["text"]

    # Hand back: the bot answers the participant again.
    (back,) = await relay(anna, sam, "/terug 1")
    assert "teruggegeven" in back["text"]
    assert "praat weer met de bot" in (await anna.read())[0]["text"]
    answer = await sam.say("wat kost het?")
    assert answer and all("zaak #" not in m["text"] for m in answer)
    assert await anna.nothing_new(0.5)

    # Close with an outcome.
    (closed,) = await relay(anna, sam, "/afsluiten 1 werk gevonden")
    assert "afgesloten" in closed["text"]
    assert "afgesloten (werk gevonden)" in (await anna.read())[0]["text"]
    case = world.case(1)
    assert case.status == CaseStatus.CLOSED and case.closed_at is not None
    kinds = [kind for kind, _ in world.events(1)]
    assert kinds == ["created", "assigned", "accepted", "handed_back", "closed"]


async def test_decline_reassigns_then_coordinator(world: World) -> None:
    sam = world.user(PARTICIPANT, "Sam")
    anna, bram = world.user(COACH_A, "Anna"), world.user(COACH_B, "Bram")
    coordinator = world.user(COORDINATOR)
    await intake(sam)
    await anna.read()
    told = await anna.press("Afwijzen")
    assert "gaat naar een collega" in told[-1]["text"]
    (card,) = await bram.read()
    assert "Nieuwe aanvraag #1" in card["text"]
    assert world.case(1).coach_id == 2
    told = await bram.press("Afwijzen")  # the last coach of the region: no colleague left
    assert "wacht nu op de coördinator" in told[-1]["text"]
    assert "collega" not in told[-1]["text"]
    (to_coordinator,) = await coordinator.read()
    assert "Aanvraag zonder coach #1" in to_coordinator["text"]
    assert "Afgewezen door de coaches van de regio" in to_coordinator["text"]
    # Anyone with room is offered, least loaded first (Anna and Bram declined it).
    assert [b["text"] for b in buttons_of(to_coordinator)] == ["Chris Groen (0 open)"]
    case = world.case(1)
    assert case.status == CaseStatus.NEW and case.coach_id is None
    assert world.events(1) == [
        ("created", None),
        ("assigned", 1),
        ("declined", 1),
        ("assigned", 2),
        ("declined", 2),
        ("to_coordinator", None),
    ]
    # Anna's old buttons are spent: pressing again does not take the case back.
    await world.fake.press(COACH_A, anna.inbox[0], "c:acc:1")
    await world.fake.wait_until(lambda: len(world.fake.callback_answers) >= 3)
    assert world.case(1).coach_id is None
    # A forged assign button outside the coordinator's chat does nothing.
    await world.fake.press(PARTICIPANT, sam.last_with_buttons(), "c:asg:1:3")
    await world.fake.wait_until(lambda: len(world.fake.callback_answers) >= 4)
    assert world.case(1).coach_id is None
    # The coordinator assigns it to Chris, who gets the card with Accept/Decline.
    chris = world.user(COACH_C, "Chris")
    confirmation = await coordinator.press("Chris Groen")
    assert "toegewezen aan Chris Groen" in confirmation[-1]["text"]
    (card,) = await chris.read()
    assert "Nieuwe aanvraag #1" in card["text"]
    await chris.press("Aannemen")
    news = await sam.read()
    assert "Chris" in news[-1]["text"] and world.case(1).status == CaseStatus.ACCEPTED
    assert world.events(1)[-2:] == [("assigned", 3), ("accepted", 3)]


async def test_no_coach_in_region_goes_to_coordinator(world: World) -> None:
    sam = world.user(PARTICIPANT, "Sam")
    coordinator = world.user(COORDINATOR)
    handoff = await intake(sam, town="Maastricht")
    assert "team" in handoff
    (card,) = await coordinator.read()
    assert "Geen coach met ruimte in deze regio" in card["text"]
    # Nobody covers Zuid-Limburg: every coach with room is offered, fewest open cases first.
    assert [b["text"] for b in buttons_of(card)] == [
        "Anna de Vries (0 open)",
        "Bram Jansen (0 open)",
        "Chris Groen (0 open)",
    ]


async def test_unauthorized_commands_are_refused(world: World) -> None:
    sam = world.user(PARTICIPANT, "Sam")
    anna, chris = world.user(COACH_A, "Anna"), world.user(COACH_C, "Chris")
    await intake(sam, name="Sam")
    await anna.read()

    # A participant typing coach or admin commands gets the participant experience.
    other = world.user(OTHER_PARTICIPANT, "Eve")
    for command in ("/zaken", "/zaak 1", "/bericht 1 hoi", "/stats", "/reload"):
        replies = await other.say(command)
        joined = " ".join(m["text"] for m in replies)
        assert "Sam" not in joined and "#1" not in joined and "Deelnemers" not in joined
    # A forged Accept button from a participant does nothing.
    await world.fake.press(OTHER_PARTICIPANT, anna.inbox[0], "c:acc:1")
    await world.fake.wait_until(lambda: len(world.fake.callback_answers) >= 1)
    assert world.case(1).status == CaseStatus.ASSIGNED

    # Another coach cannot see or write to someone else's case.
    for command in ("/zaak 1", "/bericht 1 hallo", "/terug 1", "/afsluiten 1 klaar"):
        (answer,) = await chris.say(command)
        assert "staat niet (meer) op jouw naam" in answer["text"]
        assert "Sam" not in answer["text"]
    (listing,) = await chris.say("/zaken")
    assert "geen open zaken" in listing["text"]
    assert world.case(1).status == CaseStatus.ASSIGNED

    # The owner can; the admin gets statistics.
    (own,) = await anna.say("/zaak 1")
    assert "Sam" in own["text"] and "Midden-Utrecht" in own["text"]
    admin = world.user(ADMIN, "Ada")
    (stats,) = await admin.say("/stats")
    assert "handoff" in stats["text"] and "1" in stats["text"]
    (reload,) = await admin.say("/reload")
    assert "flows actief" in reload["text"]


async def test_an_admin_who_is_no_coach_never_becomes_a_participant(world: World) -> None:
    """/stats, /reload and /login are answered without a participant row (or any data) for the
    admin: the read before the turn creates nobody, and staff commands skip the conversation."""
    from storage.models import Participant

    admin = world.user(ADMIN, "Ada")
    (stats,) = await admin.say("/stats")
    assert "Deelnemers" in stats["text"] or "handoff" in stats["text"]
    (reload,) = await admin.say("/reload")
    assert "flows" in reload["text"]
    (login,) = await admin.say("/login")
    assert "/login/" in login["text"]
    engine = create_db_engine(world.db_url)
    with Session(engine) as session:
        people = session.exec(select(Participant.external_id)).all()
    engine.dispose()
    assert str(ADMIN) not in people
