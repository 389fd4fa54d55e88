"""Keep-alive HTTP(S) connections on the standard library's ``http.client``: what ``ApiClient``
needs of urllib3's ``PoolManager`` (``request(method, url, body=, headers=, timeout=)`` answering
``.status`` and ``.data``), without importing urllib3, which alone was a quarter of the CLI's
start-up imports.

Connections are kept per (scheme, host, port) and reused across requests and threads (one
request on a connection at a time). No retries, as urllib3 was used (``retries=False``), with one
exception: a GET on a kept-alive connection that the server had closed meanwhile is sent once more
on a fresh connection (nothing was answered, and a GET changes nothing).
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
_SAFE_TO_RESEND = {"GET", "HEAD"}
Key = tuple[str, str, int | None]


class TransportError(Exception):
    """The request got no answer (refused, reset, DNS, timeout); ``__cause__`` is the error."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.reason = cause


@dataclass(frozen=True)
class Answer:
    status: int
    data: bytes


class HttpPool:
    def __init__(self, maxsize: int = 16) -> None:
        self.maxsize = maxsize
        self._idle: dict[Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._tls: Any = None

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 15.0,
    ) -> Answer:
        parts = urlsplit(url)
        key: Key = (parts.scheme, parts.hostname or "", parts.port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        resend = method.upper() in _SAFE_TO_RESEND
        while True:
            conn, reused = self._take(key, timeout)
            try:
                conn.request(method, target, body=body, headers=dict(headers or {}))
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if reused and resend and isinstance(exc, _STALE):
                    resend = False
                    continue
                raise TransportError(exc) from exc
            if response.will_close:
                conn.close()
            else:
                self._give(key, conn)
            return Answer(response.status, data)

    def _take(self, key: Key, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(key)
            conn = idle.pop() if idle else None
        if conn is not None:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            return conn, True
        scheme, host, port = key
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context()), False
        return http.client.HTTPConnection(host, port, timeout=timeout), False

    def _give(self, key: Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.maxsize:
                idle.append(conn)
                return
        conn.close()

    def _context(self) -> Any:
        if self._tls is None:
            import ssl

            self._tls = ssl.create_default_context()
        return self._tls
