"""What went wrong when the bot was tried as a person on 6 December (the six gaps of that trial).

1. After the handoff a phone number typed alone started the short intake again, and "ja" to the
   robot answer's "Praten met een coach" button did the same: "Je hebt al een aanvraag lopen"
   and a second case card to the coach.
2. "overdag" at the best-time question (or in a correction at the summary) fits no option and
   was not understood.
3. Free-text answers kept their lead-in ("Werk: ik werk in de thuiszorg als verzorgende").
4. "ik woon in Goirle, nou ja eigenlijk Riel" at the name question: no town kept, the name
   asked again without a word.
5. "ik ben ontslagen" at the name question was stored as the name "Ontslagen", and said again
   it looped "Dat heb ik je eerder uitgelegd".
6. Education said in passing before it is asked ("ik heb trouwens hbo") was dropped.

Each conversation runs with a fake parser at the NLU edge (the engine's decisions, exactly) and
against the real Rasa server with the shipped model (what a participant would see); what is
checked is what the bot answers, what is stored, and what the coach receives.
"""

from __future__ import annotations

import pytest

from bot.desk.notices import To
from bot.flows.catalogue import Key
from bot.nlu.client import NluParser
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import Union
from tests.conversation_helpers import Chat, FakeNlu, Handoffs, fake_or_rasa, make_service
from tests.test_understanding import EN, NL, answer_until_summary

RULES = {
    "coach spreken": "talk_to_human",
    "talk to a coach": "talk_to_human",
    "ontslagen": "job_loss",
    "robot": "bot_challenge",
    "wat kost": "ask_cost",
    "tijdelijke contracten": "flex_contract",
    "hallo": "greet",
    "overslaan": "cancel",  # what the model read in "overslaan maar" (tester, 6 Dec)
    "bel me": "talk_to_human",  # what a model may well read in "bel me liever overdag"
}


parser = fake_or_rasa(
    lambda: FakeNlu(RULES, entities={"tijdelijke contracten": (("contract_type", "tijdelijk"),)})
)


@pytest.fixture
def coaches(sqlite_url: str) -> str:
    with session_scope(create_db_engine(sqlite_url)) as session:
        add_coach(
            session, name="Anna de Vries", telegram_id=11, union=Union.FNV, regions=["AM18", "AM26"]
        )
    return sqlite_url


async def start(url: str, parser: NluParser, first: str) -> tuple[Chat, Handoffs]:
    service, handoffs = make_service(url, parser)
    chat = Chat(service)
    await chat.say(first)
    await chat.press(NL.yes)  # consent
    return chat, handoffs


async def handed_off(url: str, parser: NluParser) -> tuple[Chat, Handoffs]:
    chat, handoffs = await start(url, parser, "ik wil een coach spreken")
    await answer_until_summary(chat, NL, name="Sam")
    await chat.press(NL.yes)
    assert "Anna" in chat.last
    return chat, handoffs


def cards(handoffs: Handoffs) -> int:
    return sum(1 for n in handoffs.notices if n.card is not None)


def stored(handoffs: Handoffs) -> dict[str, str]:
    [case] = handoffs.cases
    return {line.slot: line.raw for line in case.summary}


# 1. after the handoff ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "slot", "value"),
    [
        ("06-87654321", "phone", "+31687654321"),
        ("mijn nieuwe nummer is 06 87654321", "phone", "+31687654321"),
        ("sam.jansen@example.nl", "email", "sam.jansen@example.nl"),
    ],
    ids=["phone-alone", "phone-in-words", "email"],
)
async def test_a_contact_detail_after_the_handoff_updates_the_open_case(
    coaches, parser, typed, slot, value
):
    chat, handoffs = await handed_off(coaches, parser)
    await chat.say(typed)
    assert "aanvraag" in chat.text.lower() and "coach ziet het" in chat.text, chat.text
    assert "al een aanvraag lopen" not in chat.text
    assert "Klopt dit?" not in chat.text  # no second intake
    assert len(handoffs.cases) == 1 and cards(handoffs) == 1  # never a second card
    assert stored(handoffs)[slot] == value
    [update] = [n for n in handoffs.notices if n.key is Key.DESK_CASE_UPDATED]
    assert (
        update.to is To.COACH and update.coach is not None and update.coach.name == "Anna de Vries"
    )
    assert update.params["case"] == str(handoffs.cases[0].case_id)
    await chat.say(typed)  # the same again: nothing new for the coach
    assert "al bij je aanvraag" in chat.last
    assert len([n for n in handoffs.notices if n.key is Key.DESK_CASE_UPDATED]) == 1


