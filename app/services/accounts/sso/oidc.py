"""统一身份认证 over OpenID Connect: the authorization code flow with PKCE, state and nonce, the provider found by
discovery and its keys by JWKS, all through Authlib (no ID token is checked by hand here).

The login's secrets (state, nonce, PKCE verifier) stay on the server in a short-lived row keyed by the state's
hash, so an SPA or a mobile app needs no cookie: it opens /auth/oidc/login, the provider sends the browser back
to a registered redirect URI with code and state, and whoever holds them calls /auth/oidc/callback once."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import authlib.deprecate  # noqa: F401, I001 - first: it turns its own warnings on when imported
import httpx
from joserfc.errors import JoseError, MissingClaimError
from sqlmodel import Session, col, delete, select

with warnings.catch_warnings():  # Authlib's httpx integration warns that plain httpx is its fallback (it works)
    warnings.simplefilter("ignore")
    from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OAuthError, OpenIDMixin
    from authlib.integrations.httpx_client import OAuth2Client

from app.db import session_scope
from app.models._base import utcnow
from app.models.login_session import TokenPublic
from app.models.sso import SsoLoginState
from app.models.user import Role
from app.services.accounts import sessions
from app.services.accounts.sso import identities
from app.services.errors import DomainError, Invalid, NotFound, Unauthorized, Unavailable
from app.settings import Settings, get_settings

METADATA_SECONDS = 3600  # the discovery document is read again after an hour (JWKS: also on an unknown key id)
LEEWAY_SECONDS = 60
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")


class _Provider(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's framework-free OpenID client app, over httpx."""

    client_cls = OAuth2Client


_apps: dict[tuple[str, str, str], _Provider] = {}
_apps_lock = threading.Lock()


def _settings() -> Settings:
    settings = get_settings()
    if not (settings.oidc_issuer and settings.oidc_client_id):
        raise NotFound("未配置统一身份认证", code="sso_not_configured")
    return settings


def _provider(settings: Settings) -> _Provider:
    """The client app of the configured provider, its discovery document loaded and checked."""
    key = (settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret)
    with _apps_lock:
        app = _apps.get(key)
        if app is None or time.time() - app.server_metadata.get("_loaded_at", 0) > METADATA_SECONDS:
            app = _Provider(
                framework=None,
                name="oidc",
                client_id=settings.oidc_client_id,
                client_secret=settings.oidc_client_secret or None,
                server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
                client_kwargs={
                    "scope": settings.oidc_scopes,
                    "code_challenge_method": "S256",
                    "timeout": settings.oidc_timeout_seconds,
                    "follow_redirects": False,
                },
            )
            _apps[key] = app
    try:
        metadata = app.load_server_metadata()
    except (httpx.HTTPError, ValueError) as exc:
        with _apps_lock:
            _apps.pop(key, None)
        raise _unavailable() from exc
    if metadata.get("issuer") != settings.oidc_issuer:  # a document for another issuer: trust nothing it says
        with _apps_lock:
            _apps.pop(key, None)
        raise Unavailable("统一身份认证服务的发现文档与所配签发方（issuer）不一致", code="oidc_issuer_mismatch")
    return app


def _unavailable() -> Unavailable:
    return Unavailable("统一身份认证服务暂时无法访问，请稍后重试或使用账号密码登录", code="oidc_provider_unavailable")


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def begin_login(session: Session, *, redirect: str | None) -> str:
    """The provider's authorization URL for a new login (state, nonce and PKCE verifier kept server-side)."""
    settings = _settings()
    allowed = settings.oidc_redirect_uri_list()
    redirect_uri = redirect or (allowed[0] if allowed else "")
    if redirect_uri not in allowed:
        raise Invalid("redirect 不是已登记的回调地址（SHIFAN_OIDC_REDIRECT_URIS）", code="oidc_redirect_not_allowed")
    app = _provider(settings)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    sent = app.create_authorization_url(redirect_uri, state=state, nonce=nonce)
    now = utcnow()
    session.exec(delete(SsoLoginState).where(col(SsoLoginState.expires_at) < now))  # type: ignore[call-overload]
    session.add(
        SsoLoginState(
            state_hash=_hash(state),
            nonce=nonce,
            code_verifier=sent["code_verifier"],
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.oidc_login_minutes),
        )
    )
    session.flush()
    return str(sent["url"])


@dataclass(frozen=True)
class CallbackParams:
    """What the provider sent back to the redirect URI."""

    code: str | None
    state: str | None
    iss: str | None = None
    error: str | None = None
    error_description: str | None = None


