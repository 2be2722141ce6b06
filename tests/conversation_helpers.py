"""Test helpers for whole conversations: a chat driver, a recording notifier, a fake NLU.

The fake NLU is a test double at the NLU edge for pure engine tests; conversation tests that
must show real understanding use the real Rasa server (tests marked `rasa`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import PROJECT_ROOT
from bot.conversation import ConversationService
from bot.desk.notices import CoachRef, Notice
from bot.engine.messages import Button, Inbound, Reply
from bot.flows.registry import FlowRegistry
from bot.nlu.client import IntentScore, NluClient, NluParser, NluResult
from storage.database import create_db_engine

FLOWS_DIR = PROJECT_ROOT / "flows"
NLU_DIR = PROJECT_ROOT / "nlu"


class FakeNlu:
    """Maps substrings to intents, first match wins; everything else is `nlu_fallback`."""

    def __init__(
        self,
        rules: dict[str, str] | None = None,
        *,
        confidence: float = 0.95,
        fallback_ranking: tuple[IntentScore, ...] = (),
        entities: dict[str, tuple[tuple[str, str], ...]] | None = None,
    ) -> None:
        self.rules = rules or {}
        self.confidence = confidence
        self.fallback_ranking = fallback_ranking
        self.entities = entities or {}
        self.calls: list[str] = []

    async def parse(self, text: str) -> NluResult:
        from bot.nlu.client import Entity

        self.calls.append(text)
        lowered = text.lower()
        for needle, intent in self.rules.items():
            if needle in lowered:
                ents = tuple(Entity(e, v) for e, v in self.entities.get(needle, ()))
                return NluResult(
                    intent=intent,
                    confidence=self.confidence,
                    entities=ents,
                    ranking=(IntentScore(intent, self.confidence),),
                )
        return NluResult(intent="nlu_fallback", confidence=0.3, ranking=self.fallback_ranking)


DEFAULT_RULES = {
    "baan kwijt": "job_loss",
    "ontslagen": "job_loss",
    "lost my job": "job_loss",
    "contract word": "job_loss",
    "nulurencontract": "flex_contract",
    "flexcontract": "flex_contract",
    "zero hours": "flex_contract",
    "opleiding": "training_question",
    "course": "training_question",
    "loopbaan": "career_orientation",
    "coach spreken": "talk_to_human",
    "real person": "talk_to_human",
    "wat kost": "ask_cost",
    "cost": "ask_cost",
    "wie zijn jullie": "ask_about_service",
    "privacy": "privacy_question",
    "ben je een bot": "bot_challenge",
    "are you a bot": "bot_challenge",
    "hallo": "greet",
    "bedankt": "thanks",
    "doei": "goodbye",
    "pizza": "out_of_scope",
}


@dataclass
class Line:
    slot: str
    value: str
    raw: str
    role: str


@dataclass
class HandedOff:
    """A case as stored, with the notice that went to the coach or the coordinator."""

    case_id: int
    topic: str | None
    region_code: str | None
    language: str
    coach: CoachRef | None
    summary: list[Line]
    notice: Notice

    @property
    def contact_method(self) -> str | None:
        return next((line.raw for line in self.summary if line.role == "contact_method"), None)

    def card_html(self, coordinator_chat_id: int = 999) -> str:
        """The card as the Telegram coach desk sends it."""
        from bot.channels.telegram import render

        flows = FlowRegistry(FLOWS_DIR).current
        parts = render.notice_messages(flows, self.notice, coordinator_chat_id=coordinator_chat_id)
        return "\n".join(str(p.params["text"]) for p in parts)


class Handoffs:
    """Records what turns hand to the desk; `cases` reads the cases back from the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.notices: list[Notice] = []

    @property
    def cases(self) -> list[HandedOff]:
        from sqlmodel import Session, col, select

        from bot.desk.service import coach_ref
        from storage.models import Case, Coach

        found = []
        with Session(self._engine) as session:
            for case in session.exec(select(Case).order_by(col(Case.id))).all():
                coach = session.get(Coach, case.coach_id) if case.coach_id else None
                notice = next(
                    n for n in reversed(self.notices) if n.case_id == case.id and n.card is not None
                )
                found.append(
                    HandedOff(
                        case.id or 0,
                        case.topic,
                        case.region_code,
                        case.language,
                        coach_ref(coach) if coach else None,
                        [
                            Line(d["slot"], d["value"], d.get("raw", ""), d.get("role", ""))
                            for d in case.summary
                        ],
                        notice,
                    )
                )
        return found


class RecordingService:
    """The conversation service, remembering the desk's notices of every turn."""

    def __init__(self, service: ConversationService, handoffs: Handoffs) -> None:
        self.service = service
        self.handoffs = handoffs

    async def handle(self, channel: str, external_id: str, inbound: Inbound) -> list[Reply]:
        outcome = await self.service.handle(channel, external_id, inbound)
        self.handoffs.notices.extend(outcome.notices)
        return outcome.replies

    def __getattr__(self, name: str) -> object:
        return getattr(self.service, name)


def make_service(url: str, nlu: NluParser, **_: object) -> tuple[RecordingService, Handoffs]:
    engine = create_db_engine(url)
    service = ConversationService(
        engine=engine, flows=FlowRegistry(FLOWS_DIR, nlu_dir=NLU_DIR), nlu=nlu
    )
    handoffs = Handoffs(engine)
    return RecordingService(service, handoffs), handoffs


class Chat:
    """Drives one participant's conversation and remembers the last replies."""

    def __init__(self, service: RecordingService, user: str = "u1", channel: str = "test"):
        self.service = service
        self.user = user
        self.channel = channel
        self.replies: list[Reply] = []
        self.transcript: list[str] = []

    async def send(self, inbound: Inbound) -> list[Reply]:
        self.replies = await self.service.handle(self.channel, self.user, inbound)
        assert self.replies, "every turn must answer"
        self.transcript.append(f"> {inbound.text or inbound.payload}")
        self.transcript.extend(r.text for r in self.replies)
        return self.replies

    async def say(self, text: str) -> list[Reply]:
        return await self.send(Inbound(text=text))

    async def press(self, label: str) -> list[Reply]:
        """Press the button whose label contains `label` (case-insensitive)."""
        matches = [b for b in self.buttons if label.lower() in b.label.lower()]
        assert matches, f"no button {label!r} in {[b.label for b in self.buttons]}"
        return await self.send(Inbound(payload=matches[0].payload))

    @property
    def buttons(self) -> list[Button]:
        return [b for r in self.replies for b in r.buttons]

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    @property
    def last(self) -> str:
        return self.replies[-1].text

    def asked(self, fragment: str) -> bool:
        return fragment.lower() in self.last.lower()


def fake_or_rasa(fake: Callable[[], NluParser]) -> Any:
    """A `parser` fixture that runs each test twice: with the fake parser `fake()` builds, and
    with the real Rasa server (marked `rasa`). In a test module: `parser = fake_or_rasa(...)`."""

    @pytest.fixture(params=["fake", pytest.param("rasa", marks=pytest.mark.rasa)])
    async def parser(request: pytest.FixtureRequest) -> AsyncIterator[NluParser]:
        if request.param == "fake":
            yield fake()
            return
        client = NluClient(request.getfixturevalue("rasa_url"), timeout=10.0, retries=1)
        yield client
        await client.aclose()

    return parser
