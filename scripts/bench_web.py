"""The web desk under load: N coaches at once, each browsing their case list and their cases
(`make bench-web`). A real `careerbot web` process (uvicorn) on SQLite and on PostgreSQL (a
schema of its own, dropped afterwards), closed-loop clients on this machine only.

Baseline in the same run: the login page (a template, no database). Figures are the medians
of --rounds rounds; each round runs --seconds seconds. Writes reports/bench-web/summary.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.rasa_env import free_port  # noqa: E402
from bot.web.auth import COOKIE, sign  # noqa: E402
from storage import web as stored  # noqa: E402
from storage.coaches import add_coach  # noqa: E402
from storage.database import create_db_engine, session_scope, upgrade  # noqa: E402
from storage.models import Case, CaseStatus, MessageLog, Participant, Union  # noqa: E402

POSTGRES = os.environ.get(
    "CAREERBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


CONVERSATION = [
    ("in", "hoi, mn contract word nie verlengd"),
    ("out", "Wat vervelend. Mag ik je een paar vragen stellen? " * 3),
    ("in", "[v:yes]"),
    ("out", "Wat voor contract heb je (of had je)?"),
    ("in", "[v:tijdelijk]"),
    ("out", "Wanneer kan de coach je het best bereiken?"),
    ("in", "[v:morning]"),
]


def seed(url: str, coaches: int, cases_each: int) -> list[tuple[str, list[int]]]:
    """Coaches with open cases and a desk session each: (signed cookie, their case ids)."""
    upgrade(url)
    engine = create_db_engine(url)
    people: list[tuple[str, list[int]]] = []
    with session_scope(engine) as session:
        secret = stored.signing_secret(session)
        for n in range(coaches):
            coach = add_coach(
                session,
                name=f"Coach {n:02d}",
                telegram_id=800000 + n,
                union=Union.FNV,
                regions=["AM13"],
                capacity=cases_each + 5,
            )
            ids = []
            for k in range(cases_each):
                person = Participant(channel="telegram", external_id=f"{n}-{k}")
                session.add(person)
                session.flush()
                case = Case(
                    participant_id=person.id or 0,
                    coach_id=coach.id,
                    region_code="AM13",
                    status=CaseStatus.ACCEPTED if k % 2 else CaseStatus.ASSIGNED,
                    summary=[
                        {
                            "slot": "first_name",
                            "label": "Voornaam",
                            "value": f"P{k}",
                            "raw": f"P{k}",
                            "role": "first_name",
                        },
                        {
                            "slot": "goal",
                            "label": "Wat wil je",
                            "value": "ander werk " * 5,
                            "raw": "",
                            "role": "",
                        },
                    ],
                )
                session.add(case)
                session.flush()
                ids.append(case.id or 0)
                # A conversation as consent keeps it: typed lines, the bot's answers, presses.
                for i, (direction, text) in enumerate(CONVERSATION * 3):
                    session.add(
                        MessageLog(
                            participant_id=person.id or 0,
                            direction=direction,
                            text=text,
                            flow="intake" if i > 4 else "welcome",
                        )
                    )
            raw = stored.new_session(session, telegram_id=coach.telegram_id)
            people.append((sign(secret, raw), ids))
    engine.dispose()
    return people


async def browse(
    client: httpx.AsyncClient,
    cookie: str,
    cases: list[int],
    until: float,
    out: dict[str, list[Any]],
    think: float,
) -> None:
    jar = {COOKIE: cookie}
    await asyncio.sleep(random.uniform(0, think))  # coaches do not all start at once
    while time.monotonic() < until:
        for path, kind in (
            ("/cases", "list"),
            (f"/cases/{random.choice(cases)}", "case"),
            ("/login", "baseline"),
        ):
            started = time.perf_counter()
            try:
                answer = await client.get(path, cookies=jar)
            except httpx.HTTPError as exc:
                out.setdefault("errors", []).append(type(exc).__name__)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code != 200:
                out.setdefault("errors", []).append(answer.status_code)
                continue
            out.setdefault(kind, []).append(elapsed)
            if think:
                await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))  # reading


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def round_(
    base: str, people: list[tuple[str, list[int]]], seconds: float, think: float = 0.0
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    limits = httpx.Limits(max_connections=len(people) + 5)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(*(browse(client, c, ids, until, out, think) for c, ids in people))
    return out


def run_one(label: str, url: str, args: argparse.Namespace) -> dict[str, float]:
    (ROOT / "reports" / "bench-web").mkdir(parents=True, exist_ok=True)
    people = seed(url, args.coaches, args.cases)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "WEB_BASE_URL": f"http://127.0.0.1:{port}"}
    log = (ROOT / "reports" / "bench-web").joinpath(f"server-{label}.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "careerbot"), "web", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tempfile.gettempdir(),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        asyncio.run(round_(base, people[:5], 2))  # warm-up
        browsing = [
            asyncio.run(round_(base, people, args.seconds, args.think)) for _ in range(args.rounds)
        ]
        flat_out = [asyncio.run(round_(base, people, args.seconds)) for _ in range(args.rounds)]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    figures: dict[str, float] = {}
    for mode, rounds in (("browse", browsing), ("max", flat_out)):
        for kind in ("list", "case", "baseline"):
            for q, name in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
                figures[f"{mode}_{kind}_{name}"] = statistics.median(
                    pct(r.get(kind, []), q) for r in rounds
                )
        figures[f"{mode}_pages_per_s"] = statistics.median(
            sum(len(r.get(k, [])) for k in ("list", "case", "baseline")) / args.seconds
            for r in rounds
        )
        figures[f"{mode}_errors"] = sum(len(r.get("errors", [])) for r in rounds)
        kinds = Counter(str(e) for r in rounds for e in r.get("errors", []))
        if kinds:  # which: a status code, or the client's exception (timeout, reset …)
            print(f"{label} {mode} errors: {dict(kinds)}", flush=True)
    print(f"{label}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()), flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coaches", type=int, default=50)
    parser.add_argument("--cases", type=int, default=8, help="open cases per coach")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--think", type=float, default=2.0, help="seconds between pages")
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in args.databases:
            results["SQLite"] = run_one("SQLite", f"sqlite:///{tmp}/bench.db", args)
        if "postgres" in args.databases:
            import sqlalchemy

            schema = f"i20_bench_{uuid.uuid4().hex[:8]}"
            admin = sqlalchemy.create_engine(POSTGRES)
            with admin.begin() as conn:
                conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
            try:
                url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
                results["PostgreSQL"] = run_one("PostgreSQL", url, args)
            finally:
                with admin.begin() as conn:
                    conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
    lines = [
        f"# Web desk: {args.coaches} coaches at once ({args.cases} open cases each)",
        "",
        f"Each coach GETs their list, one of their cases (with a conversation of "
        f"{len(CONVERSATION) * 3} kept messages, buttons among them), then the login page (baseline: a "
        f"template, no database), again and again for {args.seconds:g} s. *Browsing*: a "
        f"coach reads {args.think:g} s (±50 %) between pages; *flat out*: no pause at all "
        f"(the capacity). Medians of {args.rounds} rounds; milliseconds. Load average at the "
        f"start: {os.getloadavg()[0]:.1f} (2 cores, shared).",
        "",
        "| database | mode | page | p50 | p95 | p99 | pages/s (all kinds) | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, f in results.items():
        for mode, shown in (("browse", "browsing"), ("max", "flat out")):
            for kind, name in (("list", "my cases"), ("case", "one case"), ("baseline", "login")):
                lines.append(
                    f"| {label} | {shown} | {name} | {f[f'{mode}_{kind}_p50']:.0f} | "
                    f"{f[f'{mode}_{kind}_p95']:.0f} | {f[f'{mode}_{kind}_p99']:.0f} | "
                    f"{f[f'{mode}_pages_per_s']:.0f} | {f[f'{mode}_errors']:.0f} |"
                )
    out = ROOT / "reports" / "bench-web"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
