"""The local HTTP front (devstack/apigw.py) answers what matches no route as API Gateway HTTP API
does, ``404 {"message":"Not Found"}``, whatever the method: it used to answer a method without a
``do_<METHOD>`` (TRACE, PROPFIND, ...) with http.server's 501 HTML page (issue #10)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.apigw import HttpApi
from devstack.runtime import InvokeResult
from devstack.template import Route

ROUTES = [
    Route("GET", "/health", "AdminFunction"),
    Route("POST", "/groups", "AdminFunction"),
    Route("POST", "/groups/{group_id}/events", "IngestFunction"),
]


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[HttpApi, list[dict[str, Any]]]]:
    invoked: list[dict[str, Any]] = []

    def invoke(function: str, event: dict[str, Any]) -> InvokeResult:
        invoked.append(event)
        return InvokeResult(payload={"statusCode": 200, "body": '{"status": "ok"}'})

    api = HttpApi(host="127.0.0.1", port=0, routes=ROUTES, invoke=invoke)
    api.start()
    try:
        yield api, invoked
    finally:
        api.stop()


@pytest.fixture
def front(running: tuple[HttpApi, list[dict[str, Any]]]) -> tuple[HttpApi, list[dict[str, Any]]]:
    running[1].clear()  # what this test invoked, only
    return running


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> Any:
    conn.request(method, path, body=body)
    response = conn.getresponse()
    return response.status, response.getheader("content-type"), response.read()


NO_ROUTE = [
    ("TRACE", "/health"),
    ("PROPFIND", "/groups"),
    ("FOO", "/groups/g-1/events"),
    ("CONNECT", "/health"),
    ("DELETE", "/health"),  # a known method the path does not declare
    ("PUT", "/groups"),
    ("GET", "/groups/g-1/events/extra"),  # an unknown path
    ("TRACE", "/nowhere"),
]


@pytest.mark.parametrize(("method", "path"), NO_ROUTE)
def test_no_route_for_the_method_and_path_is_api_gateways_404(
    front: tuple[HttpApi, list[dict[str, Any]]], method: str, path: str
) -> None:
    api, invoked = front
    conn = http.client.HTTPConnection(api.host, api.port, timeout=10)
    try:
        status, content_type, body = _request(conn, method, path, b'{"a": 1}')
        assert (status, content_type, json.loads(body)) == (404, "application/json", {"message": "Not Found"})
        # The connection is still usable (keep-alive), and a routed request on it is invoked.
        assert _request(conn, "GET", "/health")[0] == 200
    finally:
        conn.close()
    assert [event["routeKey"] for event in invoked] == ["GET /health"]
