"""Shared pieces of the reliability suite: the audit every fault test ends with, and fault injectors
that act at the boto3 layer (botocore event hooks), below the copier's own code. The leader events
come from devstack.samples."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from tests.pipeline import Pipeline

# --- the audit ---------------------------------------------------------------------------------


@dataclass
class Audit:
    """What an audit found; each test asserts the zeros and reports the counts."""

    copies_checked: int = 0
    orders_checked: int = 0
    duplicate_orders: int = 0
    copies_lost: int = 0
    leader_orders: int = 0
    problems: list[str] = field(default_factory=list)

    def report(self, figures: Counter[str]) -> None:
        figures["copies_checked"] += self.copies_checked
        figures["orders_checked"] += self.orders_checked
        figures["duplicate_orders"] += self.duplicate_orders
        figures["copies_lost"] += self.copies_lost
        figures["leader_orders"] += self.leader_orders

    def assert_clean(self) -> None:
        assert (self.duplicate_orders, self.copies_lost, self.leader_orders) == (0, 0, 0), self.problems


def audit(
    pipeline: Pipeline,
    group_id: str,
    event_ids: list[str],
    members: dict[str, set[str]] | set[str],
    accounts: set[str],
    leaders: set[str] = frozenset({"FUNDED-1"}),  # type: ignore[assignment]
    figures: Counter[str] | None = None,
) -> Audit:
    """Checks the three things no fault may break, and counts what it looked at.

    - no lost copy record: every follower the group had when an event was accepted (``members``:
      per event, or the same set for all) has a copy entry, final or pending *with a reason*;
    - no duplicate order: no account holds two orders of one client order id (one per event);
    - nothing on a leader: leader accounts hold no order at all.
    """
    found = Audit()
    for event_id in event_ids:
        copies = pipeline.copies(group_id, event_id)
        expected = members[event_id] if isinstance(members, dict) else members
        for account_id in sorted(expected):
            found.copies_checked += 1
            copy = copies.get(account_id)
            if copy is None or (copy["status"] == "pending" and not copy.get("reason")):
                found.copies_lost += 1
                found.problems.append(f"{event_id}/{account_id}: copy lost ({copy})")
    for account_id in sorted(accounts):
        orders = pipeline.orders(account_id)
        found.orders_checked += len(orders)
        for client_order_id, n in Counter(o["client_order_id"] for o in orders).items():
            if n > 1:
                found.duplicate_orders += n - 1
                found.problems.append(f"{account_id}: {n} orders with client order id {client_order_id}")
    for leader in sorted(leaders):
        orders = pipeline.orders(leader)
        found.leader_orders += len(orders)
        if orders:
            found.problems.append(f"leader {leader} holds orders: {orders}")
    if figures is not None:
        found.report(figures)
    return found


# --- fault injection at the botocore layer -------------------------------------------------------


class _Raw:
    """The ``raw`` of an ``AWSResponse``: what botocore reads the body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def dynamodb_error(code: str, status: int = 400) -> AWSResponse:
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": f"injected {code}"}
    ).encode()
    headers = {"x-amzn-RequestId": uuid.uuid4().hex, "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse("https://dynamodb.injected", status, headers, _Raw(body))


def sns_error(code: str, status: int) -> AWSResponse:
    body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Receiver</Type>'
        f"<Code>{code}</Code><Message>injected {code}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return AWSResponse("https://sns.injected", status, {"Content-Type": "text/xml"}, _Raw(body))


Matcher = Callable[[str, dict[str, Any]], bool]


class DynamoFaults:
    """A ``before-send`` hook for a DynamoDB client: the next ``times`` requests that ``match``
    (operation name, JSON request) are answered with ``code`` instead of reaching DynamoDB.

    ``before-send`` runs inside botocore's retry loop, so an injected throttle goes through the
    client's real retry policy (standard mode, 4 attempts) exactly like one from DynamoDB would.
    """

    def __init__(self, match: Matcher, times: int, code: str = "ProvisionedThroughputExceededException"):
        self.match = match
        self.remaining = times
        self.code = code
        self.injected = 0
        self.seen: list[str] = []

    def __call__(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        payload = json.loads(request.body or b"{}")
        if self.remaining <= 0 or not self.match(operation, payload):
            return None
        self.remaining -= 1
        self.injected += 1
        self.seen.append(operation)
        return dynamodb_error(self.code)


@contextmanager
def hooked(client: Any, event: str, hook: Callable[..., Any]) -> Iterator[None]:
    client.meta.events.register(event, hook)
    try:
        yield
    finally:
        client.meta.events.unregister(event, hook)


class SnsFaults:
    """Hooks for the SNS client's ``Publish``: ``down`` answers 503 before SNS sees the message;
    ``lost`` lets SNS accept it and then loses the response (a read timeout)."""

    def __init__(self, down: int = 0, lost: int = 0) -> None:
        self.down = down
        self.lost = lost
        self.injected = 0

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.down <= 0:
            return None
        self.down -= 1
        self.injected += 1
        return sns_error("ServiceUnavailable", 503)

    def after_call(self, **_: Any) -> None:
        if self.lost <= 0:
            return
        self.lost -= 1
        self.injected += 1
        raise ReadTimeoutError(endpoint_url="https://sns.injected")
