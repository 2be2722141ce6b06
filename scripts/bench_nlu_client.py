"""CPU per parse of the bot's NLU client, in the bot's process only (µs of process CPU time).

The same parses through `NluClient` (kept-alive HTTP/1.1 streams, bot/nlu/client.py) and
through httpx as the client used it before (one `AsyncClient`, `post(json=…)`, `.json()`), in
alternating rounds, against either a stand-in server in another process (its CPU is not
counted: a canned Rasa answer, so the figure is the client alone) or a real Rasa server
(`--rasa-url`; then the wall time per parse is mostly Rasa's).

  scripts/bench_nlu_client.py                      # stand-in server, 2,000 parses x 3 rounds
  scripts/bench_nlu_client.py --rasa-url http://127.0.0.1:5005 --parses 300
  scripts/bench_nlu_client.py --concurrency 8      # 8 parses in flight (as NLU_MAX_IN_FLIGHT)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.client import NluClient, NluResult  # noqa: E402

# A real answer's shape and size (intent, ranking of 10, one entity; no sentence vector).
CANNED = {
    "text": "ik ben mijn baan kwijt en woon in Tiel",
    "intent": {"name": "job_loss", "confidence": 0.93},
    "entities": [{"entity": "gemeente", "value": "Tiel", "start": 33, "end": 37, "extractor": "x"}],
    "intent_ranking": [{"name": f"intent_{i}", "confidence": 0.9 / (i + 1)} for i in range(10)],
}
TEXTS = ["ik ben mijn baan kwijt", "ik woon in Tiel", "wat kost het?", "ik wil een coach"]

SERVER = """
import json, sys, tornado.ioloop, tornado.web
body = sys.argv[1]
class H(tornado.web.RequestHandler):
    def post(self):
        self.set_header("Content-Type", "application/json")
        self.finish(body)
app = tornado.web.Application([(r"/model/parse", H)])
server = app.listen(0, "127.0.0.1")
print(next(iter(server._sockets.values())).getsockname()[1], flush=True)
tornado.ioloop.IOLoop.current().start()
"""


class HttpxClient:
    """The NLU client's request path before (httpx), for the comparison."""

    def __init__(self, url: str) -> None:
        self._http = httpx.AsyncClient(
            base_url=url,
            timeout=httpx.Timeout(10.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def parse(self, text: str) -> NluResult:
        response = await asyncio.wait_for(self._http.post("/model/parse", json={"text": text}), 10)
        response.raise_for_status()
        return NluResult.from_rasa(response.json())

    async def aclose(self) -> None:
        await self._http.aclose()


async def measure(
    parse: Callable[[str], Awaitable[NluResult]], n: int, concurrency: int
) -> tuple[float, float]:
    """µs of this process's CPU per parse, and wall ms per parse."""
    for text in TEXTS * 5:  # warm: connections open, code paths hot
        assert (await parse(text)).available
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            result = await parse(TEXTS[i % len(TEXTS)])
            assert result.available, "the server did not answer a parse"

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e3


async def run(args: argparse.Namespace, url: str) -> None:
    ours: dict[str, list[float]] = {"keep-alive streams": [], "httpx (before)": []}
    walls: dict[str, list[float]] = {name: [] for name in ours}
    for _ in range(args.rounds):
        for name in ours:
            client: NluClient | HttpxClient = (
                NluClient(url, timeout=10.0) if name.startswith("keep") else HttpxClient(url)
            )
            try:
                cpu, wall = await measure(client.parse, args.parses, args.concurrency)
            finally:
                await client.aclose()
            ours[name].append(cpu)
            walls[name].append(wall)
    print(
        f"{args.parses} parses x {args.rounds} rounds, {args.concurrency} in flight, "
        f"server: {url if args.rasa_url else 'stand-in (canned answer, other process)'}"
    )
    for name, values in ours.items():
        print(
            f"  {name:20s} CPU/parse median {statistics.median(values):7.0f} µs "
            f"(rounds: {', '.join(f'{v:.0f}' for v in values)}); "
            f"wall/parse {statistics.median(walls[name]):.2f} ms"
        )
    before, after = (
        statistics.median(v) for v in (ours["httpx (before)"], ours["keep-alive streams"])
    )
    print(f"  ratio httpx / keep-alive: {before / after:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rasa-url", help="a running Rasa server (default: a stand-in)")
    parser.add_argument("--parses", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    if args.rasa_url:
        asyncio.run(run(args, args.rasa_url.rstrip("/")))
        return
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, json.dumps(CANNED)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        asyncio.run(run(args, f"http://127.0.0.1:{port}"))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
