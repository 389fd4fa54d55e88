"""The listener's health: counters kept in the process (read by tests and the supervisor) and the
catalogued metrics (``tradecopier.observability``), flushed as CloudWatch embedded-metric-format
lines on stdout once a minute (the log driver carries them to CloudWatch; no PutMetricData call,
no extra IAM).

One dimension only (``service``), as every copier metric: "a leader's stream is down" is the
gauge ``ListenerStreamsDown`` (> 0 alarms) and which leader it is lives in the logs and the
leader's stream state item (``dal.copier.listener``).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime

from listener.translate import ListenerEvent
from tradecopier.observability import MetricName, count, logger, metrics

_lock = threading.Lock()
COUNTS: Counter[str] = Counter()
_connected: dict[str, bool] = {}


def bump(name: str, value: int = 1) -> None:
    with _lock:
        COUNTS[name] += value


def emitted(event: ListenerEvent, status: str, now: datetime) -> None:
    bump(f"events_{status}")
    if status != "accepted":
        return
    count(MetricName.LISTENER_EVENTS_EMITTED)
    if event.occurred_at is not None:
        lag_ms = max((now - event.occurred_at).total_seconds() * 1000, 0.0)
        count(MetricName.LISTENER_LAG, lag_ms)


def stream_state(group_id: str, connected: bool) -> None:
    with _lock:
        _connected[group_id] = connected


def stream_dropped(group_id: str) -> None:
    with _lock:
        _connected.pop(group_id, None)


def reconnected(group_id: str, why: str) -> None:
    bump("reconnects")
    count(MetricName.LISTENER_RECONNECTS)
    logger.warning("listener: reconnecting", extra={"group_id": group_id, "why": why})


def rejected(group_id: str, what: str, detail: str) -> None:
    """A frame or entity the listener could not use: logged with the leader, counted, never fatal."""
    bump(f"rejected_{what}")
    count(MetricName.LISTENER_FRAMES_REJECTED)
    logger.warning(
        "listener: frame rejected", extra={"group_id": group_id, "what": what, "detail": detail[:300]}
    )


def connected_count() -> tuple[int, int]:
    with _lock:
        up = sum(_connected.values())
        return up, len(_connected) - up


def flush() -> None:
    """Gauges for this minute, then every buffered data point as EMF on stdout."""
    up, down = connected_count()
    count(MetricName.LISTENER_STREAMS_CONNECTED, up)
    count(MetricName.LISTENER_STREAMS_DOWN, down)
    metrics.flush_metrics()


def reset() -> None:
    with _lock:
        COUNTS.clear()
        _connected.clear()
