"""Text helpers for Telegram: HTML escaping and splitting at the 4096-character limit."""

from __future__ import annotations

import html

from telegram.constants import MessageLimit

MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)


def escape(text: str) -> str:
    """Escape user-typed or plain text for parse_mode HTML."""
    return html.escape(text, quote=False)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split `text` into chunks of at most `limit` characters.

    Prefers paragraph breaks, then line breaks, then spaces; only a single word longer than the
    limit is cut hard. Call it on already-escaped HTML only if no tag spans a break (ours are
    plain text escaped per chunk, see `html_chunks`).
    """
    chunks: list[str] = []
    rest = text.strip("\n")
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator, 0, limit + 1)
            if cut > 0:
                break
        if cut <= 0:
            chunks.append(rest[:limit])
            rest = rest[limit:]
            continue
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not chunks:
        chunks.append(rest)
    return [chunk for chunk in chunks if chunk] or [""]


def html_chunks(plain: str, limit: int = MAX_TEXT) -> list[str]:
    """Escape plain text for HTML and split it so every escaped chunk fits `limit`.

    Splitting happens before escaping (so no entity is cut), with a margin re-check because
    escaping makes text longer ("<" becomes "&lt;").
    """
    result: list[str] = []
    pending = split_text(plain, limit)
    while pending:
        chunk = pending.pop(0)
        escaped = escape(chunk)
        if len(escaped) <= limit or len(chunk) <= 1:
            result.append(escaped)
            continue
        # Too long once escaped: split the plain chunk smaller and try again.
        smaller = split_text(chunk, max(1, len(chunk) * limit // len(escaped) - 8))
        pending[:0] = smaller
    return result
