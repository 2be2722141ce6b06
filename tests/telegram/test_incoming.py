"""The update as the routers see it (bot/channels/telegram/incoming.py): read once from the
stored JSON, the fields the routers use, and odd shapes refused as unreadable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.channels.telegram import callbacks
from bot.channels.telegram.incoming import Unreadable, read_update

SAM = {"id": 9101, "is_bot": False, "first_name": "Sam"}
PRIVATE = {"id": 9101, "type": "private", "first_name": "Sam"}


def _message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 5, "date": 1_700_000_000, "chat": PRIVATE, "from": SAM, **fields}


def _read(update: dict[str, Any]) -> Any:
    return read_update(json.dumps(update))


def test_a_typed_message() -> None:
    incoming = _read(
        {
            "update_id": 1,
            "message": _message(text="/Stop@careerbot\u200b nu", reply_to_message=_message()),
        }
    )
    assert (incoming.user_id, incoming.chat_id, incoming.private) == (9101, 9101, True)
    assert incoming.message and incoming.press is None
    assert incoming.command == "/stop"  # lower case, without the bot name
    assert incoming.cleaned == "/Stop@careerbot nu" and incoming.rest == "nu"
    assert incoming.reply_to == 5
    media = _read({"update_id": 2, "message": _message(photo=[])})
    assert media.message and media.text is None and media.cleaned == "" and media.command == ""


def test_a_press_knows_its_button_and_label() -> None:
    keyboard = {"inline_keyboard": [[{"text": "Ja", "callback_data": "p:v:yes"}]]}
    shown = _message(text="Verder?", reply_markup=keyboard)
    query = {"id": "77", "from": SAM, "chat_instance": "c", "data": "p:v:yes", "message": shown}
    incoming = _read({"update_id": 3, "callback_query": query})
    press = incoming.press
    assert not incoming.message and incoming.chat_id == 9101 and incoming.private
    assert press is not None and press.query_id == "77" and press.message_id == 5
    assert press.button == callbacks.Choice("v:yes") and press.label == "Ja"
    # Telegram no longer shows messages older than 48 h: date 0, nothing to edit.
    old = {**query, "message": {**shown, "date": 0}, "data": "c:zzz:1"}
    incoming = _read({"update_id": 4, "callback_query": old})
    assert incoming.press is not None and incoming.press.message_id is None
    assert incoming.press.button is None and incoming.chat_id == 9101  # forged: no button


def test_edits_and_channel_posts_only_say_where() -> None:
    edit = _read({"update_id": 5, "edited_message": _message(text="x", edit_date=1)})
    assert (edit.chat_id, edit.user_id, edit.message, edit.press) == (9101, 9101, False, None)
    unknown = _read({"update_id": 6, "poll": {"id": "1"}})
    assert unknown.chat_id is None and unknown.user_id is None


@pytest.mark.parametrize(
    "payload",
    [
        "[]",
        "not json",
        json.dumps({"message": _message(text="x")}),  # no update_id
        json.dumps({"update_id": True, "message": _message(text="x")}),
        json.dumps({"update_id": 1, "message": _message(text=5)}),
        json.dumps({"update_id": 1, "message": {**_message(), "chat": {"id": "x"}}}),
        json.dumps({"update_id": 1, "callback_query": {"id": 7, "from": SAM}}),
    ],
)
def test_odd_shapes_are_unreadable(payload: str) -> None:
    with pytest.raises(Unreadable):
        read_update(payload)
