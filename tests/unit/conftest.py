"""Unit tests open no socket: not to DynamoDB Local, not to moto's server, not to AWS.

While each unit test is set up and run, ``socket.socket``, ``socket.create_connection`` and
``socket.socketpair`` raise :class:`SocketBlocked` (an error, not an ``OSError``: no retry loop may
swallow it). A test that needs a server belongs in tests/integration. In-process fakes (moto's
``mock_aws``, which answers botocore before anything is sent) keep working.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aws_xray_sdk.core  # noqa: F401 - see below
import pytest

# The X-Ray SDK builds its global recorder, with an unconnected UDP socket for the daemon, when it is
# first imported (Powertools' Tracer imports it; tracing is disabled here, so it never sends). It is
# imported now, at collection, as any test module importing the copier would; tests still open none.


class SocketBlocked(RuntimeError):
    """A unit test tried to open a socket."""


def _blocked(*args: Any, **kwargs: Any) -> Any:
    raise SocketBlocked("unit tests open no sockets; a test that needs a server goes in tests/integration")


class _BlockedSocket(socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _blocked()


@contextmanager
def no_sockets() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "socket", _BlockedSocket)
        mp.setattr(socket, "create_connection", _blocked)
        mp.setattr(socket, "socketpair", _blocked)
        yield


# Hook wrappers rather than an autouse fixture: the block then also covers the set-up of every
# fixture a unit test uses, session-scoped ones (e.g. DynamoDB Local) included.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with no_sockets():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with no_sockets():
        return (yield)
