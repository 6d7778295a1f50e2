"""Read models of a campaign's state: progress counts and the deadline board (nothing stored)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

_ID = "该组的编号（整数）：单位、板块、一级/二级指标或创建活动的 id；未归入一级/二级指标的一组为 null"
_CODE = "板块代码（按板块分组时，如 indicator、bonus），其他分组为 null"


class Grouping(StrEnum):
    campaign = "campaign"
    section = "section"
    level1 = "level1"
    level2 = "level2"
    unit = "unit"


class ProgressRow(BaseModel):
    """Assignment counts of one group: the four workflow statuses add up to total; overdue counts, among the
    not started and returned ones, those past their due date."""

    id: int | None = Field(description=_ID)
    code: str | None = Field(default=None, description=_CODE)
    label: str
    total: int
    not_started: int
    submitted: int
    returned: int
    approved: int
    overdue: int  # not started or returned, past the due date (already counted in its status)
    submitted_pct: float  # submitted or approved, of total (报送率)
    approved_pct: float  # approved, of total (完成率)


class ProgressReport(BaseModel):
    """A campaign's progress as of a date, in the groupings asked for."""

    campaign_id: int
    as_of: date
    groups: dict[Grouping, list[ProgressRow]]


class DeadlineRow(BaseModel):
    """What needs chasing in one unit or one level-1 indicator."""

    id: int | None = Field(description=_ID)
    label: str
    overdue: int
    due_soon: int
    returned: int  # returned for supplement (退回补充), waiting for the unit


class DeadlineBoard(BaseModel):
    """Who is late: overdue, due within N working days, returned-and-waiting, by unit and by level 1."""

    campaign_id: int
    as_of: date
    due_soon_until: date
    provisional: bool = False  # the horizon crossed a year whose holidays nobody has loaded: weekends only
    totals: DeadlineRow
    by_unit: list[DeadlineRow]
    by_level1: list[DeadlineRow]
