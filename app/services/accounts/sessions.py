"""Login sessions (等保 2.0 身份鉴别): every login method ends in start(), which hands out a short-lived access
token naming the session and a refresh token rotated on every use (RFC 9700 §4.14.2). A rotated refresh token
presented again ends the whole session (one of its two holders is not the user); a session ends after
SHIFAN_SESSION_IDLE_MINUTES without a refresh, SHIFAN_SESSION_ABSOLUTE_HOURS after it started, at logout, or when
its owner or the security administrator ends it. Each event is in the audit trail; passwords never are."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.db import session_scope
from app.models import LoginSession, User
from app.models._base import utcnow
from app.models.login_session import LoginSessionPublic, TokenPublic
from app.models.user import Role
from app.services import auth
from app.services.access import Principal, absolute_deadline, idle_deadline, session_refusal
from app.services.errors import Invalid, NotFound, Unauthorized
from app.services.platform import audit
from app.settings import get_settings

_REFRESH = re.compile(r"^(\d{1,18})\.(\d{1,9})\.([A-Za-z0-9_-]{43})$")


def start(session: Session, *, user: User, method: str, client: str = "", user_agent: str = "") -> TokenPublic:
    """Start a login session for user, whom the login method (password, oidc …) has just checked, and hand out its
    tokens; audited as login.success."""
    assert user.id is not None
    now = utcnow()
    row = LoginSession(
        user_id=user.id,
        method=method,
        client=client[:64],
        user_agent=user_agent[:200],
        nonce=secrets.token_hex(16),
        started_at=now,
        refreshed_at=now,
    )
    session.add(row)
    session.flush()
    after = {"method": method, "client": row.client, "user_agent": row.user_agent}
    _audit(session, user, "login.success", row, after=after)
    return _pair(user, row, now)


def login_failed(*, username: str, user: User | None, reason: str, client: str = "", method: str = "password") -> None:
    """Put a refused login in the audit trail at once (the request rolls back): the name tried and a reason code
    (unknown_user, wrong_password, account_disabled, throttled …), never what was typed as the password."""
    audit.record_apart(
        principal=_actor(user) if user is not None else None,
        action="login.failure",
        object_type="login",
        object_id=username.strip()[:64],
        county_id=user.county_id if user is not None else None,
        after={"method": method, "reason": reason, "username": username.strip()[:64], "client": client[:64]},
    )


def refresh(*, refresh_token: str, client: str = "") -> TokenPublic:
    """A new token pair for the session of refresh_token, which is used up. Runs in a transaction of its own,
    committed even when the answer is a refusal: a reused token's session must stay ended."""
    with session_scope() as session:
        answer = _rotate(session, refresh_token=refresh_token, client=client[:64], now=utcnow())
    if isinstance(answer, Unauthorized):
        raise answer
    return answer


def _rotate(session: Session, *, refresh_token: str, client: str, now: datetime) -> TokenPublic | Unauthorized:
    invalid = Unauthorized("刷新令牌无效，请重新登录", code="refresh_token_invalid")
    parsed = _REFRESH.match(refresh_token.strip())
    if parsed is None:
        return invalid
    sid, generation = int(parsed[1]), int(parsed[2])
    row = session.exec(select(LoginSession).where(LoginSession.id == sid).with_for_update()).first()
    if row is None or generation > row.generation:
        return invalid
    if not hmac.compare_digest(parsed[3], auth.refresh_mac(session_id=sid, generation=generation, nonce=row.nonce)):
        return invalid
    user = session.get(User, row.user_id)
    assert user is not None
    if generation < row.generation:  # issued by us, already rotated: one of its holders is not the user
        if row.ended_at is None:
            _close(row, "refresh_reused", now)
            session.add(row)
        after = {"presented_generation": generation, "current_generation": row.generation, "client": client}
        _audit(session, user, "session.refresh_reused", row, after=after)
        return Unauthorized("该刷新令牌已使用过，为安全起见本次登录已结束，请重新登录", code="refresh_token_reused")
    refused = session_refusal(started_at=row.started_at, refreshed_at=row.refreshed_at, ended_at=row.ended_at, now=now)
    if refused is not None:
        return refused
    if not user.is_active:
        return Unauthorized("账号不存在或已停用", code="account_disabled")
    row.generation += 1
    row.refreshed_at = now
    session.add(row)
    session.flush()
    _audit(session, user, "session.refresh", row, after={"generation": row.generation, "client": client})
    return _pair(user, row, now)


def logout(session: Session, *, principal: Principal) -> None:
    """End the caller's own login session at once: its access tokens stop working, its refresh token too."""
    if principal.session_id is None:
        raise Invalid("接口令牌不是一次登录，无法退出；请由管理员吊销该令牌", code="not_a_login_session")
    row = _locked(session, principal.session_id)
    assert row is not None  # the caller's token was just checked against it
    _end(session, row, reason="logout", action="session.logout", by=principal)