async def test_the_coach_reads_one_short_line_about_the_update(coaches, parser):
    from bot.channels.telegram import render
    from bot.flows.registry import FlowRegistry
    from tests.conversation_helpers import FLOWS_DIR

    chat, handoffs = await handed_off(coaches, parser)
    await chat.say("06-87654321")
    [update] = [n for n in handoffs.notices if n.key is Key.DESK_CASE_UPDATED]
    flows = FlowRegistry(FLOWS_DIR).current
    [message] = render.notice_messages(flows, update, coordinator_chat_id=999)
    text = str(message.params["text"])
    case = handoffs.cases[0].case_id
    assert f"Aanvraag #{case} bijgewerkt: telefoonnummer +31687654321" in text


@pytest.mark.parametrize("how", ["ask", "ja-to-the-robots-button"])
async def test_asking_for_a_coach_again_after_the_handoff_starts_no_second_intake(
    coaches, parser, how
):
    chat, handoffs = await handed_off(coaches, parser)
    if how == "ask":
        await chat.say("ik wil een coach spreken")
    else:
        await chat.say("ben je een robot?")
        assert [b.label for b in chat.buttons] == ["Praten met een coach"]
        await chat.say("ja")
    assert "loopt al" in chat.text, chat.text
    assert "al een aanvraag lopen" not in chat.text and "Klopt dit?" not in chat.text
    assert "noemen" not in chat.text.lower()
    assert len(handoffs.cases) == 1 and cards(handoffs) == 1
    assert not [n for n in handoffs.notices if n.key is Key.DESK_REQUESTED_AGAIN]


async def test_a_topic_question_after_the_handoff_offers_no_second_coach(coaches, parser):
    """FINDINGS 5 (tester, 6 Dec): the answer, then a word about the open request; never
    "Wil je dat een loopbaancoach contact met je opneemt?" again."""
    chat, handoffs = await handed_off(coaches, parser)
    await chat.say("hoeveel tijdelijke contracten mag een werkgever eigenlijk geven?")
    assert "3 tijdelijke contracten" in chat.text, chat.text
    assert "loopt al" in chat.last and "contact met je opneemt?" not in chat.text
    await chat.say("ja")
    assert "Klopt dit?" not in chat.text
    assert len(handoffs.cases) == 1 and cards(handoffs) == 1
    assert not [n for n in handoffs.notices if n.key is Key.DESK_REQUESTED_AGAIN]


async def test_after_the_case_is_closed_a_coach_can_be_asked_again(coaches, parser):
    from sqlmodel import Session

    from storage.models import Case, CaseStatus

    chat, handoffs = await handed_off(coaches, parser)
    engine = create_db_engine(coaches)
    with Session(engine) as session:
        case = session.get(Case, handoffs.cases[0].case_id)
        assert case is not None
        case.status = CaseStatus.CLOSED
        session.add(case)
        session.commit()
    await chat.say("ik wil een coach spreken")
    assert "loopt al" not in chat.text
    assert "Klopt dit?" in chat.last  # the short intake, with what is known


# 2. "overdag" -----------------------------------------------------------------------------------


async def at_best_time(url: str, parser: NluParser) -> tuple[Chat, Handoffs]:
    chat, handoffs = await start(url, parser, "ik wil een coach spreken")
    await chat.say("Sam")
    await chat.say("Tilburg")
    await chat.press("Telefoon")
    await chat.say("0612345678")
    assert "best bereiken" in chat.last
    return chat, handoffs


@pytest.mark.parametrize("typed", ["overdag", "bel me liever overdag", "tijdens kantooruren"])
async def test_daytime_at_the_best_time_question_is_asked_back(coaches, parser, typed):
    chat, handoffs = await at_best_time(coaches, parser)
    await chat.say(typed)
    assert "begreep ik niet" not in chat.text
    assert "ochtend of middag" in chat.last.lower(), chat.text
    assert [b.label for b in chat.buttons] == ["Ochtend", "Middag"]
    await chat.press("Middag")
    assert "Beste moment: Middag" in chat.last
    await chat.press(NL.yes)
    assert stored(handoffs)["best_time"] == "afternoon"


async def test_daytime_said_with_a_part_of_the_day_is_that_part(coaches, parser):
    chat, _ = await at_best_time(coaches, parser)
    await chat.say("overdag, het liefst 's ochtends")
    assert "Beste moment: Ochtend" in chat.last


