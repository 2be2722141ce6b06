"""NLU figures over several trainings (`make nlu-eval`, `make nlu-compare`).

DIET's training on CPU is not reproducible and the small classes of a held-out set have ten
examples or so, so one training says little. For every pipeline config (default: config.yml)
this trains one model per seed (DIETClassifier `random_seed`, default 42, 7 and 1234), scores
each model on every held-out set with the served scoring of `careerbot nlu test` (the answers
of a running Rasa server, fallback included, `out_of_scope` ≡ `nlu_fallback`; see
bot/nlu/report.py) and prints, per config and set, min/median/max macro-F1, the share of
off-topic messages that trigger no flow and the median training time; then the per-intent F1
(median over the seeds) of the first config. Every set is scored a second time as
`<set>-unseen`, without its messages that occur word for word in the training data. The same
table goes to
reports/nlu-eval/summary.md, every single figure to reports/nlu-eval/results.json.

Models are kept under reports/nlu-eval/models/ (out of git), named after a fingerprint of data
and seeded config, so re-running only trains what changed; the training time of a cached
model is read from the JSON file written beside it.

Only aggregate figures are printed and stored: no per-message predictions, so a held-out set
can be scored without anybody reading its errors (pass --rasa-test to also get Rasa's own
report files, errors included, for the first set only).

    scripts/nlu_eval.py                                   # config.yml
    scripts/nlu_eval.py config.yml nlu/configs/*.yml      # compare configs (make nlu-compare)
    scripts/nlu_eval.py --seeds 42 --sets nlu/tests/heldout.yml
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands.nlu import evaluate, served_predictions  # noqa: E402
from bot.nlu import rasa_env  # noqa: E402
from bot.nlu.report import (  # noqa: E402
    FALLBACK_CLASS,
    NluReport,
    build_report,
    labelled_examples,
)

DEFAULT_SETS = [ROOT / "nlu" / "tests" / "heldout.yml", ROOT / "nlu" / "tests" / "independent.yml"]
DEFAULT_SEEDS = [42, 7, 1234]
CORE_INTENTS = [
    "job_loss",
    "flex_contract",
    "training_question",
    "career_orientation",
    "talk_to_human",
]
# Quality bars of issue 17 (median, min, every core intent, off-topic rejected, in-scope
# wrongly rejected at most, out_of_scope F1), shown beside the figures.
TARGET_MACRO, TARGET_MIN, TARGET_CORE, TARGET_OOS = 0.96, 0.95, 0.93, 0.95
TARGET_IN_SCOPE_REJECTED, TARGET_OOS_F1 = 0.03, 0.93
# On the messages not in the training data (`<set>-unseen`) issue 17 asks the median ≥ 0.95.
TARGET_MACRO_UNSEEN = 0.95


@dataclass
class Run:
    seed: int
    train_s: float | None
    reports: dict[str, NluReport] = field(default_factory=dict)


def seeded_config(config: Path, seed: int, out_dir: Path) -> Path:
    """A copy of `config` whose classifiers use `seed`."""
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    for component in document.get("pipeline") or []:
        name = str(component.get("name", ""))
        if name == "DIETClassifier":
            component["random_seed"] = seed
        elif name == "LogisticRegressionClassifier" or name.endswith(".HybridIntentClassifier"):
            component["random_state"] = seed
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{config.stem}-seed{seed}.yml"
    target.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return target


def train(config: Path, models_dir: Path, data_dir: Path) -> tuple[Path, float | None]:
    """Train (or reuse) the model for `config`; returns it and its training time in seconds."""
    started = time.monotonic()
    model, trained = rasa_env.train(models_dir, config=config, data_dir=data_dir)
    timing = model.with_suffix("").with_suffix(".json")
    if trained:
        seconds = time.monotonic() - started
        timing.write_text(json.dumps({"train_s": seconds}), encoding="utf-8")
        return model, seconds
    if timing.exists():
        return model, float(json.loads(timing.read_text(encoding="utf-8"))["train_s"])
    return model, None


def training_texts(data_dir: Path) -> set[str]:
    """Every training example's text (entity markup removed), lower-cased."""
    return {
        text.casefold()
        for path in sorted(data_dir.glob("*.yml"))
        for text, _ in labelled_examples(path)
    }


def score_served(
    model: Path, sets: list[Path], log_file: Path, seen: set[str]
) -> dict[str, NluReport]:
    """One Rasa server for `model`, every set scored on its /model/parse answers; each set also
    as `<set>-unseen`, without the messages that occur word for word in the training data (short
    forms such as "hoi" always will; the unseen figure is the one that says how it generalizes)."""
    url = f"http://127.0.0.1:{rasa_env.free_port()}"
    server = rasa_env.start_server(model, url, log_file=log_file)

    try:
        reports: dict[str, NluReport] = {}
        for data in sets:
            examples = labelled_examples(data)
            pairs = asyncio.run(served_predictions(url, examples))
            reports[data.stem] = build_report(pairs)
            unseen = [
                pair
                for (text, _), pair in zip(examples, pairs, strict=True)
                if text.casefold() not in seen
            ]
            reports[f"{data.stem}-unseen"] = build_report(unseen)
        return reports
    finally:
        server.stop()


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "–" if value is None or value != value else format(value, spec)


