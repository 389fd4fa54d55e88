"""The local stack's moto server keeps a client's HTTP/1.1 connection open from request to request
(devstack/motoserver.py ``keep_alive_server``), as AWS's endpoints do: werkzeug alone answers
``Connection: close`` and a new TCP connection (and server thread) serves every call. Every
request's body is read in full before moto sees it, so the next request on the connection is never
mistaken for the rest of a body, whatever moto read of it."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from devstack.motoserver import MotoServer

HEADERS = {  # moto routes by the signature's credential scope (service "sqs")
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host, Signature=0",
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = MotoServer("127.0.0.1")
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def _connect(endpoint: str) -> http.client.HTTPConnection:
    parts = urlsplit(endpoint)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)


def _call(
    conn: http.client.HTTPConnection, action: dict[str, str], **kw: str
) -> tuple[int, bytes, str | None]:
    conn.request("POST", "/", body=urlencode({**action, "Version": "2012-11-05"}), headers={**HEADERS, **kw})
    response = conn.getresponse()
    return response.status, response.read(), response.getheader("Connection")


def test_one_connection_serves_request_after_request(endpoint: str) -> None:
    conn = _connect(endpoint)
    status, body, connection = _call(conn, {"Action": "CreateQueue", "QueueName": "keepalive-a"})
    assert status == 200 and b"keepalive-a" in body
    assert connection != "close"
    sock = conn.sock
    assert sock is not None
    for _ in range(3):
        status, body, _ = _call(conn, {"Action": "ListQueues"})
        assert status == 200 and b"keepalive-a" in body
        assert conn.sock is sock, "the server closed the connection after a response"
    conn.close()


def test_a_body_moto_does_not_read_does_not_leak_into_the_next_request(endpoint: str) -> None:
    conn = _connect(endpoint)
    # A GET with a body moto's own API never reads, then a request on the same connection: answered
    # as itself (unread, the body would be parsed as the next request line: 405).
    conn.request("GET", "/moto-api/data.json", body=b"x" * 5000)
    first = conn.getresponse()
    first.read()
    assert first.status == 200
    sock = conn.sock
    status, body, _ = _call(conn, {"Action": "CreateQueue", "QueueName": "keepalive-b"})
    assert status == 200 and b"keepalive-b" in body
    assert conn.sock is sock
    conn.close()


def test_a_chunked_body_is_read_whole_and_the_connection_stays_usable(endpoint: str) -> None:
    conn = _connect(endpoint)
    payload = urlencode(
        {"Action": "CreateQueue", "QueueName": "keepalive-c", "Version": "2012-11-05"}
    ).encode()
    conn.request("POST", "/", body=iter([payload[:10], payload[10:]]), headers=HEADERS, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 200 and b"keepalive-c" in response.read()
    sock = conn.sock
    status, body, _ = _call(conn, {"Action": "ListQueues"})
    assert status == 200 and b"keepalive-c" in body
    assert conn.sock is sock
    conn.close()


def test_a_client_asking_to_close_gets_its_connection_closed(endpoint: str) -> None:
    conn = _connect(endpoint)
    status, _, connection = _call(conn, {"Action": "ListQueues"}, Connection="close")
    assert status == 200 and connection == "close"
    assert conn.sock is None  # http.client saw the close
    conn.close()