def end_own(session: Session, *, principal: Principal, session_id: int) -> None:
    """End one of the caller's own login sessions (another device's, or this one); ending an ended one is a no-op."""
    row = _locked(session, session_id)
    if row is None or row.user_id != principal.user_id:
        raise NotFound("未找到该登录记录", code="session_not_found")
    _end(session, row, reason="user", action="session.ended_by_user", by=principal)


def end_any(session: Session, *, principal: Principal, session_id: int) -> None:
    """End anyone's login session: the security administrator's duty (the route's SecurityAdministrator guards
    it, the one place that names who holds it)."""
    row = _locked(session, session_id)
    if row is None:
        raise NotFound("未找到该登录记录", code="session_not_found")
    _end(session, row, reason="admin", action="session.ended_by_admin", by=principal)


def list_own(session: Session, *, principal: Principal) -> list[LoginSessionPublic]:
    """The caller's live login sessions, newest first; the one of this request is marked current."""
    return _live(session, user_id=principal.user_id, current=principal.session_id)


def list_any(session: Session, *, principal: Principal, user_id: int | None = None) -> list[LoginSessionPublic]:
    """Everyone's live login sessions (or one user's), newest first: for the security administrator (the route
    guards it)."""
    return _live(session, user_id=user_id, current=principal.session_id)


def _live(session: Session, *, user_id: int | None, current: int | None) -> list[LoginSessionPublic]:
    settings = get_settings()
    now = utcnow()
    query = (
        select(LoginSession, User.username)
        .join(User, col(User.id) == LoginSession.user_id)
        .where(
            col(LoginSession.ended_at).is_(None),
            col(LoginSession.started_at) > now - timedelta(hours=settings.session_absolute_hours),
            col(LoginSession.refreshed_at) > now - timedelta(minutes=settings.session_idle_minutes),
        )
        .order_by(col(LoginSession.id).desc())
    )
    if user_id is not None:
        query = query.where(LoginSession.user_id == user_id)
    return [_public(row, username, current) for row, username in session.exec(query).all()]


def _public(row: LoginSession, username: str, current: int | None) -> LoginSessionPublic:
    assert row.id is not None
    ends = absolute_deadline(row.started_at)
    return LoginSessionPublic(
        id=row.id,
        user_id=row.user_id,
        username=username,
        method=row.method,
        client=row.client,
        user_agent=row.user_agent,
        started_at=row.started_at,
        refreshed_at=row.refreshed_at,
        idle_expires_at=min(idle_deadline(row.refreshed_at), ends),
        expires_at=ends,
        current=row.id == current,
    )


def _locked(session: Session, session_id: int) -> LoginSession | None:
    return session.exec(select(LoginSession).where(LoginSession.id == session_id).with_for_update()).first()


def _close(row: LoginSession, reason: str, now: datetime) -> None:
    row.ended_at = now
    row.end_reason = reason


def _end(session: Session, row: LoginSession, *, reason: str, action: str, by: Principal) -> None:
    if row.ended_at is not None:
        return
    _close(row, reason, utcnow())
    session.add(row)
    session.flush()
    owner = session.get(User, row.user_id)
    assert owner is not None
    audit.record(
        session,
        principal=by,
        action=action,
        object_type="login_session",
        object_id=row.id,  # type: ignore[arg-type]
        county_id=owner.county_id,
        after={"user_id": owner.id, "username": owner.username, "reason": reason},
    )


def _pair(user: User, row: LoginSession, now: datetime) -> TokenPublic:
    assert user.id is not None and row.id is not None
    ends = absolute_deadline(row.started_at)
    ttl = timedelta(minutes=get_settings().access_token_minutes)
    token, expires = auth.issue_token(user_id=user.id, role=user.role, ttl=ttl, session_id=row.id, not_after=ends)
    mac = auth.refresh_mac(session_id=row.id, generation=row.generation, nonce=row.nonce)
    return TokenPublic(
        access_token=token,
        expires_at=expires.isoformat(),
        expires_in=max(0, int((expires - now).total_seconds())),
        refresh_token=f"{row.id}.{row.generation}.{mac}",
        session_id=row.id,
        session_expires_at=ends.isoformat(),
    )


def _actor(user: User) -> Principal:
    assert user.id is not None
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), county_id=user.county_id)


def _audit(session: Session, user: User, action: str, row: LoginSession, *, after: dict[str, Any]) -> None:
    audit.record(
        session,
        principal=_actor(user),
        action=action,
        object_type="login_session",
        object_id=row.id,  # type: ignore[arg-type]
        county_id=user.county_id,
        after=after,
    )
