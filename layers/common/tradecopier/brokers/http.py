"""One kept-alive HTTP pool per execution environment for the real broker adapters, and the
generic half of error classification (the broker-specific half lives in each adapter's ``http``).

urllib3 ships with botocore: no new dependency. Connect ≈ 2 s, read ≈ 5 s: a copy that waits
longer is better retried by SQS (after the adapter looked the order up). No automatic retries
here: a retry of a place must look the order up first, which only the adapter can do.

``classify`` turns what the transport saw into the two kinds the executor acts on:
``BrokerUnreachable`` (timeouts, refused connections, 5xx, 423, 429; ``retry_after`` carries the
wait the broker asked for) — everything else is left to the adapter, which reads the body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from tradecopier.brokers.base import BrokerUnreachable

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0


class BrokerTimeout(BrokerUnreachable):
    """The request may have reached the broker (it was sent, no answer came in time): a place
    must be looked up before it is retried."""

    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.sent = sent


class BrokerBusy(BrokerUnreachable):
    """The broker asked us to slow down or come back later (429, 5xx, a penalty): not applied."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason if retry_after is None else f"{reason} (retry after {retry_after:g} s)")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    body: Any  # parsed JSON, or None for an empty / non-JSON body
    headers: dict[str, str]


@lru_cache(maxsize=1)
def pool() -> urllib3.PoolManager:
    """The pool of this execution environment: connections stay open between invocations."""
    return urllib3.PoolManager(
        num_pools=16,
        maxsize=4,
        retries=False,
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S),
        headers={"Accept": "application/json"},
    )


def request(
    method: str,
    url: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    fields: dict[str, str] | None = None,
    timeout: urllib3.Timeout | None = None,
    what: str = "broker",
) -> HttpReply:
    """One HTTP exchange; transport failures become ``BrokerUnreachable`` (never with a body)."""
    sent_headers = {"Accept": "application/json", **(headers or {})}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        sent_headers["Content-Type"] = "application/json"
    try:
        response = pool().request(
            method,
            url,
            body=payload,
            fields=fields,
            headers=sent_headers,
            timeout=timeout or urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S),
            retries=False,
            redirect=False,
        )
    except ReadTimeoutError:
        raise BrokerTimeout(f"{what}: no answer within {READ_TIMEOUT_S:g} s", sent=True) from None
    except ConnectTimeoutError:
        raise BrokerTimeout(f"{what}: could not connect within {CONNECT_TIMEOUT_S:g} s", sent=False) from None
    except NewConnectionError:
        raise BrokerUnreachable(f"{what}: connection refused") from None
    except ProtocolError:
        # The connection dropped mid-exchange: the request may have been applied.
        raise BrokerTimeout(f"{what}: the connection dropped before the answer", sent=True) from None
    except HTTPError as error:
        raise BrokerUnreachable(f"{what}: {type(error).__name__}") from None
    raw = response.data
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return HttpReply(response.status, parsed, {k.lower(): v for k, v in response.headers.items()})


def classify(reply: HttpReply, what: str = "broker") -> None:
    """Raises ``BrokerBusy`` for the statuses that mean "not now" (429, 423, 5xx); the caller reads
    every other answer itself (HTTP 200 is not success at Tradovate or ProjectX)."""
    if reply.status == 429 or reply.status == 423 or reply.status >= 500:
        retry_after = _retry_after(reply.headers.get("retry-after"))
        label = {429: "rate limited", 423: "about to be locked out (423)"}.get(
            reply.status, f"HTTP {reply.status}"
        )
        raise BrokerBusy(f"{what}: {label}", retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def clear_pool() -> None:
    """Closes the pool (tests)."""
    if pool.cache_info().currsize:
        pool().clear()
    pool.cache_clear()
