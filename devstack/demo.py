"""``python -m devstack.demo``: the leader/follower story, replayed against the local stack.

A funded leader FUNDED-1; followers EVAL-1 (x1), EVAL-2 (x0.5) and EVAL-3 (x1, locked: "daily loss
limit (risk breach)"). The leader buys 2 NQZ6 at market (21450.25); every follower places its own
copy sized by its multiplier, the locked one is skipped, and nothing is placed on the leader.

Act two (:func:`act_two`): a bracket copied onto a micro follower, an inverse one and a locked one
that still exits. Act three (:func:`act_three`): the risk engine and preview — RISK-1 (daily loss
limit 500, max position 3) beside PLAIN-1 (no rules); a preview of a buy of 4 places nothing, the
buy copies 3 and 4, a price mark at 20900 breaches RISK-1 (flattened, locked until the next 17:00
Chicago session) while PLAIN-1 keeps its 4, and the leader's flatten leaves everyone flat.

Uses the stack at http://127.0.0.1:${PORT:-3000} if GET /health answers there, otherwise starts one
(``LocalStack``) and stops it afterwards. If the accounts are already taken (a rerun against the same
stack), a unique suffix is added to each. Every follower's ``max_delay_ms`` is the demo's own wait
(``WAIT_SECONDS``), so a slow local stack's first copies are not skipped as stale. Exit code 0 on
success, 1 (with a sentence) otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devstack import samples

LEADER = "FUNDED-1"
FOLLOWERS = [("EVAL-1", 1.0, None), ("EVAL-2", 0.5, None), ("EVAL-3", 1.0, "daily loss limit (risk breach)")]
EXPECTED = {"EVAL-1": ("placed", 2), "EVAL-2": ("placed", 1), "EVAL-3": ("skipped", None)}
FINAL = {"placed", "skipped", "rejected", "failed"}
WAIT_SECONDS = 60.0
CHICAGO = ZoneInfo("America/Chicago")
# Every demo follower's max_delay_ms: a copy within the demo's own wait is not stale here. On a cold
# or busy local stack the first copies can take longer than the default (10 s) and would be skipped
# as "stale:", which is not what the demo is about.
PATIENT = {"max_delay_ms": int(WAIT_SECONDS * 1000)}


class DemoError(Exception):
    """Something is off; the message is one sentence for the user."""


class Client:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            status = exc.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def ok(self, method: str, path: str, body: Any = None, expect: int = 200, **headers: str) -> Any:
        status, data = self.call(method, path, body, headers)
        if status != expect:
            raise DemoError(f"{method} {path} answered {status} instead of {expect}: {data}.")
        return data


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, ValueError):
        return False


def _account_in_use(client: Client, ids: list[str]) -> bool:
    """True if any of these accounts belongs to a group (as leader or follower) or has orders."""
    groups = client.ok("GET", "/groups")["groups"]
    taken = set()
    for group in groups:
        taken.add(group["leader"]["account_id"])
        taken.update(f["account_id"] for f in group["followers"])
    if any(a in taken for a in ids):
        return True
    # A deleted group's paper accounts keep their orders: start from clean accounts too.
    return any(client.ok("GET", f"/accounts/{a}/orders")["orders"] for a in ids)


def run(client: Client, out: Any = print) -> None:
    ids, suffix = _fresh_accounts(client, out)
    leader = ids[LEADER]
    group_id, token = _create_group(client, ids, out)
    event_id = _send_leader_event(client, group_id, token, leader, suffix, out)
    copies = _wait_for_copies(client, group_id, event_id)
    rows, problems = _follower_rows(client, group_id, ids, copies)
    out("")
    _print_table(rows, out)
    problems += _leader_problems(client, leader, out)
    if problems:
        raise DemoError("the copies are not as expected: " + "; ".join(problems) + ".")


def _fresh_accounts(client: Client, out: Any) -> tuple[dict[str, str], str]:
    """The demo's account ids (name → id), with a unique suffix if this stack has seen them before."""
    base_ids = [LEADER, *(name for name, _, _ in FOLLOWERS)]
    suffix = ""
    if _account_in_use(client, base_ids):
        suffix = "-" + uuid.uuid4().hex[:6]
        out(f"(accounts already in use on this stack: using the suffix {suffix!r})")
    return {name: name + suffix for name in base_ids}, suffix


