"""Who is calling (Principal) and which rows they may see: the one place for tenancy rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, true
from sqlmodel import Session, col, select

from app import kept
from app.db import prepared
from app.models import Campaign, Engagement, LoginSession, PasswordPolicy, Region, ScriptToken, User
from app.models._base import utcnow
from app.models.user import Role
from app.services.auth import decode_token
from app.services.errors import Forbidden, Unauthorized
from app.settings import get_settings


@dataclass(frozen=True)
class Principal:
    """The authenticated caller and the scope their role binds them to."""

    user_id: int
    username: str
    role: Role
    county_id: int | None = None
    unit_id: int | None = None
    region_path: str | None = None
    campaign_ids: frozenset[int] = field(default_factory=frozenset)
    session_id: int | None = None  # the login session of an access token (None: a script token)

    def require(self, *roles: Role) -> None:
        """Forbidden unless the caller has one of roles."""
        if self.role not in roles:
            raise Forbidden()


def authenticate(session: Session, token: str, *, password_change: bool = False) -> Principal:
    """The principal a bearer token stands for; Unauthorized if it is not (or no longer) valid."""
    return principal_of_claims(session, decode_token(token), password_change=password_change)


# What authentication reads of an account: plain columns, not the ORM object (every request reads it), with the
# password policy's expiry in the same read (issue 23).
_ACCOUNT = (
    User.id, User.username, User.role, User.is_active, User.county_id, User.unit_id, User.region_id,
    User.password_changed_at, User.must_change_password, PasswordPolicy.max_age_days,
)  # fmt: skip
# … and of an access token's login session (its primary key, in the same query)
_SESSION = (LoginSession.started_at, LoginSession.refreshed_at, LoginSession.ended_at)


# the policy's default when no policy row is stored (read once: building a SQLModel object per request costs more
# than the account read itself)
_DEFAULT_MAX_AGE_DAYS: int = PasswordPolicy.model_fields["max_age_days"].default


def password_stale(user: Any, max_age_days: int | None, *, now: datetime | None = None) -> tuple[str, str] | None:
    """(code, message) when the account's password must be changed before anything else (set by an administrator,
    or older than the policy allows), else None; user is an account or a row of its _ACCOUNT columns."""
    how = "请先修改密码（POST /api/v1/me/password，提交 current_password 和 new_password）再进行其他操作"
    if user.must_change_password:
        return "password_change_required", f"管理员设置或重置了您的密码，{how}"
    days = max_age_days or _DEFAULT_MAX_AGE_DAYS
    if (now or utcnow()) >= user.password_changed_at + timedelta(days=days):
        return "password_expired", f"密码已超过 {days} 天未更换，已过期，{how}"
    return None


def _account_statement(kind: str) -> Any:
    """The account (with the password policy's expiry, and an access token's login session) of :user_id (:sid), and
    the database's read generation (what this process keeps between requests is checked by it: app/kept.py)."""
    query = select(*_ACCOUNT, kept.generation_column()).select_from(User)
    query = query.outerjoin(PasswordPolicy, col(PasswordPolicy.id) == 1)
    if kind == "access":
        joined = and_(LoginSession.id == bindparam("sid"), LoginSession.user_id == User.id)
        query = query.add_columns(*_SESSION).outerjoin(LoginSession, joined)  # type: ignore[arg-type]
    return query.where(User.id == bindparam("user_id"))


def _script_token_statement() -> Any:
    return select(ScriptToken.revoked_at, ScriptToken.user_id).where(ScriptToken.jti == bindparam("jti"))


def _first(session: Session, key: tuple[Any, ...], build: Callable[[], Any], values: dict[str, Any]) -> Any:
    """The first row of a statement compiled once (every request reads the account), by column name; or None."""
    statement = prepared(session, key, build)
    rows = statement.run(session, values)
    return SimpleNamespace(**dict(zip(statement.keys, rows[0], strict=True))) if rows else None


def principal_of_claims(session: Session, claims: dict, *, password_change: bool = False) -> Principal:
    """The principal of a token's verified claims, checked against the database: Unauthorized when the
    account is gone, disabled or holds another role now, the access token's login session has ended (logout,
    idle or absolute limit, ended by its owner or the security administrator), or the script token was revoked;
    Forbidden when its password must be changed first (a login token only, and not for the change itself:
    password_change). The account, the password policy and an access token's session are read in one query."""
    sid = claims.get("sid")
    kind = claims["kind"]
    if kind == "access" and type(sid) is not int:  # issued before sessions existed, or not by this service
        raise Unauthorized("令牌内容不完整，请重新登录", code="token_invalid")
    values = {"user_id": int(claims["sub"]), "sid": sid} if kind == "access" else {"user_id": int(claims["sub"])}
    shape = "access" if kind == "access" else "other"
    user = _first(session, ("account", shape), lambda: _account_statement(shape), values)
    if user is None or not user.is_active:
        raise Unauthorized("账号不存在或已停用", code="account_disabled")
    kept.note_generation(session, user.read_generation)
    if claims["role"] != user.role:
        raise Unauthorized("账号角色已变更，请重新登录", code="token_invalid")
    if kind == "access":
        if user.started_at is None:
            raise Unauthorized("本次登录已结束，请重新登录", code="session_ended")
        refused = session_refusal(
            started_at=user.started_at, refreshed_at=user.refreshed_at, ended_at=user.ended_at, now=utcnow()
        )
        if refused is not None:
            raise refused
        if not password_change and (stale := password_stale(user, user.max_age_days)) is not None:
            raise Forbidden(stale[1], code=stale[0])
        return principal_for(session, user, session_id=sid)
    if kind == "script":
        row = _first(session, ("script_token",), _script_token_statement, {"jti": claims.get("jti")})
        if row is None or row.revoked_at is not None or row.user_id != user.id:
            raise Unauthorized("该接口令牌已被吊销", code="token_revoked")
    return principal_for(session, user)


