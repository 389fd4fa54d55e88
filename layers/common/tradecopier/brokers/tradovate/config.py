"""Where and as whom the adapter logs in (from the stored credentials), and its timings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from pydantic import SecretStr

from tradecopier.brokers.base import BrokerRejected
from tradecopier.brokers.credentials import BrokerCredentials

# §1 Hosts
REST_URLS = {"demo": "https://demo.tradovateapi.com/v1", "live": "https://live.tradovateapi.com/v1"}
WS_URLS = {
    "demo": "wss://demo.tradovateapi.com/v1/websocket",
    "live": "wss://live.tradovateapi.com/v1/websocket",
}

# §2.2: renew about 15 min before expiry (token lives 80 or 90 min: the response says).
RENEW_AHEAD = timedelta(minutes=15)
# §4.2: a penalty (p-ticket) shorter than this is waited out inline and the request resent with
# the ticket; a longer one is left to SQS (the copy is retried later, after a lookup).
MAX_INLINE_PENALTY_S = 3.0
# After a placement timed out once sent, wait this long before looking it up: a request still in
# flight can land after the lookup (the fake's "timeout" fault applies it late).
TIMEOUT_SETTLE_S = 1.5


def rest_url(environment: str | None, api_url: str | None) -> str:
    return (api_url or REST_URLS.get(environment or "demo", REST_URLS["demo"])).rstrip("/")


@dataclass(frozen=True, slots=True)
class TradovateConfig:
    rest_url: str
    ws_url: str
    username: SecretStr
    password: SecretStr
    app_id: str
    app_version: str
    cid: SecretStr
    sec: SecretStr
    device_id: str
    broker_account: str
    credentials_version: str = ""  # the credentials' stored_at: a refused login is held per version
    max_inline_penalty_s: float = MAX_INLINE_PENALTY_S
    timeout_settle_s: float = TIMEOUT_SETTLE_S

    @classmethod
    def from_credentials(cls, credentials: BrokerCredentials) -> TradovateConfig:
        cid = credentials.cid or credentials.client_id
        sec = credentials.sec or credentials.api_secret
        missing = [
            name
            for name, value in (
                ("username", credentials.username),
                ("password", credentials.password),
                ("app_id", credentials.app_id),
                ("cid", cid),
                ("sec", sec),
                ("broker_account", credentials.broker_account),
            )
            if not value
        ]
        if (
            missing
            or cid is None
            or sec is None
            or credentials.username is None
            or credentials.password is None
        ):
            raise BrokerRejected(f"tradovate credentials lack {', '.join(missing)}")
        environment = credentials.environment or "demo"
        base = rest_url(environment, credentials.api_url)
        ws = credentials.ws_url or (
            base.replace("https:", "wss:").replace("http:", "ws:") + "/websocket"  # CS-WS (§1)
            if credentials.api_url
            else WS_URLS.get(environment, WS_URLS["demo"])
        )
        username = credentials.username
        # A stable deviceId per user (enforced live, lax on demo, §2.1); the official robot hashes
        # platform + username with sha256 (STRAT-auth).
        device_id = (
            credentials.device_id
            or hashlib.sha256(f"tradecopier:{username.get_secret_value()}".encode()).hexdigest()[:64]
        )
        return cls(
            rest_url=base,
            ws_url=ws,
            username=username,
            password=credentials.password,
            app_id=credentials.app_id or "",
            app_version=credentials.app_version or "1.0",
            cid=cid,
            sec=sec,
            device_id=device_id,
            broker_account=credentials.broker_account or "",
            credentials_version=credentials.stored_at or "",
        )

    @property
    def user_key(self) -> tuple[str, ...]:
        """Who the token belongs to (with a fingerprint of the secrets: changed credentials log in anew)."""
        fingerprint = hashlib.sha256(
            "\0".join(
                s.get_secret_value() for s in (self.username, self.password, self.cid, self.sec)
            ).encode()
        ).hexdigest()
        return ("tradovate", self.rest_url, fingerprint)
