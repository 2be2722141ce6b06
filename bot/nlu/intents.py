"""The intent catalogue (SPEC §4): the names are fixed, other code and the training data
depend on them. An admin labels a review item with one of these, never a free word."""

from __future__ import annotations

CORE = ("job_loss", "flex_contract", "training_question", "career_orientation", "talk_to_human")
QUESTIONS = ("ask_cost", "ask_about_service", "privacy_question", "bot_challenge")
CONVERSATION = ("greet", "goodbye", "thanks", "affirm", "deny", "cancel", "out_of_scope")
INTENTS: tuple[str, ...] = CORE + QUESTIONS + CONVERSATION
