"""Read YAML files into typed models, keeping the line of every value. Nothing else.

The reader knows YAML and the shape of the models (field names, types, ranges); it knows no
rule about what the values mean together. Those are all in `validate.py`, so that an admin's
mistake is reported once, by one rule, with the line to edit. The conversation tests
(`flows/tests/*.yml`) are read with the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.flows.models import FlowFile
from bot.flows.problems import Problem

DocPath = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass
class Document:
    """A YAML document as plain data, with the line of every key and item."""

    name: str
    data: Any
    lines: dict[DocPath, int]

    def line(self, *path: str | int) -> int | None:
        """The line of `path`, or of the nearest enclosing value that has one."""
        for end in range(len(path), -1, -1):
            if (found := self.lines.get(path[:end])) is not None:
                return found
        return None


@dataclass
class SourceFile:
    """One flows/*.yml file: its content and the line of every value."""

    name: str
    content: FlowFile
    document: Document

    def line(self, *path: str | int) -> int | None:
        return self.document.line(*path)


def display_name(path: Path) -> str:
    """The path as an admin typed it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_yaml(path: Path, name: str | None = None) -> tuple[Document | None, list[Problem]]:
    name = name or display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return None, [_read_problem(name, line, f"YAML syntax: {exc.problem or exc.context}")]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [_read_problem(name, None, f"cannot read file: {type(exc).__name__}")]
    if root is None:
        return Document(name, None, {}), []
    composer = _Composer(name)
    data = composer.convert(root, ())
    if composer.problems:
        return None, composer.problems
    return Document(name, data, composer.lines), []


def parse_model(
    document: Document, model: type[M], data: Any = None
) -> tuple[M | None, list[Problem]]:
    """Validate `data` (default: the whole document) against `model`; errors get their line."""
    try:
        return model.model_validate(document.data if data is None else data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            at, shown = _document_path(err["loc"], document.lines)
            problems.append(_read_problem(document.name, document.line(*at), _describe(err, shown)))
        return None, problems


def read_flow_file(path: Path) -> tuple[SourceFile | None, list[Problem]]:
    document, problems = read_yaml(path)
    if document is None:
        return None, problems
    if document.data is None:
        return SourceFile(document.name, FlowFile(), document), []
    if not isinstance(document.data, dict):
        message = "the file must be a mapping of sections (flows:, slots:, ...)"
        return None, [_read_problem(document.name, 1, message)]
    content, problems = parse_model(document, FlowFile)
    if content is None:
        return None, problems
    return SourceFile(document.name, content, document), []


def _read_problem(name: str, line: int | None, message: str) -> Problem:
    return Problem(name, line, message, rule="read")


class _Composer:
    """YAML nodes to plain data, noting the line of every key and item."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: dict[DocPath, int] = {}
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")

    def convert(self, node: yaml.Node, path: DocPath) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if not isinstance(key, str | int | float | bool):
                    self.problems.append(_read_problem(self.name, line, "keys must be plain words"))
                    continue
                # "yes"/"no" keys would be booleans in YAML 1.1; admins mean the words.
                key = str(key_node.value) if isinstance(key, bool) else str(key)
                if key in result:
                    self.problems.append(_read_problem(self.name, line, f"duplicate key {key!r}"))
                child = (*path, key)
                result[key] = self.convert(value_node, child)
                self.lines[child] = line
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalars.construct_object(node)


def _document_path(loc: Iterable[str | int], lines: dict[DocPath, int]) -> tuple[DocPath, DocPath]:
    """Map a pydantic error location to the document: (path with a line, path to show).

    Pydantic inserts union tags ("collect", "function-after[...]") that are not keys in the
    YAML; a part is a tag when the next part only fits without it.
    """
    parts = list(loc)
    path: DocPath = ()
    shown: DocPath = ()
    for i, part in enumerate(parts):
        following = parts[i + 1] if i + 1 < len(parts) else None
        is_tag = isinstance(part, str) and (
            "[" in part
            or (
                following is not None
                and (*path, following) in lines
                and (*path, part, following) not in lines
            )
        )
        if is_tag:
            continue
        shown = (*shown, part)
        if (*path, part) in lines:
            path = (*path, part)
    return path, shown


def _describe(err: Any, shown: DocPath) -> str:
    loc = ".".join(str(p) for p in shown)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    return f"{loc}: {message}" if loc else message
