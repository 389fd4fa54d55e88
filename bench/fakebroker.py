"""A fake broker in a process of its own for the bench (``python -m bench.fakebroker projectx``):
its CPU must not count as the executor's. Seeds one demo user and account, prints one JSON line
``{"credentials": <PUT body>, "symbol": <the NQ front month at that broker>}`` and serves until its
stdin closes (the parent's ``with fake_broker(...)`` ends)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BROKERS = ("paper", "projectx", "tradovate")


def _serve(broker: str) -> tuple[Any, dict[str, Any], str]:
    if broker == "projectx":
        from devstack.brokers import projectx

        px = projectx.FakeProjectX()
        px.rate_limit = 1_000_000  # the bench measures the copier, not the broker's throttle
        seeded = projectx.seed_demo(px, "bench", "bench-key")
        url = px.start()
        body = {
            "broker": "projectx",
            "api_url": url,
            "username": "bench",
            "api_key": "bench-key",
            "broker_account": str(px.account(seeded["accountId"])["name"]),
        }
        front = px.contract_id("NQ")
        name = next(name for contract_id, name, _ in projectx.iter_contracts(px) if contract_id == front)
        return px, body, name
    from devstack.brokers import tradovate

    tv = tradovate.FakeTradovate()
    tv.user_limits = (1_000_000_000, None)  # as for ProjectX: not the broker's 5,000 requests an hour
    seeded = tradovate.seed_demo(tv)
    url = tv.start()
    symbol = str(tv.contract("NQ")["name"])
    tv.set_market_price(symbol, 21000.25)
    login = seeded["credentials"]
    body = {
        "broker": "tradovate",
        "api_url": url,
        "username": login["name"],
        "password": login["password"],
        "app_id": login["appId"],
        "cid": login["cid"],
        "sec": login["sec"],
        "broker_account": seeded["account"]["name"],
    }
    return tv, body, symbol


def main(argv: list[str] | None = None) -> int:
    broker = (argv if argv is not None else sys.argv[1:])[0]
    server, body, symbol = _serve(broker)
    print(json.dumps({"credentials": body, "symbol": symbol}), flush=True)
    sys.stdin.read()  # until the parent closes it
    server.stop()
    return 0


@contextmanager
def fake_broker(broker: str) -> Iterator[dict[str, Any]]:
    """``{"credentials", "symbol"}`` of a fake ``broker`` served by a child process."""
    import subprocess

    child = subprocess.Popen(
        [sys.executable, "-m", "bench.fakebroker", broker],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake {broker} did not start")
        yield dict(json.loads(line))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    sys.exit(main())
