"""Prop-firm presets: named risk settings from ``presets.json``, every figure with its source.

The rules are data so that a firm's rule change is a data change, and each figure says where it
came from, when, and whether an official source confirms it (``shared/risk/propfirms.md`` holds the
research). A preset that is not ``verified`` should be confirmed by the trader before it arms a
follower. The file is read and validated once per process, on first use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import Field, JsonValue, StringConstraints, computed_field, field_validator

from tradecopier.domain.risk.settings import PresetName, RiskSettings
from tradecopier.domain.types import StrictModel

PRESETS_FILE = "presets.json"

HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")]
SourceDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}(-\d{2})?$")]


class UnknownPreset(ValueError):
    """A preset name the catalogue does not hold; its message names the ``preset`` field."""


class Figure(StrictModel):
    """One value of a preset and where it comes from."""

    value: JsonValue
    source: HttpsUrl
    source_ref: str = Field(description="the source's id in propfirms.md §6")
    as_of: SourceDate = Field(description="the source's own date, or the research date if it has none")
    dated_by: Literal["source", "compiled"]
    verified: bool = Field(description="confirmed by the firm's own pages, with no conflict noted")
    note: str | None = None


class PresetEntry(StrictModel):
    """A preset as ``presets.json`` writes it."""

    name: PresetName
    description: str
    firm: str
    figures: dict[str, Figure]

    @field_validator("figures")
    @classmethod
    def _settings_only(cls, figures: dict[str, Figure]) -> dict[str, Figure]:
        if "preset" in figures:
            raise ValueError("a preset cannot name another preset")
        return figures


class PresetFile(StrictModel):
    compiled_on: SourceDate
    research: str
    presets: list[PresetEntry] = Field(min_length=1)


class Preset(StrictModel):
    """A preset as the API lists it (``GET /risk/presets``), its figures alongside."""

    name: PresetName
    description: str
    firm: str
    risk: RiskSettings
    figures: dict[str, Figure]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verified(self) -> bool:
        """Every figure confirmed by an official source."""
        return all(figure.verified for figure in self.figures.values())


def _preset(entry: PresetEntry) -> Preset:
    risk = RiskSettings.model_validate({field: figure.value for field, figure in entry.figures.items()})
    return Preset(
        name=entry.name, description=entry.description, firm=entry.firm, risk=risk, figures=entry.figures
    )


def load_presets(text: str) -> Mapping[str, Preset]:
    """Presets from the text of a presets file, by name; a bad figure or a repeated name raises."""
    entries = PresetFile.model_validate(json.loads(text)).presets
    by_name = {entry.name: _preset(entry) for entry in entries}
    if len(by_name) != len(entries):
        raise ValueError("presets.json names a preset twice")
    return MappingProxyType(by_name)


@cache
def _catalogue() -> Mapping[str, Preset]:
    # importlib.resources, not __file__: it also reads a layer packaged as a zip.
    text = resources.files(__package__).joinpath(PRESETS_FILE).read_text(encoding="utf-8")
    return load_presets(text)


def list_presets() -> tuple[Preset, ...]:
    return tuple(_catalogue().values())


def preset_names() -> frozenset[str]:
    return frozenset(_catalogue())


def get_preset(name: str) -> Preset:
    try:
        return _catalogue()[name]
    except KeyError:
        raise UnknownPreset(
            f"preset: unknown preset {name!r}; known: {', '.join(sorted(_catalogue()))}"
        ) from None