def _create_group(client: Client, ids: dict[str, str], out: Any) -> tuple[str, str]:
    """The group, its followers (EVAL-3 locked): (group id, webhook token)."""
    leader = ids[LEADER]
    group = client.ok(
        "POST",
        "/groups",
        {"name": "Funded + evals", "leader": {"account_id": leader, "broker": "paper"}},
        expect=201,
    )
    group_id, token = group["group_id"], group["webhook_token"]
    out(f"group {group_id}: leader {leader} (paper)")
    for name, multiplier, lock_reason in FOLLOWERS:
        account = ids[name]
        client.ok(
            "POST",
            f"/groups/{group_id}/followers",
            {"account_id": account, "broker": "paper", "multiplier": multiplier, **PATIENT},
            expect=201,
        )
        if lock_reason:
            client.ok("POST", f"/groups/{group_id}/followers/{account}/lock", {"reason": lock_reason})
    return group_id, token


def _send_leader_event(client: Client, group_id: str, token: str, leader: str, suffix: str, out: Any) -> str:
    event_id = f"L-42-new{suffix}"
    event = samples.market(
        event_id, "L-42", qty=2, side="buy", occurred_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )
    out(f"leader {leader} buys 2 NQZ6 at market (21450.25): event {event_id}")
    answer = client.ok("POST", f"/groups/{group_id}/events", event, expect=202, **{"X-Webhook-Token": token})
    if answer.get("status") != "accepted":
        raise DemoError(f"the event was answered {answer} instead of accepted.")
    return event_id


def _wait_for_copies(client: Client, group_id: str, event_id: str) -> dict[str, Any]:
    """The event's copies (account → copy) once every follower's is final."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        copies = {
            c["account_id"]: c for c in client.ok("GET", f"/groups/{group_id}/events/{event_id}")["copies"]
        }
        if len(copies) == len(FOLLOWERS) and all(c["status"] in FINAL for c in copies.values()):
            return copies
        if time.monotonic() > deadline:
            pending = sorted(a for a, c in copies.items() if c["status"] not in FINAL)
            raise DemoError(f"copies of {event_id} still not final after {WAIT_SECONDS:.0f} s: {pending}.")
        time.sleep(0.2)


def _follower_rows(
    client: Client, group_id: str, ids: dict[str, str], copies: dict[str, Any]
) -> tuple[list[tuple[str, ...]], list[str]]:
    """The table of followers (header first) and what differs from ``EXPECTED``."""
    group = client.ok("GET", f"/groups/{group_id}")
    state = {f["account_id"]: f for f in group["followers"]}
    rows: list[tuple[str, ...]] = [
        ("account", "multiplier", "state", "copy status", "qty", "reason", "broker order", "position")
    ]
    problems = []
    for name, multiplier, _ in FOLLOWERS:
        account = ids[name]
        copy = copies[account]
        positions = client.ok("GET", f"/accounts/{account}/positions")["positions"]
        held = ", ".join(f"{p['symbol']} {p['qty']:+d}" for p in positions if p["qty"]) or "flat"
        rows.append(
            (
                account,
                f"x{multiplier:g}",
                state[account]["state"],
                copy["status"],
                "-" if copy.get("qty") is None else str(copy["qty"]),
                copy.get("reason") or "-",
                copy.get("broker_order_id") or "-",
                held,
            )
        )
        want_status, want_qty = EXPECTED[name]
        if copy["status"] != want_status or (want_qty is not None and copy.get("qty") != want_qty):
            problems.append(f"{account} is {copy['status']} qty {copy.get('qty')} (expected {want_status})")
    return rows, problems


def _print_table(rows: list[tuple[str, ...]], out: Any) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        out(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            out("-+-".join("-" * w for w in widths))


def _leader_problems(client: Client, leader: str, out: Any) -> list[str]:
    """Prints the leader's orders and positions; a problem if it has any (nothing is placed on it)."""
    orders = client.ok("GET", f"/accounts/{leader}/orders")["orders"]
    positions = client.ok("GET", f"/accounts/{leader}/positions")["positions"]
    out("")
    out(f"leader {leader}: orders {json.dumps(orders)}, positions {json.dumps(positions)} (untouched)")
    if orders or [p for p in positions if p.get("qty")]:
        return [f"the leader {leader} has orders or positions"]
    return []


