"""tests/unit/conftest.py keeps the unit suite off the network: every way to a socket fails here."""

from __future__ import annotations

import socket
import urllib.request

import boto3
import pytest
from botocore.exceptions import HTTPClientError

from tests.unit.conftest import SocketBlocked


def test_a_socket_cannot_be_created() -> None:
    with pytest.raises(SocketBlocked):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_no_connection_can_be_opened() -> None:
    with pytest.raises(SocketBlocked):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with pytest.raises(SocketBlocked):
        socket.socketpair()


def test_http_and_boto3_calls_fail_before_they_leave_the_process() -> None:
    with pytest.raises(SocketBlocked):
        urllib.request.urlopen("http://127.0.0.1:9/health", timeout=1)
    client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9", region_name="us-east-1")
    with pytest.raises(HTTPClientError) as raised:  # botocore wraps what its HTTP layer raised
        client.list_tables()
    assert isinstance(raised.value.kwargs["error"], SocketBlocked)
