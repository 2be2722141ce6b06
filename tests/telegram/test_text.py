"""Pure helpers of the Telegram channel: splitting, escaping, callback data."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram import callbacks
from bot.channels.telegram.text import html_chunks, split_text
from bot.desk.notices import Action, CoachRef, Verb

texts = st.text(alphabet=st.sampled_from("ab <>&\n."), max_size=600)


def _squash(text: str) -> str:
    return "".join(text.split())


@given(texts, st.integers(min_value=5, max_value=80))
def test_split_text_fits_and_keeps_everything(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    assert _squash("".join(chunks)) == _squash(text)


@given(texts, st.integers(min_value=8, max_value=80))
def test_html_chunks_fit_once_escaped(text: str, limit: int) -> None:
    chunks = html_chunks(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    assert _squash(html.unescape("".join(chunks))) == _squash(text)
    assert all("<" not in chunk and ">" not in chunk for chunk in chunks)


def test_split_prefers_paragraphs_then_lines() -> None:
    text = "aaaa bbbb\n\ncccc dddd\neeee"
    assert split_text(text, 12) == ["aaaa bbbb", "cccc dddd", "eeee"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_callback_data() -> None:
    assert callbacks.parse("p:v:yes") == callbacks.Parsed("participant", "v:yes")
    accept = Action(Verb.ACCEPT, 12)
    assert callbacks.parse(callbacks.desk_data(accept)) == callbacks.Parsed(
        "desk", verb=Verb.ACCEPT, case_id=12
    )
    anna = CoachRef(3, 7001, "Anna", "FNV")
    assign = callbacks.parse(callbacks.desk_data(Action(Verb.ASSIGN, 12, anna)))
    assert (assign.verb, assign.case_id, assign.coach_id) == (Verb.ASSIGN, 12, 3)
    # Forged or odd data never raises: superscript digits, letters, unknown verbs.
    for forged in ("c:acc:x", "c:acc:²", "c:acc:1²", "c:del:1", "c:acc:", "c:asg:1:x", "c::"):
        assert callbacks.parse(forged).kind == "unknown", forged
    assert callbacks.parse(None).kind == "unknown"
    assert callbacks.parse("x").kind == "done"
    stored: list[str] = []

    def store(payload: str) -> str:
        stored.append(payload)
        return "k1"

    data = callbacks.participant_data("é" * 40, store)
    assert data == "h:k1" and stored == ["é" * 40]  # 80 bytes in UTF-8: too long
    assert callbacks.participant_data("ok", lambda p: "never") == "p:ok"
