"""Start-up mistakes as one line: what is wrong and what to do, never a traceback (unless
`careerbot --debug`), never a password.

    careerbot: cannot open the database at postgresql+psycopg://bot:***@db:5432/careerbot:
    database "careerbot" does not exist. Create it (createdb careerbot) or correct DATABASE_URL.
"""

from __future__ import annotations

import re
import sqlite3

from pydantic import ValidationError
from sqlalchemy import exc
from sqlalchemy.engine import make_url


def explain(error: BaseException, *, database_url: str | None) -> str | None:
    """The one line for a start-up error, or None when it is not one we know (a bug)."""
    if isinstance(error, ValidationError):
        return _settings(error)
    if isinstance(error, exc.ArgumentError) and "URL" in str(error):
        return (
            "DATABASE_URL is not a database URL. Write it as "
            "postgresql+psycopg://user@host:5432/dbname or sqlite:///path/to/careerbot.db."
        )
    where = f"cannot open the database at {_safe(database_url)}"
    if isinstance(error, exc.NoSuchModuleError):
        kind = str(error).rsplit(":", 1)[-1].strip() or "?"
        return (
            f'{where}: unknown kind of database "{kind}". Use postgresql+psycopg://… '
            "for PostgreSQL or sqlite:///… for a file."
        )
    if isinstance(error, exc.DBAPIError | sqlite3.Error):
        reason = _reason(error)
        return f"{where}: {reason}{_advice(reason)}"
    return None


def _safe(url: str | None) -> str:
    if not url:
        return "DATABASE_URL"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "DATABASE_URL"


def _reason(error: BaseException) -> str:
    """The server's own words, without SQLAlchemy's wrapping and psycopg's preamble."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip()
    fatal = re.findall(r"FATAL:\s*(.+)", text)
    if fatal:
        return " ".join(fatal[-1].split())
    first = text.splitlines()[0] if text else type(original).__name__
    first = re.sub(r"^connection failed:\s*", "", first)
    first = re.sub(
        r'^connection to server at "[^"]*"(?:\s*\([^)]*\))?, port \d+ failed:\s*', "", first
    )
    return " ".join(first.split()) or type(original).__name__


_ADVICE: tuple[tuple[str, str], ...] = (
    (r'database "([^"]+)" does not exist', "Create it (createdb {0}) or correct DATABASE_URL."),
    (r'role "([^"]+)" does not exist', "Create that user or correct the user in DATABASE_URL."),
    (r"password authentication failed", "Check the user and password in DATABASE_URL."),
    (
        r"Connection refused|could not connect|No route to host|timeout expired",
        "Is PostgreSQL running there? Start it, or correct the host and port in DATABASE_URL.",
    ),
    (
        r"could not translate host name|Name or service not known|nodename nor servname",
        "Correct the host name in DATABASE_URL.",
    ),
    (r"readonly database|read-only", "Make the file and its directory writable for this user."),
    (
        r"unable to open database file",
        "Check that the directory exists and is writable for this user.",
    ),
    (r"database is locked", "Another program holds the database; close it and try again."),
)


def _advice(reason: str) -> str:
    for pattern, advice in _ADVICE:
        if match := re.search(pattern, reason, re.IGNORECASE):
            return ". " + advice.format(*match.groups())
    return "."


def _settings(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:3]:
        name = "_".join(str(part) for part in item.get("loc", ())).upper() or "a setting"
        problems.append(f"{name}: {item.get('msg', 'invalid')}")
    return (
        "a setting is not valid ("
        + "; ".join(problems)
        + "). Correct it in the environment or .env."
    )
