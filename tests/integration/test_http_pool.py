"""The CLI's and board's HTTP transport (``tradecopier.board.http_pool``, http.client) against a
real local HTTP server: kept-alive connections reused, a GET on a connection the server closed
meanwhile sent once more, anything else never resent, nothing listening one readable line."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tradecopier.board.api_client import ApiClient, Unreachable
from tradecopier.board.http_pool import HttpPool, TransportError


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, str, int]] = []  # method, path, client port (= connection)
        self.close_after_answer = False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.server.requests.append((self.command, self.path, self.client_address[1]))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if self.server.close_after_answer:  # closes the kept-alive connection without saying so
            self.close_connection = True

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(server: Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_one_kept_alive_connection_serves_request_after_request(server: Server) -> None:
    pool = HttpPool()
    for i in range(3):
        answer = pool.request("GET", url(server, f"/groups?n={i}"), timeout=5)
        assert (answer.status, answer.data) == (200, b'{"ok": true}')
    assert [path for _, path, _ in server.requests] == ["/groups?n=0", "/groups?n=1", "/groups?n=2"]
    assert len({port for _, _, port in server.requests}) == 1


def test_a_get_on_a_connection_the_server_closed_is_sent_once_more(server: Server) -> None:
    pool = HttpPool()
    server.close_after_answer = True
    pool.request("GET", url(server, "/a"), timeout=5)
    assert pool.request("GET", url(server, "/b"), timeout=5).status == 200
    assert [path for _, path, _ in server.requests] == ["/a", "/b"]


def test_a_post_on_a_connection_the_server_closed_is_never_resent(server: Server) -> None:
    pool = HttpPool()
    server.close_after_answer = True
    pool.request("GET", url(server, "/a"), timeout=5)
    with pytest.raises(TransportError):
        pool.request("POST", url(server, "/groups"), body=b"{}", timeout=5)
    assert [method for method, _, _ in server.requests] == ["GET"]


def test_nothing_listening_is_one_readable_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(Unreachable, match=r"connection refused \(is the stack running\? `make dev`\)"):
        ApiClient(f"http://127.0.0.1:{port}").get("/health")


def test_the_client_decodes_through_the_pool(server: Server) -> None:
    client = ApiClient(url(server, ""))
    assert client.get("/groups", {"limit": 5}) == {"ok": True}
    assert client.request("POST", "/groups", {"name": "x"}) == {"ok": True}
    assert [(m, p) for m, p, _ in server.requests] == [("GET", "/groups?limit=5"), ("POST", "/groups")]
