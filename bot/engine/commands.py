"""Commands: what one participant message means for the dialogue, before anything is done.

The understanding step (`understand.py`) turns a message into commands; the command processor
(`processor.py`) applies them to the flows. The split follows Rasa CALM's
`dialogue_understanding/commands` → command processor → flow executor, so that "what did the
person mean?" is decided (and tested) apart from "what happens next?".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.engine.state import JsonScalar
from bot.flows.catalogue import Key

SlotValues = dict[str, JsonScalar]


@dataclass(frozen=True, slots=True)
class SetSlots:
    """Fill slots: the answer to the pending question and whatever else the message said."""

    values: SlotValues
    # The slot the pending question asked for, if the message answered it.
    answers: str | None = None
    # A question asked in the same message ("ik ben lasser, hoe zit het met die 5000 euro?"):
    # answered once the answer is stored, before the next question (AnswerQuestion, OffTopic,
    # CannotHandle or HumanHandoff).
    then: Command | None = None
    # Said back ("Genoteerd: telefoonnummer ..."): values taken from an answer to another question.
    noted: bool = False


@dataclass(frozen=True, slots=True)
class CorrectSlots:
    """Change slots that already had a value ("nee, ik woon in Utrecht")."""

    values: SlotValues


@dataclass(frozen=True, slots=True)
class StartCorrection:
    """Ask one slot of a summary again ("mijn woonplaats", the fix button)."""

    slot: str


@dataclass(frozen=True, slots=True)
class ConfirmValue:
    """An implausible answer ("ja" as a name): check it back once before storing it."""

    slot: str
    value: JsonScalar
    extra: SlotValues = field(default_factory=dict)
    # offered when the answer is no (the other municipalities a border village may belong to)
    options: tuple[str, ...] = ()
    check: Key | None = None  # the catalogue text to ask with, else the slot's `doubt`
    shown: str | None = None  # how the value is shown in it, else the value itself


@dataclass(frozen=True, slots=True)
class ResolveDoubt:
    """The answer to a check-back question: keep the value (True) or ask again (False)."""

    keep: bool


@dataclass(frozen=True, slots=True)
class InvalidAnswer:
    """Meant as an answer, but not a valid value: say why, with an example, and ask again."""

    slot: str
    reason: str | None = None
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AnswerQuestion:
    """A question in between (digression): answer it, then the pending question comes back."""

    flow: str


@dataclass(frozen=True, slots=True)
class OffTopic:
    """Chatter (hello, thanks, out of scope) in the middle of a question: reply, never store."""

    flow: str | None


@dataclass(frozen=True, slots=True)
class StartFlow:
    """Start a topic."""

    flow: str


@dataclass(frozen=True, slots=True)
class Narrow:
    """A word that leaves a few options open ("overdag": morning or afternoon): ask which,
    with those as buttons (at a summary: that question again)."""

    slot: str
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UpdateCase:
    """A contact detail typed after the handoff ("06-12345678"): it goes to the open case."""

    values: SlotValues


@dataclass(frozen=True, slots=True)
class HumanHandoff:
    """The participant asks for a person."""


@dataclass(frozen=True, slots=True)
class Cancel:
    pass


@dataclass(frozen=True, slots=True)
class Clarify:
    """Unsure which of these the person means: offer them as buttons."""

    flows: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CannotHandle:
    """Not understood. `question`: it was a question the bot has no answer for."""

    question: bool = False


@dataclass(frozen=True, slots=True)
class NluDown:
    """The NLU server did not answer and no keyword matched."""


@dataclass(frozen=True, slots=True)
class Welcome:
    """A first message: introduce the bot and ask consent; `then` is the topic it asked for."""

    then: str | None = None


@dataclass(frozen=True, slots=True)
class SetLanguage:
    language: str
    chosen: bool  # picked with /taal or a button: no more guessing


@dataclass(frozen=True, slots=True)
class PickLanguage:
    """Offer the language buttons (/taal without an argument)."""


@dataclass(frozen=True, slots=True)
class Reask:
    """Repeat the pending question (or show the menu when none is pending)."""

    # Values the message gave for other questions, said back first ("Genoteerd: ...").
    noted: tuple[str, ...] = ()
    # The message told what happened ("ik ben ontslagen"): a short word that it was heard.
    heard_topic: bool = False


@dataclass(frozen=True, slots=True)
class ShowMenu:
    """Leave whatever runs and show the menu (/menu, /help)."""


@dataclass(frozen=True, slots=True)
class Retry:
    """The "try again" button after repeated invalid answers."""


@dataclass(frozen=True, slots=True)
class ShowAgain:
    """ "Read it again": a long text that was shortened to a reminder."""

    text: str


@dataclass(frozen=True, slots=True)
class WayForward:
    """After repeated misunderstanding in an intake: skip the question (`skip`), hand over
    what is known (`handover`), or be contacted through this chat (`chat`)."""

    how: str


@dataclass(frozen=True, slots=True)
class StaleButton:
    """A button from an earlier point of the conversation."""


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """ "ja", "oké", "dank je", 👍 with nothing pending (after the handoff, at the menu): a short
    friendly word back, never "I did not understand" and never a new topic."""

    thanks: bool


@dataclass(frozen=True, slots=True)
class NumberTyped:
    """A number typed at a button question that picks nothing ("2" where the buttons are not
    shown numbered, "optie 9" of five): say how to answer, then the question again. `count`
    is how many options are shown numbered, None where they are not numbered."""

    slot: str
    count: int | None


Command = (
    SetSlots
    | CorrectSlots
    | StartCorrection
    | ConfirmValue
    | ResolveDoubt
    | InvalidAnswer
    | AnswerQuestion
    | OffTopic
    | StartFlow
    | HumanHandoff
    | UpdateCase
    | Narrow
    | Cancel
    | Clarify
    | CannotHandle
    | NluDown
    | Welcome
    | SetLanguage
    | PickLanguage
    | Reask
    | ShowMenu
    | Retry
    | ShowAgain
    | WayForward
    | StaleButton
    | NumberTyped
    | Acknowledge
)
