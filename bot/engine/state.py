"""Conversation state: everything the engine needs to continue a conversation after a restart.

It is a plain JSON document (stored per participant) so that it survives restarts and flow
reloads; steps are addressed by id, and unknown flows/steps are recovered from gracefully.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.flows.models import Language

JsonScalar = str | int | float | bool | None


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")

    flow: str
    step: str
    # A digression was answered on top of this frame: re-ask with a "back to my question" line.
    interrupted: bool = False
    # This frame is at a `call` step whose sub-flow is running (or just finished).
    called: bool = False


class Doubt(BaseModel):
    """An implausible answer waiting to be confirmed ("Is 'Ja' je naam?")."""

    model_config = ConfigDict(extra="ignore")

    slot: str
    value: JsonScalar
    extra: dict[str, JsonScalar] = Field(default_factory=dict)
    options: list[str] = Field(default_factory=list)  # offered as buttons when it is not


class ConversationState(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    language: Language = "nl"
    language_chosen: bool = False  # chosen with /taal: no more guessing
    language_heard: bool = False  # a message long enough to tell the language has been seen
    welcomed: bool = False
    consent: bool = False
    stack: list[Frame] = Field(default_factory=list)
    slots: dict[str, JsonScalar] = Field(default_factory=dict)
    # Personal values said before consent was answered: used in the conversation, promoted to
    # `slots` on consent, erased when consent is refused.
    heard: dict[str, JsonScalar] = Field(default_factory=dict)
    doubt: Doubt | None = None
    retries: int = 0  # invalid answers to the question that is pending
    misunderstood: int = 0  # messages in a row the bot did not understand
    deferred_flow: str | None = None  # what the first message asked for, started after welcome
    correcting: str | None = None  # slot being corrected from a summary
    shown: list[str] = Field(default_factory=list)  # long texts already sent (never twice)
    # The payload of the one button the last turn offered (a topic, "read it again"): a "ja"
    # with nothing pending takes it.
    offered: str | None = None
    turns: int = 0
    # A request went to the desk and its case is open (the conversation service clears this
    # when the case is closed): a phone number now updates that case, and asking for a coach
    # again starts no second intake.
    handed_off: bool = False

    @property
    def active_flow(self) -> str | None:
        return self.stack[-1].flow if self.stack else None

    def known(self) -> dict[str, JsonScalar]:
        """Everything the participant said, consented or not (for the conversation only)."""
        return {**self.heard, **self.slots} if self.heard else self.slots