# --- act two: a bracket, a micro follower, an inverse one, and a locked one that still exits -------

ACT_TWO: list[tuple[str, dict[str, Any]]] = [
    ("MICRO-1", {"symbol_map": {"NQ": "MNQ"}, "multiplier": 10}),
    ("INVERSE-1", {"inverse": True}),
    ("LOCKED-1", {}),
]


def _send(
    client: Client, group_id: str, token: str, event: dict[str, Any], followers: int = 1
) -> dict[str, Any]:
    """Posts a leader event; its copies (account → copy) once ``followers`` of them are final."""
    client.ok("POST", f"/groups/{group_id}/events", event, expect=202, **{"X-Webhook-Token": token})
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        copies = client.ok("GET", f"/groups/{group_id}/events/{event['event_id']}")["copies"]
        if len(copies) >= followers and all(c["status"] in FINAL for c in copies):
            return {c["account_id"]: c for c in copies}
        if time.monotonic() > deadline:
            raise DemoError(f"copies of {event['event_id']} still not final after {WAIT_SECONDS:.0f} s.")
        time.sleep(0.2)


def _paper_group(
    client: Client, title: str, leader_name: str, followers: list[tuple[str, dict[str, Any]]]
) -> tuple[str, str, dict[str, str], str, str]:
    """A new group of paper accounts, every id with a fresh suffix: (suffix, leader, follower ids
    by name, group id, webhook token)."""
    suffix = "-" + uuid.uuid4().hex[:6]
    leader = f"{leader_name}{suffix}"
    ids = {name: f"{name}{suffix}" for name, _ in followers}
    group = client.ok(
        "POST", "/groups", {"name": title, "leader": {"account_id": leader, "broker": "paper"}}, expect=201
    )
    group_id, token = group["group_id"], group["webhook_token"]
    for name, settings in followers:
        body = {"account_id": ids[name], "broker": "paper", **PATIENT, **settings}
        client.ok("POST", f"/groups/{group_id}/followers", body, expect=201)
    return suffix, leader, ids, group_id, token


