"""A finding about an admin's file: where it is (file:line), what is wrong, and which rule said so.

Plain data, so that the command line prints it, a running bot logs it, and the web desk can
show it next to the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int | None
    message: str
    severity: Severity = "error"
    rule: str = ""  # the validator rule (a function name), "read" for YAML and schema errors

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