# When a login session no longer stands: one rule for the access-token check above and the refresh
# (app/services/accounts/sessions.py).
def idle_deadline(refreshed_at: datetime) -> datetime:
    """The moment a session not refreshed since refreshed_at ends."""
    return refreshed_at + timedelta(minutes=get_settings().session_idle_minutes)


def absolute_deadline(started_at: datetime) -> datetime:
    """The moment a session started at started_at ends, refreshed or not."""
    return started_at + timedelta(hours=get_settings().session_absolute_hours)


def session_refusal(
    *, started_at: datetime, refreshed_at: datetime, ended_at: datetime | None, now: datetime
) -> Unauthorized | None:
    """Why the session no longer stands (an error to raise), or None while it does."""
    settings = get_settings()
    if ended_at is not None:
        return Unauthorized("本次登录已结束（已退出或已被结束），请重新登录", code="session_ended")
    if now >= absolute_deadline(started_at):
        hours = settings.session_absolute_hours
        return Unauthorized(f"登录已满 {hours} 小时，为安全起见请重新登录", code="session_expired")
    if now >= idle_deadline(refreshed_at):
        minutes = settings.session_idle_minutes
        return Unauthorized(f"超过 {minutes} 分钟未操作，登录已失效，请重新登录", code="session_idle")
    return None


def principal_for(session: Session, user: User | Any, *, session_id: int | None = None) -> Principal:
    """The principal of user (the account, or a row of its _ACCOUNT columns), with the scope of their role loaded."""
    assert user.id is not None
    role = Role(user.role)
    region_path = None
    campaign_ids: frozenset[int] = frozenset()
    if role == Role.province and user.region_id is not None:
        region = session.get(Region, user.region_id)
        region_path = region.path if region else None
    if role == Role.evaluator:
        rows = session.exec(select(Engagement.campaign_id).where(Engagement.user_id == user.id))
        campaign_ids = frozenset(rows.all())
    return Principal(
        user_id=user.id,
        username=user.username,
        role=role,
        county_id=user.county_id,
        unit_id=user.unit_id,
        region_path=region_path,
        campaign_ids=campaign_ids,
        session_id=session_id,
    )


def county_scope(principal: Principal, county_column: ColumnElement[int]) -> ColumnElement[bool]:
    """Condition on a county id column: the counties whose units and users the caller may see."""
    if principal.role == Role.system_admin:
        return true()
    if principal.role in (Role.office, Role.liaison):
        return county_column == principal.county_id
    if principal.role == Role.province and principal.region_path:
        return county_column.in_(select(Region.id).where(col(Region.path).startswith(principal.region_path)))
    if principal.role == Role.evaluator and principal.campaign_ids:
        return county_column.in_(select(Campaign.county_id).where(col(Campaign.id).in_(principal.campaign_ids)))
    return false()


def campaign_scope(principal: Principal) -> ColumnElement[bool]:
    """Condition on Campaign: the campaigns the caller may read."""
    if principal.role == Role.evaluator:
        return col(Campaign.id).in_(principal.campaign_ids) if principal.campaign_ids else false()
    return county_scope(principal, col(Campaign.county_id))


def unit_scope(principal: Principal, unit_column: ColumnElement[int]) -> ColumnElement[bool]:
    """Condition on a unit id column (assignments, evidence): a liaison sees only its own unit's."""
    if principal.role == Role.liaison:
        return unit_column == principal.unit_id
    return true()


# What of a principal is not part of its scope: its name (the user_id says who) and its login session
_NOT_SCOPE = frozenset({"username", "session_id"})


def scope_key(principal: Principal) -> tuple[Any, ...]:
    """What a statement built from the conditions above may depend on for this caller — every field of Principal
    but its name and login session (a field added later is in the key without anyone remembering to add it) — and
    the rules themselves, looked up as this module's names when called, so a rule replaced at run time (a test's
    monkeypatch) never meets a statement compiled from the old one. The key of statements compiled once."""
    rules = (county_scope, campaign_scope, unit_scope)
    return (*(getattr(principal, f.name) for f in fields(Principal) if f.name not in _NOT_SCOPE), *rules)