def act_two(client: Client, out: Any = print) -> None:
    """NQ leader with a bracket; MICRO-1 copies it as MNQ x10, INVERSE-1 the other way round (legs
    swapped), LOCKED-1 is locked while long. The leader moves its stop, then its take-profit fills at
    21500: that price marks every follower's market, and each follower's own legs take it out —
    the locked one included (exits are never blocked). Everyone ends flat; the leader untouched."""
    suffix, leader, ids, group_id, token = _paper_group(client, "Act two", "FUNDED-2", ACT_TWO)
    out(f"\nact two: group {group_id}, leader {leader}")
    out("leader buys 1 NQZ6 at 21450 with a take-profit at 21500 and a stop-loss at 21400")
    entry = samples.market(
        f"A2-entry{suffix}", "A2", qty=1, price=21450, **samples.bracket("A2", 21500, 21400)
    )
    _send(client, group_id, token, entry)
    client.ok("POST", f"/groups/{group_id}/followers/{ids['LOCKED-1']}/lock", {"reason": "daily loss limit"})
    out(f"{ids['LOCKED-1']} is locked while long; the leader moves its stop to 21425")
    _send(client, group_id, token, samples.order_modified(f"A2-move{suffix}", "A2-sl", stop_price=21425))
    out("the leader's take-profit fills at 21500")
    fill = samples.order_filled(f"A2-tp{suffix}", "A2-tp", qty=1, price=21500, side="sell", position_after=0)
    _send(client, group_id, token, fill)

    rows: list[tuple[str, ...]] = [("account", "order", "symbol", "side", "qty", "type", "price", "status")]
    problems = []
    for name, _ in ACT_TWO:
        account = ids[name]
        for order in reversed(client.ok("GET", f"/accounts/{account}/orders")["orders"]):
            price = order.get("limit_price") or order.get("stop_price") or "-"
            role = order.get("leg") or "entry"
            rows.append(
                (
                    account,
                    role,
                    order["symbol"],
                    order["side"],
                    str(order["qty"]),
                    order["order_type"],
                    str(price),
                    order["status"],
                )
            )
        held = [p for p in client.ok("GET", f"/accounts/{account}/positions")["positions"] if p["qty"]]
        if held:
            problems.append(f"{account} still holds {held}")
    out("")
    _print_table(rows, out)
    if client.ok("GET", f"/accounts/{leader}/orders")["orders"]:
        problems.append(f"the leader {leader} has orders")
    out(f"\nfinal positions: all flat; leader {leader}: no orders (untouched)" if not problems else "")
    if problems:
        raise DemoError("act two is not as expected: " + "; ".join(problems) + ".")


# --- act three: the risk engine and preview -------------------------------------------------------

ACT_THREE: list[tuple[str, dict[str, Any]]] = [
    ("RISK-1", {"risk": {"daily_loss_limit": 500, "max_position": 3}}),
    ("PLAIN-1", {}),
]


def _positions(client: Client, account: str) -> dict[str, int]:
    """The account's open positions (symbol → signed qty)."""
    held = client.ok("GET", f"/accounts/{account}/positions")["positions"]
    return {p["symbol"]: p["qty"] for p in held if p["qty"]}


def _held_text(held: dict[str, int]) -> str:
    return ", ".join(f"{symbol} {qty:+d}" for symbol, qty in held.items()) or "flat"


def _check(problems: list[str], ok: bool, problem: str) -> None:
    if not ok:
        problems.append(problem)


def _raise_if(problems: list[str], step: str) -> None:
    if problems:
        raise DemoError(f"act three, {step}, is not as expected: " + "; ".join(problems) + ".")


def _copy_rows(client: Client, copies: dict[str, Any], ids: dict[str, str]) -> list[tuple[str, ...]]:
    """A table of each follower's copy (or preview answer: its action instead of the broker order)
    and its position now."""
    rows: list[tuple[str, ...]] = [("account", "status", "action/order", "qty", "reason", "position")]
    for account in ids.values():
        copy = copies.get(account, {})
        rows.append(
            (
                account,
                copy.get("status", "-"),
                copy.get("action") or copy.get("broker_order_id") or "-",
                "-" if copy.get("qty") is None else str(copy["qty"]),
                copy.get("reason") or "-",
                _held_text(_positions(client, account)),
            )
        )
    return rows


def _expect_copy(
    problems: list[str], copy: dict[str, Any] | None, account: str, qty: int, reason: str
) -> None:
    """A placed copy (or a preview's ``place``) of ``qty``, its reason starting with ``reason`` ("" for
    none)."""
    if copy is None:
        problems.append(f"{account} has no copy")
        return
    got = (copy["status"], copy.get("qty"), copy.get("reason") or "")
    _check(
        problems, got[:2] == ("placed", qty), f"{account} is {got[0]} qty {got[1]} (expected placed {qty})"
    )
    _check(
        problems,
        got[2].startswith(reason) and bool(got[2]) == bool(reason),
        f"{account}'s reason is {got[2]!r}",
    )


