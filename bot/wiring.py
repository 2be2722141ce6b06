"""Assemble the conversation service from settings (used by `careerbot chat` and `run`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from bot.config import Settings
from bot.conversation import ConversationService
from bot.engine.language import detector
from bot.flows.registry import FlowRegistry
from bot.flowtests.gate import judge
from bot.flowtests.releases import recorder
from bot.nlu.admission import Admission
from bot.nlu.client import NluClient
from storage.database import create_db_engine, upgrade


@dataclass
class Conversation:
    service: ConversationService
    flows: FlowRegistry  # run `flows.watch()` as a task to reload on change
    nlu: NluClient
    db: Engine
    parser: Admission  # what the service asks: the client behind the overload policy

    async def aclose(self) -> None:
        await self.nlu.aclose()
        self.db.dispose()


def build_conversation(settings: Settings) -> Conversation:
    """Migrate the database, load the flows (raises FlowsInvalid when they fail a check or a
    conversation test), connect the NLU client."""
    upgrade(settings.database_url)
    detector()  # load the language models now, not during someone's first message
    db = create_db_engine(settings.database_url)
    # New flow files go live only when every check and every conversation test passes.
    flows = FlowRegistry(
        settings.flows_dir, nlu_dir=settings.nlu_dir, judge=judge, record=recorder(db)
    )
    nlu = NluClient(
        settings.rasa_url, timeout=settings.nlu_timeout_seconds, retries=settings.nlu_retries
    )
    # The turn's NLU budget counts from the turn's start; Rasa is asked by a bounded
    # number of turns at a time (the overload policy, bot/nlu/admission.py).
    admitted = Admission(
        nlu, budget=settings.nlu_timeout_seconds, max_in_flight=settings.nlu_max_in_flight
    )
    service = ConversationService(engine=db, flows=flows, nlu=admitted)
    return Conversation(service, flows, nlu, db, admitted)
