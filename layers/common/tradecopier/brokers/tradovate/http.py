"""Tradovate's answers, classified (§4.1, §4.2), and authenticated calls with one re-login on 401.

- HTTP 200 is not success: ``errorText``, ``failureReason`` (other than ``Success``) and
  ``violations`` are a business "no" → ``BrokerRejected`` with the broker's own words.
- ``p-ticket`` + ``p-time`` (penalty, HTTP 200, not applied): waited out inline when short and the
  caller's allowance accepts it (``brokers.base.may_wait_inline``: in the executor, ≤ 2 s and within
  the invocation's remaining time), then the identical body is resent with the ticket; else
  ``BrokerBusy`` carrying the wait (the executor defers the copy that long); the ticket is kept
  and sent with the identical request when it comes back, so the returning copy is not penalised
  again.
  ``p-captcha`` cannot be solved server-to-server: on login it is ``BrokerAccessDenied``.
- 429 (empty body), 423, 5xx, timeouts → ``BrokerUnreachable`` (``brokers/http.classify``).
- 401 (expired, revoked or unknown token) → the token is dropped, one login, the call once more.
  DOC2 says an expired token may also answer 400: a 400 while our token is past its expiry is
  treated as a 401.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tradecopier.brokers import http as transport
from tradecopier.brokers.base import BrokerAccessDenied, BrokerRejected, may_wait_inline
from tradecopier.brokers.http import BrokerBusy, HttpReply
from tradecopier.brokers.tokens import Token, TokenCache

WHAT = "tradovate"
MAX_HELD_TICKETS = 64


class TokenRefused(Exception):
    """401: the token is expired, revoked (a third session, a sixth IP) or unknown."""


def penalty(body: Any) -> tuple[str, float, bool] | None:
    """(ticket, seconds, captcha) of a penalty answer, else None."""
    if isinstance(body, dict) and body.get("p-ticket"):
        return str(body["p-ticket"]), float(body.get("p-time") or 0), bool(body.get("p-captcha"))
    return None


def business_no(body: Any) -> str | None:
    """The broker's own words when a 200 answer says no, else None."""
    if not isinstance(body, dict):
        return None
    if body.get("errorText"):
        return str(body["errorText"])
    reason = body.get("failureReason")
    if reason and reason != "Success":
        text = body.get("failureText")
        return f"{reason}: {text}" if text and text != reason else str(reason)
    violations = body.get("violations")
    if violations:
        parts = [
            str(v.get("description") or v.get("constraint") or v) if isinstance(v, dict) else str(v)
            for v in violations
        ]
        return "violations: " + "; ".join(parts)
    return None


def raise_for(reply: HttpReply, path: str) -> None:
    """Everything but a usable 200 (and 401, 404: the caller decides) raises its kind."""
    transport.classify(reply, f"{WHAT} {path}")
    if reply.status in (401, 404):
        return
    if reply.status != 200:
        words = reply.body if isinstance(reply.body, str) else business_no(reply.body)
        raise BrokerRejected(f"{path}: HTTP {reply.status}" + (f" ({words})" if words else ""))
    words = business_no(reply.body)
    if words is not None:
        raise BrokerRejected(words)


def _with_ticket(ticket: str, body: Any, params: dict[str, Any] | None) -> tuple[Any, dict[str, Any] | None]:
    """§4.2: the identical body plus the ticket (a GET: the ticket as a query parameter)."""
    if body is not None:
        return {**body, "p-ticket": ticket}, params
    return body, {**(params or {}), "p-ticket": ticket}


def _request_key(method: str, path: str, body: Any, params: dict[str, Any] | None) -> str:
    return json.dumps([method, path, body, params], sort_keys=True, default=str)


class TradovateHttp:
    """Calls against one REST base as one user (the token is shared through ``tokens``)."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenCache,
        *,
        max_inline_penalty_s: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.max_inline_penalty_s = max_inline_penalty_s
        self._sleep = sleep
        # A penalty not waited out here (the copy was deferred): its ticket, kept for the identical
        # request when it comes back (§4.2: after p-time, the identical body plus the ticket).
        self._held_tickets: dict[str, str] = {}

    def exchange(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        token: Token | None = None,
    ) -> HttpReply:
        """One request, penalties waited out (or raised); no other classification."""
        request_key = _request_key(method, path, body, params)
        held = self._held_tickets.pop(request_key, None)
        if held is not None:  # the identical request was deferred on a penalty: resend its ticket
            body, params = _with_ticket(held, body, params)
        while True:
            url = f"{self.base_url}/{path}"
            if params:
                url += "?" + urlencode(params)
            reply = transport.request(
                method, url, body=body, headers=token.bearer() if token else None, what=f"{WHAT} {path}"
            )
            ticket = penalty(reply.body) if reply.status == 200 else None
            if ticket is None:
                return reply
            value, seconds, captcha = ticket
            if captcha:
                return reply  # the caller decides (login: access denied; else busy)
            if not may_wait_inline(seconds, self.max_inline_penalty_s):
                if len(self._held_tickets) >= MAX_HELD_TICKETS:  # requests that never came back
                    self._held_tickets.pop(next(iter(self._held_tickets)))
                self._held_tickets[request_key] = value
                raise BrokerBusy(f"{WHAT} {path}: penalty ticket", retry_after=seconds)
            self._sleep(seconds)
            body, params = _with_ticket(value, body, params)

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        not_found: bool = False,
    ) -> Any:
        """An authenticated call: the parsed 200 body (None on 404 when ``not_found``)."""
        token = self.tokens.get()
        for attempt in (1, 2):
            reply = self.exchange(method, path, body=body, params=params, token=token)
            expired = reply.status == 401 or (reply.status == 400 and datetime.now(UTC) >= token.expires_at)
            if not expired:
                break
            self.tokens.invalidate(token)
            if attempt == 2:
                raise BrokerAccessDenied(
                    f"{path}: access denied (HTTP 401) with a fresh token — on live, usually an "
                    "unapproved device id",
                    code="auth_failed",
                )
            token = self.tokens.get()  # one re-login (or a token another caller just got)
        ticket = penalty(reply.body)
        if ticket is not None:
            raise BrokerBusy(f"{WHAT} {path}: captcha penalty", retry_after=ticket[1])
        if reply.status == 404:
            if not_found:
                return None
            raise BrokerRejected(f"{path}: not found")
        raise_for(reply, path)
        return reply.body

    def get(self, path: str, not_found: bool = False, **params: Any) -> Any:
        return self.call("GET", path, params=params or None, not_found=not_found)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("POST", path, body=body)
