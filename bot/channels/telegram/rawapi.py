"""Bot API calls with JSON in and JSON out, through python-telegram-bot's own HTTP path.

`Bot.send_message` and `Bot.get_updates` build PTB objects from our parameters and from
Telegram's answer (a Message per message sent, an Update per update received) that the outbox
and the inbox only turn back into JSON or read one field of: that was about a fifth of the bot's
CPU per turn. The same holds for the pipeline's best-effort calls ("Eén moment…", stopping a
pressed button's spinner), whose answer nobody reads at all. `Bot.do_api_request` is the same request code (`Bot._post`: the HTTPXRequest
pools and timeouts, and the mapping of Telegram's errors to RetryAfter, BadRequest, Forbidden,
ChatMigrated, NetworkError, …) with plain dicts on both sides.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import Bot
from telegram.warnings import PTBUserWarning

SEND_MESSAGE = "sendMessage"
EDIT_MARKUP = "editMessageReplyMarkup"
EDIT_TEXT = "editMessageText"
GET_UPDATES = "getUpdates"
ANSWER_CALLBACK = "answerCallbackQuery"

# do_api_request warns "please use Bot.send_message" for a method PTB wraps; the raw call is
# the point here. Only these exact warnings are silenced (a filter is process-wide: it cannot
# be scoped to one await).
for _method in (SEND_MESSAGE, EDIT_MARKUP, EDIT_TEXT, GET_UPDATES, ANSWER_CALLBACK):
    warnings.filterwarnings(
        "ignore", message=f"Please use 'Bot.{_method}'", category=PTBUserWarning
    )


async def call(
    bot: Bot, method: str, params: dict[str, Any], *, read_timeout: float | None = None
) -> Any:
    """`method` with `params` (JSON values; dicts and lists are sent JSON-encoded, as PTB
    sends its objects); Telegram's `result` as parsed JSON (a dict, a list or True)."""
    if read_timeout is None:
        return await bot.do_api_request(method, params)
    return await bot.do_api_request(method, params, read_timeout=read_timeout)


def message_id(result: Any) -> int | None:
    """The message_id of a sent or edited message (an edit of an inline message: None)."""
    if isinstance(result, dict) and isinstance(result.get("message_id"), int):
        return int(result["message_id"])
    return None
