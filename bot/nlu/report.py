"""Summarise a `rasa test nlu` run: per-intent F1 and macro-F1, counting fallbacks fairly.

An off-topic message that becomes `nlu_fallback` is the behaviour we want, so for the headline
figure `out_of_scope` and `nlu_fallback` are one class ("fallback"). Rasa's own raw macro
average is reported beside it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FALLBACK_CLASS = "fallback"
_FALLBACK_NAMES = {"out_of_scope", "nlu_fallback"}


@dataclass(frozen=True, slots=True)
class IntentScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class NluReport:
    per_intent: dict[str, IntentScores]
    macro_f1: float
    accuracy: float
    rasa_macro_f1: float | None
    out_of_scope_to_fallback: float | None  # share of out_of_scope examples that triggered no flow
    total: int


def _class(name: str) -> str:
    return FALLBACK_CLASS if name in _FALLBACK_NAMES else name


def score(pairs: list[tuple[str, str]]) -> tuple[dict[str, IntentScores], float, float]:
    """Per-class scores, macro-F1 over the true classes, and accuracy, from (true, predicted)."""
    true_counts = Counter(t for t, _ in pairs)
    pred_counts = Counter(p for _, p in pairs)
    hits = Counter(t for t, p in pairs if t == p)
    per: dict[str, IntentScores] = {}
    for label in sorted(true_counts):
        precision = hits[label] / pred_counts[label] if pred_counts[label] else 0.0
        recall = hits[label] / true_counts[label]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = IntentScores(precision, recall, f1, true_counts[label])
    macro = sum(s.f1 for s in per.values()) / len(per) if per else 0.0
    accuracy = sum(hits.values()) / len(pairs) if pairs else 0.0
    return per, macro, accuracy


def load_report(out_dir: Path) -> NluReport:
    predictions: list[dict[str, Any]] = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out_dir / name
        if path.exists():
            predictions.extend(json.loads(path.read_text(encoding="utf-8")))
    raw_pairs = [
        (str(p["intent"]), str((p.get("intent_prediction") or {}).get("name"))) for p in predictions
    ]
    pairs = [(_class(t), _class(p)) for t, p in raw_pairs]
    per, macro, accuracy = score(pairs)
    oos = [p for t, p in raw_pairs if t == "out_of_scope"]
    oos_share = sum(p in _FALLBACK_NAMES for p in oos) / len(oos) if oos else None
    rasa_macro = None
    report_file = out_dir / "intent_report.json"
    if report_file.exists():
        rasa = json.loads(report_file.read_text(encoding="utf-8"))
        rasa_macro = float(rasa.get("macro avg", {}).get("f1-score", 0.0))
    return NluReport(per, macro, accuracy, rasa_macro, oos_share, len(pairs))


def format_report(report: NluReport) -> str:
    lines = [f"{'intent':<22}{'prec':>7}{'recall':>8}{'f1':>7}{'n':>5}"]
    for name, s in report.per_intent.items():
        lines.append(f"{name:<22}{s.precision:>7.2f}{s.recall:>8.2f}{s.f1:>7.2f}{s.support:>5}")
    lines.append("")
    lines.append(f"examples: {report.total}   accuracy: {report.accuracy:.3f}")
    lines.append(f"macro-F1 (out_of_scope ≡ nlu_fallback): {report.macro_f1:.3f}")
    if report.rasa_macro_f1 is not None:
        lines.append(f"macro-F1 as Rasa counts it (raw intent names): {report.rasa_macro_f1:.3f}")
    if report.out_of_scope_to_fallback is not None:
        lines.append(
            f"off-topic examples that triggered no flow (nlu_fallback or out_of_scope): "
            f"{report.out_of_scope_to_fallback:.0%}"
        )
    return "\n".join(lines)
