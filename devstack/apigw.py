"""API Gateway HTTP API (payload format 2.0), locally: an HTTP server that turns each request into
the event API Gateway would send to the route's Lambda function and the function's answer into
the HTTP response, with API Gateway's own route selection and error answers.

Route selection (as API Gateway HTTP APIs do): the most specific route wins -- a route without
path variables, then one with variables (more literal segments first), then greedy ``{proxy+}``
routes, then ``$default``; for each path, a route for the request's method beats ``ANY``. No route
(unknown path, or a method no route of the path declares, TRACE or PROPFIND alike):
404 ``{"message":"Not Found"}``. Function error or timeout: 500 ``{"message":"Internal Server
Error"}`` / 503 ``{"message":"Service Unavailable"}``. Payload over 10 MB: 413.

The local stack's own page: ``GET /`` (no route of the template's) goes to the function named by
``HttpApi.home`` (the follower board), as if it were a route; every other unknown path stays 404.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from devstack.runtime import InvokeResult
from devstack.template import Route

MAX_PAYLOAD = 10 * 1024 * 1024
_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|x-www-form-urlencoded|javascript|.*\+json|.*\+xml))")


@dataclass
class _Compiled:
    route: Route
    regex: re.Pattern[str] | None
    names: list[str]
    rank: tuple[int, int, int]


def _compile(route: Route) -> _Compiled:
    if route.path == "$default":
        return _Compiled(route, None, [], (3, 0, 1))
    names: list[str] = []
    parts: list[str] = []
    greedy = False
    literals = 0
    for seg in route.path.strip("/").split("/") if route.path != "/" else []:
        m = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", seg)
        if m is None:
            parts.append(re.escape(seg))
            literals += 1
        elif m.group(2):
            names.append(m.group(1))
            parts.append(f"(?P<{m.group(1)}>.+)")
            greedy = True
        else:
            names.append(m.group(1))
            parts.append(f"(?P<{m.group(1)}>[^/]+)")
    regex = re.compile("^/" + "/".join(parts) + "$")
    kind = 2 if greedy else (1 if names else 0)
    return _Compiled(route, regex, names, (kind, -literals, 1 if route.method == "ANY" else 0))


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted((_compile(r) for r in routes), key=lambda c: c.rank)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for c in self.routes:
            if c.route.method not in ("ANY", method):
                continue
            if c.regex is None:
                return c.route, {}
            m = c.regex.match(path)
            if m is not None:
                return c.route, {k: unquote(v) for k, v in m.groupdict().items()}
        return None


def _request_id() -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=14)) + "="


def build_event(
    *,
    route: Route,
    path_params: dict[str, str],
    method: str,
    raw_path: str,
    raw_query: str,
    header_pairs: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    api_id: str,
    account_id: str,
    request_id: str,
    protocol: str = "HTTP/1.1",
) -> dict[str, Any]:
    """The API Gateway HTTP API payload v2 event for one request."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in header_pairs:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    host = headers.get("host", "127.0.0.1")
    headers.setdefault("x-forwarded-for", source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1] if ":" in host else "80")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{random.getrandbits(96):024x}")
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if raw_query:
        params: dict[str, str] = {}
        for k, v in parse_qsl(raw_query, keep_blank_values=True):
            params[k] = f"{params[k]},{v}" if k in params else v
        event["queryStringParameters"] = params
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "http": {
            "method": method,
            "path": unquote(raw_path),
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if body:
        content_type = headers.get("content-type", "")
        try:
            text = body.decode("utf-8")
            is_text = not content_type or bool(_TEXT_TYPES.match(content_type.lower()))
        except UnicodeDecodeError:
            text, is_text = "", False
        if is_text:
            event["body"] = text
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    if path_params:
        event["pathParameters"] = path_params
    return event


def to_http_response(result: InvokeResult) -> tuple[int, list[tuple[str, str]], bytes]:
    """Maps a function's answer to (status, headers, body) as API Gateway (payload v2) does."""
    if result.error is not None:
        if result.error.get("errorType") == "Sandbox.Timedout":
            return 503, [("content-type", "application/json")], b'{"message":"Service Unavailable"}'
        return 500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}'
    out = result.payload
    if not (isinstance(out, dict) and "statusCode" in out):
        # No statusCode: API Gateway assumes 200 and the returned value is the JSON body.
        body = out if isinstance(out, str) else json.dumps(out)
        return 200, [("content-type", "application/json")], body.encode("utf-8")
    try:
        status = int(out["statusCode"])
    except (TypeError, ValueError):
        return 500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}'
    headers: list[tuple[str, str]] = [(str(k), str(v)) for k, v in (out.get("headers") or {}).items()]
    for k, values in (out.get("multiValueHeaders") or {}).items():
        headers.extend((str(k), str(v)) for v in values)
    headers.extend(("set-cookie", str(c)) for c in out.get("cookies") or [])
    raw = out.get("body")
    if raw is None:
        data = b""
    elif out.get("isBase64Encoded"):
        data = base64.b64decode(raw)
    else:
        data = str(raw).encode("utf-8")
    if not any(k.lower() == "content-type" for k, _ in headers) and data:
        headers.append(("content-type", "application/json"))
    return status, headers, data


