"""Keep personal data and the bot token out of the logs.

httpx/httpcore log request URLs (which contain the bot token) at INFO; PTB logs API parameters
(message text, names) and whole updates at DEBUG. Those loggers stay above that level even when
the rest of the bot logs at DEBUG.
"""

from __future__ import annotations

import logging

_QUIET: dict[str, int] = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "telegram.ext": logging.INFO,
    "tornado.access": logging.WARNING,
    "apscheduler": logging.WARNING,
}


def quiet_transport_loggers() -> None:
    for name, level in _QUIET.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)