def summary_rows(runs: dict[str, list[Run]], sets: list[str]) -> list[list[str]]:
    rows = []
    for name, config_runs in runs.items():
        times = [r.train_s for r in config_runs if r.train_s is not None]
        for set_name in sets:
            macro = [r.reports[set_name].macro_f1 for r in config_runs]
            oos = [
                o
                for r in config_runs
                if (o := r.reports[set_name].out_of_scope_to_fallback) is not None
            ]
            rejected = [
                o for r in config_runs if (o := r.reports[set_name].in_scope_rejected) is not None
            ]
            rows.append(
                [
                    name,
                    set_name,
                    str(len(config_runs)),
                    _fmt(min(macro)),
                    _fmt(_median(macro)),
                    _fmt(max(macro)),
                    _fmt(_median(oos), ".0%") if oos else "–",
                    _fmt(_median(rejected), ".1%") if rejected else "–",
                    _fmt(_median(times), ".0f") if times else "–",
                ]
            )
    return rows


def per_intent_rows(config_runs: list[Run], sets: list[str]) -> list[list[str]]:
    intents = sorted({i for r in config_runs for s in sets for i in r.reports[s].per_intent})
    rows = []
    for intent in intents:
        row = [intent + (" *" if intent in CORE_INTENTS else "")]
        for set_name in sets:
            f1 = [
                r.reports[set_name].per_intent[intent].f1
                for r in config_runs
                if intent in r.reports[set_name].per_intent
            ]
            row.append(_fmt(_median(f1)) if f1 else "–")
        rows.append(row)
    return rows


