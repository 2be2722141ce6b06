"""The figures that decide overload, for Prometheus (`/metrics`).

Labels never carry personal data: no chat ids, user ids or text; only the names of our own
lanes, outcomes and kinds. Metrics live in prometheus-client's default registry (which also
exports the process's CPU and memory).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)

TURN_SECONDS = Histogram(
    "careerbot_turn_seconds",
    "An update from its arrival in this process to its commit (queue wait included)",
    buckets=_LATENCY_BUCKETS,
)
TURNS = Counter("careerbot_turns_total", "Updates processed, by result", ["result"])
NLU_SECONDS = Histogram(
    "careerbot_nlu_seconds",
    "Waiting for a parse (admission and Rasa) per turn that asked",
    buckets=_LATENCY_BUCKETS,
)
# parsed: Rasa answered; unavailable: Rasa down, slow or erroring (keywords instead);
# shed: the turn's budget ran out before Rasa was asked (overload; keywords instead).
NLU_TURNS = Counter("careerbot_nlu_total", "Turns that asked the NLU, by outcome", ["outcome"])
NLU_IN_FLIGHT = Gauge("careerbot_nlu_in_flight", "Parses being asked of Rasa right now")
HOLDING_NOTICES = Counter(
    "careerbot_holding_notices_total", "'One moment…' sent because a message waited too long"
)
HOLDING_NOTICES_SKIPPED = Counter(
    "careerbot_holding_notices_skipped_total",
    "'One moment…' not sent: more were due than the per-second budget allows",
)
LANE_DEPTH = Gauge(
    "careerbot_lane_depth", "Items in hand (queued or running) per lane engine", ["lane"]
)
LANE_WAITING = Gauge(
    "careerbot_lane_waiting",
    "Items in hand waiting for room to start (the inbox: back-pressure from the outbox)",
    ["lane"],
)
LANE_CHATS = Gauge("careerbot_lane_chats", "Chats with work in hand per lane engine", ["lane"])
OUTBOX_BACKLOG = Gauge(
    "careerbot_outbox_backlog", "Bot API calls stored and not yet sent (all workers)"
)
TELEGRAM_429 = Counter("careerbot_telegram_429_total", "Bot API calls refused with a flood limit")
TELEGRAM_SENT = Counter("careerbot_telegram_sent_total", "Bot API calls made by the outbox")


def watch_lane(
    lane: str, depth: Callable[[], int], chats: Callable[[], int], waiting: Callable[[], int]
) -> None:
    """Read a lane engine's in-memory depth at scrape time (the last bot started wins)."""
    LANE_DEPTH.labels(lane=lane).set_function(depth)
    LANE_CHATS.labels(lane=lane).set_function(chats)
    LANE_WAITING.labels(lane=lane).set_function(waiting)
