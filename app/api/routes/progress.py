"""A campaign's progress dashboard and deadline board."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentPrincipal, SessionDep, Today
from app.models.progress import DeadlineBoard, Grouping, ProgressReport
from app.services.campaign import progress

router = APIRouter(prefix="/campaigns", tags=["progress"])


@router.get("/{campaign_id}/progress", response_model=ProgressReport)
def read_progress(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    by: Annotated[list[Grouping] | None, Query(description="分组方式，可多选；缺省为全部")] = None,
) -> ProgressReport:
    """Assignment counts and percentages by status: whole campaign, section, level 1, level 2, unit."""
    return progress.report(session, campaign_id=campaign_id, principal=who, today=today, groupings=by or list(Grouping))


@router.get("/{campaign_id}/deadlines", response_model=DeadlineBoard)
def read_deadlines(
    campaign_id: int,
    session: SessionDep,
    who: CurrentPrincipal,
    today: Today,
    within: Annotated[int, Query(ge=0, le=progress.MAX_WITHIN_WORKDAYS, description="“即将到期”的工作日数")] = 3,
) -> DeadlineBoard:
    """Overdue, due within N working days, and returned-and-waiting counts, by unit and by level 1."""
    return progress.deadline_board(session, campaign_id=campaign_id, principal=who, today=today, within_workdays=within)
