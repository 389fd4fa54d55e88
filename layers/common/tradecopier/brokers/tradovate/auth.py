"""Logging in (``auth/accesstokenrequest``) and renewing (``auth/renewaccesstoken``), §2.

A refused login — ``errorText`` at HTTP 200 (official JS) or 401 (partner conformance): the
sources disagree, both are handled — and the captcha penalty (``p-captcha``: a few failed logins
per IP and hour lock it out for about an hour) are ``BrokerAccessDenied``: the executor locks the
follower rather than trying again. The token's expiry is the response's ``expirationTime``
(80 or 90 min, sources disagree).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr, ValidationError

from tradecopier.brokers.base import BrokerAccessDenied, BrokerUnreachable
from tradecopier.brokers.http import BrokerBusy
from tradecopier.brokers.tokens import Token, TokenCache, token_cache
from tradecopier.brokers.tradovate.config import RENEW_AHEAD, TradovateConfig
from tradecopier.brokers.tradovate.http import TradovateHttp, penalty, raise_for
from tradecopier.brokers.tradovate.schemas import AccessTokenResponse
from tradecopier.brokers.tradovate.sealing import Sealer
from tradecopier.brokers.tradovate.store import TokenStore, token_pk

SharedStore = tuple[TokenStore, Sealer]
"""Where the user's token is shared across containers: the token table and its sealer."""


def _expiry(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC) + timedelta(minutes=80)  # the shorter of the documented lifetimes
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cid(config: TradovateConfig) -> int | str:
    # SW types cid as a string; the official examples send a number (§2.1): send what they send.
    value = config.cid.get_secret_value()
    return int(value) if value.isdigit() else value


def login_body(config: TradovateConfig) -> dict[str, Any]:
    return {
        "name": config.username.get_secret_value(),
        "password": config.password.get_secret_value(),
        "appId": config.app_id,
        "appVersion": config.app_version,
        "cid": _cid(config),
        "sec": config.sec.get_secret_value(),
        "deviceId": config.device_id,
    }


def _token(body: Any, what: str) -> Token:
    try:
        answer = AccessTokenResponse.model_validate(body)
    except ValidationError:
        raise BrokerUnreachable(f"tradovate {what}: unreadable answer") from None
    if not answer.access_token:
        raise BrokerAccessDenied(f"{what}: {answer.error_text or 'no accessToken in the answer'}")
    return Token(SecretStr(answer.access_token), _expiry(answer.expiration_time), answer.user_id)


class TradovateAuth:
    def __init__(self, config: TradovateConfig, http: TradovateHttp) -> None:
        self.config = config
        self.http = http

    def login(self) -> Token:
        path = "auth/accesstokenrequest"
        try:
            reply = self.http.exchange("POST", path, body=login_body(self.config))
        except BrokerBusy as busy:  # a penalty longer than we wait inline: not a refusal
            raise busy
        ticket = penalty(reply.body) if reply.status == 200 else None
        if ticket is not None:  # only a captcha penalty gets here
            raise BrokerAccessDenied(
                f"login refused with a captcha penalty: no login for {ticket[1]:g} s "
                "(too many failed logins from this IP)"
            )
        if reply.status == 401:
            raise BrokerAccessDenied("login refused (HTTP 401): wrong credentials")
        if reply.status == 200 and isinstance(reply.body, dict) and reply.body.get("errorText"):
            raise BrokerAccessDenied(f"login refused: {reply.body['errorText']}")
        raise_for(reply, path)
        return _token(reply.body, "login")

    def renew(self, token: Token) -> Token | None:
        """A renewed token in the same session, or None (then the cache logs in anew)."""
        try:
            reply = self.http.exchange("GET", "auth/renewaccesstoken", token=token)
        except BrokerUnreachable:
            return None
        if reply.status != 200 or penalty(reply.body) is not None:
            return None
        try:
            renewed = _token(reply.body, "renew")
        except (BrokerAccessDenied, BrokerUnreachable):
            return None
        return Token(renewed.value, renewed.expires_at, renewed.user_id or token.user_id)


def connect(config: TradovateConfig, shared: SharedStore | None = None) -> TradovateHttp:
    """The authenticated client of ``config``'s user, sharing its token in this environment and,
    with ``shared`` (the token table and its sealer), with every other container (``lease``)."""
    holder: list[TradovateAuth] = []

    def make() -> TokenCache:
        login, renew = (lambda: holder[0].login()), (lambda t: holder[0].renew(t))
        if shared is None:
            return TokenCache(login, renew, renew_ahead=RENEW_AHEAD)
        from tradecopier.brokers.tradovate.lease import SharedTokens

        return SharedTokens(
            login,
            renew,
            store=shared[0],
            sealer=shared[1],
            pk=token_pk(config.rest_url, config.username.get_secret_value()),
            credentials_version=config.credentials_version,
            renew_ahead=RENEW_AHEAD,
        )

    cache = token_cache((*config.user_key, "shared" if shared else "local"), make)
    http = TradovateHttp(config.rest_url, cache, max_inline_penalty_s=config.max_inline_penalty_s)
    holder.append(TradovateAuth(config, http))
    return http
