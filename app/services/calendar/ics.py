"""A unit's deadlines as an iCalendar feed (RFC 5545) for the liaisons' calendar apps.

Calendar apps cannot send a bearer token, so the feed takes a token of its own in the URL: signed,
for one unit only, with an audience the API refuses, and re-checked against the account on every
fetch (a disabled account or a moved liaison stops the feed).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Item, Unit, User
from app.models._base import utcnow
from app.models.campaign import AssignmentStatus, status_label
from app.models.user import Role
from app.services import auth
from app.services.access import Principal, campaign_scope, county_scope, principal_for, unit_scope
from app.services.errors import Forbidden, NotFound, Unauthorized

FEED_DAYS = 365
_OPEN = (AssignmentStatus.not_started, AssignmentStatus.returned)  # still waiting on the unit


FEED_ROLES = (Role.liaison, Role.office, Role.admin)


def _unit_for(session: Session, principal: Principal, unit_id: int) -> Unit:
    """The unit, if the caller may follow its deadlines (its liaison, its county's office, an admin)."""
    if principal.role not in FEED_ROLES:
        raise Forbidden("只有单位联络员和依法治县办可以订阅截止日历", code="feed_not_allowed")
    unit = session.exec(
        select(Unit).where(
            Unit.id == unit_id, county_scope(principal, col(Unit.county_id)), unit_scope(principal, col(Unit.id))
        )
    ).first()
    if unit is None:
        raise NotFound("未找到该单位", code="unit_not_found")
    return unit


def feed_link(session: Session, *, unit_id: int, principal: Principal) -> tuple[str, datetime]:
    """A feed token for the unit's deadlines."""
    _unit_for(session, principal, unit_id)
    return auth.issue_feed_token(user_id=principal.user_id, unit_id=unit_id, ttl=timedelta(days=FEED_DAYS))


def feed(session: Session, *, token: str, unit_id: int, today: date) -> str:
    """The unit's feed for a feed token: its account must still be active and still allowed to read the unit."""
    user_id, token_unit = auth.decode_feed_token(token)
    if token_unit != unit_id:
        raise Unauthorized("该订阅链接不属于此单位", code="feed_token_invalid")
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("账号不存在或已停用", code="account_disabled")
    principal = principal_for(session, user)
    return _render(session, unit=_unit_for(session, principal, unit_id), principal=principal, today=today)


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (RFC 5545 §3.1)."""
    out, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode())
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def _render(session: Session, *, unit: Unit, principal: Principal, today: date) -> str:
    """VCALENDAR text: one all-day event per unfinished assignment of the unit, with a reminder the day before."""
    rows = session.exec(
        select(Assignment, Item.key, Item.text, Campaign.name)
        .join(Item, col(Item.id) == Assignment.item_id)
        .join(Campaign, col(Campaign.id) == Assignment.campaign_id)
        .where(
            Assignment.unit_id == unit.id,
            campaign_scope(principal),
            Assignment.status != AssignmentStatus.approved,
        )
        .order_by(Assignment.due_on, Item.position)
    ).all()
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Shifan//示范创建截止日历//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(unit.name)}·示范创建截止日期",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ]
    for assignment, key, text, campaign_name in rows:
        due: date = assignment.due_on
        summary = f"【截止】{key} {text[:40]}"
        overdue = assignment.status in _OPEN and assignment.due_on < today
        description = f"{campaign_name}\n{key}：{text}\n当前状态：{status_label(assignment.status, overdue=overdue)}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:assignment-{assignment.id}@shifan",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{due:%Y%m%d}",
            f"DTEND;VALUE=DATE:{due + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_escape(summary)}",
            f"DESCRIPTION:{_escape(description)}",
            "TRANSP:TRANSPARENT",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{_escape(summary)}",
            "TRIGGER:-P1D",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
