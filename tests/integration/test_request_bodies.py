"""API.md: request bodies are JSON whatever their ``Content-Type`` (issue #10). Through the real
ingest and admin handlers: a JSON body is accepted under any label (curl's ``-d`` form label,
TradingView's ``text/plain``, none at all, ...), a body that is not JSON is 400 ``malformed_json``
under any label, and such a 400 writes and publishes nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

from devstack.samples import http_api_event
from tests.integration.test_pipeline_rules import market, table_items
from tests.pipeline import FakeContext, Pipeline

# None: no Content-Type header at all. Names are sent as given (API Gateway lowercases them; the
# handlers must not depend on it).
LABELS: list[tuple[str, str | None]] = [
    ("content-type", None),
    ("content-type", "application/x-www-form-urlencoded"),  # curl -d
    ("content-type", "text/plain"),  # TradingView, alert text not strict JSON
    ("content-type", "text/plain; charset=utf-8"),
    ("content-type", "application/xml"),
    ("content-type", "multipart/form-data; boundary=x"),
    ("content-type", "application/octet-stream"),  # API Gateway passes this base64-encoded
    ("content-type", ""),
    ("Content-Type", "Application/JSON; charset=UTF-8"),
    ("CONTENT-TYPE", "text/plain"),
]


def _send(
    pipeline: Pipeline,
    method: str,
    path: str,
    body: bytes,
    label: tuple[str, str | None],
    token: str | None = None,
) -> Any:
    """The handler's answer to ``body`` sent with ``label``, encoded as API Gateway encodes it:
    base64 unless the body is UTF-8 text of a text type."""
    name, value = label
    event = http_api_event(method, path, headers={"X-Webhook-Token": token} if token else None)
    headers = {k: v for k, v in event["headers"].items() if k != "content-type"}
    if value is not None:
        headers[name] = value
    event["headers"] = headers
    try:
        text = body.decode("utf-8")
        binary = value == "application/octet-stream"
    except UnicodeDecodeError:
        text, binary = "", True
    event["body"] = base64.b64encode(body).decode("ascii") if binary else text
    event["isBase64Encoded"] = binary
    handler = pipeline.ingest if path.endswith("/events") else pipeline.admin
    response = handler(event, FakeContext())
    return response["statusCode"], json.loads(response.get("body") or "null")


def test_a_json_body_is_accepted_whatever_its_content_type(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group(leader="LEAD-0")
    for n, label in enumerate(LABELS):
        group = {"name": "Funded + evals", "leader": {"account_id": f"LEAD-{n + 1}"}}
        status, body = _send(pipeline, "POST", "/groups", json.dumps(group).encode(), label)
        assert status == 201, (label, body)
        assert body["leader"]["account_id"] == f"LEAD-{n + 1}"

        follower = {"account_id": f"EVAL-{n}", "multiplier": 0.5}
        path = f"/groups/{group_id}/followers"
        status, body = _send(pipeline, "POST", path, json.dumps(follower).encode(), label)
        assert (status, body["multiplier"]) == (201, 0.5), (label, body)

        event = json.dumps({**market(f"E-{n}"), "token": token}).encode()  # token in the body
        status, body = _send(pipeline, "POST", f"/groups/{group_id}/events", event, label)
        assert (status, body) == (202, {"event_id": f"E-{n}", "status": "accepted"}), label
    pipeline.deliver()
    assert {c["status"] for c in pipeline.copies(group_id, f"E-{len(LABELS) - 1}").values()} == {"placed"}


NOT_JSON = [
    b"name=Funded&leader=FUNDED-1",  # what a form really looks like
    b"<group><name>x</name></group>",
    b'{"name": "x", "leader": {"account_id": "A-1"}',  # truncated
    b"event_id=E-1&type=order.placed",
    b"\xff\xfe{}",  # not UTF-8
    b"   ",
]


def test_a_body_that_is_not_json_is_400_under_any_content_type_and_writes_nothing(
    pipeline: Pipeline, pipeline_env: Any
) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    before = table_items(pipeline_env.copier)
    routes = [
        ("POST", "/groups"),
        ("POST", f"/groups/{group_id}/followers"),
        ("PATCH", f"/groups/{group_id}/followers/EVAL-1"),
        ("POST", f"/groups/{group_id}/followers/EVAL-1/lock"),
        ("POST", f"/groups/{group_id}/events"),
    ]
    answers = set()
    for method, path in routes:
        for label in LABELS:
            for raw in NOT_JSON:
                status, body = _send(pipeline, method, path, raw, label, token)
                answers.add((status, body["error"]["code"]))
                assert (status, body["error"]["code"]) == (400, "malformed_json"), (path, label, raw, body)
    assert answers == {(400, "malformed_json")}
    assert table_items(pipeline_env.copier) == before
    assert sum(pipeline.queue_depths().values()) == 0
    assert pipeline.call("GET", f"/groups/{group_id}").body["followers"][0]["state"] == "active"
