"""The fixed intent catalogue (SPEC §4) that an admin labels review items with is exactly the
set of intents the training data teaches: neither can drift from the other."""

from __future__ import annotations

import yaml

from bot.config import PROJECT_ROOT
from bot.nlu.intents import INTENTS


def test_the_catalogue_is_the_training_datas_intents() -> None:
    trained: set[str] = set()
    for path in sorted((PROJECT_ROOT / "nlu" / "data").glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        trained |= {block["intent"] for block in document.get("nlu", []) if "intent" in block}
    assert set(INTENTS) == trained
    assert len(INTENTS) == len(set(INTENTS)) == 16
