"""The caller: who they are, and a liaison's to-do list."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.api.deps import CurrentPrincipal, PageDep, PasswordChanger, ReadDep, SessionDep, SortDep, Today
from app.api.routes.campaigns import assignment_page
from app.models.campaign import AssignmentPage, AssignmentStatus
from app.models.supervision import Light
from app.models.user import Role
from app.services.accounts import passwords
from app.services.calendar import workdays
from app.services.campaign import assignments, campaigns
from app.services.campaign.assignments import AssignmentFilter

router = APIRouter(prefix="/me", tags=["me"])


class MyCampaign(BaseModel):
    """A campaign the caller works in."""

    id: int
    name: str
    county_id: int


class MePublic(BaseModel):
    """The caller's identity and binding, and the campaigns it works in."""

    user_id: int
    username: str
    role: Role
    county_id: int | None
    unit_id: int | None
    campaign_ids: list[int] = Field(
        description="所参与的创建活动：依法治县办为本县的，联络员为本单位有任务的，第三方评估机构为受委托的，"
        "省（市）为辖区内的，系统管理员为全部（安全管理员、安全审计员无）"
    )
    campaigns: list[MyCampaign] = Field(description="同 campaign_ids，附名称")


@router.get("", response_model=MePublic)
def read_me(who: CurrentPrincipal, session: SessionDep) -> MePublic:
    """Who the token belongs to, with the county or unit it is bound to and the campaigns it works in."""
    found = campaigns.working_in(session, principal=who)
    return MePublic(
        user_id=who.user_id,
        username=who.username,
        role=who.role,
        county_id=who.county_id,
        unit_id=who.unit_id,
        campaign_ids=[c.id for c in found],  # type: ignore[misc]
        campaigns=[MyCampaign(id=c.id, name=c.name, county_id=c.county_id) for c in found],  # type: ignore[arg-type]
    )


class PasswordChange(BaseModel):
    """Body of POST /me/password."""

    current_password: str = Field(max_length=128, json_schema_extra={"format": "password"})
    new_password: str = Field(max_length=128, json_schema_extra={"format": "password"})


@router.post("/password", status_code=204)
def change_my_password(data: PasswordChange, session: SessionDep, who: PasswordChanger) -> Response:
    """Change the caller's own password (the one call an expired or administrator-set password still allows)."""
    passwords.change_own(session, principal=who, current_password=data.current_password, new_password=data.new_password)
    return Response(status_code=204)


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
    light: Annotated[Light | None, Query(description="预警灯：blue 蓝、yellow 黄、red 红、none 无")] = None,
    sort: SortDep = "due_on",
) -> Response:
    """A liaison's to-do list: its unit's assignments, soonest due first."""
    asked = AssignmentFilter(
        campaign_id=campaign_id,
        status=status,
        overdue=overdue,
        due_before=due_before,
        due_within_workdays=due_within_workdays,
        light=light,
        sort=sort,
    )

    return await read(
        lambda session, who: assignment_page(session, who, assignments.my_todo_filter(who, asked), page, today)
    )