async def test_daytime_as_a_correction_at_the_summary_is_asked_back(coaches, parser):
    chat, handoffs = await at_best_time(coaches, parser)
    await chat.press("Avond")
    assert "Beste moment: Avond" in chat.last
    await chat.say("bel me liever overdag")
    assert "begreep ik niet" not in chat.text
    assert "ochtend of middag" in chat.last.lower(), chat.text
    await chat.press("Ochtend")
    assert "Klopt dit?" in chat.last and "Beste moment: Ochtend" in chat.last
    await chat.press(NL.yes)
    assert stored(handoffs)["best_time"] == "morning"
    assert len(handoffs.cases) == 1


# 3. lead-ins of free-text answers ---------------------------------------------------------------


async def at_work_question(url: str, parser: NluParser) -> tuple[Chat, Handoffs]:
    chat, handoffs = await start(url, parser, "ik ben ontslagen")
    for _ in range(6):
        low = chat.last.lower()
        if "werk doe" in low:
            return chat, handoffs
        if "noemen" in low:
            await chat.say("Sam")
        elif "woonplaats" in low:
            await chat.say("Tilburg")
        else:
            await chat.press(chat.buttons[1].label)
    raise AssertionError(chat.transcript)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Werk: ik werk in de thuiszorg als verzorgende", "in de thuiszorg als verzorgende"),
        ("Antwoord: magazijnmedewerker", "magazijnmedewerker"),
        ("Nou, ik werk als heftruckchauffeur", "heftruckchauffeur"),
        ("ik werk", "ik werk"),  # nothing left after the lead-in: kept as typed
    ],
)
async def test_a_free_text_answer_is_stored_without_its_lead_in(coaches, parser, typed, kept):
    chat, handoffs = await at_work_question(coaches, parser)
    await chat.say(typed)
    assert "opleiding" in chat.last.lower(), chat.text
    await answer_until_summary(chat, NL)
    assert f"Werk: {kept}\n" in chat.last
    await chat.press(NL.yes)
    assert stored(handoffs)["sector"] == kept


# 4. a town corrected within the message at the name question -----------------------------------


async def test_a_town_corrected_at_the_name_question_is_kept_and_said(coaches, parser):
    chat, handoffs = await start(coaches, parser, "ik ben ontslagen")
    assert "noemen" in chat.last.lower()
    await chat.say("ik woon in Goirle, nou ja eigenlijk Riel")
    assert "Riel (gemeente Goirle" in chat.text  # a short acknowledgement
    assert "noemen" in chat.last.lower()  # and the name again
    await chat.say("Sam")
    assert "woonplaats" not in chat.last.lower()  # not asked again
    await answer_until_summary(chat, NL)
    assert "Woonplaats: Riel (gemeente Goirle, regio Midden-Brabant)" in chat.last
    await chat.press(NL.yes)
    assert stored(handoffs)["first_name"] == "Sam"


# 5. the situation at the name question ----------------------------------------------------------


@pytest.mark.parametrize("typed", ["ik ben ontslagen", "ik ben gisteren ontslagen"])
async def test_the_situation_at_the_name_question_is_heard_and_the_name_asked_again(
    coaches, parser, typed
):
    chat, handoffs = await start(
        coaches, parser, "ik heb een vraag over mijn baan, ik ben ontslagen"
    )
    assert "noemen" in chat.last.lower()
    for _ in range(2):  # said twice: the same short answer, no loop of long texts
        await chat.say(typed)
        assert "Dat begrijp ik" in chat.text, chat.text
        assert "eerder" not in chat.text
        assert "noemen" in chat.last.lower()
    await chat.say("Sam")
    await answer_until_summary(chat, NL)
    assert "Dank je, Sam." in chat.last
    assert "Situatie: Ik ben ontslagen of mijn contract stopt" in chat.last
    await chat.press(NL.yes)
    assert stored(handoffs)["first_name"] == "Sam"


# 6. education said in passing -------------------------------------------------------------------


async def test_education_said_in_a_correction_is_kept_for_later(coaches, parser):
    chat, handoffs = await start(coaches, parser, "ik ben ontslagen")
    await chat.say("Sam")
    await chat.say("Breda")
    await chat.say("oh wacht, ik woon eigenlijk in Tilburg, en ik heb trouwens hbo")
    assert "Tilburg" in chat.text
    asked: list[str] = []
    for _ in range(8):
        if "Klopt dit?" in chat.last:
            break
        asked.append(chat.last)
        low = chat.last.lower()
        if "werk doe" in low:
            await chat.say("schoonmaak")
        elif "graag willen" in low:
            await chat.say("snel weer werk")
        elif "telefoonnummer" in low:
            await chat.say("0612345678")
        elif "contact met je" in low:
            await chat.press("Telefoon")
        else:
            await chat.press(chat.buttons[0].label)
    assert not any("afgeronde opleiding" in q for q in asked), asked  # not asked again
    assert "Opleiding: Hbo of universiteit" in chat.last
    await chat.press(NL.yes)
    assert stored(handoffs)["education"] == "hbo_wo"


