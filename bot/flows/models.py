"""Pydantic models for the YAML flow format (flows/*.yml), modelled on Rasa CALM flows.

One file may hold any of the top-level sections; all files are merged into one `FlowSet`.
See flows/README.md for the admin-facing description of every field.

The models describe the shape only (fields, types, ranges). Every rule about what values mean
together (a choice slot has options, `else` comes last, a referenced flow exists) lives in
`validate.py`, so that all of an admin's mistakes are reported in one run.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal, NewType

from pydantic import AliasChoices, BaseModel, ConfigDict, Discriminator, Field, Tag

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")
END = "END"
# Payloads travel as Telegram callback data (64 bytes), so identifiers stay short and plain.
IDENTIFIER = r"^[a-z][a-z0-9_]{0,39}$"
IDENTIFIER_RE = re.compile(IDENTIFIER)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Text(_Model):
    """A participant-facing text in Dutch and English, with `{slot}` / `{value}` placeholders."""

    nl: str
    en: str | None = None  # missing translations are reported by `careerbot flows check`

    def get(self, language: Language) -> str:
        return self.en if language == "en" and self.en else self.nl


# A text named in a flow file (`say: privacy_notice`): a key of the `texts:` section. Code never
# makes one from a string; the texts the code itself says are named by `catalogue.Key`.
TextName = NewType("TextName", str)
# A text is written inline ({nl: ..., en: ...}) or named by its key in the `texts:` section.
TextRef = Text | TextName


class SlotType(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    YES_NO = "yes_no"
    NUMBER = "number"
    DATE = "date"
    PHONE = "phone"
    EMAIL = "email"
    GEMEENTE = "gemeente"
    POSTCODE = "postcode"
    REGION = "region"  # filled from a gemeente slot; shown as the region name


class ChoiceOption(_Model):
    value: str = Field(pattern=IDENTIFIER)
    label: Text
    # Words and phrases people use for this option, in any language ("bel me", "savonds");
    # `keywords` is the older name of the same list.
    synonyms: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("synonyms", "keywords")
    )
    # A time option: the hours it covers, [from, to) on a 24-hour clock ("na 6 uur" → 18).
    hours: tuple[int, int] | None = None
    # Where an answer that fits no other option goes ("in Polen technische school").
    other: bool = False


class AskWhich(_Model):
    """Words that leave a few options open ("overdag": morning or afternoon): the person is
    asked which, with those options as buttons."""

    words: list[str] = Field(min_length=1)
    options: list[str] = Field(min_length=2)


class SlotDef(_Model):
    type: SlotType
    label: Text | None = None  # the field name in summaries and corrections
    aliases: list[str] = Field(default_factory=list)  # words that name it: "telefoon", "tel"
    ask: TextRef | None = None
    invalid: TextRef | None = None
    retries: int | None = Field(default=None, ge=0, le=10)
    options: list[ChoiceOption] = Field(default_factory=list)
    ask_which: list[AskWhich] = Field(default_factory=list)  # choice: words asked back
    entity: str | None = None  # fill from this NLU entity when present
    format: Literal["name"] | None = None  # text: strip "ik ben ...", capitalise
    min_length: int = Field(default=1, ge=0)
    max_length: int = Field(default=500, ge=1, le=4000)
    min: float | None = None
    max: float | None = None
    region_slot: str | None = None  # gemeente: also set this slot to the region code
    # gemeente: also set this slot to the town or village named ("Naaldwijk" → Westland)
    place_slot: str | None = None
    # Personal data: never collected before the participant consents (the engine enforces it).
    personal: bool = False
    # Check an implausible answer back ("ja" as a name): "Is '{value}' je naam?"
    doubt: TextRef | None = None
    # NLU intents that mean a message is about this question ("het bedrijf gaat dicht" at
    # "what fits your situation?" is job_loss): such a message is an answer in other words,
    # never a new topic; when no option fits it, the buttons are shown again.
    intents: list[str] = Field(default_factory=list)
    # Fill from any message that mentions it (NLU entity or a detector for the type), so the
    # participant is not asked what they already said.
    prefill: bool = True
    # A choice: an option named in passing in any message, with a word that says it is this
    # ("ik heb trouwens hbo", "mbo 4 gedaan"; the slot's aliases count), is kept for when the
    # question comes (off by default: "ik wil gaan studeren" is a wish, not a diploma).
    in_passing: bool = False


class IfBranch(_Model):
    if_: str = Field(alias="if")
    then: str


class ElseBranch(_Model):
    else_: str = Field(alias="else")


Branch = IfBranch | ElseBranch
Next = str | list[Branch]


class _Step(_Model):
    id: str | None = Field(default=None, pattern=IDENTIFIER)
    next: Next | None = None


class Rejection(_Model):
    """CALM-style extra validation: when the condition holds for the new value, say `text`."""

    if_: str = Field(alias="if")
    text: TextRef


class CollectStep(_Step):
    """Waits for an answer. Its id (explicit, else the slot name) is stored in the conversation
    state, so it must stay stable when other steps are added around it."""

    collect: str
    ask: TextRef | None = None
    invalid: TextRef | None = None
    retries: int | None = Field(default=None, ge=0, le=10)
    ask_before_filling: bool = False
    rejections: list[Rejection] = Field(default_factory=list)
    # Makes this a confirmation step: "no" or "wijzig <field>" re-asks one of these slots.
    corrections: list[str] = Field(default_factory=list)


class FlowButton(_Model):
    label: Text
    flow: str | None = None
    intent: str | None = None


class SayStep(_Step):
    say: TextRef
    buttons: list[FlowButton] = Field(default_factory=list)


class ActionName(StrEnum):
    HANDOFF = "handoff"  # create a case and notify a coach (or the coordinator)
    RECORD_CONSENT = "record_consent"  # also keeps what was said before consent
    REFUSE_CONSENT = "refuse_consent"  # forgets what was said before consent
    WITHDRAW_CONSENT = "withdraw_consent"  # also forgets collected slots
    SHOW_MENU = "show_menu"
    RESET_SLOTS = "reset_slots"
    STOP_FLOWS = "stop_flows"  # end every active flow, e.g. when consent is refused
    RECORD_FOLLOW_UP = "record_follow_up"  # slots: the rating (1-5, its last digit), a remark


class ActionStep(_Step):
    action: ActionName
    # reset_slots: the slots to forget; handoff: the slots for the coach's summary, in order
    slots: list[str] = Field(default_factory=list)


SlotValue = str | int | float | bool | None


class SetSlotsStep(_Step):
    set_slots: dict[str, SlotValue]


class CallStep(_Step):
    call: str


class LinkStep(_Step):
    link: str


class NoopStep(_Step):
    """A step that only branches (`- id: x` with `next:`)."""

    noop: bool = True


_STEP_KINDS = ("collect", "say", "action", "set_slots", "call", "link")


def _step_kind(value: Any) -> str:
    if isinstance(value, dict):
        found = [kind for kind in _STEP_KINDS if kind in value]
        return found[0] if len(found) == 1 else "noop"
    return next((kind for kind in _STEP_KINDS if hasattr(value, kind)), "noop")


Step = Annotated[
    Annotated[CollectStep, Tag("collect")]
    | Annotated[SayStep, Tag("say")]
    | Annotated[ActionStep, Tag("action")]
    | Annotated[SetSlotsStep, Tag("set_slots")]
    | Annotated[CallStep, Tag("call")]
    | Annotated[LinkStep, Tag("link")]
    | Annotated[NoopStep, Tag("noop")],
    Discriminator(_step_kind),
]


class Trigger(_Model):
    intents: list[str] = Field(min_length=1)
    min_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    # Used when the NLU server is down, so people can still reach the flow by typing a word.
    keywords: list[str] = Field(default_factory=list)


class Flow(_Model):
    description: str
    label: Text | None = None  # button text when offered in menus and clarifications
    trigger: Trigger | None = None
    # A digression is answered on top of the current flow, then the pending question returns.
    digression: bool = False
    # Chit-chat (hello, thanks, out of scope): answered like a digression, never an answer.
    chitchat: bool = False
    # A short answer to a question that says one word or phrase of every group ("die 5000
    # euro ... zeker?": [[5000, budget], [zeker, garantie]]), whatever the model reads: the
    # subject's own words are surer than a model that reads "hoeveel krijg ik van UWV?" as a
    # question about the cost of the service. Only for digressions; the flow with the most
    # groups said wins.
    asked: list[list[str]] = Field(default_factory=list)
    # ... unless the question says one of these ("hoeveel kost een coach als ik geen werk heb?"
    # is about the cost, not the WW)
    asked_not: list[str] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)


class MenuItem(_Model):
    label: Text
    flow: str


class Roles(_Model):
    """Which slots the code relies on for what: the contract between code and YAML."""

    topic: str = "topic"  # the case topic the coach sees
    first_name: str = "first_name"  # how the bot and the coach address the participant
    contact_method: str = "contact_method"  # option values phone / email / telegram
    # The yes/no "shall a coach contact you?" of the topic flows: asking for a person there
    # means yes.
    coach_offer: str | None = "wants_coach"


class EngineSettings(_Model):
    welcome_flow: str = "welcome"
    human_flow: str = "talk_to_human"
    # Called before the first personal slot is collected while there is no consent yet.
    consent_flow: str = "consent_check"
    # Below this an NLU intent never interrupts a question that is being asked.
    interrupt_confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    # Intents at least this likely are offered as buttons when the bot is unsure.
    clarify_min_confidence: float = Field(default=0.1, ge=0.0, le=1.0)
    clarify_max_options: int = Field(default=3, ge=1, le=5)
    # After this many misunderstood messages in a row the bot offers a human coach.
    max_misunderstood: int = Field(default=2, ge=1, le=10)
    default_retries: int = Field(default=2, ge=0, le=10)
    cancel_keywords: list[str] = Field(default_factory=list)
    roles: Roles = Field(default_factory=Roles)


class FlowFile(_Model):
    """The content of one YAML file; every section is optional."""

    flows: dict[str, Flow] = Field(default_factory=dict)
    slots: dict[str, SlotDef] = Field(default_factory=dict)
    texts: dict[str, Text] = Field(default_factory=dict)
    values: dict[str, str | Text] = Field(default_factory=dict)  # e.g. budget_amount
    menu: list[MenuItem] = Field(default_factory=list)
    settings: EngineSettings | None = None
