"""A unit's deadlines as an iCalendar feed (RFC 5545, written with the icalendar library) for the liaisons'
calendar apps.

Calendar apps cannot send a bearer token, so the feed takes a token of its own in the URL: signed,
for one unit only, with an audience the API refuses, and re-checked against the account on every
fetch (a disabled account or a moved liaison stops the feed).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Alarm, Calendar, Event, vText
from sqlmodel import Session, col, select

from app.models import Assignment, Campaign, Item, Unit, User
from app.models._base import COUNTY_ZONE, utcnow
from app.models.campaign import AssignmentStatus, status_label
from app.models.framework import FrameworkSection, item_label
from app.models.supervision import LIGHT_LABEL, Light
from app.models.user import Role
from app.services import auth
from app.services.access import Principal, campaign_scope, county_scope, principal_for, unit_scope
from app.services.calendar import lights
from app.services.errors import Forbidden, NotFound, Unauthorized
from app.settings import get_settings

FEED_DAYS = 365
_OPEN = (AssignmentStatus.not_started, AssignmentStatus.returned)  # still waiting on the unit


FEED_ROLES = (Role.liaison, Role.office, Role.system_admin)


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


def uid_domain() -> str:
    """The right-hand side of every event UID: where this deployment is reached (SHIFAN_PUBLIC_URL's host and
    path, unique to it by definition), or without that setting an id made once for the deployment (./var)."""
    settings = get_settings()
    parts = urlsplit(settings.public_url)
    if parts.hostname:
        return parts.hostname + parts.path.rstrip("/")
    return f"{settings.instance_id()}.shifan.invalid"


def _render(session: Session, *, unit: Unit, principal: Principal, today: date) -> str:
    """VCALENDAR text: one all-day event per unfinished assignment of the unit, with a reminder the day before."""
    book = lights.book(session, today=today, where=campaign_scope(principal))
    lit = lights.of_assignment(book)
    rows = session.exec(
        select(Assignment, Item.number, Item.text, FrameworkSection.name, FrameworkSection.position, Campaign.name, lit)
        .join(Item, col(Item.id) == Assignment.item_id)
        .join(FrameworkSection, col(FrameworkSection.id) == Item.section_id)
        .join(Campaign, col(Campaign.id) == Assignment.campaign_id)
        .where(
            Assignment.unit_id == unit.id,
            campaign_scope(principal),
            Assignment.status != AssignmentStatus.approved,
        )
        .order_by(Assignment.due_on, Item.position)
    ).all()
    stamp = utcnow().replace(microsecond=0)
    domain = uid_domain()
    calendar = Calendar()
    calendar.add("prodid", "-//Shifan//示范创建截止日历//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", vText(f"{unit.name}·示范创建截止日期"))
    calendar.add("x-wr-timezone", vText(COUNTY_ZONE.key))
    for assignment, number, text, section_name, section_position, campaign_name, light in rows:
        due: date = assignment.due_on
        label = item_label(number, section_name, section_position)
        lamp = LIGHT_LABEL[Light(light)]
        summary = f"【截止】{label} {text[:40]}" + (f"【{lamp}】" if lamp else "")
        overdue = assignment.status in _OPEN and assignment.due_on < today
        event = Event()
        event.add("uid", f"assignment-{assignment.id}@{domain}")
        event.add("dtstamp", stamp)
        event.add("dtstart", due)
        event.add("dtend", due + timedelta(days=1))
        event.add("summary", summary)
        event.add(
            "description",
            f"{campaign_name}\n{label}：{text}\n"
            + (f"预警：{lamp}\n" if lamp else "")
            + f"当前状态：{status_label(assignment.status, overdue=overdue)}",
        )
        if lamp:
            event.add("categories", [lamp])
        event.add("transp", "TRANSPARENT")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", timedelta(days=-1))
        event.add_component(alarm)
        calendar.add_component(event)
    return calendar.to_ical().decode()
