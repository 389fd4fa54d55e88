"""Bad input on the copying v2 fields: 422 naming the field, nothing written, nothing published."""

from __future__ import annotations

from typing import Any

from devstack import samples
from tests.integration.test_pipeline_rules import table_items
from tests.pipeline import Pipeline

TOO_MANY = {f"R{n}": "MNQ" for n in range(21)}


def _ingest_cases() -> list[tuple[dict[str, Any], str]]:
    entry = samples.market("E-bad", "L-1")
    return [
        ({**entry, "take_profit": {"price": 21500}}, "take_profit"),
        ({**entry, "stop_loss": {"order_id": "L-1-sl"}}, "stop_loss"),
        ({**entry, "take_profit": {"order_id": "L-1-tp", "price": 21500, "size": 1}}, "take_profit"),
        ({**entry, "take_profit": {"order_id": "L-1", "price": 21500}}, "take_profit"),  # = the entry id
        ({**entry, "position_after": 1.5}, "position_after"),
        ({**entry, "position_after": "2"}, "position_after"),
        ({**entry, "postion_after": 2}, "postion_after"),
        (
            {
                "event_id": "E-bad",
                "type": "order.filled",
                "order_id": "L-1",
                "symbol": "NQZ6",
                "side": "buy",
                "qty": 1,
            },
            "price",
        ),
        (samples.order_filled("E-bad", "L-1", qty=1, price=21450, position_after=True), "position_after"),
    ]


def _fields_named(body: dict[str, Any]) -> str:
    """The field paths and messages of the error's details: where a 422 names the field."""
    details = body["error"].get("details", [])
    return " ".join(f"{'.'.join(str(part) for part in item['loc'])} {item['msg']}" for item in details)


def test_v2_event_fields_refused_with_the_field_named_and_nothing_published(
    pipeline: Pipeline, pipeline_env: Any
) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    before = table_items(pipeline_env.copier)
    for body, field in _ingest_cases():
        reply = pipeline.call("POST", f"/groups/{group_id}/events", body, {"X-Webhook-Token": token})
        assert (reply.status, reply.body["error"]["code"]) == (422, "validation_error"), (field, reply.body)
        named = _fields_named(reply.body)
        assert field in named, (field, reply.body)
    assert table_items(pipeline_env.copier) == before
    assert sum(pipeline.queue_depths().values()) == 0


def test_v2_follower_settings_refused_with_the_field_named_and_nothing_written(
    pipeline: Pipeline, pipeline_env: Any
) -> None:
    group_id, _ = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    before = table_items(pipeline_env.copier)
    queues = len(pipeline.follower_queues())
    bad_settings = [
        ({"symbol_map": TOO_MANY}, "symbol_map"),
        ({"symbol_map": {"NQ": "MNQ*"}}, "symbol_map"),
        ({"symbol_map": {" NQ": "MNQ"}}, "symbol_map"),
        ({"symbol_map": ["NQ"]}, "symbol_map"),
        ({"inverse": "yes"}, "inverse"),
        ({"copy_mode": "trades"}, "copy_mode"),
        ({"max_delay_ms": -1}, "max_delay_ms"),
        ({"max_delay_ms": 1.5}, "max_delay_ms"),
    ]
    for settings, field in bad_settings:
        for method, path, body in (
            ("POST", f"/groups/{group_id}/followers", {"account_id": "X-1", **settings}),
            ("PATCH", f"/groups/{group_id}/followers/EVAL-1", settings),
        ):
            reply = pipeline.call(method, path, body)
            assert (reply.status, reply.body["error"]["code"]) == (422, "validation_error"), (
                method,
                settings,
            )
            assert field in _fields_named(reply.body), (method, settings, reply.body)
    for field in ("symbol_map", "inverse", "copy_mode"):
        reply = pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {field: None})
        assert reply.status == 422 and field in _fields_named(reply.body)
    assert table_items(pipeline_env.copier) == before
    assert len(pipeline.follower_queues()) == queues


def test_v2_follower_settings_round_trip(pipeline: Pipeline) -> None:
    group_id, _ = pipeline.create_group()
    settings = {
        "symbol_map": {"NQ": "MNQ", "ESZ6": "MESZ6"},
        "inverse": True,
        "copy_mode": "fills",
        "max_delay_ms": 2500,
    }
    created = pipeline.call("POST", f"/groups/{group_id}/followers", {"account_id": "EVAL-1", **settings})
    assert created.status == 201 and {k: created.body[k] for k in settings} == settings
    cleared = pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"max_delay_ms": None})
    assert cleared.status == 200 and cleared.body["max_delay_ms"] is None
    read = pipeline.call("GET", f"/groups/{group_id}/followers/EVAL-1")
    assert (
        read.status == 200
        and read.body["max_delay_ms"] is None
        and read.body["symbol_map"] == settings["symbol_map"]
    )
    default = pipeline.call("POST", f"/groups/{group_id}/followers", {"account_id": "EVAL-2"})
    assert (default.body["max_delay_ms"], default.body["copy_mode"], default.body["inverse"]) == (
        10000,
        "orders",
        False,
    )
    assert pipeline.call("GET", f"/groups/{group_id}/followers/NOBODY").status == 404
