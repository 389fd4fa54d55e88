"""Hand-off to ingest: the listener's leader events are accepted by the same code as
``POST /groups/{id}/events`` (``logic.ingest.accept_event``: validation already done by the event
models, the durable record with a pending copy per follower, the publish), called directly with
the listener's own IAM role instead of the group's webhook token.

A publish failure is retried here with backoff (ingest has already undone the record, so a retry
is a fresh acceptance); a duplicate (the same broker fact seen again, e.g. on a reconnect) is
success. A group that no longer exists is reported, never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from listener import health
from listener.translate import ListenerEvent
from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier import CopierStore
from tradecopier.domain.errors import PublishFailed
from tradecopier.fanout.publish import Publisher
from tradecopier.logic.ingest import accept_event
from tradecopier.observability import logger

Outcome = Literal["accepted", "duplicate", "group_gone"]


@dataclass
class IngestSink:
    store: CopierStore
    publisher: Publisher
    clock: Clock = utc_now
    attempts: int = 5
    sleep: Callable[[float], None] = time.sleep

    def emit(self, group_id: str, event: ListenerEvent) -> Outcome:
        """Accept one leader event for ``group_id``; raises ``PublishFailed`` after ``attempts``."""
        for attempt in range(1, self.attempts + 1):
            group = self.store.get_group(group_id)
            if group is None:
                logger.warning(
                    "listener: group gone", extra={"group_id": group_id, "event_id": event.event_id}
                )
                return "group_gone"
            try:
                result = accept_event(
                    group, event, store=self.store, publisher=self.publisher, clock=self.clock
                )
            except PublishFailed:
                if attempt == self.attempts:
                    raise
                self.sleep(min(0.2 * 2**attempt, 5.0))
                continue
            health.emitted(event, result.status, self.clock())
            logger.info(
                "listener: event handed to ingest",
                extra={
                    "group_id": group_id,
                    "event_id": event.event_id,
                    "type": event.type,
                    "status": result.status,
                },
            )
            return result.status
        raise AssertionError("unreachable")  # pragma: no cover
