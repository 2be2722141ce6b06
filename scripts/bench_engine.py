"""Turn time of the conversation service excluding the NLU, on SQLite.

The engine alone (`turn()`, state in memory) and a full `ConversationService.handle`: load state, engine, save state and message
log in one transaction. The NLU is a constant-time fake so only our own work is measured.
For scale, the same run measures a bare SQLite read + write (one row, one transaction) and
reports the ratio. Every figure is the median over several runs.

    .venv/bin/python scripts/bench_engine.py [--turns 3000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.conversation import ConversationService
from bot.engine.engine import needs_nlu, turn
from bot.engine.messages import Inbound
from bot.engine.state import ConversationState
from bot.flows.registry import FlowRegistry
from bot.nlu.client import NluResult
from storage.database import create_db_engine, upgrade

# One participant's realistic conversation, repeated by many participants.
SCRIPT: list[Inbound] = [
    Inbound(text="ik ben mijn baan kwijt"),
    Inbound(payload="v:yes"),
    Inbound(text="Sanne"),
    Inbound(text="wat kost het?"),
    Inbound(text="Utrecht"),
    Inbound(payload="v:ending"),
    Inbound(payload="v:tijdelijk"),
    Inbound(text="zorg"),
    Inbound(payload="v:mbo"),
    Inbound(text="ander werk"),
    Inbound(payload="v:phone"),
    Inbound(text="06 12345678"),
    Inbound(payload="v:evening"),
    Inbound(text="wijzig telefoonnummer"),
    Inbound(text="0201234567"),
    Inbound(payload="v:yes"),
    Inbound(text="bedankt"),
]
INTENTS = {"ik ben mijn baan kwijt": "job_loss", "wat kost het?": "ask_cost", "bedankt": "thanks"}


class ConstantNlu:
    async def parse(self, text: str) -> NluResult:
        return NluResult(intent=INTENTS.get(text, "inform"), confidence=0.95)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_service(directory: Path, turns: int) -> tuple[list[float], float]:
    """(wall-clock ms per turn, mean CPU ms per turn). On SQLite a turn runs in this thread, so
    the CPU mean stays meaningful on a busy machine where wall-clock is not. CPU is taken over
    the whole run: reading the CPU clock per turn costs more than a turn in some VMs."""
    url = f"sqlite:///{directory / 'bench.db'}"
    upgrade(url)
    service = ConversationService(
        engine=create_db_engine(url),
        flows=FlowRegistry(PROJECT_ROOT / "flows"),
        nlu=ConstantNlu(),
    )
    await service.handle("bench", "warmup", Inbound(text="/start"))
    wall: list[float] = []
    participant = 0
    cpu_started = time.process_time()
    while len(wall) < turns:
        participant += 1
        for inbound in SCRIPT:
            started = time.perf_counter()
            await service.handle("bench", f"p{participant}", inbound)
            wall.append((time.perf_counter() - started) * 1000)
    cpu_mean = (time.process_time() - cpu_started) * 1000 / len(wall)
    return wall[:turns], cpu_mean


def bench_pure_engine(turns: int) -> list[float]:
    """The engine alone (`turn()`: understanding, commands, flows), state kept in memory."""
    flows = FlowRegistry(PROJECT_ROOT / "flows").current
    samples: list[float] = []
    while len(samples) < turns:
        state = ConversationState()
        for inbound in SCRIPT:
            nlu = NluResult(intent=INTENTS.get(inbound.text or "", "inform"), confidence=0.95)
            started = time.perf_counter()
            needed = needs_nlu(flows, state, inbound)
            result = turn(flows, state, inbound, nlu if needed else None, channel="bench")
            samples.append((time.perf_counter() - started) * 1000)
            state = result.state
    return samples[:turns]


def bench_bare_sqlite(directory: Path, turns: int) -> list[float]:
    """The floor: read one JSON row and write it back in a transaction (WAL, like the bot)."""
    db = sqlite3.connect(directory / "bare.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE s (id INTEGER PRIMARY KEY, version INT, state TEXT)")
    db.executemany("INSERT INTO s VALUES (?, 1, '{}')", [(i,) for i in range(200)])
    samples: list[float] = []
    for i in range(turns):
        key = i % 200
        started = time.perf_counter()
        db.execute("BEGIN")
        (version, _state) = db.execute("SELECT version, state FROM s WHERE id=?", (key,)).fetchone()
        db.execute(
            "UPDATE s SET state=?, version=? WHERE id=? AND version=?",
            ('{"slots": {}}', version + 1, key, version),
        )
        db.execute("COMMIT")
        samples.append((time.perf_counter() - started) * 1000)
    db.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    keys = ("p50", "p99", "cpu", "b50", "b99", "e50", "e99")
    figures: dict[str, list[float]] = {k: [] for k in keys}
    for run in range(args.runs):
        print(f"  run {run + 1}/{args.runs}…", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu = asyncio.run(bench_service(Path(tmp), args.turns))
            base = bench_bare_sqlite(Path(tmp), args.turns)
        pure = bench_pure_engine(args.turns)
        figures["cpu"].append(cpu)
        for key, samples, q in (
            ("e50", pure, 0.50),
            ("e99", pure, 0.99),
            ("p50", wall, 0.50),
            ("p99", wall, 0.99),
            ("b50", base, 0.50),
            ("b99", base, 0.99),
        ):
            figures[key].append(percentile(samples, q))
    m = {key: statistics.median(values) for key, values in figures.items()}
    print(f"turn, NLU excluded, {args.turns} turns x {args.runs} runs, medians:")
    print(f"  engine alone (turn()): p50 {m['e50']:.3f} ms   p99 {m['e99']:.3f} ms")
    print(f"  whole service turn on SQLite: p50 {m['p50']:.2f} ms   p99 {m['p99']:.2f} ms")
    print("  (aim: p50 < 2 ms)")
    print(f"  CPU per turn (mean) {m['cpu']:.2f} ms")
    print(f"  bare SQLite read+write: p50 {m['b50']:.3f} ms   p99 {m['b99']:.3f} ms")
    print(f"  ratio turn/bare: p50 {m['p50'] / m['b50']:.0f}x   p99 {m['p99'] / m['b99']:.0f}x")


if __name__ == "__main__":
    main()
