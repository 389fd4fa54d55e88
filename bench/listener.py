"""Bench part ``listener``: the trader's figure — a leader order placed in the (fake) broker → every
follower's copy accepted by the (fake) broker — next to the webhook path with the same followers.

Setup: the local stack with its leader listener on (``LocalStack(listener=True)``: ``python -m
listener`` in a process of its own, as ``make dev`` runs it) and the fake Tradovate (REST + user-sync
websocket) in another process (``bench.leaderfake``). Per follower count N, two groups:

- **listener**: the leader is a Tradovate user of the fake (``broker: tradovate``, its credentials
  stored); the bench is the trader's platform, logged in as that user over the fake's REST API (its
  own session; the listener holds the other), and places a market order with ``order/placeorder``.
  Latency = the moment the fake placed the last follower's copy − the moment ``placeorder``
  returned. Path: fake → user-sync frame → listener → ingest → SNS → SQS → executor → fake.
- **webhook**: a paper leader; ``POST /groups/{g}/events`` with the same market order, as
  TradingView would. Latency = the last follower's copy placed at the fake − the POST sent (the
  e2e part's start).

In both groups the N followers are fake Tradovate accounts, each of its own user (``broker:
tradovate``). A follower's copy is recognised at the fake by its client order id
(``domain.decide.client_order_id`` of the group, the event id and the account; the listener's
event id of an order is ``tv-{orderId}-placed``), stamped by the fake when the placement is done:
never through the copier's API, and no polling sets the figure. Pacing only: the next event waits
until every copy of this one (and of the leader's fill event, which the listener also hands over)
is final in DynamoDB, then ``gap``. Listener and webhook events alternate, so both see the same
machine; the leader's position goes 2, 1, 2, 1, … (first order buys 2, then sell 1 / buy 1), never
flat, so no ``position.flattened`` event is mixed in. A few warm-up events per path are dropped.
"""

from __future__ import annotations

import pathlib
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.e2e import Api, _copies
from bench.leaderfake import LeaderFake, login_body
from bench.stats import summary

Log = Callable[[str], None]
REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
PATHS = ("listener", "webhook")


@dataclass
class Samples:
    latency_ms: list[float] = field(default_factory=list)
    missed: int = 0  # events without a figure: a copy not placed (its status says why) or too late
    statuses: dict[str, int] = field(default_factory=dict)


@dataclass
class Group:
    group_id: str
    followers: list[str]
    token: str = ""


@dataclass
class Platform:
    """The trader's platform: a keep-alive connection to the fake's REST API as the leader user."""

    api: Api
    headers: dict[str, str]
    account: dict[str, Any]
    symbol: str
    placeorder_ms: list[float] = field(default_factory=list)

    @classmethod
    def login(cls, fake: LeaderFake, user: str) -> Platform:
        api = Api(fake.rest)
        status, token = api.call("POST", "/v1/auth/accesstokenrequest", login_body(user))
        assert status == 200 and "accessToken" in token, token
        headers = {"Authorization": f"Bearer {token['accessToken']}"}
        status, accounts = api.call("GET", "/v1/account/list", headers=headers)
        assert status == 200, accounts
        return cls(api, headers, accounts[0], fake.symbol)

    def place(self, side: str, qty: int) -> tuple[int, float]:
        """``order/placeorder`` (market); the broker's order id and the moment the call returned."""
        body = {
            "accountSpec": self.account["name"],
            "accountId": self.account["id"],
            "action": side.capitalize(),
            "symbol": self.symbol,
            "orderQty": qty,
            "orderType": "Market",
            "isAutomated": False,
        }
        sent = time.time()
        status, answer = self.api.call("POST", "/v1/order/placeorder", body, self.headers)
        returned = time.time()
        assert status == 200 and "orderId" in answer, answer
        self.placeorder_ms.append((returned - sent) * 1000)
        return int(answer["orderId"]), returned


@dataclass
class Stage:
    """What one follower count's run needs: the stack's API and table, the fake, both groups."""

    api: Api
    ddb: Any
    table: str
    fake: LeaderFake
    listener: Group
    webhook: Group
    platform: Platform
    timeout_s: float
    paths: dict[str, Samples] = field(default_factory=lambda: {name: Samples() for name in PATHS})
    warmup: dict[str, Samples] = field(default_factory=lambda: {name: Samples() for name in PATHS})


def _order_ids(group: Group, event_id: str) -> list[str]:
    """The client order ids the copier sends with each follower's copy of ``event_id``."""
    layer = str(REPO_ROOT / "layers" / "common")
    if layer not in sys.path:
        sys.path.append(layer)  # the copier's pure domain code, for its deterministic id only
    from tradecopier.domain.decide import client_order_id

    return [client_order_id(group.group_id, event_id, account) for account in group.followers]


