"""Async client for the Rasa NLU HTTP server (`POST /model/parse`).

It never raises on network trouble: after a timeout and a few retries it returns a result with
`available=False` and intent `nlu_unavailable`, so the engine can fall back to buttons and
keywords instead of showing a participant an error.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

log = logging.getLogger(__name__)

NLU_UNAVAILABLE = "nlu_unavailable"
NLU_FALLBACK = "nlu_fallback"


@dataclass(frozen=True, slots=True)
class Entity:
    entity: str
    value: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class NluResult:
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[IntentScore, ...] = ()  # best first, without nlu_fallback
    available: bool = True
    # The sentence vector (L2-normalised, 384 numbers) when the server sends one, and the
    # model that made it: answers at a question are compared with the options by meaning.
    text_vector: tuple[float, ...] | None = None
    text_vector_model: str | None = None

    def entity(self, name: str) -> str | None:
        """The value of the first entity of that type, if any."""
        return next((e.value for e in self.entities if e.entity == name), None)

    @classmethod
    def unavailable(cls) -> NluResult:
        return cls(intent=NLU_UNAVAILABLE, confidence=0.0, available=False)

    @classmethod
    def from_rasa(cls, payload: Any) -> NluResult:
        """Read Rasa's /model/parse answer. Anything of another shape (a proxy's error page, a
        different server) counts as "unavailable", never as an exception."""
        try:
            return cls._from_rasa(payload)
        except (AttributeError, TypeError, ValueError, KeyError):
            return cls.unavailable()

    @classmethod
    def _from_rasa(cls, payload: Any) -> NluResult:
        if not isinstance(payload, dict) or not isinstance(payload.get("intent"), dict):
            raise ValueError("not a parse result")
        intent = payload["intent"]
        name = intent.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("no intent name")
        for field in ("entities", "intent_ranking"):
            if not isinstance(payload.get(field) or [], list):
                raise ValueError(f"{field} is not a list")
        entities = tuple(
            Entity(
                entity=str(e["entity"]),
                value=str(e["value"]),
                start=e.get("start") if isinstance(e.get("start"), int) else None,
                end=e.get("end") if isinstance(e.get("end"), int) else None,
            )
            for e in payload.get("entities") or []
            if isinstance(e, dict) and "entity" in e and "value" in e
        )
        ranking = tuple(
            IntentScore(name=str(r["name"]), confidence=_probability(r.get("confidence")))
            for r in payload.get("intent_ranking") or []
            if isinstance(r, dict) and r.get("name") and r.get("name") != NLU_FALLBACK
        )
        vector, model = _vector(payload)
        return cls(
            intent=name,
            confidence=_probability(intent.get("confidence")),
            entities=entities,
            ranking=ranking,
            text_vector=vector,
            text_vector_model=model,
        )


def _vector(payload: dict[str, Any]) -> tuple[tuple[float, ...] | None, str | None]:
    """The optional sentence vector; a malformed one is ignored (the words still count)."""
    raw, model = payload.get("text_vector"), payload.get("text_vector_model")
    if not isinstance(raw, list) or not raw or not isinstance(model, str):
        return None, None
    try:
        vector = tuple(float(x) for x in raw)
    except (TypeError, ValueError):
        return None, None
    if not all(math.isfinite(x) for x in vector):
        return None, None
    return vector, model


def _probability(value: Any) -> float:
    number = float(value or 0.0)
    if not 0.0 <= number <= 1.0:  # NaN fails both comparisons
        raise ValueError("confidence out of range")
    return number


class NluParser(Protocol):
    async def parse(self, text: str) -> NluResult: ...


class NluClient:
    """Talks to one Rasa server (or a load balancer in front of N replicas).

    A turn never waits long for the NLU: one parse has `timeout` seconds in all, retries
    included. After `breaker_failures` failures in a row the client stops asking for
    `breaker_seconds` and answers "unavailable" at once (the bot then works with buttons and
    keywords), then tries again.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        backoff: float = 0.1,
        breaker_failures: int = 3,
        breaker_seconds: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        self._breaker_failures = breaker_failures
        self._breaker_seconds = breaker_seconds
        self._failures = 0
        self._open_until = 0.0
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def parse(self, text: str, *, budget: float | None = None) -> NluResult:
        """`budget`: what is left of the turn's budget (bot/nlu/admission.py), at most the
        client's own. Running out of a budget shortened by queueing is not Rasa's failure:
        it does not count towards the breaker."""
        if time.monotonic() < self._open_until:
            return NluResult.unavailable()
        limit = self._timeout if budget is None else max(0.0, min(budget, self._timeout))
        try:
            result = await asyncio.wait_for(self._attempts(text), limit)
        except TimeoutError:
            log.warning("NLU did not answer within %.2fs", limit)
            if limit < self._timeout:
                return NluResult.unavailable()
            result = NluResult.unavailable()
        if result.available:
            self._failures = 0
        else:
            self._failures += 1
            if self._failures >= self._breaker_failures:
                self._open_until = time.monotonic() + self._breaker_seconds
                log.warning(
                    "NLU unavailable %d times: not asked for %.0fs",
                    self._failures,
                    self._breaker_seconds,
                )
        return result

    async def _attempts(self, text: str) -> NluResult:
        for attempt in range(self._retries + 1):
            try:
                response = await self._http.post("/model/parse", json={"text": text})
                if response.status_code < 500:
                    response.raise_for_status()
                    result = NluResult.from_rasa(response.json())
                    if result.available:
                        return result
                    reason = "unexpected answer"
                else:
                    reason = f"HTTP {response.status_code}"
            except (httpx.TransportError, httpx.HTTPStatusError, ValueError) as exc:
                # Only the exception type: the message may echo the request body.
                reason = type(exc).__name__
            log.warning("NLU attempt %d/%d failed: %s", attempt + 1, self._retries + 1, reason)
            if attempt < self._retries:
                await asyncio.sleep(self._backoff * (2**attempt))
        return NluResult.unavailable()

    async def is_ready(self) -> bool:
        """True when the server answers and has a model loaded."""
        try:
            response = await self._http.get("/status")
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.TransportError, ValueError):
            return False

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> NluClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
