"""The hot handlers' cold start imports only what their hot path uses (issue 19, item 3).

Each case imports a handler module in a fresh interpreter, set up as ``bench/imports.py`` sets up a
Lambda init (function code directory, then the layer, on ``sys.path``; the template's variables as
dummies), and asserts on ``sys.modules``: no timing, so it cannot flake under load.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench import imports

# Modules a handler must not import at init: what only other functions or other paths need.
NOT_AT_INIT: dict[str, tuple[str, ...]] = {
    "executor": (
        "tradecopier.brokers.tradovate",  # only when a follower is at Tradovate (registry imports it then)
        "tradecopier.brokers.projectx",
        "tradecopier.brokers.paper",  # likewise: only when a follower is a paper account
        "tradecopier.brokers.credentials",  # Secrets Manager: real brokers only
        "tradecopier.api",  # the HTTP face: ingest and admin
        "tradecopier.fanout.followers",  # provisioning: admin
        "tradecopier.fanout.topics",
        "aws_lambda_powertools.utilities.batch",  # replaced by tradecopier.logic.sqs_batch
        "aws_lambda_powertools.utilities.data_classes",  # every event source class, ~20-35 ms
        "aws_lambda_powertools.event_handler",
        "moto",
        *(BOTO3 := ("boto3", "s3transfer")),  # clients are botocore's (tradecopier.aws): no S3 transfers
    ),
    "ingest": (
        "tradecopier.brokers.tradovate",
        "tradecopier.brokers.paper",
        "tradecopier.brokers.registry",
        "tradecopier.api.admin_routes",
        "tradecopier.api.openapi",
        "tradecopier.fanout.followers",
        "tradecopier.fanout.topics",
        "tradecopier.logic.executor",
        "aws_lambda_powertools.utilities.batch",
        "moto",
        *BOTO3,
    ),
}


def _modules_after_import(name: str) -> set[str]:
    code_dir, module = imports.MODULES[name]
    program = (
        "import json, sys\n"
        f"sys.path[:0] = {[str(code_dir), str(imports.LAYER)]!r}\n"
        f"import {module}\n"
        "sys.stdout.write(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        env=imports._env(name, traced=False),
        cwd=str(imports.REPO_ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("name", sorted(NOT_AT_INIT))
def test_handler_init_imports_only_its_hot_path(name: str) -> None:
    loaded = _modules_after_import(name)
    assert f"{imports.MODULES[name][1]}" in loaded  # the probe did import the handler
    unwanted = sorted(
        module
        for module in loaded
        if any(module == banned or module.startswith(banned + ".") for banned in NOT_AT_INIT[name])
    )
    assert unwanted == []


def _settings_built_after_import(name: str) -> list[str]:
    code_dir, module = imports.MODULES[name]
    program = (
        "import json, sys\n"
        f"sys.path[:0] = {[str(code_dir), str(imports.LAYER)]!r}\n"
        f"import {module}\n"
        "from pydantic import BaseModel\n"
        "from tradecopier import settings\n"
        "built = [n for n, c in vars(settings).items() if isinstance(c, type) and issubclass(c, BaseModel)\n"
        "         and c.__module__ == settings.__name__ and c.__pydantic_complete__]\n"
        "sys.stdout.write(json.dumps(sorted(built)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        env=imports._env(name, traced=False),
        cwd=str(imports.REPO_ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(done.stdout))


@pytest.mark.parametrize(("name", "own"), [("executor", "ExecutorSettings"), ("ingest", "IngestSettings")])
def test_handler_init_builds_only_its_own_settings_model(name: str, own: str) -> None:
    assert _settings_built_after_import(name) == [own]  # read (and validated) at init; no other function's