async def test_education_at_the_short_intakes_summary_is_kept_and_said(coaches, parser):
    chat, _ = await at_best_time(coaches, parser)
    await chat.press("Ochtend")
    await chat.say("ik heb trouwens hbo")
    assert "opleiding hbo of universiteit" in chat.text.lower(), chat.text
    assert "Klopt dit?" in chat.last


@pytest.mark.parametrize("wish", ["ik wil een hbo opleiding doen", "ik wil graag gaan studeren"])
async def test_a_wish_to_study_is_no_education(coaches, parser, wish):
    chat, _ = await at_work_question(coaches, parser)
    await chat.say("schoonmaak")
    await chat.press(chat.buttons[0].label)  # education: basic
    await chat.say(wish)  # the goal
    await answer_until_summary(chat, NL)
    assert "Opleiding: Basisschool of vmbo" in chat.last


# The tester's findings of the same day (/work/wt/FINDINGS.md, 1, 2, 4, 6, 9) -----------------


async def full_intake_at_best_time(url: str, parser: NluParser) -> tuple[Chat, Handoffs]:
    chat, handoffs = await start(url, parser, "ik ben ontslagen")
    for answer in ("Piet", "Tilburg", "ontslagen", "vast", "logistiek", "mbo", "ander werk"):
        await chat.say(answer)
    await chat.say("telefoon")
    await chat.say("0612345678")
    assert "best bereiken" in chat.last, chat.transcript
    return chat, handoffs


@pytest.mark.parametrize(
    ("typed", "education"),
    [
        ("opleiding is hbo en bel me liever s avonds", "Hbo of universiteit"),
        ("De opleiding was havo, niet mbo. En bel me liever 's avonds.", "Havo of vwo"),
    ],
)
async def test_a_correction_with_the_answer_keeps_both(coaches, parser, typed, education):
    chat, handoffs = await full_intake_at_best_time(coaches, parser)
    await chat.say(typed)
    assert f"Aangepast: Opleiding → {education}." in chat.text, chat.text
    assert f"Opleiding: {education}\n" in chat.last and "Beste moment: Avond" in chat.last
    await chat.press(NL.yes)
    assert stored(handoffs)["best_time"] == "evening"


async def test_mornings_in_english_at_the_summary(coaches, parser):
    service, handoffs = make_service(coaches, parser)
    chat = Chat(service)
    await chat.say(EN.human)
    await chat.press(EN.yes)
    await chat.say("Anna")
    await chat.say("I live in Tilburg")
    await chat.press("Phone")
    await chat.say("0612345678")
    await chat.press("Evening")
    await chat.say("phone is +31 6 11122233 and i prefer mornings")
    assert "Best time → Morning" in chat.text and "Phone number → +31611122233" in chat.text
    await chat.say("i prefer afternoons")
    assert "Best time → Afternoon" in chat.text, chat.text
    await chat.press("Yes")
    assert stored(handoffs)["best_time"] == "afternoon"


async def test_thanks_at_the_name_question_is_not_a_name(coaches, parser):
    chat, _handoffs = await start(coaches, parser, "ik wil een coach spreken")
    await chat.say("Dank u wel!")
    assert "Dank U" not in chat.text and "je naam?" not in chat.text
    assert "noemen" in chat.last.lower() or "voornaam" in chat.last.lower(), chat.text


async def test_a_phone_number_at_the_contact_question_is_the_phone(coaches, parser):
    chat, _handoffs = await start(coaches, parser, "ik wil een coach spreken")
    await chat.say("Piet")
    await chat.say("Tilburg")
    assert "contact met je" in chat.last
    await chat.say("06 12345678")
    assert "Genoteerd: telefoonnummer +31612345678." in chat.text, chat.text
    assert "best bereiken" in chat.last
    await chat.press("Avond")
    assert "Contact via: Telefoon" in chat.last and "Telefoon: +31612345678" in chat.last


@pytest.mark.parametrize("typed", ["maakt nie uit eigenlijk", "maakt me niet zoveel uit"])
async def test_does_not_matter_in_other_words(coaches, parser, typed):
    chat, _ = await at_best_time(coaches, parser)
    await chat.say(typed)
    assert "Beste moment: Maakt niet uit" in chat.last, chat.text


