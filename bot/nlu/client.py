"""Async client for the Rasa NLU HTTP server (`POST /model/parse`).

It never raises on network trouble: after a timeout and a few retries it returns a result with
`available=False` and intent `nlu_unavailable`, so the engine can fall back to buttons and
keywords instead of showing a participant an error.
"""

from __future__ import annotations

import asyncio
import logging
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

    def entity(self, name: str) -> str | None:
        """The value of the first entity of that type, if any."""
        return next((e.value for e in self.entities if e.entity == name), None)

    @classmethod
    def unavailable(cls) -> NluResult:
        return cls(intent=NLU_UNAVAILABLE, confidence=0.0, available=False)

    @classmethod
    def from_rasa(cls, payload: dict[str, Any]) -> NluResult:
        intent = payload.get("intent") or {}
        entities = tuple(
            Entity(
                entity=str(e.get("entity", "")),
                value=str(e.get("value", "")),
                start=e.get("start"),
                end=e.get("end"),
            )
            for e in payload.get("entities") or []
        )
        ranking = tuple(
            IntentScore(name=str(r.get("name")), confidence=float(r.get("confidence") or 0.0))
            for r in payload.get("intent_ranking") or []
            if r.get("name") != NLU_FALLBACK
        )
        return cls(
            intent=str(intent.get("name") or NLU_FALLBACK),
            confidence=float(intent.get("confidence") or 0.0),
            entities=entities,
            ranking=ranking,
        )


class NluParser(Protocol):
    async def parse(self, text: str) -> NluResult: ...


class NluClient:
    """Talks to one Rasa server (or a load balancer in front of N replicas)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 3.0,
        retries: int = 2,
        backoff: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._retries = max(0, retries)
        self._backoff = backoff
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def parse(self, text: str) -> NluResult:
        for attempt in range(self._retries + 1):
            try:
                response = await self._http.post("/model/parse", json={"text": text})
                if response.status_code < 500:
                    response.raise_for_status()
                    return NluResult.from_rasa(response.json())
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
