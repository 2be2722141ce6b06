"""`careerbot nlu train|serve|parse|test|shell`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from pathlib import Path

from bot.config import PROJECT_ROOT, get_settings
from bot.nlu import rasa_env
from bot.nlu.client import NluClient, NluResult
from bot.nlu.report import NluReport, build_report, format_report, labelled_examples

RASA_LOG = PROJECT_ROOT / "data" / "rasa.log"
PID_FILE = PROJECT_ROOT / "data" / "rasa.pid"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    nlu = subparsers.add_parser("nlu", help="train, serve, query and test the Rasa NLU model")
    sub = nlu.add_subparsers(dest="nlu_command", metavar="ACTION", required=True)

    train = sub.add_parser("train", help="train into models/ (skipped when nothing changed)")
    train.add_argument("--force", action="store_true", help="train even if unchanged")
    train.add_argument("--config", type=Path, default=rasa_env.CONFIG_FILE)
    train.set_defaults(func=_train)

    serve = sub.add_parser("serve", help="start the Rasa HTTP server at RASA_URL")
    serve.add_argument(
        "--background", action="store_true", help="return once it answers (make run)"
    )
    serve.set_defaults(func=_serve)

    stop = sub.add_parser("stop", help="stop a server started with serve --background")
    stop.set_defaults(func=_stop)

    parse = sub.add_parser("parse", help="print intent, confidence and entities of TEXT")
    parse.add_argument("text")
    parse.set_defaults(func=_parse)

    shell = sub.add_parser("shell", help="type messages, see how the model reads them")
    shell.set_defaults(func=_shell)

    review = sub.add_parser(
        "review", help="messages the model was unsure about (masked), to label and train on"
    )
    review.add_argument(
        "--export", type=Path, metavar="FILE", help="write them as Rasa NLU YAML to FILE"
    )
    review.add_argument(
        "--labelled-only", action="store_true", help="export only items an admin labelled"
    )
    review.set_defaults(func=_review)

    test = sub.add_parser("test", help="evaluate on a Rasa-format NLU file")
    test.add_argument("--data", type=Path, required=True, help="e.g. nlu/tests/heldout.yml")
    test.add_argument("--out", type=Path, required=True, help="report directory")
    test.add_argument("--config", type=Path, default=rasa_env.CONFIG_FILE)
    test.set_defaults(func=_test)


def _fail(message: str) -> int:
    print(f"careerbot: {message}", file=sys.stderr)
    return 1


def _train(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        model, trained = rasa_env.train(settings.models_dir, config=args.config, force=args.force)
    except rasa_env.RasaError as exc:
        return _fail(str(exc))
    if not trained:
        print(f"NLU model up to date: {model.relative_to(PROJECT_ROOT)}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    url = settings.rasa_url
    if rasa_env.server_ready(url):
        print(f"Rasa is already answering at {url}.")
        return 0
    try:
        model, _ = rasa_env.train(settings.models_dir)
        print(
            f"Starting Rasa at {url} with {model.name} (log: {RASA_LOG.relative_to(PROJECT_ROOT)})…"
        )
        server = rasa_env.start_server(model, url, log_file=RASA_LOG)
    except rasa_env.RasaError as exc:
        return _fail(str(exc))
    print(f"Rasa is ready at {url}.", flush=True)
    if args.background:
        if server.process is not None:
            PID_FILE.write_text(str(server.process.pid), encoding="utf-8")
        return 0
    return serve_foreground(server)


def serve_foreground(server: rasa_env.RasaServer) -> int:
    """Run until Rasa exits or SIGTERM/SIGINT arrives, then stop Rasa (within seconds).

    The signal handler only sets a flag: stopping the child from inside the handler while the
    main thread waits on the same child hung for good (a zombie, and a service that never
    stops under systemd or Kubernetes).
    """
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    process = server.process
    try:
        while process is not None and process.poll() is None and not stopping.is_set():
            stopping.wait(0.5)
    finally:
        server.stop()
    return 0


def _stop(args: argparse.Namespace) -> int:
    import os

    if not PID_FILE.exists():
        print("No background Rasa server recorded.")
        return 0
    pid = int(PID_FILE.read_text(encoding="utf-8").strip())
    try:
        os.killpg(pid, signal.SIGTERM)
        print(f"Stopped Rasa (pid {pid}).")
    except ProcessLookupError:
        print("Rasa was not running.")
    PID_FILE.unlink(missing_ok=True)
    return 0


def describe(result: NluResult) -> str:
    if not result.available:
        return "NLU unavailable: is the Rasa server running? (careerbot nlu serve)"
    lines = [f"intent: {result.intent}  ({result.confidence:.2f})"]
    others = [f"{r.name} {r.confidence:.2f}" for r in result.ranking[:3] if r.name != result.intent]
    if others:
        lines.append("  next: " + ", ".join(others))
    for entity in result.entities:
        lines.append(f"entity: {entity.entity} = {entity.value}")
    return "\n".join(lines)


async def _parse_once(text: str) -> NluResult:
    settings = get_settings()
    async with NluClient(
        settings.rasa_url, timeout=settings.nlu_timeout_seconds, retries=0
    ) as client:
        return await client.parse(text)


def _parse(args: argparse.Namespace) -> int:
    result = asyncio.run(_parse_once(args.text))
    print(describe(result))
    return 0 if result.available else 1


def _shell(args: argparse.Namespace) -> int:
    async def loop() -> None:
        settings = get_settings()
        async with NluClient(settings.rasa_url, timeout=settings.nlu_timeout_seconds) as client:
            print("NLU shell: type a message (empty line or Ctrl-D to stop).")
            while True:
                try:
                    text = await asyncio.to_thread(input, "> ")
                except EOFError:
                    break
                if not text.strip():
                    break
                print(describe(await client.parse(text)))

    asyncio.run(loop())
    return 0


def _test(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not args.data.exists():
        return _fail(f"no such file: {args.data}")
    try:
        model, _ = rasa_env.train(settings.models_dir, config=args.config)
        print(f"Evaluating {model.name} on {args.data}…", flush=True)
        report = evaluate(model, args.data, args.out)
    except rasa_env.RasaError as exc:
        return _fail(str(exc))
    print(format_report(report))
    print(f"\nRasa's reports are in {args.out}/ (intent_report.json, intent_errors.json).")
    return 0


def _review(args: argparse.Namespace) -> int:
    """Counts per reason; with --export the queue as Rasa NLU YAML (model's guess, confidence)."""
    from storage import nlu_review
    from storage.database import create_db_engine, session_scope, upgrade

    url = get_settings().database_url
    upgrade(url)
    with session_scope(create_db_engine(url)) as session:
        counts = nlu_review.count_items(session)
        open_counts = nlu_review.count_items(session, unlabelled_only=True)
        total = sum(counts.values())
        print(
            f"NLU review queue: {total} message(s), {sum(open_counts.values())} not labelled yet"
            + (
                " (" + ", ".join(f"{r}: {n}" for r, n in sorted(counts.items())) + ")"
                if counts
                else ""
            )
        )
        if args.export is None:
            if total:
                print("Write them out with: careerbot nlu review --export FILE")
            return 0
        document = nlu_review.export_yaml(session, labelled_only=args.labelled_only)
    try:
        args.export.parent.mkdir(parents=True, exist_ok=True)
        args.export.write_text(document, encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot write {args.export}: {exc.strerror}")
    print(
        f"Written to {args.export}: check each example's intent, then add it to nlu/data "
        "and run `careerbot nlu train`."
    )
    return 0


async def served_predictions(url: str, examples: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(true intent, what the Rasa server at `url` answers) for every (text, intent) example."""
    async with NluClient(url, timeout=30, retries=1) as client:
        results = [await client.parse(text) for text, _ in examples]
    if not all(r.available for r in results):
        raise rasa_env.RasaError("the Rasa server stopped answering during the evaluation")
    return [(intent, r.intent) for (_, intent), r in zip(examples, results, strict=True)]


def evaluate(model: Path, data: Path, out_dir: Path) -> NluReport:
    """Rasa's own report files, plus our score from what a served model really answers."""
    rasa_env.run_nlu_test(model, data, out_dir)
    examples = labelled_examples(data)
    url = f"http://127.0.0.1:{rasa_env.free_port()}"
    server = rasa_env.start_server(model, url, log_file=out_dir / "rasa-server.log")
    try:
        pairs = asyncio.run(served_predictions(url, examples))
    finally:
        server.stop()
    return build_report(pairs, rasa_intent_report=out_dir / "intent_report.json")
