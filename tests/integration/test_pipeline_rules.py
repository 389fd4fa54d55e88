"""API.md's copy rules through the real handlers: duplicates, crashes, order, isolation, leader
protection and the 4xx contract (each 4xx writes and publishes nothing)."""

from __future__ import annotations

from functools import partial
from typing import Any

import boto3
import pytest

from devstack import samples
from devstack.samples import sqs_records
from tests.pipeline import FakeContext, Pipeline
from tradecopier.brokers.base import BrokerAccount, BrokerOrder, BrokerUnreachable
from tradecopier.brokers.paper import PaperBroker
from tradecopier.brokers.paper.store import PaperStore

# The rules' leader order: a market order of leader order L-1 unless a test names another.
market = partial(samples.market, order_id="L-1")


def table_items(table: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    return sorted(client.scan(TableName=table)["Items"], key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


# --- duplicates and crashes ----------------------------------------------------------------------


def test_same_event_three_times_at_ingest_places_one_order_per_follower(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.add_follower(group_id, "EVAL-2", multiplier=2)
    replies = [pipeline.send(group_id, token, **market("E-dup")) for _ in range(3)]
    assert [r.status for r in replies] == [202, 200, 200]
    assert [r.body["status"] for r in replies] == ["accepted", "duplicate", "duplicate"]
    pipeline.deliver()
    assert len(pipeline.orders("EVAL-1")) == 1 and len(pipeline.orders("EVAL-2")) == 1
    assert pipeline.positions("EVAL-2") == {"NQZ6": 4}


def test_same_sqs_record_delivered_twice_places_one_order(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.send(group_id, token, **market("E-1"))
    [(url, arn)] = pipeline.follower_queues()
    messages = pipeline.sqs.receive_message(
        QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"]
    )
    records = sqs_records(messages["Messages"], arn)
    for _ in range(2):
        assert pipeline.executor({"Records": records}, FakeContext()) == {"batchItemFailures": []}
    assert len(pipeline.orders("EVAL-1")) == 1
    assert pipeline.copies(group_id, "E-1")["EVAL-1"]["status"] == "placed"


def test_crash_after_broker_accepted_places_no_second_order(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    lost_responses = []

    def lose_first_response(order: BrokerOrder) -> None:
        if not lost_responses:
            lost_responses.append(order.broker_order_id)
            raise BrokerUnreachable("timed out after the broker accepted")

    def flaky_broker(account_id: str, broker: Any, simulate: Any, settings: Any) -> BrokerAccount:
        return PaperBroker(
            account_id, PaperStore(settings.paper_table_name), after_accept=lose_first_response
        )

    monkeypatch.setattr("tradecopier.logic.deliveries.open_broker", flaky_broker)
    pipeline.send(group_id, token, **market("E-crash"))
    pipeline.deliver()
    orders = pipeline.orders("EVAL-1")
    assert len(orders) == 1 and orders[0]["broker_order_id"] == lost_responses[0]
    copy = pipeline.copies(group_id, "E-crash")["EVAL-1"]
    assert (copy["status"], copy["broker_order_id"], copy["attempts"]) == ("placed", lost_responses[0], 2)
    assert pipeline.positions("EVAL-1") == {"NQZ6": 2}


# --- order and lifecycle -------------------------------------------------------------------------


def test_placed_modified_cancelled_apply_in_order(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", multiplier=0.5)
    for event in (
        samples.limit("E-1", "L-7", qty=4, limit_price=21400.25),
        samples.order_modified("E-2", "L-7", qty=6, limit_price=21390),
        samples.order_cancelled("E-3", "L-7"),
    ):
        assert pipeline.send(group_id, token, **event).status == 202
    pipeline.deliver()
    [order] = pipeline.orders("EVAL-1")
    assert (order["qty"], order["limit_price"], order["status"]) == (3, 21390, "cancelled")
    assert [pipeline.copies(group_id, e)["EVAL-1"]["status"] for e in ("E-1", "E-2", "E-3")] == ["placed"] * 3


def test_flatten_cancels_working_orders_and_closes_the_position(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.send(group_id, token, **market("E-1", qty=3))
    pipeline.send(group_id, token, **samples.limit("E-2", "L-2", qty=3, limit_price=21500, side="sell"))
    pipeline.send(group_id, token, **samples.position_flattened("E-3"))
    pipeline.deliver()
    assert pipeline.positions("EVAL-1") == {}
    statuses = sorted(order["status"] for order in pipeline.orders("EVAL-1"))
    assert statuses == ["cancelled", "filled", "filled"]


def test_locked_follower_still_flattens_through_the_pipeline(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.send(group_id, token, **market("E-1"))
    pipeline.deliver()
    pipeline.call("POST", f"/groups/{group_id}/followers/EVAL-1/lock", {"reason": "trailing drawdown"})
    pipeline.send(group_id, token, **market("E-2"))
    pipeline.send(group_id, token, **samples.position_flattened("E-3"))
    pipeline.deliver()
    copies = {e: pipeline.copies(group_id, e)["EVAL-1"] for e in ("E-2", "E-3")}
    assert copies["E-2"]["status"] == "skipped" and "trailing drawdown" in copies["E-2"]["reason"]
    assert copies["E-3"]["status"] == "placed"
    assert pipeline.positions("EVAL-1") == {}


# --- isolation -----------------------------------------------------------------------------------


def test_disconnected_and_rejecting_followers_do_not_touch_the_others(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "GOOD-1")
    pipeline.add_follower(group_id, "DOWN-1", simulate="disconnect")
    pipeline.add_follower(group_id, "NOPE-1", simulate="reject")
    pipeline.add_follower(group_id, "GOOD-2", multiplier=2)
    for n in range(3):
        assert pipeline.send(group_id, token, **market(f"E-{n}", order_id=f"L-{n}", qty=1)).status == 202
    # One delivery round: the healthy followers are fully served while DOWN-1 is still failing.
    pipeline.deliver_once()
    for n in range(3):
        copies = pipeline.copies(group_id, f"E-{n}")
        assert copies["GOOD-1"]["status"] == "placed" and copies["GOOD-2"]["qty"] == 2
        assert (
            copies["NOPE-1"]["status"] == "rejected" and "simulated rejection" in copies["NOPE-1"]["reason"]
        )
        assert copies["DOWN-1"]["status"] == "pending"
    pipeline.deliver()
    first = pipeline.copies(group_id, "E-0")["DOWN-1"]
    assert first["status"] == "failed" and "locked" in first["reason"]
    assert [pipeline.copies(group_id, f"E-{n}")["DOWN-1"]["status"] for n in (1, 2)] == ["skipped", "skipped"]
    follower = pipeline.call("GET", f"/groups/{group_id}").body["followers"]
    down = next(f for f in follower if f["account_id"] == "DOWN-1")
    assert down["state"] == "locked" and "E-0" in down["lock_reason"]
    assert pipeline.positions("GOOD-1") == {"NQZ6": 3} and pipeline.positions("GOOD-2") == {"NQZ6": 6}
    assert pipeline.orders("DOWN-1") == []


# --- leader protection ---------------------------------------------------------------------------


def test_every_way_of_making_a_leader_receive_copies_is_refused(pipeline: Pipeline) -> None:
    group_a, _ = pipeline.create_group(leader="LEAD-A")
    group_b, _ = pipeline.create_group(leader="LEAD-B")
    pipeline.add_follower(group_a, "EVAL-1")
    attempts = [
        ("POST", f"/groups/{group_a}/followers", {"account_id": "LEAD-A"}),  # own leader
        ("POST", f"/groups/{group_b}/followers", {"account_id": "LEAD-A"}),  # a leader elsewhere
        ("POST", f"/groups/{group_b}/followers", {"account_id": "EVAL-1"}),  # follower elsewhere
        ("POST", f"/groups/{group_a}/followers", {"account_id": "EVAL-1"}),  # follower twice
        ("POST", "/groups", {"name": "x", "leader": {"account_id": "EVAL-1"}}),  # follower as leader
        ("POST", "/groups", {"name": "x", "leader": {"account_id": "LEAD-B"}}),  # leader twice
    ]
    for method, path, body in attempts:
        reply = pipeline.call(method, path, body)
        assert reply.status == 409, (path, body, reply.body)
        assert reply.body["error"]["code"] == "account_in_use"
    assert [f["account_id"] for f in pipeline.call("GET", f"/groups/{group_a}").body["followers"]] == [
        "EVAL-1"
    ]
    assert pipeline.call("GET", f"/groups/{group_b}").body["followers"] == []


# --- the 4xx contract: status, code, and nothing written or published ----------------------------


def _bad_requests(group_id: str, token: str) -> list[tuple[str, dict[str, Any]]]:
    ok = market("E-bad")
    return [
        ("malformed_json", {"raw_body": "{not json", "headers": {"X-Webhook-Token": token}}),
        ("unauthorized", {"body": ok}),
        ("unauthorized", {"body": ok, "headers": {"X-Webhook-Token": "wrong"}}),
        ("unauthorized", {"body": {**ok, "token": "wrong"}}),
        ("not_found", {"body": ok, "headers": {"X-Webhook-Token": token}, "group": "g-000000000000"}),
        ("payload_too_large", {"body": {**ok, "pad": "x" * 17_000}, "headers": {"X-Webhook-Token": token}}),
        ("validation_error", {"body": {**ok, "multipler": 2}, "headers": {"X-Webhook-Token": token}}),
        ("validation_error", {"body": {**ok, "qty": 0}, "headers": {"X-Webhook-Token": token}}),
        ("validation_error", {"body": {**ok, "order_type": "limit"}, "headers": {"X-Webhook-Token": token}}),
        (
            "validation_error",
            {
                "body": {"event_id": "E", "type": "order.modified", "order_id": "L"},
                "headers": {"X-Webhook-Token": token},
            },
        ),
        ("validation_error", {"body": [1, 2], "headers": {"X-Webhook-Token": token}}),
    ]


STATUS = {
    "malformed_json": 400,
    "unauthorized": 401,
    "not_found": 404,
    "payload_too_large": 413,
    "validation_error": 422,
}


def test_every_ingest_4xx_answers_its_code_and_writes_and_publishes_nothing(
    pipeline: Pipeline, pipeline_env: Any
) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    before = table_items(pipeline_env.copier)
    for code, request in _bad_requests(group_id, token):
        target = request.get("group", group_id)
        reply = pipeline.call(
            "POST",
            f"/groups/{target}/events",
            request.get("body"),
            request.get("headers"),
            raw_body=request.get("raw_body"),
        )
        assert (reply.status, reply.body["error"]["code"]) == (STATUS[code], code), reply.body
        assert set(reply.body["error"]) <= {"code", "message", "details"}
        assert "Traceback" not in reply.body["error"]["message"]
    assert table_items(pipeline_env.copier) == before
    assert sum(pipeline.queue_depths().values()) == 0


def test_every_admin_4xx_answers_its_code_and_writes_nothing(pipeline: Pipeline, pipeline_env: Any) -> None:
    group_id, _ = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    before = table_items(pipeline_env.copier)
    queues = len(pipeline.follower_queues())
    cases = [
        (
            "POST",
            "/groups",
            {"name": "x", "leader": {"account_id": "A-1"}, "extra": 1},
            422,
            "validation_error",
        ),
        ("POST", "/groups", {"name": "", "leader": {"account_id": "A-1"}}, 422, "validation_error"),
        ("POST", "/groups", {"name": "x", "leader": {"account_id": "bad id!"}}, 422, "validation_error"),
        ("POST", "/groups", None, 422, "validation_error"),
        ("GET", "/groups/g-000000000000", None, 404, "not_found"),
        ("DELETE", "/groups/g-000000000000", None, 404, "not_found"),
        ("POST", "/groups/g-000000000000/followers", {"account_id": "X-1"}, 404, "not_found"),
        (
            "POST",
            f"/groups/{group_id}/followers",
            {"account_id": "X-1", "multipler": 2},
            422,
            "validation_error",
        ),
        (
            "POST",
            f"/groups/{group_id}/followers",
            {"account_id": "X-1", "multiplier": 0},
            422,
            "validation_error",
        ),
        (
            "POST",
            f"/groups/{group_id}/followers",
            {"account_id": "X-1", "max_qty": 0},
            422,
            "validation_error",
        ),
        (
            "POST",
            f"/groups/{group_id}/followers",
            {"account_id": "X-1", "rounding": "up"},
            422,
            "validation_error",
        ),
        ("POST", f"/groups/{group_id}/followers", {"account_id": "FUNDED-1"}, 409, "account_in_use"),
        ("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"multipler": 2}, 422, "validation_error"),
        ("PATCH", f"/groups/{group_id}/followers/NOBODY", {"multiplier": 2}, 404, "not_found"),
        ("DELETE", f"/groups/{group_id}/followers/NOBODY", None, 404, "not_found"),
        ("POST", f"/groups/{group_id}/followers/NOBODY/lock", {"reason": "x"}, 404, "not_found"),
        (
            "POST",
            f"/groups/{group_id}/followers/EVAL-1/lock",
            {"reason": "x", "why": 1},
            422,
            "validation_error",
        ),
        ("POST", f"/groups/{group_id}/followers/NOBODY/unlock", None, 404, "not_found"),
        ("GET", f"/groups/{group_id}/events/NOPE", None, 404, "not_found"),
        ("GET", f"/groups/{group_id}/events?limit=0", None, 422, "validation_error"),
        ("POST", "/groups/g-000000000000/token/rotate", None, 404, "not_found"),
    ]
    for method, path, body, status, code in cases:
        reply = pipeline.call(method, path, body)
        assert (reply.status, reply.body["error"]["code"]) == (status, code), (method, path, reply.body)
    assert table_items(pipeline_env.copier) == before
    assert len(pipeline.follower_queues()) == queues


def test_token_in_body_works_for_senders_without_headers(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    reply = pipeline.call("POST", f"/groups/{group_id}/events", {**market("E-tv"), "token": token})
    assert reply.status == 202


def test_rotated_token_replaces_the_old_one(pipeline: Pipeline) -> None:
    group_id, old = pipeline.create_group()
    rotated = pipeline.call("POST", f"/groups/{group_id}/token/rotate")
    new = rotated.body["webhook_token"]
    assert rotated.status == 200 and new != old and len(new) >= 43
    assert pipeline.send(group_id, old, **market("E-1")).status == 401
    assert pipeline.send(group_id, new, **market("E-1")).status == 202


def test_follower_removed_with_events_in_flight_leaves_no_pending_copy(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.add_follower(group_id, "EVAL-2")
    pipeline.send(group_id, token, **market("E-1"))
    assert pipeline.call("DELETE", f"/groups/{group_id}/followers/EVAL-2").status == 204
    pipeline.deliver()
    copies = pipeline.copies(group_id, "E-1")
    assert copies["EVAL-1"]["status"] == "placed"
    assert copies["EVAL-2"]["status"] == "skipped" and "removed" in copies["EVAL-2"]["reason"]
    assert len(pipeline.follower_queues()) == 1
    # The account is free again and can join another group.
    other, _ = pipeline.create_group(leader="LEAD-2")
    pipeline.add_follower(other, "EVAL-2")


def test_delete_group_tears_everything_down(pipeline: Pipeline) -> None:
    group_id, _ = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.add_follower(group_id, "EVAL-2")
    removed = pipeline.call("DELETE", f"/groups/{group_id}/followers/EVAL-2")
    deleted = pipeline.call("DELETE", f"/groups/{group_id}")
    for reply in (removed, deleted):
        # No body, so no Content-Type: schemathesis flagged a 204 labelled JSON as "not valid JSON".
        assert (reply.status, reply.body) == (204, None)
        assert "content-type" not in {name.lower() for name in reply.headers}, reply.headers
    assert pipeline.call("GET", f"/groups/{group_id}").status == 404
    assert pipeline.follower_queues() == []
    pipeline.create_group(leader="EVAL-1")  # accounts released