def complete_login(session: Session, *, params: CallbackParams, client: str) -> TokenPublic:
    """Finish a login: the state once, the code exchanged with the PKCE verifier, the ID token checked (signature
    by JWKS, issuer, audience, nonce, expiry), the account found; then the service's own login answer. Every
    outcome is audited; a refusal says why in Chinese."""
    settings = _settings()
    subject: str | None = None
    try:
        pending = _take_state(params.state)
        if params.error:
            said = params.error if _ERROR_CODE.fullmatch(params.error) else "error"  # RFC 6749 error codes only
            raise Unauthorized(f"统一身份认证未完成登录（{said}），请重新登录", code="oidc_authorization_failed")
        if params.iss is not None and params.iss != settings.oidc_issuer:
            raise Unauthorized("回调中的签发方（iss）与所配统一身份认证不一致", code="oidc_issuer_mismatch")
        if not params.code:
            raise Invalid("回调缺少授权码 code", code="oidc_code_missing")
        claims = _exchange(settings, pending=pending, code=params.code)
        subject = str(claims["sub"])
        claim = settings.oidc_username_claim
        who = identities.ExternalIdentity(
            provider="oidc",
            subject=subject,
            username=str(claims[claim]) if claim and claims.get(claim) else None,
            display_name=str(claims.get("name") or "") or None,
        )
        jit = (
            identities.JustInTime(
                role=Role(settings.oidc_jit_role),
                county_id=settings.oidc_jit_county_id,
                unit_id=settings.oidc_jit_unit_id,
            )
            if settings.oidc_jit_role
            else None
        )
        user, how = identities.resolve(session, who=who, jit=jit)
    except DomainError as exc:
        identities.record_refusal(provider="oidc", reason=exc.code, subject=subject, client=client)
        raise
    identities.record_success(session, user=user, who=who, how=how, client=client)
    return sessions.start(session, user=user, method="oidc", client=client)


def _take_state(state: str | None) -> SsoLoginState:
    """The pending login of state, removed at once in its own transaction (a state is good for one try)."""
    refused = Unauthorized(
        "登录请求已失效或与本次登录不匹配（state 无效），请重新发起统一身份认证登录", code="oidc_state_invalid"
    )
    if not state or len(state) > 200:
        raise refused
    with session_scope() as own:
        row = own.exec(select(SsoLoginState).where(SsoLoginState.state_hash == _hash(state))).first()
        if row is None:
            raise refused
        own.expunge(row)
        # whoever deletes the row owns the login: a second callback with the same state at the same time deletes
        # nothing (PostgreSQL makes it wait for the first and then see the row gone) and is refused
        taken = own.exec(delete(SsoLoginState).where(col(SsoLoginState.state_hash) == row.state_hash))  # type: ignore[call-overload]
        if taken.rowcount != 1:
            raise refused
    if row.expires_at < utcnow():
        raise Unauthorized("登录请求已超时，请重新发起统一身份认证登录", code="oidc_state_expired")
    return row


def _exchange(settings: Settings, *, pending: SsoLoginState, code: str) -> dict[str, Any]:
    """The verified ID token claims for code (token endpoint with the PKCE verifier, then Authlib's checks)."""
    app = _provider(settings)
    try:
        token = app.fetch_access_token(
            redirect_uri=pending.redirect_uri, code=code, code_verifier=pending.code_verifier
        )
    except OAuthError as exc:
        raise Unauthorized(f"统一身份认证拒绝了授权码（{exc.error}），请重新登录", code="oidc_code_rejected") from exc
    except (httpx.HTTPError, ValueError) as exc:
        raise _unavailable() from exc
    if "id_token" not in token:
        raise Unauthorized("统一身份认证未返回身份令牌（ID Token）", code="oidc_id_token_invalid")
    options = {
        "iss": {"essential": True, "value": settings.oidc_issuer},
        "aud": {"essential": True, "value": settings.oidc_client_id},
    }
    try:
        claims = dict(app.parse_id_token(token, nonce=pending.nonce, claims_options=options, leeway=LEEWAY_SECONDS))
    except JoseError as exc:
        raise _token_refusal(exc) from exc
    except (httpx.HTTPError, ValueError) as exc:
        raise _unavailable() from exc
    wanted = settings.oidc_username_claim
    if wanted and wanted not in claims and app.server_metadata.get("userinfo_endpoint"):
        # providers that conform the ID token to its minimum (sub) give profile claims at the userinfo endpoint; they
        # count only when they are about the same subject (OIDC Core 5.3.2)
        try:
            more = dict(app.userinfo(token=token))
        except (OAuthError, httpx.HTTPError, ValueError) as exc:
            raise _unavailable() from exc
        if more.get("sub") == claims["sub"]:
            claims = {**more, **claims}
    return claims


def _token_refusal(exc: JoseError) -> Unauthorized:
    """The refusal for an ID token Authlib did not accept, naming the claim at fault."""
    claim = getattr(exc, "claim", None) or ""
    if claim == "nonce":
        return Unauthorized("身份令牌与本次登录不匹配（nonce 不一致），请重新登录", code="oidc_nonce_mismatch")
    if claim in ("aud", "azp"):
        return Unauthorized("身份令牌不是签发给本系统的（受众 aud 不符），已拒绝登录", code="oidc_audience_mismatch")
    if claim == "iss":
        return Unauthorized("身份令牌的签发方（iss）与所配统一身份认证不一致", code="oidc_issuer_mismatch")
    missing = "缺少" if isinstance(exc, MissingClaimError) else "无效的"
    what = f"（{missing} {claim}）" if claim else ""
    return Unauthorized(f"身份令牌校验未通过{what}，已拒绝登录", code="oidc_id_token_invalid")
