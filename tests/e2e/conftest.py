"""End-to-end fixtures: ONE local stack for the whole session, started as a user would start it
(``python -m devstack --port N`` as a child process, in its own process group), driven over HTTP.

The stack runs a copy of template.yaml written as JSON to a temporary directory (code paths made
absolute) with shorter follower redrive parameters, so that a failing follower ends ``failed``
within seconds rather than minutes: FollowerQueueVisibilitySeconds = 10 (the template's minimum,
= the executor timeout) and FollowerMaxReceiveCount = 2. The scheduler function (the risk clock)
runs every E2E_SCHEDULE_SECONDS on the stack's own clock.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.stack import DEFAULT_TEMPLATE, LocalStack
from devstack.tables import load_template

E2E_PARAMETERS = {"FollowerQueueVisibilitySeconds": 10, "FollowerMaxReceiveCount": 2}
E2E_SCHEDULE_SECONDS = 3.0  # the risk clock (the template's once a minute) runs every 3 s here
FINAL = {"placed", "skipped", "rejected", "failed"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_e2e_template(directory: Path, parameters: dict[str, Any]) -> Path:
    """template.yaml as JSON, code directories absolute, the given parameter defaults replaced."""
    tpl = load_template(DEFAULT_TEMPLATE)
    base = DEFAULT_TEMPLATE.parent
    for name, value in parameters.items():
        tpl["Parameters"][name]["Default"] = value
    fn_globals = (tpl.get("Globals") or {}).get("Function") or {}
    if isinstance(fn_globals.get("CodeUri"), str):
        fn_globals["CodeUri"] = str((base / fn_globals["CodeUri"]).resolve())
    for res in (tpl.get("Resources") or {}).values():
        props = res.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = str((base / props[key]).resolve())
    path = directory / "template.json"
    path.write_text(json.dumps(tpl, indent=1), encoding="utf-8")
    return path


def _process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with tempfile.TemporaryDirectory(prefix="e2e-stack-") as tmp:
        template = write_e2e_template(Path(tmp), E2E_PARAMETERS)
        log = open(Path(tmp) / "devstack.out", "wb")  # noqa: SIM115 - closed below
        local = LocalStack(
            port=_free_port(),
            mode="subprocess",
            template=template,
            stack_name="e2e-copier",
            subprocess_output=log,
            ready_timeout=120,
            schedule_seconds=E2E_SCHEDULE_SECONDS,
        )
        try:
            try:
                local.start()
            except Exception as exc:
                log.flush()
                tail = (Path(tmp) / "devstack.out").read_text(errors="replace")[-3000:]
                pytest.fail(f"the local stack did not start: {exc}\n{tail}", pytrace=False)
            pgid = local.pid
            yield local
        finally:
            local.stop()
            log.close()
        assert pgid is not None
        deadline = time.monotonic() + 10
        while _process_group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _process_group_alive(pgid), f"process group {pgid} of the stack still runs after stop()"


@dataclass
class Api:
    """A thin HTTP client of the copier's API (the contract in API.md)."""

    base: str
    session: requests.Session

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        return self.session.request(method, self.base + path, json=body, headers=headers or None, timeout=30)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        resp = self.call(method, path, body)
        assert resp.status_code == status, f"{method} {path} -> {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    # -- helpers ---------------------------------------------------------------------------------
    def group(self, leader: str | None = None, name: str = "e2e") -> tuple[str, str, str]:
        """Creates a group with a paper leader; returns (group_id, webhook_token, leader id)."""
        leader = leader or uid("LEAD")
        body = self.ok(
            "POST", "/groups", {"name": name, "leader": {"account_id": leader, "broker": "paper"}}, 201
        )
        return body["group_id"], body["webhook_token"], leader

    def follower(self, group_id: str, account_id: str, **fields: Any) -> dict[str, Any]:
        body = {"account_id": account_id, "broker": "paper", **fields}
        result: dict[str, Any] = self.ok("POST", f"/groups/{group_id}/followers", body, 201)
        return result

    def send(self, group_id: str, token: str, event: dict[str, Any]) -> requests.Response:
        return self.call("POST", f"/groups/{group_id}/events", event, **{"X-Webhook-Token": token})

    def event(self, group_id: str, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.ok("GET", f"/groups/{group_id}/events/{event_id}")
        return result

    def wait_final(
        self,
        group_id: str,
        event_id: str,
        timeout: float = 30.0,
        done: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Polls the event until every copy is final (or ``done(copies)``); returns copies by account."""
        deadline = time.monotonic() + timeout
        seen: Any = None
        while True:
            resp = self.call("GET", f"/groups/{group_id}/events/{event_id}")
            seen = f"HTTP {resp.status_code}: {resp.text[:2000]}"
            if resp.status_code == 200:
                copies = {c["account_id"]: c for c in resp.json()["copies"]}
                if (done(copies) if done else all(c["status"] in FINAL for c in copies.values())) and copies:
                    return copies
            if time.monotonic() > deadline:
                pytest.fail(f"event {event_id} not final after {timeout:.0f} s; last seen: {seen}")
            time.sleep(0.2)

    def orders(self, account_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.ok("GET", f"/accounts/{account_id}/orders")["orders"]
        return result

    def positions(self, account_id: str) -> dict[str, int]:
        body = self.ok("GET", f"/accounts/{account_id}/positions")
        return {p["symbol"]: p["qty"] for p in body["positions"] if p["qty"]}


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Iterator[Api]:
    with requests.Session() as session:
        yield Api(stack.api_url, session)
