"""Logging in (``Auth/loginKey``) and renewing (``Auth/validate``), §2.

A refused login is HTTP 200 ``success: false`` (``errorCode`` 3 InvalidCredentials, 9
ApiSubscriptionNotFound, ...): ``BrokerAccessDenied`` — the executor locks the follower with
``auth_failed`` instead of adding failed logins. Only ``loginKey`` is built (§2: "API key is the
only supported way"). The token is a JWT living 24 h: its ``exp`` claim is read when present (not
verified: it is the broker's business), else 24 h from now. ``validate`` returns ``newToken``; a
refused validate falls back to one login.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from pydantic import SecretStr, ValidationError

from tradecopier.brokers.base import BrokerAccessDenied, BrokerUnreachable
from tradecopier.brokers.projectx.config import RENEW_AHEAD, TOKEN_LIFETIME, ProjectXConfig
from tradecopier.brokers.projectx.http import ProjectXHttp, code_name, raise_for
from tradecopier.brokers.projectx.schemas import LoginResponse, ValidateResponse
from tradecopier.brokers.tokens import Token, TokenCache, token_cache


def token_expiry(token: str, now: datetime) -> datetime:
    """The JWT's ``exp`` (capped at 24 h from now), else 24 h from now."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return now + TOKEN_LIFETIME
    return min(expires, now + TOKEN_LIFETIME)


class ProjectXAuth:
    def __init__(self, config: ProjectXConfig, http: ProjectXHttp) -> None:
        self.config = config
        self.http = http

    def login(self) -> Token:
        path = "Auth/loginKey"
        body = {
            "userName": self.config.username.get_secret_value(),
            "apiKey": self.config.api_key.get_secret_value(),
        }
        reply = self.http.exchange(path, body)
        if reply.status == 401:
            raise BrokerAccessDenied("login refused (HTTP 401)")
        if reply.status == 200 and isinstance(reply.body, dict) and reply.body.get("success") is False:
            message = reply.body.get("errorMessage") or "refused"
            raise BrokerAccessDenied(
                f"login refused: {message} ({code_name(path, reply.body.get('errorCode'))})"
            )
        raise_for(reply, path)
        try:
            answer = LoginResponse.model_validate(reply.body)
        except ValidationError:
            raise BrokerUnreachable("projectx login: unreadable answer") from None
        if not answer.token:
            raise BrokerAccessDenied("login refused: no token in the answer")
        return Token(SecretStr(answer.token), token_expiry(answer.token, datetime.now(UTC)))

    def renew(self, token: Token) -> Token | None:
        """A fresh token from ``Auth/validate``, or None (then the cache logs in anew)."""
        try:
            reply = self.http.exchange("Auth/validate", None, token)
        except BrokerUnreachable:
            return None
        if reply.status != 200 or not isinstance(reply.body, dict):
            return None
        try:
            answer = ValidateResponse.model_validate(reply.body)
        except ValidationError:
            return None
        if not answer.success or not answer.new_token:
            return None
        return Token(SecretStr(answer.new_token), token_expiry(answer.new_token, datetime.now(UTC)))


def connect(config: ProjectXConfig) -> ProjectXHttp:
    """The authenticated client of ``config``'s user, sharing its token in this environment."""
    holder: list[ProjectXAuth] = []
    cache = token_cache(
        config.user_key,
        lambda: TokenCache(lambda: holder[0].login(), lambda t: holder[0].renew(t), renew_ahead=RENEW_AHEAD),
    )
    http = ProjectXHttp(config.rest_url, cache)
    holder.append(ProjectXAuth(config, http))
    return http
