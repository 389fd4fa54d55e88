"""Configuration of each function, read from its environment once per cold start.

One model per function, with only the fields that function reads (template.yaml gives each function
exactly these variables: Globals for the base, its own ``Environment`` for the rest). A variable is
named after its field in capitals; a required one that is missing, or a value out of range, fails
the function's init phase with a ``SettingsError`` naming the variable.

Nothing else in the code base reads ``os.environ``: handlers and logic receive their settings.
(Powertools reads its own ``POWERTOOLS_*`` and ``LOG_LEVEL``; boto3 its region and endpoints.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class SettingsError(ValueError):
    """A function's environment lacks a required variable or holds an invalid value."""

    def __init__(self, model: str, error: ValidationError) -> None:
        problems = [_problem(detail) for detail in error.errors(include_url=False)]
        super().__init__(f"{model}: " + "; ".join(problems))


def _problem(detail: Mapping[str, object]) -> str:
    loc = detail.get("loc")
    variable = str(loc[0]).upper() if isinstance(loc, tuple) and loc else "?"
    if detail.get("type") == "missing":
        return f"{variable} is not set"
    return f"{variable}={detail.get('input')!r}: {detail.get('msg')}"


class EnvSettings(BaseModel):
    """A model read from the environment: each field from the variable of its name in capitals."""

    # Each function builds (at its init, in ``from_env``) the validator of its own model alone, not
    # those of the eight others defined here: a few milliseconds of every cold start (issue 19).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings from ``environ`` (default: this process's environment)."""
        env = os.environ if environ is None else environ
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise SettingsError(cls.__name__, error) from None  # the message says it all


class Settings(EnvSettings):
    """What every function reads: the copier table and how long events and links are kept."""

    copier_table_name: str = Field(min_length=3)
    event_retention_days: int = Field(default=30, ge=1, le=3650)


class AlertSettings(EnvSettings):
    """Where alerts go (``tradecopier.alerts``): the stack's alerts topic and an optional chat webhook
    (Discord or Slack). An empty value is none; alerts of one kind per account are at most one per
    ``alert_min_interval_seconds``."""

    alerts_topic_arn: str | None = None
    alert_webhook_url: str | None = None
    alert_min_interval_seconds: int = Field(default=300, ge=0, le=86400)

    @field_validator("alerts_topic_arn", "alert_webhook_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class ApiSettings(Settings):
    """The functions behind the HTTP API (ingest, admin)."""

    max_body_bytes: int = Field(default=16 * 1024, ge=1)


class BrokerSettings(Settings):
    """The functions that open follower broker accounts (executor, admin)."""

    paper_table_name: str = Field(min_length=3)
    resource_prefix: str = Field(min_length=1, max_length=40)  # the stack name; names secrets too
    # The KMS key sealing shared Tradovate tokens in the copier table (brokers/tradovate/sealing.py);
    # unset: each execution environment keeps its own token (never stored unsealed).
    broker_token_key_id: str | None = Field(default=None, min_length=1)


class IngestSettings(ApiSettings):
    """The ingest function: records a leader event and publishes it (topic ARNs live on the group)."""


class ExecutorSettings(BrokerSettings, AlertSettings):
    """The executor: copies a delivered event, and locks the follower on its last attempt."""

    follower_max_receive_count: int = Field(default=5, ge=1, le=1000)


class SchedulerSettings(BrokerSettings, AlertSettings):
    """The scheduler: the risk clock (session starts, flat-by) over every follower with rules; it
    opens their broker accounts to flatten them, and alerts on breaches, locks and drift."""


class AdminSettings(ApiSettings, BrokerSettings, AlertSettings):
    """The admin function: the admin API and follower provisioning (queues, mappings, alarms)."""

    executor_function_name: str  # an explicit "" is refused when provisioning (before any call)
    alerts_topic_arn: str | None = None  # no topic: follower DLQs get no alarm
    follower_queue_visibility_seconds: int = Field(default=30, ge=1, le=43200)
    follower_max_receive_count: int = Field(default=5, ge=1, le=1000)
    follower_max_concurrency: int = Field(default=2, ge=2, le=1000)


class BoardSettings(Settings):
    """The board function (dashboard custom widget): reads the HTTP API, signed with its own role."""

    api_url: str | None = None  # the stack's ApiUrl; the local page uses the host that served it
    aws_region: str = "us-east-1"  # set by Lambda itself: the region to sign for
