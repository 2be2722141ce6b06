"""Issue 16 end to end: the seasonal agency worker of the issue, replayed on Telegram (the real
bot over python-telegram-bot's HTTP path against the fake Bot API) with the real Rasa server.

Every answer is typed in words; a question comes in between; the summary is corrected in one
sentence. The coach's card must read "Naaldwijk (gemeente Westland, regio Haaglanden)",
education "Anders", best moment "Avond", contact "Via dit chatgesprek", and the long
agency-work text must have been sent once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram, buttons_of
from tests.telegram.test_handoff import World, start_world

pytestmark = pytest.mark.rasa

PIOTR = 6101
COACH_HAAGLANDEN = 7101
AGENCY = "Uitzendwerk gaat in fases"


@pytest.fixture
async def world(fake_telegram: FakeTelegram, tmp_path: Path, rasa_url: str) -> AsyncIterator[World]:
    world = await start_world(
        fake_telegram, tmp_path, rasa_url, [("Dewi Bakker", COACH_HAAGLANDEN, "FNV", ["AM21"])]
    )
    try:
        yield world
    finally:
        await world.assembled.aclose()


async def test_the_issue_transcript_in_words_ends_in_the_right_card(world: World) -> None:
    piotr = world.user(PIOTR, "Piotr")
    dewi = world.user(COACH_HAAGLANDEN, "Dewi")

    labels: list[str] = []

    async def say(text: str, expect: str) -> str:
        replies = await piotr.say(text)
        shown = "\n".join(m["text"] for m in replies)
        assert expect.lower() in shown.lower(), f"{text!r} → {piotr.texts()[-4:]}"
        labels[:] = [b["text"] for m in replies for b in buttons_of(m)]
        return shown

    await say(
        "hoi, ik werk via een uitzendbureau in de kassen, ik weet niet hoe lang nog",
        "Vind je het goed",
    )
    replies = await piotr.press("Ja")
    assert AGENCY in "\n".join(m["text"] for m in replies)  # the agency rules, once
    await say("ja graag", "Hoe mag ik je noemen")
    await say("Piotr", "woonplaats")
    await say("Westland", "situatie")
    await say("mijn contract stopt misschien", "Wat voor werk")
    # a question in between: answered, and the question comes back
    shown = await say("hoe zat het ook alweer met fase a bij uitzendwerk?", "Wat voor werk")
    assert AGENCY not in shown and "Nog een keer lezen" in labels
    await say("tomaten plukken in de kas", "opleiding")
    await say("in polen heb ik technische school gedaan, hier niks", "graag willen")
    await say("vast werk met meer zekerheid", "contact met je opneemt")
    await say("bel me maar", "telefoonnummer")
    await say("06 12345678", "bereiken")
    summary = await say("na 6 uur savonds", "Klopt dit?")
    assert "Beste moment: Avond" in summary and "Woonplaats: Westland" in summary
    summary = await say(
        "bijna, ik woon eigenlijk in naaldwijk en ik wil liever via de chat", "Klopt dit?"
    )
    assert "Woonplaats: Naaldwijk (gemeente Westland, regio Haaglanden)" in summary
    assert "Contact via: Via dit chatgesprek" in summary
    await piotr.press("Ja")

    (card,) = await dewi.read()
    text = card["text"]
    assert "Naaldwijk (gemeente Westland, regio Haaglanden)" in text
    assert "Opleiding:</b> Anders" in text
    assert "Beste moment:</b> Avond" in text
    assert "Via dit chatgesprek" in text
    everything = "\n".join(piotr.texts())
    assert everything.count(AGENCY) == 1
    assert "helaas niet mee helpen" not in everything and "ken ik niet" not in everything
