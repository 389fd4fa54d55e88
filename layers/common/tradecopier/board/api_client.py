"""A small client of the copier's HTTP API (API.md), shared by the CLI and the board function.

Admin routes are IAM-authorised on AWS: give a ``Signer`` (SigV4, botocore's credential chain) and
every request is signed; the local stack needs none. HTTP goes through ``http_pool`` (the
standard library's http.client, kept-alive connections), so nothing new enters the Lambda layer
and the CLI does not pay for importing urllib3.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from tradecopier.board.http_pool import HttpPool, TransportError


class ApiError(Exception):
    """The API answered with an error (API.md's error shape, or API Gateway's own ``message``)."""

    def __init__(self, status: int, code: str, message: str, route_missing: bool = False) -> None:
        super().__init__(f"{code}: {message} (HTTP {status})")
        self.status = status
        self.code = code
        self.message = message
        # API Gateway's {"message": "Not Found"}: no such route (as opposed to the API's not_found).
        self.route_missing = route_missing


class Unreachable(Exception):
    """The API could not be reached at all (nothing listening, DNS, timeout)."""


class Signer(Protocol):
    def headers(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """The request's headers with its signature added."""
        ...


def path(*segments: str) -> str:
    """``/groups/<id>/...`` with every id percent-encoded (account ids may hold ``:``)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


@dataclass
class ApiClient:
    base_url: str
    signer: Signer | None = None
    timeout: float = 15.0
    pool: HttpPool | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if self.pool is None:
            self.pool = HttpPool(maxsize=16)

    def request(
        self, method: str, route: str, body: Any = None, query: Mapping[str, Any] | None = None
    ) -> Any:
        """The decoded JSON answer (None for 204); raises ApiError or Unreachable."""
        url = self.base_url + route
        if query:
            url += "?" + "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in query.items())
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        if self.signer is not None:
            headers = self.signer.headers(method, url, data, headers)
        assert self.pool is not None
        try:
            resp = self.pool.request(method, url, body=data or None, headers=headers, timeout=self.timeout)
        except TransportError as exc:
            raise Unreachable(f"cannot reach {self.base_url}: {_reason(exc)}") from None
        return _answer(resp.status, resp.data)

    def get(self, route: str, query: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", route, query=query)


def _reason(exc: Exception) -> str:
    inner = getattr(exc, "reason", None)
    text = str(inner or exc)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused (is the stack running? `make dev`)"
    return text.split(": ", 1)[-1][:200]


def _answer(status: int, data: bytes) -> Any:
    try:
        decoded = json.loads(data) if data else None
    except ValueError:
        decoded = None
    if 200 <= status < 300:
        return decoded
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), dict):
        err = decoded["error"]
        message = str(err.get("message") or "")
        details = err.get("details")
        if isinstance(details, list) and details:
            message += " " + "; ".join(_detail(d) for d in details[:3])
        raise ApiError(status, str(err.get("code") or "error"), message.strip())
    if isinstance(decoded, dict) and "message" in decoded:  # API Gateway's own answer
        message = str(decoded["message"])
        raise ApiError(status, _gateway_code(status), message, route_missing=status == 404)
    raise ApiError(status, _gateway_code(status), data[:200].decode("utf-8", "replace") or "no body")


def _detail(detail: Any) -> str:
    if isinstance(detail, dict):
        loc = ".".join(str(p) for p in detail.get("loc") or [] if p != "body")
        return f"{loc}: {detail.get('msg', '')}".strip(": ")
    return str(detail)


def _gateway_code(status: int) -> str:
    return {403: "forbidden", 404: "not_found", 413: "payload_too_large", 429: "throttled"}.get(
        status, f"http_{status}"
    )


class SigV4Signer:
    """Signs each request for API Gateway (service ``execute-api``) with botocore's SigV4Auth."""

    def __init__(self, credentials: Any, region: str) -> None:
        self.credentials = credentials
        self.region = region

    def headers(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        # Frozen per request: credentials from a role refresh themselves between calls.
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(request)
        return dict(request.headers.items())
