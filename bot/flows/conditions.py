"""A tiny, safe condition language for `next: - if:` branches (never `eval`).

Grammar (precedence low to high)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") operand)?
    operand := NAME | STRING | NUMBER | true | false | null | "[" literals "]" | "(" expr ")"

Names are `slots.<slot>` or `context.<field>` (`context.language`, `context.consent`,
`context.channel`, `context.nested`: true while the flow runs on top of another one,
`context.handed_off`: true once the intake went to the desk). A missing slot is `null`; comparing `null` with `<` is simply false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

Value = str | int | float | bool | None | tuple["Value", ...]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>"[^"]*"|'[^']*')
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
    )""",
    re.VERBOSE,
)
CONTEXT_FIELDS = frozenset({"language", "consent", "channel", "nested", "handed_off"})
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})


class ConditionError(ValueError):
    """The condition text is not valid; the message says where."""


@dataclass(frozen=True, slots=True)
class Literal:
    value: Value


@dataclass(frozen=True, slots=True)
class Name:
    scope: str  # "slots" or "context"
    key: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" / "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Node
    right: Node


Node = Literal | Name | Not | BoolOp | Compare


@dataclass(frozen=True, slots=True)
class Condition:
    source: str
    root: Node

    def evaluate(self, slots: Mapping[str, object], context: Mapping[str, object]) -> bool:
        return _truthy(_eval(self.root, slots, context))

    def slot_names(self) -> frozenset[str]:
        return frozenset(_names(self.root, "slots"))


def _tokenize(source: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            raise ConditionError(f"unexpected text at position {pos + 1}: {source[pos:]!r}")
        tokens.append(match.group().strip())
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.pos = 0

    def peek(self, offset: int = 0) -> str | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise ConditionError("condition ends too early")
        if expected is not None and token != expected:
            raise ConditionError(f"expected {expected!r} but found {token!r}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise ConditionError(f"unexpected {self.peek()!r}")
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.peek() == "or":
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.not_expr()]
        while self.peek() == "and":
            self.take()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def not_expr(self) -> Node:
        if self.peek() == "not":
            self.take()
            return Not(self.not_expr())
        return self.compare()

    def compare(self) -> Node:
        left = self.operand()
        token = self.peek()
        if token in {"==", "!=", "<", "<=", ">", ">=", "in"}:
            self.take()
            return Compare(token, left, self.operand())
        if token == "not" and self.peek(1) == "in":
            self.take()
            self.take()
            return Compare("not in", left, self.operand())
        return left

    def operand(self) -> Node:
        token = self.take()
        if token == "(":
            node = self.or_expr()
            self.take(")")
            return node
        if token == "[":
            items: list[Value] = []
            while self.peek() != "]":
                item = self.operand()
                if not isinstance(item, Literal):
                    raise ConditionError("lists may only hold literal values")
                items.append(item.value)
                if self.peek() == ",":
                    self.take()
            self.take("]")
            return Literal(tuple(items))
        if token[0] in "\"'":
            return Literal(token[1:-1])
        if token in {"true", "false"}:
            return Literal(token == "true")
        if token == "null":
            return Literal(None)
        if re.fullmatch(r"-?\d+(?:\.\d+)?", token):
            return Literal(float(token) if "." in token else int(token))
        if token in _KEYWORDS or token in {")", "]", ",", "==", "!=", "<", "<=", ">", ">="}:
            raise ConditionError(f"unexpected {token!r}")
        scope, _, key = token.partition(".")
        if scope not in {"slots", "context"} or not key:
            raise ConditionError(f"unknown name {token!r}: use slots.<name> or context.<name>")
        if scope == "context" and key not in CONTEXT_FIELDS:
            raise ConditionError(
                f"unknown context field {key!r}; known: {', '.join(sorted(CONTEXT_FIELDS))}"
            )
        return Name(scope, key)


@lru_cache(maxsize=1024)
def compile_condition(source: str) -> Condition:
    """Parse once; flows reuse the same condition texts on every turn."""
    if not source.strip():
        raise ConditionError("empty condition")
    return Condition(source, _Parser(source).parse())


def _eval(node: Node, slots: Mapping[str, object], context: Mapping[str, object]) -> object:
    match node:
        case Literal(value):
            return value
        case Name("slots", key):
            return slots.get(key)
        case Name(_, key):
            return context.get(key)
        case Not(operand):
            return not _truthy(_eval(operand, slots, context))
        case BoolOp("and", operands):
            return all(_truthy(_eval(o, slots, context)) for o in operands)
        case BoolOp(_, operands):
            return any(_truthy(_eval(o, slots, context)) for o in operands)
        case Compare(op, left, right):
            return _compare(op, _eval(left, slots, context), _eval(right, slots, context))
    raise ConditionError(f"cannot evaluate {node!r}")


def _compare(op: str, left: object, right: object) -> bool:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in {"in", "not in"}:
        found = isinstance(right, tuple | list | str) and left in right
        return found if op == "in" else not found
    if not (isinstance(left, int | float) and isinstance(right, int | float)):
        return False
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def _truthy(value: object) -> bool:
    return value not in (None, False, "", 0, ())


def _names(node: Node, scope: str) -> list[str]:
    match node:
        case Name(s, key) if s == scope:
            return [key]
        case Not(operand):
            return _names(operand, scope)
        case BoolOp(_, operands):
            return [n for o in operands for n in _names(o, scope)]
        case Compare(_, left, right):
            return _names(left, scope) + _names(right, scope)
    return []
