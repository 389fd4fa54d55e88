"""End-to-end: the copier's HTTP API on the local stack (`python -m devstack` as a child process).

Every test uses its own group and account ids (one stack serves the whole module) and waits for
outcomes by polling GET /groups/{g}/events/{id} against a deadline.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.samples import limit, market, order_cancelled, order_modified, position_flattened
from tests.e2e.conftest import Api, uid

pytestmark = pytest.mark.e2e


def test_health_and_openapi_answer(api: Api) -> None:
    assert api.ok("GET", "/health") == {"status": "ok"}
    spec = api.ok("GET", "/openapi.json")
    assert "/groups/{group_id}/events" in spec["paths"]


def test_seed_story_leader_buys_2_nq(api: Api) -> None:
    group_id, token, leader = api.group(name="Funded + evals")
    e1, e2, e3 = uid("EVAL"), uid("EVAL"), uid("EVAL")
    api.follower(group_id, e1, multiplier=1)
    api.follower(group_id, e2, multiplier=0.5)
    api.follower(group_id, e3, multiplier=1)
    locked = api.ok("POST", f"/groups/{group_id}/followers/{e3}/lock", {"reason": "daily loss limit"})
    assert locked["state"] == "locked"

    event_id = uid("L-42-new")
    resp = api.send(group_id, token, market(event_id, "L-42"))
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"event_id": event_id, "status": "accepted"}
    copies = api.wait_final(group_id, event_id)

    assert set(copies) == {e1, e2, e3}
    assert (copies[e1]["status"], copies[e1]["qty"]) == ("placed", 2)
    assert (copies[e2]["status"], copies[e2]["qty"]) == ("placed", 1)
    assert copies[e3]["status"] == "skipped" and "daily loss limit" in copies[e3]["reason"]
    assert api.positions(e1) == {"NQZ6": 2} and api.positions(e2) == {"NQZ6": 1}
    assert api.orders(e3) == [] and api.positions(e3) == {}
    [order] = api.orders(e1)
    assert order["broker_order_id"] == copies[e1]["broker_order_id"] and order["status"] == "filled"
    assert api.orders(leader) == [] and api.positions(leader) == {}


def test_same_event_three_times_places_one_order_per_follower(api: Api) -> None:
    group_id, token, _ = api.group()
    f1, f2 = uid("EVAL"), uid("EVAL")
    api.follower(group_id, f1)
    api.follower(group_id, f2, multiplier=2)
    event = market(uid("E"), "L-1", qty=1)
    answers = [api.send(group_id, token, event) for _ in range(3)]
    assert [r.status_code for r in answers] == [202, 200, 200]
    assert [r.json()["status"] for r in answers] == ["accepted", "duplicate", "duplicate"]
    copies = api.wait_final(group_id, event["event_id"])
    assert copies[f1]["qty"] == 1 and copies[f2]["qty"] == 2
    # A later event in the same group is served after the duplicates: nothing more can arrive.
    later = market(uid("E"), "L-2", qty=1)
    assert api.send(group_id, token, later).status_code == 202
    api.wait_final(group_id, later["event_id"])
    assert len(api.orders(f1)) == 2 and len(api.orders(f2)) == 2
    assert api.positions(f1) == {"NQZ6": 2} and api.positions(f2) == {"NQZ6": 4}


def test_limit_modify_cancel_then_market_and_flatten(api: Api) -> None:
    group_id, token, leader = api.group()
    f1 = uid("EVAL")
    api.follower(group_id, f1, multiplier=0.5)
    ids = [uid(f"E{n}") for n in range(5)]
    events = [
        limit(ids[0], "L-7", qty=4, limit_price=21400.25),
        order_modified(ids[1], "L-7", qty=6, limit_price=21390),
        order_cancelled(ids[2], "L-7"),
        market(ids[3], "L-8", qty=4),
        position_flattened(ids[4]),
    ]
    for event in events[:3]:
        assert api.send(group_id, token, event).status_code == 202
    for event_id in ids[:3]:
        assert api.wait_final(group_id, event_id)[f1]["status"] == "placed"
    [order] = api.orders(f1)
    assert (order["qty"], order["limit_price"], order["status"]) == (3, 21390, "cancelled")

    assert api.send(group_id, token, events[3]).status_code == 202
    assert api.wait_final(group_id, ids[3])[f1]["qty"] == 2
    assert api.positions(f1) == {"NQZ6": 2}
    assert api.send(group_id, token, events[4]).status_code == 202
    assert api.wait_final(group_id, ids[4])[f1]["status"] == "placed"
    assert api.positions(f1) == {}
    assert api.orders(leader) == [] and api.positions(leader) == {}


def test_lock_skips_and_unlock_resumes(api: Api) -> None:
    group_id, token, _ = api.group()
    f1 = uid("EVAL")
    api.follower(group_id, f1)
    body = api.ok("POST", f"/groups/{group_id}/followers/{f1}/lock", {"reason": "trailing drawdown"})
    assert (body["state"], body["lock_reason"]) == ("locked", "trailing drawdown")

    first = uid("E")
    assert api.send(group_id, token, market(first, "L-1")).status_code == 202
    copy = api.wait_final(group_id, first)[f1]
    assert copy["status"] == "skipped" and "trailing drawdown" in copy["reason"]
    assert api.orders(f1) == []

    body = api.ok("POST", f"/groups/{group_id}/followers/{f1}/unlock")
    assert (body["state"], body["lock_reason"]) == ("active", None)
    second = uid("E")
    assert api.send(group_id, token, market(second, "L-2")).status_code == 202
    copy = api.wait_final(group_id, second)[f1]
    assert (copy["status"], copy["qty"]) == ("placed", 2)
    assert api.positions(f1) == {"NQZ6": 2}


def test_failing_followers_are_isolated(api: Api) -> None:
    group_id, token, leader = api.group()
    good1, good2, down, nope = uid("GOOD"), uid("GOOD"), uid("DOWN"), uid("NOPE")
    api.follower(group_id, good1)
    api.follower(group_id, down, simulate="disconnect")
    api.follower(group_id, nope, simulate="reject")
    api.follower(group_id, good2, multiplier=2)
    ids = [uid(f"E{n}") for n in range(3)]
    for n, event_id in enumerate(ids):
        assert api.send(group_id, token, market(event_id, f"L-{n}", qty=1)).status_code == 202

    # The healthy followers are served while the disconnected one is still being retried.
    for event_id in ids:
        copies = api.wait_final(
            group_id,
            event_id,
            done=lambda c: all(c[a]["status"] in ("placed", "rejected") for a in (good1, good2, nope)),
        )
        assert copies[good1]["status"] == "placed" and copies[good2]["qty"] == 2
        assert copies[nope]["status"] == "rejected" and "simulated rejection" in copies[nope]["reason"]
    assert api.positions(good1) == {"NQZ6": 3} and api.positions(good2) == {"NQZ6": 6}

    # Visibility 10 s x max receive 2 (the e2e template): `failed` after ~10-20 s.
    first = api.wait_final(group_id, ids[0], timeout=60)[down]
    assert first["status"] == "failed" and "locked" in first["reason"], first
    for event_id in ids[1:]:
        assert api.wait_final(group_id, event_id, timeout=30)[down]["status"] == "skipped"
    followers = {f["account_id"]: f for f in api.ok("GET", f"/groups/{group_id}")["followers"]}
    assert followers[down]["state"] == "locked" and followers[down]["lock_reason"]
    assert followers[good1]["state"] == followers[good2]["state"] == followers[nope]["state"] == "active"
    assert api.orders(down) == []
    assert api.orders(leader) == [] and api.positions(leader) == {}


def test_one_event_fans_out_to_25_followers(api: Api) -> None:
    group_id, token, leader = api.group()
    multipliers = [0.5, 1, 1.5, 2, 3]
    expected: dict[str, int] = {}
    for n in range(25):
        account = uid(f"FAN{n:02d}")
        mult = multipliers[n % len(multipliers)]
        api.follower(group_id, account, multiplier=mult)
        expected[account] = int(4 * mult)  # leader qty 4: every product is a whole number
    event_id = uid("E")
    assert api.send(group_id, token, market(event_id, "L-1", qty=4)).status_code == 202
    copies = api.wait_final(group_id, event_id, timeout=90)
    assert len(copies) == 25
    assert {a: (c["status"], c["qty"]) for a, c in copies.items()} == {
        a: ("placed", q) for a, q in expected.items()
    }
    assert len({c["broker_order_id"] for c in copies.values()}) == 25
    assert api.orders(leader) == []


def _post_labelled(api: Api, path: str, body: bytes, label: str | None, **headers: str) -> Any:
    if label is not None:
        headers["Content-Type"] = label
    return api.session.post(api.base + path, data=body, headers=headers, timeout=30)


def test_readme_try_it_with_curls_form_label_and_other_labels_copies(api: Api) -> None:
    """Issue #10: the README's ``curl -d`` labels JSON as a form, TradingView as text/plain; through
    the local HTTP front (which base64-encodes non-text labels, as API Gateway does) both work."""
    form = "application/x-www-form-urlencoded"
    leader, follower = uid("FUNDED"), uid("EVAL")
    group = json.dumps({"name": "Funded + evals", "leader": {"account_id": leader}}).encode()
    created = _post_labelled(api, "/groups", group, form)
    assert created.status_code == 201, created.text
    group_id, token = created.json()["group_id"], created.json()["webhook_token"]
    added = _post_labelled(
        api,
        f"/groups/{group_id}/followers",
        b'{"account_id":"%s","multiplier":0.5}' % follower.encode(),
        form,
    )
    assert added.status_code == 201, added.text
    event_ids = []
    for n, label in enumerate([form, "text/plain", None, "application/xml", "application/octet-stream"]):
        event = json.dumps(market(f"L-{n}-{follower}", f"L-{n}", qty=2)).encode()
        sent = _post_labelled(api, f"/groups/{group_id}/events", event, label, **{"X-Webhook-Token": token})
        assert (sent.status_code, sent.json()["status"]) == (202, "accepted"), (label, sent.text)
        event_ids.append(f"L-{n}-{follower}")
    for event_id in event_ids:
        assert api.wait_final(group_id, event_id)[follower]["status"] == "placed"
    positions = api.ok("GET", f"/accounts/{follower}/positions")["positions"]
    assert [(p["symbol"], p["qty"]) for p in positions] == [("NQZ6", 5)]  # 5 x round_half_up(2 x 0.5)


def test_a_body_that_is_not_json_is_400_under_any_label_and_nothing_is_copied(api: Api) -> None:
    group_id, token, _ = api.group()
    follower = uid("EVAL")
    api.follower(group_id, follower)
    for label in ["application/x-www-form-urlencoded", "text/plain", None, "application/octet-stream"]:
        for body in [b"event_id=E-1&type=order.placed", b"<event/>", b"\xff\xfe{}"]:
            sent = _post_labelled(
                api, f"/groups/{group_id}/events", body, label, **{"X-Webhook-Token": token}
            )
            assert sent.status_code == 400, (label, body, sent.text)
            assert sent.json()["error"]["code"] == "malformed_json"
    assert api.ok("GET", f"/groups/{group_id}/events")["events"] == []
    assert api.orders(follower) == []


@pytest.mark.parametrize(
    ("method", "path"), [("TRACE", "/health"), ("PROPFIND", "/groups"), ("PUT", "/health")]
)
def test_a_method_no_route_declares_is_api_gateways_404(api: Api, method: str, path: str) -> None:
    answer = api.session.request(method, api.base + path, timeout=30)
    assert (answer.status_code, answer.headers["content-type"]) == (404, "application/json")
    assert answer.json() == {"message": "Not Found"}
