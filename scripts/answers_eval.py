"""Answers typed at the bot's questions: how many are read as the answer the person meant.

    make answers-eval                              # this checkout, a Rasa server of its own
    .venv/bin/python scripts/answers_eval.py --before /tmp/i16-before [--rasa-url URL]

Each entry of tests/data/answers_at_questions.yml (frozen: written by someone who never saw the
code or the training data) is one message typed at one question. The engine is put at that
question (after consent, in the intake a coach will receive), the message goes through the
real understanding step with the real Rasa server (only when the engine asks for the NLU, as
in the bot), and what happened is compared with what the writer expected: the slot value
stored, nothing stored ('none': a question in between), or the buttons again ('clarify').
A town asked back ("Monster hoort bij de gemeente Westland, klopt dat?") counts as right when
the municipality asked about is the expected one.

Only aggregates are printed (overall, per slot, per kind, per language, and the share of
not_answer entries wrongly stored): the set must never be used to tune the engine. With
--before, an older checkout (e.g. `git worktree add /tmp/i16-before 14eb9f5`) is scored with
the same Rasa server in the same run, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "answers_at_questions.yml"


# -- the worker: one checkout, imported in its own process ------------------------------------


def _state_at(flows: Any, slot: str, lang: str) -> Any:
    from bot.engine.state import ConversationState, Frame

    base: dict[str, Any] = {
        "welcomed": True,
        "language": lang,
        "language_heard": True,
        "consent": True,
    }
    if slot == "consent":
        base["consent"] = False
        return ConversationState(**base, stack=[Frame(flow="welcome", step="consent")])
    topic = "career_orientation"
    if slot == "wants_coach":
        step = flows.flows[topic].collect_step_for("wants_coach")
        return ConversationState(
            **base, stack=[Frame(flow=topic, step=step)], slots={"topic": topic}
        )
    intake = flows.flows["intake"]
    pending = intake.collect_step_for(slot)
    before = {
        "first_name": "Sam",
        "gemeente": "Utrecht",
        "region": "AM13",
        "work_situation": "no_work",
        "contract_type": "tijdelijk",
        "sector": "schoonmaak",
        "education": "mbo",
        "goal": "ander werk",
        "contact_method": {"phone": "phone", "email": "email"}.get(slot, "telegram"),
    }
    order = [s.collect for s in intake.flow.steps if hasattr(s, "collect")]
    known = {name: value for name, value in before.items() if name in order[: order.index(slot)]}
    if slot in ("phone", "email"):
        known["contact_method"] = slot
        known["region"] = "AM13"
    if "gemeente" in known:
        known["region"] = "AM13"
    return ConversationState(
        **base,
        stack=[
            Frame(flow=topic, step="intake", called=True),
            Frame(flow="intake", step=pending),
        ],
        slots={"topic": topic, **known},
    )


def _same_municipality(a: Any, b: Any) -> bool:
    from bot.gemeenten import resolve_gemeente

    if not isinstance(a, str) or not isinstance(b, str):
        return False
    found = [resolve_gemeente(x).municipality for x in (a, b)]
    names = [m.official_name if m is not None else x for m, x in zip(found, (a, b), strict=True)]
    return names[0] == names[1]


def _right(slot: str, expected: Any, stored: Any, asked: Any) -> bool:
    if expected in ("none", "clarify"):
        return stored in (None, "") and asked is None
    if expected == "stored":
        return stored not in (None, "")
    if slot == "gemeente":
        return _same_municipality(stored, expected) or _same_municipality(asked, expected)
    if isinstance(expected, bool):
        return stored is expected
    if isinstance(expected, str) and isinstance(stored, str):
        return stored.casefold() == expected.casefold()
    return bool(stored == expected)


def worker(repo: Path, data: Path, rasa_url: str) -> None:
    sys.path.insert(0, str(repo))
    import httpx
    import yaml

    import bot
    from bot.engine.engine import needs_nlu, turn
    from bot.engine.messages import Inbound
    from bot.flows.registry import FlowRegistry
    from bot.nlu.client import NluResult

    if Path(bot.__file__).resolve().parent.parent != repo.resolve():
        sys.exit(f"imported {bot.__file__}, not the checkout {repo}")
    flows = FlowRegistry(repo / "flows").current
    try:
        # The bot embeds the options' texts in the background once; score the steady state,
        # not a race with that thread (a cold cache scored 3 answers fewer on 5 Dec 2026).
        from bot.engine import similarity

        similarity.warm(flows.slots.values())
    except ImportError:  # a checkout from before the sentence vectors
        pass
    entries = yaml.safe_load(data.read_text(encoding="utf-8"))["entries"]
    http = httpx.Client(base_url=rasa_url, timeout=30.0)
    rows = []
    for entry in entries:
        slot = entry["slot"]
        state = _state_at(flows, slot, entry["lang"])
        inbound = Inbound(text=entry["text"])
        nlu = None
        if needs_nlu(flows, state, inbound):
            response = http.post("/model/parse", json={"text": entry["text"]})
            nlu = NluResult.from_rasa(response.json())
        result = turn(flows, state, inbound, nlu, channel="eval")
        after = result.state
        stored = {**after.heard, **after.slots}.get(slot)
        doubt = after.doubt
        asked = doubt.value if doubt is not None and doubt.slot == slot else None
        accepted = [entry["expect"], *(entry.get("also_ok") or [])]
        right = any(_right(slot, expected, stored, asked) for expected in accepted)
        rows.append(
            {
                "slot": slot,
                "kind": entry["kind"],
                "lang": entry["lang"],
                "right": right,
                "stored": stored not in (None, ""),
                "asked_back": asked is not None,
            }
        )
    print(json.dumps(rows))


# -- the parent: Rasa, one worker per checkout, the table ---------------------------------------


def _start_rasa() -> tuple[str, Any]:
    sys.path.insert(0, str(ROOT))
    from bot.nlu import rasa_env
    from bot.nlu.rasa_env import free_port

    model, _ = rasa_env.train(ROOT / "models")
    url = f"http://127.0.0.1:{free_port()}"
    log = Path(tempfile.gettempdir()) / "answers-eval-rasa.log"
    print(f"Starting Rasa with {model.name} at {url} (log: {log})…", file=sys.stderr)
    return url, rasa_env.start_server(model, url, log_file=log)


def _score(repo: Path, data: Path, url: str) -> list[dict[str, Any]]:
    python = repo / ".venv" / "bin" / "python"
    if not python.exists():
        python = Path(sys.executable)
    env = {**os.environ, "PYTHONPATH": str(repo)}
    out = subprocess.run(
        [str(python), __file__, "--worker", str(repo), "--data", str(data), "--rasa-url", url],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=repo,
    )
    rows: list[dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return rows


def _table(results: dict[str, list[dict[str, Any]]]) -> str:
    names = list(results)
    lines = [f"{'':<28}" + "".join(f"{n:>22}" for n in names)]

    def share(rows: list[dict[str, Any]], key: str = "right") -> str:
        if not rows:
            return f"{'–':>22}"
        hits = sum(1 for r in rows if r[key])
        return f"{hits:>9}/{len(rows):<4} {hits / len(rows):>6.1%} "

    def group(title: str, field: str) -> None:
        lines.append(title)
        values = sorted({r[field] for rows in results.values() for r in rows})
        for value in values:
            lines.append(
                f"  {value:<26}"
                + "".join(share([r for r in results[n] if r[field] == value]) for n in names)
            )

    lines.append(f"{'read as the right answer':<28}" + "".join(share(results[n]) for n in names))
    not_answers = {n: [r for r in results[n] if r["kind"] == "not_answer"] for n in names}
    lines.append(
        f"{'not_answer wrongly stored':<28}"
        + "".join(share(not_answers[n], "stored") for n in names)
    )
    lines.append(
        f"{'town asked back':<28}" + "".join(share(results[n], "asked_back") for n in names)
    )
    lines.append("not_answer wrongly stored, per slot")
    for value in sorted({r["slot"] for rows in not_answers.values() for r in rows}):
        lines.append(
            f"  {value:<26}"
            + "".join(
                share([r for r in not_answers[n] if r["slot"] == value], "stored") for n in names
            )
        )
    group("per slot", "slot")
    group("per kind", "kind")
    group("per language", "lang")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rasa-url", help="a running Rasa server (default: start one)")
    parser.add_argument("--before", type=Path, help="an older checkout to score in the same run")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.data, args.rasa_url)
        return
    server = None
    url = args.rasa_url
    if url is None:
        url, server = _start_rasa()
    try:
        results: dict[str, list[dict[str, Any]]] = {}
        if args.before is not None:
            results[f"before ({_commit(args.before)})"] = _score(args.before, args.data, url)
        results[f"after ({_commit(ROOT)})"] = _score(ROOT, args.data, url)
    finally:
        if server is not None:
            server.stop()
    count = len(next(iter(results.values())))
    by_kind: dict[str, int] = defaultdict(int)
    for row in next(iter(results.values())):
        by_kind[row["kind"]] += 1
    print(f"{args.data.name}: {count} answers at questions ({dict(sorted(by_kind.items()))})")
    print(_table(results))


def _commit(repo: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return repo.name


if __name__ == "__main__":
    main()
