"""Passwords (argon2) and JWTs (python-jose, HS256 pinned). The only module that imports jose."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from jose import JWTError, jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError

from app.services.errors import Unauthorized
from app.settings import get_settings

ALGORITHM = "HS256"  # pinned: a token naming any other algorithm (or none) is refused
_PROFILES = {"standard": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}


@cache
def _hasher(cost: str) -> tuple[PasswordHasher, str]:
    """The hasher for SHIFAN_PASSWORD_HASH_COST, and a real hash of its cost to verify against when the user
    does not exist, so both paths cost the same (made on first use, not when a CLI command imports this)."""
    hasher = PasswordHasher.from_parameters(_PROFILES[cost])
    return hasher, hasher.hash("shifan-no-such-user")


def hash_password(password: str) -> str:
    """An argon2id hash of password."""
    hasher, _ = _hasher(get_settings().password_hash_cost)
    return hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether password matches; costs the same when there is no hash to check."""
    hasher, dummy = _hasher(get_settings().password_hash_cost)
    try:
        return hasher.verify(password_hash or dummy, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(
    *,
    user_id: int,
    role: str,
    ttl: timedelta,
    kind: str = "access",
    jti: str | None = None,
    session_id: int | None = None,
    not_after: datetime | None = None,
) -> tuple[str, datetime]:
    """A signed token for user_id and when it expires (an access token names its login session, sid, and
    expires by not_after at the latest)."""
    settings = get_settings()
    now = datetime.now(UTC)
    expires = now + ttl if not_after is None else min(now + ttl, not_after)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": role,
        "kind": kind,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": jti or secrets.token_hex(16),
    }
    if session_id is not None:
        claims["sid"] = session_id
    return jwt.encode(claims, settings.secret(), algorithm=ALGORITHM), expires


def refresh_mac(*, session_id: int, generation: int, nonce: str) -> str:
    """The secret part of a login session's refresh token of one generation: an HMAC with the signing secret,
    so the token is never stored and an earlier generation is still recognised (reuse) when presented."""
    message = f"refresh:{session_id}:{generation}:{nonce}".encode()
    digest = hmac.new(get_settings().secret().encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# Tokens whose signature and claims were verified, by (token, secret, audience, issuer): a client sends the
# same token with every request, and checking its HMAC and claims again costs more than the request's own
# database read. Only the clock can change the verdict on the same bytes and settings, so a hit checks exp and
# nbf again; failures are not kept.
_VERIFIED: dict[tuple[str, str, str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 10_000


def decode_token(token: str) -> dict[str, Any]:
    """The verified claims of token, or Unauthorized with a code saying why."""
    settings = get_settings()
    key = (token, settings.secret(), settings.jwt_audience, settings.jwt_issuer)
    known = _VERIFIED.get(key)
    if known is not None:
        now = time.time()
        if known["exp"] <= now:
            raise Unauthorized("登录已过期，请重新登录", code="token_expired")
        if known.get("nbf", 0) <= now:
            return dict(known)
    claims = _verify(token)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()  # simpler than an LRU, and rare: that many distinct live tokens in one process
    _VERIFIED[key] = claims
    return dict(claims)


def _verify(token: str) -> dict[str, Any]:
    settings = get_settings()
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise Unauthorized("令牌格式不正确", code="token_invalid") from exc
    if header.get("alg") != ALGORITHM:
        raise Unauthorized("令牌签名算法不被接受", code="token_invalid")
    try:
        claims = jwt.decode(
            token,
            settings.secret(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require_exp": True, "require_iat": True, "require_sub": True},
        )
    except ExpiredSignatureError as exc:
        raise Unauthorized("登录已过期，请重新登录", code="token_expired") from exc
    except JWTClaimsError as exc:
        raise Unauthorized("令牌的签发方或受众不正确", code="token_invalid") from exc
    except JWTError as exc:
        raise Unauthorized("令牌无效或已被篡改", code="token_invalid") from exc
    if not str(claims.get("sub", "")).isdigit() or claims.get("kind") not in ("access", "script"):
        raise Unauthorized("令牌内容不完整", code="token_invalid")
    return claims


FEED_KIND = "feed"


def issue_feed_token(*, user_id: int, unit_id: int, ttl: timedelta) -> tuple[str, datetime]:
    """A token for one unit's calendar feed only: its own audience, so the API refuses it."""
    settings = get_settings()
    now = datetime.now(UTC)
    expires = now + ttl
    claims = {
        "sub": str(user_id),
        "unit": unit_id,
        "kind": FEED_KIND,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience + "-calendar",
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, settings.secret(), algorithm=ALGORITHM), expires


def decode_feed_token(token: str) -> tuple[int, int]:
    """(user id, unit id) of a valid calendar feed token, else Unauthorized."""
    settings = get_settings()
    try:
        if jwt.get_unverified_header(token).get("alg") != ALGORITHM:
            raise JWTError("algorithm")
        claims = jwt.decode(
            token,
            settings.secret(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience + "-calendar",
            issuer=settings.jwt_issuer,
        )
        if claims.get("kind") != FEED_KIND:
            raise JWTError("kind")
        return int(claims["sub"]), int(claims["unit"])
    except (JWTError, KeyError, ValueError) as exc:
        raise Unauthorized("日历订阅链接无效或已过期，请重新获取", code="feed_token_invalid") from exc
