"""API.md's risk object: every rule optional, bad limits refused naming the field, presets fill gaps."""

from datetime import time
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tradecopier.domain.risk.presets import UnknownPreset, get_preset
from tradecopier.domain.risk.settings import DrawdownMode, ResolvedRisk, RiskSettings, resolve_risk
from tradecopier.domain.types import StrictModel

API_EXAMPLE = {
    "preset": None,
    "starting_balance": 50000,
    "max_position": 5,
    "micro_weight": 1,
    "max_trades_per_day": 20,
    "allowed_symbols": ["NQ", "MNQ"],
    "trading_hours": {"start": "08:30", "end": "15:00"},
    "daily_loss_limit": 1000,
    "trailing_drawdown": 2000,
    "drawdown_mode": "end_of_day",
    "trailing_stop_at": 50000,
    "flat_by": "15:08",
}


class FollowerBody(StrictModel):
    """Stands in for the follower API model that will carry the field."""

    risk: ResolvedRisk | None = None


def test_api_example_round_trips_as_json() -> None:
    risk = RiskSettings.model_validate(API_EXAMPLE)
    assert risk.trading_hours is not None
    assert risk.trading_hours.start == time(8, 30)
    assert risk.daily_loss_limit == Decimal(1000)
    assert risk.model_dump(mode="json") == API_EXAMPLE


def test_empty_risk_means_no_rules_and_the_defaults() -> None:
    risk = RiskSettings()
    assert risk.starting_balance == Decimal(50000)
    assert risk.micro_weight == Decimal(1)
    assert risk.max_position is None and risk.daily_loss_limit is None and risk.flat_by is None
    assert risk.effective_drawdown_mode is DrawdownMode.END_OF_DAY


@pytest.mark.parametrize("field", ["starting_balance", "micro_weight"])
def test_null_for_a_defaulted_field_means_the_default(field: str) -> None:
    risk = RiskSettings.model_validate({field: None})
    assert field not in risk.model_fields_set
    assert getattr(risk, field) == getattr(RiskSettings(), field)


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"daily_loss_limit": 0}, ("daily_loss_limit",)),
        ({"daily_loss_limit": -1000}, ("daily_loss_limit",)),
        ({"trailing_drawdown": 0}, ("trailing_drawdown",)),
        ({"trailing_drawdown": "NaN"}, ("trailing_drawdown",)),
        ({"daily_loss_limit": "1000.001"}, ("daily_loss_limit",)),  # cents at most
        ({"max_position": 0}, ("max_position",)),
        ({"max_position": 2.5}, ("max_position",)),
        ({"max_position": "5"}, ("max_position",)),  # a count is a JSON integer
        ({"max_trades_per_day": 0}, ("max_trades_per_day",)),
        ({"micro_weight": 0}, ("micro_weight",)),
        ({"micro_weight": "1.5"}, ("micro_weight",)),
        ({"starting_balance": -1}, ("starting_balance",)),
        ({"trailing_stop_at": -100}, ("trailing_stop_at",)),
        ({"drawdown_mode": "weekly"}, ("drawdown_mode",)),
        ({"flat_by": "3:08 PM"}, ("flat_by",)),
        ({"flat_by": "24:00"}, ("flat_by",)),
        ({"flat_by": "15:08:30"}, ("flat_by",)),
        ({"trading_hours": {"start": "08:30", "end": "08:30"}}, ("trading_hours",)),
        ({"trading_hours": {"start": "8:30", "end": "15:00"}}, ("trading_hours", "start")),
        ({"trading_hours": {"start": "08:30"}}, ("trading_hours", "end")),
        ({"trading_hours": {"start": "08:30", "end": "15:00", "tz": "ET"}}, ("trading_hours", "tz")),
        ({"allowed_symbols": []}, ("allowed_symbols",)),
        ({"allowed_symbols": ["NQ", " ES"]}, ("allowed_symbols",)),
        ({"allowed_symbols": ["N Q$"]}, ("allowed_symbols",)),
        ({"preset": "topstep-75k"}, ("preset",)),
        ({"preset": "Topstep 50K"}, ("preset",)),
        ({"max_contracts": 5}, ("max_contracts",)),
    ],
)
def test_bad_settings_are_refused_naming_the_field(fields: dict[str, Any], loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as raised:
        FollowerBody.model_validate({"risk": fields})
    assert [error["loc"] for error in raised.value.errors()] == [("risk", *loc)]


def test_crossing_midnight_window_is_accepted() -> None:
    hours = RiskSettings.model_validate({"trading_hours": {"start": "18:00", "end": "03:00"}}).trading_hours
    assert hours is not None and hours.start > hours.end


def test_allowed_symbols_take_roots_and_symbols_once_each() -> None:
    risk = RiskSettings.model_validate({"allowed_symbols": ["NQ", "MNQZ6", "NQ", "AAPL"]})
    assert risk.allowed_symbols == ["NQ", "MNQZ6", "AAPL"]


def test_preset_fills_what_the_request_left_out() -> None:
    risk = resolve_risk(RiskSettings.model_validate({"preset": "topstep-50k-tradovate", "max_position": 3}))
    assert risk.max_position == 3  # the request wins
    assert risk.daily_loss_limit == Decimal(1000)  # the preset fills
    assert risk.trailing_drawdown == Decimal(2000)
    assert risk.trailing_stop_at == Decimal(50000)
    assert risk.flat_by == time(15, 8)
    assert risk.preset == "topstep-50k-tradovate"


def test_explicit_null_drops_a_preset_rule() -> None:
    risk = resolve_risk(RiskSettings.model_validate({"preset": "apex-50k", "daily_loss_limit": None}))
    assert risk.daily_loss_limit is None
    assert risk.trailing_drawdown == Decimal(2000)


def test_null_starting_balance_takes_the_presets() -> None:
    risk = resolve_risk(RiskSettings.model_validate({"preset": "topstep-150k", "starting_balance": None}))
    assert risk.starting_balance == Decimal(150000)


def test_resolving_twice_changes_nothing() -> None:
    once = resolve_risk(RiskSettings.model_validate({"preset": "apex-legacy-50k", "flat_by": "15:00"}))
    assert resolve_risk(once) == once


def test_without_a_preset_resolve_returns_the_request() -> None:
    body = RiskSettings.model_validate(API_EXAMPLE)
    assert resolve_risk(body) is body


def test_resolved_risk_field_applies_the_preset_while_validating() -> None:
    body = FollowerBody.model_validate({"risk": {"preset": "topstep-100k"}})
    assert body.risk is not None
    assert body.risk.max_position == 10
    assert body.risk.micro_weight == Decimal("0.1")


def test_unknown_preset_names_the_field() -> None:
    with pytest.raises(UnknownPreset, match=r"^preset: unknown preset 'nope'"):
        get_preset("nope")
    assert issubclass(UnknownPreset, ValueError)
    unchecked = RiskSettings.model_construct(preset="nope")
    with pytest.raises(ValueError, match=r"^preset: "):
        resolve_risk(unchecked)
