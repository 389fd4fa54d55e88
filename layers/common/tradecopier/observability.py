"""Logger, tracer and metrics, created once per cold start, and the metric catalogue.

Every metric the copier emits is named here, in one place, so the dashboard, the alarms and the
test that keeps them consistent all read the same list.

Dimensions: every metric but ``RiskLocks`` carries exactly one dimension, ``service``
(``POWERTOOLS_SERVICE_NAME``, the same value for all functions). Per-group or per-account
dimensions would make the number of custom metrics, and so the bill, grow with the number of
followers; who-got-what lives in the copy records and the logs instead, and per-follower queue
health comes free from the AWS/SQS metrics. ``RiskLocks`` adds ``rule``, whose seven values are
fixed by the code, for the dashboard's locks by rule.
"""

from __future__ import annotations

from enum import StrEnum

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "TradeCopier"
SERVICE = "trade-copier"


class MetricName(StrEnum):
    """The metric catalogue. Unit and meaning are in ``CATALOGUE``."""

    EVENTS_ACCEPTED = "EventsAccepted"
    EVENTS_DUPLICATE = "EventsDuplicate"
    EVENTS_REFUSED = "EventsRefused"
    COPIES_PLACED = "CopiesPlaced"
    COPIES_SKIPPED = "CopiesSkipped"
    COPIES_REJECTED = "CopiesRejected"
    COPIES_FAILED = "CopiesFailed"
    COPY_LATENCY = "CopyLatency"
    FOLLOWERS_LOCKED = "FollowersLocked"
    PROVISIONING_FAILURES = "ProvisioningFailures"
    FOLLOWERS_LIQUIDATED = "FollowersLiquidated"
    RISK_LOCKS = "RiskLocks"
    FOLLOWERS_OUT_OF_SYNC = "FollowersOutOfSync"
    LISTENER_STREAMS_CONNECTED = "ListenerStreamsConnected"
    LISTENER_STREAMS_DOWN = "ListenerStreamsDown"
    LISTENER_RECONNECTS = "ListenerReconnects"
    LISTENER_EVENTS_EMITTED = "ListenerEventsEmitted"
    LISTENER_LAG = "ListenerLag"
    LISTENER_FRAMES_REJECTED = "ListenerFramesRejected"


CATALOGUE: dict[MetricName, tuple[MetricUnit, str]] = {
    MetricName.EVENTS_ACCEPTED: (MetricUnit.Count, "leader events accepted at ingest (202)"),
    MetricName.EVENTS_DUPLICATE: (MetricUnit.Count, "leader events answered 200 duplicate"),
    MetricName.EVENTS_REFUSED: (MetricUnit.Count, "leader events refused with a 4xx or 5xx (any code)"),
    MetricName.COPIES_PLACED: (MetricUnit.Count, "copies done on a follower's broker"),
    MetricName.COPIES_SKIPPED: (MetricUnit.Count, "copies not sent, with a reason (locked, sized to 0, ...)"),
    MetricName.COPIES_REJECTED: (MetricUnit.Count, "copies the follower's broker or a risk rule refused"),
    MetricName.COPIES_FAILED: (MetricUnit.Count, "copies given up after retries; the follower is locked"),
    MetricName.COPY_LATENCY: (
        MetricUnit.Milliseconds,
        "from the event's acceptance at ingest to the follower broker's acknowledgement",
    ),
    MetricName.FOLLOWERS_LOCKED: (MetricUnit.Count, "followers locked, by the executor or by the admin API"),
    MetricName.FOLLOWERS_LIQUIDATED: (
        MetricUnit.Count,
        "followers that breached a risk rule: liquidate_only, flattened, then locked",
    ),
    MetricName.RISK_LOCKS: (
        MetricUnit.Count,
        "risk breaches by rule: the one metric with a second dimension, rule (seven fixed values)",
    ),
    MetricName.PROVISIONING_FAILURES: (
        MetricUnit.Count,
        "follower provisioning or teardown steps that failed",
    ),
    MetricName.FOLLOWERS_OUT_OF_SYNC: (
        MetricUnit.Count,
        "followers found out_of_sync: per group check (scheduled or on demand) and per copy that saw it",
    ),
    # The leader listener (a process; listener/health.py), one data point per minute per gauge.
    MetricName.LISTENER_STREAMS_CONNECTED: (MetricUnit.Count, "leader streams connected and synced"),
    MetricName.LISTENER_STREAMS_DOWN: (
        MetricUnit.Count,
        "leader streams the listener should hold but does not",
    ),
    MetricName.LISTENER_RECONNECTS: (
        MetricUnit.Count,
        "leader stream reconnects (drops, silence, token renewal)",
    ),
    MetricName.LISTENER_EVENTS_EMITTED: (MetricUnit.Count, "leader events the listener handed to ingest"),
    MetricName.LISTENER_LAG: (
        MetricUnit.Milliseconds,
        "from the broker's timestamp of an order or fill to its acceptance by ingest",
    ),
    MetricName.LISTENER_FRAMES_REJECTED: (
        MetricUnit.Count,
        "malformed or unknown frames, events for accounts that are not leaders, unreadable orders",
    ),
}

# With tracing on (``Tracing: Active``) the X-Ray SDK patches botocore: every AWS call is a
# subsegment. Only botocore, not the SDK's default (every library it supports that is installed,
# botocore among them, http.client not, to avoid double patching): that default imports sqlite3,
# requests, ... at each traced cold start to patch what the copier never calls (issue 19).
TRACED_MODULES = ("botocore",)

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count(name: MetricName, value: float = 1) -> None:
    """Adds one data point of a catalogued metric, in its catalogued unit."""
    metrics.add_metric(name=name.value, unit=CATALOGUE[name][0], value=value)
