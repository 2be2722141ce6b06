"""Run conversation tests through the real engine and storage.

Each test gets its own SQLite database (a copy of one migrated with the Alembic history, so
the schema is the real one), with the coaches of its file. Every line goes through
`ConversationService.apply` in a transaction, exactly as a Telegram update does; the state,
the case and the coach's card are read back from the database. The NLU is the test's own
reading of each line (`annotated`, fast and independent of the model), or the real Rasa server
(`rasa`, to see that the model and the flows still fit together).
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from bot.conversation import ConversationService, Prepared
from bot.desk.coach_actions import accept
from bot.desk.notices import Notice, To
from bot.desk.people import coach_ref
from bot.desk.render import card_lines, headline
from bot.engine.executor import pending_step
from bot.engine.messages import Inbound, Reply
from bot.engine.slot_values import clean_text
from bot.engine.state import ConversationState
from bot.flows import trace
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from bot.flows.models import ActionName, ActionStep, CollectStep, Language, SlotType
from bot.flowtests.expect import (
    Mismatch,
    check_buttons,
    check_flow,
    check_replies,
    check_slots,
    find_button,
    offered,
    text_in,
)
from bot.flowtests.spec import Case, HandoffExpectation, TestStep
from bot.gemeenten import resolve_region
from bot.nlu.client import Entity, IntentScore, NluResult
from bot.scheduler.jobs import JobContext, ToParticipant, send_follow_ups
from storage import cases as case_store
from storage.coaches import add_coach, get_coach
from storage.conversations import load_turn_context
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import Union

log = logging.getLogger(__name__)
NluMode = Literal["annotated", "rasa"]
ANNOTATED_CONFIDENCE = 0.95
PATTERNS = {
    "digression": "digression and resume",
    "correction": "correction in words at the summary",
    "cancel": "cancel",
    "clarification": "clarification (buttons when unsure)",
    "escalation": "escalation after repeated misunderstanding",
    "declined_consent": "declined consent",
}
_AMSTERDAM = ZoneInfo("Europe/Amsterdam")


# -- reading a line ----------------------------------------------------------------------------


def annotated_reading(step: TestStep) -> NluResult:
    """The NLU result a test line says it should get. Without `intent:` the model is taken to
    recognise nothing (nlu_fallback), as for a name or a town."""
    entities = tuple(Entity(name, value) for name, value in step.entities.items())
    if step.intent is None:
        return NluResult("nlu_fallback", 0.3, entities)
    if isinstance(step.intent, str):
        score = IntentScore(step.intent, ANNOTATED_CONFIDENCE)
        return NluResult(step.intent, ANNOTATED_CONFIDENCE, entities, (score,))
    ranked = sorted(step.intent.items(), key=lambda item: -item[1])
    top, confidence = ranked[0]
    ranking = tuple(IntentScore(n, c) for n, c in ranked if n != "nlu_fallback")
    return NluResult(top, confidence, entities, ranking)


class RasaUnavailable(Exception):
    pass


class RasaReader:
    """The real model, over HTTP (synchronous: a test line waits for its reading anyway)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def read(self, text: str) -> NluResult:
        try:
            response = self._http.post("/model/parse", json={"text": text})
            response.raise_for_status()
            result = NluResult.from_rasa(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(
                f"the Rasa server at {self.url} does not answer ({type(exc).__name__}); "
                "start it with `careerbot nlu serve`"
            ) from exc
        if not result.available:
            raise RasaUnavailable(f"the Rasa server at {self.url} gave no reading")
        return result

    def close(self) -> None:
        self._http.close()


# -- results -----------------------------------------------------------------------------------


@dataclass
class Turn:
    line: int
    said: str  # 'user: "…"', 'button: Ja', 'event: follow_up'
    replies: list[Reply]
    read_as: str | None = None  # the intent the NLU gave, for typed lines


@dataclass
class Failure:
    step: int
    line: int
    mismatches: list[Mismatch]


@dataclass
class CaseResult:
    case: Case
    turns: list[Turn] = field(default_factory=list)
    failure: Failure | None = None
    seconds: float = 0.0
    skipped: str | None = None  # why it did not run

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass
class Coverage:
    steps: set[tuple[str, str]] = field(default_factory=set)
    links: set[tuple[str, str, int]] = field(default_factory=set)
    flows: dict[str, set[str]] = field(default_factory=lambda: {"nl": set(), "en": set()})
    patterns: dict[str, set[str]] = field(default_factory=lambda: {"nl": set(), "en": set()})


@dataclass
class RunResult:
    results: list[CaseResult]
    coverage: Coverage
    seconds: float

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def skipped(self) -> list[CaseResult]:
        return [r for r in self.results if r.skipped]


# -- the database ------------------------------------------------------------------------------


class _Template:
    """One migrated database per process; each test starts from a copy of it."""

    _lock = threading.Lock()
    _path: Path | None = None
    _directory: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def path(cls) -> Path:
        with cls._lock:
            if cls._path is None or not cls._path.exists():
                cls._directory = tempfile.TemporaryDirectory(prefix="careerbot-flowtests-")
                path = Path(cls._directory.name) / "template.db"
                migrations = logging.getLogger("alembic")
                level = migrations.level
                migrations.setLevel(logging.WARNING)  # one line per migration is noise here
                try:
                    upgrade(f"sqlite:///{path}")
                finally:
                    migrations.setLevel(level)
                conn = sqlite3.connect(path)  # everything in the main file, not the WAL
                try:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    conn.execute("PRAGMA journal_mode=DELETE")
                finally:
                    conn.close()
                cls._path = path
            return cls._path


class _Fixed:
    """The flows under test (a FlowSource that never reloads)."""

    def __init__(self, flows: FlowSet) -> None:
        self.current = flows


class _NoNlu:
    async def parse(self, text: str) -> NluResult:  # never called: readings come with the line
        return NluResult.unavailable()


# -- logs --------------------------------------------------------------------------------------


class _TurnLogs(logging.Filter):
    """While tests run in this thread: turn logs are dropped, errors are kept for the report."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.errors: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread or record.name.startswith(__name__):
            return True
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())
        return False


@contextmanager
def _quiet_turns() -> Iterator[_TurnLogs]:
    logs = _TurnLogs()
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(logs)
    # Records below the handlers' level are not created at all; errors always are.
    try:
        yield logs
    finally:
        for handler in handlers:
            handler.removeFilter(logs)


# -- running -----------------------------------------------------------------------------------


def run_cases(
    flows: FlowSet,
    cases: list[Case],
    *,
    nlu: NluMode = "annotated",
    rasa: RasaReader | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> RunResult:
    """Run every case; `on_result` is called after each (progress output)."""
    started = time.perf_counter()
    coverage = Coverage()
    results = []
    with tempfile.TemporaryDirectory(prefix="careerbot-flowtest-") as work, _quiet_turns() as logs:
        database = Path(work) / "flowtests.db"
        shutil.copyfile(_Template.path(), database)
        # One engine for the run (its compiled statements are reused); every test starts from
        # empty tables.
        engine = create_db_engine(f"sqlite:///{database}")
        try:
            for case in cases:
                _empty(engine)
                result = _CaseRun(flows, case, engine, nlu, rasa, coverage, logs).run()
                results.append(result)
                if on_result is not None:
                    on_result(result)
        finally:
            engine.dispose()
    return RunResult(results, coverage, time.perf_counter() - started)


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


class _CaseRun:
    def __init__(
        self,
        flows: FlowSet,
        case: Case,
        engine: Engine,
        nlu: NluMode,
        rasa: RasaReader | None,
        coverage: Coverage,
        logs: _TurnLogs,
    ) -> None:
        self.flows = flows
        self.case = case
        self.engine = engine
        self.nlu = nlu
        self.rasa = rasa
        self.coverage = coverage
        self.logs = logs
        self.service = ConversationService(engine=engine, flows=_Fixed(flows), nlu=_NoNlu())
        self.channel = case.spec.channel
        self.user = f"test-{case.line}"
        self.result = CaseResult(case)
        self.recorder = trace.Recorder()
        self.replies: list[Reply] = []
        self.state = ConversationState()
        # Nothing asked twice: slot → turn it was first known in; turns that may re-ask.
        self.known_since: dict[str, int] = {}
        self.reset_at = -1  # the last turn a correction started or consent was refused

    def run(self) -> CaseResult:
        started = time.perf_counter()
        if self.nlu == "rasa" and any(isinstance(s.intent, dict) for s in self.case.spec.steps):
            # An unsure reading written out ({nlu_fallback: 0.4, ...}) tests the engine's
            # repair, not the model: it cannot be reproduced with the real one.
            self.result.skipped = "it gives an NLU reading with confidences"
            return self.result
        self._seed_coaches()
        with trace.recording(self.recorder):
            for index, step in enumerate(self.case.spec.steps):
                mismatches = self._turn(index, step)
                if mismatches:
                    line = self.case.step_lines[index]
                    self.result.failure = Failure(index, line, mismatches)
                    break
        self.coverage.steps |= self.recorder.steps
        self.coverage.links |= self.recorder.links
        self.result.seconds = time.perf_counter() - started
        return self.result

    def _seed_coaches(self) -> None:
        with session_scope(self.engine) as session:
            for i, coach in enumerate(self.case.coaches):
                regions = [r.code for name in coach.regions if (r := resolve_region(name))]
                add_coach(
                    session,
                    name=coach.name,
                    telegram_id=9_000_000 + i,
                    union=Union(coach.union),
                    regions=regions,
                    capacity=coach.capacity,
                )

    # -- one step ------------------------------------------------------------------------------

    def _turn(self, index: int, step: TestStep) -> list[Mismatch]:
        line = self.case.step_lines[index]
        before = self.state
        self.recorder.new_turn()
        errors_before = len(self.logs.errors)
        if step.event is not None:
            turn = self._event(line, step.event)
            if isinstance(turn, Mismatch):
                return [turn]
            case_id = None
            notices: list[Notice] = []
        elif step.button is not None:
            pressed = find_button(step.button, offered(self.replies))
            if isinstance(pressed, str):
                return [Mismatch("button", (f"press {step.button!r}",), (pressed,))]
            outcome = self._apply(Inbound(payload=pressed.payload), None)
            turn = Turn(line, f"button: {pressed.label}", outcome.replies)
            case_id, notices = outcome.case_id, outcome.notices
        else:
            text = clean_text(step.user or "")
            reading = self._read(step, text)
            if isinstance(reading, Mismatch):
                return [reading]
            outcome = self._apply(Inbound(text=text), reading)
            read_as = reading.intent if self.nlu == "rasa" or step.intent is not None else None
            turn = Turn(line, f'user: "{step.user}"', outcome.replies, read_as)
            case_id, notices = outcome.case_id, outcome.notices
        self.result.turns.append(turn)
        self.replies = turn.replies
        self.state = self._load_state()
        mismatches = [
            Mismatch("engine", ("a reply",), ("the engine failed: " + message,))
            for message in self.logs.errors[errors_before:]
        ]
        language = step.language or self.case.spec.language
        mismatches += self._check(step, turn.replies, language)
        mismatches += self._check_handoff(step, case_id, notices)
        mismatches += self._asked_twice(index, before)
        if self.state.language != language:
            mismatches.append(
                Mismatch("language", (language,), (f"{self.state.language} (the bot speaks)",))
            )
        self._cover()
        return mismatches

    def _read(self, step: TestStep, text: str) -> NluResult | Mismatch:
        if self.nlu == "annotated" or self.rasa is None:
            return annotated_reading(step)
        reading = self.rasa.read(text)
        wanted = step.intent if isinstance(step.intent, str) else None
        if wanted is not None and reading.intent != wanted:
            return Mismatch(
                "intent",
                (f"read as {wanted}",),
                (f"the model reads {reading.intent} ({reading.confidence:.2f})",),
            )
        return reading

    def _apply(self, inbound: Inbound, reading: NluResult | None) -> _Outcome:
        prepared = Prepared(self.channel, self.user, inbound, reading, asked_nlu=True)
        with session_scope(self.engine) as session:
            outcome = self.service.apply(session, prepared)
        return _Outcome(outcome.replies, outcome.case_id, outcome.notices)

    def _load_state(self) -> ConversationState:
        with Session(self.engine) as session:
            loaded = load_turn_context(session, channel=self.channel, external_id=self.user)
            return ConversationState.model_validate(loaded.conversation.state or {})

    # -- events (what happens without a message) -----------------------------------------------

    def _event(self, line: int, event: str) -> Turn | Mismatch:
        with session_scope(self.engine) as session:
            participant = load_turn_context(
                session, channel=self.channel, external_id=self.user
            ).participant_id
            case = case_store.open_case_of_participant(session, participant_id=participant)
            if event == "coach_accepts" or (case is not None and case.accepted_at is None):
                if case is None or case.id is None or case.coach_id is None:
                    return Mismatch(
                        "event", ("a case with a coach",), ("no case assigned to a coach",)
                    )
                coach = get_coach(session, coach_id=case.coach_id)
                assert coach is not None
                notices = accept(session, case_id=case.id, coach=coach_ref(coach))
                accepted_at = case.accepted_at
            else:
                notices, accepted_at = [], case.accepted_at if case else None
        replies = [Reply(headline(self.flows, n)) for n in notices if n.to is To.PARTICIPANT]
        if event == "follow_up":
            if accepted_at is None:
                return Mismatch("event", ("a case a coach accepted",), ("no accepted case",))
            replies = self._follow_up(accepted_at)
        return Turn(line, f"event: {event}", replies)

    def _follow_up(self, accepted_at: datetime) -> list[Reply]:
        """The scheduler's sweep, at 11:00 on the day the follow-up is due."""
        if accepted_at.tzinfo is None:  # SQLite gives stored times back without a zone
            accepted_at = accepted_at.replace(tzinfo=UTC)
        due = accepted_at + JobContext(now=accepted_at, flows=self.flows).timings.follow_up_after
        day = due.astimezone(_AMSTERDAM).date() + timedelta(days=1)
        now = datetime(day.year, day.month, day.day, 11, tzinfo=_AMSTERDAM).astimezone(
            accepted_at.tzinfo
        )
        with session_scope(self.engine) as session:
            result = send_follow_ups(session, JobContext(now=now, flows=self.flows))
        return [r for d in result.deliveries if isinstance(d, ToParticipant) for r in d.replies]

    # -- checks --------------------------------------------------------------------------------

    def _check(self, step: TestStep, replies: list[Reply], language: Language) -> list[Mismatch]:
        found = []
        if step.bot is not None:
            found.append(check_replies(self.flows, step.bot, replies, language))
        if step.buttons is not None:
            found.append(check_buttons(step.buttons, replies))
        if step.slots is not None:
            found.append(check_slots(self.flows, step.slots, self.state.known(), language))
        if step.expects("flow"):
            found.append(check_flow(step.flow, [f.flow for f in self.state.stack]))
        return [m for m in found if m is not None]

    def _check_handoff(
        self, step: TestStep, case_id: int | None, notices: list[Notice]
    ) -> list[Mismatch]:
        expected = step.handoff
        card = next((n for n in notices if n.card is not None), None)
        if case_id is None or card is None:
            if isinstance(expected, HandoffExpectation):
                return [Mismatch("handoff", ("a case for a coach",), ("no case was made",))]
            return []
        who = (
            "coordinator" if card.to is To.COORDINATOR else (card.coach.name if card.coach else "?")
        )
        assert card.card is not None
        lines = card_lines(self.flows, card.card, "nl")
        with Session(self.engine) as session:
            stored = case_store.get_case(session, case_id=case_id)
            topic = stored.topic if stored else None
        actual = (f"to: {who}", f"topic: {topic}", *(f"{label}: {value}" for label, value in lines))
        if not isinstance(expected, HandoffExpectation):
            if expected is None and not step.expects("handoff"):
                return [Mismatch("handoff", ("no case (add `handoff:` if one is meant)",), actual)]
            return [Mismatch("handoff", ("no case",), actual)]
        wrong: list[str] = []
        if expected.to is not None and expected.to.strip().lower() != who.lower():
            wrong.append(f"to: {expected.to}")
        if expected.topic is not None and expected.topic != topic:
            wrong.append(f"topic: {expected.topic}")
        shown = {" ".join(label.lower().split()): value for label, value in lines}
        for label, value in expected.card.items():
            if " ".join(shown.get(" ".join(label.lower().split()), "").split()) != " ".join(
                str(value).split()
            ):
                wrong.append(f"{label}: {value}")
        return [Mismatch("handoff", tuple(wrong), actual)] if wrong else []

    def _asked_twice(self, index: int, before: ConversationState) -> list[Mismatch]:
        """A question is never asked again once it was answered (or said in passing), unless
        the person corrected something or refused consent (then nothing they said is kept).
        A yes/no confirmation that is always asked (`ask_before_filling`) may come back later,
        but never in the turn that answered it."""
        commands = set(self.recorder.commands)
        if commands & {"StartCorrection", "CorrectSlots"} or self._forgot():
            self.reset_at = index
        found = []
        asked = self._asked_now()
        if asked is not None:
            slot, step = asked
            answered = self.state.known().get(slot) is not None and before.known().get(slot) is None
            if answered and not commands & {"StartCorrection", "CorrectSlots"}:
                return [
                    Mismatch(
                        "asked twice",
                        ("nothing asked twice",),
                        (f"asks {slot} again in the turn it was answered",),
                    )
                ]
            since = self.known_since.get(slot)
            confirmation = (
                step.ask_before_filling and self.flows.slots[slot].type is SlotType.YES_NO
            )
            if since is not None and since > self.reset_at and not confirmation:
                value = before.known().get(slot)
                was = f" (it was {value!r})" if value is not None else " (and then forgotten)"
                line = self.case.step_lines[since]
                found.append(
                    Mismatch(
                        "asked twice",
                        ("nothing asked twice",),
                        (f"asks {slot} again, known since line {line}{was}",),
                    )
                )
        for slot, value in self.state.known().items():
            earlier = self.known_since.get(slot, self.reset_at)
            if value is not None and slot in self.flows.slots and earlier <= self.reset_at:
                self.known_since[slot] = index
        return found

    def _forgot(self) -> bool:
        for flow, sid in self.recorder.turn_steps:
            cf = self.flows.flows.get(flow)
            step = cf.step(sid) if cf else None
            if isinstance(step, ActionStep) and step.action in (
                ActionName.REFUSE_CONSENT,
                ActionName.WITHDRAW_CONSENT,
            ):
                return True
        return False

    def _asked_now(self) -> tuple[str, CollectStep] | None:
        """The question this turn ended with, if it asked one."""
        step = pending_step(self.flows, self.state)
        if step is None:
            return None
        slot = self.flows.slots[step.collect]
        ask = step.ask or slot.ask
        if ask is None:
            return None
        text = self.flows.text(ask)
        if any(text_in(r.text, text, self.state.language) for r in self.replies):
            return step.collect, step
        return None

    # -- coverage ------------------------------------------------------------------------------

    def _cover(self) -> None:
        language = self.state.language
        recorder, flows = self.recorder, self.flows
        for flow, _ in recorder.turn_steps:
            self.coverage.flows[language].add(flow)
        commands, texts = set(recorder.commands), set(recorder.texts)
        found = set()
        if "AnswerQuestion" in commands and Key.RESUME in texts:
            found.add("digression")
        if "CorrectSlots" in commands and self._at_summary(recorder.pending_before):
            found.add("correction")
        if "Cancel" in commands and Key.CANCELLED in texts:
            found.add("cancel")
        if Key.CLARIFY in texts:
            found.add("clarification")
        if Key.OFFER_HUMAN in texts and commands & {"Clarify", "CannotHandle"}:
            found.add("escalation")
        if any(
            isinstance(s := flows.flows[f].step(sid), ActionStep)
            and s.action is ActionName.REFUSE_CONSENT
            for f, sid in recorder.turn_steps
            if f in flows.flows
        ):
            found.add("declined_consent")
        self.coverage.patterns[language] |= found

    def _at_summary(self, pending: str | None) -> bool:
        if pending is None:
            return False
        flow, _, sid = pending.partition(".")
        cf = self.flows.flows.get(flow)
        step = cf.step(sid) if cf else None
        return isinstance(step, CollectStep) and bool(step.corrections)


@dataclass
class _Outcome:
    replies: list[Reply]
    case_id: int | None
    notices: list[Notice]


__all__ = [
    "PATTERNS",
    "CaseResult",
    "Coverage",
    "NluMode",
    "RasaReader",
    "RasaUnavailable",
    "RunResult",
    "Turn",
    "annotated_reading",
    "run_cases",
]
