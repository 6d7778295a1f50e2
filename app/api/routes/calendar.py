"""China's working-day calendar (工作日, 调休), for clients that set or show deadlines."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import CurrentPrincipal, SessionDep, Today
from app.api.openapi import binary
from app.models.campaign import DayUnit, DueIn
from app.services.calendar import ics, workdays

router = APIRouter(prefix="/calendar", tags=["calendar"])


class DueAnswer(BaseModel):
    """The date N calendar or working days after a start, and the years the calendar covers."""

    from_date: date
    days: int
    unit: DayUnit
    due_on: date
    calendar_covers: list[int] = Field(min_length=2, max_length=2, description="日历覆盖的首年与末年")


@router.get("/due", response_model=DueAnswer)
def compute_due(
    who: CurrentPrincipal,
    today: Today,
    days: Annotated[int, Query(ge=0, le=366)],
    unit: DayUnit = DayUnit.workdays,
    from_date: date | None = None,
) -> DueAnswer:
    """The due date N calendar or working days after a date (default today); 422 outside the calendar's years."""
    start = from_date or today
    return DueAnswer(
        from_date=start,
        days=days,
        unit=unit,
        due_on=workdays.resolve(DueIn(days=days, unit=unit, from_date=start), today),
        calendar_covers=[workdays.FIRST_YEAR, workdays.LAST_YEAR],
    )


class FeedLink(BaseModel):
    """A calendar subscription address for one unit's deadlines."""

    url: str
    expires_at: datetime


@router.get("/units/{unit_id}/link", response_model=FeedLink)
def read_feed_link(unit_id: int, request: Request, session: SessionDep, who: CurrentPrincipal) -> FeedLink:
    """A subscription address (webcal-ready .ics) for the unit's deadlines: its liaison or the county office."""
    token, expires = ics.feed_link(session, unit_id=unit_id, principal=who)
    url = request.url_for("unit_deadline_feed", unit_id=unit_id).include_query_params(token=token)
    return FeedLink(url=str(url), expires_at=expires)


@router.get(
    "/units/{unit_id}/deadlines.ics",
    name="unit_deadline_feed",
    response_class=Response,
    responses=binary("text/calendar", "iCalendar 订阅"),
)
def unit_deadline_feed(unit_id: int, session: SessionDep, token: Annotated[str, Query(max_length=2000)]) -> Response:
    """The unit's unfinished assignments as all-day iCalendar events (token from /calendar/units/{id}/link)."""
    return Response(ics.feed(session, token=token, unit_id=unit_id), media_type="text/calendar; charset=utf-8")