def _preview_changes_nothing(
    client: Client, group_id: str, ids: dict[str, str], entry: dict[str, Any], out: Any
) -> None:
    """(a) the preview of the leader's buy: RISK-1 capped to 3, PLAIN-1 4; nothing placed."""
    body = {key: value for key, value in entry.items() if key != "event_id"}
    out("(a) preview of a leader buy of 4 NQZ6 (POST /groups/{id}/preview): what each follower would do")
    answer = {c["account_id"]: c for c in client.ok("POST", f"/groups/{group_id}/preview", body)["copies"]}
    _print_table(_copy_rows(client, answer, ids), out)
    problems: list[str] = []
    _expect_copy(problems, answer.get(ids["RISK-1"]), ids["RISK-1"], 3, "risk: max_position")
    _expect_copy(problems, answer.get(ids["PLAIN-1"]), ids["PLAIN-1"], 4, "")
    actions = {account: copy.get("action") for account, copy in answer.items()}
    _check(problems, set(actions.values()) == {"place"}, f"the actions are {actions}")
    for account in ids.values():
        orders = client.ok("GET", f"/accounts/{account}/orders")["orders"]
        _check(problems, not orders and not _positions(client, account), f"the preview placed on {account}")
    _raise_if(problems, "the preview")
    out("nothing placed: every follower still flat, no orders")


