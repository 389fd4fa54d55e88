"""The moto server's per-request dispatch no longer lists moto's package directory or inspects the
response class each time (devstack/motopatch.py, patch 0b): a speed patch that must not change what
is dispatched where."""

from __future__ import annotations

import os
from typing import Any

import pytest
from moto import backends
from moto.core import responses, utils
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs.responses import SQSResponse

from devstack import motopatch


def test_dispatch_reads_the_package_directory_once_and_answers_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    motopatch.apply()
    listed: list[Any] = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda *a: listed.append(a) or real_listdir(*a))
    app = DomainDispatcherApplication(create_backend_app)
    for _ in range(3):
        assert app.get_backend_for_host("sqs") == "sqs"  # a moto module name: served by that backend
        assert app.get_backend_for_host("sqs.us-east-1.amazonaws.com") == "sqs"
        assert app.get_backend_for_host("not-a-service") is None
    assert listed == [], "moto's package directory is listed per request again"
    assert "sqs" in backends.list_of_moto_modules() and "__pycache__" not in backends.list_of_moto_modules()


def test_action_method_names_are_computed_once_per_response_class() -> None:
    motopatch.apply()
    first = responses.method_names_from_class(SQSResponse)  # type: ignore[attr-defined]
    assert first == utils.method_names_from_class(SQSResponse)  # the same names as moto's own
    assert "receive_message" in first and "delete_message_batch" in first
    first.clear()  # callers get their own list: changing it cannot poison the cache
    assert "receive_message" in responses.method_names_from_class(SQSResponse)  # type: ignore[attr-defined]