def _settle(stage: Stage, group: Group, event_ids: list[str], path: Samples) -> None:
    """Wait until every copy of these events is final (pacing), counting their statuses."""
    deadline = time.monotonic() + stage.timeout_s
    pending = list(event_ids)
    while pending and time.monotonic() < deadline:
        copies = _copies(stage.ddb, stage.table, group.group_id, pending[0])
        if copies is None or any(c["status"] == "pending" for c in copies):
            time.sleep(0.05)
            continue
        pending.pop(0)
        for copy in copies:
            path.statuses[copy["status"]] = path.statuses.get(copy["status"], 0) + 1
    if pending:
        path.statuses["not_final"] = path.statuses.get("not_final", 0) + len(pending)


def _placed_at(stage: Stage, group: Group, event_id: str) -> list[float] | None:
    """When the fake placed each follower's copy of ``event_id``; None when a copy ended otherwise
    (skipped, rejected: seen in DynamoDB, checked every 0.5 s) or not in time."""
    ids = _order_ids(group, event_id)
    deadline = time.monotonic() + stage.timeout_s
    while (left := deadline - time.monotonic()) > 0:
        placed = stage.fake.wait_placed(ids, timeout=min(0.5, left))
        if placed is not None:
            return placed
        copies = _copies(stage.ddb, stage.table, group.group_id, event_id)
        if (
            copies
            and all(c["status"] != "pending" for c in copies)
            and any(c["status"] != "placed" for c in copies)
        ):
            return None
    return None


def _listener_event(stage: Stage, side: str, qty: int, path: Samples) -> None:
    """One leader order at the fake; ``path``: where its figures go (a scratch one while warming up)."""
    order_id, returned = stage.platform.place(side, qty)
    event_id = f"tv-{order_id}-placed"
    placed = _placed_at(stage, stage.listener, event_id)
    fill = stage.fake.wait_fill(order_id, stage.timeout_s)
    if placed is None:
        path.missed += 1
    else:
        path.latency_ms.append((max(placed) - returned) * 1000)
    fills = [] if fill is None else [f"tv-{order_id}-f{fill}"]
    _settle(stage, stage.listener, [event_id, *fills], path)


def _webhook_event(stage: Stage, side: str, qty: int, path: Samples) -> None:
    """One leader event POSTed to ingest, the same order; ``path`` as above."""
    from devstack.samples import market

    group = stage.webhook
    event_id = f"w-{uuid.uuid4().hex[:12]}"
    body = market(event_id, qty=qty, side=side, symbol=stage.fake.symbol)
    sent = time.time()
    status, _ = stage.api.call(
        "POST", f"/groups/{group.group_id}/events", body, {"X-Webhook-Token": group.token}
    )
    if status != 202:  # e.g. 500 when ingest timed out on a starved machine: no figure, say why
        path.missed += 1
        path.statuses[f"ingest_{status}"] = path.statuses.get(f"ingest_{status}", 0) + 1
        return
    placed = _placed_at(stage, group, event_id)
    if placed is None:
        path.missed += 1
    else:
        path.latency_ms.append((max(placed) - sent) * 1000)
    _settle(stage, group, [event_id], path)