def verdict(config_runs: list[Run], sets: list[str]) -> list[str]:
    """The bars of issue 8, checked on the median over seeds (min for the floor)."""
    lines = []
    for set_name in sets:
        reports = [r.reports[set_name] for r in config_runs]
        macro = [r.macro_f1 for r in reports]
        oos = [
            r.out_of_scope_to_fallback for r in reports if r.out_of_scope_to_fallback is not None
        ]
        weak = [
            f"{i} {f:.3f}"
            for i in CORE_INTENTS
            if (f := _median([r.per_intent[i].f1 for r in reports if i in r.per_intent]))
            < TARGET_CORE
        ]
        rejected = [r.in_scope_rejected for r in reports if r.in_scope_rejected is not None]
        fallback_f1 = _median(
            [r.per_intent[FALLBACK_CLASS].f1 for r in reports if FALLBACK_CLASS in r.per_intent]
        )
        target = TARGET_MACRO_UNSEEN if set_name.endswith("-unseen") else TARGET_MACRO
        ok = (
            _median(macro) >= target
            and min(macro) >= TARGET_MIN
            and not weak
            and (not oos or _median(oos) >= TARGET_OOS)
            and (not rejected or _median(rejected) <= TARGET_IN_SCOPE_REJECTED)
            and (fallback_f1 != fallback_f1 or fallback_f1 >= TARGET_OOS_F1)
        )
        lines.append(
            f"{set_name}: {'meets' if ok else 'MISSES'} the bars: median macro-F1 "
            f"{_median(macro):.3f} (bar {target}), min {min(macro):.3f} (bar {TARGET_MIN}), "
            + (f"core intents below {TARGET_CORE}: {', '.join(weak)}" if weak else "core ok")
            + (f", off-topic → no flow {_median(oos):.0%} (bar {TARGET_OOS:.0%})" if oos else "")
            + (
                f", in-scope → no flow {_median(rejected):.1%} "
                f"(bar ≤ {TARGET_IN_SCOPE_REJECTED:.0%})"
                if rejected
                else ""
            )
            + (
                f", out_of_scope F1 {fallback_f1:.3f} (bar {TARGET_OOS_F1})"
                if fallback_f1 == fallback_f1
                else ""
            )
        )
    return lines


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="*", type=Path, help="default: config.yml")
    parser.add_argument("--seeds", nargs="+", type=int, default=DEFAULT_SEEDS)
    parser.add_argument("--sets", nargs="+", type=Path, default=DEFAULT_SETS)
    parser.add_argument("--data", type=Path, default=rasa_env.NLU_DATA_DIR, help="training data")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "nlu-eval")
    parser.add_argument(
        "--seen-also",
        nargs="+",
        type=Path,
        default=[],
        metavar="DIR",
        help="also count the examples of these data dirs as seen, so that two trainings on "
        "different data are scored on the same <set>-unseen messages",
    )
    parser.add_argument(
        "--rasa-test",
        action="store_true",
        help="also run `rasa test nlu` on the first set (Rasa's report files, errors included)",
    )
    args = parser.parse_args()
    configs = [c.resolve() for c in args.configs] or [ROOT / "config.yml"]
    sets = [s.resolve() for s in args.sets if s.exists()]
    for missing in (s for s in args.sets if not s.exists()):
        print(f"nlu_eval: skipping {missing}: no such file", file=sys.stderr)
    if not sets:
        print("nlu_eval: no evaluation set found", file=sys.stderr)
        return 1
    set_names = [name for s in sets for name in (s.stem, f"{s.stem}-unseen")]
    seen = training_texts(args.data.resolve())
    for extra in args.seen_also:
        seen |= training_texts(extra.resolve())
    models_dir = args.out / "models"
    # Rasa caches trained components in .rasa/cache; a fresh CI checkout has no cache, so train
    # every component for honest training times (export RASA_MAX_CACHE_SIZE to override).
    os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")
    started = time.monotonic()

    runs: dict[str, list[Run]] = {}
    total = len(configs) * len(args.seeds)
    step = 0
    for config in configs:
        name = str(config.relative_to(ROOT)) if config.is_relative_to(ROOT) else str(config)
        runs[name] = []
        for seed in args.seeds:
            step += 1
            prefix = f"[{step}/{total} {name} seed {seed}]"
            print(f"{prefix} training…", flush=True)
            seeded = seeded_config(config, seed, args.out / "configs")
            try:
                model, train_s = train(seeded, models_dir, args.data.resolve())
                print(
                    f"{prefix} model {model.name}, training {_fmt(train_s, '.0f')} s"
                    + ("" if train_s is not None else " (cached)")
                    + f"; scoring {', '.join(s.stem for s in sets)}…",
                    flush=True,
                )
                t0 = time.monotonic()
                log = args.out / "logs" / f"{config.stem}-seed{seed}.log"
                reports = score_served(model, sets, log, seen)
                if args.rasa_test:
                    evaluate(model, sets[0], args.out / "rasa-test" / f"{config.stem}-seed{seed}")
            except rasa_env.RasaError as exc:
                print(f"nlu_eval: {exc}", file=sys.stderr)
                return 1
            runs[name].append(Run(seed, train_s, reports))
            scores = ", ".join(f"{s} {r.macro_f1:.3f}" for s, r in reports.items())
            print(
                f"{prefix} macro-F1 {scores} (scored in {time.monotonic() - t0:.0f} s; "
                f"{time.monotonic() - started:.0f} s so far)",
                flush=True,
            )

    header = [
        "config",
        "set",
        "runs",
        "min F1",
        "median F1",
        "max F1",
        "oos→no flow",
        "in-scope→no flow",
        "train s",
    ]
    rows = summary_rows(runs, set_names)
    shipped = next(iter(runs))
    intent_header = ["intent (* core)", *(f"{s} F1" for s in set_names)]
    intent_rows = per_intent_rows(runs[shipped], set_names)
    checks = verdict(runs[shipped], set_names)
    seeds = ", ".join(map(str, args.seeds))

    print()
    print(text_table(header, rows))
    print(f"\nPer-intent F1 of {shipped} (median over seeds {seeds}):")
    print(text_table(intent_header, intent_rows))
    print()
    print("\n".join(checks))

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.md").write_text(
        "\n\n".join(
            [
                "# NLU evaluation",
                f"Seeds {seeds}; served scoring (fallback included, out_of_scope ≡ "
                "nlu_fallback); oos→no flow = share of out_of_scope examples that became "
                "out_of_scope or nlu_fallback; in-scope→no flow = share of all other examples "
                "that did (wrongly rejected); train s = median training time.",
                markdown_table(header, rows),
                f"## Per-intent F1 of `{shipped}` (median over seeds)",
                markdown_table(intent_header, intent_rows),
                "\n".join(f"- {c}" for c in checks),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    results: dict[str, Any] = {
        name: [
            {
                "seed": r.seed,
                "train_s": r.train_s,
                "sets": {
                    s: {
                        "macro_f1": rep.macro_f1,
                        "accuracy": rep.accuracy,
                        "out_of_scope_to_fallback": rep.out_of_scope_to_fallback,
                        "in_scope_rejected": rep.in_scope_rejected,
                        "examples": rep.total,
                        "per_intent_f1": {i: sc.f1 for i, sc in rep.per_intent.items()},
                    }
                    for s, rep in r.reports.items()
                },
            }
            for r in config_runs
        ]
        for name, config_runs in runs.items()
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(
        f"\nWritten {args.out / 'summary.md'} and results.json ({time.monotonic() - started:.0f} s)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
