"""From an external identity to an account: a linked subject first, then the configured username, then (OIDC,
when configured) a just-in-time account; and every outcome in the audit trail."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import Session, select

from app.db import session_scope
from app.models._base import utcnow
from app.models.sso import SsoIdentity
from app.models.user import Role, User, UserCreate
from app.services.access import principal_for
from app.services.accounts import users
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.platform import audit

# No password login for accounts made here: argon2 refuses this as a hash, so verify_password is always False.
NO_PASSWORD = "!sso-only"
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
PROVIDER_NAMES = {"oidc": "统一身份认证", "dingtalk": "钉钉"}


@dataclass(frozen=True)
class ExternalIdentity:
    """Who the provider says logged in."""

    provider: str  # "oidc" or "dingtalk"
    subject: str  # the provider's stable id (OIDC sub; DingTalk userid or unionid)
    username: str | None = None  # the value to match an account's username with, if any
    display_name: str | None = None


@dataclass(frozen=True)
class JustInTime:
    """The account an unknown subject gets, when the deployment allows it."""

    role: Role
    county_id: int | None = None
    unit_id: int | None = None


def resolve(session: Session, *, who: ExternalIdentity, jit: JustInTime | None = None) -> tuple[User, str]:
    """The active account of who and how it was found (subject, username, jit); Forbidden when there is none, the
    account is disabled, or it is already linked to another subject of the same provider."""
    name = PROVIDER_NAMES[who.provider]
    link = session.exec(
        select(SsoIdentity).where(SsoIdentity.provider == who.provider, SsoIdentity.subject == who.subject)
    ).first()
    how = "subject"
    user = session.get(User, link.user_id) if link is not None else None
    if user is None and who.username:
        user = session.exec(select(User).where(User.username == who.username)).first()
        how = "username"
        if user is not None:
            linked = session.exec(
                select(SsoIdentity).where(SsoIdentity.provider == who.provider, SsoIdentity.user_id == user.id)
            ).first()
            if linked is not None:  # the name now points at another person of the provider: never take it over
                raise Forbidden(
                    f"账号 {user.username} 已关联另一个{name}身份，不能用当前身份登录，请联系管理员核实",
                    code="sso_subject_mismatch",
                )
    if user is None and jit is not None:
        user, how = _create(session, who=who, jit=jit), "jit"
    if user is None:
        raise Forbidden(
            f"该{name}账号尚未开通本系统账号（未找到与之关联的用户），请联系县依法治县办或管理员开通后再登录",
            code="sso_account_unknown",
        )
    if not user.is_active:
        raise Forbidden("该账号已停用，请联系管理员", code="account_disabled")
    if link is None:
        link = SsoIdentity(provider=who.provider, subject=who.subject, user_id=user.id)  # type: ignore[arg-type]
    link.last_login_at = utcnow()
    session.add(link)
    session.flush()
    return user, how


def _create(session: Session, *, who: ExternalIdentity, jit: JustInTime) -> User:
    """A new account for who, bound as the deployment configured (role, county, unit), with no password."""
    username = who.username if who.username and _USERNAME.match(who.username) else None
    if username is None or session.exec(select(User.id).where(User.username == username)).first() is not None:
        username = f"{who.provider}-" + hashlib.sha256(who.subject.encode()).hexdigest()[:16]
    data = UserCreate(
        username=username,
        display_name=(who.display_name or username)[:100],
        role=jit.role,
        county_id=jit.county_id,
        unit_id=jit.unit_id,
        password="-" * 8,  # never hashed: the account gets NO_PASSWORD
    )
    try:
        data = users.check_binding(session, data)
    except Invalid as exc:  # the deployment's settings name no valid county or unit: refuse, clearly
        raise Forbidden(f"自动开通账号的配置有误：{exc.message}", code="sso_jit_misconfigured") from exc
    if jit.county_id is not None and data.county_id != jit.county_id:
        raise Forbidden("自动开通账号的配置有误：所配单位不属于所配县", code="sso_jit_misconfigured")
    user = User.model_validate(data, update={"password_hash": NO_PASSWORD})
    session.add(user)
    session.flush()
    audit.record(
        session,
        principal=None,
        action="user.create",
        object_type="user",
        object_id=user.id,  # type: ignore[arg-type]
        county_id=user.county_id,
        after={**(audit.snapshot(user, "username", "role", "unit_id") or {}), "source": who.provider},
    )
    return user


def record_success(session: Session, *, user: User, who: ExternalIdentity, how: str, client: str) -> None:
    """The audit entry of a successful unified login, in the login's own transaction."""
    audit.record(
        session,
        principal=principal_for(session, user),
        action="auth.sso_login",
        object_type="user",
        object_id=user.id,  # type: ignore[arg-type]
        county_id=user.county_id,
        after={"provider": who.provider, "subject": who.subject, "matched_by": how, "client": client[:64]},
    )


def record_refusal(*, provider: str, reason: str, subject: str | None, client: str) -> None:
    """The audit entry of a refused unified login, in a transaction of its own (the request's rolls back)."""
    with session_scope() as session:
        audit.record(
            session,
            principal=None,
            action="auth.sso_refused",
            object_type="sso_login",
            object_id=provider,
            after={"provider": provider, "reason": reason, "subject": subject, "client": client[:64]},
        )


def link(session: Session, *, username: str, provider: str, subject: str) -> SsoIdentity:
    """Store an external subject for an account ahead of its first login (an administrator's act, audited);
    Conflict when either side is linked already."""
    if provider not in PROVIDER_NAMES:
        raise Invalid("provider 只能是 oidc 或 dingtalk", code="sso_provider_invalid")
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.id is None:
        raise NotFound("未找到该用户", code="user_not_found")
    taken = session.exec(
        select(SsoIdentity).where(
            SsoIdentity.provider == provider,
            or_(SsoIdentity.subject == subject, SsoIdentity.user_id == user.id),  # type: ignore[arg-type]
        )
    ).first()
    if taken is not None:
        raise Conflict("该身份或该账号已有关联，请先解除", code="sso_identity_taken")
    row = SsoIdentity(provider=provider, subject=subject, user_id=user.id)
    session.add(row)
    session.flush()
    _audit_link(session, "sso_identity.link", user, row)
    return row


def unlink(session: Session, *, provider: str, subject: str) -> SsoIdentity:
    """Remove an external subject's link (audited): its next login is matched afresh, or refused."""
    row = session.exec(
        select(SsoIdentity).where(SsoIdentity.provider == provider, SsoIdentity.subject == subject)
    ).first()
    if row is None:
        raise NotFound("未找到该关联", code="sso_identity_not_found")
    user = session.get(User, row.user_id)
    assert user is not None
    session.delete(row)
    session.flush()
    _audit_link(session, "sso_identity.unlink", user, row)
    return row


def _audit_link(session: Session, action: str, user: User, row: SsoIdentity) -> None:
    audit.record(
        session,
        principal=None,
        action=action,
        object_type="user",
        object_id=user.id,  # type: ignore[arg-type]
        county_id=user.county_id,
        after={"provider": row.provider, "subject": row.subject, "username": user.username},
    )