def _wait(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _group(api: Api, fake: LeaderFake, n: int, tag: str, kind: str) -> Group:
    """A group (the listener's: a Tradovate leader at the fake; the webhook's: a paper leader) with
    ``n`` followers, each a fake Tradovate account of its own user."""
    leader: dict[str, Any] = {"account_id": f"{kind[0].upper()}L{n}-{tag}"}
    if kind == "listener":
        credentials = fake.add_user(f"lead{n}x{tag}")
        status, body = api.call("PUT", f"/accounts/{leader['account_id']}/credentials", credentials)
        assert status == 200, body
        leader["broker"] = "tradovate"
    status, body = api.call("POST", "/groups", {"name": f"bench {kind} {n}", "leader": leader})
    assert status == 201, body
    group = Group(body["group_id"], [], body.get("webhook_token", ""))
    for i in range(n):
        account = f"{kind[0].upper()}F{n}-{tag}-{i:03d}"
        credentials = fake.add_user(f"{kind[0]}f{n}x{tag}x{i}")
        status, body = api.call("PUT", f"/accounts/{account}/credentials", credentials)
        assert status == 200, body
        status, body = api.call(
            "POST", f"/groups/{group.group_id}/followers", {"account_id": account, "broker": "tradovate"}
        )
        assert status == 201, body
        group.followers.append(account)
        # As the trader checks each account after storing it (README): the first login is done
        # here, and the executors find the shared token instead of racing for it.
        status, body = api.call("GET", f"/accounts/{account}/connection")
        assert status == 200 and body["status"] == "connected", body
    return group


def _run_n(
    stack: Any, api: Api, fake: LeaderFake, n: int, events: int, warmup: int, gap_s: float, say: Log
) -> Stage:
    t0 = time.monotonic()
    tag = uuid.uuid4().hex[:6]
    listener, webhook = _group(api, fake, n, tag, "listener"), _group(api, fake, n, tag, "webhook")
    platform = Platform.login(fake, f"lead{n}x{tag}")
    # The listener re-reads the groups every 5 s: its stream of the new leader is then synced.
    _wait(lambda: fake.synced() == 1, "the listener's stream of the leader", timeout=60)
    say(
        f"[bench] listener n={n}: groups, followers and the leader's stream ready: "
        f"{time.monotonic() - t0:.1f} s"
    )
    stage = Stage(
        api, stack.client("dynamodb"), stack.tables["CopierTable"], fake, listener, webhook, platform, 30.0
    )
    t0 = time.monotonic()
    try:
        for index in range(warmup + events):
            side, qty = ("buy", 2) if index == 0 else (("sell", 1) if index % 2 else ("buy", 1))
            paths = stage.paths if index >= warmup else stage.warmup
            _listener_event(stage, side, qty, paths["listener"])
            time.sleep(gap_s)
            _webhook_event(stage, side, qty, paths["webhook"])
            time.sleep(gap_s)
    finally:
        for group in (listener, webhook):
            api.call("DELETE", f"/groups/{group.group_id}")
        _wait(lambda: fake.synced() == 0, "the listener to drop the deleted leader", timeout=60)
    missed = {name: p.missed for name, p in stage.paths.items()}
    say(
        f"[bench] listener n={n}: {events} events per path in {time.monotonic() - t0:.1f} s (missed {missed})"
    )
    return stage


def run(
    followers: list[int], events: int, warmup: int = 5, gap_s: float = 0.02, log: Log | None = None
) -> dict[str, Any]:
    from bench import proctree
    from devstack.stack import LocalStack

    say: Log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    started = time.monotonic()

    def stack_out(line: str) -> None:
        if not line.startswith(("[http]", "[esm] polling", "[esm] stopped")):
            say(line)

    stages: dict[int, Stage] = {}
    with (
        LeaderFake() as fake,
        LocalStack(
            port=0, print_requests=False, print_copies=False, out=stack_out, keep_logs=False, listener=True
        ) as stack,
    ):
        waited = proctree.settle()
        say(
            f"[bench] listener: local stack and fake Tradovate ready in {time.monotonic() - started:.1f} s "
            f"(settled {waited:.1f} s)"
        )
        api = Api(stack.api_url)
        for n in followers:
            stages[n] = _run_n(stack, api, fake, n, events, warmup, gap_s, say)
    return {"listener_ms": _figures(stages), "listener_seconds": round(time.monotonic() - started, 1)}


def _figures(stages: dict[int, Stage]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n, stage in stages.items():
        out[f"n{n}"] = {
            **{name: summary(path.latency_ms) for name, path in stage.paths.items()},
            "events": {name: len(path.latency_ms) for name, path in stage.paths.items()},
            "missed": {name: path.missed for name, path in stage.paths.items()},
            "copy_statuses": {name: path.statuses for name, path in stage.paths.items()},
            "placeorder_ms": summary(stage.platform.placeorder_ms),
            # The dropped first events (first logins, cold executor environments), for the record.
            "warmup_ms": {name: [round(x, 1) for x in p.latency_ms] for name, p in stage.warmup.items()},
            "warmup_statuses": {name: p.statuses for name, p in stage.warmup.items()},
        }
    return out


def markdown(results: dict[str, Any]) -> str:
    figures = results.get("listener_ms")
    if not figures:
        return ""
    lines = [
        "",
        "## The trader's figure: leader order placed at the broker → every follower's order at the broker",
        "",
        "| followers | events | listener p50 | p95 | p99 | webhook p50 | p95 | p99 | listener − webhook p50 "
        "| missed (listener / webhook) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, row in figures.items():
        lst, web = row["listener"], row["webhook"]
        lines.append(
            f"| {key[1:]} | {row['events']['listener']} "
            f"| {lst['p50']:.1f} | {lst['p95']:.1f} | {lst['p99']:.1f} "
            f"| {web['p50']:.1f} | {web['p95']:.1f} | {web['p99']:.1f} | {lst['p50'] - web['p50']:.1f} "
            f"| {row['missed']['listener']} / {row['missed']['webhook']} |"
        )
    lines += [
        "",
        "Milliseconds, local stack with its listener process and the fake Tradovate (REST + user-sync "
        "websocket) in a process of its own; followers are fake Tradovate accounts, one user each. "
        "Listener: from the platform's `order/placeorder` returning to the fake placing the last "
        "follower's copy. Webhook: `POST /groups/{id}/events` sent → the same, same follower count. "
        "Missed: events without a figure (a copy not placed within 30 s, or skipped — e.g. `stale:` "
        "after a retry; `copy_statuses` in results.json). `bench/listener.py`.",
        "",
    ]
    return "\n".join(lines) + "\n"
