"""Callback data for inline buttons: one typed codec per feature, as aiogram's `CallbackData`.

A codec is a frozen dataclass with a prefix and typed fields (int, str, a str enum; trailing
fields may default to None), packed as ``prefix:field:field`` within Telegram's 64-byte limit
(checked when packing). `decode` reads what a press carries: data the bot never makes, or
makes no longer, is None (nothing happens, nothing fails). The wire formats are those the bot
has always sent, so buttons still on keyboards in chats from before an upgrade keep working.

- ``p:<payload>``         `Choice`: a participant button carrying the engine's payload
- ``h:<key>``             `StoredChoice`: a payload too long to fit, stored in the database
- ``c:<verb>:<n>[:<m>]``  `DeskAction`: accept/decline case n; assign case n to coach m
- ``g:erase`` ``g:keep``  `PrivacyChoice`: the answer to /verwijder
- ``x``                   `Settled`: a button that was already pressed (only acknowledged)

Prefixes keep participants and coaches apart: a participant can never forge a coach action,
because desk actions are also checked against the sender (routers/coach.py, coordinator.py).
"""

from __future__ import annotations

import dataclasses
import enum
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from telegram.constants import InlineKeyboardButtonLimit

from bot.desk.notices import Action, Verb
from storage.models import MAX_ID

MAX_CALLBACK_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)
SEP = ":"
# ASCII digits only: "²".isdigit() is True, and int("²") raises.
_NUMBER = re.compile(r"[0-9]{1,12}")


class CallbackDataError(ValueError):
    """Data that is not this codec's (another prefix) or not (any longer) what it packs."""


def fits(data: str) -> bool:
    return 1 <= len(data.encode()) <= MAX_CALLBACK_BYTES


_CODECS: dict[str, type[CallbackData]] = {}


class CallbackData:
    """Base of the codecs. Subclass as ``@dataclass(frozen=True) class X(CallbackData,
    prefix="x")``; the last field, if a str, may contain the separator (an engine payload)."""

    prefix: ClassVar[str]
    _fields: ClassVar[tuple[tuple[str, Any, bool], ...]] = ()  # name, type, optional

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix or SEP in prefix or prefix in _CODECS:
            raise ValueError(f"callback prefix {prefix!r} is empty, has {SEP!r} or is taken")
        cls.prefix = prefix
        _CODECS[prefix] = cls

    @classmethod
    def _spec(cls) -> tuple[tuple[str, Any, bool], ...]:
        if not cls._fields and dataclasses.fields(cls):  # type: ignore[arg-type]
            hints = typing.get_type_hints(cls)
            spec = []
            for item in dataclasses.fields(cls):  # type: ignore[arg-type]
                kind = hints[item.name]
                args = [a for a in typing.get_args(kind) if a is not type(None)]
                optional = len(args) == 1 and kind != args[0]
                spec.append((item.name, args[0] if optional else kind, optional))
            cls._fields = tuple(spec)
        return cls._fields

    def pack(self) -> str:
        """The data for a button; ValueError beyond Telegram's 64 bytes."""
        parts = [self.prefix]
        for name, _kind, _optional in self._spec():
            value = getattr(self, name)
            if value is None:
                continue
            text = value.value if isinstance(value, enum.Enum) else str(value)
            parts.append(str(text))
        data = SEP.join(parts)
        if not fits(data):
            raise ValueError(f"callback data {self.prefix}:… exceeds Telegram's 64 bytes")
        return data

    @classmethod
    def unpack(cls, data: str) -> Self:
        """The codec's value; CallbackDataError for another prefix or data it does not make."""
        head, _, tail = data.partition(SEP)
        if head != cls.prefix:
            raise CallbackDataError("another feature's button")
        spec = cls._spec()
        if not spec:
            if tail or data != cls.prefix:
                raise CallbackDataError("unexpected fields")
            return cls()
        parts = tail.split(SEP, len(spec) - 1) if SEP in data else []
        values: dict[str, Any] = {}
        for index, (name, kind, optional) in enumerate(spec):
            if index >= len(parts):
                if not optional:
                    raise CallbackDataError(f"{name} missing")
                values[name] = None
                continue
            values[name] = _value(kind, parts[index])
        return cls(**values)


def _value(kind: Any, text: str) -> Any:
    if kind is int:
        if not _NUMBER.fullmatch(text) or int(text) > MAX_ID:  # no row has such an id
            raise CallbackDataError("not a number the bot makes")
        return int(text)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(text)
        except ValueError:
            raise CallbackDataError("unknown value") from None
    return text


@dataclass(frozen=True)
class Choice(CallbackData, prefix="p"):
    payload: str


@dataclass(frozen=True)
class StoredChoice(CallbackData, prefix="h"):
    key: str


@dataclass(frozen=True)
class DeskAction(CallbackData, prefix="c"):
    verb: Verb
    case_id: int
    coach_id: int | None = None


class Privacy(enum.StrEnum):
    ERASE = "erase"
    KEEP = "keep"


@dataclass(frozen=True)
class PrivacyChoice(CallbackData, prefix="g"):
    choice: Privacy


@dataclass(frozen=True)
class Settled(CallbackData, prefix="x"):
    pass


Button = Choice | StoredChoice | DeskAction | PrivacyChoice | Settled
DONE = Settled().pack()


def decode(data: str | None) -> Button | None:
    """What a press asks for; None for data the bot never makes (control characters such as
    NUL, ids beyond what the database holds, unknown verbs) or no longer makes."""
    if not data or not data.isprintable():
        return None
    codec = _CODECS.get(data.partition(SEP)[0])
    if codec is None:
        return None
    try:
        value = codec.unpack(data)
    except CallbackDataError:
        return None
    if isinstance(value, DeskAction) and (value.coach_id is None) != (value.verb != Verb.ASSIGN):
        return None  # an assign names its coach; accept and decline do not
    return typing.cast(Button, value)


def participant_data(payload: str, store_long: Callable[[str], str]) -> str:
    """Callback data for an engine payload; `store_long` persists one that does not fit."""
    data = f"{Choice.prefix}{SEP}{payload}"
    return data if fits(data) else StoredChoice(store_long(payload)).pack()


def desk_data(action: Action) -> str:
    coach = action.coach.id if action.verb is Verb.ASSIGN and action.coach else None
    return DeskAction(action.verb, action.case_id, coach).pack()
