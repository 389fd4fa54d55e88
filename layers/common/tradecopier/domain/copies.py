"""Copies: what happened to each follower for each leader event."""

from __future__ import annotations

from datetime import datetime

from tradecopier.domain.enums import CopyStatus
from tradecopier.domain.types import AccountId, StrictModel


class CopyRecord(StrictModel):
    """One follower's result for one leader event (an entry of ``copies`` in API.md)."""

    account_id: AccountId
    status: CopyStatus = CopyStatus.PENDING
    qty: int | None = None
    reason: str | None = None
    broker_order_id: str | None = None
    client_order_id: str | None = None
    detail: str | None = None
    latency_ms: int | None = None
    attempts: int | None = None
    updated_at: datetime | None = None
