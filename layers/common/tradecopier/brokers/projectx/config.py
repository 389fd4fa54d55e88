"""Where and as whom the adapter logs in (from the stored credentials), and its timings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from tradecopier.brokers.base import BrokerRejected
from tradecopier.brokers.credentials import BrokerCredentials

# §1: the only built-in verified gateway (other firms' hosts are unverified: api_url is required).
TOPSTEPX_URL = "https://api.topstepx.com"

# §2: tokens live 24 h; validate well ahead (a renewal that fails falls back to one login).
TOKEN_LIFETIME = timedelta(hours=24)
RENEW_AHEAD = timedelta(hours=2)
# After a placement timed out once sent, wait this long before looking it up: a request still in
# flight can land after the lookup (the fake's "timeout" fault applies it late).
TIMEOUT_SETTLE_S = 1.5
# ``Order/search`` needs a start (§3.6): how far back a lookup by customTag reaches. A copy is
# retried within minutes (SQS); orders older than this are not looked at.
LOOKBACK = timedelta(days=3)


def default_rtc_url(api_url: str) -> str:
    """API.md: the same host with ``api`` replaced by ``rtc``, path ``/hubs/user``."""
    parts = urlsplit(api_url)
    host = parts.netloc
    host = "rtc" + host[3:] if host.startswith("api") else host
    return urlunsplit((parts.scheme, host, "/hubs/user", "", ""))


@dataclass(frozen=True, slots=True)
class ProjectXConfig:
    rest_url: str
    rtc_url: str
    username: SecretStr
    api_key: SecretStr
    broker_account: str
    timeout_settle_s: float = TIMEOUT_SETTLE_S

    @classmethod
    def from_credentials(cls, credentials: BrokerCredentials) -> ProjectXConfig:
        missing = [
            name
            for name, value in (
                ("username", credentials.username),
                ("api_key", credentials.api_key),
                ("broker_account", credentials.broker_account),
            )
            if not value
        ]
        if missing or credentials.username is None or credentials.api_key is None:
            raise BrokerRejected(f"projectx credentials lack {', '.join(missing)}")
        base = (credentials.api_url or TOPSTEPX_URL).rstrip("/")
        return cls(
            rest_url=base,
            rtc_url=credentials.rtc_url or default_rtc_url(base),
            username=credentials.username,
            api_key=credentials.api_key,
            broker_account=credentials.broker_account or "",
        )

    @property
    def user_key(self) -> tuple[str, ...]:
        """Who the token belongs to (with a fingerprint of the secrets: changed credentials log in anew)."""
        fingerprint = hashlib.sha256(
            "\0".join(s.get_secret_value() for s in (self.username, self.api_key)).encode()
        ).hexdigest()
        return ("projectx", self.rest_url, fingerprint)
