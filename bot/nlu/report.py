"""Score an NLU model on a labelled file: per-intent F1 and macro-F1, counting fallbacks fairly.

`rasa test nlu` undoes the FallbackClassifier before scoring, so its figures never show
`nlu_fallback`. Our headline figure is computed from the predictions of the running server
(`POST /model/parse`, fallback included), i.e. what the bot really acts on. An off-topic
message that becomes `nlu_fallback` is the behaviour we want, so `out_of_scope` and
`nlu_fallback` are one class ("fallback"). Rasa's own macro average is reported beside it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

FALLBACK_CLASS = "fallback"
_FALLBACK_NAMES = {"out_of_scope", "nlu_fallback"}
# [text](entity), [text]{"entity": ...} and [text](entity:value) → text
_ENTITY_MARKUP = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


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
    # share of in-scope examples (every other intent) that wrongly triggered no flow
    in_scope_rejected: float | None = None


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


def labelled_examples(data: Path) -> list[tuple[str, str]]:
    """(text, intent) for every example in a Rasa-format NLU file, entity markup removed."""
    document = yaml.safe_load(data.read_text(encoding="utf-8")) or {}
    examples: list[tuple[str, str]] = []
    for block in document.get("nlu") or []:
        if "intent" not in block:
            continue
        listed = block.get("examples") or ""
        if isinstance(listed, list):  # examples with metadata: [{text: ..., metadata: ...}]
            texts = [str(e.get("text", "")) if isinstance(e, dict) else str(e) for e in listed]
        else:
            texts = [line.strip().removeprefix("- ") for line in str(listed).splitlines()]
        for text in (t.strip() for t in texts):
            if text:
                examples.append((_ENTITY_MARKUP.sub(r"\1", text), str(block["intent"])))
    return examples


def build_report(
    pairs: list[tuple[str, str]], *, rasa_intent_report: Path | None = None
) -> NluReport:
    """From (true intent, served prediction) pairs."""
    per, macro, accuracy = score([(_class(t), _class(p)) for t, p in pairs])
    oos = [p for t, p in pairs if t == "out_of_scope"]
    oos_share = sum(p in _FALLBACK_NAMES for p in oos) / len(oos) if oos else None
    in_scope = [p for t, p in pairs if t not in _FALLBACK_NAMES]
    rejected = sum(p in _FALLBACK_NAMES for p in in_scope) / len(in_scope) if in_scope else None
    rasa_macro = None
    if rasa_intent_report is not None and rasa_intent_report.exists():
        rasa = json.loads(rasa_intent_report.read_text(encoding="utf-8"))
        rasa_macro = float(rasa.get("macro avg", {}).get("f1-score", 0.0))
    return NluReport(per, macro, accuracy, rasa_macro, oos_share, len(pairs), rejected)


def format_report(report: NluReport) -> str:
    lines = [f"{'intent':<22}{'prec':>7}{'recall':>8}{'f1':>7}{'n':>5}"]
    for name, s in report.per_intent.items():
        lines.append(f"{name:<22}{s.precision:>7.2f}{s.recall:>8.2f}{s.f1:>7.2f}{s.support:>5}")
    lines.append("")
    lines.append(f"examples: {report.total}   accuracy: {report.accuracy:.3f}")
    lines.append(f"macro-F1 (out_of_scope ≡ nlu_fallback): {report.macro_f1:.3f}")
    if report.rasa_macro_f1 is not None:
        lines.append(
            f"macro-F1 as `rasa test nlu` counts it (fallback undone): {report.rasa_macro_f1:.3f}"
        )
    if report.out_of_scope_to_fallback is not None:
        lines.append(
            f"off-topic examples that triggered no flow (nlu_fallback or out_of_scope): "
            f"{report.out_of_scope_to_fallback:.0%}"
        )
    if report.in_scope_rejected is not None:
        lines.append(
            f"in-scope examples wrongly rejected (no flow): {report.in_scope_rejected:.1%}"
        )
    return "\n".join(lines)
