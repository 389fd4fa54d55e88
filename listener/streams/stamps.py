"""Broker timestamps (ISO-8601, ``Z`` or an offset; naive ones are UTC) → aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def when(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
