"""The caller: who they are, and a liaison's to-do list."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from app.api.deps import CurrentPrincipal, PageDep, ReadDep, SortDep, Today
from app.api.routes.campaigns import assignment_page
from app.models.campaign import AssignmentPage, AssignmentStatus
from app.models.user import Role
from app.services.calendar import workdays
from app.services.campaign import assignments
from app.services.campaign.assignments import AssignmentFilter

router = APIRouter(prefix="/me", tags=["me"])


class MePublic(BaseModel):
    """The caller's identity and binding."""

    user_id: int
    username: str
    role: Role
    county_id: int | None
    unit_id: int | None
    campaign_ids: list[int]


@router.get("", response_model=MePublic)
def read_me(who: CurrentPrincipal) -> MePublic:
    """Who the token belongs to, with the county, unit or campaigns it is bound to."""
    return MePublic(
        user_id=who.user_id,
        username=who.username,
        role=who.role,
        county_id=who.county_id,
        unit_id=who.unit_id,
        campaign_ids=sorted(who.campaign_ids),
    )


@router.get("/assignments", response_model=AssignmentPage)
async def list_my_assignments(
    read: ReadDep,
    page: PageDep,
    today: Today,
    campaign_id: int | None = None,
    status: Annotated[AssignmentStatus | None, Query(description="流程状态（逾期与否都算）")] = None,
    overdue: Annotated[bool | None, Query(description="true：已逾期（未报送或退回补充且已过截止日期）")] = None,
    due_before: date | None = None,
    due_within_workdays: Annotated[
        int | None, Query(ge=0, le=workdays.MAX_WITHIN_WORKDAYS, description="N个工作日内到期（未逾期）")
    ] = None,
    sort: SortDep = "due_on",
) -> Response:
    """A liaison's to-do list: its unit's assignments, soonest due first."""
    asked = AssignmentFilter(
        campaign_id=campaign_id,
        status=status,
        overdue=overdue,
        due_before=due_before,
        due_within_workdays=due_within_workdays,
        sort=sort,
    )

    return await read(
        lambda session, who: assignment_page(session, who, assignments.my_todo_filter(who, asked), page, today)
    )