Invoker = Callable[[str, dict[str, Any]], InvokeResult]
Observer = Callable[[str, str, int, float, Route | None], None]


class HttpApi:
    """ThreadingHTTPServer (HTTP/1.1, keep-alive) in front of the route's functions."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        routes: list[Route],
        invoke: Invoker,
        account_id: str = "123456789012",
        observer: Observer | None = None,
    ) -> None:
        self.router = Router(routes)
        self.invoke = invoke
        self.account_id = account_id
        self.api_id = "".join(random.choices(string.ascii_lowercase + string.digits, k=10))
        self.observer = observer
        self.home: str | None = None  # the function behind GET / (the board), when no route has it
        self.server = _Server((host, port), _make_handler(self))  # binds now: fails fast if taken
        address = self.server.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        matched = self.router.match(method, path)
        if matched is None and self.home and path == "/" and method in ("GET", "HEAD"):
            return Route("GET", "/", self.home), {}
        return matched

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="devstack-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _make_handler(api: HttpApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle on, the second waits for the delayed
        # ACK of the first (~40 ms per keep-alive request).
        disable_nagle_algorithm = True
        server_version = "devstack-apigw"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            return  # one line per request is printed by the observer instead

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, request_id: str) -> None:
            self.send_response(status)
            for k, v in headers:
                if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(k, v)
            self.send_header("apigw-requestid", request_id)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _handle(self) -> None:
            started = time.perf_counter()
            request_id = _request_id()
            raw_path, _, raw_query = self.path.partition("?")
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_PAYLOAD:
                self.close_connection = True
                self._send(
                    413,
                    [("content-type", "application/json")],
                    b'{"message":"Request Entity Too Large"}',
                    request_id,
                )
                return
            body = self.rfile.read(length) if length else b""
            matched = api.match(self.command, raw_path)
            if matched is None:
                status, headers, data = (
                    404,
                    [("content-type", "application/json")],
                    b'{"message":"Not Found"}',
                )
                route = None
            else:
                route, params = matched
                event = build_event(
                    route=route,
                    path_params=params,
                    method=self.command,
                    raw_path=raw_path,
                    raw_query=raw_query,
                    header_pairs=list(self.headers.items()),
                    body=body,
                    source_ip=self.client_address[0],
                    api_id=api.api_id,
                    account_id=api.account_id,
                    request_id=request_id,
                    protocol=self.request_version,
                )
                status, headers, data = to_http_response(api.invoke(route.function_logical_id, event))
            self._send(status, headers, data, request_id)
            if api.observer is not None:
                api.observer(self.command, self.path, status, (time.perf_counter() - started) * 1000, route)

        def __getattr__(self, name: str) -> Callable[[], None]:
            # BaseHTTPRequestHandler dispatches a request to ``do_<METHOD>`` and answers 501 with an
            # HTML page when there is none. API Gateway has no such answer: a method no route
            # declares (TRACE, PROPFIND, ...) is a request that matches no route, 404 "Not Found".
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    return Handler
