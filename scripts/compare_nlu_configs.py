"""Compare NLU pipeline configurations on the held-out file (`make nlu-compare`).

Trains config.yml and every nlu/configs/*.yml on the same data, evaluates each on
nlu/tests/heldout.yml (never trained on), and prints one table. Models are cached by
fingerprint, so re-running only trains what changed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands.nlu import evaluate  # noqa: E402
from bot.nlu import rasa_env  # noqa: E402

HELDOUT = ROOT / "nlu" / "tests" / "heldout.yml"


def main() -> int:
    # Default: config.yml and every alternative; or only the config files given as arguments.
    configs = [Path(a).resolve() for a in sys.argv[1:]] or [
        ROOT / "config.yml",
        *sorted((ROOT / "nlu" / "configs").glob("*.yml")),
    ]
    rows = []
    for config in configs:
        started = time.monotonic()
        model, trained = rasa_env.train(ROOT / "models", config=config)
        train_s = time.monotonic() - started if trained else float("nan")
        out = ROOT / "reports" / "compare" / config.stem
        report = evaluate(model, HELDOUT, out)
        rows.append((config.relative_to(ROOT), report, train_s))
    print(f"\n{'config':<36}{'macro-F1':>9}{'raw F1':>8}{'acc':>7}{'oos→fb':>8}{'train s':>9}")
    for name, report, train_s in rows:
        oos = report.out_of_scope_to_fallback
        print(
            f"{name!s:<36}{report.macro_f1:>9.3f}{report.rasa_macro_f1 or 0:>8.3f}"
            f"{report.accuracy:>7.3f}{(oos if oos is not None else float('nan')):>8.0%}"
            f"{train_s:>9.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
