"""Logging that cannot leak what people typed.

Exception messages may quote bound values (a database error quotes its parameters, a parsing
error the input), so only an exception's class and where it happened are logged.
"""

from __future__ import annotations

import traceback


def describe(exc: BaseException) -> str:
    """An exception's class and traceback frames, without its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames[-6:])
    return f"{type(exc).__name__} at {where}"
