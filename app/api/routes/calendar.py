"""China's working-day calendar (工作日, 调休), for clients that set or show deadlines."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.api.deps import CurrentPrincipal, Today
from app.models.campaign import DayUnit, DueIn
from app.services import workdays

router = APIRouter(prefix="/calendar", tags=["calendar"])


class DueAnswer(BaseModel):
    """The date N calendar or working days after a start, and the years the calendar covers."""

    from_date: date
    days: int
    unit: DayUnit
    due_on: date
    calendar_covers: tuple[int, int]


@router.get("/due", response_model=DueAnswer)
def compute_due(
    who: CurrentPrincipal,
    today: Today,
    days: Annotated[int, Query(ge=0, le=366)],
    unit: DayUnit = DayUnit.workdays,
    from_date: date | None = None,
) -> DueAnswer:
    """The due date N calendar or working days after a date (default today); 422 outside the calendar's years."""
    spec = DueIn(days=days, unit=unit, from_date=from_date or today)
    due_on = workdays.resolve(spec, today)
    return DueAnswer(
        from_date=spec.from_date or today,
        days=days,
        unit=unit,
        due_on=due_on,
        calendar_covers=(workdays.FIRST_YEAR, workdays.LAST_YEAR),
    )
