"""The preset catalogue: every preset is valid risk settings and every figure has a source."""

import json
from importlib import resources
from typing import Any

import pytest

from tradecopier.domain.risk.presets import PRESETS_FILE, Preset, list_presets, load_presets
from tradecopier.domain.risk.settings import RiskSettings

REQUIRED = {"topstep-50k", "topstep-100k", "topstep-150k", "apex-50k", "apex-100k"}
RULES = set(RiskSettings.model_fields) - {"preset"}


def _raw() -> dict[str, Any]:
    text = resources.files("tradecopier.domain.risk").joinpath(PRESETS_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def test_the_api_md_presets_exist() -> None:
    assert {preset.name for preset in list_presets()} >= REQUIRED


@pytest.mark.parametrize("preset", list_presets(), ids=lambda preset: preset.name)
def test_every_preset_validates_as_risk_settings(preset: Preset) -> None:
    again = RiskSettings.model_validate(preset.risk.model_dump(mode="json", exclude_unset=True))
    assert again == preset.risk
    assert preset.description
    # every rule is stated, even as null: a preset never silently inherits "no rule"
    assert set(preset.figures) == RULES - {"max_trades_per_day", "allowed_symbols", "trading_hours"}


@pytest.mark.parametrize("entry", _raw()["presets"], ids=lambda entry: entry["name"])
def test_every_figure_in_the_data_file_has_a_source_and_a_date(entry: dict[str, Any]) -> None:
    for field, figure in entry["figures"].items():
        assert figure["source"].startswith("https://"), field
        assert figure["source_ref"], field
        assert figure["as_of"][:2] == "20", field
        assert isinstance(figure["verified"], bool), field


def test_third_party_figures_stay_unverified() -> None:
    by_name = {preset.name: preset for preset in list_presets()}
    assert not by_name["apex-50k"].verified  # Apex 4.0: third-party sources only
    assert not by_name["apex-100k"].verified
    assert by_name["topstep-50k"].verified
    assert not by_name["topstep-50k-tradovate"].figures["daily_loss_limit"].verified


def test_a_bad_figure_in_the_file_fails_loading() -> None:
    data = _raw()
    data["presets"][0]["figures"]["daily_loss_limit"]["value"] = -5
    with pytest.raises(ValueError, match="daily_loss_limit"):
        load_presets(json.dumps(data))


def test_a_repeated_name_fails_loading() -> None:
    data = _raw()
    data["presets"].append(data["presets"][0])
    with pytest.raises(ValueError, match="twice"):
        load_presets(json.dumps(data))
