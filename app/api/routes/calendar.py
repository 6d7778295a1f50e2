"""China's working-day calendar (工作日, 调休), for clients that set or show deadlines; the holiday notices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import CurrentPrincipal, PageDep, SessionDep, Today, public_base
from app.api.openapi import binary
from app.models.calendar import CalendarYearIn, CalendarYearPublic
from app.models.campaign import DayUnit, DueIn
from app.models.common import Page
from app.services.calendar import holidays, ics, workdays

router = APIRouter(prefix="/calendar", tags=["calendar"])


class DueAnswer(BaseModel):
    """The date N calendar or working days after a start; provisional when a year on the way has no
    holiday calendar yet (weekends only were counted)."""

    from_date: date
    days: int
    unit: DayUnit
    due_on: date
    provisional: bool
    calendar_covers: list[int] = Field(
        min_length=2, max_length=2, description="内置日历覆盖的首年与末年（已载入的年度通知另计）"
    )


@router.get("/due", response_model=DueAnswer)
def compute_due(
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    days: Annotated[int, Query(ge=0, le=366)],
    unit: DayUnit = DayUnit.workdays,
    from_date: date | None = None,
) -> DueAnswer:
    """The due date N calendar or working days after a date (default today); `provisional` past the known years."""
    start = from_date or today
    calendar = workdays.read(session)
    due_on = calendar.resolve(DueIn(days=days, unit=unit, from_date=start), today)
    return DueAnswer(
        from_date=start,
        days=days,
        unit=unit,
        due_on=due_on,
        provisional=calendar.provisional(start, due_on, unit),
        calendar_covers=[workdays.LIBRARY_FIRST_YEAR, workdays.LIBRARY_LAST_YEAR],
    )


@router.get("/years", response_model=Page[CalendarYearPublic])
def read_calendar_years(session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[CalendarYearPublic]:
    """The years whose holiday notice was loaded (they win over the built-in calendar), oldest first."""
    years = holidays.list_years(session)
    return page.of(years[page.offset : page.offset + page.limit], len(years))


@router.put("/years/{year}", response_model=CalendarYearPublic)
def put_calendar_year(
    year: int, data: CalendarYearIn, session: SessionDep, who: CurrentPrincipal
) -> CalendarYearPublic:
    """Load (or replace) a year's holiday notice: each festival's days off and 调休 make-up workdays; admin only."""
    return holidays.load_year(session, year=year, data=data, principal=who)


class FeedLink(BaseModel):
    """A calendar subscription address for one unit's deadlines."""

    url: str
    expires_at: datetime


@router.get("/units/{unit_id}/link", response_model=FeedLink)
def read_feed_link(unit_id: int, request: Request, session: SessionDep, who: CurrentPrincipal) -> FeedLink:
    """A subscription address (webcal-ready .ics) for the unit's deadlines: its liaison or the county office."""
    token, expires = ics.feed_link(session, unit_id=unit_id, principal=who)
    path = request.app.url_path_for("unit_deadline_feed", unit_id=unit_id)
    return FeedLink(url=f"{public_base(request)}{path}?{urlencode({'token': token})}", expires_at=expires)


@router.get(
    "/units/{unit_id}/deadlines.ics",
    name="unit_deadline_feed",
    response_class=Response,
    responses=binary("text/calendar", "iCalendar 订阅", named=False),
)
def unit_deadline_feed(
    unit_id: int, session: SessionDep, today: Today, token: Annotated[str, Query(max_length=2000)]
) -> Response:
    """The unit's unfinished assignments as all-day iCalendar events (token from /calendar/units/{id}/link)."""
    feed = ics.feed(session, token=token, unit_id=unit_id, today=today)
    return Response(feed, media_type="text/calendar; charset=utf-8")
