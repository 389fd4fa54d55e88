"""``python -m devstack --fake-brokers`` (``make dev FAKES=1``): the doc-faithful fake brokers beside
the local stack, on fixed local ports, each seeded with one demo user and account, and the
credentials body to PUT on ``/accounts/{id}/credentials`` for a follower (or leader) on it.

- fake ProjectX Gateway (REST) on ``PROJECTX_PORT`` and its user hub (SignalR over a websocket,
  ``devstack/brokers/projectx_hub.py``) on ``PROJECTX_HUB_PORT`` (the listener follows a ProjectX
  leader through it: the body carries it as ``rtc_url``);
- fake Tradovate REST on ``TRADOVATE_PORT`` and its user-sync websocket on ``TRADOVATE_WS_PORT``
  (the listener follows a Tradovate leader through it).

Test infrastructure and a demo aid: nothing here is deployed (websockets is a dev dependency).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.brokers.projectx import FakeProjectX
    from devstack.brokers.projectx_hub import FakeProjectXHub
    from devstack.brokers.tradovate import FakeTradovate
    from devstack.brokers.tradovate_ws import FakeTradovateSocket

PROJECTX_PORT = 8711
TRADOVATE_PORT = 8712
TRADOVATE_WS_PORT = 8713
PROJECTX_HUB_PORT = 8714
PROJECTX_API_KEY = "demo-api-key"  # fixed, so the walk-through in the README works as written


@dataclass
class FakeBrokers:
    host: str = "127.0.0.1"
    projectx_port: int = PROJECTX_PORT
    tradovate_port: int = TRADOVATE_PORT
    tradovate_ws_port: int = TRADOVATE_WS_PORT
    projectx_hub_port: int = PROJECTX_HUB_PORT
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)  # broker -> PUT body
    urls: dict[str, str] = field(default_factory=dict)
    _projectx: FakeProjectX | None = None
    _hub: FakeProjectXHub | None = None
    _tradovate: FakeTradovate | None = None
    _socket: FakeTradovateSocket | None = None

    def start(self) -> None:
        from devstack.brokers import projectx, tradovate
        from devstack.brokers.projectx_hub import FakeProjectXHub
        from devstack.brokers.tradovate_ws import FakeTradovateSocket

        try:
            self._projectx = projectx.FakeProjectX(host=self.host)
            px = projectx.seed_demo(self._projectx, "demo", PROJECTX_API_KEY)
            self.urls["projectx"] = self._projectx.start(self.projectx_port)
            self._hub = FakeProjectXHub(self._projectx)
            self.urls["projectx_hub"] = self._hub.start(self.projectx_hub_port, self.host)
            self._tradovate = tradovate.FakeTradovate()
            tv = tradovate.seed_demo(self._tradovate)
            self.urls["tradovate"] = self._tradovate.start(self.tradovate_port, self.host)
            self._socket = FakeTradovateSocket(self._tradovate)
            self.urls["tradovate_ws"] = self._socket.start(self.tradovate_ws_port, self.host)
        except BaseException:
            self.stop()
            raise
        self.credentials["projectx"] = {
            "broker": "projectx",
            "api_url": self.urls["projectx"],
            "rtc_url": self.urls["projectx_hub"],
            "username": px["userName"],
            "api_key": px["apiKey"],
            "broker_account": px_account_name(self._projectx, px["accountId"]),
        }
        login = tv["credentials"]
        self.credentials["tradovate"] = {
            "broker": "tradovate",
            "api_url": self.urls["tradovate"],
            "ws_url": self.urls["tradovate_ws"],
            "username": login["name"],
            "password": login["password"],
            "app_id": login["appId"],
            "cid": login["cid"],
            "sec": login["sec"],
            "broker_account": tv["account"]["name"],
        }

    @property
    def projectx(self) -> FakeProjectX:
        """The running fake ProjectX gateway (its hub serves the same accounts)."""
        if self._projectx is None:
            raise RuntimeError("not started")
        return self._projectx

    @property
    def projectx_hub(self) -> FakeProjectXHub:
        if self._hub is None:
            raise RuntimeError("not started")
        return self._hub

    def stop(self) -> None:
        for server in (self._socket, self._tradovate, self._hub, self._projectx):
            if server is not None:
                server.stop()
        self._socket = self._tradovate = self._hub = self._projectx = None

    def summary(self) -> str:
        """The fakes' URLs and a ready-to-paste credentials body for each (demo secrets only)."""
        lines = ["  fake brokers (demo data; PUT a body on /accounts/{id}/credentials):"]
        for broker, label in (("projectx", "ProjectX"), ("tradovate", "Tradovate")):
            where = self.urls[broker]
            if broker == "tradovate":
                where += f"  (user sync {self.urls['tradovate_ws']})"
            else:
                where += f"  (user hub {self.urls['projectx_hub']})"
            lines.append(f"    {label}: {where}")
            lines.append(f"      {json.dumps(self.credentials[broker])}")
        return "\n".join(lines)


def px_account_name(fake: FakeProjectX, account_id: int) -> str:
    return str(fake.account(account_id)["name"])
