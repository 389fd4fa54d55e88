"""Broker credentials, read from AWS Secrets Manager (for the real adapters; paper needs none).

One secret per follower account, named ``{settings.resource_prefix}/brokers/{account_id}``: a JSON
object whose keys are the fields of ``BrokerCredentials``, e.g.
``{"username": "...", "password": "...", "app_id": "...", "client_id": "...", "api_secret": "..."}``.
Secret names may not hold ':', which account ids may: it is written '+', which account ids
cannot hold, so two accounts never share a secret.

- Read on first use and cached per execution environment for ``ttl_seconds`` (default 5 minutes):
  the hot path makes no Secrets Manager call, and a rotated secret is picked up within the TTL
  without a redeploy. ``forget`` drops an entry at once (an adapter calls it after the broker
  refused the credentials). If Secrets Manager cannot be reached when an entry has expired, the
  expired value is served rather than failing a copy on credentials that were valid a moment ago.
- Never in environment variables (nothing here reads or writes ``os.environ``) and never in logs:
  values are ``SecretStr`` (shown as ``**********``), errors name the secret but never its content,
  and botocore's DEBUG log of the response body is dropped for the call that carries it.
- Errors are the broker errors the executor already handles: no secret or an unusable one is
  ``BrokerRejected`` (retrying cannot help); Secrets Manager unreachable is ``BrokerUnreachable``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, Self, cast

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, model_validator

from tradecopier import aws
from tradecopier.brokers.base import BrokerRejected, BrokerUnreachable
from tradecopier.settings import BrokerSettings

DEFAULT_TTL_SECONDS = 300.0

_NOT_FOUND = frozenset({"ResourceNotFoundException"})
_UNUSABLE = frozenset({"DecryptionFailure", "InvalidRequestException", "InvalidParameterException"})


class BrokerCredentials(BaseModel):
    """What a broker adapter logs in with. Unknown keys are refused (a typo is an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: SecretStr | None = None  # Tradovate name, ProjectX userName
    password: SecretStr | None = None  # Tradovate password
    api_key: SecretStr | None = None  # ProjectX apiKey, Alpaca APCA-API-KEY-ID
    api_secret: SecretStr | None = None  # Tradovate sec, Alpaca APCA-API-SECRET-KEY
    client_id: SecretStr | None = None  # Tradovate cid
    app_id: str | None = None  # Tradovate appId (not a secret)
    app_version: str | None = None  # Tradovate appVersion (not a secret)

    @model_validator(mode="after")
    def _has_a_secret(self) -> Self:
        if not any(
            getattr(self, name) for name in ("username", "password", "api_key", "api_secret", "client_id")
        ):
            raise ValueError("the secret holds no credential")
        return self


class CredentialsMissing(BrokerRejected):
    """No secret for this account: an operator has to create it."""


class CredentialsInvalid(BrokerRejected):
    """The secret exists but is not a JSON object of ``BrokerCredentials`` fields."""


class CredentialsUnavailable(BrokerUnreachable):
    """Secrets Manager could not be reached or refused the call for now (throttling, network)."""


class SecretsClient(Protocol):
    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...


def secret_name(prefix: str, account_id: str) -> str:
    return f"{prefix}/brokers/{account_id.replace(':', '+')}"


# --- keeping the value out of logs -----------------------------------------------------------

_fetching = threading.local()


class _DropWhileFetching(logging.Filter):
    """botocore logs every response body at DEBUG; the one that carries a secret must not be."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_fetching, "active", False)


_FILTER = _DropWhileFetching()
_QUIET_LOGGERS = ("botocore.parsers", "botocore.endpoint", "botocore.hooks", "urllib3.connectionpool")
for _name in _QUIET_LOGGERS:
    if _FILTER not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_FILTER)


@contextmanager
def _unlogged() -> Iterator[None]:
    _fetching.active = True
    try:
        yield
    finally:
        _fetching.active = False


# --- the store -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    credentials: BrokerCredentials
    expires_at: float


class CredentialsStore:
    """Credentials of every account under one resource prefix, cached for ``ttl_seconds``."""

    def __init__(
        self,
        prefix: str,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        client: SecretsClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self._client = client
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def secret_name(self, account_id: str) -> str:
        return secret_name(self.prefix, account_id)

    def get(self, account_id: str) -> BrokerCredentials:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(account_id)
        if entry is not None and now < entry.expires_at:
            return entry.credentials
        try:
            credentials = self._fetch(account_id)
        except CredentialsUnavailable:
            if entry is not None:  # expired, but Secrets Manager is down: better than no copy
                from tradecopier.observability import logger

                logger.warning(
                    "secrets manager unavailable; using expired credentials", extra={"account_id": account_id}
                )
                return entry.credentials
            raise
        with self._lock:
            self._entries[account_id] = _Entry(credentials, self._clock() + self.ttl_seconds)
        return credentials

    def forget(self, account_id: str | None = None) -> None:
        """Drops one account's cached credentials (or all): the next ``get`` reads the secret."""
        with self._lock:
            if account_id is None:
                self._entries.clear()
            else:
                self._entries.pop(account_id, None)

    def _fetch(self, account_id: str) -> BrokerCredentials:
        name = self.secret_name(account_id)
        client = self._client or cast(SecretsClient, aws.client("secretsmanager"))
        try:
            with _unlogged():
                response = client.get_secret_value(SecretId=name)
        except ClientError as error:
            code = aws.error_code(error)
            if code in _NOT_FOUND:
                raise CredentialsMissing(f"no broker credentials: secret {name} does not exist") from None
            if code in _UNUSABLE:
                raise CredentialsInvalid(f"secret {name} cannot be read ({code})") from None
            raise CredentialsUnavailable(f"secrets manager: {code or 'error'} reading {name}") from None
        except BotoCoreError as error:
            raise CredentialsUnavailable(
                f"secrets manager unreachable reading {name}: {type(error).__name__}"
            ) from None
        return _parse(name, response.get("SecretString"))


def _parse(name: str, text: Any) -> BrokerCredentials:
    """The secret's JSON as credentials. Errors say what is wrong, never what the value was
    (``from None``: pydantic's and json's own messages quote the input)."""
    if not isinstance(text, str):
        raise CredentialsInvalid(f"secret {name} has no SecretString")
    try:
        values = json.loads(text)
    except ValueError:
        raise CredentialsInvalid(f"secret {name} is not JSON") from None
    if not isinstance(values, dict):
        raise CredentialsInvalid(f"secret {name} is not a JSON object")
    try:
        return BrokerCredentials.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'secret'}: {item['type']}"
            for item in error.errors()
        )
        raise CredentialsInvalid(f"secret {name} does not hold broker credentials ({problems})") from None


@lru_cache(maxsize=8)
def credentials_store(prefix: str) -> CredentialsStore:
    """The store of this execution environment for one resource prefix (one per stack)."""
    return CredentialsStore(prefix)


def broker_credentials(account_id: str, settings: BrokerSettings) -> BrokerCredentials:
    """The credentials of ``account_id``'s broker account (cached; see the module docstring)."""
    return credentials_store(settings.resource_prefix).get(account_id)


def clear_cache() -> None:
    """Forgets cached credentials and the client (tests that switch endpoints)."""
    credentials_store.cache_clear()
    aws.clear_clients("secretsmanager")


__all__ = [
    "DEFAULT_TTL_SECONDS",
    "BrokerCredentials",
    "CredentialsInvalid",
    "CredentialsMissing",
    "CredentialsStore",
    "CredentialsUnavailable",
    "broker_credentials",
    "clear_cache",
    "credentials_store",
    "secret_name",
]
