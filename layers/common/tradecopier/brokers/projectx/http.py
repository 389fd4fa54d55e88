"""ProjectX's answers, classified (§3 conventions, §3.9), and authenticated calls with one
re-login on 401.

- HTTP 200 is not success: ``success: false`` with ``errorCode`` / ``errorMessage`` is a business
  "no" → ``BrokerRejected`` with the broker's own words and the code's name (per-endpoint enums).
- 429 (rate limit: 200 requests / 60 s, §3.9; body and ``Retry-After`` undocumented — honoured
  when sent), 5xx, timeouts, dropped connections → ``BrokerUnreachable`` (``brokers/http.classify``).
- 401 (expired, revoked or unknown token; body undocumented) → the token is dropped, one login,
  the call once more; a second 401 with a fresh token is ``BrokerAccessDenied`` (auth_failed).
- 400 (a malformed body, ProblemDetails) → ``BrokerRejected``: resending the same body cannot help.
"""

from __future__ import annotations

from typing import Any

from tradecopier.brokers import http as transport
from tradecopier.brokers.base import BrokerAccessDenied, BrokerRejected, BrokerUnreachable
from tradecopier.brokers.http import HttpReply
from tradecopier.brokers.projectx.enums import ERROR_CODES
from tradecopier.brokers.tokens import Token, TokenCache

WHAT = "projectx"


def code_name(path: str, code: int | None) -> str:
    names = ERROR_CODES.get(path.lower(), ())
    if code is None:
        return "no errorCode"
    return f"errorCode {code} {names[code]}" if 0 <= code < len(names) else f"errorCode {code}"


def business_no(path: str, body: Any) -> str | None:
    """The broker's own words when a 200 answer says no, else None."""
    if not isinstance(body, dict) or body.get("success") is True:
        return None
    message = body.get("errorMessage") or "refused"
    return f"{message} ({path} {code_name(path, body.get('errorCode'))})"


def raise_for(reply: HttpReply, path: str) -> None:
    """Everything but a successful envelope (and 401: the caller decides) raises its kind."""
    transport.classify(reply, f"{WHAT} {path}")
    if reply.status == 401:
        return
    if reply.status != 200:
        detail = _problem(reply.body)
        raise BrokerRejected(f"{WHAT} {path}: HTTP {reply.status}" + (f" ({detail})" if detail else ""))
    if not isinstance(reply.body, dict):
        raise BrokerUnreachable(f"{WHAT} {path}: unreadable answer")
    words = business_no(path, reply.body)
    if words is not None:
        raise BrokerRejected(words)


def _problem(body: Any) -> str | None:
    """The title (and field errors) of an ASP.NET ProblemDetails body."""
    if not isinstance(body, dict):
        return body if isinstance(body, str) and body else None
    errors = body.get("errors")
    fields = "; ".join(f"{k}: {v}" for k, v in errors.items()) if isinstance(errors, dict) else ""
    title = str(body.get("title") or "")
    return " — ".join(part for part in (title, fields) if part) or None


class ProjectXHttp:
    """Calls against one gateway as one user (the token is shared through ``tokens``)."""

    def __init__(self, base_url: str, tokens: TokenCache) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens

    def exchange(self, path: str, body: Any = None, token: Token | None = None) -> HttpReply:
        """One ``POST /api/<path>``; transport failures raise, nothing else is classified."""
        return transport.request(
            "POST",
            f"{self.base_url}/api/{path}",
            body=body,
            headers=token.bearer() if token else None,
            what=f"{WHAT} {path}",
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """An authenticated call: the successful envelope (raises otherwise)."""
        token = self.tokens.get()
        for attempt in (1, 2):
            reply = self.exchange(path, body, token)
            if reply.status != 401:
                break
            self.tokens.invalidate(token)
            if attempt == 2:
                raise BrokerAccessDenied(f"{path}: access denied (HTTP 401) with a fresh token")
            token = self.tokens.get()  # one re-login (or a token another caller just got)
        raise_for(reply, path)
        assert isinstance(reply.body, dict)
        return reply.body
