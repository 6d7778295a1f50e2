"""Password rules (issue 23, 等保 2.0 身份鉴别): the stored policy, what a new password must be, expiry and the
change forced after an administrator sets one, and the per-account lockout after repeated failed logins.

The lockout is read from the login attempts login_throttle keeps (one memory for every instance): a name is
locked for `lockout_minutes` once `lockout_failures` failures fall within `lockout_window_minutes`, counting
only failures after its last success. It is judged by name whether or not the account exists, so a locked
answer never tells a guesser which names are real; the first lock of a real account is audited. An unlock by
the security administrator is kept as a success of the name (client "unlock"), so the failures before it no
longer count, for the lockout as for the per-name throttle."""

from __future__ import annotations

import string
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.db import session_scope
from app.models import LoginAttempt, PasswordHistory, PasswordPolicy, User
from app.models._base import COUNTY_ZONE, utcnow
from app.models.password import PasswordPolicyBase
from app.models.user import ADMIN_DUTIES, Role
from app.services import auth
from app.services.access import Principal, password_stale
from app.services.accounts import login_throttle
from app.services.errors import Forbidden, Invalid, Locked, NotFound
from app.services.messages import problem
from app.services.platform import audit

UNLOCK_CLIENT = "unlock"
_CLASSES = (set(string.ascii_uppercase), set(string.ascii_lowercase), set(string.digits))
_PLAIN = set(string.ascii_letters + string.digits)


def policy(session: Session) -> PasswordPolicy:
    """The stored policy, or the defaults when none was ever stored."""
    return session.get(PasswordPolicy, 1) or PasswordPolicy()


def read_policy(session: Session, *, principal: Principal) -> PasswordPolicy:
    """The policy in force (the security administrator)."""
    principal.require(Role.security_admin)
    return policy(session)


def update_policy(session: Session, *, data: PasswordPolicyBase, principal: Principal) -> PasswordPolicy:
    """Store a new policy (its fields' bounds keep it at least as strict as the defaults); audited."""
    principal.require(Role.security_admin)
    row = session.get(PasswordPolicy, 1)
    before = audit.snapshot(row or PasswordPolicy(), *PasswordPolicyBase.model_fields)
    row = row or PasswordPolicy(id=1)
    for name in PasswordPolicyBase.model_fields:
        setattr(row, name, getattr(data, name))
    row.updated_at, row.updated_by = utcnow(), principal.user_id
    session.add(row)
    session.flush()
    after = audit.snapshot(row, *PasswordPolicyBase.model_fields)
    audit.record(
        session, principal=principal, action="password_policy.update", object_type="password_policy",
        object_id=1, before=before, after=after,
    )  # fmt: skip
    return row


def _class_count(password: str) -> int:
    """How many of upper case, lower case, digits and symbols (anything else, Chinese characters too) it has."""
    found = sum(1 for chars in _CLASSES if any(c in chars for c in password))
    return found + (1 if any(c not in _PLAIN for c in password) else 0)


def check_new(session: Session, *, user: User | None, username: str, password: str, field: str = "password") -> None:
    """Invalid (password_too_weak, every rule it breaks named) unless password follows the policy; for an
    existing account it may not be one of its last `history` passwords either."""
    rules = policy(session)
    broken = []
    if len(password) < rules.min_length:
        broken.append(f"至少 {rules.min_length} 个字符")
    if _class_count(password) < rules.min_classes:
        broken.append(f"须包含大写字母、小写字母、数字、符号中的至少 {rules.min_classes} 类")
    if username and username.lower() in password.lower():
        broken.append("不能包含用户名")
    if not broken and user is not None and _recently_used(session, user=user, password=password, last=rules.history):
        broken.append(f"不能与最近 {rules.history} 次使用过的密码相同")
    if broken:
        raise Invalid(
            "密码不符合要求：" + "；".join(broken),
            code="password_too_weak",
            errors=[problem((field,), reason) for reason in broken],
            in_body=True,
        )


def _recently_used(session: Session, *, user: User, password: str, last: int) -> bool:
    query = select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
    hashes = list(session.exec(query.order_by(col(PasswordHistory.id).desc()).limit(last)).all())
    hashes = hashes or [user.password_hash]  # an account from before the history was kept: its current one
    return any(auth.verify_password(password, h) for h in hashes)


def set_password(session: Session, *, user: User, password: str, by_administrator: bool) -> None:
    """Store a new password (already checked) and remember it; set by an administrator, it must be changed
    at the next login."""
    user.password_hash = auth.hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = by_administrator
    session.add(user)
    session.flush()
    assert user.id is not None
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, set_at=user.password_changed_at))
    session.flush()


# --- the lockout ---------------------------------------------------------------------------------------------


def _lock_end(times: list[datetime], rules: PasswordPolicy, now: datetime) -> datetime | None:
    """Until when failures at these times (after the last success, oldest first) lock the name, if still now."""
    window, n = timedelta(minutes=rules.lockout_window_minutes), rules.lockout_failures
    until = None
    for i in range(len(times) - n + 1):
        if times[i + n - 1] - times[i] <= window:
            until = times[i + n - 1] + timedelta(minutes=rules.lockout_minutes)
    return until if until is not None and until > now else None


