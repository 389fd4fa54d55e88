"""Access tokens of the real brokers, cached per execution environment and per broker user.

A broker user's token is shared by every adapter of this environment that logs in as that user
(Tradovate allows two sessions per user and a third login closes the oldest; failed logins are
rate-limited per IP), renewed ahead of its expiry, and dropped on a 401 so the next call logs in
once anew. One lock per user: concurrent callers wait for one login instead of each logging in.

Not yet shared across execution environments (a DynamoDB token item with a lease, issue #14):
each warm executor environment holds its own session, so at most as many sessions per user as
environments serve that user's followers. See docs/brokers.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr


@dataclass(frozen=True, slots=True)
class Token:
    value: SecretStr
    expires_at: datetime
    user_id: int | None = None

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value.get_secret_value()}"}


def _now() -> datetime:
    return datetime.now(UTC)


class TokenCache:
    """One user's token: ``get`` logs in when there is none (or it expired), renews it when it
    expires within ``renew_ahead``; ``invalidate`` after a 401."""

    def __init__(
        self,
        login: Callable[[], Token],
        renew: Callable[[Token], Token | None] | None = None,
        *,
        renew_ahead: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._login = login
        self._renew = renew
        self.renew_ahead = renew_ahead
        self._clock = clock
        self._token: Token | None = None
        self._lock = threading.Lock()
        self.logins = 0
        self.renewals = 0

    def get(self) -> Token:
        with self._lock:
            token, now = self._token, self._clock()
            if token is not None and now < token.expires_at - self.renew_ahead:
                return token
            if token is not None and now < token.expires_at and self._renew is not None:
                renewed = self._renew(token)  # None: renewal refused; log in instead
                if renewed is not None:
                    self.renewals += 1
                    self._token = renewed
                    return renewed
            self._token = None
            self._token = self._login()
            self.logins += 1
            return self._token

    def invalidate(self, token: Token) -> None:
        """The broker refused ``token`` (401): forget it unless another caller already replaced it."""
        with self._lock:
            if self._token is token:
                self._token = None

    @property
    def current(self) -> Token | None:
        return self._token


_caches: dict[tuple[str, ...], TokenCache] = {}
_caches_lock = threading.Lock()


def token_cache(key: tuple[str, ...], make: Callable[[], TokenCache]) -> TokenCache:
    """The cache of one broker user (``key``: broker, REST base, user name) in this environment."""
    with _caches_lock:
        found = _caches.get(key)
        if found is None:
            found = _caches[key] = make()
        return found


def clear_tokens() -> None:
    with _caches_lock:
        _caches.clear()
