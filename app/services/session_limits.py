"""When a login session no longer stands (ended, idle too long, too old): one rule for the access-token check
(app/services/access.py) and the refresh (app/services/accounts/sessions.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.services.errors import Unauthorized
from app.settings import get_settings


def idle_deadline(refreshed_at: datetime) -> datetime:
    """The moment a session not refreshed since refreshed_at ends."""
    return refreshed_at + timedelta(minutes=get_settings().session_idle_minutes)


def absolute_deadline(started_at: datetime) -> datetime:
    """The moment a session started at started_at ends, refreshed or not."""
    return started_at + timedelta(hours=get_settings().session_absolute_hours)


def refusal(
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
