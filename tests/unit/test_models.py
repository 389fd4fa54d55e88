"""Leader events and settings: every API.md rule, and unknown fields refused."""

from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from tradecopier.api.schemas import AddFollowerRequest, UpdateFollowerRequest
from tradecopier.domain.accounts import Follower
from tradecopier.domain.enums import OrderType
from tradecopier.domain.events import LeaderEvent
from tradecopier.domain.orders import price_rule_violation

events = TypeAdapter(LeaderEvent)
PLACED = {
    "event_id": "E-1",
    "type": "order.placed",
    "order_id": "L-1",
    "symbol": "NQZ6",
    "side": "buy",
    "qty": 2,
    "order_type": "market",
}


@pytest.mark.parametrize(
    "fields",
    [
        {"order_type": "limit"},
        {"order_type": "stop"},
        {"order_type": "stop_limit", "limit_price": 1},
        {"order_type": "market", "limit_price": 21000},
        {"qty": 0},
        {"qty": 2.5},
        {"qty": True},
        {"side": "long"},
        {"multipler": 2},
        {"event_id": ""},
        {"event_id": "x" * 129},
        {"limit_price": -1, "order_type": "limit"},
        {"price": "NaN"},
        {"type": "order.exploded"},
    ],
)
def test_invalid_order_placed_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        events.validate_python(PLACED | fields)


def test_valid_events_of_every_type_parse() -> None:
    assert events.validate_python(PLACED).qty == 2
    limit = events.validate_python(
        PLACED | {"order_type": "stop_limit", "limit_price": 1.25, "stop_price": "1.5"}
    )
    assert limit.limit_price == Decimal("1.25")
    assert (
        events.validate_python({"event_id": "e", "type": "order.modified", "order_id": "L", "qty": 1}).qty
        == 1
    )
    assert (
        events.validate_python({"event_id": "e", "type": "order.cancelled", "order_id": "L"}).order_id == "L"
    )
    assert (
        events.validate_python({"event_id": "e", "type": "position.flattened", "symbol": "NQZ6"}).symbol
        == "NQZ6"
    )


def test_modify_needs_something_to_change() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        events.validate_python({"event_id": "e", "type": "order.modified", "order_id": "L"})


def test_flatten_needs_a_symbol_and_cancel_an_order_id() -> None:
    with pytest.raises(ValidationError):
        events.validate_python({"event_id": "e", "type": "position.flattened"})
    with pytest.raises(ValidationError):
        events.validate_python({"event_id": "e", "type": "order.cancelled"})


def test_follower_multiplier_is_exact_decimal_and_shown_as_a_number() -> None:
    request = AddFollowerRequest.model_validate({"account_id": "EVAL-1", "multiplier": 0.1})
    assert request.multiplier == Decimal("0.1")
    follower = Follower(account_id="EVAL-1", multiplier=request.multiplier)
    assert '"multiplier":0.1' in follower.model_dump_json()


@pytest.mark.parametrize(
    "body",
    [
        {"account_id": "EVAL-1", "multipler": 2},
        {"account_id": "EVAL-1", "multiplier": 0},
        {"account_id": "EVAL-1", "multiplier": -1},
        {"account_id": "EVAL-1", "max_qty": 0},
        {"account_id": "EVAL-1", "rounding": "nearest"},
        {"account_id": "EVAL-1", "simulate": "explode"},
        {"account_id": "EVAL 1"},
        {"account_id": "x" * 65},
        {"account_id": "EVAL-1", "broker": "interactive"},
    ],
)
def test_invalid_follower_settings_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AddFollowerRequest.model_validate(body)


def test_patch_changes_only_the_named_fields_and_null_clears_the_cap() -> None:
    assert UpdateFollowerRequest.model_validate({"max_qty": None}).changes() == {"max_qty": None}
    assert UpdateFollowerRequest.model_validate({"rounding": "ceil"}).changes() == {"rounding": "ceil"}
    with pytest.raises(ValidationError):
        UpdateFollowerRequest.model_validate({"multiplier": None})


def test_ingest_body_becomes_the_domain_event_without_its_token() -> None:
    from tradecopier.api.ingest_routes import _leader_event
    from tradecopier.api.schemas import OrderPlacedBody
    from tradecopier.domain.events import OrderPlaced

    body = OrderPlacedBody.model_validate(PLACED | {"token": "secret", "limit_price": None})
    event = _leader_event(body)
    assert type(event) is OrderPlaced
    assert event.model_dump() == OrderPlaced.model_validate(PLACED).model_dump()
    assert "token" not in event.model_dump_json()


@pytest.mark.parametrize(
    ("order_type", "limit_price", "stop_price", "violation"),
    [
        (OrderType.MARKET, None, None, None),
        (OrderType.MARKET, Decimal(1), None, "a market order takes no limit_price"),
        (OrderType.LIMIT, Decimal(1), None, None),
        (OrderType.LIMIT, None, None, "a limit order needs limit_price"),
        (OrderType.LIMIT, Decimal(1), Decimal(2), "a limit order takes no stop_price"),
        (OrderType.STOP, None, Decimal(2), None),
        (OrderType.STOP, None, None, "a stop order needs stop_price"),
        (OrderType.STOP_LIMIT, Decimal(1), Decimal(2), None),
        (OrderType.STOP_LIMIT, None, Decimal(2), "a stop_limit order needs limit_price"),
    ],
)
def test_one_price_rule_for_every_order_type(
    order_type: OrderType, limit_price: Decimal | None, stop_price: Decimal | None, violation: str | None
) -> None:
    assert price_rule_violation(order_type, limit_price, stop_price) == violation