def _wait_locked(client: Client, group_id: str, account: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        follower: dict[str, Any] = client.ok("GET", f"/groups/{group_id}/followers/{account}")
        if follower["state"] == "locked":
            return follower
        if time.monotonic() > deadline:
            raise DemoError(f"{account} is {follower['state']}, not locked, after {WAIT_SECONDS:.0f} s.")
        time.sleep(0.2)


def _next_session_start(now: datetime) -> datetime:
    """The first 17:00 America/Chicago after ``now`` (when a daily loss lock lifts)."""
    local = now.astimezone(CHICAGO)
    opens = local.replace(hour=17, minute=0, second=0, microsecond=0)
    if opens <= local:
        opens = (local + timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
    return opens.astimezone(UTC)


def _breach_problems(client: Client, group_id: str, ids: dict[str, str], out: Any) -> list[str]:
    """(c) after the mark: RISK-1 locked until the next session and flat, PLAIN-1 active and long 4."""
    risky, plain = ids["RISK-1"], ids["PLAIN-1"]
    locked = _wait_locked(client, group_id, risky)
    until = datetime.fromisoformat(locked["locked_until"]) if locked.get("locked_until") else None
    rows: list[tuple[str, ...]] = [
        ("account", "state", "lock reason", "locked until", "session P&L", "limit", "position")
    ]
    followers = {a: client.ok("GET", f"/groups/{group_id}/followers/{a}") for a in ids.values()}
    for account, follower in followers.items():
        status, risk = follower.get("risk_status") or {}, follower.get("risk") or {}
        rows.append(
            (
                account,
                follower["state"],
                follower.get("lock_reason") or "-",
                follower.get("locked_until") or "-",
                "-" if status.get("session_pnl") is None else f"{status['session_pnl']:.2f}",
                "-" if risk.get("daily_loss_limit") is None else f"{risk['daily_loss_limit']:.2f}",
                _held_text(_positions(client, account)),
            )
        )
    _print_table(rows, out)
    problems: list[str] = []
    reason = locked.get("lock_reason") or ""
    _check(problems, reason.startswith("risk: daily loss limit"), f"{risky}'s lock reason is {reason!r}")
    want = _next_session_start(datetime.now(UTC))
    _check(problems, until == want, f"{risky} is locked until {until} (expected {want.isoformat()})")
    _check(problems, not _positions(client, risky), f"{risky} is not flat")
    _check(problems, followers[plain]["state"] == "active", f"{plain} is {followers[plain]['state']}")
    _check(problems, _positions(client, plain) == {"NQZ6": 4}, f"{plain} is not long 4 NQZ6")
    return problems


def act_three(client: Client, out: Any = print) -> None:
    """The risk engine and preview. RISK-1 (daily loss limit 500, max position 3) and PLAIN-1 (no
    rules) follow a leader: (a) a preview of a buy of 4 says RISK-1 would be capped to 3 and places
    nothing; (b) the buy at 21000 copies 3 and 4; (c) a leader fill at 20900 marks NQZ6 there (RISK-1
    -6000, past its -500): it is flattened and locked until the next 17:00 Chicago session, PLAIN-1
    keeps its 4; (d) the leader flattens: PLAIN-1 exits, RISK-1 (already flat) stays flat."""
    suffix, leader, ids, group_id, token = _paper_group(client, "Act three", "FUNDED-3", ACT_THREE)
    risky, plain = ids["RISK-1"], ids["PLAIN-1"]
    out(f"\nact three: group {group_id}, leader {leader}; {risky} daily loss limit 500 + max position 3,")
    out(f"{plain} without rules")
    entry = samples.market(f"A3-entry{suffix}", "A3", qty=4, price=21000)
    _preview_changes_nothing(client, group_id, ids, entry, out)

    out("\n(b) the leader buys 4 NQZ6 at market at 21000")
    copies = _send(client, group_id, token, entry, followers=len(ids))
    _print_table(_copy_rows(client, copies, ids), out)
    problems: list[str] = []
    _expect_copy(problems, copies.get(risky), risky, 3, "risk: max_position")
    _expect_copy(problems, copies.get(plain), plain, 4, "")
    _raise_if(problems, "the entry")

    out("\n(c) a leader fill at 20900 marks NQZ6 there: RISK-1 is at 3 x -100 pts x $20 = -6000")
    mark = samples.order_filled(f"A3-mark{suffix}", "A3-mark", qty=1, price=20900)
    _send(client, group_id, token, mark, followers=len(ids))
    _raise_if(_breach_problems(client, group_id, ids, out), "the breach")

    out("\n(d) the leader flattens NQZ6")
    copies = _send(
        client, group_id, token, samples.position_flattened(f"A3-flat{suffix}"), followers=len(ids)
    )
    _print_table(_copy_rows(client, copies, ids), out)
    for account in ids.values():
        copy = copies.get(account) or {"status": "missing"}
        _check(problems, copy["status"] in ("placed", "skipped"), f"{account}'s exit is {copy['status']}")
        _check(problems, not _positions(client, account), f"{account} is not flat")
    _check(
        problems,
        not client.ok("GET", f"/accounts/{leader}/orders")["orders"],
        f"the leader {leader} has orders",
    )
    _raise_if(problems, "the flatten")
    out(f"\nfinal positions: all flat; leader {leader}: no orders (untouched)")


def main() -> int:
    port = os.environ.get("PORT", "3000")
    base = f"http://127.0.0.1:{port}"
    try:
        with ExitStack() as stack:
            if healthy(base):
                print(f"using the running stack at {base}", flush=True)
            else:
                from devstack.stack import LocalStack, StackError

                print(f"no stack answers at {base}: starting one (python -m devstack)...", flush=True)
                devnull = stack.enter_context(open(os.devnull, "wb"))
                local = LocalStack(port=0, mode="subprocess", subprocess_output=devnull)
                try:
                    stack.enter_context(local)
                except StackError as exc:
                    raise DemoError(f"the local stack did not start: {exc}") from exc
                base = local.api_url
                print(f"local stack ready at {base} (stopped at the end)", flush=True)
            run(Client(base))
            act_two(Client(base))
            act_three(Client(base))
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"demo failed: the stack could not be reached ({exc}).", file=sys.stderr)
        return 1
    print(
        "\ndemo OK: each follower sized by its own multiplier, the locked one skipped, brackets copied"
        " (mapped, inverse, a locked follower still exiting), risk rules capping and locking (the preview"
        " placing nothing), the leader untouched."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
