"""Home mode end to end: ``python -m devstack --data-dir DIR`` as a child process, stopped (or
SIGKILLed) and started again on the same folder. Each test starts its own stacks on a temporary
data folder, with a key file instead of a keyring (CI has none).

About 2-3 minutes for the module on 2 busy cores (four stack starts, ~20 s each, and 100 copies).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.samples import alternating_market, market
from devstack.stack import REPO_ROOT, LocalStack
from tests.e2e.conftest import FINAL, Api, _free_port, uid, write_e2e_template

pytestmark = pytest.mark.e2e

PASSWORD = "hunter2-never-on-disk"
BURST = 50
# Retries within seconds, and enough of them that a slow cold start on a loaded machine is not a DLQ.
HOME_PARAMETERS = {"FollowerQueueVisibilitySeconds": 10, "FollowerMaxReceiveCount": 10}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    monkeypatch.setenv("TRADECOPIER_KEY_FILE", str(tmp_path / "trader.key"))
    yield {
        "data": tmp_path / "data",
        "template": write_e2e_template(tmp_path, HOME_PARAMETERS),
        "log": tmp_path / "devstack.out",
    }


def _start(home: dict[str, Path]) -> LocalStack:
    log = open(home["log"], "ab")  # noqa: SIM115 - the child's output; closed with the file object
    local = LocalStack(
        port=_free_port(),
        mode="subprocess",
        template=home["template"],
        stack_name="home-copier",
        subprocess_output=log,
        ready_timeout=120,
        data_dir=home["data"],
    )
    try:
        local.start()
    except Exception as exc:
        log.close()
        tail = home["log"].read_text(errors="replace")[-3000:]
        pytest.fail(f"the local stack did not start: {exc}\n{tail}", pytrace=False)
    return local


def _api(local: LocalStack, session: requests.Session) -> Api:
    return Api(local.api_url, session)


def _credentials(account_id: str) -> dict[str, Any]:
    return {
        "broker": "tradovate",
        "environment": "demo",
        "username": "trader1",
        "password": PASSWORD,
        "app_id": "copier",
        "app_version": "1.0",
        "cid": 1234,
        "sec": "sec-" + PASSWORD,
        "broker_account": account_id,
    }


def test_groups_followers_locks_and_credentials_survive_a_restart(home: dict[str, Path]) -> None:
    local = _start(home)
    try:
        with requests.Session() as session:
            api = _api(local, session)
            g1, t1, leader1 = api.group(name="funded")
            g2, t2, _ = api.group(name="evals")
            a, b, c = uid("EVAL"), uid("EVAL"), uid("EVAL")
            # No stale guard here: a copy on a cold stack under load may take > 10 s.
            api.follower(g1, a, max_delay_ms=None)
            api.follower(g1, b, multiplier=2, max_delay_ms=None)
            api.follower(g2, c, max_delay_ms=None)
            api.ok("POST", f"/groups/{g1}/followers/{b}/lock", {"reason": "daily loss limit"})
            stored = api.ok("PUT", "/accounts/TV-1/credentials", _credentials("DEMO1"))
            first = market(uid("E"), "L-1", qty=1)
            assert api.send(g1, t1, first).status_code == 202
            assert api.wait_final(g1, first["event_id"], timeout=120)[a]["status"] == "placed"
            # One writer: a second stack on the same folder refuses, and changes nothing.
            second = subprocess.run(
                [sys.executable, "-m", "devstack", "--port", "0", "--data-dir", str(home["data"])],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 1
            assert "in use by another running stack" in second.stderr
    finally:
        local.stop()

    encrypted = (home["data"] / "secrets.enc").read_bytes()
    assert PASSWORD.encode() not in encrypted and b"trader1" not in encrypted
    for path in home["data"].rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), f"{path} holds the password"

    local = _start(home)
    try:
        assert local.restored == {"groups": 2, "followers": 3, "redriven": 0}
        with requests.Session() as session:
            api = _api(local, session)
            assert api.ok("GET", "/accounts/TV-1/credentials") == stored
            followers = {f["account_id"]: f for f in api.ok("GET", f"/groups/{g1}")["followers"]}
            assert set(followers) == {a, b} and followers[b]["state"] == "locked"
            nxt = market(uid("E"), "L-2", qty=1)
            assert api.send(g1, t1, nxt).status_code == 202
            copies = api.wait_final(g1, nxt["event_id"], timeout=120)
            assert copies[a]["status"] == "placed" and copies[b]["status"] == "skipped"
            other = market(uid("E"), "L-3", qty=1)
            assert api.send(g2, t2, other).status_code == 202
            assert api.wait_final(g2, other["event_id"], timeout=120)[c]["status"] == "placed"
            assert len(api.orders(a)) == 2 and api.orders(b) == [] and api.orders(leader1) == []
    finally:
        local.stop()


def _burst(api: Api, group_id: str, token: str, events: list[dict[str, Any]], accepted: list[str]) -> None:
    for event in events:
        try:
            if api.send(group_id, token, event).status_code == 202:
                accepted.append(event["event_id"])
        except requests.RequestException:
            return  # the stack is gone


def test_sigkill_mid_burst_then_restart_copies_every_event_once(home: dict[str, Path]) -> None:
    local = _start(home)
    events = [alternating_market(f"B-{i:02d}-{uid('x')}", i) for i in range(BURST)]
    accepted: list[str] = []
    try:
        with requests.Session() as session:
            api = _api(local, session)
            group_id, token, leader = api.group(name="burst")
            fast, slow = uid("EVAL"), uid("EVAL")
            api.follower(group_id, fast, max_delay_ms=None)
            api.follower(group_id, slow, max_delay_ms=1000)
            sender = threading.Thread(target=_burst, args=(api, group_id, token, events, accepted))
            sender.start()
            deadline = time.monotonic() + 60
            while len(accepted) < BURST // 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert local.pid is not None
            os.killpg(local.pid, signal.SIGKILL)  # the stack and everything it started, at once
            sender.join(timeout=60)
    finally:
        local.stop()
    assert BURST // 3 <= len(accepted) < BURST

    local = _start(home)
    try:
        assert local.restored is not None and local.restored["followers"] == 2
        with requests.Session() as session:
            api = _api(local, session)
            # What was accepted before the kill is finished by the restart alone (a re-send within
            # SNS's dedup window would publish it again, so nothing is re-sent before this).
            for event_id in accepted:
                api.wait_final(group_id, event_id, timeout=120)
            # The sender retries what it did not see accepted (event ids make that safe).
            for event in events:
                assert api.send(group_id, token, event).status_code in (200, 202)
            placed: dict[str, set[str]] = {fast: set(), slow: set()}
            for event in events:
                copies = api.wait_final(group_id, event["event_id"], timeout=120)
                assert set(copies) == {fast, slow}
                for account, copy in copies.items():
                    assert copy["status"] in FINAL
                    if copy["status"] == "skipped":
                        assert copy["reason"].startswith("stale"), copy
                    else:
                        assert copy["status"] == "placed", copy
                        placed[account].add(copy["broker_order_id"])
            assert len(placed[fast]) == BURST  # no stale guard reached it: every event placed once
            for account in (fast, slow):
                orders = api.orders(account)
                assert len(orders) == len(placed[account])  # no duplicate order at the paper broker
                assert {o["broker_order_id"] for o in orders} == placed[account]
            assert api.orders(leader) == []
    finally:
        local.stop()
