"""Throttling password logins across every instance (the attempts live in the database): too many
failures for one account name, or from one client address, within the window make the next attempts
wait. Names that do not exist count the same as names that do, so the answer never tells them apart.
A successful login clears the failures of its account name only, never those of its client address:
otherwise one guesser spraying passwords across many accounts could log into an account of its own
every few tries and never be throttled."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from app.db import session_scope
from app.models import LoginAttempt
from app.models._base import utcnow
from app.services.errors import TooManyRequests
from app.settings import get_settings


def _name(username: str) -> str:
    return username.strip().lower()[:64]


name_key = _name  # the name attempts are kept under (accounts/passwords.py judges the lockout by it)


def _failures_since(
    session: Session, column: object, value: str, since: datetime, *, reset_on_success: bool
) -> tuple[int, datetime | None]:
    """(failures since `since` (and, with reset_on_success, since the last success), the oldest of them)."""
    last_ok = None
    if reset_on_success:
        last_ok = session.exec(
            select(func.max(LoginAttempt.at)).where(column == value, col(LoginAttempt.succeeded).is_(True))  # type: ignore[arg-type]
        ).one()
    start = max(since, last_ok) if last_ok is not None else since
    count, oldest = session.exec(
        select(func.count(), func.min(LoginAttempt.at)).where(
            column == value,  # type: ignore[arg-type]
            col(LoginAttempt.succeeded).is_(False),
            col(LoginAttempt.at) > start,
        )
    ).one()
    return count, oldest


def check(session: Session, *, username: str, client: str, now: datetime | None = None) -> None:
    """TooManyRequests (with the seconds to wait) when the name or the client has failed too often lately."""
    settings = get_settings()
    now = now or utcnow()
    window = timedelta(minutes=settings.login_window_minutes)
    for column, value, limit, reset in (
        (LoginAttempt.username, _name(username), settings.login_failures_per_name, True),
        (LoginAttempt.client, client[:64], settings.login_failures_per_client, False),
    ):
        count, oldest = _failures_since(session, column, value, now - window, reset_on_success=reset)
        if count >= limit and oldest is not None:
            wait = max(1, int((oldest + window - now).total_seconds()) + 1)
            minutes = max(1, round(wait / 60))
            raise TooManyRequests(
                f"登录失败次数过多，请约 {minutes} 分钟后再试", code="login_throttled", retry_after=wait
            )


def record(*, username: str, client: str, succeeded: bool, now: datetime | None = None) -> None:
    """Keep one attempt, in its own transaction (a failed login's request rolls back; this must not)."""
    with session_scope() as session:
        session.add(LoginAttempt(username=_name(username), client=client[:64], succeeded=succeeded, at=now or utcnow()))


def purge(now: datetime | None = None) -> int:
    """Remove attempts older than a day; the number removed."""
    with session_scope() as session:
        result = session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) < (now or utcnow()) - timedelta(days=1)))  # type: ignore[call-overload]
        return result.rowcount or 0
