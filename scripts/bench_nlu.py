"""NLU latency and throughput through the real Rasa HTTP server (`make bench-nlu`).

Reports parse latency p50/p99 (sequential) and throughput (concurrent), each the median of
several runs, and as a ratio against a baseline measured in the same run: Rasa's bare `GET /`
(same server, same HTTP stack, no model work). Machines here are shared and noisy.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import get_settings  # noqa: E402
from bot.nlu import rasa_env  # noqa: E402
from scripts.benchstats import percentile  # noqa: E402

MESSAGES = [
    "ik heb een nulurencontract in Zaandam",
    "mn contract word nie verlengd en nu?",
    "ik ben ontslagen na een reorganisatie, wat moet ik doen",
    "kan ik een opleiding doen met dat budget van 5000 euro",
    "I work through an agency and they stopped calling me",
    "ik wil met een coach praten",
    "wat kost het",
    "hoi",
]
RUNS = 5
SEQUENTIAL = 80
CONCURRENT_REQUESTS = 400
CONCURRENCY = 16


async def sequential(client: httpx.AsyncClient, method: str, path: str) -> list[float]:
    latencies = []
    for i in range(SEQUENTIAL):
        started = time.perf_counter()
        if method == "POST":
            response = await client.post(path, json={"text": MESSAGES[i % len(MESSAGES)]})
        else:
            response = await client.get(path)
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def throughput(client: httpx.AsyncClient, method: str, path: str) -> float:
    queue = list(range(CONCURRENT_REQUESTS))

    async def worker() -> None:
        while queue:
            i = queue.pop()
            if method == "POST":
                r = await client.post(path, json={"text": MESSAGES[i % len(MESSAGES)]})
            else:
                r = await client.get(path)
            r.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return CONCURRENT_REQUESTS / (time.perf_counter() - started)


async def measure(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        await sequential(client, "POST", "/model/parse")  # warm-up (TF graph, caches)
        rows: dict[str, list[float]] = {k: [] for k in ("p50", "p99", "rps", "b50", "b99", "brps")}
        for run in range(1, RUNS + 1):
            parse = await sequential(client, "POST", "/model/parse")
            base = await sequential(client, "GET", "/")
            rows["p50"].append(percentile(parse, 0.5))
            rows["p99"].append(percentile(parse, 0.99))
            rows["b50"].append(percentile(base, 0.5))
            rows["b99"].append(percentile(base, 0.99))
            rows["rps"].append(await throughput(client, "POST", "/model/parse"))
            rows["brps"].append(await throughput(client, "GET", "/"))
            print(
                f"run {run}/{RUNS}: parse p50 {rows['p50'][-1]:.1f} ms, p99 {rows['p99'][-1]:.1f} ms,"
                f" {rows['rps'][-1]:.0f} parses/s",
                flush=True,
            )
    med = {k: statistics.median(v) for k, v in rows.items()}
    print("\nNLU through the real Rasa server (median of", RUNS, "runs)")
    print(f"  /model/parse latency  p50 {med['p50']:.1f} ms   p99 {med['p99']:.1f} ms")
    print(f"  /model/parse throughput  {med['rps']:.0f} req/s at concurrency {CONCURRENCY}")
    print(
        f"  baseline GET /  p50 {med['b50']:.1f} ms   p99 {med['b99']:.1f} ms   {med['brps']:.0f} req/s"
    )
    print(
        f"  ratio parse/baseline: latency p50 x{med['p50'] / med['b50']:.1f},"
        f" throughput x{med['rps'] / med['brps']:.2f}"
    )


def main() -> int:
    settings = get_settings()
    server = None
    url = settings.rasa_url
    if not rasa_env.server_ready(url):
        model, _ = rasa_env.train(settings.models_dir)
        print(f"Starting Rasa with {model.name} at {url}…", flush=True)
        server = rasa_env.start_server(model, url, log_file=ROOT / "data" / "rasa-bench.log")
    try:
        asyncio.run(measure(url))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
