"""Infrastructure tests: template.yaml itself (IAM, routes, throttling, the dashboard and alarms),
read as a file and translated with AWS's SAM translator; no server, no AWS account.

- ``parsed_template()``: template.yaml parsed once (short-form tags -> long form), shared; never
  mutate it.
- ``template`` (function): a fresh deep copy of it, which a test may mutate.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from devstack.tables import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


@cache
def parsed_template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture
def template() -> dict[str, Any]:
    """A fresh deep copy of the parsed template.yaml (tests may mutate it)."""
    return copy.deepcopy(parsed_template())
