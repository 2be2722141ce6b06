"""How well bot/reference/woonplaatsen.csv (and bot/gemeenten.py) resolve an independent sample.

    .venv/bin/python scripts/places_eval.py [tests/data/places_sample.csv] [--list]

The sample (place, municipality, province, note, confidence) was written by someone who never
saw the table. Prints the share of places resolved to the sample's municipality, split by
how the bot decides (certain, asked back, a choice of several places, not found) and by the
writer's confidence; --list prints the disagreements to investigate (the sample can be wrong).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.gemeenten import normalise, resolve_gemeente  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "sample", nargs="?", type=Path, default=ROOT / "tests/data/places_sample.csv"
    )
    parser.add_argument("--list", action="store_true", help="print every disagreement")
    args = parser.parse_args()
    rows = list(csv.DictReader(args.sample.open(encoding="utf-8")))
    outcome: Counter[str] = Counter()
    by_confidence: dict[str, Counter[str]] = {}
    wrong: list[str] = []
    for row in rows:
        expected = resolve_gemeente(row["municipality"]).municipality
        expected_name = expected.name if expected else row["municipality"]
        match = resolve_gemeente(row["place"])
        if match.municipality is not None:
            right = normalise(match.municipality.name) == normalise(expected_name)
            how = "asked back" if match.confirm else "certain"
            if (
                match.confirm
                and not right
                and any(normalise(m.name) == normalise(expected_name) for m in match.alternatives)
            ):
                right, how = True, "asked back, then a button"
        elif any(expected_name in s for s in match.suggestions):
            right, how = True, "choice offered"
        else:
            right, how = False, "not found" if not match.suggestions else "choice offered"
        key = f"{how}: {'right' if right else 'wrong'}"
        outcome[key] += 1
        by_confidence.setdefault(row.get("confidence") or "?", Counter())[
            "right" if right else "wrong"
        ] += 1
        if not right:
            got = match.municipality.name if match.municipality else "/".join(match.suggestions)
            wrong.append(
                f"{row['place']:<24} sample: {expected_name:<24} table: {got or '-':<28} "
                f"({how}; {row.get('confidence')}: {row.get('note', '')})"
            )
    total = len(rows)
    right = sum(n for k, n in outcome.items() if k.endswith("right"))
    print(
        f"{args.sample.name}: {total} places, resolved to the sample's municipality: "
        f"{right}/{total} = {right / total:.1%}"
    )
    for key, n in sorted(outcome.items()):
        print(f"  {key:<24} {n:4d}")
    for confidence, counts in sorted(by_confidence.items()):
        n = sum(counts.values())
        print(
            f"  sample confidence {confidence:<7} {counts['right']}/{n} = {counts['right'] / n:.1%}"
        )
    if args.list:
        print("\n".join(sorted(wrong)))


if __name__ == "__main__":
    main()
