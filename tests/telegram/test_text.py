"""Pure helpers of the Telegram channel: splitting, escaping, callback data."""

from __future__ import annotations

import html

import pytest
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
    assert callbacks.decode("p:v:yes") == callbacks.Choice("v:yes")  # the payload keeps its ":"
    accept = Action(Verb.ACCEPT, 12)
    assert callbacks.decode(callbacks.desk_data(accept)) == callbacks.DeskAction(Verb.ACCEPT, 12)
    anna = CoachRef(3, 7001, "Anna", "FNV")
    assert callbacks.desk_data(Action(Verb.ASSIGN, 12, anna)) == "c:asg:12:3"
    assign = callbacks.decode("c:asg:12:3")
    assert assign == callbacks.DeskAction(Verb.ASSIGN, 12, 3)
    # Forged or odd data never raises: superscript digits, letters, unknown verbs, ids beyond
    # the database, control characters, an assign without its coach, unknown prefixes.
    for forged in (
        "c:acc:x",
        "c:acc:²",
        "c:acc:1²",
        "c:del:1",
        "c:acc:",
        "c:asg:1:x",
        "c::",
        "c:asg:1",
        "c:acc:1:2",
        "c:acc:2147483648",
        "p:v:yes\x00",
        "g:later",
        "x:1",
        "z:1",
        "p",
        "",
        "\u2028",
    ):
        assert callbacks.decode(forged) is None, forged
    assert callbacks.decode(None) is None
    assert callbacks.decode("x") == callbacks.Settled() and callbacks.DONE == "x"
    stored: list[str] = []

    def store(payload: str) -> str:
        stored.append(payload)
        return "k1"

    data = callbacks.participant_data("é" * 40, store)
    assert data == "h:k1" and stored == ["é" * 40]  # 80 bytes in UTF-8: too long
    assert callbacks.decode(data) == callbacks.StoredChoice("k1")
    assert callbacks.participant_data("ok", lambda p: "never") == "p:ok"


def test_callback_codecs_pack_what_old_keyboards_carry() -> None:
    """Buttons sent before an upgrade stay on keyboards in chats: the wire format is kept."""
    old = ("p:v:yes", "h:3f2a", "c:acc:7", "c:dec:7", "c:asg:7:2", "g:erase", "g:keep", "x")
    for data in old:
        button = callbacks.decode(data)
        assert button is not None and button.pack() == data, data
    with pytest.raises(callbacks.CallbackDataError):
        callbacks.DeskAction.unpack("p:v:yes")  # another feature's button
    with pytest.raises(ValueError, match="64 bytes"):
        callbacks.Choice("x" * 70).pack()
