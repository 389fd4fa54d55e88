"""The follower board: at / of the local stack in a real headless browser (Debian's chromium driven
by playwright), and the dashboard's custom widget handler reading a seeded stack."""

from __future__ import annotations

import importlib
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.samples import market
from devstack.stack import LocalStack
from tests.e2e.conftest import Api, uid

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@dataclass
class Seeded:
    group_id: str
    active: str
    locked: str
    other: str
    event_id: str


@pytest.fixture(scope="module")
def seeded(api: Api) -> Seeded:
    gid, token, _ = api.group(name="board")
    active, locked, other = uid("EVAL"), uid("EVAL"), uid("EVAL")
    for account in (active, locked, other):
        api.follower(gid, account, max_delay_ms=None)
    api.ok("POST", f"/groups/{gid}/followers/{locked}/lock", {"reason": "daily loss limit"})
    event_id = uid("L-1")
    # Not waited for: a copy links to its event from the moment it is accepted (pending or final).
    assert api.send(gid, token, market(event_id, "L-1", qty=1)).status_code == 202
    return Seeded(gid, active, locked, other, event_id)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("chromium not found (make install installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


def _states(page: Any, group_id: str) -> dict[str, str]:
    rows = page.locator(f'section[data-group="{group_id}"] tr.follower')
    return {r.get_attribute("data-account"): r.get_attribute("data-state") for r in rows.all()}


def _open_when_ready(page: Any, url: str, timeout: float = 120) -> None:
    """The board's first answer waits for its environment to start (503 until then on a busy box)."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        response = page.goto(url)
        status = response.status if response is not None else None
        if status == 200:
            return
        time.sleep(1)
    pytest.fail(f"GET / still answered {status} after {timeout:.0f} s")


def test_the_board_shows_every_follower_and_updates_after_a_lock(
    browser: Any, stack: LocalStack, api: Api, seeded: Seeded
) -> None:
    page = browser.new_page()
    _open_when_ready(page, stack.api_url + "/")
    errors: list[str] = []  # from here on, a real load of a ready board
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    assert page.reload().status == 200
    assert _states(page, seeded.group_id) == {
        seeded.active: "active",
        seeded.locked: "locked",
        seeded.other: "active",
    }
    locked_row = page.locator(f'tr[data-account="{seeded.locked}"] td').first
    assert locked_row.evaluate("td => getComputedStyle(td).backgroundColor") != "rgba(0, 0, 0, 0)"
    link = page.locator(f'tr[data-account="{seeded.active}"] a.copy')
    assert link.inner_text() == seeded.event_id
    event = requests.get(link.get_attribute("href"), timeout=10).json()  # the link opens that event
    assert event["event_id"] == seeded.event_id

    api.ok("POST", f"/groups/{seeded.group_id}/followers/{seeded.other}/lock", {"reason": "by hand"})
    page.wait_for_selector(f'tr[data-account="{seeded.other}"][data-state="locked"]', timeout=20_000)
    assert _states(page, seeded.group_id)[seeded.other] == "locked"
    headers = page.locator(f'section[data-group="{seeded.group_id}"] th').all_inner_texts()
    assert "Sync" in headers and "Risk headroom" in headers
    api.ok("GET", f"/groups/{seeded.group_id}/sync")  # no leader position known: unknown (the
    # local stack's scheduler may have checked it already)
    page.wait_for_selector(f'tr[data-account="{seeded.active}"][data-sync="unknown"]', timeout=20_000)
    assert page.locator(f'tr[data-account="{seeded.active}"] td.sync').inner_text() == "unknown"
    assert errors == []
    page.close()


def test_unknown_paths_still_answer_404(stack: LocalStack) -> None:
    resp = requests.get(stack.api_url + "/no-such-page", timeout=10)
    assert (resp.status_code, resp.json()) == (404, {"message": "Not Found"})
    assert requests.post(stack.api_url + "/", timeout=10).status_code == 404


@dataclass
class _Context:
    function_name: str = "BoardFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:BoardFunction"
    aws_request_id: str = "req-1"


def test_the_custom_widget_returns_the_board_of_a_seeded_stack(
    monkeypatch: pytest.MonkeyPatch, stack: LocalStack, seeded: Seeded
) -> None:
    monkeypatch.setenv("COPIER_TABLE_NAME", "CopierTable-e2e")
    monkeypatch.setenv("API_URL", stack.api_url + "/")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "functions" / "board"))
    sys.modules.pop("board_handler", None)
    board_handler = importlib.import_module("board_handler")
    event = {"widgetContext": {"dashboardName": "copier", "params": {"groups": [seeded.group_id]}}}
    html = board_handler.handler(event, _Context())
    assert isinstance(html, str) and "<script" not in html
    assert f'data-account="{seeded.locked}" data-state="locked"' in html
    assert f'data-account="{seeded.active}" data-state="active"' in html
    assert f"/groups/{seeded.group_id}/events/{seeded.event_id}" in html
    assert "Follower board" in board_handler.handler({"describe": True}, _Context())