def locks(session: Session, *, usernames: list[str] | None = None, now: datetime | None = None) -> dict[str, datetime]:
    """The names locked out now (all, or of usernames), with until when: two reads whatever their number."""
    rules = policy(session)
    now = now or utcnow()
    start = now - timedelta(minutes=rules.lockout_window_minutes + rules.lockout_minutes)
    names = [login_throttle.name_key(u) for u in usernames] if usernames is not None else None
    recent = col(LoginAttempt.at) > start
    if names is not None:
        recent = recent & col(LoginAttempt.username).in_(names)
    ok = select(LoginAttempt.username, func.max(LoginAttempt.at)).where(recent, col(LoginAttempt.succeeded).is_(True))
    last_ok = dict(session.exec(ok.group_by(LoginAttempt.username)).all())
    failures: dict[str, list[datetime]] = {}
    bad = select(LoginAttempt.username, LoginAttempt.at).where(recent, col(LoginAttempt.succeeded).is_(False))
    for name, at in session.exec(bad.order_by(LoginAttempt.at)).all():
        if name not in last_ok or at > last_ok[name]:
            failures.setdefault(name, []).append(at)
    found = {name: _lock_end(times, rules, now) for name, times in failures.items()}
    return {name: until for name, until in found.items() if until is not None}


def locked_until(session: Session, *, username: str, now: datetime | None = None) -> datetime | None:
    """Until when the name is locked out, or None when it is not (now)."""
    return locks(session, usernames=[username], now=now).get(login_throttle.name_key(username))


def check_login_allowed(session: Session, *, username: str) -> None:
    """Locked (423 account_locked, saying until when) while the name is locked out after repeated failures."""
    until = locked_until(session, username=username)
    if until is not None:
        local = until.astimezone(COUNTY_ZONE).strftime("%H:%M")
        raise Locked(
            f"连续登录失败次数过多，账号已锁定，请于 {local}（北京时间）后再试，或请安全管理员解锁",
            code="account_locked",
        )


def after_failed_login(*, username: str) -> None:
    """After a failure was recorded: when it locks a real account, audit the lockout (its own transaction, since
    the failed login's request rolls back)."""
    with session_scope() as session:
        until = locked_until(session, username=username)
        user = session.exec(select(User).where(User.username == username)).first()
        if until is None or user is None or user.id is None:
            return
        audit.record(
            session, principal=None, action="user.lockout", object_type="user", object_id=user.id,
            county_id=user.county_id, after={"username": user.username, "locked_until": until.isoformat()},
        )  # fmt: skip


def unlock(session: Session, *, user: User, principal: Principal) -> None:
    """Lift the account's lockout now (the security administrator); audited."""
    until = locked_until(session, username=user.username)
    session.add(LoginAttempt(username=login_throttle.name_key(user.username), client=UNLOCK_CLIENT, succeeded=True))
    session.flush()
    audit.record(
        session, principal=principal, action="user.unlock", object_type="user", object_id=user.id,  # type: ignore[arg-type]
        county_id=user.county_id, before={"locked_until": until.isoformat() if until else None},
        after={"locked_until": None},
    )  # fmt: skip


# --- changing and resetting --------------------------------------------------------------------------------


def change_own(session: Session, *, principal: Principal, current_password: str, new_password: str) -> User:
    """The caller's own password changed (the one thing an expired or reset password still allows); audited,
    never with either password."""
    user = session.get(User, principal.user_id)
    assert user is not None  # the principal was just read from it
    if not auth.verify_password(current_password, user.password_hash):
        raise Invalid(
            "当前密码不正确", code="current_password_wrong", errors=[problem(("current_password",), "当前密码不正确")],
            in_body=True,
        )  # fmt: skip
    check_new(session, user=user, username=user.username, password=new_password, field="new_password")
    forced = password_stale(user, policy(session).max_age_days)
    set_password(session, user=user, password=new_password, by_administrator=False)
    audit.record(
        session, principal=principal, action="user.password.change", object_type="user", object_id=user.id,  # type: ignore[arg-type]
        county_id=user.county_id, after={"username": user.username, "was": forced[0] if forced else "current"},
    )  # fmt: skip
    return user


def reset(session: Session, *, user_id: int, new_password: str, principal: Principal) -> User:
    """An account's password set by the system administrator; its holder must change it at the next login.
    An administrator's password is never reset this way (it would hand one duty another's account)."""
    principal.require(Role.system_admin)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("未找到该用户", code="user_not_found")
    if Role(user.role) in ADMIN_DUTIES:
        raise Forbidden(
            "管理员账号的密码只能由本人修改；遗忘时请在服务器上用 shifan reset-password 重置",
            code="duty_password_reset",
        )
    check_new(session, user=user, username=user.username, password=new_password, field="new_password")
    set_password(session, user=user, password=new_password, by_administrator=True)
    audit.record(
        session, principal=principal, action="user.password.reset", object_type="user", object_id=user.id,  # type: ignore[arg-type]
        county_id=user.county_id, after={"username": user.username, "must_change_password": True},
    )  # fmt: skip
    return user


def reset_on_server(session: Session, *, username: str, new_password: str) -> User:
    """`shifan reset-password`: any account's password set by whoever runs the server (an administrator's too);
    changed at its next login, audited as the system's."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("未找到该用户", code="user_not_found")
    check_new(session, user=user, username=user.username, password=new_password)
    set_password(session, user=user, password=new_password, by_administrator=True)
    audit.record(
        session, principal=None, action="user.password.reset", object_type="user", object_id=user.id,  # type: ignore[arg-type]
        county_id=user.county_id, after={"username": user.username, "must_change_password": True},
    )  # fmt: skip
    return user
