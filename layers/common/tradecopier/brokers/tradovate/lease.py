"""One Tradovate token per broker user, shared by every container through ``CopierTable``.

Tradovate allows two sessions per user and a third login closes the oldest; a few failed logins
per IP and hour bring a captcha penalty of about an hour (notes §2.2). So a container never logs in
on its own account: ``get`` uses its own copy while fresh, else the table's token, and only the
holder of the renewal lease (a conditional write, ``store.take_lease``) renews or logs in, then
stores the new token for the others. A container that finds the lease taken uses the current token
while it is still valid, else waits briefly for the new one (``BrokerUnreachable`` after
``wait_s``: SQS retries the copy). A refused login is recorded on the item: no container logs in
with the same credentials (their ``stored_at``) before ``refusal_hold`` has passed; each raises
``BrokerAccessDenied`` (the executor locks the follower ``auth_failed``) without a request.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tradecopier.brokers.base import BrokerAccessDenied, BrokerUnreachable
from tradecopier.brokers.tokens import Token, TokenCache
from tradecopier.brokers.tradovate.sealing import Sealer
from tradecopier.brokers.tradovate.store import TokenItem, TokenStore

LEASE = timedelta(seconds=15)  # > connect 2 s + read 5 s of a login, twice
REFUSAL_HOLD = timedelta(hours=1)  # the captcha penalty after failed logins lasts about an hour
ITEM_KEPT = timedelta(days=1)  # TTL past the token's expiry


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class SharedTokens(TokenCache):
    """A ``TokenCache`` whose token lives in the table (one item per user, ``pk``)."""

    def __init__(
        self,
        login: Callable[[], Token],
        renew: Callable[[Token], Token | None] | None,
        *,
        store: TokenStore,
        sealer: Sealer,
        pk: str,
        credentials_version: str,
        renew_ahead: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        wait_s: float = 5.0,
        poll_s: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(login, renew, renew_ahead=renew_ahead, clock=clock)
        self.store, self.sealer, self.pk = store, sealer, pk
        self.credentials_version = credentials_version
        self.owner = uuid.uuid4().hex
        self.wait_s, self.poll_s, self._sleep = wait_s, poll_s, sleep
        self._version = 0

    def _fresh(self, token: Token | None, now: datetime) -> bool:
        return token is not None and now < token.expires_at - self.renew_ahead

    def get(self) -> Token:
        with self._lock:
            if self._fresh(self._token, self._clock()):
                assert self._token is not None
                return self._token
            for _ in range(int(self.wait_s / self.poll_s) + 1):
                item = self.store.read(self.pk)
                now = self._clock()
                self._refused(item, now)
                shared = self._shared(item)
                if self._fresh(shared, now):
                    return self._keep(shared, item)
                seen = item.version if item else 0
                if self.store.take_lease(self.pk, self.owner, _ms(now), _ms(now + LEASE), seen):
                    return self._refresh(shared, now)
                if shared is not None and now < shared.expires_at:
                    return self._keep(shared, item)  # another container renews; this one still works
                self._sleep(self.poll_s)
            raise BrokerUnreachable("tradovate: another container is logging in; the copy is retried")

    def _keep(self, token: Token | None, item: TokenItem | None) -> Token:
        assert token is not None and item is not None
        self._token, self._version = token, item.version
        return token

    def _refused(self, item: TokenItem | None, now: datetime) -> None:
        if item is None or item.refused_reason is None or _ms(now) >= item.refused_until:
            return
        if item.refused_for != self.credentials_version:
            return  # the credentials changed since: they get their one try
        until = _iso(datetime.fromtimestamp(item.refused_until / 1000, UTC))
        raise BrokerAccessDenied(
            f"{item.refused_reason} (recorded; no new login with these credentials before {until})"
        )

    def _shared(self, item: TokenItem | None) -> Token | None:
        if item is None or item.sealed is None or item.expires is None:
            return None
        if self._token is not None and item.version == self._version:
            return self._token
        return Token(self.sealer.open(item.sealed, self.pk), _parse(item.expires), item.user_id)

    def _refresh(self, shared: Token | None, now: datetime) -> Token:
        """Holding the lease: renew the current token while it lives, else log in; store the result."""
        try:
            token = None
            if shared is not None and now < shared.expires_at and self._renew is not None:
                token = self._renew(shared)
                self.renewals += token is not None
            if token is None:
                token = self._login()
                self.logins += 1
        except BrokerAccessDenied as denied:
            self.store.refuse(
                self.pk,
                self.owner,
                reason=denied.reason,
                credentials=self.credentials_version,
                until_ms=_ms(now + REFUSAL_HOLD),
                ttl=int((now + REFUSAL_HOLD + ITEM_KEPT).timestamp()),
            )
            self._token = None
            raise
        except BaseException:
            self.store.release(self.pk, self.owner)
            raise
        version = self.store.put_token(
            self.pk,
            self.owner,
            sealed=self.sealer.seal(token.value, self.pk),
            expires=_iso(token.expires_at),
            user_id=token.user_id,
            ttl=int((token.expires_at + ITEM_KEPT).timestamp()),
        )
        self._token, self._version = token, (version if version is not None else -1)
        return token

    def invalidate(self, token: Token) -> None:
        """The broker refused ``token`` (401): drop it here and, if still the table's, there too."""
        with self._lock:
            if self._token is token:
                self._token = None
                self.store.drop_token(self.pk, self._version)
