"""NLU latency, throughput and CPU per parse through the real Rasa server (`make bench-nlu`).

Reports parse latency p50/p99 (sequential), throughput (concurrent) and the Rasa server's CPU
per parse (user + system of its process tree, from /proc), each the median of several runs,
with a baseline measured in the same run: Rasa's bare `GET /` (same server, same HTTP stack,
no model work). Machines here are shared and noisy.

With `--compare CONFIG` a second server runs the model of another pipeline config (e.g. the
pre-e5 one, nlu/configs/diet_sparse_only.yml) and the two are measured in alternating rounds,
so both see the same noise: the before/after of a pipeline change in one run.

    scripts/bench_nlu.py                                          # the shipped model
    scripts/bench_nlu.py --compare nlu/configs/diet_sparse_only.yml
    scripts/bench_nlu.py --compare models/nlu-4b940a0fc9b6.tar.gz   # a model file as it is
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import get_settings  # noqa: E402
from bot.nlu import rasa_env  # noqa: E402
from scripts.benchstats import percentile  # noqa: E402
from scripts.proc_cpu import process_cpu_seconds, process_tree  # noqa: E402

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
RUNS = int(__import__("os").environ.get("BENCH_NLU_RUNS", "5"))
SEQUENTIAL = 80
CONCURRENT_REQUESTS = 400
CONCURRENCY = 16


@dataclass
class Measured:
    name: str
    model: str
    pid: int | None
    rows: dict[str, list[float]] = field(
        default_factory=lambda: {
            k: [] for k in ("p50", "p99", "rps", "cpu_ms", "b50", "b99", "brps", "bcpu_ms")
        }
    )


def tree_cpu(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    return sum(process_cpu_seconds(p) or 0.0 for p in process_tree(pid))


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


async def one_round(client: httpx.AsyncClient, target: Measured) -> None:
    rows = target.rows
    cpu0 = tree_cpu(target.pid)
    parse = await sequential(client, "POST", "/model/parse")
    cpu1 = tree_cpu(target.pid)
    base = await sequential(client, "GET", "/")
    cpu2 = tree_cpu(target.pid)
    rows["p50"].append(percentile(parse, 0.5))
    rows["p99"].append(percentile(parse, 0.99))
    rows["cpu_ms"].append((cpu1 - cpu0) * 1000 / SEQUENTIAL)
    rows["b50"].append(percentile(base, 0.5))
    rows["b99"].append(percentile(base, 0.99))
    rows["bcpu_ms"].append((cpu2 - cpu1) * 1000 / SEQUENTIAL)
    rows["rps"].append(await throughput(client, "POST", "/model/parse"))
    rows["brps"].append(await throughput(client, "GET", "/"))


async def measure(targets: list[tuple[Measured, str]]) -> None:
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for _, url in targets]
    try:
        for client in clients:
            await sequential(client, "POST", "/model/parse")  # warm-up (graph, caches)
        for run in range(1, RUNS + 1):
            for (target, _), client in zip(targets, clients, strict=True):
                await one_round(client, target)
                r = target.rows
                print(
                    f"run {run}/{RUNS} {target.name}: parse p50 {r['p50'][-1]:.1f} ms, "
                    f"p99 {r['p99'][-1]:.1f} ms, Rasa CPU {r['cpu_ms'][-1]:.1f} ms/parse, "
                    f"{r['rps'][-1]:.0f} parses/s",
                    flush=True,
                )
    finally:
        for client in clients:
            await client.aclose()


def report(targets: list[Measured]) -> None:
    print(f"\nNLU through the real Rasa server (median of {RUNS} runs, 2-core machine, shared)")
    header = (
        f"{'model':<34}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms/parse':>14}{'parses/s':>10}"
        f"{'GET / p50':>11}{'GET / CPU':>11}"
    )
    print(header)
    for t in targets:
        med = {k: statistics.median(v) for k, v in t.rows.items()}
        print(
            f"{t.name + ' ' + t.model:<34}{med['p50']:>8.1f}{med['p99']:>8.1f}"
            f"{med['cpu_ms']:>14.1f}{med['rps']:>10.0f}{med['b50']:>11.1f}{med['bcpu_ms']:>11.2f}"
        )
    if len(targets) == 2:
        a, b = ({k: statistics.median(v) for k, v in t.rows.items()} for t in targets)
        print(
            f"ratio {targets[0].name}/{targets[1].name}: latency p50 x{a['p50'] / b['p50']:.2f}, "
            f"p99 x{a['p99'] / b['p99']:.2f}, CPU per parse x{a['cpu_ms'] / b['cpu_ms']:.2f}, "
            f"throughput x{a['rps'] / b['rps']:.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--compare",
        type=Path,
        help="also measure the model of this pipeline config (or this model .tar.gz)",
    )
    args = parser.parse_args()
    settings = get_settings()
    servers: list[rasa_env.RasaServer] = []
    targets: list[tuple[Measured, str]] = []
    try:
        configs = [("shipped", rasa_env.CONFIG_FILE)]
        if args.compare is not None:
            configs.append(("compared", args.compare.resolve()))
        for name, config in configs:
            if config.name.endswith(".tar.gz"):
                model = config
            else:
                model, _ = rasa_env.train(settings.models_dir, config=config)
            url = f"http://127.0.0.1:{rasa_env.free_port()}"
            print(f"Starting Rasa with {model.name} ({config.name}) at {url}…", flush=True)
            server = rasa_env.start_server(
                model, url, log_file=ROOT / "data" / f"rasa-bench-{name}.log"
            )
            servers.append(server)
            pid = server.process.pid if server.process is not None else None
            targets.append((Measured(name, config.name, pid), url))
        asyncio.run(measure(targets))
        report([t for t, _ in targets])
    except rasa_env.RasaError as exc:
        print(f"bench_nlu: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
