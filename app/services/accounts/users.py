"""Accounts, password login and script tokens."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from app.models.login_session import TokenPublic
from app.models.region import Region, RegionLevel
from app.models.unit import Unit
from app.models.user import ADMIN_DUTIES, Role, ScriptToken, User, UserCreate
from app.services import auth
from app.services.access import Principal, county_scope
from app.services.accounts import login_throttle, passwords, sessions
from app.services.errors import Conflict, Forbidden, Invalid, Locked, NotFound, TooManyRequests, Unauthorized
from app.services.platform import audit
from app.settings import get_settings


def check_binding(session: Session, data: UserCreate) -> UserCreate:
    """The role's binding is present and of the right kind; a liaison's county is its unit's."""
    role = Role(data.role)
    if role == Role.office:
        county = session.get(Region, data.county_id) if data.county_id else None
        if county is None or county.level != RegionLevel.county:
            raise Invalid("县依法治县办账号必须指定所属县", code="user_binding_invalid")
        return data.model_copy(update={"unit_id": None, "region_id": None})
    if role == Role.liaison:
        unit = session.get(Unit, data.unit_id) if data.unit_id else None
        if unit is None:
            raise Invalid("单位联络员账号必须指定所属单位", code="user_binding_invalid")
        return data.model_copy(update={"county_id": unit.county_id, "region_id": None})
    if role == Role.province:
        region = session.get(Region, data.region_id) if data.region_id else None
        if region is None or region.level == RegionLevel.county:
            raise Invalid("省（市）级账号必须指定所辖省或市", code="user_binding_invalid")
        return data.model_copy(update={"county_id": None, "unit_id": None})
    return data.model_copy(update={"county_id": None, "unit_id": None, "region_id": None})


def create(session: Session, *, data: UserCreate, principal: Principal | None = None, checked: bool = True) -> User:
    """A new account; an office may create liaisons of its own county's units only, the system administrator
    any account but an administrator's (those come from the command line or a security administrator's grant).
    Made through the API, its password follows the policy and must be changed at the first login; checked=False
    (the demo only) skips the policy."""
    data = check_binding(session, data)
    if principal is not None and principal.role != Role.system_admin:
        principal.require(Role.office)
        if data.role != Role.liaison:
            raise Forbidden("县依法治县办只能创建本县单位联络员账号")
        if data.county_id != principal.county_id:
            raise NotFound("未找到该单位", code="unit_not_found")
    if principal is not None and Role(data.role) in ADMIN_DUTIES:
        raise Forbidden(
            "管理员职责只能由安全管理员授予（或在服务器上用 shifan create-user 创建）：请先创建普通账号",
            code="duty_grant_refused",
        )
    if session.exec(select(User).where(User.username == data.username)).first():
        raise Conflict("该用户名已被使用", code="username_taken")
    if checked:
        passwords.check_new(session, user=None, username=data.username, password=data.password)
    user = User.model_validate(data, update={"password_hash": "-"})
    session.add(user)
    passwords.set_password(session, user=user, password=data.password, by_administrator=principal is not None)
    _audit(session, principal, "user.create", user, after=audit.snapshot(user, "username", "role", "unit_id"))
    return user


def _audit(session: Session, principal: Principal | None, action: str, user: User, *, after: dict) -> None:
    audit.record(
        session,
        principal=principal,
        action=action,
        object_type="user",
        object_id=user.id,  # type: ignore[arg-type]
        county_id=user.county_id,
        after=after,
    )


def list_visible(session: Session, *, principal: Principal) -> list[User]:
    """Accounts the caller may list: all for admin, the own county's for an office."""
    principal.require(Role.system_admin, Role.office)
    query = select(User).where(county_scope(principal, User.county_id)).order_by(User.id)
    return list(session.exec(query).all())


def login(session: Session, *, username: str, password: str, client: str = "", user_agent: str = "") -> TokenPublic:
    """A login session for a correct username and password; one message for every failure, 423 while the name is
    locked out (accounts/passwords.py) and 429 after too many failures for the name or from the client
    (login_throttle). Every refusal is audited with its reason (sessions.login_failed), the success by
    sessions.start."""
    try:
        passwords.check_login_allowed(session, username=username)  # issue 23: the per-account lockout
        login_throttle.check(session, username=username, client=client)
    except (Locked, TooManyRequests) as refused:
        reason = "locked" if isinstance(refused, Locked) else "throttled"
        sessions.login_failed(username=username, user=None, reason=reason, client=client)
        raise
    user = session.exec(select(User).where(User.username == username)).first()
    ok = auth.verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        login_throttle.record(username=username, client=client, succeeded=False)
        reason = "unknown_user" if user is None else "wrong_password" if not ok else "account_disabled"
        sessions.login_failed(username=username, user=user, reason=reason, client=client)
        passwords.after_failed_login(username=username)  # issue 23: audits the lockout this failure starts
        raise Unauthorized("用户名或密码错误", code="invalid_credentials")
    login_throttle.record(username=username, client=client, succeeded=True)
    return sessions.start(session, user=user, method="password", client=client, user_agent=user_agent)


def mint_script_token(
    session: Session, *, username: str, name: str, days: int | None = None
) -> tuple[str, ScriptToken]:
    """A long-lived, revocable token for an integration script acting as username."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.id is None:
        raise NotFound("未找到该用户", code="user_not_found")
    jti = secrets.token_hex(16)
    ttl = timedelta(days=days or get_settings().script_token_days)
    token, expires = auth.issue_token(user_id=user.id, role=user.role, ttl=ttl, kind="script", jti=jti)
    row = ScriptToken(user_id=user.id, name=name, jti=jti, expires_at=expires)
    session.add(row)
    session.flush()
    _audit(session, None, "script_token.mint", user, after=audit.snapshot(row, "id", "name", "expires_at"))
    return token, row


def revoke_script_token(session: Session, *, token_id: int, principal: Principal | None = None) -> ScriptToken:
    """Revoke a script token at once (idempotent): the security administrator, or the command line."""
    if principal is not None:
        principal.require(Role.security_admin)
    row = session.get(ScriptToken, token_id)
    if row is None:
        raise NotFound("未找到该接口令牌", code="token_not_found")
    row.revoked_at = row.revoked_at or datetime.now(UTC)
    session.add(row)
    session.flush()
    user = session.get(User, row.user_id)
    assert user is not None
    _audit(session, principal, "script_token.revoke", user, after=audit.snapshot(row, "id", "name", "revoked_at"))
    return row
