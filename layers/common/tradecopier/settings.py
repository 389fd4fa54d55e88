"""Configuration, read from the environment once per cold start.

Nothing else in the code base reads ``os.environ``: handlers and logic receive a ``Settings``.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Table names, name prefixes and follower-queue limits (see template.yaml Globals)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    copier_table_name: str = Field(min_length=3)
    paper_table_name: str = Field(min_length=3)
    resource_prefix: str = Field(default="trade-copier", min_length=1, max_length=40)
    executor_function_name: str = ""
    alerts_topic_arn: str = ""
    follower_queue_visibility_seconds: int = Field(default=30, ge=1, le=43200)
    follower_max_receive_count: int = Field(default=5, ge=1, le=1000)
    follower_max_concurrency: int = Field(default=2, ge=2, le=1000)
    event_retention_days: int = Field(default=30, ge=1, le=3650)
    max_body_bytes: int = 16 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        wanted = cls.model_fields.keys()
        values = {name: os.environ[name.upper()] for name in wanted if name.upper() in os.environ}
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this execution environment (cached: read once per cold start)."""
    return Settings.from_env()
