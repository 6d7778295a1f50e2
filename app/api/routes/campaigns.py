"""Campaigns: create, launch, engage evaluators, and their assignment ledger."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel
from sqlmodel import Session

from app.api.deps import CurrentPrincipal, PageDep, PageParams, ReadDep, SessionDep, SortDep, Today
from app.api.location import CREATED, created_at
from app.models.campaign import (
    AssessmentPeriod,
    AssignmentCreate,
    AssignmentPage,
    AssignmentPublic,
    AssignmentStatus,
    CampaignCreate,
    CampaignPublic,
)
from app.models.common import Page
from app.models.supervision import Light
from app.services.access import Principal
from app.services.calendar import workdays
from app.services.campaign import assignment_rows, assignments, campaigns
from app.services.campaign.assignments import AssignmentFilter

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


class LaunchReport(BaseModel):
    """What a launch created and every printed name it could not resolve."""

    created: int
    total_assignments: int
    items: int
    unresolved: list[dict[str, Any]]
    unresolved_names: list[dict[str, Any]]


class EngagementCreate(BaseModel):
    """Body of POST /campaigns/{id}/evaluators."""

    user_id: int


@router.get("", response_model=Page[CampaignPublic])
def list_campaigns(session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[CampaignPublic]:
    """The campaigns the caller may see."""
    return page.of_all(campaigns.public_list(session, campaigns.list_visible(session, principal=who)))


@router.post("", response_model=CampaignPublic, status_code=status.HTTP_201_CREATED, responses=CREATED)
def create_campaign(
    data: CampaignCreate, session: SessionDep, who: CurrentPrincipal, request: Request, response: Response
) -> CampaignPublic:
    """Create a draft campaign of the office's county on a framework, with its phases."""
    found = campaigns.to_public(session, campaigns.create(session, data=data, principal=who))
    created_at(request, response, "read_campaign", campaign_id=found.id)
    return found


@router.get("/{campaign_id}", response_model=CampaignPublic)
def read_campaign(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> CampaignPublic:
    """One campaign with its phases."""
    campaign = campaigns.get_visible(session, campaign_id=campaign_id, principal=who)
    return campaigns.to_public(session, campaign)


@router.put("/{campaign_id}/assessment-period", response_model=CampaignPublic)
def set_assessment_period(
    campaign_id: int, data: AssessmentPeriod, session: SessionDep, who: CurrentPrincipal
) -> CampaignPublic:
    """Set the assessment period (考核期); evidence whose document date falls outside it is flagged, never refused."""
    campaign = campaigns.set_assessment_period(session, campaign_id=campaign_id, data=data, principal=who)
    return campaigns.to_public(session, campaign)


@router.post("/{campaign_id}/launch", response_model=LaunchReport)
def launch_campaign(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> dict[str, Any]:
    """Resolve every unit cell and create the missing assignments; report unresolved names."""
    return campaigns.launch(session, campaign_id=campaign_id, principal=who)


@router.get("/{campaign_id}/launch-report", response_model=LaunchReport | None)
def read_launch_report(campaign_id: int, session: SessionDep, who: CurrentPrincipal) -> dict[str, Any] | None:
    """The report of the campaign's last launch (null before the first)."""
    campaign = campaigns.get_managed(session, campaign_id=campaign_id, principal=who)
    return campaign.launch_report or None


@router.post("/{campaign_id}/evaluators", status_code=status.HTTP_204_NO_CONTENT)
def engage_evaluator(campaign_id: int, data: EngagementCreate, session: SessionDep, who: CurrentPrincipal) -> None:
    """Engage a third-party evaluator account for this campaign."""
    campaigns.engage(session, campaign_id=campaign_id, user_id=data.user_id, principal=who)


@router.get("/{campaign_id}/assignments", response_model=AssignmentPage)
async def list_assignments(
    campaign_id: int,
    read: ReadDep,
    page: PageDep,
    today: Today,
    unit_id: int | None = None,
    level1_id: int | None = None,
    section: str | None = None,
    status: Annotated[AssignmentStatus | None, Query(description="流程状态（逾期与否都算）")] = None,
    overdue: Annotated[bool | None, Query(description="true：已逾期（未报送或退回补充且已过截止日期）")] = None,
    due_before: date | None = None,
    due_within_workdays: Annotated[
        int | None, Query(ge=0, le=workdays.MAX_WITHIN_WORKDAYS, description="N个工作日内到期（未逾期）")
    ] = None,
    light: Annotated[Light | None, Query(description="预警灯：blue 蓝、yellow 黄、red 红、none 无")] = None,
    sort: SortDep = "due_on",
) -> Response:
    """The campaign's assignments the caller may see, filtered (a liaison sees its unit's)."""
    filters = AssignmentFilter(
        campaign_id=campaign_id,
        unit_id=unit_id,
        level1_id=level1_id,
        section=section,
        status=status,
        overdue=overdue,
        due_before=due_before,
        due_within_workdays=due_within_workdays,
        light=light,
        sort=sort,
    )

    return await read(lambda session, who: assignment_page(session, who, filters, page, today))


def assignment_page(
    session: Session, who: Principal, filters: AssignmentFilter, page: PageParams, today: date
) -> dict[str, Any]:
    """One page of an assignment list in its envelope (the ledger's and the to-do list's): an AssignmentPage's
    fields as plain data, the rows read on the driver (assignment_rows; AssignmentPage describes it in OpenAPI)."""
    items, total, provisional = assignment_rows.page(
        session, principal=who, filters=filters, today=today, limit=page.limit, offset=page.offset
    )
    return {**page.envelope(items, total), "provisional": provisional}


@router.post(
    "/{campaign_id}/assignments",
    response_model=AssignmentPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CREATED,
)
def create_assignment(
    campaign_id: int,
    data: AssignmentCreate,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    request: Request,
    response: Response,
) -> AssignmentPublic:
    """Assign an item to a unit by hand (e.g. for a name the launch could not resolve)."""
    found = assignments.create(session, campaign_id=campaign_id, data=data, principal=who, today=today)
    created_at(request, response, "read_assignment", assignment_id=found.id)
    return found
