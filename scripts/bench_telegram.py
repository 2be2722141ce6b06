"""Load run of the whole Telegram bot through the fake Bot API server (`make bench`).

Many simulated participants chat at once (closed loop: each waits for the bot's answer, thinks,
writes again) with the real bot: PTB over HTTP, the conversation service, the real Rasa server
at RASA_URL, SQLite, the outbox and AIORateLimiter (Telegram's 30 messages/s). Reported, as the
median of several runs:

- messages/s the bot sent, sustained over the run, and turns/s handled;
- reply latency p50/p99: from the update becoming available to the first answer arriving at
  the fake server (includes long-poll pick-up, NLU, engine, database, outbox, rate limiting);
- the bare `/model/parse` throughput of the same Rasa server in the same run, for comparison.

Three loads per run: half the users (below Telegram's 30 messages/s), all users (saturating
it: the sent rate is the limit), and all users with the limits off (the bot's own capacity).

Usage: scripts/bench_telegram.py [--users 60] [--seconds 20] [--runs 3] [--think 2.0]
                                 [--latest-model]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SELF = Path(__file__).resolve()
ROOT = SELF.parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.telegram.logs import quiet_transport_loggers  # noqa: E402
from bot.channels.telegram.pacing import ChatPacer  # noqa: E402
from bot.channels.telegram.wiring import build_telegram_bot  # noqa: E402
from bot.config import get_settings  # noqa: E402
from bot.nlu import rasa_env  # noqa: E402
from scripts.benchstats import percentile  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

# What people type, in the order a participant might (start, explain, answer, ask).
SCRIPT = [
    "/start",
    "ik ben mijn baan kwijt",
    "ja",
    "Sam",
    "Utrecht",
    "wat kost het",
    "mn contract word nie verlengd",
    "ik wil met een coach praten",
    "I work through an agency and they stopped calling me",
    "/stop",
]
PARSE_TEXTS = SCRIPT[1:]


@dataclass
class RunResult:
    sent_per_s: float
    turns_per_s: float
    p50_ms: float
    p99_ms: float
    latencies: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Load:
    label: str
    users: int
    rate_limit: bool  # False: no Telegram limits, to show the bot's own capacity


async def one_run(args: argparse.Namespace, load: Load, rasa_url: str) -> RunResult:
    fake = await FakeTelegram().start()
    with tempfile.TemporaryDirectory() as tmp:
        # The bot runs in its own process, as deployed: this one is the Bot API and the users.
        env = dict(
            os.environ,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_BASE_URL=fake.base_url,
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'bench.db'}",
            RASA_URL=rasa_url,
            PYTHONPATH=str(ROOT),
        )
        command = [sys.executable, str(SELF), "--child"]
        if not load.rate_limit:
            command.append("--no-limits")
        with (Path(tmp) / "bot.log").open("wb") as log_file:
            bot = await asyncio.create_subprocess_exec(
                *command, cwd=tmp, env=env, stdout=log_file, stderr=asyncio.subprocess.STDOUT
            )
        await fake.wait_until(lambda: bool(fake.commands), timeout=120)  # started
        latencies: list[float] = []
        turns = 0
        stop_at = time.monotonic() + args.seconds
        sent_before = sum(len(v) for v in fake.sent.values())

        async def participant(user_id: int) -> None:
            nonlocal turns
            rng = random.Random(user_id)
            await asyncio.sleep(rng.uniform(0, 2 * args.think))  # spread the starts
            step = 0
            while time.monotonic() < stop_at:
                since = len(fake.sent[user_id])
                started = time.monotonic()
                await fake.send_text(user_id, SCRIPT[step % len(SCRIPT)], first_name="Sam")
                try:
                    await fake.wait_for(user_id, 1, since=since, timeout=30)
                except AssertionError:
                    latencies.append(30_000.0)
                    continue
                latencies.append((time.monotonic() - started) * 1000)
                turns += 1
                step += 1
                await asyncio.sleep(rng.uniform(0.5, 1.5) * args.think)

        started = time.monotonic()
        await asyncio.gather(*(participant(100_000 + i) for i in range(load.users)))
        elapsed = time.monotonic() - started
        sent = sum(len(v) for v in fake.sent.values()) - sent_before
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 60)
    await fake.stop()
    return RunResult(
        sent_per_s=sent / elapsed,
        turns_per_s=turns / elapsed,
        p50_ms=percentile(latencies, 0.5),
        p99_ms=percentile(latencies, 0.99),
        latencies=latencies,
    )


async def parse_throughput(url: str, seconds: float, concurrency: int = 16) -> float:
    done = 0
    stop_at = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker(offset: int) -> None:
            nonlocal done
            i = offset
            while time.monotonic() < stop_at:
                response = await client.post(
                    "/model/parse", json={"text": PARSE_TEXTS[i % len(PARSE_TEXTS)]}
                )
                response.raise_for_status()
                done += 1
                i += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return done / (time.monotonic() - started)


async def measure(args: argparse.Namespace, rasa_url: str) -> None:
    loads = [
        Load("below Telegram's limit", args.users // 2, rate_limit=True),
        Load("at Telegram's limit (saturated)", args.users, rate_limit=True),
        Load("no Telegram limit (bot capacity)", args.users, rate_limit=False),
    ]
    await parse_throughput(rasa_url, 2)  # warm-up
    results: dict[Load, list[RunResult]] = {load: [] for load in loads}
    parses: list[float] = []
    for run in range(1, args.runs + 1):
        for load in loads:
            result = await one_run(args, load, rasa_url)
            results[load].append(result)
            print(
                f"run {run}/{args.runs} {load.label}, {load.users} users: "
                f"{result.sent_per_s:.1f} msg/s sent, {result.turns_per_s:.1f} turns/s, "
                f"reply p50 {result.p50_ms:.0f} ms p99 {result.p99_ms:.0f} ms",
                flush=True,
            )
        parses.append(await parse_throughput(rasa_url, 5))
        print(f"run {run}/{args.runs} bare /model/parse: {parses[-1]:.0f} req/s", flush=True)
    print(
        f"\nTelegram bot through the fake Bot API, {args.seconds:.0f} s per run, "
        f"median of {args.runs} runs (think time ~{args.think:.1f} s per participant)"
    )
    print(f"  {'load':36} {'users':>5} {'msg/s':>7} {'turns/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for load in loads:
        rows = results[load]
        print(
            f"  {load.label:36} {load.users:5d}"
            f" {statistics.median(r.sent_per_s for r in rows):7.1f}"
            f" {statistics.median(r.turns_per_s for r in rows):8.1f}"
            f" {statistics.median(r.p50_ms for r in rows):7.0f}"
            f" {statistics.median(r.p99_ms for r in rows):7.0f}"
        )
    print(
        f"  bare Rasa /model/parse (same server): {statistics.median(parses):.0f} req/s at concurrency 16"
    )


async def serve_child(no_limits: bool) -> None:
    """--child: the bot itself, configured from the environment the parent set."""
    options: dict[str, object] = {"poll_timeout": 5, "rate_limit": not no_limits}
    if no_limits:
        options["pacer"] = ChatPacer(rate=1000, burst=1000)
    assembled = await build_telegram_bot(get_settings(), **options)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await assembled.bot.start_polling()
        await stop.wait()
    finally:
        await assembled.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between turns")
    parser.add_argument(
        "--latest-model",
        action="store_true",
        help="serve the newest model in models/ instead of training one for the current data",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-limits", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_transport_loggers()
    if args.child:
        asyncio.run(serve_child(args.no_limits))
        return 0
    settings = get_settings()
    url = settings.rasa_url
    server = None
    if not rasa_env.server_ready(url):
        latest = rasa_env.latest_model(settings.models_dir) if args.latest_model else None
        model = latest or rasa_env.train(settings.models_dir)[0]
        print(f"Starting Rasa with {model.name} at {url}…", flush=True)
        server = rasa_env.start_server(model, url, log_file=ROOT / "data" / "rasa-bench.log")
    try:
        asyncio.run(measure(args, url))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