async def test_a_wish_at_the_goal_question_is_the_goal(coaches, parser):
    """Guard: "ik ben ontslagen" at the name question is a situation, but a topic's words at
    "what would you like?" are the answer."""
    chat, _handoffs = await full_intake_at_best_time(coaches, parser)
    await chat.press("Avond")
    assert "Wat je wilt: ander werk" in chat.last


@pytest.mark.parametrize("typed", ["ja", "overslaan maar"])
async def test_a_typed_yes_to_the_skip_offer_skips_that_question(coaches, parser, typed):
    """FINDINGS 0a: "ja" to "Zullen we deze vraag overslaan?" was not understood, "overslaan
    maar" cancelled the whole intake."""
    chat, _ = await start(coaches, parser, "ik ben ontslagen")
    await chat.say("Piet")
    await chat.say("Tilburg")
    for nonsense in ("tja", "weet ik veel", "hmm tja"):
        if "overslaan?" in chat.last:
            break
        await chat.say(nonsense)
    assert "overslaan?" in chat.last, chat.transcript
    await chat.say(typed)
    assert "contract" in chat.last.lower(), chat.text  # the next question
    assert "gestopt" not in chat.text


async def test_overslaan_at_a_question_skips_it_and_keeps_the_intake(coaches, parser):
    chat, _ = await at_work_question(coaches, parser)
    await chat.say("overslaan maar")
    assert "gestopt" not in chat.text
    assert "afgeronde opleiding" in chat.last, chat.text


@pytest.mark.parametrize("typed", ["bel me liever na 17:00", "liever na 18.00 uur"])
async def test_a_time_at_the_summary_changes_the_best_time(coaches, parser, typed):
    """FINDINGS 23."""
    chat, _ = await at_best_time(coaches, parser)
    await chat.press("Middag")
    await chat.say(typed)
    assert "Aangepast: Beste moment → Avond." in chat.text, chat.text


async def test_hello_after_the_handoff_says_the_request_is_open(coaches, parser):
    """FINDINGS 18: not the first-visit greeting and the menu with "Praten met een coach"."""
    chat, handoffs = await handed_off(coaches, parser)
    await chat.say("hallo?")
    assert "loopt al" in chat.text, chat.text
    assert not chat.buttons
    assert len(handoffs.cases) == 1 and cards(handoffs) == 1


async def test_hand_over_in_words_at_the_skip_offer(coaches, parser):
    """FINDINGS 36: "geef maar door wat je al weet" is the offer's own second button."""
    chat, handoffs = await start(coaches, parser, "ik ben ontslagen")
    await chat.say("Piet")
    await chat.say("Tilburg")
    for nonsense in ("tja", "weet ik veel", "hmm tja"):
        if "overslaan?" in chat.last:
            break
        await chat.say(nonsense)
    await chat.say("geef maar door wat je al weet")
    assert "Klopt dit?" in chat.last, chat.text
    await chat.press(NL.yes)
    assert stored(handoffs)["first_name"] == "Piet"


@pytest.mark.parametrize(("typed", "shown"), [("nee sorry Helvoirt", "Helvoirt (gemeente Vught")])
async def test_no_sorry_and_a_village_at_the_summary_is_the_new_town(coaches, parser, typed, shown):
    """FINDINGS 16."""
    chat, _ = await at_best_time(coaches, parser)
    await chat.press("Middag")
    await chat.say(typed)
    assert f"Aangepast: Woonplaats → {shown}" in chat.text, chat.text
    assert "Wat wil je aanpassen?" not in chat.text


async def test_a_correction_after_handing_over_what_is_known_asks_nothing_more(coaches, parser):
    """Seen in the person trial of the fixes: after "Geef door wat je al weet", "nee sorry
    Helvoirt" at the summary went back and asked the skipped questions again."""
    chat, handoffs = await start(coaches, parser, "ik ben ontslagen")
    await chat.say("Piet")
    await chat.say("Tilburg")
    for nonsense in ("tja", "weet ik veel", "hmm tja"):
        if "overslaan?" in chat.last:
            break
        await chat.say(nonsense)
    await chat.press("Geef door wat je al weet")
    assert "Klopt dit?" in chat.last
    await chat.say("nee sorry Helvoirt")
    assert "Aangepast: Woonplaats → Helvoirt" in chat.text
    assert "Klopt dit?" in chat.last, chat.text
    await chat.press(NL.yes)
    assert stored(handoffs)["gemeente"] == "Vught"
