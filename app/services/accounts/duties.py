"""The security administrator's work on accounts (三员分立, issue 23): role grants (no account ever holds two
administrator duties, nobody grants themselves), the accounts' password and lockout state, unlocks."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlmodel import Session, select

from app.models import User
from app.models.user import ADMIN_DUTIES, Role, UserCreate
from app.services.access import Principal
from app.services.accounts import login_throttle, passwords, users
from app.services.errors import Conflict, Forbidden, NotFound
from app.services.platform import audit

DUTY_NAMES = {Role.system_admin: "系统管理员", Role.security_admin: "安全管理员", Role.audit_admin: "安全审计员"}


class RoleGrant(BaseModel):
    """Body of PUT /security/accounts/{id}/role: the role and the binding it needs (as when creating an account)."""

    role: Role
    county_id: int | None = None
    unit_id: int | None = None
    region_id: int | None = None


class AccountSecurity(BaseModel):
    """An account as the security administrator sees it: role, password state and lockout."""

    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    must_change_password: bool
    password_changed_at: datetime
    password_expires_at: datetime
    locked_until: datetime | None


def _account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("未找到该用户", code="user_not_found")
    return user


def accounts(session: Session, *, principal: Principal) -> list[AccountSecurity]:
    """Every account with its password state and lockout, by id."""
    principal.require(Role.security_admin)
    return _views(session, list(session.exec(select(User).order_by(User.id)).all()))  # type: ignore[arg-type]


def _views(session: Session, rows: list[User]) -> list[AccountSecurity]:
    locked = passwords.locks(session, usernames=[u.username for u in rows] if len(rows) == 1 else None)
    days = timedelta(days=passwords.policy(session).max_age_days)
    return [
        AccountSecurity(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            role=Role(u.role),
            is_active=u.is_active,
            must_change_password=u.must_change_password,
            password_changed_at=u.password_changed_at,
            password_expires_at=u.password_changed_at + days,
            locked_until=locked.get(login_throttle.name_key(u.username)),
        )
        for u in rows
    ]


def _binding(user: User) -> dict[str, object]:
    return {"role": str(user.role), "county_id": user.county_id, "unit_id": user.unit_id, "region_id": user.region_id}


def grant_role(session: Session, *, user_id: int, grant: RoleGrant, principal: Principal) -> User:
    """Give an account a business role (with its binding): an administrator keeps its one duty for good, no account
    becomes an administrator here, and nobody changes their own role. The account's tokens stop working (they name
    the old role); audited."""
    principal.require(Role.security_admin)
    user = _account(session, user_id)
    if user.id == principal.user_id:
        raise Forbidden("不能变更自己的角色", code="role_grant_self")
    held = Role(user.role)
    if held in ADMIN_DUTIES and grant.role != held:
        raise Conflict(
            f"该账号已担任{DUTY_NAMES[held]}，一个账号只能担任一种管理员职责（三员分立），不能再授予其他角色；请另建账号",
            code="duty_conflict",
        )
    if grant.role in ADMIN_DUTIES and held != grant.role:
        # whoever created the account knew its first password and could have taken it over: an administrator's
        # account is made on the server, never turned into one here
        raise Forbidden(
            "管理员职责只能在服务器上授予（shifan create-user 创建管理员账号），以免创建账号的人借初始密码兼任其他职责",
            code="duty_grant_on_server",
        )
    probe = UserCreate(username=user.username, display_name=user.display_name, password="-" * 8, **grant.model_dump())
    bound = users.check_binding(session, probe)
    before = _binding(user)
    user.role, user.county_id, user.unit_id, user.region_id = (
        bound.role,
        bound.county_id,
        bound.unit_id,
        bound.region_id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, principal=principal, action="user.role.grant", object_type="user", object_id=user.id,  # type: ignore[arg-type]
        county_id=user.county_id, before=before, after=_binding(user),
    )  # fmt: skip
    return user


def unlock(session: Session, *, user_id: int, principal: Principal) -> AccountSecurity:
    """Lift an account's lockout now (idempotent); audited."""
    principal.require(Role.security_admin)
    user = _account(session, user_id)
    passwords.unlock(session, user=user, principal=principal)
    return _views(session, [user])[0]
