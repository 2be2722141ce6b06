"""Process configuration (SPEC §3): environment variables, optionally from a `.env` file."""

from __future__ import annotations

from datetime import time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.scheduler.timings import Timings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = None
    telegram_base_url: str = DEFAULT_TELEGRAM_BASE_URL
    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{PROJECT_ROOT / 'data' / 'careerbot.db'}"
    )
    rasa_url: str = "http://127.0.0.1:5005"
    # NoDecode: the variable is a plain comma-separated list, not JSON.
    admin_telegram_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    coordinator_chat_id: int | None = None
    webhook_secret: str | None = None
    # The web desk (`careerbot web`): where it listens, and the address in the login links.
    web_base_url: str = "http://127.0.0.1:8080"
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_link_requests_per_10_min: int = 3  # /login links one person may ask for

    # Not in the public contract, but useful to tune per deployment.
    nlu_timeout_seconds: float = 2.0  # for one parse, retries included
    nlu_retries: int = 1
    nlu_max_in_flight: int = 8  # parses out at Rasa at once (more wait: bot/nlu/admission.py)
    # /metrics, /healthz, /readyz in polling mode (webhook mode serves them on the webhook's
    # port); 0: off.
    metrics_port: int = 9464
    metrics_host: str = "127.0.0.1"
    # The scheduler (bot/scheduler): when things are due.
    reminder_after_hours: float = 24  # an unfinished intake is reminded once, after this
    coach_reminder_working_days: int = 1  # a case not accepted: the coach is reminded
    coach_escalation_working_days: int = 2  # ... then it goes to the next coach / coordinator
    follow_up_after_days: float = 28  # "how is it going?" after acceptance
    quiet_hours: str = "21:00-08:00"  # Europe/Amsterdam: no scheduled message to participants
    digest_hours: str = "09:00-12:00"  # the coaches' morning digest is sent in this window
    digest_every_day: bool = False  # False: working days only (Dutch public holidays too)
    retention_months: int = 12  # participants inactive this long are erased
    scheduler_sweep_seconds: float = 60

    flows_dir: Path = PROJECT_ROOT / "flows"
    nlu_dir: Path = PROJECT_ROOT / "nlu"
    models_dir: Path = PROJECT_ROOT / "models"

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        # Accept "1, 2,3" from the environment as well as a real list.
        if isinstance(value, str):
            return frozenset(
                int(part) for part in value.replace(";", ",").split(",") if part.strip()
            )
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("telegram_bot_token", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("coordinator_chat_id", mode="before")
    @classmethod
    def _empty_int_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def _hours(span: str) -> tuple[time, time]:
    start, _, end = span.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def timings(settings: Settings) -> Timings:
    """The scheduler's timings from the settings."""
    quiet_start, quiet_end = _hours(settings.quiet_hours)
    digest_from, digest_until = _hours(settings.digest_hours)
    return Timings(
        remind_intake_after=timedelta(hours=settings.reminder_after_hours),
        coach_reminder_working_days=settings.coach_reminder_working_days,
        coach_escalation_working_days=settings.coach_escalation_working_days,
        follow_up_after=timedelta(days=settings.follow_up_after_days),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        digest_from=digest_from,
        digest_until=digest_until,
        digest_every_day=settings.digest_every_day,
        retention=timedelta(days=round(settings.retention_months * 30.44)),
    )
